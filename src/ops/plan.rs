//! The plan pipeline shared by `plan`, `apply` and `destroy`: load the config, resolve the
//! settings, connect to the target, read the live state, diff, plan. Each stage is a library
//! call; this wires them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::settings::{Request, Settings};
use super::validate::{self, Validated};
use super::OpsError;
use crate::config::Loaded;
use crate::diag::Diagnostics;
use crate::diff::{self, DiffOptions, LiveDoc};
use crate::live::auth::AuthEnv;
use crate::live::convert::{LiveResource, Naming};
use crate::live::{state, target, Cluster};
use crate::model::{Address, Body, Model};
use crate::plan::{self, prebuild, BuildHistory, Plan, PlanInputs, TargetInfo};

/// A plan and everything apply needs besides it.
pub struct Planned {
    pub plan: Plan,
    /// The desired state the plan was made from (empty for destroy).
    pub model: Model,
    pub loaded: Loaded,
    pub naming: Naming,
    pub cluster: Arc<dyn Cluster>,
    pub settings: Settings,
    /// Warnings from loading and from reading the cluster (never fatal).
    pub warnings: Diagnostics,
    /// RPCs (or in-process calls) spent reading the live state.
    pub read_calls: u64,
}

/// Saves a plan for `apply FILE` and `show FILE`.
pub fn save(plan: &Plan, path: &std::path::Path) -> Result<(), OpsError> {
    Ok(plan::file::write(plan, path)?)
}

/// Reads a saved plan.
pub fn read(path: &std::path::Path) -> Result<Plan, OpsError> {
    Ok(plan::file::read(path)?)
}

/// Connects to the resolved target.
pub async fn connect(settings: &Settings, auth: &AuthEnv) -> Result<Arc<dyn Cluster>, OpsError> {
    Ok(target::connect(&settings.target, auth).await?)
}

/// The config loaded, the settings resolved and the target connected: everything before the
/// live state is read. Apply takes the lock between this and [`plan_against`].
pub struct Prepared {
    pub loaded: Loaded,
    pub model: Model,
    pub settings: Settings,
    pub cluster: Arc<dyn Cluster>,
    /// Warnings from loading (never fatal).
    pub warnings: Diagnostics,
}

/// Loads the config, resolves the settings and connects. Reads nothing from the cluster.
pub async fn prepare(req: &Request) -> Result<Prepared, OpsError> {
    let Validated { loaded, mut model, diags: mut warnings } = validate::load(&req.dir, &req.load)?;
    if let Err(diags) = super::import::add(&mut model, &req.imports) {
        let mut all = warnings;
        diags.into_iter().for_each(|d| all.push(d));
        return Err(OpsError::Invalid { diags: all, loaded: Box::new(loaded) });
    }
    let settings = Settings::resolve(req, &loaded)?;
    for w in &settings.warnings {
        warnings.push(crate::diag::Diagnostic::warning("target-override", w.clone()));
    }
    settings.check_stack()?;
    let cluster = connect(&settings, &req.env.auth).await?;
    Ok(Prepared { loaded, model, settings, cluster, warnings })
}

/// Runs the whole pipeline up to a plan. Plan problems (prevent_destroy, ambiguous matches)
/// come back as [`OpsError::Invalid`] with the plan dropped.
pub async fn plan(req: &Request) -> Result<Planned, OpsError> {
    plan_against(req, prepare(req).await?).await
}

