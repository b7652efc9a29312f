//! Pure: changes the server would refuse to the Cordium kinds beside the workloads, reported
//! before anything is written, at the config's line where there is one.
//!
//! - A Volume only grows (cordium `mains/volume.go` UpdateVolume: "A Volume can only be grown.
//!   It is currently %d MB while %d MB is requested"): a smaller size is an error at
//!   `spec.size.megabytes`, never a replace (which would delete the Volume's data).
//! - A Volume is never deleted while a Template or Workspace of its Space mounts it
//!   (`checkVolumeIsNotMounted`: "The Volume cannot be deleted while it is mounted by the
//!   Template: %s"): the error names the mounter, from the config or from what was read.
//! - The caller's own Membership: CreateMembership refuses "You cannot add yourself as a
//!   Member", and the creator of a Space (its OWNER since CreateSpace) can neither be removed
//!   ("Space Creators cannot remove themselves") nor given another role ("Space Creators
//!   cannot update their own Memberships"). That is how a Space never loses its last OWNER.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::diff::{Action, LiveDoc, ResourceChange};
use crate::model::graph::short;
use crate::model::spec::MembershipRole;
use crate::model::{Address, Body, Kind, Model};

/// What the guards need of the live documents, taken before the diff consumes them: each live
/// Volume's size by stored name, and the Volumes each live Template or Workspace mounts.
#[derive(Debug, Default)]
pub struct LiveFacts {
    volume_megabytes: BTreeMap<String, u64>,
    /// Template and Workspace addresses, with the (short) names of the Volumes they mount.
    mounts: Vec<(Address, Vec<String>)>,
}

impl LiveFacts {
    pub fn of(docs: &[LiveDoc]) -> LiveFacts {
        let mut facts = LiveFacts::default();
        for d in docs {
            match d.address.kind {
                Kind::Volume => {
                    if let Some(mb) = megabytes(&d.doc.value()) {
                        facts.volume_megabytes.entry(d.wire_name.clone()).or_insert(mb);
                    }
                }
                Kind::Template | Kind::Workspace => {
                    // Only a document whose text names a mount is read as a tree.
                    if d.doc.text().is_some_and(|t| !t.contains("\"volumeMounts\"")) {
                        continue;
                    }
                    let names = mounted_volumes(&d.doc.value());
                    if !names.is_empty() {
                        facts.mounts.push((d.address.clone(), names));
                    }
                }
                _ => {}
            }
        }
        facts
    }
}

/// Every refused change among `changes` (`desired`: what the plan wants; `live`: what the
/// guards need of what was read; `username`: the caller, who creates the stack's Spaces).
pub fn check(
    desired: &Model,
    live: &LiveFacts,
    changes: &[ResourceChange],
    username: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for c in changes {
        match c.address.kind {
            Kind::Volume => {
                shrink(desired, live, c, &mut out);
                if matches!(c.action, Action::Delete | Action::Replace) {
                    mounted(desired, live, changes, c, &mut out);
                }
            }
            Kind::Membership if c.address.name == username => own_membership(desired, c, &mut out),
            _ => {}
        }
    }
    out
}

/// A Volume's `spec.size.megabytes`, from a canonical document.
fn megabytes(doc: &serde_json::Value) -> Option<u64> {
    doc.pointer("/spec/size/megabytes").and_then(serde_json::Value::as_u64)
}

fn shrink(desired: &Model, live: &LiveFacts, c: &ResourceChange, out: &mut Vec<Diagnostic>) {
    if c.action != Action::Update {
        return;
    }
    let Some(r) = desired.get(&c.address) else { return };
    let Body::Volume { spec } = &r.body else { return };
    let want = u64::from(spec.size.as_ref().map(|s| s.megabytes).unwrap_or_default());
    let live_name = c.live.as_ref().map(|l| l.name.as_str()).unwrap_or_default();
    let Some(&have) = live.volume_megabytes.get(live_name) else { return };
    if want < have {
        out.push(
            Diagnostic::error(
                "volume-shrink",
                format!(
                    "{} is {have} MB on the cluster and cannot shrink to {want} MB: a Volume only grows",
                    c.address
                ),
            )
            .at(r.origin.span_of("spec.size.megabytes"))
            .address(c.address.to_string())
            .help(format!(
                "keep it at {have} MB or more (the server refuses: \"A Volume can only be grown. \
                 It is currently {have} MB while {want} MB is requested\"); a smaller Volume is a \
                 new one under another name, and moving the data is yours to do"
            )),
        );
    }
}

