//! The stack file at the config root (`cordium.hcl` or `cordium.yaml`): the stack name (used in
//! the `cordium-stack` ownership label), prune and build defaults, and named environments with
//! their targets and variable files. Reads the stack file and checks that var files exist; must
//! not talk to a cluster.
//!
//! HCL:
//!
//! ```hcl
//! stack "platform" {
//!   prune         = false
//!   build_timeout = "30m"
//! }
//! environment "staging" {
//!   domain    = "staging.example.com"
//!   var_files = ["env/staging.hcl"]
//! }
//! environment "serve" { endpoint = "http://127.0.0.1:4000" }
//! environment "dev"   { local = ".cordium/local.db" }
//! ```
//!
//! YAML (same meaning, camelCase keys):
//!
//! ```yaml
//! stack:
//!   name: platform
//!   prune: false
//!   buildTimeout: 30m
//! environments:
//!   staging:
//!     domain: staging.example.com
//!     varFiles: [env/staging.hcl]
//!   dev:
//!     local: .cordium/local.db
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::tree::{Key, Node, Value};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};

/// The stack file's contents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// Stack name: the value of the `cordium-stack` label on every object apply creates.
    pub name: String,
    /// Delete labelled objects that are no longer declared (same as `plan --prune`).
    pub prune: bool,
    /// Default per-build timeout for Template pre-builds, e.g. `30m`.
    pub build_timeout: Option<String>,
    pub environments: BTreeMap<String, Environment>,
    /// Path of the stack file, relative to the root.
    pub file: Option<PathBuf>,
    pub span: Option<Span>,
}

/// A named environment: where to apply, with which variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    pub name: String,
    /// A real cluster at `octelium-api.<domain>:443`.
    pub domain: Option<String>,
    /// An explicit endpoint URL, e.g. `http://127.0.0.1:4000` for `cordium serve`.
    pub endpoint: Option<String>,
    /// The embedded local cluster stored at this path (relative to the root).
    pub local: Option<PathBuf>,
    /// Variable files (relative to the root), applied in order.
    pub var_files: Vec<PathBuf>,
    /// Kubernetes access for this environment (docs/kubernetes.md): the kubeconfig (relative
    /// to the root), its context, and the namespace of snapshots and the Lease.
    pub kubeconfig: Option<PathBuf>,
    pub kube_context: Option<String>,
    pub kube_namespace: Option<String>,
    pub span: Option<Span>,
}

/// Stack file names, in the order they are looked for.
pub const FILE_NAMES: &[&str] = &["cordium.hcl", "cordium.yaml", "cordium.yml"];

/// Reads the stack file at `root`, if any. Problems are diagnostics.
pub fn load(root: &Path, sources: &mut Sources, diags: &mut Diagnostics) -> Option<Stack> {
    let name = FILE_NAMES.iter().find(|n| root.join(n).is_file())?;
    let path = root.join(name);
    let text = match super::read::regular_text(&path, super::MAX_FILE_BYTES) {
        Ok(t) => t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t),
        Err(super::read::ReadError::NotUtf8) => {
            diags.push(Diagnostic::error("unreadable-file", format!("{name} is not UTF-8 text.")));
            return None;
        }
        Err(e) => {
            diags.push(Diagnostic::error("unreadable-file", format!("Cannot read {name}: {e}.")));
            return None;
        }
    };
    let file = sources.add(super::read::shown(&path), text.clone());
    let node = if name.ends_with(".hcl") {
        super::hcl::load_literal(&text, file, diags)?
    } else {
        yaml_to_raw(&text, file, diags)?
    };
    let mut stack = from_raw(&node, file, diags)?;
    stack.file = Some(PathBuf::from(name));
    for env in stack.environments.values() {
        for f in &env.var_files {
            if !root.join(f).is_file() {
                diags.push(
                    Diagnostic::error(
                        "missing-var-file",
                        format!(
                            "The var file {} of environment `{}` does not exist.",
                            f.display(),
                            env.name
                        ),
                    )
                    .at_opt(env.span)
                    .help("Var file paths are relative to the config root."),
                );
            }
        }
    }
    Some(stack)
}

