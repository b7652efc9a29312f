//! Checking a document tree against its kind's JSON Schema, and normalising it to protojson.
//!
//! Walks the tree and the schema together (`$ref`/`$defs`, `properties`, `additionalProperties`,
//! `items`, `type`, `enum`, integer formats and bounds) and reports every problem with the span
//! of the offending key or value: unknown fields (with "did you mean"), wrong types, bad enum
//! values, out-of-range integers, missing required fields. Accepts what protojson accepts and
//! rewrites it in place to the canonical form: snake_case field names become camelCase, enum
//! numbers become names, numeric strings in integer fields become numbers, `null` fields are
//! dropped. Pure: no I/O.

use serde_json::Value as Json;

use crate::config::tree::{format_path, Node, PathSeg, Value};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics};

/// Checks `node` against `schema` (a root schema with `$defs`), normalising it in place.
pub fn conform(node: &mut Node, schema: &Json, diags: &mut Diagnostics) {
    let mut walker = Walker { root: schema, diags };
    let mut path = Vec::new();
    walker.check(node, schema, None, &mut path, 0);
}

struct Walker<'a> {
    root: &'a Json,
    diags: &'a mut Diagnostics,
}

/// Guards against a malformed schema with `$ref` loops (ours never has one).
const MAX_SCHEMA_DEPTH: usize = 256;

fn describe(path: &[PathSeg]) -> String {
    if path.is_empty() {
        "the document".to_string()
    } else {
        format!("`{}`", format_path(path))
    }
}

/// The identity field (`name`, else `key`: what plans show in `[...]`) of a list item, when it
/// derives from a sensitive value.
fn sensitive_identity(item: &Node) -> Option<(&'static str, &Node)> {
    ["name", "key"]
        .into_iter()
        .find_map(|f| item.get(f).filter(|n| n.sensitive && n.as_str().is_some()).map(|n| (f, n)))
}

/// Whether a node or anything under it derives from a sensitive value.
pub(crate) fn any_sensitive(node: &Node) -> bool {
    node.sensitive
        || match &node.value {
            Value::List(items) => items.iter().any(any_sensitive),
            Value::Map(entries) => entries.iter().any(|(_, v)| any_sensitive(v)),
            _ => false,
        }
}

/// A sensitive value where the server needs plain text. Says what and why, never the value.
pub(crate) fn sensitive_name(span: crate::diag::Span, what: String, why: &str) -> Diagnostic {
    Diagnostic::error(
        "sensitive-name",
        format!("a sensitive value cannot be used as {what}: {why}"),
    )
    .at(span)
    .help("use a value that is not sensitive here (a literal, or a variable without `sensitive = true`)")
}

fn expected_name(ty: &str) -> &'static str {
    match ty {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "array" => "a list",
        "object" => "a map",
        _ => "a value",
    }
}

