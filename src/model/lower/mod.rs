//! Lowering: the raw HCL shape (see `config::hcl`) → the canonical document tree, the same shape
//! a YAML document has (`kind`, `metadata`, `spec`, camelCase, plus our top-level `template`,
//! `prebuild`, `lifecycle`, `fromEnv`, `fromFile`), guided by the kind's JSON Schema
//! ([`super::schema::for_kind`]). Pure: no I/O. Typing and checking the result is the decoder's
//! job: names this lowering does not know are kept (camelCased, with their spans) so the decoder
//! reports them as unknown fields with a did-you-mean.
//!
//! The rules, in the order they are tried for each attribute or block name in a body:
//!
//! - Resource-level names: `display_name`, `description`, `labels`, `annotations`, `tags`,
//!   `pic_url` go to `metadata`; `template` (Workspace), `prebuild`, `lifecycle`, `from_env`,
//!   `from_file` to the top level; `space` becomes the name suffix (`gpu.ml`); a Space's
//!   `organization = true` makes its name `<name>.cordium`. Everything else goes to `spec`.
//! - A name matching a property (`clone_options` → `cloneOptions`, `pic_url` → `picURL`): its
//!   value is lowered with that property's schema. A block stands for an object (at most one
//!   block) or, for an array property, one item per block.
//! - A singular block name whose plural is an array property (`env_var` → `envVars`, `task`,
//!   `var`, `rule`, `inline_policy` → `inlinePolicies`, ...): each block is an item; its label
//!   becomes the item's `name`, or `key` when the item has no `name` field.
//! - `a_b` where `a` is an object property with a field `b` nests: `cpu_millicores = 8000` in a
//!   `limit` block is `limit.cpu.millicores`.
//! - A string where a policy `Condition` is expected is shorthand for `{ match = "<CEL>" }`.
//! - A string that is not one of an enum's names but ends one uniquely after an underscore is
//!   that name: `on_failure = "ABORT"` is `ON_FAILURE_ABORT`.
//! - Keys of free-form maps (`labels`, `attrs`) are data and are never renamed.
//!
//! This file handles the resource block itself (kind, name, what goes to `metadata`, the top
//! level or `spec`); `body` lowers a body against a schema by the rules above; `names`
//! spells names between HCL and the schema.

mod body;
pub(crate) mod names;

use serde_json::Value as Json;

use super::schema;
use super::Kind;
use crate::config::tree::{Key, Node, Value};
use crate::config::{Format, RawDoc};
use crate::diag::{Diagnostic, Diagnostics, Span};
use body::{find_prop, Ctx};
pub(crate) use names::snake;
use names::{plural, squash};

/// Lowers one raw HCL document to the canonical document tree. YAML documents are returned
/// unchanged. `None` when the document is unusable (reported).
pub fn lower(doc: &RawDoc, diags: &mut Diagnostics) -> Option<Node> {
    if doc.format == Format::Yaml {
        return Some(doc.node.clone());
    }
    let head = Head::read(doc, diags)?;
    let schemas = Schemas::for_kind(head.kind);
    let sorted = sort_entries(head.kind, head.entries, &schemas, diags);
    if sorted.refused {
        return None;
    }
    Some(assemble(doc, &head, &schemas, sorted, diags))
}

/// A resource block's kind and name, from its `@kind` and `@name`, and its entries.
struct Head<'a> {
    entries: &'a [(Key, Node)],
    kind: Kind,
    kind_span: Span,
    name: String,
    name_span: Span,
}

impl<'a> Head<'a> {
    fn read(doc: &'a RawDoc, diags: &mut Diagnostics) -> Option<Self> {
        let Value::Map(entries) = &doc.node.value else {
            diags.push(
                Diagnostic::error("invalid-document", "This block is not a map.").at(doc.span),
            );
            return None;
        };
        let kind_node = doc.node.get("@kind");
        let Some(kind) = kind_node.and_then(Node::as_str).and_then(Kind::from_keyword) else {
            diags.push(
                Diagnostic::error("invalid-document", "This block is not a resource block.")
                    .at(doc.span),
            );
            return None;
        };
        let name_node = doc.node.get("@name");
        Some(Head {
            entries,
            kind,
            kind_span: kind_node.map(|n| n.span).unwrap_or(doc.span),
            name: name_node.and_then(Node::as_str).unwrap_or("").to_string(),
            name_span: name_node.map(|n| n.span).unwrap_or(doc.span),
        })
    }
}

