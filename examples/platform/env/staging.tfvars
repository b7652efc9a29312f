environment        = "staging"
branch             = "develop"
gpu_memory_mb      = 16384
agent_egress_cidrs = ["10.20.0.0/16"]
