//! Pure: the [`Plan`]: every resource's change (masked), the snapshot builds, the ordered apply
//! graph and the fingerprint of every live object read. Also the plan file (versioned JSON).
//!
//! The plan is inert data: apply reads only the plan; render reads only the plan. Secret and
//! sensitive values are masked here, when the plan is made, so no later stage can leak them.
//! No I/O beyond reading and writing the plan file.

pub mod cascade;
pub mod digest;
pub mod file;
pub mod graph;
pub mod guards;
pub mod locate;
pub mod moved;
pub mod prebuild;
pub mod references;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::Diagnostic;
pub use crate::diff::Action;
use crate::diff::{Diff, LiveRef, ResourceChange};
use crate::model::{Address, Body, Kind, Model};
pub use graph::{Step, StepKind};
pub use prebuild::{BuildDecision, BuildHistory, BuildReason};

/// What a masked value is replaced with, everywhere.
pub const MASK: &str = "(sensitive)";

/// Which cluster a plan was made against. Never holds a token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Display form: `local:.cordium/local.db`, `http://127.0.0.1:4000`, ...
    pub display: String,
    /// The caller's username on that cluster.
    pub username: String,
    /// True when no target was configured and the embedded local cluster was used.
    pub implicit_local: bool,
}

/// One field of a change. Values are masked when sensitive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedField {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// The path as written in the configuration when it differs from `path` (HCL names:
    /// `limit.cpu_millicores`), filled by [`locate::annotate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// `file:line:col` of the attribute that sets it, when the configuration does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// An update of an object cordium applied before: whether this field differs because the
    /// config changed or because the object was changed outside cordium (docs/drift.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<crate::diff::ChangedBy>,
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedChange {
    pub address: Address,
    pub action: Action,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<PlannedField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveRef>,
    /// A Space delete or replace: what the server deletes with it besides the changes the plan
    /// lists (objects read in the Space that no change covers, and what cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade: Option<Box<cascade::Cascade>>,
    /// A Workspace replace: which half runs first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
    /// A `moved` block renamed it: its address before (the live object is the same one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<Box<Address>>,
    /// An `import` adopts the existing object of this stored name into the stack: apply
    /// labels it (a Workspace: records it in its Space) and makes it match the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<String>,
}

/// The order of a Workspace replace's two halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReplaceOrder {
    /// The successor is created (its Template built) first; the old one is deleted once it is
    /// there: no outage. The default.
    CreateBeforeDestroy,
    /// The old one is deleted first: `lifecycle { create_before_destroy = false }`, or what it
    /// needs (its Space or Template) is deleted in the same plan.
    DestroyBeforeCreate,
}

impl ReplaceOrder {
    /// What the plan says about it, in words.
    pub fn note(self, why: Option<&str>) -> String {
        let lost = "data on the old Workspace is lost";
        match self {
            ReplaceOrder::CreateBeforeDestroy => format!(
                "create before destroy: the new Workspace is created (and its Template built) \
                 before the old one is deleted; {lost}"
            ),
            ReplaceOrder::DestroyBeforeCreate => format!(
                "destroy before create{}: the old Workspace is deleted first, and is gone until the \
                 new one is created; {lost}",
                why.map(|w| format!(" ({w})")).unwrap_or_default()
            ),
        }
    }
}

/// Which Workspace replaces create their successor first, and why the others cannot: they opt
/// out, or something they need is deleted in this plan (its delete waits for theirs, so the
/// successor could not be created before it).
fn replace_orders(
    model: &Model,
    changes: &[&ResourceChange],
    deps: &dyn Fn(&Address) -> Vec<Address>,
) -> BTreeMap<Address, (ReplaceOrder, Option<String>)> {
    let doomed: BTreeMap<&Address, Action> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| (&c.address, c.action))
        .collect();
    let mut out = BTreeMap::new();
    for c in
        changes.iter().filter(|c| c.action == Action::Replace && c.address.kind == Kind::Workspace)
    {
        let opted_out =
            model.get(&c.address).is_some_and(|r| r.lifecycle.create_before_destroy == Some(false));
        let needed_gone = deps(&c.address)
            .into_iter()
            .find_map(|d| doomed.get(&d).map(|action| (d.clone(), *action)));
        let order = match (opted_out, needed_gone) {
            (true, _) => {
                (ReplaceOrder::DestroyBeforeCreate, Some("create_before_destroy = false".into()))
            }
            (false, Some((d, action))) => (
                ReplaceOrder::DestroyBeforeCreate,
                Some(format!(
                    "{d} is {} too: the old Workspace must go before it",
                    if action == Action::Replace { "replaced" } else { "deleted" }
                )),
            ),
            (false, None) => (ReplaceOrder::CreateBeforeDestroy, None),
        };
        out.insert(c.address.clone(), order);
    }
    out
}

