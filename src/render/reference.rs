//! The configuration reference (`docs/reference/<kind>.md`), generated from the model's JSON
//! Schemas (themselves generated from the spec types), so it lists exactly the fields the
//! decoder takes, with their doc comments. One table per kind: the YAML path (camelCase), the
//! HCL name (snake_case; lists of objects are repeated blocks), the type and the description.
//! `tests/docs.rs` fails when the committed pages are stale (`BLESS=1` refreshes them).

use std::fmt::Write;

use serde_json::Value;

use crate::model::{schema, Kind};

/// `cloneOptions` → `clone_options`, `picURL` → `pic_url`: the HCL spelling, as the lowering
/// reads it.
pub fn snake(name: &str) -> String {
    crate::model::lower::names::snake(name)
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut n = node;
    for _ in 0..8 {
        let Some(r) = n.get("$ref").and_then(Value::as_str) else { break };
        let Some(name) = r.strip_prefix("#/$defs/") else { break };
        match root.get("$defs").and_then(|d| d.get(name)) {
            Some(next) => n = next,
            None => break,
        }
    }
    // `anyOf: [{$ref}, {type: null}]` (an Option) is its non-null arm.
    if let Some(arms) = n.get("anyOf").and_then(Value::as_array) {
        if let Some(arm) = arms.iter().find(|a| a.get("type") != Some(&Value::from("null"))) {
            return resolve(root, arm);
        }
    }
    n
}

fn type_of(root: &Value, node: &Value) -> String {
    let n = resolve(root, node);
    if let Some(values) = n.get("enum").and_then(Value::as_array) {
        let v: Vec<String> =
            values.iter().map(|v| format!("`{}`", v.as_str().unwrap_or("?"))).collect();
        return v.join(" \\| ");
    }
    match n.get("type") {
        Some(Value::String(t)) if t == "array" => {
            let item = n.get("items").map(|i| type_of(root, i)).unwrap_or_default();
            format!("list of {item}")
        }
        Some(Value::String(t)) if t == "object" && n.get("properties").is_none() => {
            "map of string".to_string()
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ if n.get("oneOf").is_some() || n.get("anyOf").is_some() => "one of several".into(),
        _ => "any".into(),
    }
}

fn description(root: &Value, node: &Value) -> String {
    let d = node
        .get("description")
        .or_else(|| resolve(root, node).get("description"))
        .and_then(Value::as_str)
        .unwrap_or("");
    d.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

fn rows(root: &Value, node: &Value, yaml: &str, hcl: &str, depth: usize, out: &mut String) {
    let n = resolve(root, node);
    let props = match n.get("properties").and_then(Value::as_object) {
        Some(p) => p,
        None => match n.get("items").map(|i| resolve(root, i)) {
            Some(item) if item.get("properties").is_some() => {
                return rows(root, item, &format!("{yaml}[]"), hcl, depth, out);
            }
            _ => return,
        },
    };
    if depth > 6 {
        return;
    }
    let required: Vec<&str> = n
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (key, child) in props {
        if depth == 0 && (key == "apiVersion" || key == "kind") {
            continue;
        }
        let y = if yaml.is_empty() { key.clone() } else { format!("{yaml}.{key}") };
        // The HCL body of a document is its spec's fields at the top of the block.
        let h = match (depth, key.as_str()) {
            (0, "spec" | "metadata") => String::new(),
            (1, "name") if yaml == "metadata" => "(the block's label)".to_string(),
            _ if hcl.is_empty() => snake(key),
            _ => format!("{hcl}.{}", snake(key)),
        };
        let t = type_of(root, child);
        let req = if required.contains(&key.as_str()) { " (required)" } else { "" };
        let hcl_cell = match h.as_str() {
            "" => "(the block body)".to_string(),
            label if label.starts_with('(') => label.to_string(),
            name => format!("`{name}`"),
        };
        let _ = writeln!(out, "| `{y}` | {hcl_cell} | {t}{req} | {} |", description(root, child));
        let h = if h.starts_with('(') { String::new() } else { h };
        rows(root, child, &y, &h, depth + 1, out);
    }
}

/// The reference page of one kind.
pub fn markdown(kind: Kind) -> String {
    let root = schema::for_kind(kind);
    let mut out = String::new();
    let _ = writeln!(out, "# {} (`{}`)\n", kind.api_kind(), kind.keyword());
    out.push_str(
        "Generated from the model by `render::reference` (do not edit; `BLESS=1 cargo test --test \
         main docs` refreshes it). YAML paths are camelCase, HCL names snake_case; in HCL a list \
         of objects is a repeated block, and a document's `spec` fields sit at the top of its \
         block.\n\n",
    );
    let _ = writeln!(
        out,
        "Schema: [`schemas/{}`](../../schemas/{})\n",
        schema::file_name(kind),
        schema::file_name(kind)
    );
    out.push_str("| YAML | HCL | type | description |\n|---|---|---|---|\n");
    rows(root, root, "", "", 0, &mut out);
    out
}

/// The index page.
pub fn index() -> String {
    let mut out = String::from(
        "# Configuration reference\n\nOne page per kind, generated from the model (see each \
         page). The same fields in HCL and YAML: [hcl.md](../hcl.md), [yaml.md](../yaml.md).\n\n",
    );
    for kind in Kind::ALL {
        let _ = writeln!(out, "- [{}]({}.md)", kind.api_kind(), kind.keyword());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        assert_eq!(snake("cloneOptions"), "clone_options");
        assert_eq!(snake("url"), "url");
        assert_eq!(snake("picURL"), "pic_url");
    }
}
