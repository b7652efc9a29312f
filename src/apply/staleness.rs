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

/// How many reads are in flight at once (a saved plan of thousands of objects, or the check
/// after a first apply takes its lock, is read in a fraction of the time one at a time takes).
const CONCURRENCY: usize = 16;

/// Reads every object `plan` touches and lists those that changed since it was made, in the
/// plan's order. The reads are made [`CONCURRENCY`] at a time: the Spaces' lists of server-named
/// kinds first (each once), then one Get per object.
pub async fn check(
    plan: &Plan,
    cluster: &dyn Cluster,
    naming: &Naming,
) -> Result<Vec<Stale>, LiveError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    // The futures are made first, then run: a stream holding the iterator's closures across
    // its awaits would not be `Send` for every lifetime (apply's anchor hook needs that).
    let changes: Vec<&crate::plan::PlannedChange> =
        plan.changes.iter().filter(|c| c.action.is_change()).collect();
    // The live objects of each server-named kind per Space, listed once.
    let mut listed: Vec<(Kind, String)> = Vec::new();
    for c in &changes {
        if c.live.is_none() && c.action == Action::Create && c.address.kind.server_named() {
            let space = naming.space_name(c.address.space.as_deref().unwrap_or_default());
            listed.push((c.address.kind, space));
        }
    }
    listed.sort();
    listed.dedup();
    let lists: Vec<_> =
        listed.into_iter().map(|(kind, space)| list(cluster, kind, space)).collect();
    let spaces: BTreeMap<(Kind, String), Vec<LiveResource>> =
        stream::iter(lists).buffer_unordered(CONCURRENCY).try_collect().await?;
    let reads: Vec<_> = changes.into_iter().map(|c| one(c, cluster, naming, &spaces)).collect();
    let found: Vec<Option<Stale>> = stream::iter(reads).buffered(CONCURRENCY).try_collect().await?;
    Ok(found.into_iter().flatten().collect())
}

/// The live objects of `kind` in `space` (none when the Space is still to be created).
async fn list(
    cluster: &dyn Cluster,
    kind: Kind,
    space: String,
) -> Result<((Kind, String), Vec<LiveResource>), LiveError> {
    let live = match cluster.list(kind, &Scope::Space(space.clone())).await {
        Ok(all) => all.iter().map(from_wire).collect(),
        Err(e) if e.code == ErrorCode::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(((kind, space), live))
}

/// Whether one change's object changed since the plan was made.
async fn one(
    change: &crate::plan::PlannedChange,
    cluster: &dyn Cluster,
    naming: &Naming,
    spaces: &BTreeMap<(Kind, String), Vec<LiveResource>>,
) -> Result<Option<Stale>, LiveError> {
    let address = &change.address;
    let stale = |what: String| Ok(Some(Stale { address: address.clone(), what }));
    match (&change.live, change.action) {
        (Some(live), _) => {
            let key = ObjectKey::Uid(live.uid.clone());
            match cluster.get(address.kind, &key).await {
                Ok(o) if unchanged(live, &o) => Ok(None),
                Ok(o) => stale(format!(
                    "resourceVersion {} is now {}, and its spec or managed metadata changed",
                    live.resource_version,
                    o.resource_version()
                )),
                Err(e) if e.code == ErrorCode::NotFound => {
                    stale(format!("{} was deleted", live.name))
                }
                Err(e) => Err(e),
            }
        }
        (None, Action::Create) if address.kind.server_named() => {
            let space = naming.space_name(address.space.as_deref().unwrap_or_default());
            let found = spaces
                .get(&(address.kind, space.clone()))
                .map(|live| identity::find_by_display_name(live, address, &space));
            if found.is_some_and(|f| f != Resolved::Absent) {
                return stale("a Workspace of that name now exists".into());
            }
            Ok(None)
        }
        (None, Action::Create) => {
            let Some(name) = naming.stored_name(address) else { return Ok(None) };
            match cluster.get(address.kind, &ObjectKey::Name(name.clone())).await {
                Ok(_) => stale(format!("{name} now exists")),
                Err(e) if e.code == ErrorCode::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }
        (None, _) => Ok(None),
    }
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