/// The environment named by `--env`, or an error listing the known ones.
pub fn select<'a>(
    stack: Option<&'a Stack>,
    name: &str,
) -> Result<&'a Environment, Box<Diagnostic>> {
    let Some(stack) = stack else {
        return Err(Box::new(Diagnostic::error(
            "unknown-environment",
            format!("--env {name} was given, but the config has no stack file declaring environments."),
        )
        .help("Add cordium.hcl at the config root with `environment \"<name>\" { ... }` blocks; see docs/stack.md.")));
    };
    if let Some(env) = stack.environments.get(name) {
        return Ok(env);
    }
    let known: Vec<&str> = stack.environments.keys().map(String::as_str).collect();
    let mut help = if known.is_empty() {
        "The stack file declares no environments.".to_string()
    } else {
        format!("Known environments: {}.", known.join(", "))
    };
    if let Some(s) = did_you_mean(name, known.iter().copied()) {
        help = format!("Did you mean `{s}`? {help}");
    }
    Err(Box::new(
        Diagnostic::error(
            "unknown-environment",
            format!("There is no environment named `{name}`."),
        )
        .at_opt(stack.span)
        .help(help),
    ))
}

/// Whether a stack name is a valid label value: `^[a-z0-9][a-z0-9-]{0,31}$`.
pub fn valid_stack_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

const STACK_ATTRS: &[&str] = &["prune", "build_timeout"];
const ENV_ATTRS: &[&str] =
    &["domain", "endpoint", "local", "var_files", "kubeconfig", "kube_context", "kube_namespace"];
const TOP: &[&str] = &["stack", "environment"];

fn unknown(name: &str, span: Span, known: &[&str], place: &str) -> Diagnostic {
    let help = match did_you_mean(name, known.iter().copied()) {
        Some(s) => format!("Did you mean `{s}`?"),
        None => format!("Allowed here: {}.", known.join(", ")),
    };
    Diagnostic::error("unknown-field", format!("`{name}` is not allowed {place}."))
        .at(span)
        .help(help)
}

fn expect_str(node: &Node, what: &str, diags: &mut Diagnostics) -> Option<String> {
    match &node.value {
        Value::String(s) => Some(s.clone()),
        _ => {
            diags.push(
                Diagnostic::error(
                    "invalid-stack",
                    format!("`{what}` must be a string, not {}.", node.type_name()),
                )
                .at(node.span),
            );
            None
        }
    }
}

fn label(block: &Node) -> Option<(&str, Span)> {
    match &block.get("@labels")?.value {
        Value::List(items) if items.len() == 1 => items[0].as_str().map(|s| (s, items[0].span)),
        _ => None,
    }
}

fn blocks(entry: &Node) -> &[Node] {
    match &entry.value {
        Value::List(items) => items,
        _ => &[],
    }
}

/// The stack from the raw shape (both formats are brought to it).
fn from_raw(node: &Node, file: FileId, diags: &mut Diagnostics) -> Option<Stack> {
    let Value::Map(entries) = &node.value else { return None };
    let mut stack = Stack::default();
    let mut seen_stack: Option<Span> = None;
    for (key, value) in entries {
        match key.name.as_str() {
            "stack" => {
                for block in blocks(value) {
                    if let Some(first) = seen_stack {
                        diags.push(
                            Diagnostic::error(
                                "invalid-stack",
                                "The stack file declares more than one stack.",
                            )
                            .at(block.span)
                            .related(first, "first declared here"),
                        );
                        continue;
                    }
                    seen_stack = Some(block.span);
                    stack.span = Some(block.span);
                    let Some((name, name_span)) = label(block) else {
                        diags.push(
                            Diagnostic::error(
                                "invalid-labels",
                                "A `stack` block needs one label: its name.",
                            )
                            .at(block.span)
                            .help("Write `stack \"platform\" { }`."),
                        );
                        continue;
                    };
                    if !valid_stack_name(name) {
                        diags.push(
                            Diagnostic::error("invalid-stack-name", format!("The stack name `{name}` is not a valid label value."))
                                .at(name_span)
                                .help("Use 1 to 32 lowercase letters, digits and dashes, starting with a letter or digit: it becomes the `cordium-stack` label."),
                        );
                    }
                    stack.name = name.to_string();
                    stack_attrs(block, &mut stack, diags);
                }
            }
            "environment" => {
                for block in blocks(value) {
                    let Some((name, _)) = label(block) else {
                        diags.push(
                            Diagnostic::error(
                                "invalid-labels",
                                "An `environment` block needs one label: its name.",
                            )
                            .at(block.span)
                            .help("Write `environment \"staging\" { domain = \"...\" }`."),
                        );
                        continue;
                    };
                    if let Some(first) = stack.environments.get(name) {
                        let mut d = Diagnostic::error(
                            "duplicate-environment",
                            format!("The environment `{name}` is declared twice."),
                        )
                        .at(block.span);
                        if let Some(s) = first.span {
                            d = d.related(s, "first declared here");
                        }
                        diags.push(d);
                        continue;
                    }
                    if let Some(env) = environment(name, block, diags) {
                        stack.environments.insert(name.to_string(), env);
                    }
                }
            }
            other => diags.push(unknown(other, key.span, TOP, "at the top of the stack file")),
        }
    }
    if seen_stack.is_none() {
        diags.push(
            Diagnostic::error(
                "invalid-stack",
                "The stack file has no `stack` block naming the stack.",
            )
            .at(Span::file_start(file))
            .help("Add `stack \"<name>\" { }`; the name labels every object apply creates."),
        );
        return None;
    }
    Some(stack)
}

