//! A live object's canonical document, held compactly: as its JSON text (one allocation) rather
//! than a tree of maps (one per object, key and string), while it is unchanged. A large plan
//! holds one per live object, and almost every one is only compared and fingerprinted, both of
//! which the text serves without a tree: the text is what `serde_json` writes for the tree, so
//! the fingerprint is the hash of the text, and a desired document written the same way that
//! equals the text is equal to the tree.
//!
//! The text is kept only when it gives back the same tree when parsed: a document with a
//! floating-point number (only `attrs` hold any) stays a tree, since reading a float back is
//! exact only with `serde_json`'s `float_roundtrip`.
//!
//! A `Doc` reads as the tree ([`Deref`]; parsed once, on first use, and kept) and changes as
//! one ([`DerefMut`]; the text is dropped). [`Doc::value`] gives the tree without keeping it.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde_json::Value;

/// A canonical document: its JSON text, or its tree; by default neither (it reads as `null`),
/// for what no longer needs one.
#[derive(Clone, Default)]
pub struct Doc {
    /// The compact JSON text, while the document is unchanged and round-trips exactly.
    text: Option<Box<str>>,
    /// The tree, when there is no text (changed, or with a float).
    tree: Option<Value>,
    /// The text's tree, parsed on the first [`Deref`] and kept (never changed: a change moves
    /// it into `tree`).
    parsed: OnceLock<Value>,
}

impl Doc {
    /// Holds `value` as its text, or as the tree when the text would not give it back.
    pub fn new(value: Value) -> Doc {
        if has_float(&value) {
            return Doc::tree(value);
        }
        match serde_json::to_string(&value) {
            Ok(text) => Doc::from_text(text),
            Err(_) => Doc::tree(value),
        }
    }

    /// Holds `text`, which must be what `serde_json::to_string` writes for a tree with no
    /// float in it (so that it parses back to that tree).
    pub(crate) fn from_text(text: String) -> Doc {
        Doc { text: Some(text.into()), tree: None, parsed: OnceLock::new() }
    }

    fn tree(value: Value) -> Doc {
        Doc { text: None, tree: Some(value), parsed: OnceLock::new() }
    }

    /// The compact JSON text (what `serde_json::to_string` writes for the tree), while the
    /// document is held as text.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The tree, parsed from the text when there is no tree yet (and not kept: a large plan
    /// parses each changed document once and drops it).
    pub fn value(&self) -> Cow<'_, Value> {
        if let Some(v) = self.tree.as_ref().or_else(|| self.parsed.get()) {
            return Cow::Borrowed(v);
        }
        Cow::Owned(parse(self.text.as_deref()))
    }

    /// The document as `serde_json::to_vec` writes it.
    pub fn to_vec(&self) -> Vec<u8> {
        match &self.text {
            Some(t) => t.as_bytes().to_vec(),
            None => serde_json::to_vec(&*self.value()).unwrap_or_default(),
        }
    }
}

/// The tree of a text this module wrote (`Null` for none: an empty [`Doc::default`]).
fn parse(text: Option<&str>) -> Value {
    // Invariant: the text is serde_json's own output for a tree, so it parses.
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null)
}

/// Whether a floating-point number is anywhere in `v`.
pub(crate) fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

impl From<Value> for Doc {
    fn from(value: Value) -> Doc {
        Doc::new(value)
    }
}

impl Deref for Doc {
    type Target = Value;

    fn deref(&self) -> &Value {
        match &self.tree {
            Some(v) => v,
            None => self.parsed.get_or_init(|| parse(self.text.as_deref())),
        }
    }
}

impl DerefMut for Doc {
    fn deref_mut(&mut self) -> &mut Value {
        if self.tree.is_none() {
            let text = self.text.take();
            let v = self.parsed.take().unwrap_or_else(|| parse(text.as_deref()));
            self.tree = Some(v);
        }
        self.tree.get_or_insert(Value::Null)
    }
}

impl PartialEq for Doc {
    fn eq(&self, other: &Doc) -> bool {
        // Equal texts are equal trees; different ones may still be (maps compare unordered).
        matches!((self.text(), other.text()), (Some(a), Some(b)) if a == b)
            || *self.value() == *other.value()
    }
}

impl PartialEq<Value> for Doc {
    fn eq(&self, other: &Value) -> bool {
        *self.value() == *other
    }
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

impl serde::Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_is_held_as_its_text_and_reads_as_its_tree() {
        let v = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"n": 3, "list": [true, null]}});
        let d = Doc::new(v.clone());
        assert_eq!(d.text(), Some(serde_json::to_string(&v).expect("text").as_str()));
        assert_eq!(*d.value(), v);
        assert_eq!(d["spec"]["n"], json!(3));
        assert_eq!(d.to_vec(), serde_json::to_vec(&v).expect("bytes"));
        assert_eq!(d, v);
    }

    #[test]
    fn a_document_with_a_float_stays_a_tree() {
        let v = json!({"spec": {"attrs": {"ratio": 0.1_f64 + 0.2}}});
        let d = Doc::new(v.clone());
        assert_eq!(d.text(), None);
        assert_eq!(*d.value(), v);
        assert_eq!(d.to_vec(), serde_json::to_vec(&v).expect("bytes"));
    }

    #[test]
    fn a_change_drops_the_text() {
        let mut d = Doc::new(json!({"spec": {"a": "x"}}));
        let _ = &d["spec"]; // parsed and kept
        d["spec"]["a"] = json!("y");
        assert_eq!(d.text(), None);
        assert_eq!(*d.value(), json!({"spec": {"a": "y"}}));
        assert_eq!(d.to_vec(), br#"{"spec":{"a":"y"}}"#.to_vec());
    }

    #[test]
    fn documents_compare_as_trees() {
        let a = Doc::new(json!({"x": 1, "y": 2}));
        let b = Doc::new(json!({"y": 2, "x": 1}));
        assert_ne!(a.text(), b.text());
        assert_eq!(a, b);
        assert_ne!(a, Doc::new(json!({"x": 1})));
    }
}
