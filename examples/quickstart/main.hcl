variable "branch" {
  description = "Branch the demo repository is cloned at."
  default     = "main"
}

space "demo" {
  display_name = "Quickstart demo"
  description  = "A first Space, managed as code."
  labels       = {
    team = "platform"
  }
}

template "python" {
  space        = space.demo
  display_name = "Python 3.12"

  image {
    registry {
      url = "python:3.12-bookworm"
    }
  }

  repository {
    url = "https://github.com/octelium/examples"
    clone_options {
      branch = var.branch
      depth  = 1
    }
  }

  runtime {
    task "install" {
      type       = "ON_CREATE"
      run        = "pip install -r requirements.txt"
      on_failure = "ON_FAILURE_ABORT"
    }
  }

  limit {
    cpu_millicores    = 2000
    memory_megabytes  = 4096
    storage_megabytes = 10240
  }

  # Cordium substitutes ${{ vars.NAME }} when the workspace starts; $${{ keeps it literal here.
  var "GREETING" {
    value = "Hello from $${{ vars.BRANCH }}"
  }

  prebuild {
    timeout = "20m"
  }
}

workspace "hello" {
  space    = space.demo
  template = template.demo.python
}