/// Reads the live state of a prepared target, diffs and plans (the second half of [`plan`]).
pub async fn plan_against(req: &Request, prepared: Prepared) -> Result<Planned, OpsError> {
    let Prepared { loaded, mut model, settings, cluster, warnings } = prepared;
    let stack = settings.stack.clone();
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username.clone(), &model);
    let read = state::ReadOptions { prune: settings.prune || req.destroy };
    // The cluster is listed on a task of the runtime while this thread does what needs only the
    // config: the `moved` blocks and the config digest (the same lists, in the same order).
    // Each object is kept as it is read as the compact document diff compares, with its
    // Template's builds beside it: the read never holds every object's full form.
    let listing = state::spawn_read(&cluster, &model, &naming, &stack, read, Read::of);
    // `moved` blocks (checked, and their problems reported, when the model was built).
    let moves = crate::model::moves::read(&loaded, &model, &mut Diagnostics::new());
    let digest = plan::digest::config_digest(&model, &stack);
    let live = match listing.await {
        Ok(read) => read?,
        // A bug in the read goes on as the panic it was, as it would have without the task.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            return Err(crate::live::LiveError::new(
                crate::live::ErrorCode::Other,
                "list",
                format!("the read of the live state ended: {e}"),
            )
            .into())
        }
    };
    // The cluster now answers what validate could only guess: an undeclared Secret that exists
    // is fine, one that does not is an error (the server would refuse the write).
    let mut warnings: Diagnostics =
        warnings.into_iter().filter(|d| d.code != "unknown-secret").collect();
    for (space, n) in &live.unseen_workspaces {
        warnings.push(crate::diag::Diagnostic::warning(
            "unseen-workspaces",
            format!(
                "{space} records {n} Workspace(s) of stack `{stack}` that are not among {}'s: \
                 another user's (the server lists Workspaces to their owner only), or deleted \
                 outside cordium; this plan cannot see them, and a Workspace it creates there is \
                 {}'s own, beside them",
                identity.username, identity.username
            ),
        ));
    }
    let space_stored = |s: &str| naming.space_name(s);
    let mut missing = plan::references::missing_secrets(&model, &space_stored, &live.secret_names);
    missing.extend(plan::references::missing_core_refs(&model, &live.cluster_names));
    if !missing.is_empty() && !req.destroy {
        let mut diags = warnings;
        missing.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }

    // Compared and sent in the stored form the server resolves (`wandb.ml.cordium`); the digest
    // above is of the config as written.
    crate::model::qualify::references(&mut model, &space_stored);
    // Destroy: the desired state is empty; everything labelled with the stack goes. The
    // configuration still gives the plan its prevent_destroy and its dependency order.
    let nothing = Model::default();
    let desired = if req.destroy { &nothing } else { &model };
    // What is kept of the live objects besides their documents: Templates' build histories and
    // ready snapshots.
    let prebuilt = |a: &Address| {
        model.get(a).is_some_and(|r| matches!(r.body, Body::Template { prebuild: Some(_), .. }))
    };
    let (mut docs, histories, ready) = split(live.objects, prebuilt);
    let moved =
        if req.destroy { Vec::new() } else { plan::moved::relabel(&moves, &mut docs, &stack) };
    // What the guards need of the live documents, before the diff frees each as it compares.
    let facts = plan::guards::LiveFacts::of(&docs);
    let opts = DiffOptions { stack: stack.clone(), prune: settings.prune };
    let mut diff = diff::diff_owned(desired, docs, &opts);
    plan::moved::mark(&mut diff, &moved);
    // Changes the server refuses to Volumes and Memberships, and references to GitProviders
    // and Volumes it does not have, before anything is written.
    let mut refused = plan::guards::check(desired, &facts, &diff.changes, &identity.username);
    if !req.destroy {
        let read: std::collections::BTreeSet<(crate::model::Kind, String)> =
            live.children.values().flatten().map(|c| (c.kind, c.wire_name.clone())).collect();
        refused.extend(plan::references::missing_providers_and_volumes(
            &model,
            &space_stored,
            &read,
        ));
    }
    if !refused.is_empty() {
        let mut diags = warnings;
        refused.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }
    let unknown = unknown_addresses(req, &model, &diff);
    if !unknown.is_empty() {
        let mut diags = warnings;
        unknown.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }
    let inputs = PlanInputs {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack,
        target: TargetInfo {
            display: settings.target.display(),
            username: identity.username.clone(),
            implicit_local: settings.target.is_implicit(),
        },
        config_digest: digest,
        histories,
        targets: req.targets.clone(),
        excludes: req.excludes.clone(),
        build_timeout_secs: settings.build_timeout_secs,
        build_timeout_override: settings.build_timeout_override,
        destroy: req.destroy,
        replaces: req.replaces.clone(),
        children: live.children,
    };
    let (mut plan, mut problems) = plan::make(&model, diff, inputs);
    plan::locate::annotate(&mut plan, &model, &loaded.sources);
    for (to, from) in &moved {
        if let Some(c) = plan.changes.iter_mut().find(|c| &c.address == to) {
            c.moved_from = Some(Box::new(from.clone()));
        }
    }
    plan.snapshots = snapshot_report(&settings, &plan, &ready).await;
    plan.origin = origin(req, &settings, &loaded);
    if req.destroy {
        model = Model::default();
    } else if let Some(secrets) = &req.secrets {
        problems.extend(check_secret_sources(&plan, &model, secrets.0.as_ref()));
    }
    if !problems.is_empty() {
        let mut diags = warnings;
        problems.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }
    Ok(Planned { plan, model, loaded, naming, cluster, settings, warnings, read_calls: live.calls })
}

