# People sign in through the identity provider; the platform team is a Group whose members get
# its Policy; agents are WORKLOAD users whose access is limited by inline policies. Policies are
# applied before the Groups that name them, Groups before their Users (and destroyed in reverse).

policy "platform-admin" {
  description = "The platform team reaches every Service, except as a disabled User"
  rule {
    name      = "everything"
    effect    = "ALLOW"
    condition = { match_any = true }
  }
  rule {
    name      = "not-when-disabled"
    effect    = "DENY"
    priority  = 1
    condition = "ctx.user.spec.isDisabled"
  }
}

group "platform-admins" {
  display_name = "Platform team"
  authorization {
    policies = [policy.platform-admin]
  }
}

user "alice" {
  type   = "HUMAN"
  email  = "alice@example.com"
  groups = [group.platform-admins]
  info {
    first_name = "Alice"
    last_name  = "Nguyen"
  }
}

user "bob" {
  type   = "HUMAN"
  email  = "bob@example.com"
  groups = [group.platform-admins]
}

user "carol" {
  type  = "HUMAN"
  email = "carol@example.com"
}

user "dave" {
  type  = "HUMAN"
  email = "dave@example.com"
}

user "erin" {
  type        = "HUMAN"
  email       = "erin@example.com"
  is_disabled = false
  session {
    client_duration {
      hours = 8
    }
  }
}

user "agent-reviewer" {
  type         = "WORKLOAD"
  display_name = "Code review agent"
  authorization {
    inline_policy "github-read" {
      spec {
        rule {
          name      = "read-repos"
          effect    = "ALLOW"
          condition = "ctx.service.metadata.name == 'github-api' && ctx.request.http.method == 'GET'"
        }
      }
    }
  }
}

user "agent-triage" {
  type = "WORKLOAD"
  authorization {
    inline_policy "issues" {
      spec {
        rule {
          effect    = "ALLOW"
          condition = "ctx.service.metadata.name == 'github-api'"
        }
        rule {
          effect    = "DENY"
          condition = "ctx.request.http.method == 'DELETE'"
          priority  = 1
        }
      }
    }
  }
}

user "agent-docs" {
  type = "WORKLOAD"
  authorization {
    inline_policy "docs-site" {
      spec {
        rule {
          effect    = "ALLOW"
          condition = "ctx.service.metadata.name == 'docs-site'"
        }
      }
    }
  }
}

user "agent-ci" {
  type = "WORKLOAD"
  authorization {
    inline_policy "staging-only" {
      spec {
        rule {
          effect    = "ALLOW"
          condition = "ctx.namespace.metadata.name in ['staging', '${var.environment}']"
        }
      }
    }
  }
}

user "agent-oncall" {
  type = "WORKLOAD"
  authorization {
    inline_policy "read-only-db" {
      spec {
        rule {
          effect = "ALLOW"
          condition {
            all {
              of {
                match = "ctx.service.metadata.name == 'postgres-main'"
              }
              of {
                not = "ctx.request.postgres.query.isWrite"
              }
            }
          }
        }
      }
    }
  }
}

# Who else is in the organisation Spaces: whoever creates a Space is its OWNER already.
membership "alice" {
  space = space.ml
  role  = "ADMIN"
}

membership "bob" {
  space = space.ml
  role  = "USER"
}
