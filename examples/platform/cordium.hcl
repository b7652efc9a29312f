# A platform team's stack: one config, promoted from staging to production.
stack "platform" {
  # Delete objects labelled cordium-stack=platform that are no longer declared.
  prune         = false
  build_timeout = "45m"
}

environment "staging" {
  domain    = "staging.cordium.example.com"
  var_files = ["env/staging.tfvars"]
}

environment "production" {
  domain    = "cordium.example.com"
  var_files = ["env/production.tfvars"]
}

# A local rehearsal on the embedded cluster.
environment "dev" {
  local = ".cordium/local.db"
}