/// The snapshot state of each pre-built Template (docs/kubernetes.md): one List of the
/// namespace's VolumeSnapshots. `None` on the embedded local cluster or without pre-builds;
/// not verified without Kubernetes access; an error Kubernetes gave is reported, not fatal
/// (apply's wait fails on it).
async fn snapshot_report(
    settings: &Settings,
    plan: &Plan,
    ready: &BTreeMap<Address, Option<String>>,
) -> Option<plan::SnapshotReport> {
    use crate::live::kube::{Kube, SnapshotState};
    if !matches!(settings.target, crate::live::target::Target::Remote { .. })
        || plan.builds.is_empty()
    {
        return None;
    }
    let report = |verified, namespace, error, templates| {
        Some(plan::SnapshotReport { verified, namespace, error, templates })
    };
    let Some(access) = &settings.kube else {
        return report(false, None, None, Vec::new());
    };
    let ns = Some(access.namespace.clone());
    let listed = match Kube::connect(access).await {
        Ok(kube) => kube.list_snapshots().await,
        Err(e) => Err(e),
    };
    let listed = match listed {
        Ok(l) => l,
        Err(e) => return report(true, ns, Some(e.to_string()), Vec::new()),
    };
    let templates = plan
        .builds
        .iter()
        .map(|b| {
            let Some(name) = ready.get(&b.template).cloned().flatten() else {
                return plan::TemplateSnapshot {
                    template: b.template.clone(),
                    snapshot: None,
                    state: "no_build".into(),
                    restore_size: None,
                    message: None,
                };
            };
            let found = listed.iter().find(|s| s.metadata.name.as_deref() == Some(name.as_str()));
            let state = crate::live::kube::snapshot_state(found);
            let (restore_size, message) = match &state {
                SnapshotState::Ready { restore_size } => (restore_size.clone(), None),
                SnapshotState::Failed { message } => (None, Some(message.clone())),
                _ => (None, None),
            };
            plan::TemplateSnapshot {
                template: b.template.clone(),
                snapshot: Some(name),
                state: state.word().to_string(),
                restore_size,
                message,
            }
        })
        .collect();
    report(true, ns, None, templates)
}

/// The key of a saved plan's digests of sensitive variables: the hex key stored in it, or,
/// when it stores none, `CORDIUM_PLAN_KEY` (which keyed them, and is never stored).
pub fn saved_digest_key(env: &super::EnvSettings, stored: &str) -> Result<Vec<u8>, String> {
    if !stored.is_empty() {
        return hex::decode(stored).map_err(|_| "its digest key is not hex".to_string());
    }
    env.plan_key.as_ref().map(|k| k.as_bytes().to_vec()).ok_or_else(|| {
        "its sensitive variables were digested with CORDIUM_PLAN_KEY; set it as when the plan \
         was made"
            .to_string()
    })
}

/// What the plan was made from, for `apply FILE` (plan::file::Origin).
fn origin(req: &Request, settings: &Settings, loaded: &Loaded) -> plan::file::Origin {
    use crate::live::target::Target;
    use plan::file::{absolute, Origin, SavedTarget};
    let root = absolute(&req.dir);
    let root = root.canonicalize().unwrap_or(root);
    let target = match &settings.target {
        Target::Local { path, .. } => {
            let p = absolute(path);
            SavedTarget::Local { path: p.display().to_string() }
        }
        Target::Remote { endpoint, .. } => SavedTarget::Endpoint { url: endpoint.clone() },
    };
    let mut o = Origin {
        config_root: root.display().to_string(),
        environment: req.load.env.clone(),
        target,
        targets: req.targets.clone(),
        excludes: req.excludes.clone(),
        replaces: req.replaces.clone(),
        prune: req.prune,
        destroy: req.destroy,
        stack_flag: loaded
            .stack
            .is_none()
            .then(|| settings.stack.clone())
            .filter(|_| settings.stack_named),
        allow_outside_files: req.allow_outside_files,
        ..Origin::default()
    };
    let key = match &req.env.plan_key {
        Some(k) => k.as_bytes().to_vec(),
        None => {
            let k = rand::random::<[u8; 32]>().to_vec();
            o.digest_key = hex::encode(&k);
            k
        }
    };
    o.record_variables(&req.load, &loaded.variables, &key);
    o
}

