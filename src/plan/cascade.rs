//! Pure: what the server deletes because of a Space delete, so that the plan shows it.
//!
//! Upstream `mains/space.go` DeleteSpace (octelium/cordium 54d80f2b, `deleteSpaceWorkspace`)
//! deletes every Workspace in the Space of **any owner** (and their Sessions), then its
//! Templates, Secrets, Volumes, WorkspaceSnapshots, GitProviders and Memberships. A replace
//! (delete, then create) does the same. So:
//!
//! - a declared child of a replaced Space that is on the cluster is itself replaced (the server
//!   deletes it; apply must create it again in the new Space), forced by the Space;
//! - a child of the stack that is no longer declared (kept while prune is off) is deleted;
//! - a declared child of a deleted Space cannot survive it: a plan error;
//! - everything else read in the Space (objects of no stack, the Space's `default` Template) is
//!   listed under the Space's change as [`Cascade::objects`], and what cordium cannot read is
//!   said in words ([`Cascade::unlisted`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::diff::{Action, ResourceChange};
use crate::kind::{Address, Kind};
use crate::live::state::LiveChild;

/// What goes with a Space besides the changes the plan lists for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cascade {
    /// Objects read in the Space that the server deletes with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<CascadedObject>,
    /// What the server deletes too that cordium cannot list, in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<String>,
}

/// One object deleted by the server with its Space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CascadedObject {
    pub kind: Kind,
    /// The stored name (server-chosen for Workspaces).
    pub name: String,
    /// Server-owned (the Space's `default` Template).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system: bool,
}

/// What a Space delete takes that cordium reads nothing of.
pub const UNLISTED: &[&str] = &[
    "Workspaces of other users in the Space (the API lists only your own), and their Sessions",
    "the Space's WorkspaceSnapshots (cordium does not read them)",
];

/// Why a child changes because of its Space.
fn forced_by(space: &Address, replaced: bool) -> String {
    if replaced {
        format!("{space} is replaced (the server deletes everything in it)")
    } else {
        format!("{space} is deleted (the server deletes everything in it)")
    }
}

/// Marks what a Space delete or replace does to the changes in that Space (see the module
/// docs), and returns the cascade of each such Space change.
pub fn cascade(
    changes: &mut [ResourceChange],
    children: &BTreeMap<String, Vec<LiveChild>>,
    declared: &dyn Fn(&Address) -> bool,
    problems: &mut Vec<Diagnostic>,
) -> BTreeMap<Address, Cascade> {
    // Doomed Spaces: config name → (stored name, replaced?).
    let doomed: BTreeMap<String, (String, bool)> = changes
        .iter()
        .filter(|c| c.address.kind == Kind::Space)
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter_map(|c| {
            let live = c.live.as_ref()?;
            Some((c.address.name.clone(), (live.name.clone(), c.action == Action::Replace)))
        })
        .collect();
    if doomed.is_empty() {
        return BTreeMap::new();
    }
    for c in changes.iter_mut() {
        let Some((_, replaced)) = c.address.space.as_ref().and_then(|s| doomed.get(s)) else {
            continue;
        };
        let space = Address::space(c.address.space.clone().unwrap_or_default());
        match (c.action, c.live.is_some(), declared(&c.address)) {
            (Action::NoOp | Action::Update, true, true) if *replaced => {
                c.action = Action::Replace;
                c.reason = "its Space is replaced: the server deletes it with the Space".into();
                c.forced_by.push(forced_by(&space, true));
            }
            (Action::NoOp | Action::Update | Action::Create, _, true) if !*replaced => {
                problems.push(
                    Diagnostic::error(
                        "deleted-with-space",
                        format!(
                            "{} is declared, but this plan deletes its Space {space}, and the \
                             server deletes everything in it",
                            c.address
                        ),
                    )
                    .address(c.address.to_string())
                    .help(format!("remove {} from the config too, or keep {space}", c.address)),
                );
            }
            (Action::NoOp, true, false) => {
                c.action = Action::Delete;
                c.reason = "its Space is deleted: the server deletes it with the Space".into();
                c.forced_by.push(forced_by(&space, *replaced));
            }
            _ => {}
        }
    }
    // What the plan does not delete itself, by stored name.
    let planned: BTreeSet<&str> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .filter_map(|c| c.live.as_ref().map(|l| l.name.as_str()))
        .collect();
    doomed
        .iter()
        .map(|(name, (stored, _))| {
            let objects = children
                .get(stored)
                .into_iter()
                .flatten()
                .filter(|o| !planned.contains(o.wire_name.as_str()))
                .map(|o| CascadedObject {
                    kind: o.kind,
                    name: o.wire_name.clone(),
                    system: o.system,
                })
                .collect();
            let unlisted = UNLISTED.iter().map(|s| s.to_string()).collect();
            (Address::space(name.clone()), Cascade { objects, unlisted })
        })
        .collect()
}