/// A Template pre-build decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedBuild {
    pub template: Address,
    /// The input-hash tag the build carries.
    pub tag: String,
    /// `build`, `wait` (a build of these inputs is running) or `up-to-date`.
    pub action: BuildAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<BuildReason>,
    /// The build this relies on (running or ready), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Mean of past successful builds, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_secs: Option<u64>,
    /// How long apply waits before giving up, in seconds.
    pub timeout_secs: u64,
}

/// What apply does about a Template's snapshot: `build`, `wait` or `up-to-date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BuildAction {
    Build,
    Wait,
    UpToDate,
}

/// A plan: inert data. Apply reads only this; render reads only this. Each field says who
/// reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan file format (see [`file::FILE_FORMAT_VERSION`]). Read by `plan::file::read`.
    pub format_version: u32,
    /// The cordium that made it. Display only (render).
    pub tool_version: String,
    /// The stack: apply labels what it creates with it and locks it; render shows it.
    pub stack: String,
    /// The cluster it was made against: `ops::apply` refuses a saved plan for another target;
    /// render shows it.
    pub target: TargetInfo,
    /// SHA-256 of the configuration (sensitive values masked): `ops::apply` refuses a saved
    /// plan whose configuration changed.
    pub config_digest: String,
    /// Every declared or labelled resource, sorted by address, no-ops included. Apply reads each
    /// step's live object (`live`); the staleness check reads every change; render shows them.
    pub changes: Vec<PlannedChange>,
    /// Snapshot build decisions: apply runs and waits for them; render shows them.
    pub builds: Vec<PlannedBuild>,
    /// The apply graph, in a valid order (dependencies first). Read by apply only.
    pub steps: Vec<Step>,
    /// Addresses left out by `--target`/`--exclude`. Display only (render).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Address>,
    /// What Kubernetes says about the pre-built Templates' snapshots, filled in by `ops` from
    /// the cluster (docs/kubernetes.md); `None` on the embedded local cluster (no Kubernetes
    /// behind it). Display only (render).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<SnapshotReport>,
    /// What the plan was made from (config root, environment, target, selection, variables):
    /// what `apply FILE` needs besides the plan, so it takes no other flag (`file::Origin`).
    #[serde(default)]
    pub origin: file::Origin,
}

/// The snapshot state of each pre-built Template, as Kubernetes reported it at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotReport {
    /// False: no Kubernetes access is configured, readiness is not verified.
    pub verified: bool,
    /// The namespace the snapshots were looked for in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes could not be read (RBAC, a missing CRD): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub templates: Vec<TemplateSnapshot>,
}

/// One pre-built Template's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSnapshot {
    pub template: Address,
    /// `<templateUID>-<currentReadyBuildID>`; none before the first ready build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// `ready`, `pending`, `missing`, `failed`, or `no_build` (no ready build yet).
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<String>,
    /// `status.error.message` of a failed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Plan {
    /// True when apply would change something.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
            || self.builds.iter().any(|b| b.action != BuildAction::UpToDate)
    }

    /// Counts of changes by action (no-ops excluded).
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut out = BTreeMap::new();
        for c in self.changes.iter().filter(|c| c.action.is_change()) {
            *out.entry(c.action).or_insert(0) += 1;
        }
        out
    }

    /// The plan with every build given `secs` to finish (`--build-timeout` on a saved plan: the
    /// one setting a saved plan does not fix, as it changes nothing on the cluster).
    pub fn with_build_timeout(mut self, secs: u64) -> Plan {
        for b in &mut self.builds {
            b.timeout_secs = secs.max(1);
        }
        self
    }
}