fn stack_attrs(block: &Node, stack: &mut Stack, diags: &mut Diagnostics) {
    let Value::Map(entries) = &block.value else { return };
    for (key, value) in entries {
        match key.name.as_str() {
            "@labels" => {}
            "prune" => match value.value {
                Value::Bool(b) => stack.prune = b,
                _ => diags.push(
                    Diagnostic::error("invalid-stack", "`prune` must be true or false.")
                        .at(value.span),
                ),
            },
            "build_timeout" => {
                if let Some(s) = expect_str(value, "build_timeout", diags) {
                    match humantime::parse_duration(&s) {
                        Ok(_) => stack.build_timeout = Some(s),
                        Err(e) => diags.push(
                            Diagnostic::error(
                                "invalid-stack",
                                format!("`build_timeout` is not a duration: {e}."),
                            )
                            .at(value.span)
                            .help("Write a duration such as \"30m\" or \"1h 30m\"."),
                        ),
                    }
                }
            }
            other => diags.push(unknown(other, key.span, STACK_ATTRS, "in a stack block")),
        }
    }
}

fn environment(name: &str, block: &Node, diags: &mut Diagnostics) -> Option<Environment> {
    let Value::Map(entries) = &block.value else { return None };
    let mut env =
        Environment { name: name.to_string(), span: Some(block.span), ..Environment::default() };
    let mut targets: Vec<(&str, Span)> = Vec::new();
    for (key, value) in entries {
        match key.name.as_str() {
            "@labels" => {}
            "domain" => {
                env.domain = expect_str(value, "domain", diags);
                targets.push(("domain", key.span));
            }
            "endpoint" => {
                env.endpoint = expect_str(value, "endpoint", diags);
                targets.push(("endpoint", key.span));
            }
            "local" => {
                env.local = expect_str(value, "local", diags).map(PathBuf::from);
                targets.push(("local", key.span));
            }
            "kubeconfig" => {
                env.kubeconfig = expect_str(value, "kubeconfig", diags).map(PathBuf::from);
            }
            "kube_context" => env.kube_context = expect_str(value, "kube_context", diags),
            "kube_namespace" => env.kube_namespace = expect_str(value, "kube_namespace", diags),
            "var_files" => match &value.value {
                Value::List(items) => {
                    for item in items {
                        if let Some(s) = expect_str(item, "var_files", diags) {
                            env.var_files.push(PathBuf::from(s));
                        }
                    }
                }
                _ => diags.push(
                    Diagnostic::error("invalid-stack", "`var_files` must be a list of paths.")
                        .at(value.span),
                ),
            },
            other => diags.push(unknown(other, key.span, ENV_ATTRS, "in an environment block")),
        }
    }
    match targets.as_slice() {
        [_] => {}
        [] => diags.push(
            Diagnostic::error("invalid-environment", format!("The environment `{name}` has no target."))
                .at(block.span)
                .help("Set exactly one of `domain` (a real cluster), `endpoint` (a URL) or `local` (the embedded cluster's file)."),
        ),
        [first, rest @ ..] => {
            let names: Vec<&str> = targets.iter().map(|(n, _)| *n).collect();
            let mut d = Diagnostic::error(
                "invalid-environment",
                format!("The environment `{name}` sets more than one target: {}.", names.join(", ")),
            )
            .at(rest[0].1)
            .help("Set exactly one of `domain`, `endpoint` or `local`.");
            d = d.related(first.1, "first target here");
            diags.push(d);
        }
    }
    Some(env)
}

