//! Which Workspaces a stack created: the ownership record.
//!
//! A real server keeps only a Workspace's `displayName` and spec (cordium `mains/workspace.go`
//! drops labels, description, annotations and tags on create and update), so a Workspace cannot
//! carry the stack label other kinds carry. The record lives on the Workspace's Space, which
//! keeps its annotations: one annotation per Workspace the stack created there, keyed by the
//! Workspace's uid (`cws-<uid without dashes>`, a valid annotation key) with the stack name as
//! its value. Apply adds the annotation right after a Workspace is created and removes it after
//! the Workspace is deleted; the live-state read turns it back into the Workspace's stack label,
//! so a Workspace no longer declared is reported like any other kind (kept, or deleted with
//! `--prune`) and one the stack did not create is never touched. Diff leaves record annotations
//! out of the Space it compares, and Space updates carry them over. Pure.

use crate::model::StrMap;

/// The prefix of every record annotation key.
pub use crate::model::WORKSPACE_RECORD_PREFIX as PREFIX;

/// The most annotations an object may have (the servers' metadata rule).
pub const MAX_ANNOTATIONS: usize = 64;

/// The record key of a Workspace uid: `cws-` and its 32 hex digits. `None` for a uid that is not
/// a UUID (no key could hold it).
pub fn key(uid: &str) -> Option<String> {
    let hex: String = uid.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("{PREFIX}{hex}"))
}

/// The record value of a Workspace of `stack` being replaced: its successor exists or is being
/// created, and it is deleted next.
pub fn retiring(stack: &str) -> String {
    format!("{RETIRING}{stack}")
}

const RETIRING: &str = "replaced:";

/// The label the state read gives a Workspace whose record says it is being replaced (it
/// cannot be on the server: Workspaces keep no labels).
pub const RETIRING_LABEL: &str = "cordium-replaced";

/// The record value of a Workspace of `stack` that apply just created or updated: the stack
/// and what it sent (`stack/<digest>@<unix seconds>`, at most 32 + 1 + 27 characters; the
/// servers allow 63), which `drift` and `plan` compare with the live Workspace and `status`
/// shows (docs/drift.md).
pub fn applied(stack: &str, applied: &str) -> String {
    format!("{stack}{DIGEST_SEPARATOR}{applied}")
}

/// Between the stack and the digest in a record value (never in a stack name).
const DIGEST_SEPARATOR: char = '/';

/// What a record value says: the stack, and whether the Workspace is being replaced.
pub fn parse(value: &str) -> (&str, bool) {
    let value = value.split(DIGEST_SEPARATOR).next().unwrap_or_default();
    match value.strip_prefix(RETIRING) {
        Some(stack) => (stack, true),
        None => (value, false),
    }
}

/// What apply last sent (`<digest>@<unix seconds>`), when the record value holds it.
pub fn applied_digest(value: &str) -> Option<&str> {
    value.split_once(DIGEST_SEPARATOR).map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// True for a record annotation key (left out of what diff compares).
pub use crate::model::is_workspace_record_key as is_record_key;

/// The stack that recorded the Workspace `uid` in these Space annotations, if any.
pub fn recorded_by<'a>(annotations: &'a StrMap, uid: &str) -> Option<&'a str> {
    key(uid).and_then(|k| annotations.get(&k)).map(String::as_str)
}

/// The record annotations of `from`, added to `to` (a Space update carries them over).
pub fn carry_over(from: &StrMap, to: &mut StrMap) {
    for (k, v) in from.iter().filter(|(k, _)| is_record_key(k)) {
        if !to.contains_key(k) {
            to.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_has_one_key_and_only_record_keys_are_recognised() {
        let k = key("0F8FAD5B-D9CB-469F-A165-70867728950E").expect("uuid");
        assert_eq!(k, "cws-0f8fad5bd9cb469fa16570867728950e");
        assert!(k.len() <= 40 && is_record_key(&k));
        assert_eq!(key("not-a-uuid"), None);
        assert!(!is_record_key("cws-team"));
        assert!(!is_record_key("note"));
        let mut a = StrMap::new();
        a.insert(k, "prod".to_string());
        assert_eq!(recorded_by(&a, "0f8fad5b-d9cb-469f-a165-70867728950e"), Some("prod"));
        assert_eq!(recorded_by(&a, "1f8fad5b-d9cb-469f-a165-70867728950e"), None);
        let mut to = StrMap::from([("note".to_string(), "x".to_string())]);
        carry_over(&a, &mut to);
        assert_eq!(to.len(), 2);
        assert_eq!(parse(&retiring("prod")), ("prod", true));
        assert_eq!(parse("prod"), ("prod", false));
        let stack = "s".repeat(32);
        let v = applied(&stack, "0123456789abcdef@1700000000");
        assert!(v.len() <= 63, "{v}");
        assert_eq!(
            (parse(&v), applied_digest(&v)),
            ((stack.as_str(), false), Some("0123456789abcdef@1700000000"))
        );
        assert_eq!(applied_digest("prod"), None);
    }
}