/// Everything besides the model and the diff that a plan needs.
#[derive(Debug, Clone, Default)]
pub struct PlanInputs {
    pub tool_version: String,
    pub stack: String,
    pub target: TargetInfo,
    pub config_digest: String,
    /// Build histories of the Templates found on the cluster.
    pub histories: BTreeMap<Address, BuildHistory>,
    /// `--target`: only these (and what they depend on). Empty = everything.
    pub targets: Vec<Address>,
    /// `--exclude`: not these (nor what depends on them).
    pub excludes: Vec<Address>,
    /// Default per-build timeout, seconds.
    pub build_timeout_secs: u64,
    /// `--build-timeout`, seconds: overrides every Template's own timeout.
    pub build_timeout_override: Option<u64>,
    /// A destroy: the desired state is empty, and `model` is the configuration (its
    /// `prevent_destroy`, its dependency edges).
    pub destroy: bool,
    /// Everything read in each Space, by stored Space name (for cascades).
    pub children: BTreeMap<String, Vec<crate::live::state::LiveChild>>,
    /// `--replace`: replace these although nothing forces it (Terraform's `-replace`).
    pub replaces: Vec<Address>,
}

/// Makes the plan. `model` is the configuration: the desired state, except for a destroy
/// (`inputs.destroy`: nothing is desired; the configuration still gives `prevent_destroy` and
/// the dependency order). Problems (a protected resource to be destroyed, a cycle, a selection
/// that would orphan something) are diagnostics; the plan is still returned so it can be shown.
pub fn make(model: &Model, diff: Diff, inputs: PlanInputs) -> (Plan, Vec<Diagnostic>) {
    let mut problems = diff.problems;
    let mut all_changes = diff.changes;
    let edges = crate::model::graph::edges_by_ref(model);
    // Declared dependencies, and the Space every child lives in (also for objects no longer
    // declared: they are deleted before their Space).
    let deps = |a: &Address| {
        let mut d = edges.get(a).cloned().unwrap_or_default();
        if let Some(space) = a.space.as_ref().map(|s| Address::space(s.clone())) {
            if !d.contains(&space) {
                d.push(space);
            }
        }
        d
    };
    let declared = |a: &Address| !inputs.destroy && model.get(a).is_some();
    // A destroyed object that is still configured: its configuration says which of its fields
    // are sensitive.
    for c in all_changes.iter_mut().filter(|c| c.action == Action::Delete) {
        if let Some(r) = model.get(&c.address) {
            // Shown as its configuration allows (the fingerprint keeps the stricter mask).
            let doc = crate::diff::desired_doc(r, &inputs.stack);
            let mut shown = crate::diff::sensitive_paths(r, &doc);
            shown.extend(
                c.fields
                    .iter()
                    .filter(|f| crate::diff::may_hold_secret(&f.path))
                    .map(|f| f.path.clone()),
            );
            c.sensitive = shown;
        }
    }
    if !inputs.destroy {
        force_replaces(&mut all_changes, &inputs.replaces, &mut problems);
    }
    if inputs.destroy {
        // Nothing is desired: what diff calls pruned is what `destroy` was asked to delete.
        for c in all_changes.iter_mut().filter(|c| c.action == Action::Delete) {
            if c.reason == crate::diff::PRUNED {
                c.reason = "destroy: every object of the stack is deleted".into();
            }
        }
    }
    let cascades = cascade::cascade(&mut all_changes, &inputs.children, &declared, &mut problems);

    let (selected, excluded) =
        select(&all_changes, &inputs.targets, &inputs.excludes, &deps, &cascades, &mut problems);
    let changes: Vec<&ResourceChange> =
        all_changes.iter().filter(|c| selected.contains(&c.address)).collect();
    protect(model, &changes, &mut problems);
    let builds = if inputs.destroy { Vec::new() } else { decide_builds(model, &changes, &inputs) };
    let orders = replace_orders(model, &changes, &deps);
    let first: BTreeSet<Address> = orders
        .iter()
        .filter(|(_, (o, _))| *o == ReplaceOrder::CreateBeforeDestroy)
        .map(|(a, _)| a.clone())
        .collect();
    let steps = apply_graph(&changes, &builds, &deps, &first, &mut problems);

    drop(changes);
    // The selected changes, moved into the plan (in the same order), not copied: collected in
    // the diff's own buffer (a planned change is no larger, `plan::tests`).
    let planned = all_changes
        .into_iter()
        .filter(|c| selected.contains(&c.address))
        .map(|c| {
            let mut p = mask_owned(c);
            p.cascade = cascades.get(&p.address).cloned().map(Box::new);
            if data_loss(&p) {
                p.reason = format!("{}; {DATA_LOSS}", p.reason);
            }
            if let Some((order, why)) = orders.get(&p.address) {
                p.replace_order = Some(*order);
                p.reason = format!("{}; {}", p.reason, order.note(why.as_deref()));
            }
            p
        })
        .collect();
    let plan = Plan {
        format_version: file::FILE_FORMAT_VERSION,
        tool_version: inputs.tool_version,
        stack: inputs.stack,
        target: inputs.target,
        config_digest: inputs.config_digest,
        changes: planned,
        builds,
        steps,
        excluded,
        snapshots: None,
        origin: file::Origin::default(),
    };
    (plan, problems)
}

