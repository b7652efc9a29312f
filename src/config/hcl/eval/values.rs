//! hcl values ↔ spanned [`Node`]s, and the spans of hcl-edit expressions.

use hcl_edit::expr::Expression;

use crate::config::tree::{Key, Node, Value};
use crate::diag::{FileId, Span};
use hcl_edit::Span as _;

/// An hcl-edit byte range as a span of `file`.
pub(crate) fn hcl_span(r: Option<std::ops::Range<usize>>, file: FileId) -> Option<Span> {
    r.map(|r| Span::new(file, r.start, r.end))
}

/// The span of an expression.
pub(crate) fn span_of(expr: &Expression, file: FileId) -> Option<Span> {
    hcl_span(expr.span(), file)
}

/// An hcl value as a node: every node gets `span`, and `sensitive` when it derives from one.
pub(crate) fn value_to_node(value: hcl::Value, span: Span, sensitive: bool) -> Node {
    let value = match value {
        hcl::Value::Null => Value::Null,
        hcl::Value::Bool(b) => Value::Bool(b),
        hcl::Value::Number(n) => match to_json_number(&n) {
            Some(n) => Value::Number(n),
            None => Value::Null,
        },
        hcl::Value::String(s) => Value::String(s),
        hcl::Value::Array(items) => {
            Value::List(items.into_iter().map(|v| value_to_node(v, span, sensitive)).collect())
        }
        hcl::Value::Object(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (Key { name: k, span }, value_to_node(v, span, sensitive)))
                .collect(),
        ),
    };
    Node { value, span, sensitive }
}

pub(super) fn to_json_number(n: &hcl::Number) -> Option<serde_json::Number> {
    if let Some(i) = n.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = n.as_u64() {
        return Some(u.into());
    }
    let f = n.as_f64()?;
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Some((f as i64).into());
    }
    serde_json::Number::from_f64(f)
}

/// A node back to an hcl value (for locals and var values used in later expressions).
pub(crate) fn node_to_value(node: &Node) -> hcl::Value {
    match &node.value {
        Value::Null => hcl::Value::Null,
        Value::Bool(b) => hcl::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                hcl::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                hcl::Value::from(u)
            } else {
                hcl::Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => hcl::Value::String(s.clone()),
        Value::List(items) => hcl::Value::Array(items.iter().map(node_to_value).collect()),
        Value::Map(entries) => hcl::Value::Object(
            entries.iter().map(|(k, v)| (k.name.clone(), node_to_value(v))).collect(),
        ),
    }
}

/// Whether a node or anything under it is sensitive.
pub(crate) fn any_sensitive(node: &Node) -> bool {
    node.sensitive
        || match &node.value {
            Value::List(items) => items.iter().any(any_sensitive),
            Value::Map(entries) => entries.iter().any(|(_, v)| any_sensitive(v)),
            _ => false,
        }
}
