//! Reading the live state a plan needs: one paginated List per kind per Space as needed, never
//! one Get per resource. Every kind in `Kind::ALL` is read by its [`ListScope`]: Users and
//! Spaces are listed once; Templates and Secrets once per Space that is declared or carries our
//! stack label; Workspaces once (a Workspace list is only ever the caller's own). Only objects
//! that can concern this config are returned: those whose stored name is a declared resource's,
//! those labelled with this stack, and the Workspaces of our Spaces (matched by displayName
//! later). Decides nothing.
//!
//! Kinds of the Octelium core API (Users, Groups, Policies) are read only when the config
//! declares one or names one (a User's `groups`, a User's or Group's policies), or when
//! pruning (a stack-labelled User that left the config must be found to be deleted): on a real
//! cluster the core API is for cluster admins only, so an ordinary user's plan of a stack
//! without Users never calls it. When the config declares Users and the List is refused
//! (PERMISSION_DENIED), the read stops with one sentence naming them, before anything is
//! written; when pruning without declared Users, a refused List means "none of ours can be
//! seen" and is skipped (the caller could not delete them anyway).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::convert::{self, LiveResource, Naming};
use super::{Cluster, ErrorCode, LiveError, Scope};
use crate::kind::ListScope;
use crate::model::{Kind, Model};

/// Everything read, and how many calls it took. `T` is what is kept of each object of the stack
/// ([`read_wanted_as`]): the object itself, or a more compact form of it made as it is read.
#[derive(Debug, Clone)]
pub struct LiveState<T = LiveResource> {
    pub objects: Vec<T>,
    /// Stored names of every Secret in the Spaces read, ours or not (a `fromSecret` may name a
    /// Secret created out of band).
    pub secret_names: BTreeSet<String>,
    /// Everything read in each of the stack's Spaces (by stored Space name), ours or not: what a
    /// DeleteSpace there would take with it (`plan` lists it under the Space's delete).
    pub children: BTreeMap<String, Vec<LiveChild>>,
    /// Stored names of every object, ours or not (system ones included), of each cluster-wide
    /// kind that was listed: a User's `groups` may name a Group made out of band. A kind that
    /// was not listed has no entry.
    pub cluster_names: BTreeMap<Kind, BTreeSet<String>>,
    pub calls: u64,
    /// Per Space (stored name): how many Workspaces its ownership record says this stack
    /// created that are not among the caller's own: another user's (the server lists Workspaces
    /// to their owner only), or deleted outside cordium.
    pub unseen_workspaces: BTreeMap<String, usize>,
}

impl<T> Default for LiveState<T> {
    fn default() -> Self {
        LiveState {
            objects: Vec::new(),
            secret_names: BTreeSet::new(),
            children: BTreeMap::new(),
            cluster_names: BTreeMap::new(),
            calls: 0,
            unseen_workspaces: BTreeMap::new(),
        }
    }
}

/// What a read keeps of each object of the stack: it is sorted by the address and the stored
/// name of the object it was made from.
pub trait Listed {
    fn address(&self) -> &crate::kind::Address;
    fn wire_name(&self) -> &str;
}

impl Listed for LiveResource {
    fn address(&self) -> &crate::kind::Address {
        &self.address
    }

    fn wire_name(&self) -> &str {
        &self.wire_name
    }
}

/// One object in a Space, as a cascade lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChild {
    pub kind: Kind,
    /// The stored name (server-chosen for Workspaces).
    pub wire_name: String,
    /// The config address its identity gives it (a Workspace: its displayName).
    pub address: crate::kind::Address,
    /// Server-owned (the Space's `default` Template, build Workspaces).
    pub system: bool,
}

impl LiveChild {
    fn of(l: &LiveResource) -> LiveChild {
        LiveChild {
            kind: l.kind,
            wire_name: l.wire_name.clone(),
            address: l.address.clone(),
            system: l.system,
        }
    }
}

/// The apply lock's own Template or Group (`apply::lock::place`): not part of the stack's
/// state (nor of an export), and released before its Space is deleted.
pub fn is_apply_lock(l: &LiveResource) -> bool {
    matches!(l.kind, Kind::Template | Kind::Group)
        && l.wire_name.starts_with(APPLY_LOCK_PREFIX)
        && l.metadata.description.starts_with(APPLY_LOCK_DESCRIPTION)
}

/// The prefix of apply lock objects' names (`apply::lock`).
pub const APPLY_LOCK_PREFIX: &str = "cordium-lock-";
/// How an apply lock object's description starts (`apply::lock::place`).
pub const APPLY_LOCK_DESCRIPTION: &str = "cordium apply lock";

const CONCURRENCY: usize = 16;