/// What `--fail-on` gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A resource is deleted (a replace's delete half not counted).
    Destroy,
    /// A resource is deleted and created again.
    Replace,
    /// A Template snapshot build is started.
    Build,
    /// Any change at all (a build or a wait for one included).
    Any,
}

/// Why the plan trips the `gates`, one sentence per gate that matched; empty when none did.
pub fn tripped(plan: &Plan, gates: &[FailOn]) -> Vec<String> {
    let counts = plan.counts();
    let count = |a: diff::Action| counts.get(&a).copied().unwrap_or(0);
    let builds = plan.builds.iter().filter(|b| b.action == plan::BuildAction::Build).count();
    let mut out = Vec::new();
    for gate in gates {
        let (n, what, flag) = match gate {
            FailOn::Destroy => (count(diff::Action::Delete), "destroy", "destroy"),
            FailOn::Replace => (count(diff::Action::Replace), "replace", "replace"),
            FailOn::Build => (builds, "snapshot build", "build"),
            FailOn::Any => (usize::from(plan.has_changes()), "change", "any"),
        };
        if n > 0 && !out.iter().any(|s: &String| s.ends_with(&format!("--fail-on {flag}"))) {
            let what =
                if *gate == FailOn::Any { "changes".to_string() } else { format!("{n} {what}(s)") };
            out.push(format!("the plan has {what}: --fail-on {flag}"));
        }
    }
    out
}

/// Every `--target`/`--exclude` that names neither a resource of the config nor an object of
/// the stack on the cluster: an error with the nearest address, since a typo would otherwise
/// plan "No changes" (or exclude nothing) and pass.
fn unknown_addresses(
    req: &Request,
    model: &Model,
    diff: &diff::Diff,
) -> Vec<crate::diag::Diagnostic> {
    if req.targets.is_empty() && req.excludes.is_empty() {
        return Vec::new();
    }
    let known: std::collections::BTreeSet<String> = model
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .chain(diff.changes.iter().map(|c| c.address.to_string()))
        .collect();
    let flags = req.targets.iter().map(|a| ("--target", a));
    let flags = flags.chain(req.excludes.iter().map(|a| ("--exclude", a)));
    flags
        .filter(|(_, a)| !known.contains(&a.to_string()))
        .map(|(flag, a)| {
            let a = a.to_string();
            let d = crate::diag::Diagnostic::error(
                "unknown-address",
                format!("{flag} {a} matches nothing in the configuration or on the cluster"),
            );
            match crate::diag::did_you_mean(&a, known.iter().map(String::as_str)) {
                Some(near) => d.help(format!("did you mean {near}?")),
                None => d.help(
                    "name a resource of the configuration, e.g. `template.SPACE.NAME` (see \
                     `cordium validate`)",
                ),
            }
        })
        .collect()
}