/// Brings a YAML stack file to the raw shape of the HCL one.
fn yaml_to_raw(text: &str, file: FileId, diags: &mut Diagnostics) -> Option<Node> {
    let yaml = YamlText { text, file, whole: Span::new(file, 0, text.len()) };
    let value: serde_json::Value = match serde_saphyr::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            diags.push(
                Diagnostic::error("yaml-syntax", format!("The stack file cannot be parsed: {e}."))
                    .at(Span::file_start(file)),
            );
            return None;
        }
    };
    let serde_json::Value::Object(top) = value else {
        diags.push(
            Diagnostic::error(
                "invalid-stack",
                "The stack file must be a map with `stack` and `environments`.",
            )
            .at(yaml.whole),
        );
        return None;
    };
    let mut entries = Vec::new();
    for (k, v) in &top {
        let span = yaml.span_of(k);
        match (k.as_str(), v) {
            ("stack", serde_json::Value::Object(m)) => entries.push(yaml.stack_block(m, span)),
            ("environments", serde_json::Value::Object(m)) => {
                entries.push(yaml.environment_blocks(m, span))
            }
            ("stack" | "environments", _) => diags.push(
                Diagnostic::error("invalid-stack", format!("`{k}` must be a map."))
                    .at(span)
                    .help("See docs/stack.md."),
            ),
            (other, _) => diags.push(unknown(
                other,
                span,
                &["stack", "environments"],
                "at the top of the stack file",
            )),
        }
    }
    Some(Node::map(entries, yaml.whole))
}

/// A YAML stack file's text, for finding the spans of its keys.
struct YamlText<'a> {
    text: &'a str,
    file: FileId,
    whole: Span,
}

impl YamlText<'_> {
    /// The span of the first `key:` (or `"key":`), or the whole file.
    fn span_of(&self, key: &str) -> Span {
        let text = self.text;
        text.match_indices(key)
            .find(|(i, _)| {
                text[i + key.len()..].trim_start_matches('"').trim_start().starts_with(':')
            })
            .map(|(i, _)| Span::new(self.file, i, i + key.len()))
            .unwrap_or(self.whole)
    }

    /// `stack: { name: x, ... }` → a `stack "x" { ... }` block.
    fn stack_block(
        &self,
        m: &serde_json::Map<String, serde_json::Value>,
        span: Span,
    ) -> (Key, Node) {
        let mut inner = Vec::new();
        for (ik, iv) in m {
            let ispan = self.span_of(ik);
            if ik == "name" {
                let labels = Node::new(Value::List(vec![plain(iv, ispan)]), ispan);
                inner.insert(0, (Key { name: "@labels".into(), span: ispan }, labels));
            } else {
                inner.push((Key { name: hcl_name(ik), span: ispan }, plain(iv, ispan)));
            }
        }
        let block = Node::map(inner, span);
        (Key { name: "stack".into(), span }, Node::new(Value::List(vec![block]), span))
    }

    /// `environments: { name: { ... } }` → one `environment "name" { ... }` block each.
    fn environment_blocks(
        &self,
        m: &serde_json::Map<String, serde_json::Value>,
        span: Span,
    ) -> (Key, Node) {
        let mut list = Vec::new();
        for (name, body) in m {
            let espan = self.span_of(name);
            let mut inner = vec![(
                Key { name: "@labels".into(), span: espan },
                Node::new(Value::List(vec![Node::string(name.clone(), espan)]), espan),
            )];
            if let serde_json::Value::Object(fields) = body {
                for (fk, fv) in fields {
                    let fspan = self.span_of(fk);
                    inner.push((Key { name: hcl_name(fk), span: fspan }, plain(fv, fspan)));
                }
            }
            list.push(Node::map(inner, espan));
        }
        (Key { name: "environment".into(), span }, Node::new(Value::List(list), span))
    }
}

/// `varFiles` → `var_files`: a YAML key in HCL spelling.
fn hcl_name(k: &str) -> String {
    let mut out = String::new();
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A YAML value as a raw node, every part at one span.
fn plain(v: &serde_json::Value, span: Span) -> Node {
    let value = match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.clone()),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => {
            Value::List(items.iter().map(|i| plain(i, span)).collect())
        }
        serde_json::Value::Object(m) => Value::Map(
            m.iter().map(|(k, v)| (Key { name: k.clone(), span }, plain(v, span))).collect(),
        ),
    };
    Node::new(value, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str, files: &[&str]) -> (Option<Stack>, Diagnostics) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(name), text).expect("write");
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, "").expect("write");
        }
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let s = load(dir.path(), &mut sources, &mut diags);
        (s, diags)
    }

    const HCL: &str = r#"