/// What else decides what is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The plan prunes (or destroys): stack-labelled objects of undeclared kinds are wanted too.
    pub prune: bool,
}

/// Whether a kind lives on the Octelium core API (admins only on a fresh cluster).
pub fn on_core_api(kind: Kind) -> bool {
    kind.api_version() == crate::kind::CORE_API_VERSION
}

/// Reads the objects that concern `model` (declared, or labelled with `stack`), without pruning.
pub async fn read(
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    naming: &Naming,
    stack: &str,
) -> Result<LiveState, LiveError> {
    read_with(cluster, model, naming, stack, ReadOptions::default()).await
}

/// What a read needs from the model, taken before it starts, so that the read borrows nothing
/// and can run while the caller goes on with the model ([`spawn_read`]).
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Stored names of every declared resource.
    declared: BTreeSet<String>,
    /// The cluster-wide kinds to list, in `Kind::ALL` order.
    cluster_wide: Vec<Kind>,
    /// Per core-API kind the config declares: its declared addresses (for the refusal).
    declared_core: BTreeMap<Kind, Vec<String>>,
}

impl Wanted {
    /// What reading the live state of `model` (named by `naming`) lists and keeps.
    pub fn of(model: &Model, naming: &Naming, options: ReadOptions) -> Wanted {
        let declared: BTreeSet<String> =
            model.resources.iter().filter_map(|r| naming.stored_name(&r.address)).collect();
        let declares = |kind: Kind| model.resources.iter().any(|r| r.address.kind == kind);
        let named = |kind: Kind| {
            model
                .resources
                .iter()
                .any(|r| crate::model::graph::core_refs(r).iter().any(|c| c.kind == kind))
        };
        let cluster_wide = Kind::ALL
            .into_iter()
            .filter(|&k| {
                k.list_scope() == ListScope::Cluster
                    && (!on_core_api(k) || declares(k) || named(k) || options.prune)
            })
            .collect();
        let declared_core = Kind::ALL
            .into_iter()
            .filter(|&k| on_core_api(k) && declares(k))
            .map(|k| {
                let addresses = model
                    .resources
                    .iter()
                    .filter(|r| r.address.kind == k)
                    .map(|r| r.address.to_string())
                    .collect();
                (k, addresses)
            })
            .collect();
        Wanted { declared, cluster_wide, declared_core }
    }
}

/// The refusal of a core-API List for a config that declares objects of that kind.
fn core_denied(kind: Kind, declared: &[String], e: &LiveError) -> LiveError {
    let shown = match declared.len() {
        0..=3 => declared.join(", "),
        n => format!("{}, and {} more", declared[..3].join(", "), n - 3),
    };
    LiveError::new(
        ErrorCode::PermissionDenied,
        e.operation.clone(),
        format!(
            "this stack declares {} {}(s) ({shown}), and {}s are Octelium core API objects that \
             only cluster admins (or users granted the `octelium-api-full-access` policy) may read \
             or change; the cluster refused to list them for you ({}), so nothing was changed: \
             apply this stack as an admin, or move the {}s to a stack an admin applies",
            declared.len(),
            kind.api_kind(),
            kind.api_kind(),
            e.message,
            kind.api_kind(),
        ),
    )
}

/// [`read`], with options.
pub async fn read_with(
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    naming: &Naming,
    stack: &str,
    options: ReadOptions,
) -> Result<LiveState, LiveError> {
    read_wanted(cluster.clone(), Wanted::of(model, naming, options), naming.clone(), stack.into())
        .await
}

/// [`read_with`] on a task of the runtime, so that the caller can go on with work that needs
/// no live state (the lists are the same, in the same order), keeping `keep` of each object of
/// the stack ([`read_wanted_as`]). Await the handle for the result.
pub fn spawn_read<T, F>(
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    naming: &Naming,
    stack: &str,
    options: ReadOptions,
    keep: F,
) -> tokio::task::JoinHandle<Result<LiveState<T>, LiveError>>
where
    T: Listed + Send + 'static,
    F: Fn(LiveResource) -> T + Send + Sync + 'static,
{
    tokio::spawn(read_wanted_as(
        cluster.clone(),
        Wanted::of(model, naming, options),
        naming.clone(),
        stack.to_string(),
        keep,
    ))
}

/// [`read_with`], from what was taken of the model beforehand.
pub async fn read_wanted(
    cluster: Arc<dyn Cluster>,
    wanted: Wanted,
    naming: Naming,
    stack: String,
) -> Result<LiveState, LiveError> {
    read_wanted_as(cluster, wanted, naming, stack, |l| l).await
}