/// The kind's document schema and the parts of it a resource block is sorted by.
struct Schemas {
    ctx: Ctx<'static>,
    doc_props: Option<&'static serde_json::Map<String, Json>>,
    metadata: Option<Json>,
    spec: Option<Json>,
}

impl Schemas {
    fn for_kind(kind: Kind) -> Self {
        let root = schema::for_kind(kind);
        let ctx = Ctx { root };
        let metadata = ctx.prop_schema(root, "metadata");
        let spec = ctx.prop_schema(root, "spec");
        Schemas { ctx, doc_props: root.get("properties").and_then(Json::as_object), metadata, spec }
    }

    /// A `metadata` field other than `name`.
    fn is_metadata(&self, squashed: &str) -> bool {
        self.metadata.as_ref().is_some_and(|m| find_prop(m, squashed).is_some_and(|p| p != "name"))
    }

    /// A top-level document field of our own (`template`, `prebuild`, `lifecycle`, ...).
    fn is_top_level(&self, squashed: &str) -> bool {
        !matches!(squashed, "kind" | "metadata" | "spec" | "apiversion")
            && self.doc_props.is_some_and(|m| m.keys().any(|p| squash(p) == squashed))
    }

    fn has_spec(&self) -> bool {
        self.doc_props.is_some_and(|m| m.contains_key("spec"))
    }

    fn spec_props(&self) -> Option<&serde_json::Map<String, Json>> {
        self.spec.as_ref().and_then(|ss| ss.get("properties")?.as_object())
    }
}

/// A resource block's entries, sorted by where they go in the document, and the entries that
/// only shape its name.
#[derive(Default)]
struct Sorted {
    meta: Vec<(Key, Node)>,
    top: Vec<(Key, Node)>,
    spec: Vec<(Key, Node)>,
    space: Option<String>,
    organization: bool,
    /// A sensitive `space` was refused: the resource cannot be named.
    refused: bool,
}

/// Sorts each entry to `metadata`, the top level or `spec` (reporting names the kind does not
/// have), and takes `space` and `organization` out.
fn sort_entries(
    kind: Kind,
    entries: &[(Key, Node)],
    schemas: &Schemas,
    diags: &mut Diagnostics,
) -> Sorted {
    let mut sorted = Sorted::default();
    for (key, value) in entries {
        let k = key.name.as_str();
        if k.starts_with('@') {
            continue;
        }
        let squashed = squash(k);
        if k == "space" && kind.in_space() && crate::model::shape::any_sensitive(value) {
            // The space is part of the resource's name (`template.ml.gpu`), in every message.
            diags.push(crate::model::shape::sensitive_name(
                value.span,
                "`space`".to_string(),
                "the space is part of the resource's name, shown in plans and messages",
            ));
            sorted.refused = true;
        } else if k == "space" && kind.in_space() {
            match value.as_str() {
                Some(s) => sorted.space = Some(s.to_string()),
                None => diags.push(
                    Diagnostic::error(
                        "invalid-space",
                        format!("`space` must name a space, not {}.", value.type_name()),
                    )
                    .at(value.span)
                    .help("Write `space = space.<name>`."),
                ),
            }
        } else if k == "organization" && kind == Kind::Space {
            match value.value {
                Value::Bool(b) => sorted.organization = b,
                _ => diags.push(
                    Diagnostic::error("invalid-space", "`organization` must be true or false.")
                        .at(value.span),
                ),
            }
        } else if k == "spec" && matches!(value.value, Value::Map(_)) && schemas.has_spec() {
            // `spec = yamldecode(file("templates/python.yaml"))`: a whole spec as one object,
            // or a bare spec file (`spec:` and nothing else) as decoded.
            let inner = match &value.value {
                Value::Map(e) if e.len() == 1 && e[0].0.name == "spec" => &e[0].1,
                _ => value,
            };
            if let Value::Map(entries) = &inner.value {
                sorted.spec.extend(entries.iter().cloned());
            }
        } else if schemas.is_metadata(&squashed) {
            sorted.meta.push((key.clone(), value.clone()));
        } else if schemas.is_top_level(&squashed) {
            sorted.top.push((key.clone(), value.clone()));
        } else if schemas.has_spec() {
            let in_spec = schemas.spec_props();
            if is_spec_name(in_spec, &squashed) {
                sorted.spec.push((key.clone(), value.clone()));
            } else {
                diags.push(unknown_attribute(
                    kind,
                    k,
                    key.span,
                    &schemas.metadata,
                    schemas.doc_props,
                    in_spec,
                ));
            }
        } else {
            sorted.top.push((key.clone(), value.clone()));
        }
    }
    sorted
}

