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

use serde_json::Value as Json;

use super::schema;
use super::Kind;
use crate::config::tree::{Key, Node, Value};
use crate::config::{Format, RawDoc};
use crate::diag::{Diagnostic, Diagnostics, Span};

/// Lowers one raw HCL document to the canonical document tree. YAML documents are returned
/// unchanged. `None` when the document is unusable (reported).
pub fn lower(doc: &RawDoc, diags: &mut Diagnostics) -> Option<Node> {
    if doc.format == Format::Yaml {
        return Some(doc.node.clone());
    }
    let Value::Map(entries) = &doc.node.value else {
        diags.push(Diagnostic::error("invalid-document", "This block is not a map.").at(doc.span));
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
    let kind_span = kind_node.map(|n| n.span).unwrap_or(doc.span);
    let name_node = doc.node.get("@name");
    let name = name_node.and_then(Node::as_str).unwrap_or("").to_string();
    let name_span = name_node.map(|n| n.span).unwrap_or(doc.span);

    let root = schema::for_kind(kind);
    let ctx = Ctx { root };
    let doc_props = root.get("properties").and_then(Json::as_object);
    let has_prop = |p: &str| doc_props.is_some_and(|m| m.contains_key(p));
    let metadata_schema = ctx.prop_schema(root, "metadata");
    let spec_schema = ctx.prop_schema(root, "spec");

    let mut meta: Vec<(Key, Node)> = Vec::new();
    let mut top: Vec<(Key, Node)> = Vec::new();
    let mut spec: Vec<(Key, Node)> = Vec::new();
    let mut space: Option<String> = None;
    let mut organization = false;
    let mut refused = false;

    for (key, value) in entries {
        let k = key.name.as_str();
        if k.starts_with('@') {
            continue;
        }
        let squashed = squash(k);
        if k == "space" && kind.in_space() && super::shape::any_sensitive(value) {
            // The space is part of the resource's name (`template.ml.gpu`), in every message.
            diags.push(super::shape::sensitive_name(
                value.span,
                "`space`".to_string(),
                "the space is part of the resource's name, shown in plans and messages",
            ));
            refused = true;
        } else if k == "space" && kind.in_space() {
            match value.as_str() {
                Some(s) => space = Some(s.to_string()),
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
                Value::Bool(b) => organization = b,
                _ => diags.push(
                    Diagnostic::error("invalid-space", "`organization` must be true or false.")
                        .at(value.span),
                ),
            }
        } else if metadata_schema
            .as_ref()
            .is_some_and(|m| find_prop(m, &squashed).is_some_and(|p| p != "name"))
        {
            meta.push((key.clone(), value.clone()));
        } else if !matches!(squashed.as_str(), "kind" | "metadata" | "spec" | "apiversion")
            && doc_props.is_some_and(|m| m.keys().any(|p| squash(p) == squashed))
        {
            top.push((key.clone(), value.clone()));
        } else if has_prop("spec") {
            let in_spec = spec_schema.as_ref().and_then(|ss| ss.get("properties")?.as_object());
            let known = in_spec.is_some_and(|props| {
                props
                    .keys()
                    .map(|p| squash(p))
                    .any(|p| p == squashed || p == plural(&squashed) || squashed.starts_with(&p))
            });
            if known {
                spec.push((key.clone(), value.clone()));
            } else {
                diags.push(unknown_attribute(
                    kind,
                    k,
                    key.span,
                    &metadata_schema,
                    doc_props,
                    in_spec,
                ));
            }
        } else {
            top.push((key.clone(), value.clone()));
        }
    }

    if refused {
        return None;
    }
    let full_name = match (kind, &space) {
        (Kind::Space, _) if organization => format!("{name}.cordium"),
        (_, Some(space)) if kind.in_space() => format!("{name}.{space}"),
        _ => name,
    };

    let mut out = vec![(
        Key { name: "kind".into(), span: kind_span },
        Node::string(kind.api_kind(), kind_span),
    )];
    let mut metadata =
        vec![(Key { name: "name".into(), span: name_span }, Node::string(full_name, name_span))];
    if let Some(ms) = &metadata_schema {
        metadata.extend(ctx.object(&meta, ms, diags));
    }
    out.push((Key { name: "metadata".into(), span: name_span }, Node::map(metadata, name_span)));
    let lowered_top = ctx.object(&top, root, diags);
    // `template` sits before `spec`, the rest after, as in a hand-written YAML document.
    let (before, after): (Vec<_>, Vec<_>) =
        lowered_top.into_iter().partition(|(k, _)| k.name == "template");
    out.extend(before);
    if let (Some(ss), false) = (&spec_schema, spec.is_empty()) {
        out.push((
            Key { name: "spec".into(), span: doc.span },
            Node::map(ctx.object(&spec, ss, diags), doc.span),
        ));
    }
    out.extend(after);
    Some(Node { value: Value::Map(out), span: doc.span, sensitive: false })
}

/// `display_name`, `displayName` and `DISPLAYNAME` all squash to `displayname`.
/// `displayName` → `display_name`: how HCL users write a field.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// An attribute or block at the top of a resource block that is nothing this kind has: named
/// as written, with a did-you-mean over every name the block may hold, in HCL spelling.
fn unknown_attribute(
    kind: Kind,
    written: &str,
    span: crate::diag::Span,
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

fn squash(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// `clone_options` → `cloneOptions`.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The property of an object schema that a (snake_case or camelCase) name stands for.
fn find_prop(schema: &Json, squashed: &str) -> Option<String> {
    schema.get("properties")?.as_object()?.keys().find(|p| squash(p) == squashed).cloned()
}

/// `inline_policy` → `inlinepolicies`, `task` → `tasks` (squashed plurals).
fn plural(squashed: &str) -> String {
    match squashed.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{squashed}s"),
    }
}

struct Ctx<'a> {
    root: &'a Json,
}

/// How deep `$ref` chains and nesting may go before lowering gives up on the schema.
const MAX_DEPTH: usize = 64;

impl Ctx<'_> {
    /// Follows `$ref`s to the schema they name.
    fn resolve<'s>(&'s self, mut schema: &'s Json) -> &'s Json {
        for _ in 0..MAX_DEPTH {
            let Some(r) = schema.get("$ref").and_then(Json::as_str) else { break };
            let Some(name) = r.strip_prefix("#/$defs/") else { break };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(s) => schema = s,
                None => break,
            }
        }
        schema
    }

    fn prop_schema(&self, schema: &Json, prop: &str) -> Option<Json> {
        schema.get("properties")?.get(prop).map(|s| self.resolve(s).clone())
    }

    fn is_array(&self, schema: &Json) -> bool {
        schema.get("type").and_then(Json::as_str) == Some("array")
    }

    fn items(&self, schema: &Json) -> Json {
        schema.get("items").map(|s| self.resolve(s).clone()).unwrap_or(Json::Bool(true))
    }

    fn has_props(&self, schema: &Json) -> bool {
        schema.get("properties").and_then(Json::as_object).is_some()
    }

    fn is_object(&self, schema: &Json) -> bool {
        schema.get("type").and_then(Json::as_str) == Some("object")
    }

    /// Lowers the entries of a body (or object) against an object schema.
    fn object(
        &self,
        entries: &[(Key, Node)],
        schema: &Json,
        diags: &mut Diagnostics,
    ) -> Vec<(Key, Node)> {
        let mut out: Vec<(Key, Node)> = Vec::new();
        for (key, value) in entries {
            if key.name.starts_with('@') {
                continue;
            }
            self.entry(key, value, schema, &mut out, diags, 0);
        }
        out
    }

    fn entry(
        &self,
        key: &Key,
        value: &Node,
        schema: &Json,
        out: &mut Vec<(Key, Node)>,
        diags: &mut Diagnostics,
        depth: usize,
    ) {
        let squashed = squash(&key.name);
        // A property of that name.
        if let Some(prop) = find_prop(schema, &squashed) {
            let ps = self.prop_schema(schema, &prop).unwrap_or(Json::Bool(true));
            let lowered = self.value(value, &ps, diags, depth + 1);
            push(out, Key { name: prop, span: key.span }, lowered, diags);
            return;
        }
        // A singular block name of an array property.
        if let Some(prop) = find_prop(schema, &plural(&squashed)) {
            let ps = self.prop_schema(schema, &prop).unwrap_or(Json::Bool(true));
            if self.is_array(&ps) {
                let items = self.items(&ps);
                let blocks: Vec<&Node> = match &value.value {
                    Value::List(list) if list.iter().all(is_map) => list.iter().collect(),
                    Value::Map(_) => vec![value],
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                "invalid-block",
                                format!("`{}` is written as a block: `{} {{ ... }}`, or use `{} = [...]`.", key.name, key.name, prop),
                            )
                            .at(value.span),
                        );
                        return;
                    }
                };
                let mut lowered = Vec::with_capacity(blocks.len());
                for block in blocks {
                    lowered.push(self.item(block, &items, &key.name, diags, depth + 1));
                }
                let list = Node::new(Value::List(lowered), value.span);
                push(out, Key { name: prop, span: key.span }, list, diags);
                return;
            }
        }
        // `a_b` where `a` is an object property with a field `b`.
        if depth < MAX_DEPTH {
            for (i, _) in key.name.match_indices('_') {
                let (head, rest) = (&key.name[..i], &key.name[i + 1..]);
                let Some(prop) = find_prop(schema, &squash(head)) else { continue };
                let Some(ps) = self.prop_schema(schema, &prop) else { continue };
                if !self.has_props(&ps) {
                    continue;
                }
                let sub_key = Key { name: rest.to_string(), span: key.span };
                let mut inner = Vec::new();
                self.entry(&sub_key, value, &ps, &mut inner, diags, depth + 1);
                if inner.iter().any(|(k, _)| find_prop(&ps, &squash(&k.name)).is_some()) {
                    let node = Node::map(inner, value.span);
                    merge_into(out, Key { name: prop, span: key.span }, node, diags);
                    return;
                }
            }
        }
        // Unknown: kept for the decoder to report, camelCased, its value lowered without schema.
        let lowered = self.value(value, &Json::Bool(true), diags, depth + 1);
        push(out, Key { name: camel(&key.name), span: key.span }, lowered, diags);
    }

    /// One item of an array from a block: its label becomes `name` or `key`.
    fn item(
        &self,
        block: &Node,
        items: &Json,
        block_name: &str,
        diags: &mut Diagnostics,
        depth: usize,
    ) -> Node {
        let Value::Map(entries) = &block.value else {
            return self.value(block, items, diags, depth);
        };
        let mut lowered = self.object(entries, items, diags);
        if let Some(labels) = block.get("@labels") {
            let Value::List(ls) = &labels.value else { return Node::map(lowered, block.span) };
            let field = ["name", "key"].into_iter().find(|f| find_prop(items, f).is_some());
            match (ls.as_slice(), field) {
                ([label], Some(field)) if !lowered.iter().any(|(k, _)| k.name == field) => {
                    lowered.insert(
                        0,
                        (Key { name: field.to_string(), span: label.span }, label.clone()),
                    );
                }
                ([_], Some(field)) => diags.push(
                    Diagnostic::error(
                        "duplicate-attribute",
                        format!(
                            "This `{block_name}` block has both a label and a `{field}` attribute."
                        ),
                    )
                    .at(labels.span)
                    .help("Keep one of them."),
                ),
                _ => diags.push(
                    Diagnostic::error(
                        "invalid-labels",
                        match field {
                            Some(f) => {
                                format!("A `{block_name}` block takes at most one label (its {f}).")
                            }
                            None => format!("A `{block_name}` block takes no label."),
                        },
                    )
                    .at(labels.span)
                    .help("Remove the extra labels."),
                ),
            }
        }
        Node::map(lowered, block.span)
    }

    /// Lowers a value against a schema.
    fn value(&self, node: &Node, schema: &Json, diags: &mut Diagnostics, depth: usize) -> Node {
        let schema = self.resolve(schema);
        if depth > MAX_DEPTH {
            return node.clone();
        }
        let with = |value: Value| Node { value, span: node.span, sensitive: node.sensitive };
        match &node.value {
            // Blocks: a list of maps.
            Value::List(list)
                if self.is_object(schema) && !list.is_empty() && list.iter().all(is_block) =>
            {
                if let [block] = list.as_slice() {
                    return self.value(&strip_labels(block), schema, diags, depth + 1);
                }
                diags.push(
                    Diagnostic::error("duplicate-block", "This block may appear only once here.")
                        .at(list[1].span)
                        .related(list[0].span, "first block here")
                        .help("Merge the two blocks into one."),
                );
                self.value(&strip_labels(&list[0]), schema, diags, depth + 1)
            }
            Value::List(list) => {
                let items = self.items(schema);
                with(Value::List(
                    list.iter()
                        .map(|i| {
                            if is_block(i) {
                                self.item(i, &items, "block", diags, depth + 1)
                            } else {
                                self.value(i, &items, diags, depth + 1)
                            }
                        })
                        .collect(),
                ))
            }
            Value::Map(entries) if self.has_props(schema) => {
                with(Value::Map(self.object(entries, schema, diags)))
            }
            Value::Map(entries) if self.is_object(schema) => {
                // A free-form map: keys are data, values lowered against additionalProperties.
                let inner = schema.get("additionalProperties").cloned().unwrap_or(Json::Bool(true));
                with(Value::Map(
                    entries
                        .iter()
                        .filter(|(k, _)| !k.name.starts_with('@'))
                        .map(|(k, v)| (k.clone(), self.value(v, &inner, diags, depth + 1)))
                        .collect(),
                ))
            }
            Value::Map(entries) => with(Value::Map(
                entries
                    .iter()
                    .filter(|(k, _)| !k.name.starts_with('@'))
                    .map(|(k, v)| {
                        (
                            Key { name: camel(&k.name), span: k.span },
                            self.value(v, &Json::Bool(true), diags, depth + 1),
                        )
                    })
                    .collect(),
            )),
            Value::String(_) if is_condition(schema) => with(Value::Map(vec![(
                Key { name: "match".into(), span: node.span },
                node.clone(),
            )])),
            Value::String(s) => match enum_name(schema, s) {
                Some(full) => with(Value::String(full)),
                None => node.clone(),
            },
            _ => node.clone(),
        }
    }
}