stack "platform" {
  prune         = false
  build_timeout = "30m"
}
environment "staging" {
  domain    = "staging.example.com"
  var_files = ["env/staging.hcl"]
}
environment "serve" { endpoint = "http://127.0.0.1:4000" }
environment "dev" { local = ".cordium/local.db" }
"#;

    #[test]
    fn hcl_stack_loads() {
        let (s, d) = load_text("cordium.hcl", HCL, &["env/staging.hcl"]);
        assert!(d.is_empty(), "{d:?}");
        let s = s.expect("a stack");
        assert_eq!(s.name, "platform");
        assert_eq!(s.build_timeout.as_deref(), Some("30m"));
        assert_eq!(s.environments.len(), 3);
        assert_eq!(s.environments["staging"].var_files, vec![PathBuf::from("env/staging.hcl")]);
        assert_eq!(s.environments["serve"].endpoint.as_deref(), Some("http://127.0.0.1:4000"));
        assert_eq!(s.environments["dev"].local, Some(PathBuf::from(".cordium/local.db")));
        assert_eq!(select(Some(&s), "dev").map(|e| e.name.as_str()), Ok("dev"));
        let e = select(Some(&s), "stagin").expect_err("unknown");
        assert!(e
            .help
            .as_deref()
            .unwrap_or("")
            .contains("Did you mean `staging`? Known environments: dev, serve, staging."));
        assert!(select(None, "dev").is_err());
    }

    #[test]
    fn yaml_stack_loads_the_same() {
        let yaml = "stack:\n  name: platform\n  prune: false\n  buildTimeout: 30m\nenvironments:\n  staging:\n    domain: staging.example.com\n    varFiles: [env/staging.hcl]\n  serve:\n    endpoint: http://127.0.0.1:4000\n  dev:\n    local: .cordium/local.db\n";
        let (y, d) = load_text("cordium.yaml", yaml, &["env/staging.hcl"]);
        assert!(d.is_empty(), "{d:?}");
        let (h, _) = load_text("cordium.hcl", HCL, &["env/staging.hcl"]);
        let strip = |s: Stack| {
            (
                s.name,
                s.prune,
                s.build_timeout,
                s.environments
                    .into_values()
                    .map(|e| (e.name, e.domain, e.endpoint, e.local, e.var_files))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(strip(y.expect("yaml")), strip(h.expect("hcl")));
    }

    #[test]
    fn problems_are_diagnosed() {
        let text = r#"
stack "Platform!" { prun = true }
environment "a" {
  domain = "x"
  local  = "y"
}
environment "b" {}
environment "c" {
  local     = "z"
  var_files = ["missing.hcl"]
}
"#;
        let (_, d) = load_text("cordium.hcl", text, &[]);
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"invalid-stack-name"), "{codes:?}");
        assert!(codes.contains(&"unknown-field"), "{codes:?}");
        assert_eq!(codes.iter().filter(|c| **c == "invalid-environment").count(), 2, "{codes:?}");
        assert!(codes.contains(&"missing-var-file"), "{codes:?}");
        let prun = d.iter().find(|d| d.code == "unknown-field").expect("prun");
        assert_eq!(prun.help.as_deref(), Some("Did you mean `prune`?"));
    }

    #[test]
    fn an_environment_names_its_kubernetes_access_in_either_format() {
        let hcl = "stack \"p\" {}\nenvironment \"prod\" {\n  domain = \"example.com\"\n  kubeconfig = \"kube/prod.yaml\"\n  kube_context = \"eu\"\n  kube_namespace = \"ops\"\n}\n";
        let yaml = "stack:\n  name: p\nenvironments:\n  prod:\n    domain: example.com\n    kubeconfig: kube/prod.yaml\n    kubeContext: eu\n    kubeNamespace: ops\n";
        for (file, text) in [("cordium.hcl", hcl), ("cordium.yaml", yaml)] {
            let (s, d) = load_text(file, text, &[]);
            assert!(d.is_empty(), "{file}: {d:?}");
            let e = &s.expect("a stack").environments["prod"];
            assert_eq!(e.kubeconfig, Some(PathBuf::from("kube/prod.yaml")), "{file}");
            assert_eq!(
                (e.kube_context.as_deref(), e.kube_namespace.as_deref()),
                (Some("eu"), Some("ops"))
            );
        }
    }

    #[test]
    fn stack_names_follow_the_label_rule() {
        assert!(valid_stack_name("platform"));
        assert!(valid_stack_name("0-a"));
        assert!(!valid_stack_name(""));
        assert!(!valid_stack_name("-a"));
        assert!(!valid_stack_name("A"));
        assert!(!valid_stack_name(&"a".repeat(33)));
    }
}