/// What one cluster-wide list gave [`read_wanted_as`]: every name listed, what was kept of the
/// stack's objects, and of the stack's Spaces their names, whether they carry the stack's label
/// and their annotations.
struct WideList<T> {
    names: BTreeSet<String>,
    kept: Vec<T>,
    spaces: Vec<(String, bool, crate::model::StrMap)>,
}

impl<T> Default for WideList<T> {
    fn default() -> Self {
        WideList { names: BTreeSet::new(), kept: Vec::new(), spaces: Vec::new() }
    }
}

/// [`read_wanted`], keeping `keep(object)` of each object of the stack, made as the object is
/// read (its list's wire objects are dropped as they are converted), so that a compact form of
/// every object, not the object, is what the read holds at its end.
pub async fn read_wanted_as<T: Listed + Send>(
    cluster: Arc<dyn Cluster>,
    wanted: Wanted,
    naming: Naming,
    stack: String,
    keep: impl Fn(LiveResource) -> T + Sync,
) -> Result<LiveState<T>, LiveError> {
    let cluster = &cluster;
    let stack = stack.as_str();
    let before = cluster.calls();
    let Wanted { declared, cluster_wide, declared_core } = wanted;
    let ours = |l: &LiveResource| {
        !l.system
            && (declared.contains(&l.wire_name) || (!stack.is_empty() && l.stack() == Some(stack)))
    };

    // Cluster-wide kinds (Users, Spaces), together; core-API kinds only when needed.
    let mut objects: Vec<T> = Vec::new();
    // Of the stack's Spaces (ours, in the order listed): their stored names, and their
    // annotations (the Workspace ownership records, read when the Workspaces are).
    let mut space_names: Vec<String> = Vec::new();
    let mut records: BTreeMap<String, crate::model::StrMap> = BTreeMap::new();
    // Spaces of this stack: the Memberships in them are the stack's (a Membership keeps no
    // label of its own).
    let mut our_spaces: BTreeSet<String> = BTreeSet::new();
    let mut cluster_names: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
    // Each page is converted as it arrives and its wire objects dropped: a list of every User
    // is never held whole in its wire form (at 30,000 Users that was most of a plan's peak).
    let (keep, ours) = (&keep, &ours);
    let lists: Vec<_> = cluster_wide
        .into_iter()
        .map(|kind| {
            let cluster = cluster.clone();
            async move {
                let mut got = WideList::default();
                let result = cluster
                    .list_each(kind, &Scope::All, &mut |page: Vec<super::Object>| {
                        got.names.extend(page.iter().map(|o| o.name().to_string()));
                        for l in page.iter().map(convert::from_wire) {
                            if !ours(&l) || is_apply_lock(&l) {
                                continue;
                            }
                            if l.kind == Kind::Space {
                                let of_stack = !stack.is_empty() && l.stack() == Some(stack);
                                let annotations = l.metadata.annotations.clone();
                                got.spaces.push((l.wire_name.clone(), of_stack, annotations));
                            }
                            got.kept.push(keep(l));
                        }
                    })
                    .await;
                (kind, result.map(|()| got))
            }
        })
        .collect();
    // Joined in this task, not spawned: the large lists (every User) are decoded where their
    // results are used, which keeps them in one allocator arena (spawning them raised the plan
    // bench's peak memory from 150 to 167 MiB).
    for (kind, got) in futures_util::future::join_all(lists).await {
        let got = match got {
            Err(e) if e.code == ErrorCode::PermissionDenied && on_core_api(kind) => {
                if let Some(declared) = declared_core.get(&kind) {
                    return Err(core_denied(kind, declared, &e));
                }
                continue;
            }
            other => other?,
        };
        cluster_names.insert(kind, got.names);
        for (name, of_stack, annotations) in got.spaces {
            if of_stack {
                our_spaces.insert(name.clone());
            }
            space_names.push(name.clone());
            records.insert(name, annotations);
        }
        objects.extend(got.kept);
    }

    // Per-Space kinds (Templates, Secrets), a few Spaces at a time. Each list is converted as
    // it arrives and its wire objects dropped, so the raw and the converted forms of every
    // child are never held at once.
    let per_space: Vec<Kind> =
        Kind::ALL.into_iter().filter(|k| k.list_scope() == ListScope::PerSpace).collect();
    let mut secret_names: BTreeSet<String> = BTreeSet::new();
    let mut children: BTreeMap<String, Vec<LiveChild>> = BTreeMap::new();
    for chunk in space_names.chunks(CONCURRENCY) {
        let lists: Vec<_> = chunk
            .iter()
            .flat_map(|space| {
                per_space.iter().map(|&kind| {
                    let cluster = cluster.clone();
                    let scope = Scope::Space(space.clone());
                    async move { cluster.list(kind, &scope).await }
                })
            })
            .collect();
        for items in futures_join_all(lists).await {
            let items = items?;
            secret_names.extend(
                items.iter().filter(|o| o.kind() == Kind::Secret).map(|o| o.name().to_string()),
            );
            for mut l in items.iter().map(convert::from_wire) {
                if l.kind == Kind::Membership {
                    membership_owner(&mut l, &our_spaces, naming.username(), stack, &declared);
                }
                if let Some(space) = l.space.as_ref().filter(|_| !is_apply_lock(&l)) {
                    children.entry(space.clone()).or_default().push(LiveChild::of(&l));
                }
                if ours(&l) {
                    objects.push(keep(l));
                }
            }
        }
    }

    // The caller's own (Workspaces): one list each, every one in our Spaces (matched by
    // displayName later, see `live::identity`; they keep no stack label).
    // A Workspace the stack created is in its Space's ownership record (`live::record`): it
    // gets the stack label it cannot keep on the server.
    let mut workspaces = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.list_scope() == ListScope::Caller) {
        let items = cluster.list(kind, &Scope::All).await?;
        for mut w in items.iter().map(convert::from_wire) {
            if let Some(k) = super::record::key(&w.uid) {
                seen.insert(k);
            }
            let Some(space) = w.space.clone().filter(|s| records.contains_key(s)) else { continue };
            if let Some(value) =
                records.get(&space).and_then(|a| super::record::recorded_by(a, &w.uid))
            {
                let (owner, retiring) = super::record::parse(value);
                w.metadata.labels.insert(crate::model::STACK_LABEL.to_string(), owner.to_string());
                // What apply last sent, read like the other kinds' annotation (docs/drift.md).
                if let Some(digest) = super::record::applied_digest(value) {
                    w.metadata
                        .annotations
                        .insert(crate::model::APPLIED_ANNOTATION.to_string(), digest.to_string());
                }
                if retiring {
                    w.metadata
                        .labels
                        .insert(super::record::RETIRING_LABEL.to_string(), "true".to_string());
                }
            }
            children.entry(space.clone()).or_default().push(LiveChild::of(&w));
            if !w.system {
                workspaces.push(keep(w));
            }
        }
    }
    let mut unseen_workspaces = BTreeMap::new();
    for (space, annotations) in &records {
        let n = annotations
            .iter()
            .filter(|(k, v)| {
                super::record::is_record_key(k)
                    && !seen.contains(*k)
                    && super::record::parse(v).0 == stack
            })
            .count();
        if n > 0 {
            unseen_workspaces.insert((*space).clone(), n);
        }
    }
    objects.extend(workspaces);
    // In place (a stable sort's scratch would be half the list again, freed as the read ends).
    crate::order::stable_sort_by(&mut objects, |a, b| {
        a.address().cmp(b.address()).then_with(|| a.wire_name().cmp(b.wire_name()))
    });
    for list in children.values_mut() {
        list.sort_by(|a, b| (a.kind, &a.wire_name).cmp(&(b.kind, &b.wire_name)));
    }
    Ok(LiveState {
        objects,
        secret_names,
        children,
        cluster_names,
        calls: cluster.calls().saturating_sub(before),
        unseen_workspaces,
    })
}