/// What the plan says of a change that deletes a Volume (a delete or a replace): its data goes.
pub const DATA_LOSS: &str = "DATA LOSS: everything stored on the Volume is deleted";

/// The change deletes stored data the server keeps nowhere else: a Volume deleted or replaced.
pub fn data_loss(c: &PlannedChange) -> bool {
    c.address.kind == Kind::Volume && matches!(c.action, Action::Delete | Action::Replace)
}

/// `--replace ADDR`: the live object of ADDR is replaced although nothing forces it. Only a
/// declared resource that exists can be; anything else is a problem that says why.
fn force_replaces(
    changes: &mut [ResourceChange],
    replaces: &[Address],
    problems: &mut Vec<Diagnostic>,
) {
    for address in replaces {
        let why = match changes.iter_mut().find(|c| &c.address == address) {
            Some(c) if matches!(c.action, Action::NoOp | Action::Update) && c.live.is_some() => {
                c.reason = if c.action == Action::Update {
                    format!("--replace asks for it; {}", c.reason)
                } else {
                    "--replace asks for it".to_string()
                };
                c.action = Action::Replace;
                c.forced_by.push("--replace".into());
                continue;
            }
            Some(c) if c.action == Action::Replace => continue,
            Some(c) if c.action == Action::Create => "it is not on the cluster yet: it is created",
            Some(c) if c.action == Action::Delete => {
                "it is no longer in the config: it is deleted, not replaced"
            }
            _ => "it is neither in the config nor on the cluster",
        };
        problems.push(
            Diagnostic::error("replace-nothing", format!("--replace {address}: {why}"))
                .address(address.to_string())
                .help("drop --replace for it, or name a resource that exists in the config and on the cluster"),
        );
    }
}

/// Reports every change that would destroy or replace a resource with `prevent_destroy`.
fn protect(model: &Model, changes: &[&ResourceChange], problems: &mut Vec<Diagnostic>) {
    for c in changes {
        let protected = model.get(&c.address).is_some_and(|r| r.lifecycle.prevent_destroy);
        if protected && matches!(c.action, Action::Delete | Action::Replace) {
            let r = model.get(&c.address);
            problems.push(
                Diagnostic::error(
                    "prevent-destroy",
                    format!(
                        "{} has prevent_destroy set, but this plan would {} it",
                        c.address,
                        match c.action {
                            Action::Replace => "replace",
                            _ => "destroy",
                        }
                    ),
                )
                .at_opt(r.map(|r| r.origin.span))
                .address(c.address.to_string())
                .help(if c.forced_by.is_empty() {
                    "remove prevent_destroy from its lifecycle first, or keep it in the config"
                        .to_string()
                } else {
                    format!(
                        "{} forces the replace; revert that change or remove prevent_destroy first",
                        c.forced_by.join(", ")
                    )
                }),
            );
        }
    }
}

