//! Field-level comparison of two canonical JSON documents.
//!
//! Objects compare key by key; lists whose items all carry a unique `name` (or `key`) compare by
//! that identity, so reordering or inserting one task shows as one change rather than a cascade;
//! other lists are aligned by a longest-common-subsequence diff of their items (`similar`), so
//! one inserted rule is one added item and a scalar list shows the elements added and removed.
//! Pure.

use serde_json::Value;

/// One changed field. `old`/`new` are `None` when the field is absent on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// `spec.runtime.tasks[install].run`, `metadata.labels.team`.
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Every difference between `old` (live) and `new` (desired), skipping ignored paths.
/// An ignored path covers everything beneath it (`spec.runtime` ignores `spec.runtime.tasks`).
pub fn diff(old: &Value, new: &Value, ignore: &[String]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    // Equal documents (most of a large plan's) differ nowhere: one comparison, no paths built.
    if old != new {
        walk(String::new(), Some(old), Some(new), ignore, &mut out);
    }
    out
}

fn ignored(path: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        path == i
            || path
                .strip_prefix(i.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(
    path: String,
    old: Option<&Value>,
    new: Option<&Value>,
    ignore: &[String],
    out: &mut Vec<FieldChange>,
) {
    if ignored(&path, ignore) {
        return;
    }
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            // The desired side's field order (the wire's), then fields only the live side has.
            let keys = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k)));
            for k in keys {
                let (x, y) = (a.get(k), b.get(k));
                // An equal subtree reports nothing; its path is not even built.
                if x.is_some() && x == y {
                    continue;
                }
                walk(join(&path, k), x, y, ignore, out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            if let (Some(ka), Some(kb)) = (identities(a), identities(b)) {
                let mut seen = Vec::new();
                for (id, item) in ka.iter().zip(a) {
                    let other = kb.iter().position(|k| k == id).map(|i| &b[i]);
                    walk(format!("{path}[{id}]"), Some(item), other, ignore, out);
                    seen.push(id.clone());
                }
                for (id, item) in kb.iter().zip(b) {
                    if !seen.contains(id) {
                        walk(format!("{path}[{id}]"), None, Some(item), ignore, out);
                    }
                }
                let common_a: Vec<&String> = ka.iter().filter(|k| kb.contains(k)).collect();
                let common_b: Vec<&String> = kb.iter().filter(|k| ka.contains(k)).collect();
                if common_a != common_b {
                    out.push(FieldChange {
                        path: format!("{path}[*]"),
                        old: Some(Value::Array(ka.into_iter().map(Value::String).collect())),
                        new: Some(Value::Array(kb.into_iter().map(Value::String).collect())),
                    });
                }
            } else {
                list_diff(&path, a, b, ignore, out);
            }
        }
        (None, None) => {}
        // A whole subtree added or removed: report its leaves, so a create reads field by field.
        (None, Some(v @ (Value::Object(_) | Value::Array(_)))) => {
            expand(path, v, false, ignore, out)
        }
        (Some(v @ (Value::Object(_) | Value::Array(_))), None) => {
            expand(path, v, true, ignore, out)
        }
        (a, b) => {
            if a != b {
                out.push(FieldChange { path, old: a.cloned(), new: b.cloned() });
            }
        }
    }
}

/// Lists without a name key, aligned by a longest-common-subsequence diff of their items, so one
/// inserted item is one added item and the items after it are not reported as changed. Items
/// are named by position: a removed item by its old position, an added or changed one by its
/// new position (the position in the config). A scalar list reports each removed and added
/// element; a replaced run of objects is compared item by item, the surplus removed or added.
fn list_diff(path: &str, a: &[Value], b: &[Value], ignore: &[String], out: &mut Vec<FieldChange>) {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    if a == b {
        return;
    }
    let key = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let ka: Vec<String> = a.iter().map(key).collect();
    let kb: Vec<String> = b.iter().map(key).collect();
    // The LCS table is quadratic; past this size Myers (also a shortest edit script) is used.
    let algorithm = if a.len().saturating_mul(b.len()) <= LCS_CELLS {
        Algorithm::Lcs
    } else {
        Algorithm::Myers
    };
    let scalar = a.iter().chain(b).all(is_scalar);
    let at = |i: usize| format!("{path}[{i}]");
    for op in capture_diff_slices(algorithm, &ka, &kb) {
        let (old_index, old_len, new_index, new_len) = match op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete { old_index, old_len, new_index } => (old_index, old_len, new_index, 0),
            DiffOp::Insert { old_index, new_index, new_len } => (old_index, 0, new_index, new_len),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                (old_index, old_len, new_index, new_len)
            }
        };
        let paired = if scalar { 0 } else { old_len.min(new_len) };
        for k in 0..paired {
            walk(at(new_index + k), a.get(old_index + k), b.get(new_index + k), ignore, out);
        }
        for i in old_index + paired..old_index + old_len {
            walk(at(i), a.get(i), None, ignore, out);
        }
        for j in new_index + paired..new_index + new_len {
            walk(at(j), None, b.get(j), ignore, out);
        }
    }
}