/// Whether a Template or Workspace document mounts the Volume named `volume`.
fn mounts(origin: &crate::model::Origin, volume: &str) -> bool {
    origin.volume_refs().any(|v| short(&v.name) == volume)
}

/// The (short) names of the Volumes a canonical (live) document mounts.
fn mounted_volumes(doc: &serde_json::Value) -> Vec<String> {
    let mounts = doc.pointer("/spec/runtime/volumeMounts").and_then(serde_json::Value::as_array);
    mounts
        .into_iter()
        .flatten()
        .filter_map(|m| m.pointer("/volumeRef/name").and_then(serde_json::Value::as_str))
        .map(|name| short(name).to_string())
        .collect()
}

fn mounted(
    desired: &Model,
    live: &LiveFacts,
    changes: &[ResourceChange],
    c: &ResourceChange,
    out: &mut Vec<Diagnostic>,
) {
    let volume = c.address.name.as_str();
    let space = c.address.space.as_deref();
    let deleted =
        |a: &Address| changes.iter().any(|x| &x.address == a && x.action == Action::Delete);
    let mut mounters: Vec<Address> = desired
        .resources
        .iter()
        .filter(|r| matches!(r.kind(), Kind::Template | Kind::Workspace))
        .filter(|r| r.address.space.as_deref() == space && mounts(&r.origin, volume))
        .map(|r| r.address.clone())
        .collect();
    mounters.extend(
        live.mounts
            .iter()
            .filter(|(a, _)| a.space.as_deref() == space && !deleted(a))
            .filter(|(_, names)| names.iter().any(|n| n == volume))
            .map(|(a, _)| a.clone()),
    );
    mounters.sort();
    mounters.dedup();
    let Some(first) = mounters.first() else { return };
    let what = if c.action == Action::Replace { "replaced" } else { "deleted" };
    let span = desired.get(&c.address).map(|r| r.origin.span);
    let mounter_span = desired.get(first).map(|r| r.origin.span);
    out.push(
        Diagnostic::error(
            "volume-mounted",
            format!(
                "{} cannot be {what} while {} mounts it",
                c.address,
                mounters.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .at_opt(span.or(mounter_span))
        .address(c.address.to_string())
        .help(format!(
            "the server refuses: \"The Volume cannot be deleted while it is mounted by the {}: \
             …\"; remove the mount from {first} and apply that first",
            first.kind.api_kind()
        )),
    );
}

fn own_membership(desired: &Model, c: &ResourceChange, out: &mut Vec<Diagnostic>) {
    let r = desired.get(&c.address);
    let role = r.and_then(|r| match &r.body {
        Body::Membership { spec } => Some(spec.role),
        _ => None,
    });
    let (code, message, help) = match c.action {
        Action::Create => (
            "own-membership",
            format!("{} is you: the server refuses to add yourself as a Member", c.address),
            "remove it: whoever creates a Space is its OWNER already (\"You cannot add yourself \
             as a Member\")",
        ),
        Action::Delete => (
            "last-owner",
            format!("{} is the Space's creator, its OWNER: it cannot be removed", c.address),
            "keep it: the server refuses (\"Space Creators cannot remove themselves\"), so a \
             Space never loses its last OWNER",
        ),
        Action::Update | Action::Replace if role != Some(MembershipRole::Owner) => (
            "last-owner",
            format!("{} is the Space's creator, its OWNER: its role cannot change", c.address),
            "declare it with role OWNER or not at all: the server refuses (\"Space Creators \
             cannot update their own Memberships\"), so a Space never loses its last OWNER",
        ),
        _ => return,
    };
    out.push(
        Diagnostic::error(code, message)
            .at_opt(r.map(|r| r.origin.span_of("spec.role")))
            .address(c.address.to_string())
            .help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::yaml;

    fn change(address: &str, action: Action, live: Option<&str>) -> ResourceChange {
        ResourceChange {
            address: address.parse().expect("address"),
            action,
            reason: String::new(),
            fields: Vec::new(),
            forced_by: Vec::new(),
            live: live.map(|n| crate::diff::LiveRef {
                name: n.into(),
                uid: "u".into(),
                resource_version: "1".into(),
                fingerprint: String::new(),
                masked: Vec::new(),
            }),
            sensitive: Vec::new(),
            changed_by: None,
            imported: None,
        }
    }

    fn doc(address: &str, wire: &str, doc: serde_json::Value) -> LiveDoc {
        LiveDoc {
            address: address.parse().expect("address"),
            wire_name: wire.into(),
            uid: "u".into(),
            resource_version: "1".into(),
            doc: doc.into(),
            stack: Some("s".into()),
            retiring: false,
            applied: None,
        }
    }

    #[test]
    fn a_smaller_volume_is_an_error_at_its_size() {
        let model = yaml("kind: Space\nmetadata: {name: ml}\n---\nkind: Volume\nmetadata: {name: data.ml}\nspec: {size: {megabytes: 2000}}\n");
        let live = [doc(
            "volume.ml.data",
            "data.ml.alice",
            serde_json::json!({"spec": {"size": {"megabytes": 5000}}}),
        )];
        let c = change("volume.ml.data", Action::Update, Some("data.ml.alice"));
        let found = check(&model, &LiveFacts::of(&live), &[c], "alice");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "volume-shrink");
        assert!(found[0].message.contains("5000 MB") && found[0].message.contains("2000 MB"));
        assert!(found[0].span.is_some());
        // Growing is fine.
        let live = [doc(
            "volume.ml.data",
            "data.ml.alice",
            serde_json::json!({"spec": {"size": {"megabytes": 1000}}}),
        )];
        let c = change("volume.ml.data", Action::Update, Some("data.ml.alice"));
        assert!(check(&model, &LiveFacts::of(&live), &[c], "alice").is_empty());
        // Only a Volume's document gives its size: a Secret of the same stored name in the same
        // Space (`data.ml.alice` both), read before it, does not hide the shrink.
        let live = [
            doc("secret.ml.data", "data.ml.alice", serde_json::json!({"spec": {}})),
            doc(
                "volume.ml.data",
                "data.ml.alice",
                serde_json::json!({"spec": {"size": {"megabytes": 5000}}}),
            ),
        ];
        let c = change("volume.ml.data", Action::Update, Some("data.ml.alice"));
        let found = check(&model, &LiveFacts::of(&live), &[c], "alice");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "volume-shrink");
    }

    #[test]
    fn a_mounted_volume_is_not_deleted_and_the_mounter_is_named() {
        let model = yaml(
            "kind: Space\nmetadata: {name: ml}\n---\nkind: Template\nmetadata: {name: gpu.ml}\nspec: {runtime: {volumeMounts: [{mountPath: /d, volumeRef: {name: data}}]}}\n",
        );
        let c = change("volume.ml.data", Action::Delete, Some("data.ml.alice"));
        let found = check(&model, &LiveFacts::default(), &[c], "alice");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "volume-mounted");
        assert!(found[0].message.contains("template.ml.gpu"), "{}", found[0].message);
        // A live Workspace that keeps its mount counts too; one being deleted does not.
        let ws = doc(
            "workspace.ml.box",
            "abc",
            serde_json::json!({"spec": {"runtime": {"volumeMounts": [{"volumeRef": {"name": "data"}}]}}}),
        );
        let c = change("volume.ml.data", Action::Delete, Some("data.ml.alice"));
        let found = check(
            &Model::default(),
            &LiveFacts::of(std::slice::from_ref(&ws)),
            std::slice::from_ref(&c),
            "alice",
        );
        assert!(found[0].message.contains("workspace.ml.box"));
        let gone = change("workspace.ml.box", Action::Delete, Some("abc"));
        assert!(check(&Model::default(), &LiveFacts::of(&[ws]), &[c, gone], "alice").is_empty());
    }

    #[test]
    fn the_creator_keeps_its_owner_membership() {
        let model = yaml("kind: Space\nmetadata: {name: org.cordium}\n---\nkind: Membership\nmetadata: {name: alice.org}\nspec: {role: ADMIN}\n");
        let create = change("membership.org.alice", Action::Create, None);
        assert_eq!(
            check(&model, &LiveFacts::default(), &[create], "alice")[0].code,
            "own-membership"
        );
        let demote = change("membership.org.alice", Action::Update, Some("alice.org.cordium"));
        assert_eq!(check(&model, &LiveFacts::default(), &[demote], "alice")[0].code, "last-owner");
        let remove = change("membership.org.alice", Action::Delete, Some("alice.org.cordium"));
        assert_eq!(
            check(&Model::default(), &LiveFacts::default(), &[remove], "alice")[0].code,
            "last-owner"
        );
        // Someone else's Membership is theirs to change.
        let other = change("membership.org.alice", Action::Update, Some("alice.org.cordium"));
        assert!(check(&model, &LiveFacts::default(), &[other], "bob").is_empty());
    }
}