/// A name that stands for a spec property: itself, its singular, or a flattened `a_b`.
fn is_spec_name(in_spec: Option<&serde_json::Map<String, Json>>, squashed: &str) -> bool {
    in_spec.is_some_and(|props| {
        props
            .keys()
            .map(|p| squash(p))
            .any(|p| p == squashed || p == plural(squashed) || squashed.starts_with(&p))
    })
}

/// `<name>.cordium` for an organisation Space, `<name>.<space>` for a kind in a Space.
fn full_name(kind: Kind, name: &str, sorted: &Sorted) -> String {
    match (kind, &sorted.space) {
        (Kind::Space, _) if sorted.organization => format!("{name}.cordium"),
        (_, Some(space)) if kind.in_space() => format!("{name}.{space}"),
        _ => name.to_string(),
    }
}

/// Builds the document in a hand-written YAML document's order: `kind`, `metadata`,
/// `template`, `spec`, then the rest of the top level.
fn assemble(
    doc: &RawDoc,
    head: &Head<'_>,
    schemas: &Schemas,
    sorted: Sorted,
    diags: &mut Diagnostics,
) -> Node {
    let (ctx, kind_span, name_span) = (&schemas.ctx, head.kind_span, head.name_span);
    let full_name = full_name(head.kind, &head.name, &sorted);
    let mut out = vec![(
        Key { name: "kind".into(), span: kind_span },
        Node::string(head.kind.api_kind(), kind_span),
    )];
    let mut metadata =
        vec![(Key { name: "name".into(), span: name_span }, Node::string(full_name, name_span))];
    if let Some(ms) = &schemas.metadata {
        metadata.extend(ctx.object(&sorted.meta, ms, diags));
    }
    out.push((Key { name: "metadata".into(), span: name_span }, Node::map(metadata, name_span)));
    let lowered_top = ctx.object(&sorted.top, ctx.root, diags);
    // `template` sits before `spec`, the rest after, as in a hand-written YAML document.
    let (before, after): (Vec<_>, Vec<_>) =
        lowered_top.into_iter().partition(|(k, _)| k.name == "template");
    out.extend(before);
    if let (Some(ss), false) = (&schemas.spec, sorted.spec.is_empty()) {
        out.push((
            Key { name: "spec".into(), span: doc.span },
            Node::map(ctx.object(&sorted.spec, ss, diags), doc.span),
        ));
    }
    out.extend(after);
    Node { value: Value::Map(out), span: doc.span, sensitive: false }
}