/// `pic_url` and `picURL` are the same field (protojson accepts the proto name).
fn loose(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

impl Walker<'_> {
    fn check(
        &mut self,
        node: &mut Node,
        schema: &Json,
        def: Option<&str>,
        path: &mut Vec<PathSeg>,
        depth: usize,
    ) {
        if depth > MAX_SCHEMA_DEPTH {
            return;
        }
        let root = self.root;
        let (schema, def) = resolve_in(root, schema, def);
        if schema == &Json::Bool(true) || schema.as_object().is_some_and(|o| o.is_empty()) {
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
            self.check_enum(node, allowed, path);
            return;
        }
        let ty = schema.get("type").and_then(Json::as_str).unwrap_or("");
        match ty {
            "object" => self.check_object(node, schema, def, path, depth),
            "array" => {
                let Value::List(items) = &mut node.value else {
                    return self.wrong_type(node, ty, def, path);
                };
                let item_schema = schema.get("items").unwrap_or(&Json::Bool(true));
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(PathSeg::Index(i));
                    if let Some((field, id)) = sensitive_identity(item) {
                        self.diags.push(sensitive_name(
                            id.span,
                            format!("the `{field}` of {}", describe(path)),
                            "it names the item in plans and is sent in plain text",
                        ));
                    }
                    self.check(item, item_schema, None, path, depth + 1);
                    path.pop();
                }
            }
            "string" if !matches!(node.value, Value::String(_)) => {
                self.wrong_type(node, ty, def, path)
            }
            "boolean" if !matches!(node.value, Value::Bool(_)) => {
                self.wrong_type(node, ty, def, path)
            }
            "number" => {
                if let Value::String(s) = &node.value {
                    if let Some(n) =
                        s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64)
                    {
                        node.value = Value::Number(n);
                    }
                }
                if !matches!(node.value, Value::Number(_)) {
                    self.wrong_type(node, ty, def, path);
                }
            }
            "integer" => self.check_integer(node, schema, path),
            _ => {}
        }
    }

    fn wrong_type(&mut self, node: &Node, ty: &str, def: Option<&str>, path: &[PathSeg]) {
        let found = node.type_name();
        if def == Some("SecretRef") {
            if let Value::String(_) = node.value {
                self.diags.push(
                    Diagnostic::error(
                        "plaintext-secret",
                        format!(
                            "a password must reference a Secret: {} holds a plain value",
                            describe(path)
                        ),
                    )
                    .at(node.span)
                    .help("declare a Secret and write `password: {fromSecret: NAME}`"),
                );
                return;
            }
        }
        let mut d = Diagnostic::error(
            "wrong-type",
            format!(
                "wrong type for {}: expected {}, found {found}",
                describe(path),
                expected_name(ty)
            ),
        )
        .at(node.span);
        if ty == "string" && matches!(node.value, Value::Number(_) | Value::Bool(_)) {
            d = d.help("quote the value to make it a string");
        }
        self.diags.push(d);
    }

    fn check_enum(&mut self, node: &mut Node, allowed: &[Json], path: &[PathSeg]) {
        let names: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
        match &node.value {
            Value::String(s) if names.contains(&s.as_str()) => {}
            Value::Number(n) => {
                // protojson accepts an enum's number; names are listed in number order.
                match n.as_u64().and_then(|i| names.get(i as usize)) {
                    Some(name) => node.value = Value::String((*name).to_string()),
                    None => self.diags.push(
                        Diagnostic::error(
                            "bad-enum",
                            format!("{} has no value numbered {n}", describe(path)),
                        )
                        .at(node.span)
                        .help(format!("use one of: {}", names.join(", "))),
                    ),
                }
            }
            Value::String(s) => {
                let mut help = format!("allowed values: {}", names.join(", "));
                if let Some(m) = did_you_mean(s, names.iter().copied()) {
                    help = format!("did you mean `{m}`? {help}");
                }
                self.diags.push(
                    Diagnostic::error(
                        "bad-enum",
                        format!("`{s}` is not a valid value for {}", describe(path)),
                    )
                    .at(node.span)
                    .help(help),
                );
            }
            _ => self.diags.push(
                Diagnostic::error(
                    "wrong-type",
                    format!(
                        "wrong type for {}: expected one of {}, found {}",
                        describe(path),
                        names.join(", "),
                        node.type_name()
                    ),
                )
                .at(node.span),
            ),
        }
    }

    fn check_integer(&mut self, node: &mut Node, schema: &Json, path: &[PathSeg]) {
        // protojson accepts integers written as strings, and integral floats.
        let parsed: Option<i128> = match &node.value {
            Value::Number(n) => {
                n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)).or_else(|| {
                    n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e30).map(|f| f as i128)
                })
            }
            Value::String(s) => s.trim().parse::<i128>().ok(),
            _ => None,
        };
        let Some(n) = parsed else {
            let found = match &node.value {
                Value::Number(_) => "a fractional number",
                _ => node.type_name(),
            };
            self.diags.push(
                Diagnostic::error(
                    "wrong-type",
                    format!(
                        "wrong type for {}: expected an integer, found {found}",
                        describe(path)
                    ),
                )
                .at(node.span),
            );
            return;
        };
        let (mut min, mut max) = match schema.get("format").and_then(Json::as_str) {
            Some("uint32") => (0, i128::from(u32::MAX)),
            Some("int32") => (i128::from(i32::MIN), i128::from(i32::MAX)),
            Some("uint64") => (0, i128::from(u64::MAX)),
            _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
        };
        if let Some(m) = schema.get("minimum").and_then(Json::as_i64) {
            min = min.max(i128::from(m));
        }
        if let Some(m) = schema.get("maximum").and_then(Json::as_i64) {
            max = max.min(i128::from(m));
        }
        if n < min || n > max {
            self.diags.push(
                Diagnostic::error(
                    "out-of-range",
                    format!(
                        "{} is out of range: {n} is not between {min} and {max}",
                        describe(path)
                    ),
                )
                .at(node.span),
            );
            return;
        }
        node.value =
            if n < 0 { Value::Number((n as i64).into()) } else { Value::Number((n as u64).into()) };
    }

    fn check_object(
        &mut self,
        node: &mut Node,
        schema: &Json,
        def: Option<&str>,
        path: &mut Vec<PathSeg>,
        depth: usize,
    ) {
        let span = node.span;
        let tainted = node.sensitive;
        let Value::Map(entries) = &mut node.value else {
            return self.wrong_type(node, "object", def, path);
        };
        // Null means "not set" in protojson.
        entries.retain(|(_, v)| !matches!(v.value, Value::Null));
        let empty = serde_json::Map::new();
        let props = schema.get("properties").and_then(Json::as_object).unwrap_or(&empty);
        let additional = schema.get("additionalProperties");
        let free_keys = props.is_empty() && additional.is_some_and(|a| a != &Json::Bool(false));
        if tainted && free_keys && !entries.is_empty() {
            // A map computed from a sensitive value has sensitive keys.
            self.diags.push(sensitive_name(
                span,
                format!("the keys of {}", describe(path)),
                "keys are shown in plans and sent in plain text",
            ));
            entries.clear();
            return;
        }
        let mut i = 0;
        while i < entries.len() {
            let name = entries[i].0.name.clone();
            let prop = if let Some(p) = props.get(&name) {
                Some(p)
            } else if name.contains('_') {
                // The proto field name (snake_case) is the camelCase field.
                let want = loose(&name);
                match props.keys().find(|k| loose(k) == want) {
                    Some(camel) => {
                        if entries.iter().any(|(k, _)| &k.name == camel) {
                            let other =
                                entries.iter().find(|(k, _)| &k.name == camel).map(|(k, _)| k.span);
                            let mut d = Diagnostic::error(
                                "duplicate-key",
                                format!("`{name}` and `{camel}` are the same field, set twice"),
                            )
                            .at(entries[i].0.span)
                            .help(format!("keep only `{camel}`"));
                            if let Some(o) = other {
                                d = d.related(o, "also set here");
                            }
                            self.diags.push(d);
                            entries.remove(i);
                            continue;
                        }
                        entries[i].0.name = camel.clone();
                        props.get(camel)
                    }
                    None => None,
                }
            } else {
                None
            };
            let (key_name, key_span) = (entries[i].0.name.clone(), entries[i].0.span);
            let value_schema = match (prop, additional) {
                (Some(p), _) => p,
                (None, Some(Json::Bool(false))) => {
                    self.unknown_field(&key_name, key_span, props, path);
                    entries.remove(i);
                    continue;
                }
                (None, Some(a)) => a,
                (None, None) => &Json::Bool(true),
            };
            path.push(PathSeg::Key(key_name));
            self.check(&mut entries[i].1, value_schema, None, path, depth + 1);
            path.pop();
            i += 1;
        }
        if let Some(required) = schema.get("required").and_then(Json::as_array) {
            for r in required.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|(k, _)| k.name == r) {
                    path.push(PathSeg::Key(r.to_string()));
                    self.diags.push(
                        Diagnostic::error(
                            "missing-field",
                            format!("missing required field {}", describe(path)),
                        )
                        .at(span),
                    );
                    path.pop();
                }
            }
        }
    }

    fn unknown_field(
        &mut self,
        name: &str,
        span: crate::diag::Span,
        props: &serde_json::Map<String, Json>,
        path: &[PathSeg],
    ) {
        let place =
            if path.is_empty() { String::new() } else { format!(" in `{}`", format_path(path)) };
        let mut d =
            Diagnostic::error("unknown-field", format!("unknown field `{name}`{place}")).at(span);
        if let Some(m) = did_you_mean(name, props.keys().map(String::as_str)) {
            d = d.help(format!("did you mean `{m}`?"));
        } else if !props.is_empty() {
            let known: Vec<&str> = props.keys().map(String::as_str).collect();
            d = d.help(format!("known fields here: {}", known.join(", ")));
        }
        self.diags.push(d);
    }
}