fn is_map(n: &Node) -> bool {
    matches!(n.value, Value::Map(_))
}

/// A map that came from a block (it may carry `@labels`), or any map in a list of blocks.
fn is_block(n: &Node) -> bool {
    is_map(n)
}

fn strip_labels(block: &Node) -> Node {
    match &block.value {
        Value::Map(entries) => Node {
            value: Value::Map(
                entries.iter().filter(|(k, _)| k.name != "@labels").cloned().collect(),
            ),
            span: block.span,
            sensitive: block.sensitive,
        },
        _ => block.clone(),
    }
}

/// A `core.v1.Condition` schema (it has `match` and `matchAny`).
fn is_condition(schema: &Json) -> bool {
    schema
        .get("properties")
        .and_then(Json::as_object)
        .is_some_and(|p| p.contains_key("match") && p.contains_key("matchAny"))
}

/// The full enum name a short one stands for: `ABORT` → `ON_FAILURE_ABORT`.
fn enum_name(schema: &Json, s: &str) -> Option<String> {
    let names: Vec<&str> =
        schema.get("enum")?.as_array()?.iter().filter_map(Json::as_str).collect();
    if names.contains(&s) {
        return None;
    }
    let suffix = format!("_{s}");
    let matches: Vec<&&str> = names.iter().filter(|n| n.ends_with(&suffix)).collect();
    match matches.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// Adds an entry; two entries for one property are merged when both are lists (`env_var` blocks
/// and an `env_vars = [...]` attribute), else reported.
fn push(out: &mut Vec<(Key, Node)>, key: Key, node: Node, diags: &mut Diagnostics) {
    match out.iter_mut().find(|(k, _)| k.name == key.name) {
        None => out.push((key, node)),
        Some((_, existing)) => match (&mut existing.value, node.value) {
            (Value::List(a), Value::List(b)) => {
                a.extend(b);
                existing.span = existing.span.to(node.span);
            }
            _ => diags.push(duplicate(&key, existing.span)),
        },
    }
}

/// Adds a nested object from a flattened name, merging with an object already there.
fn merge_into(out: &mut Vec<(Key, Node)>, key: Key, node: Node, diags: &mut Diagnostics) {
    match out.iter_mut().find(|(k, _)| k.name == key.name) {
        None => out.push((key, node)),
        Some((_, existing)) => match (&mut existing.value, node.value) {
            (Value::Map(a), Value::Map(b)) => {
                for (k, v) in b {
                    if a.iter().any(|(x, _)| x.name == k.name) {
                        diags.push(duplicate(&k, v.span));
                    } else {
                        a.push((k, v));
                    }
                }
            }
            _ => diags.push(duplicate(&key, existing.span)),
        },
    }
}

fn duplicate(key: &Key, first: Span) -> Diagnostic {
    Diagnostic::error("duplicate-attribute", format!("`{}` is set twice.", key.name))
        .at(key.span)
        .related(first, "first set here")
        .help("Remove one of them.")
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
        let _: crate::model::doc::TemplateDoc =
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
        let _: crate::model::doc::UserDoc = serde_json::from_value(got).expect("a valid UserDoc");
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
        let _: crate::model::doc::WorkspaceDoc =
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
        let _: crate::model::doc::SecretDoc =
            serde_json::from_value(got).expect("a valid SecretDoc");
    }

    #[test]
    fn snake_case_follows_hcl_spelling() {
        assert_eq!(snake("displayName"), "display_name");
        assert_eq!(snake("picURL"), "pic_url");
        assert_eq!(snake("disableSSH"), "disable_ssh");
        assert_eq!(snake("additionalRepositories"), "additional_repositories");
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

    #[test]
    fn helpers() {
        assert_eq!(camel("clone_options"), "cloneOptions");
        assert_eq!(plural("inlinepolicy"), "inlinepolicies");
        assert_eq!(plural("key"), "keys");
        assert_eq!(plural("additionalrepository"), "additionalrepositories");
    }
}
