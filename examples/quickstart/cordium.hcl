# The stack: its name labels every object cordium creates (cordium-stack=quickstart).
stack "quickstart" {}

# With no target given, plan and apply use the embedded local cluster in .cordium/local.db.
environment "dev" {
  local = ".cordium/local.db"
}