fn resolve_in<'s>(
    root: &'s Json,
    mut schema: &'s Json,
    mut name: Option<&'s str>,
) -> (&'s Json, Option<&'s str>) {
    for _ in 0..32 {
        let Some(r) = schema.get("$ref").and_then(Json::as_str) else { break };
        let Some(def) = r.strip_prefix("#/$defs/") else { break };
        match root.get("$defs").and_then(|d| d.get(def)) {
            Some(s) => {
                schema = s;
                name = Some(def);
            }
            None => break,
        }
    }
    (schema, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::diag::Sources;
    use crate::model::{schema, Kind};

    fn run(kind: Kind, text: &str) -> (Node, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let id = sources.add("t.yaml", text);
        let mut d = Diagnostics::new();
        let mut docs = yaml::parse(id, text, &mut d);
        assert!(d.is_empty(), "{d:?}");
        let mut node = docs.remove(0).node;
        conform(&mut node, schema::for_kind(kind), &mut d);
        (node, d.into_vec())
    }

    #[test]
    fn unknown_fields_suggest_the_close_name() {
        let (_, d) = run(Kind::Space, "kind: Space\nmetadata:\n  name: ml\n  dispalyName: x\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "unknown-field");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `displayName`?"));
    }

    #[test]
    fn protojson_forms_are_normalised() {
        let text = "kind: Template\nmetadata: {name: a.b, pic_url: x}\nspec:\n  runtime:\n    env_vars: [{key: A, value: b}]\n    tasks: [{name: t, run: r, type: 1, on_failure: ON_FAILURE_ABORT}]\n  repository: {url: 'https://x', cloneOptions: {depth: '3'}}\n";
        let (node, d) = run(Kind::Template, text);
        assert!(d.is_empty(), "{d:?}");
        let json = node.to_json();
        assert_eq!(json["metadata"]["picURL"], "x");
        assert_eq!(json["spec"]["runtime"]["envVars"][0]["key"], "A");
        assert_eq!(json["spec"]["runtime"]["tasks"][0]["type"], "ON_CREATE");
        assert_eq!(json["spec"]["runtime"]["tasks"][0]["onFailure"], "ON_FAILURE_ABORT");
        assert_eq!(json["spec"]["repository"]["cloneOptions"]["depth"], 3);
    }

    #[test]
    fn every_problem_is_reported() {
        let text = "kind: Template\nmetadata: {labels: [a]}\nspec:\n  limit: {cpu: {millicores: -1}}\n  runtime:\n    tasks: [{type: ON_CREAT}]\n  image: {registry: {url: u, authentication: {password: hunter2}}}\n";
        let (_, d) = run(Kind::Template, text);
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            ["wrong-type", "missing-field", "out-of-range", "bad-enum", "plaintext-secret"],
            "{d:#?}"
        );
    }
}