/// One snapshot build decision per Template with a `prebuild` among `changes` (the selected
/// ones).
fn decide_builds(
    model: &Model,
    changes: &[&ResourceChange],
    inputs: &PlanInputs,
) -> Vec<PlannedBuild> {
    let mut builds = Vec::new();
    // Each Template's first change, and whether any change replaces it: indexed once (a scan
    // of `changes` per Template was quadratic).
    let mut by_address: BTreeMap<&Address, (&ResourceChange, bool)> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.address.kind == Kind::Template) {
        let entry = by_address.entry(&c.address).or_insert((c, false));
        entry.1 |= c.action == Action::Replace;
    }
    for r in model.of_kind(Kind::Template).filter(|r| by_address.contains_key(&r.address)) {
        let Body::Template { spec, prebuild: Some(prebuild) } = &r.body else { continue };
        let tag = prebuild::input_tag(spec);
        let history = inputs.histories.get(&r.address);
        let found = by_address.get(&r.address);
        let changed = found.map(|(c, _)| c.fields.as_slice()).unwrap_or_default();
        // A replaced Template is a new object with no history.
        let replaced = found.is_some_and(|&(_, replaced)| replaced);
        let decision = prebuild::decide(&tag, if replaced { None } else { history }, changed);
        let own = prebuild
            .timeout
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
            .map(|d| d.as_secs());
        let timeout_secs =
            inputs.build_timeout_override.or(own).unwrap_or(inputs.build_timeout_secs);
        let estimate_secs = prebuild::estimate_secs(history);
        let (action, reason, build_id) = match decision {
            BuildDecision::UpToDate { build_id } => (BuildAction::UpToDate, None, Some(build_id)),
            BuildDecision::Running { build_id } => (BuildAction::Wait, None, Some(build_id)),
            BuildDecision::Needed { reason } => (BuildAction::Build, Some(reason), None),
        };
        builds.push(PlannedBuild {
            template: r.address.clone(),
            tag,
            action,
            reason,
            build_id,
            estimate_secs,
            timeout_secs,
        });
    }
    builds
}

/// The apply graph from the changes and builds alone: add nodes, add edges, order deletes,
/// check cycles (a cycle is reported and the steps are left unordered).
fn apply_graph(
    changes: &[&ResourceChange],
    builds: &[PlannedBuild],
    deps: &dyn Fn(&Address) -> Vec<Address>,
    create_first: &BTreeSet<Address>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Step> {
    let node_changes: Vec<(Address, Action)> =
        changes.iter().map(|c| (c.address.clone(), c.action)).collect();
    let node_builds: Vec<(Address, StepKind)> = builds
        .iter()
        .filter_map(|b| match b.action {
            BuildAction::Build => Some((b.template.clone(), StepKind::Build)),
            BuildAction::Wait => Some((b.template.clone(), StepKind::WaitBuild)),
            BuildAction::UpToDate => None,
        })
        .collect();
    let mut steps = graph::add_nodes(&node_changes, &node_builds);
    graph::add_edges(&mut steps, deps);
    graph::create_before_destroy(&mut steps, create_first);
    graph::order_deletes(&mut steps, deps);
    graph::deletes_after_dereferencing_updates(&mut steps);
    match graph::check_cycles(&steps) {
        Ok(order) => reorder(steps, &order),
        Err(cycle) => {
            let path: Vec<String> = cycle.iter().map(ToString::to_string).collect();
            problems.push(
                Diagnostic::error(
                    "dependency-cycle",
                    format!("the changes depend on each other in a cycle: {}", path.join(" → ")),
                )
                .help("break the cycle by removing one of the references"),
            );
            steps
        }
    }
}

/// Puts steps in `order`, remapping dependency indexes.
fn reorder(steps: Vec<Step>, order: &[usize]) -> Vec<Step> {
    let mut new_index = vec![0; steps.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&old| slots[old].take())
        .map(|mut s| {
            s.depends_on = s.depends_on.iter().map(|&d| new_index[d]).collect();
            s.depends_on.sort_unstable();
            s
        })
        .collect()
}

/// The addresses a `--target`/`--exclude` selection keeps, and those it leaves out.
///
/// A target brings what it depends on (to create, update or replace it; not when it is
/// deleted) and, when it is deleted or replaced, what depends on it: that cannot outlive it (Terraform's `destroy -target`), and
/// what the server deletes with a Space goes with it anyway. Excluding something that would
/// still be deleted that way is a problem, not a silent orphan.
fn select(
    changes: &[ResourceChange],
    targets: &[Address],
    excludes: &[Address],
    deps: &dyn Fn(&Address) -> Vec<Address>,
    cascades: &BTreeMap<Address, cascade::Cascade>,
    problems: &mut Vec<Diagnostic>,
) -> (Selection, Vec<Address>) {
    // With no `--target` and no `--exclude` every change is kept: nothing to walk or copy.
    if targets.is_empty() && excludes.is_empty() {
        return (Selection::All, Vec::new());
    }
    let all: BTreeSet<Address> = changes.iter().map(|c| c.address.clone()).collect();
    let doomed_set: BTreeSet<&Address> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| &c.address)
        .collect();
    let deleted_set: BTreeSet<&Address> =
        changes.iter().filter(|c| c.action == Action::Delete).map(|c| &c.address).collect();
    let doomed = |a: &Address| doomed_set.contains(a);
    let deleted = |a: &Address| deleted_set.contains(a);
    // Reverse edges among the plan's addresses.
    let mut dependents: BTreeMap<Address, Vec<Address>> = BTreeMap::new();
    for a in &all {
        for d in deps(a) {
            dependents.entry(d).or_default().push(a.clone());
        }
    }
    let mut keep: BTreeSet<Address> = if targets.is_empty() {
        all.clone()
    } else {
        let mut set = BTreeSet::new();
        let mut todo: Vec<Address> = targets.to_vec();
        while let Some(a) = todo.pop() {
            if !set.insert(a.clone()) {
                continue;
            }
            // What it needs to exist first; a delete needs nothing (destroying a Template
            // does not destroy its Space).
            if !deleted(&a) {
                todo.extend(deps(&a).into_iter().filter(|d| all.contains(d)));
            }
            if doomed(&a) {
                todo.extend(dependents.get(&a).cloned().unwrap_or_default());
            }
        }
        set.retain(|a| all.contains(a));
        set
    };
    if !excludes.is_empty() {
        // Excluding a resource excludes what depends on it.
        let mut out: BTreeSet<Address> = BTreeSet::new();
        let mut todo: Vec<Address> = excludes.to_vec();
        while let Some(a) = todo.pop() {
            if out.insert(a.clone()) {
                todo.extend(dependents.get(&a).cloned().unwrap_or_default());
            }
        }
        // ...but what a kept delete takes with it cannot be left out.
        for a in &out {
            let Some(cause) =
                deps(a).into_iter().find(|d| keep.contains(d) && !out.contains(d) && doomed(d))
            else {
                continue;
            };
            let by_server = cause.kind == Kind::Space && cascades.contains_key(&cause);
            problems.push(
                Diagnostic::error(
                    "excluded-dependent",
                    format!(
                        "{a} cannot be excluded: this plan deletes {cause}, which it depends on{}",
                        if by_server {
                            " (the server deletes everything in a Space with it)"
                        } else {
                            ""
                        }
                    ),
                )
                .address(a.to_string())
                .help(format!("exclude {cause} too, or do not exclude {a}")),
            );
        }
        keep.retain(|a| !out.contains(a));
    }
    let excluded = all.iter().filter(|a| !keep.contains(a)).cloned().collect();
    (Selection::Only(keep), excluded)
}

