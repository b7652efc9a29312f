# Six templates: registry images, an inline Dockerfile, a git-built image, and a repository
# Dockerfile. Four are pre-built into snapshots so new workspaces start in seconds.

template "python-ml" {
  space        = space.ml
  display_name = "Python ML (${var.environment})"
  labels       = local.common_labels

  image {
    registry {
      url = "python:3.12-bookworm"
    }
  }

  repository {
    url = "${local.repo_base}/ml-pipelines"
    clone_options {
      branch        = var.branch
      depth         = 1
      single_branch = true
    }
  }

  runtime {
    env_var {
      key         = "WANDB_API_KEY"
      from_secret = secret.ml.wandb
    }
    env_var {
      key   = "PIP_DISABLE_PIP_VERSION_CHECK"
      value = "1"
    }
    task "install" {
      type       = "ON_CREATE"
      run        = "pip install -r requirements.txt"
      on_failure = "ON_FAILURE_ABORT"
    }
    task "jupyter" {
      type          = "POST_START"
      run           = "jupyter lab --no-browser --port 8888"
      is_background = true
    }
  }

  limit {
    cpu_millicores    = 4000
    memory_megabytes  = 8192
    storage_megabytes = 40960
  }

  var "DATASET" {
    value = "s3://datasets/${var.environment}/train"
  }

  prebuild {
    timeout = "45m"
  }
}

template "cuda" {
  space        = space.ml
  display_name = "CUDA 12 toolkit"

  image {
    dockerfile {
      inline = <<-DOCKERFILE
        FROM nvidia/cuda:12.4.1-devel-ubuntu22.04
        RUN apt-get update && apt-get install -y --no-install-recommends python3-pip git \
            && rm -rf /var/lib/apt/lists/*
        RUN pip3 install torch==2.4.0
      DOCKERFILE
    }
  }

  limit {
    cpu_millicores    = 8000
    memory_megabytes  = var.gpu_memory_mb
    storage_megabytes = 81920
  }

  prebuild {
    timeout = "90m"
  }

  lifecycle {
    prevent_destroy = true
  }
}

template "node-web" {
  space = space.web

  image {
    registry {
      url = "node:22-bookworm"
    }
  }

  repository {
    url = "${local.repo_base}/storefront"
    clone_options {
      branch = var.branch
    }
    authentication {
      http {
        username = "x-access-token"
        password {
          from_secret = secret.web.git-token
        }
      }
    }
  }

  runtime {
    task "deps" {
      type = "ON_CREATE"
      run  = "npm ci"
    }
    task "dev-server" {
      type          = "POST_START"
      run           = "npm run dev -- --host 0.0.0.0 --port 3000"
      is_background = true
    }
  }

  limit {
    cpu_millicores   = 2000
    memory_megabytes = 4096
  }

  prebuild {}
}

template "docs" {
  space       = space.web
  description = "Image built from the docs repository's own Dockerfile."

  image {
    git {
      url        = "${local.repo_base}/docs"
      checkout   = var.branch
      dockerfile = "tools/Dockerfile"
      context    = "tools"
    }
  }
}

template "agent-sandbox" {
  space        = space.platform
  display_name = "Agent sandbox"
  labels       = local.common_labels

  image {
    registry {
      url = "ghcr.io/example/agent-base:1.8"
    }
  }

  runtime {
    env_var {
      key         = "ANTHROPIC_API_KEY"
      from_secret = secret.platform.anthropic-key
    }

    network {
      egress {
        default_action = "DENY"
        rule {
          cidrs  = var.agent_egress_cidrs
          action = "ALLOW"
          ports  = [443]
        }
      }
    }

    filesystem {
      read_only = false
    }

    capabilities {
      drop = ["NET_RAW"]
    }

    octelium {
      serve_services = ["github-api", "postgres-main"]
    }

    task "bootstrap" {
      type       = "ON_CREATE"
      run        = "agent bootstrap --task \"$${{ vars.TASK }}\""
      on_failure = "ON_FAILURE_CONTINUE"
      env_var {
        key   = "LOG_LEVEL"
        value = "info"
      }
    }
  }

  limit {
    cpu_millicores    = 2000
    memory_megabytes  = 4096
    storage_megabytes = 20480
  }

  var "TASK" {
    value = "Triage new issues on $${{ vars.BRANCH }}"
  }

  prebuild {
    timeout = "30m"
  }
}

template "ci-runner" {
  space = space.platform

  image {
    repository {
      dockerfile {
        path    = ".ci/Dockerfile"
        context = "."
      }
    }
  }

  repository {
    url = "${local.repo_base}/monorepo"
    clone_options {
      branch = var.branch
      depth  = 50
    }
  }

  additional_repository "infra" {
    clone_path = "/workspace/additional-repos/infra"
    repository {
      url = "${local.repo_base}/infra"
    }
  }

  runtime {
    auto_stop = true
    task "test" {
      type = "POST_START"
      run  = "make test"
    }
  }
}
