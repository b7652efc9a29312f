//! Lowering a body or value against a schema: the per-name rules (a property, a singular block
//! of an array property, a flattened `a_b`, or an unknown name kept for the decoder), block
//! labels, condition shorthand and short enum names, and merging repeated entries. Knows nothing
//! of resource blocks (`metadata`, `space`, the top level); that is `lower`'s job. Pure: no I/O.

use serde_json::Value as Json;

use super::names::{camel, plural, squash};
use crate::config::tree::{Key, Node, Value};
use crate::diag::{Diagnostic, Diagnostics, Span};

/// The property of an object schema that a (snake_case or camelCase) name stands for.
pub(super) fn find_prop(schema: &Json, squashed: &str) -> Option<String> {
    schema.get("properties")?.as_object()?.keys().find(|p| squash(p) == squashed).cloned()
}

pub(super) struct Ctx<'a> {
    pub(super) root: &'a Json,
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

    pub(super) fn prop_schema(&self, schema: &Json, prop: &str) -> Option<Json> {
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
    pub(super) fn object(
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
