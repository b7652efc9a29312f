# The OAuth app the platform's Templates clone through, and storage that outlives Workspaces.
git_provider "github" {
  space = space.platform
  github {
    client_id = "Iv1.platform-oauth"
    client_secret {
      from_secret = secret.platform.github-token
    }
    scopes = ["repo", "read:org"]
  }
}

# A Volume only grows: a smaller size is a plan error, never a replace that loses its data.
volume "datasets" {
  space          = space.ml
  size_megabytes = 200000
  access_mode    = "SHARED"
}
