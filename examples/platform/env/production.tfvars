environment        = "production"
branch             = "main"
gpu_memory_mb      = 32768
agent_egress_cidrs = ["10.30.0.0/16", "10.31.0.0/16"]
