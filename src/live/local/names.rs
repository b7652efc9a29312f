//! Server naming rules of the local cluster (API reference §3, §4): the name-segment regex,
//! expansion of short names with the caller's username, and metadata validation. Pure: no I/O.
//!
//! Expansion follows upstream `cluster/apiserver/apiserver/mains/utils.go` (octelium/cordium):
//! Space `x` → `x.<caller>`; space children (Template, Secret) `t` → `t.default.<caller>`,
//! `t.sp` → `t.sp.<caller>`, three parts kept. Secrets use the same space-child expansion as
//! Templates: read from upstream `mains/secret.go` @ 619792c (`getFullNamResourceSpaceChild`,
//! `ParentsMust: 2`), so it is no longer a guess, though the newest upstream may differ.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::error::ApiError;
use crate::live::wire::meta;

/// One name segment (octelium `rgx.NameMain`).
static SEGMENT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$").ok());
/// A label value.
static LABEL_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]{0,31}$").ok());

/// The longest full (dotted) name.
pub const MAX_NAME_LEN: usize = 128;

/// Whether `s` is one valid name segment (no dots, no `--`).
pub fn is_segment(s: &str) -> bool {
    SEGMENT.as_ref().is_some_and(|r| r.is_match(s)) && !s.contains("--")
}

fn is_label_value(s: &str) -> bool {
    LABEL_VALUE.as_ref().is_some_and(|r| r.is_match(s))
}

/// Validates a dotted name with exactly `parents` parents (0 = one segment).
pub fn validate_name(name: &str, parents: usize) -> Result<(), ApiError> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() != parents + 1 || !parts.iter().all(|p| is_segment(p)) {
        return Err(ApiError::invalid(format!("Invalid name: {name}")));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ApiError::invalid(format!("Too long name: {name}")));
    }
    Ok(())
}

/// Space names: one part gets the caller appended.
pub fn expand_space(name: &str, caller: &str) -> String {
    if name.is_empty() || name.split('.').count() != 1 {
        name.to_string()
    } else {
        format!("{name}.{caller}")
    }
}

/// Space-child names (Template, Secret): `t` → `t.default.<caller>`, `t.sp` → `t.sp.<caller>`.
pub fn expand_space_child(name: &str, caller: &str) -> String {
    match name.split('.').count() {
        _ if name.is_empty() => String::new(),
        1 => format!("{name}.default.{caller}"),
        2 => format!("{name}.{caller}"),
        _ => name.to_string(),
    }
}

/// Whether `uid` is a UUIDv4, as the server demands of every uid it is sent.
pub fn is_uuid_v4(uid: &str) -> bool {
    uuid::Uuid::parse_str(uid).is_ok_and(|u| u.get_version_num() == 4)
}

/// Get/Delete options: uid or name, never both, never neither; each well formed.
/// `parents`: the exact number of parents a name must have, if the kind has a rule.
pub fn check_key(uid: &str, name: &str, parents: Option<usize>) -> Result<(), ApiError> {
    match (uid.is_empty(), name.is_empty()) {
        (true, true) => return Err(ApiError::invalid("Either Name or UID must be set")),
        (false, false) => return Err(ApiError::invalid("Either the UID or the name must be used")),
        _ => {}
    }
    if !name.is_empty() {
        validate_name(name, parents.unwrap_or(0))?;
    }
    if !uid.is_empty() && !is_uuid_v4(uid) {
        return Err(ApiError::invalid("Invalid UID"));
    }
    Ok(())
}

/// Like [`check_key`] for object references in requests, where upstream accepts both (the
/// name wins).
pub fn check_ref(uid: &str, name: &str, parents: usize) -> Result<(), ApiError> {
    if uid.is_empty() && name.is_empty() {
        return Err(ApiError::invalid("Either Name or UID must be set"));
    }
    if !name.is_empty() {
        validate_name(name, parents)?;
    }
    if !uid.is_empty() && !is_uuid_v4(uid) {
        return Err(ApiError::invalid("Invalid UID"));
    }
    Ok(())
}

/// Options of [`validate_metadata`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MetaRules {
    pub require_name: bool,
    /// The exact number of parents a non-empty name must have.
    pub parents: usize,
}