/// An attribute or block at the top of a resource block that is nothing this kind has: named
/// as written, with a did-you-mean over every name the block may hold, in HCL spelling.
fn unknown_attribute(
    kind: Kind,
    written: &str,
    span: Span,
    metadata: &Option<Json>,
    doc_props: Option<&serde_json::Map<String, Json>>,
    spec_props: Option<&serde_json::Map<String, Json>>,
) -> Diagnostic {
    let mut names: Vec<String> = Vec::new();
    if kind.in_space() {
        names.push("space".into());
    }
    if kind == Kind::Space {
        names.push("organization".into());
    }
    let keys = |m: Option<&serde_json::Map<String, Json>>| {
        m.map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
    };
    let meta_props = metadata.as_ref().and_then(|m| m.get("properties")?.as_object());
    for p in keys(meta_props).into_iter().filter(|p| p != "name") {
        names.push(snake(&p));
    }
    for p in keys(doc_props) {
        if !matches!(p.as_str(), "kind" | "metadata" | "spec" | "apiVersion") {
            names.push(snake(&p));
        }
    }
    names.extend(keys(spec_props).iter().map(|p| snake(p)));
    names.sort();
    names.dedup();
    let help = match crate::diag::did_you_mean(written, names.iter().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("a {} block may hold: {}", kind.keyword(), names.join(", ")),
    };
    Diagnostic::error(
        "unknown-field",
        format!("unknown attribute or block `{written}` in {} block", kind.keyword()),
    )
    .at(span)
    .help(help)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{hcl, LoadOptions};
    use crate::diag::Sources;

    struct Lowered {
        docs: Vec<Node>,
        diags: Diagnostics,
        sources: Sources,
    }

    fn lower_text(text: &str) -> Lowered {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("main.hcl"), text).expect("write");
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let raw = hcl::load(
            dir.path(),
            &[PathBuf::from("main.hcl")],
            None,
            &LoadOptions::default(),
            &mut sources,
            &mut diags,
        );
        assert!(diags.is_empty(), "loading: {diags:?}");
        let docs = raw.iter().filter_map(|d| lower(d, &mut diags)).collect();
        Lowered { docs, diags, sources }
    }

    fn one(text: &str) -> serde_json::Value {
        let l = lower_text(text);
        assert!(l.diags.is_empty(), "{:?}", l.diags);
        l.docs[0].to_json()
    }

    #[test]
    fn space() {
        assert_eq!(
            one("space \"ml\" {\n  display_name = \"ML platform\"\n  organization = true\n  labels = { team-name = \"ml\" }\n  limit {\n    max_limit { cpu_millicores = 8000 }\n  }\n  authorization { disable_ssh = true }\n}\n"),
            serde_json::json!({
                "kind": "Space",
                "metadata": {"name": "ml.cordium", "displayName": "ML platform", "labels": {"team-name": "ml"}},
                "spec": {"limit": {"maxLimit": {"cpu": {"millicores": 8000}}}, "authorization": {"disableSSH": true}}
            })
        );
        assert_eq!(
            one("space \"u\" {}\n"),
            serde_json::json!({"kind": "Space", "metadata": {"name": "u"}})
        );
    }

    #[test]
    fn template() {
        let got = one(r#"
template "gpu" {
  space       = "ml"
  description = "GPU box"
  pic_url     = "https://x/p.png"
  image {
    registry { url = "python:3.12-bookworm" }
  }
  repository {
    url = "https://github.com/example/ml"
    clone_options {
      branch = "main"
      depth  = 1
    }
  }
  additional_repository "docs" {
    clone_path = "docs"
    repository { url = "https://github.com/example/docs" }
  }
  runtime {
    env_var "WANDB_API_KEY" { from_secret = "wandb" }
    env_vars = [{ key = "A", value = "1" }]
    task "install" {
      type       = "ON_CREATE"
      run        = "pip install -r requirements.txt"
      on_failure = "ABORT"
    }
    devcontainers {
      feature {
        reference = "ghcr.io/x/y:1"
        option "version" { value = "3" }
      }
    }
    volume_mount {
      mount_path = "/data"
    }
  }
  limit {
    cpu_millicores    = 8000
    memory_megabytes  = 16384
    storage_megabytes = 40960
  }
  var "TASK" { value = "Fix $${{ vars.BRANCH }}" }
  prebuild { timeout = "45m" }
  lifecycle {
    prevent_destroy = true
    ignore_changes  = ["spec.runtime.envVars"]
  }
}
"#);
        assert_eq!(
            got,
            serde_json::json!({
                "kind": "Template",
                "metadata": {"name": "gpu.ml", "description": "GPU box", "picURL": "https://x/p.png"},
                "spec": {
                    "image": {"registry": {"url": "python:3.12-bookworm"}},
                    "repository": {"url": "https://github.com/example/ml", "cloneOptions": {"branch": "main", "depth": 1}},
                    "additionalRepositories": [{"name": "docs", "clonePath": "docs", "repository": {"url": "https://github.com/example/docs"}}],
                    "runtime": {
                        "envVars": [{"key": "WANDB_API_KEY", "fromSecret": "wandb"}, {"key": "A", "value": "1"}],
                        "tasks": [{"name": "install", "type": "ON_CREATE", "run": "pip install -r requirements.txt", "onFailure": "ON_FAILURE_ABORT"}],
                        "devcontainers": {"features": [{"reference": "ghcr.io/x/y:1", "options": [{"key": "version", "value": "3"}]}]},
                        "volumeMounts": [{"mountPath": "/data"}]
                    },
                    "limit": {"cpu": {"millicores": 8000}, "memory": {"megabytes": 16384}, "storage": {"megabytes": 40960}},
                    "vars": [{"name": "TASK", "value": "Fix ${{ vars.BRANCH }}"}]
                },
                "prebuild": {"timeout": "45m"},
                "lifecycle": {"preventDestroy": true, "ignoreChanges": ["spec.runtime.envVars"]}
            })
        );
        // The result decodes as a TemplateDoc.
        let _: crate::model::document::TemplateDoc =
            serde_json::from_value(got).expect("a valid TemplateDoc");
    }

    #[test]
    fn user() {
        let got = one(r#"
user "agent-1" {
  type   = "WORKLOAD"
  groups = ["agents", "dev"]
  attrs  = { some_key = 1 }
  authorization {
    inline_policy "p" {
      spec {
        rule {
          effect    = "ALLOW"
          condition = "ctx.namespace.metadata.name in ['staging']"
        }
        enforcement_rule {
          effect    = "ENFORCE"
          condition = { match_any = true }
        }
      }
    }
  }
  authentication {
    identity {
      identity_provider = "github"
      identifier        = "agent"
    }
  }
}
"#);
        assert_eq!(
            got,
            serde_json::json!({
                "kind": "User",
                "metadata": {"name": "agent-1"},
                "spec": {
                    "type": "WORKLOAD",
                    "groups": ["agents", "dev"],
                    "attrs": {"some_key": 1},
                    "authorization": {"inlinePolicies": [{"name": "p", "spec": {
                        "rules": [{"effect": "ALLOW", "condition": {"match": "ctx.namespace.metadata.name in ['staging']"}}],
                        "enforcementRules": [{"effect": "ENFORCE", "condition": {"matchAny": true}}]
                    }}]},
                    "authentication": {"identities": [{"identityProvider": "github", "identifier": "agent"}]}
                }
            })
        );
        let _: crate::model::document::UserDoc =
            serde_json::from_value(got).expect("a valid UserDoc");
    }

    #[test]
    fn workspace() {
        let got = one(
            "workspace \"agent-box\" {\n  space    = \"ml\"\n  template = \"gpu\"\n  is_ephemeral = true\n  application \"web\" { port = 8080 }\n}\n",
        );
        assert_eq!(
            got,
            serde_json::json!({
                "kind": "Workspace",
                "metadata": {"name": "agent-box.ml"},
                "template": "gpu",
                "spec": {"isEphemeral": true, "applications": [{"name": "web", "port": 8080}]}
            })
        );
        let _: crate::model::document::WorkspaceDoc =
            serde_json::from_value(got).expect("a valid WorkspaceDoc");
    }

    #[test]
    fn secret() {
        let got = one("secret \"wandb\" {\n  space    = \"ml\"\n  from_env = \"WANDB_API_KEY\"\n  lifecycle { prevent_destroy = true }\n}\n");
        assert_eq!(
            got,
            serde_json::json!({
                "kind": "Secret",
                "metadata": {"name": "wandb.ml"},
                "fromEnv": "WANDB_API_KEY",
                "lifecycle": {"preventDestroy": true}
            })
        );
        let _: crate::model::document::SecretDoc =
            serde_json::from_value(got).expect("a valid SecretDoc");
    }

    #[test]
    fn nested_unknown_names_are_kept_for_the_decoder_with_their_spans() {
        let l = lower_text(
            "template \"t\" {\n  space = \"ml\"\n  runtime {\n    comand = \"x\"\n  }\n}\n",
        );
        assert!(l.diags.is_empty(), "{:?}", l.diags);
        let doc = &l.docs[0];
        assert_eq!(doc.to_json()["spec"]["runtime"]["comand"], "x");
        let (k, _) = doc
            .get("spec")
            .and_then(|s| s.get("runtime"))
            .and_then(|r| r.entry("comand"))
            .expect("kept");
        assert_eq!(l.sources.snippet(k.span), "comand");
        let l = lower_text("secret \"s\" {\n  space = \"ml\"\n  from_envv = \"X\"\n}\n");
        assert_eq!(l.docs[0].to_json()["fromEnvv"], "X");
    }

    #[test]
    fn unknown_top_level_names_are_reported_as_written_with_a_did_you_mean() {
        let l = lower_text("template \"t\" {\n  space = \"ml\"\n  colour = 1\n  imag {}\n}\n");
        let msgs: Vec<String> =
            l.diags.iter().map(|d| format!("{} / {:?}", d.message, d.help)).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("`colour`") && msgs[0].contains("may hold"), "{msgs:?}");
        assert!(
            msgs[1].contains("`imag`") && msgs[1].contains("did you mean `image`?"),
            "{msgs:?}"
        );
        let span = l.diags.iter().next().and_then(|d| d.span).expect("span");
        assert_eq!(l.sources.snippet(span), "colour");
        assert!(l.docs[0].to_json()["spec"].get("colour").is_none(), "dropped, not reported twice");
    }

    #[test]
    fn spans_point_at_the_source() {
        let l = lower_text(
            "template \"t\" {\n  space = \"ml\"\n  limit {\n    cpu_millicores = 8000\n  }\n}\n",
        );
        let doc = &l.docs[0];
        let cpu = doc.find(&crate::config::tree::parse_path("spec.limit.cpu.millicores"));
        assert_eq!(l.sources.snippet(cpu.span), "8000");
        let name = doc.find(&crate::config::tree::parse_path("metadata.name"));
        assert_eq!(l.sources.snippet(name.span), "\"t\"");
    }

    #[test]
    fn repeated_single_blocks_and_bad_labels_are_reported() {
        let l = lower_text("template \"t\" {\n  image {}\n  image {}\n  runtime {\n    env_var \"A\" \"B\" {}\n  }\n}\n");
        let codes: Vec<&str> = l.diags.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"duplicate-block"), "{codes:?}");
        assert!(codes.contains(&"invalid-labels"), "{codes:?}");
    }

    #[test]
    fn sensitivity_survives_lowering() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("main.hcl"),
            "variable \"t\" {\n  default   = \"x\"\n  sensitive = true\n}\ntemplate \"t\" {\n  space = \"ml\"\n  runtime {\n    env_var \"A\" { value = var.t }\n  }\n}\n",
        )
        .expect("write");
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let raw = hcl::load(
            dir.path(),
            &[PathBuf::from("main.hcl")],
            None,
            &LoadOptions::default(),
            &mut sources,
            &mut diags,
        );
        let doc = lower(&raw[0], &mut diags).expect("lowered");
        assert_eq!(doc.sensitive_paths(), vec!["spec.runtime.envVars[0].value".to_string()]);
    }
}