/// The largest `old.len() * new.len()` aligned with the LCS table.
const LCS_CELLS: usize = 250_000;

/// Walks a subtree present on one side only (`removed`: the old side).
fn expand(path: String, v: &Value, removed: bool, ignore: &[String], out: &mut Vec<FieldChange>) {
    let empty = match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    let scalar_list = matches!(v, Value::Array(a) if a.iter().all(is_scalar));
    if empty || scalar_list {
        let (old, new) = if removed { (Some(v.clone()), None) } else { (None, Some(v.clone())) };
        out.push(FieldChange { path, old, new });
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let (a, b) = if removed { (Some(child), None) } else { (None, Some(child)) };
                walk(join(&path, k), a, b, ignore, out);
            }
        }
        Value::Array(items) => {
            let ids = identities(items);
            for (i, child) in items.iter().enumerate() {
                let seg = ids.as_ref().map(|ids| ids[i].clone()).unwrap_or_else(|| i.to_string());
                let (a, b) = if removed { (Some(child), None) } else { (None, Some(child)) };
                walk(format!("{path}[{seg}]"), a, b, ignore, out);
            }
        }
        _ => {}
    }
}

/// Rewrites a source path (`spec.runtime.envVars[1].value`, list positions as in the config)
/// into the path diff reports for it (`spec.runtime.envVars[API_KEY].value`), using the
/// document to find each list item's identity.
pub fn identity_path(doc: &Value, source_path: &str) -> String {
    use crate::config::tree::{parse_path, PathSeg};
    let mut out = String::new();
    let mut node = Some(doc);
    for seg in parse_path(source_path) {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k);
                node = node.and_then(|n| n.get(&k));
            }
            PathSeg::Index(i) => {
                let id = node
                    .and_then(Value::as_array)
                    .and_then(|items| identities(items).and_then(|ids| ids.get(i).cloned()));
                out.push_str(&format!("[{}]", id.unwrap_or_else(|| i.to_string())));
                node = node.and_then(|n| n.get(i));
            }
        }
    }
    out
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The identities of a list's items, when every item is an object with a unique, non-empty
/// `name` (or, failing that, `key`), and the identity contains no path punctuation.
pub(crate) fn identities(items: &[Value]) -> Option<Vec<String>> {
    if items.is_empty() {
        return Some(Vec::new());
    }
    for field in ["name", "key"] {
        let ids: Option<Vec<String>> = items
            .iter()
            .map(|i| {
                i.get(field)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty() && !s.contains(['.', '[', ']']))
                    .map(str::to_string)
            })
            .collect();
        if let Some(ids) = ids {
            let mut sorted = ids.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() == ids.len() {
                return Some(ids);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(c: &[FieldChange]) -> Vec<&str> {
        c.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn equal_documents_have_no_changes() {
        let v = json!({"spec": {"a": [1, 2], "b": {"c": "d"}}});
        assert!(diff(&v, &v, &[]).is_empty());
    }

    #[test]
    fn nested_fields_are_reported_by_path() {
        let a = json!({"spec": {"image": {"registry": {"url": "a"}}}, "metadata": {"labels": {"x": "1"}}});
        let b = json!({"spec": {"image": {"registry": {"url": "b"}}}, "metadata": {"labels": {"y": "1"}}});
        let c = diff(&a, &b, &[]);
        assert_eq!(
            paths(&c),
            ["spec.image.registry.url", "metadata.labels.y", "metadata.labels.x"]
        );
        assert_eq!(c[1].old, None);
        assert_eq!(c[2].new, None);
    }

    #[test]
    fn named_list_items_match_by_name_not_position() {
        let a = json!({"tasks": [{"name": "a", "run": "1"}, {"name": "b", "run": "2"}]});
        let b = json!({"tasks": [{"name": "new", "run": "0"}, {"name": "a", "run": "1"}, {"name": "b", "run": "3"}]});
        let c = diff(&a, &b, &[]);
        assert_eq!(paths(&c), ["tasks[b].run", "tasks[new].name", "tasks[new].run"]);
    }

    #[test]
    fn added_subtrees_are_reported_leaf_by_leaf() {
        let a = json!({});
        let b = json!({"spec": {"image": {"registry": {"url": "u"}}, "tags": ["x"], "m": {}}});
        let c = diff(&a, &b, &[]);
        assert_eq!(paths(&c), ["spec.image.registry.url", "spec.tags", "spec.m"]);
        let back = diff(&b, &a, &[]);
        assert_eq!(paths(&back), ["spec.image.registry.url", "spec.tags", "spec.m"]);
        assert!(back.iter().all(|f| f.new.is_none()));
    }

    #[test]
    fn source_paths_become_identity_paths() {
        let doc = json!({"spec": {"envVars": [{"key": "A", "value": "1"}, {"key": "B", "value": "2"}], "xs": [[1]]}});
        assert_eq!(identity_path(&doc, "spec.envVars[1].value"), "spec.envVars[B].value");
        assert_eq!(identity_path(&doc, "spec.xs[0][0]"), "spec.xs[0][0]");
        assert_eq!(identity_path(&doc, "spec.missing[3]"), "spec.missing[3]");
    }

    #[test]
    fn a_reorder_is_one_change() {
        let a = json!({"t": [{"name": "a"}, {"name": "b"}]});
        let b = json!({"t": [{"name": "b"}, {"name": "a"}]});
        assert_eq!(paths(&diff(&a, &b, &[])), ["t[*]"]);
    }

    #[test]
    fn scalar_lists_show_the_elements_added_and_removed() {
        let a = json!({"cidrs": ["a", "b", "d"]});
        let b = json!({"cidrs": ["a", "c", "d", "e"]});
        let c = diff(&a, &b, &[]);
        assert_eq!(paths(&c), ["cidrs[1]", "cidrs[1]", "cidrs[3]"]);
        assert_eq!((c[0].old.clone(), c[0].new.clone()), (Some(json!("b")), None));
        assert_eq!((c[1].old.clone(), c[1].new.clone()), (None, Some(json!("c"))));
        assert_eq!((c[2].old.clone(), c[2].new.clone()), (None, Some(json!("e"))));
    }

    #[test]
    fn one_inserted_rule_is_one_added_item() {
        let rule = |action: &str, cidr: &str| json!({"action": action, "cidrs": [cidr]});
        let old: Vec<Value> = (0..4)
            .map(|i| rule(if i % 2 == 0 { "ALLOW" } else { "DENY" }, &format!("10.0.{i}.0/24")))
            .collect();
        let mut new = old.clone();
        new.insert(0, rule("DENY", "0.0.0.0/0"));
        let c = diff(&json!({ "rules": old }), &json!({ "rules": new }), &[]);
        assert_eq!(paths(&c), ["rules[0].action", "rules[0].cidrs"]);
        assert!(c.iter().all(|f| f.old.is_none()), "{c:?}");
        // And removing it again is one removed item.
        let back = diff(&json!({ "rules": new }), &json!({ "rules": old }), &[]);
        assert_eq!(paths(&back), ["rules[0].action", "rules[0].cidrs"]);
        assert!(back.iter().all(|f| f.new.is_none()), "{back:?}");
    }

    #[test]
    fn a_changed_unnamed_item_is_compared_field_by_field() {
        let a = json!({"r": [{"x": 1, "y": 1}, {"x": 2, "y": 2}, {"x": 3}]});
        let b = json!({"r": [{"x": 1, "y": 1}, {"x": 2, "y": 5}, {"x": 3}, {"x": 4}]});
        let c = diff(&a, &b, &[]);
        assert_eq!(paths(&c), ["r[1].y", "r[3].x"]);
        assert_eq!((c[0].old.clone(), c[0].new.clone()), (Some(json!(2)), Some(json!(5))));
    }

    #[test]
    fn huge_lists_are_still_aligned() {
        let a: Vec<Value> = (0..2000).map(|i| json!({ "n": i })).collect();
        let mut b = a.clone();
        b.insert(1000, json!({"n": -1}));
        let c = diff(&json!({ "r": a }), &json!({ "r": b }), &[]);
        assert_eq!(paths(&c), ["r[1000].n"]);
    }

    #[test]
    fn ignored_paths_and_their_children_are_skipped() {
        let a = json!({"spec": {"runtime": {"tasks": [{"name": "a", "run": "1"}]}, "x": 1}});
        let b = json!({"spec": {"runtime": {"tasks": [{"name": "a", "run": "2"}]}, "x": 2}});
        assert_eq!(paths(&diff(&a, &b, &["spec.runtime".into()])), ["spec.x"]);
        assert_eq!(paths(&diff(&a, &b, &["spec.runtime.tasks[a].run".into()])), ["spec.x"]);
        // A prefix that is not a path boundary does not match.
        assert_eq!(diff(&a, &b, &["spec.r".into()]).len(), 2);
    }
}
