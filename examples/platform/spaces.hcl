# The organisation Space holds shared agent templates and the secrets they reference.
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
  display_name = "Machine learning"
  labels       = merge(local.common_labels, { team = "ml" })
}

space "web" {
  display_name = "Web"
  labels       = merge(local.common_labels, { team = "web" })

  authorization {
    disable_ssh = true
  }
}
