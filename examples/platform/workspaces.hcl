# Persistent workspaces. The server names workspaces itself; cordium finds them again by their
# display name within the Space.

workspace "alice-notebooks" {
  space    = space.ml
  template = template.ml.python-ml
}

workspace "bob-gpu" {
  space    = space.ml
  template = template.ml.cuda

  limit {
    cpu_millicores = 16000
  }
}

workspace "storefront-dev" {
  space    = space.web
  template = template.web.node-web

  application "web" {
    display_name = "Storefront"
    port         = 3000
    is_default   = true
  }
}

workspace "reviewer" {
  space    = space.platform
  template = template.platform.agent-sandbox
}

workspace "triage" {
  space    = space.platform
  template = template.platform.agent-sandbox

  var "TASK" {
    value = "Label and deduplicate new issues"
  }
}