/// Every Secret the plan creates, its source read now (through `secrets`, never shown): set,
/// non-empty and within the size the server accepts. A failure is an error at the Secret's
/// source, so nothing is written before a write that must fail is known.
pub fn check_secret_sources(
    plan: &Plan,
    model: &Model,
    secrets: &dyn crate::apply::SecretValues,
) -> Vec<crate::diag::Diagnostic> {
    use crate::diag::Diagnostic;
    use crate::live::local::MAX_SECRET_BYTES;
    use crate::model::{Body, Kind, SecretSource};
    let mut out = Vec::new();
    for step in &plan.steps {
        if step.kind != plan::StepKind::Create || step.address.kind != Kind::Secret {
            continue;
        }
        let Some(r) = model.get(&step.address) else { continue };
        let Body::Secret { source } = &r.body else { continue };
        let (field, what) = match source {
            SecretSource::Env(v) => ("fromEnv", format!("environment variable {v}")),
            SecretSource::File(f) => ("fromFile", format!("file {f:?}")),
        };
        let problem = match secrets.read(&r.address, source) {
            Err(e) => Some(e),
            Ok(v) if v.is_empty() => Some(format!("the {what} is empty")),
            Ok(v) if v.len() > MAX_SECRET_BYTES => Some(format!(
                "the value of the {what} is {} bytes; the server accepts at most {MAX_SECRET_BYTES}",
                v.len()
            )),
            Ok(_) => None,
        };
        if let Some(message) = problem {
            out.push(
                Diagnostic::error("secret-source", message)
                .at(r.origin.span_of(field))
                .address(r.address.to_string())
                .help(
                    "a Secret's value is read when the plan is made (and never shown), so that \
                     nothing is written before a write that must fail is known; set its source \
                     and plan again",
                ),
            );
        }
    }
    out
}

/// What the plan keeps of one live object: its document (moved out of it, not copied) and, for
/// a Template, its builds.
struct Read {
    doc: LiveDoc,
    /// A Template's: its build history, when it has build info.
    history: Option<BuildHistory>,
    /// A Template's: the VolumeSnapshot of its ready build (`None`: no ready build).
    ready: Option<Option<String>>,
}

impl Read {
    fn of(l: LiveResource) -> Read {
        let ready = (l.kind == crate::model::Kind::Template).then(|| ready_snapshot(&l));
        let history = history(&l);
        Read { doc: LiveDoc::from_owned(l), history, ready }
    }
}

impl state::Listed for Read {
    fn address(&self) -> &Address {
        &self.doc.address
    }

    fn wire_name(&self) -> &str {
        &self.doc.wire_name
    }
}

/// The documents of what was read, and by address the build history of each live Template
/// that `prebuilt` (the last at an address, in the order read) and the VolumeSnapshot of its
/// ready build (the first Template at an address; none: no ready build). Only pre-built
/// Templates' builds are planned, and a large stack's other Templates are most of its objects.
#[allow(clippy::type_complexity)]
fn split(
    mut objects: Vec<Read>,
    prebuilt: impl Fn(&Address) -> bool,
) -> (Vec<LiveDoc>, BTreeMap<Address, BuildHistory>, BTreeMap<Address, Option<String>>) {
    let mut histories = BTreeMap::new();
    let mut ready = BTreeMap::new();
    // Read in address order: the first at an address follows one at another.
    for i in 0..objects.len() {
        let first = i == 0 || objects[i - 1].doc.address != objects[i].doc.address;
        let r = &mut objects[i];
        let (history, snapshot) = (r.history.take(), r.ready.take());
        if !prebuilt(&r.doc.address) {
            continue;
        }
        if let Some(history) = history {
            histories.insert(r.doc.address.clone(), history);
        }
        if let Some(snapshot) = snapshot.filter(|_| first) {
            ready.insert(r.doc.address.clone(), snapshot);
        }
    }
    // Collected in place: the documents stay in the list's buffer (a `Vec` collected from its
    // own `into_iter` with records no larger reuses it), not copied into a second list.
    let docs = objects.into_iter().map(|r| r.doc).collect();
    (docs, histories, ready)
}

/// The VolumeSnapshot of a live Template's ready build, if it has one.
fn ready_snapshot(l: &LiveResource) -> Option<String> {
    let id = &l.build_info.as_ref()?.current_ready_build_id;
    (!id.is_empty()).then(|| crate::live::kube::snapshot::snapshot_name(&l.uid, id))
}

/// A live Template's build history, when it has build info.
fn history(l: &LiveResource) -> Option<BuildHistory> {
    let info = l.build_info.as_ref()?;
    let builds = info
        .builds
        .iter()
        .map(|b| prebuild::PastBuild {
            id: b.id.clone(),
            tags: b.tags.clone(),
            state: b.state,
            duration_secs: b.duration().map(|d| d.as_secs()),
        })
        .collect();
    let nonempty = |s: &String| (!s.is_empty()).then(|| s.clone());
    Some(BuildHistory {
        builds,
        current_ready: nonempty(&info.current_ready_build_id),
        current_running: nonempty(&info.current_running_build_id),
    })
}