/// Validates request metadata as upstream `apivalidation.ValidateMetadata` does (§4).
pub fn validate_metadata(m: Option<&meta::Metadata>, rules: MetaRules) -> Result<(), ApiError> {
    let Some(m) = m else {
        return Err(ApiError::invalid("Resource Metadata must be set"));
    };
    if rules.require_name && m.name.is_empty() {
        return Err(ApiError::invalid("You must provide a name for the Resource"));
    }
    if !m.name.is_empty() {
        validate_name(&m.name, rules.parents)?;
    }
    if !m.uid.is_empty() && !is_uuid_v4(&m.uid) {
        return Err(ApiError::invalid("Invalid UID"));
    }
    if m.display_name.len() > 100 {
        return Err(ApiError::invalid("Display name is too long"));
    }
    if m.description.len() > 1024 {
        return Err(ApiError::invalid("Description is too long"));
    }
    if m.labels.len() > 64 {
        return Err(ApiError::invalid("Labels map is too large"));
    }
    for (k, v) in &m.labels {
        if !is_segment(k) {
            return Err(ApiError::invalid(format!("Invalid label key: {k}")));
        }
        if !is_label_value(v) {
            return Err(ApiError::invalid(format!("Invalid label value: {k}")));
        }
    }
    if m.annotations.len() > 64 {
        return Err(ApiError::invalid("Annotations map is too large"));
    }
    for (k, v) in &m.annotations {
        if !is_segment(k) {
            return Err(ApiError::invalid(format!("Invalid annotation key: {k}")));
        }
        if v.len() > 63 {
            return Err(ApiError::invalid(format!("annotation value of {k} is too long")));
        }
    }
    if m.tags.len() > 64 {
        return Err(ApiError::invalid("Too many tags"));
    }
    for t in &m.tags {
        if !is_segment(t) {
            return Err(ApiError::invalid(format!("Invalid tag: {t}")));
        }
    }
    if m.tags.iter().collect::<BTreeSet<_>>().len() != m.tags.len() {
        return Err(ApiError::invalid("Duplicate tags"));
    }
    Ok(())
}

/// The metadata a create keeps from the request (upstream `common.MetadataFrom`).
pub fn metadata_from(m: &meta::Metadata) -> meta::Metadata {
    meta::Metadata {
        name: m.name.clone(),
        display_name: m.display_name.clone(),
        description: m.description.clone(),
        labels: m.labels.clone(),
        annotations: m.annotations.clone(),
        tags: m.tags.clone(),
        pic_url: m.pic_url.clone(),
        ..Default::default()
    }
}

/// The metadata an update replaces wholesale (upstream `common.MetadataUpdate`).
pub fn metadata_update(to: &mut meta::Metadata, from: &meta::Metadata) {
    to.display_name = from.display_name.clone();
    to.description = from.description.clone();
    to.labels = from.labels.clone();
    to.annotations = from.annotations.clone();
    to.pic_url = from.pic_url.clone();
    to.tags = from.tags.clone();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert!(is_segment("ab"));
        assert!(is_segment("my-proj1"));
        assert!(!is_segment("a"), "one char is too short");
        assert!(!is_segment("1ab"));
        assert!(!is_segment("ab-"));
        assert!(!is_segment("a--b"));
        assert!(!is_segment("Ab"));
        assert!(!is_segment(&"a".repeat(41)));
        assert!(is_segment(&"a".repeat(40)));
    }

    #[test]
    fn expansion() {
        assert_eq!(expand_space("proj", "alice"), "proj.alice");
        assert_eq!(expand_space("proj.cordium", "alice"), "proj.cordium");
        assert_eq!(expand_space_child("t", "alice"), "t.default.alice");
        assert_eq!(expand_space_child("t.sp", "alice"), "t.sp.alice");
        assert_eq!(expand_space_child("t.sp.bob", "alice"), "t.sp.bob");
    }

    #[test]
    fn keys() {
        let uid = uuid::Uuid::new_v4().to_string();
        assert!(check_key("", "", None).is_err());
        assert!(check_key(&uid, "ab", None).is_err());
        assert!(check_key(&uid, "", None).is_ok());
        assert!(check_key("not-a-uuid", "", None).is_err());
        assert!(check_key("", "ab.cd", Some(1)).is_ok());
        assert!(check_key("", "ab", Some(1)).is_err());
    }

    #[test]
    fn metadata_rules() {
        let ok = meta::Metadata { name: "ab".into(), ..Default::default() };
        assert!(validate_metadata(Some(&ok), MetaRules::default()).is_ok());
        let mut bad = ok.clone();
        bad.labels.insert("k".into(), "v".into());
        assert!(validate_metadata(Some(&bad), MetaRules::default()).is_err(), "key too short");
        let mut bad = ok.clone();
        bad.labels.insert("key".into(), "Value".into());
        assert!(validate_metadata(Some(&bad), MetaRules::default()).is_err());
        let mut bad = ok.clone();
        bad.annotations.insert("key".into(), "x".repeat(64));
        assert!(validate_metadata(Some(&bad), MetaRules::default()).is_err());
        let mut bad = ok.clone();
        bad.tags = vec!["ab".into(), "ab".into()];
        assert!(validate_metadata(Some(&bad), MetaRules::default()).is_err());
        assert!(validate_metadata(None, MetaRules::default()).is_err());
        let rules = MetaRules { require_name: true, parents: 1 };
        assert!(validate_metadata(Some(&ok), rules).is_err());
    }
}