/// The changes a plan keeps: all of them, or (`--target`, `--exclude`) those at these
/// addresses.
#[derive(Debug)]
enum Selection {
    All,
    Only(BTreeSet<Address>),
}

impl Selection {
    fn contains(&self, a: &Address) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(set) => set.contains(a),
        }
    }
}

/// Converts a change, masking every sensitive value: paths under a sensitive path, and every
/// field of a Secret.
#[cfg(test)]
fn mask(c: &ResourceChange) -> PlannedChange {
    mask_owned(c.clone())
}

/// The change as the plan keeps it: every sensitive field's values replaced by [`MASK`].
fn mask_owned(c: ResourceChange) -> PlannedChange {
    let kind_sensitive = c.address.kind.sensitive();
    let sensitive_paths = c.sensitive;
    let changed_by = c.changed_by;
    let fields = c
        .fields
        .into_iter()
        .map(|f| {
            let sensitive = kind_sensitive
                || sensitive_paths.iter().any(|s| covers(s, &f.path) || covers(&f.path, s));
            let hide = |v: Option<Value>| v.map(|_| Value::String(MASK.into()));
            PlannedField {
                path: f.path,
                old: if sensitive { hide(f.old) } else { f.old },
                new: if sensitive { hide(f.new) } else { f.new },
                sensitive,
                config_path: None,
                at: None,
                changed_by,
            }
        })
        .collect();
    PlannedChange {
        address: c.address,
        action: c.action,
        reason: c.reason,
        fields,
        forced_by: c.forced_by,
        live: c.live,
        cascade: None,
        replace_order: None,
        moved_from: None,
        imported: c.imported,
    }
}

/// True when `outer` is `inner` or an ancestor path of it.
fn covers(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}
