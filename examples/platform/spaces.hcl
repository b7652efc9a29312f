# Three organisation Spaces (stored as `<space>.cordium`): each holds Secrets that its runtime or
# its Templates use through `from_secret`, and an organisation Space is where a real server
# accepts `from_secret` everywhere (in a USER Space's own runtime it is refused).
# The platform Space holds shared agent templates and the secrets they reference.
space "platform" {
  organization = true
  display_name = "Platform (${title(var.environment)})"
  description  = "Shared sandboxes for AI agents, owned by the organisation."
  labels       = local.common_labels

  limit {
    default_limit {
      cpu_millicores   = 2000
      memory_megabytes = 4096
    }
    max_limit {
      cpu_millicores   = 16000
      memory_megabytes = 65536
    }
  }

  runtime {
    env_var {
      key         = "GITHUB_TOKEN"
      from_secret = secret.platform.github-token
    }
  }
}

space "ml" {
  organization = true
  display_name = "Machine learning"
  labels       = merge(local.common_labels, { team = "ml" })
}

space "web" {
  organization = true
  display_name = "Web"
  labels       = merge(local.common_labels, { team = "web" })

  authorization {
    disable_ssh = true
  }
}
