//! The spanned value tree both loaders produce.
//!
//! YAML documents and lowered HCL blocks become the same tree: the canonical document shape
//! (protojson: `kind`, `metadata`, `spec`, camelCase keys), every node carrying the span of the
//! text it came from, so a problem found later points at the right line in either format.

use crate::diag::Span;

/// A value with the span of the text that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// Derived from a `sensitive` variable (HCL) — masked in every output.
    pub sensitive: bool,
}

/// A key in a map, with its own span (unknown-field diagnostics point at the key).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    /// Keys in source order. Duplicates are rejected by the loaders.
    Map(Vec<(Key, Node)>),
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, span, sensitive: false }
    }

    pub fn string(s: impl Into<String>, span: Span) -> Self {
        Node::new(Value::String(s.into()), span)
    }

    pub fn map(entries: Vec<(Key, Node)>, span: Span) -> Self {
        Node::new(Value::Map(entries), span)
    }

    /// The entry for `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Removes and returns the entry for `key` in a map node.
    pub fn take(&mut self, key: &str) -> Option<(Key, Node)> {
        match &mut self.value {
            Value::Map(entries) => {
                let i = entries.iter().position(|(k, _)| k.name == key)?;
                Some(entries.remove(i))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Follows a path of map keys and list indexes (`spec.runtime.envVars[0].key` split into
    /// segments) and returns the deepest node reached: a problem at a path that does not exist in
    /// the source (a default) is shown at its nearest ancestor.
    pub fn find(&self, path: &[PathSeg]) -> &Node {
        let mut node = self;
        for seg in path {
            let next = match (seg, &node.value) {
                (PathSeg::Key(k), Value::Map(_)) => node.get(k),
                (PathSeg::Index(i), Value::List(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// [`Node::find`] of a path in [`format_path`] form, read as [`parse_path`] reads it,
    /// without building the segments.
    pub fn find_path(&self, path: &str) -> &Node {
        let mut node = self;
        for_each_seg(path, |seg| {
            let next = match (seg, &node.value) {
                (Seg::Key(k), Value::Map(_)) => node.get(k),
                (Seg::Index(i), Value::List(items)) => items.get(i),
                _ => None,
            };
            match next {
                Some(n) => {
                    node = n;
                    true
                }
                None => false,
            }
        });
        node
    }

    /// The type name used in "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// Plain JSON, spans dropped.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Value::Map(entries) => serde_json::Value::Object(
                entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect(),
            ),
        }
    }

    /// Paths (in [`format_path`] form) of every sensitive node under this one.
    pub fn sensitive_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        collect_sensitive(self, &mut path, &mut out);
        out
    }
}

fn collect_sensitive(node: &Node, path: &mut Vec<PathSeg>, out: &mut Vec<String>) {
    if node.sensitive {
        out.push(format_path(path));
        return;
    }
    match &node.value {
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSeg::Index(i));
                collect_sensitive(item, path, out);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                path.push(PathSeg::Key(k.name.clone()));
                collect_sensitive(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// One step of a path into a tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// `spec.runtime.envVars[0].key`
pub fn format_path(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathSeg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// Parses the [`format_path`] form back into segments.
pub fn parse_path(path: &str) -> Vec<PathSeg> {
    let mut out = Vec::new();
    for_each_seg(path, |seg| {
        out.push(match seg {
            Seg::Key(k) => PathSeg::Key(k.to_string()),
            Seg::Index(i) => PathSeg::Index(i),
        });
        true
    });
    out
}

/// A borrowed [`PathSeg`].
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Calls `f` with each segment of a path in [`format_path`] form, in order, until it returns
/// false.
fn for_each_seg<'a>(path: &'a str, mut f: impl FnMut(Seg<'a>) -> bool) {
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 && !f(Seg::Key(&rest[..i])) {
                return;
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                let seg = match stripped[..end].parse() {
                    Ok(n) => Seg::Index(n),
                    Err(_) => Seg::Key(&stripped[..end]),
                };
                if !f(seg) {
                    return;
                }
                rest = &stripped[end + 1..];
            }
        } else if !f(Seg::Key(rest)) {
            return;
        }
    }
}

/// Replaces the value at `path` (`spec.runtime.envVars[0].value`, as [`parse_path`] reads it)
/// with `mask`; absent paths are left alone.
pub fn mask_path(doc: &mut serde_json::Value, path: &str, mask: &str) {
    let mut node = doc;
    for seg in parse_path(path) {
        let next = match seg {
            PathSeg::Key(k) => node.get_mut(&k),
            PathSeg::Index(i) => node.get_mut(i),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    *node = serde_json::Value::String(mask.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_path_finds_what_find_finds() {
        let text = "a: {b: [x, {c: 1}], 'k.x': 2}\n";
        let mut sources = crate::diag::Sources::new();
        let file = sources.add("t.yaml", text);
        let docs = crate::config::yaml::parse(file, text, &mut crate::diag::Diagnostics::new());
        let root = &docs[0].node;
        for path in [
            "",
            "a",
            "a.b",
            "a.b[1].c",
            "a.b[0]",
            "a.b[7]",
            "a.nope.c",
            "a.b[x]",
            "a[0]",
            "a.b[1][0]",
            "a.b[1",
            ".a..b",
        ] {
            assert_eq!(root.find_path(path), root.find(&parse_path(path)), "{path}");
        }
    }

    #[test]
    fn paths_round_trip() {
        let p = "spec.runtime.envVars[0].key";
        assert_eq!(format_path(&parse_path(p)), p);
        assert_eq!(
            parse_path("a[1][2]"),
            vec![PathSeg::Key("a".into()), PathSeg::Index(1), PathSeg::Index(2)]
        );
    }
}
