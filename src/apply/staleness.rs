//! Is a saved plan still true? Before a saved plan is applied, every object it touches is read
//! again: an object it updates or deletes must still be what the plan saw (its spec, managed
//! metadata and Template: the [`fingerprint`](crate::diff::fingerprint) of its canonical
//! document), and an object it creates must still be absent. Reads only; decides nothing else.
//!
//! Not `resourceVersion`: a real server gives every write a new one, status writes by its
//! controllers included (octelium `cluster/rscserver/rscserver/common.go`, the resourceVersion
//! set on every update), so a build finishing or a Workspace starting would make every saved
//! plan stale. A plan file without fingerprints (written by an older cordium) is still judged
//! by `resourceVersion`.

use std::collections::BTreeMap;

use crate::diff::{fingerprint_doc, LiveDoc};
use crate::live::convert::{from_wire, LiveResource, Naming};
use crate::live::identity::{self, Resolved};
use crate::live::{Cluster, ErrorCode, LiveError, ObjectKey, Scope};
use crate::model::{Address, Kind};
use crate::plan::{Action, Plan};

/// An object that changed since the plan was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub address: Address,
    /// What changed, one phrase: "resourceVersion 12 is now 14", "was deleted", "now exists".
    pub what: String,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.address, self.what)
    }
}

/// Reads every object `plan` touches and lists those that changed since it was made.
pub async fn check(
    plan: &Plan,
    cluster: &dyn Cluster,
    naming: &Naming,
) -> Result<Vec<Stale>, LiveError> {
    let mut stale = Vec::new();
    // The live objects of each server-named kind per Space, listed once.
    let mut spaces: BTreeMap<(Kind, String), Vec<LiveResource>> = BTreeMap::new();
    for change in plan.changes.iter().filter(|c| c.action.is_change()) {
        let address = &change.address;
        match (&change.live, change.action) {
            (Some(live), _) => {
                let key = ObjectKey::Uid(live.uid.clone());
                match cluster.get(address.kind, &key).await {
                    Ok(o) if unchanged(live, &o) => {}
                    Ok(o) => stale.push(Stale {
                        address: address.clone(),
                        what: format!(
                            "resourceVersion {} is now {}, and its spec or managed metadata \
                             changed",
                            live.resource_version,
                            o.resource_version()
                        ),
                    }),
                    Err(e) if e.code == ErrorCode::NotFound => stale.push(Stale {
                        address: address.clone(),
                        what: format!("{} was deleted", live.name),
                    }),
                    Err(e) => return Err(e),
                }
            }
            (None, Action::Create) if address.kind.server_named() => {
                let space = naming.space_name(address.space.as_deref().unwrap_or_default());
                let listed = (address.kind, space.clone());
                if !spaces.contains_key(&listed) {
                    let live = match cluster.list(address.kind, &Scope::Space(space.clone())).await
                    {
                        Ok(all) => all.iter().map(from_wire).collect(),
                        // The Space itself is still to be created.
                        Err(e) if e.code == ErrorCode::NotFound => Vec::new(),
                        Err(e) => return Err(e),
                    };
                    spaces.insert(listed.clone(), live);
                }
                let found = spaces
                    .get(&listed)
                    .map(|live| identity::find_by_display_name(live, address, &space));
                if found.is_some_and(|f| f != Resolved::Absent) {
                    stale.push(Stale {
                        address: address.clone(),
                        what: "a Workspace of that name now exists".into(),
                    });
                }
            }
            (None, Action::Create) => {
                let Some(name) = naming.stored_name(address) else { continue };
                match cluster.get(address.kind, &ObjectKey::Name(name.clone())).await {
                    Ok(_) => stale.push(Stale {
                        address: address.clone(),
                        what: format!("{name} now exists"),
                    }),
                    Err(e) if e.code == ErrorCode::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            (None, _) => {}
        }
    }
    Ok(stale)
}

/// Whether the object is still what the plan depends on: the same fingerprint (or, for a plan
/// file without one, the same resourceVersion).
fn unchanged(live: &crate::diff::LiveRef, now: &crate::live::Object) -> bool {
    if live.fingerprint.is_empty() {
        return now.resource_version() == live.resource_version;
    }
    let doc = LiveDoc::from_live(&from_wire(now)).doc;
    fingerprint_doc(&doc, &live.masked) == live.fingerprint
}
