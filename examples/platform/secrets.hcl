# Secret values are read at apply time only, never written here or shown in a plan.
secret "github-token" {
  space     = space.platform
  from_file = "secrets/github-token"
}

secret "anthropic-key" {
  space    = space.platform
  from_env = "ANTHROPIC_API_KEY"
}

secret "wandb" {
  space    = space.ml
  from_env = "WANDB_API_KEY"
}

secret "git-token" {
  space    = space.web
  from_env = "WEB_GIT_TOKEN"
}
