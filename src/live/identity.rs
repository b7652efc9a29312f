//! Identity resolution (ARCHITECTURE.md §2): which live object a declared resource is, and
//! whether it is ours.
//!
//! A kind identified by its stored name ([`IdentifiedBy::StoredName`]) is found by the name
//! [`Naming::stored_name`](super::convert::Naming::stored_name) computes. A server-named kind
//! ([`IdentifiedBy::DisplayName`], Workspaces) is the live object in the same Space whose
//! `displayName` equals the config name; two matches is an error naming both, never a guess
//! (and never a second create). Diff, apply and the staleness check of saved plans all ask here.
//! Pure: no I/O.

use super::convert::LiveResource;
use crate::kind::{Address, IdentifiedBy, Kind};

/// How diff and apply explain an ambiguous match to the user.
pub const AMBIGUOUS_HELP: &str = "Workspaces are matched by display name within their Space; \
                                  delete or rename the extra ones on the cluster";

/// What a declared resource's identity found among the candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved<T> {
    /// Nothing on the cluster is it.
    Absent,
    One(T),
    /// Two or more live objects claim to be it: an error naming them all.
    Ambiguous(Vec<T>),
}

/// Applies "two matches is an error" to the live objects that match one declared resource.
pub fn resolve<T>(matches: Vec<T>) -> Resolved<T> {
    let mut matches = matches;
    match matches.len() {
        0 => Resolved::Absent,
        1 => Resolved::One(matches.remove(0)),
        _ => Resolved::Ambiguous(matches),
    }
}

/// The config name a live object of a server-named kind answers to: its `displayName` (the
/// stored name only when it has none, which we never send).
pub fn display_identity(display_name: &str, wire_name: &str) -> String {
    if display_name.is_empty() {
        wire_name.to_string()
    } else {
        display_name.to_string()
    }
}

/// `live` is the server-named resource `address`: same kind, in the Space stored as `space`,
/// its `displayName` the config name. System objects (build Workspaces) are never anyone's.
pub fn is_display_match(live: &LiveResource, address: &Address, space: &str) -> bool {
    live.kind == address.kind
        && address.kind.identified_by() == IdentifiedBy::DisplayName
        && !live.system
        && live.space.as_deref() == Some(space)
        && live.metadata.display_name == address.name
}

/// The live objects among `objects` that are the server-named resource `address` in the Space
/// stored as `space`, resolved.
pub fn find_by_display_name<'a>(
    objects: &'a [LiveResource],
    address: &Address,
    space: &str,
) -> Resolved<&'a LiveResource> {
    resolve(objects.iter().filter(|l| is_display_match(l, address, space)).collect())
}

/// A live object that is a declared resource of `kind` (by identity) belongs to `stack`: it
/// carries our stack label, or its kind keeps no labels (Workspaces), so the identity match is
/// all there is to go by.
pub fn is_ours(kind: Kind, label: Option<&str>, stack: &str) -> bool {
    !kind.keeps_labels() || label == Some(stack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::convert::from_wire;
    use crate::live::wire::{cordium, meta};
    use crate::live::Object;

    fn workspace(name: &str, display: &str, space: &str) -> LiveResource {
        from_wire(&Object::Workspace(cordium::Workspace {
            metadata: Some(meta::Metadata {
                name: name.into(),
                display_name: display.into(),
                ..Default::default()
            }),
            status: Some(cordium::workspace::Status {
                space_ref: Some(meta::ObjectReference { name: space.into(), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    #[test]
    fn a_workspace_is_its_display_name_in_its_space() {
        let a = Address::in_space(Kind::Workspace, "ml", "box");
        let live = [workspace("abc", "box", "ml.admin"), workspace("def", "box", "ml.cordium")];
        match find_by_display_name(&live, &a, "ml.admin") {
            Resolved::One(l) => assert_eq!(l.wire_name, "abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(find_by_display_name(&live, &a, "other.admin"), Resolved::Absent);
    }

    #[test]
    fn two_matches_are_ambiguous() {
        let a = Address::in_space(Kind::Workspace, "ml", "box");
        let live = [workspace("abc", "box", "ml.admin"), workspace("xyz", "box", "ml.admin")];
        let Resolved::Ambiguous(both) = find_by_display_name(&live, &a, "ml.admin") else {
            panic!("not ambiguous")
        };
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn ownership_needs_the_label_unless_the_kind_keeps_none() {
        assert!(is_ours(Kind::Workspace, None, "prod"));
        assert!(is_ours(Kind::Template, Some("prod"), "prod"));
        assert!(!is_ours(Kind::Template, Some("dev"), "prod"));
        assert!(!is_ours(Kind::Space, None, "prod"));
    }
}