/// Who a Membership belongs to, since the server keeps no label on one (cordium
/// `mains/membership.go`): one in a Space of this stack is the stack's, so a Membership taken
/// out of the config is pruned like anything else; the caller's own and any OWNER Membership
/// are the server's unless declared, never planned for. CreateSpace makes its creator an OWNER:
/// to another member planning the same stack that Membership is not theirs, and not the
/// stack's either (prune would otherwise delete the Space's owner).
fn membership_owner(
    l: &mut LiveResource,
    our_spaces: &BTreeSet<String>,
    username: &str,
    stack: &str,
    declared: &BTreeSet<String>,
) {
    if declared.contains(&l.wire_name) {
        return;
    }
    if l.address.name == username || l.spec_json["role"] == "OWNER" {
        l.system = true;
    } else if l.space.as_ref().is_some_and(|s| our_spaces.contains(s)) {
        l.metadata.labels.insert(crate::model::STACK_LABEL.to_string(), stack.to_string());
    }
}

/// Runs the lists concurrently and returns their results in order.
async fn futures_join_all<F>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<Result<Vec<super::Object>, LiveError>>
where
    F: std::future::Future<Output = Result<Vec<super::Object>, LiveError>> + Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| {
            Err(LiveError::new(super::ErrorCode::Other, "list", format!("list task ended: {e}")))
        }));
    }
    out
}
