variable "environment" {
  description = "Name of the environment, shown in display names and labels."
  type        = string
  default     = "dev"
}

variable "branch" {
  description = "Branch every repository is cloned at."
  type        = string
  default     = "main"
}

variable "gpu_memory_mb" {
  description = "Memory of the GPU template, in megabytes."
  type        = number
  default     = 16384

  validation {
    condition     = var.gpu_memory_mb >= 4096 && var.gpu_memory_mb <= 131072
    error_message = "gpu_memory_mb must be between 4096 and 131072."
  }
}

variable "agent_egress_cidrs" {
  description = "Networks agents may reach besides the identity-aware proxy."
  type        = list(string)
  default     = ["10.20.0.0/16"]
}

locals {
  common_labels = {
    env        = var.environment
    managed-by = "cordium"
  }
  repo_base = "https://github.com/example"
}
