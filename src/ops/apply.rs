//! `apply` and `destroy`: load and connect, take the stack's apply lock, then (under it) read the
//! live state and plan (or re-check a saved plan), confirm, walk the plan with progress, stop
//! cleanly on SIGINT/SIGTERM or when the lock is lost, release the lock. Reading under the lock is what
//! makes a waiter plan against what the apply before it did, not against what was there before.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::plan::{self as ops_plan, Planned, Prepared};
use super::settings::{ApplyRequest, Settings};
use super::validate::{self, Validated};
use super::{Confirm, Notice, OpsError, Progress};
use crate::apply::lock::lease::{lease_name, LeasePlace};
use crate::apply::lock::{
    anchor_of, AnchoredLock, ApplyLock, FileLock, LockOptions, RemoteLock, Taken,
};
use crate::apply::{self, AnchorHook, ApplyContext, ApplyOutcome, ErrorKind};
use crate::live::convert::Naming;
use crate::live::target::Target;
use crate::live::Cluster;
use crate::model::Model;
use crate::plan::Plan;

/// What an apply came to.
#[derive(Debug)]
pub enum ApplyResult {
    /// The plan had nothing to do; nothing was changed (the lock was held only to read).
    NoChanges,
    /// The person declined; nothing was changed.
    Cancelled,
    /// The plan was carried out (perhaps partly: see the outcome).
    Applied(ApplyOutcome),
}

impl ApplyResult {
    /// True unless a step failed or the person declined.
    pub fn success(&self) -> bool {
        match self {
            ApplyResult::NoChanges => true,
            ApplyResult::Cancelled => false,
            ApplyResult::Applied(o) => o.success(),
        }
    }
}

/// What is known before the lock is taken: nothing read from the cluster yet.
enum Unlocked {
    /// A plan to make from the config.
    Fresh(Box<Prepared>),
    /// A saved plan, checked against the config and the target, to check against the cluster.
    Saved {
        path: PathBuf,
        plan: Box<Plan>,
        model: Model,
        settings: Box<Settings>,
        cluster: Arc<dyn Cluster>,
    },
}

impl Unlocked {
    fn settings(&self) -> &Settings {
        match self {
            Unlocked::Fresh(p) => &p.settings,
            Unlocked::Saved { settings, .. } => settings,
        }
    }

    fn cluster(&self) -> &Arc<dyn Cluster> {
        match self {
            Unlocked::Fresh(p) => &p.cluster,
            Unlocked::Saved { cluster, .. } => cluster,
        }
    }

    fn model(&self) -> &Model {
        match self {
            Unlocked::Fresh(p) => &p.model,
            Unlocked::Saved { model, .. } => model,
        }
    }

    /// The environment the lock is for: a saved plan's own (`apply FILE` takes no `--env`),
    /// else the one asked for.
    fn environment<'a>(&'a self, asked: Option<&'a str>) -> Option<&'a str> {
        match self {
            Unlocked::Fresh(_) => asked,
            Unlocked::Saved { plan, .. } => plan.origin.environment.as_deref(),
        }
    }

    /// The stack the lock is for (a saved plan's own).
    fn stack(&self) -> &str {
        match self {
            Unlocked::Fresh(p) => &p.settings.stack,
            Unlocked::Saved { plan, .. } => &plan.stack,
        }
    }
}

/// A plan ready to apply, and what applying it needs.
struct Ready {
    plan: Plan,
    model: Model,
    naming: Naming,
    cluster: Arc<dyn Cluster>,
    settings: Settings,
    /// A saved plan was reviewed when it was made: it needs no confirmation.
    confirmed: bool,
}

/// Applies (or, with `req.plan.destroy`, destroys): takes the stack's lock, reads the cluster
/// and plans under it, shows the plan through `progress`, asks `confirm` unless approved (still
/// holding the lock, as Terraform does), carries the plan out and releases the lock.
pub async fn apply(
    req: &ApplyRequest,
    confirm: &dyn Confirm,
    progress: &dyn Progress,
) -> Result<ApplyResult, OpsError> {
    if req.saved.is_some() && req.plan.destroy {
        return Err(OpsError::DestroySavedPlan);
    }
    // A stack's first apply takes its lock in the anchor Space right after creating it. When
    // another first apply created that Space first, this one changed nothing: it waits for
    // that apply's lock and plans again, as any waiter does (a saved plan is then stale).
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (result, raced) = apply_once(req, confirm, progress).await;
        match raced {
            Some(space) if attempts < 3 => {
                progress.notice(Notice::LockRaced { space: &space });
            }
            _ => return result,
        }
    }
}

/// One apply; with the anchor Space's address when it lost the race to create that Space
/// (nothing was changed).
async fn apply_once(
    req: &ApplyRequest,
    confirm: &dyn Confirm,
    progress: &dyn Progress,
) -> (Result<ApplyResult, OpsError>, Option<String>) {
    let unlocked = match &req.saved {
        Some(path) => match saved_plan(path, req, progress).await {
            Ok(u) => u,
            Err(e) => return (Err(e), None),
        },
        None => match ops_plan::prepare(&req.plan).await {
            Ok(prepared) => Unlocked::Fresh(Box::new(prepared)),
            Err(e) => return (Err(e), None),
        },
    };
    let mut lock_opts = LockOptions::new(unlocked.stack(), req.plan.env.holder.clone());
    lock_opts.wait = req.lock_timeout;
    lock_opts.ttl = req.lock_ttl;
    let (lock, taken) = match lock(
        unlocked.settings(),
        unlocked.cluster(),
        unlocked.model(),
        &lock_opts,
        unlocked.environment(req.plan.load.env.as_deref()),
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return (Err(e), None),
    };
    let mut raced = None;
    if let (Some(l), Taken::Pending) = (lock.anchored(), taken) {
        progress.notice(Notice::LockPending { lock: &l.describe() });
    }
    // Without a prompt (--auto-approve, a saved plan), a signal before the walk ends the run
    // too, with the lock released; with one, a signal at the prompt ends the process as usual.
    let early = (req.auto_approve || req.saved.is_some()).then(Signals::listen);
    let walking = Arc::new(AtomicBool::new(false));
    let run =
        locked(req, unlocked, (&lock, taken), confirm, progress, (early.clone(), walking.clone()));
    let result = match early {
        None => run.await,
        Some(mut signals) => {
            tokio::pin!(run);
            loop {
                tokio::select! {
                    result = &mut run => break result,
                    (_, signal) = signals.next(), if !walking.load(Ordering::SeqCst) => {
                        // Once walking, the walk handles it.
                        if !walking.load(Ordering::SeqCst) {
                            break Err(OpsError::Interrupted { signal });
                        }
                    }
                }
            }
        }
    };
    if let Err(OpsError::LockSpaceAppeared { space }) = &result {
        raced = Some(space.clone());
    }
    if let (Some(l), Taken::Pending, Ok(ApplyResult::Applied(o))) =
        (lock.anchored(), taken, &result)
    {
        if lost_the_anchor_race(o, &l.space()) {
            raced = Some(l.space().to_string());
        }
    }
    if let Err(e) = lock.release().await {
        progress.notice(Notice::LockNotReleased(&e));
    }
    (result, raced)
}

/// A pending lock (its anchor Space does not exist yet) and the plan made without it: whether
/// the apply may go on, and the lock it must hold in the anchor's old Space when a replace
/// moves the anchor (`organization` changed: `lab.alice` becomes `lab.cordium`), so that the
/// deletes before the old Space's delete are locked for appliers of the old configuration.
async fn pending_anchor(l: &AnchoredLock, ready: &Ready) -> Result<Option<AnchoredLock>, OpsError> {
    let space = l.space();
    let plan = &ready.plan;
    let creates = |s: &crate::plan::Step| s.kind == crate::plan::StepKind::Create;
    if !plan.steps.iter().any(|s| creates(s) && s.address == space) {
        // Created by another apply between the lock's try and the read: plan again, now
        // taking the lock in it.
        if plan.changes.iter().any(|c| c.address == space && c.live.is_some()) {
            return Err(OpsError::LockSpaceAppeared { space: space.to_string() });
        }
        // Without the Space no lock object can exist. A plan that creates nothing (a destroy
        // of what is left, updates, deletes) cannot make a duplicate, and deletes are by uid:
        // it goes on without one. One that creates must take the lock first.
        if plan.steps.iter().any(creates) {
            return Err(OpsError::LockSpaceMissing {
                stack: plan.stack.clone(),
                space: space.to_string(),
            });
        }
        return Ok(None);
    }
    let old = plan
        .changes
        .iter()
        .find(|c| c.address == space && c.action == crate::plan::Action::Replace)
        .and_then(|c| c.live.as_ref().map(|live| live.name.clone()));
    let Some(old) = old else { return Ok(None) };
    let (held, how) = l.in_space(ready.cluster.clone(), &old).await?;
    Ok((how == Taken::Held).then_some(held))
}

/// True when the anchor Space's create failed because the Space exists now (another apply
/// created it first), or its lock could not be taken right after, and so nothing else was
/// done.
fn lost_the_anchor_race(outcome: &ApplyOutcome, space: &crate::kind::Address) -> bool {
    use crate::apply::StepStatus;
    let mut anchor_taken = false;
    for s in &outcome.steps {
        match &s.status {
            // Refused as taken (another apply created it), or created and then its lock or
            // the plan's re-check failed (another apply came in between).
            StepStatus::Failed { kind: Some(ErrorKind::Conflict), .. }
                if s.step.address == *space && s.step.kind == crate::plan::StepKind::Create =>
            {
                anchor_taken = true;
            }
            StepStatus::Skipped { .. } | StepStatus::NotStarted => {}
            _ => return false,
        }
    }
    anchor_taken
}

/// Everything that happens under the lock: read, plan (or check), confirm, apply.
async fn locked(
    req: &ApplyRequest,
    unlocked: Unlocked,
    (lock, taken): (&ApplyLock, Taken),
    confirm: &dyn Confirm,
    progress: &dyn Progress,
    signals: (Option<Signals>, Arc<AtomicBool>),
) -> Result<ApplyResult, OpsError> {
    let ready = match unlocked {
        Unlocked::Fresh(prepared) => fresh_plan(req, *prepared, progress).await?,
        Unlocked::Saved { path, plan, model, settings, cluster } => {
            check_saved(&path, *plan, model, *settings, cluster).await?
        }
    };
    let changes = ready.plan.has_changes() && !ready.plan.steps.is_empty();
    let record = req.record.as_ref().map(|r| {
        let cx = super::record::DraftContext {
            // The plan's own (a saved plan records the environment it was made for).
            environment: ready.plan.origin.environment.clone(),
            auth: &req.plan.env.auth,
            dir: &req.plan.dir,
            key: r.key.as_ref(),
            secrets: Some(req.secrets.as_ref()),
        };
        let draft = super::record::draft(&ready.plan, &ready.model, cx);
        (r.path.clone(), draft, ready.cluster.clone(), ready.model.clone(), ready.naming.clone())
    });
    let previous = match (lock.anchored(), taken, changes) {
        (Some(l), Taken::Pending, true) => pending_anchor(l, &ready).await?,
        _ => None,
    };
    let result = async {
        progress.notice(Notice::Plan(&ready.plan));
        if !changes {
            return Ok(ApplyResult::NoChanges);
        }
        let tripped = ops_plan::tripped(&ready.plan, &req.fail_on);
        if !tripped.is_empty() {
            return Err(OpsError::Gated { reasons: tripped });
        }
        if !req.auto_approve && !ready.confirmed {
            if !confirm.can_ask() {
                return Err(OpsError::NotConfirmed);
            }
            if !confirm.confirm(req.plan.destroy) {
                return Ok(ApplyResult::Cancelled);
            }
        }
        // The confirmation may have taken longer than the lock could be kept.
        if !lock.held() {
            let reason = lock.lost().await;
            return Err(OpsError::LockLost { stack: ready.plan.stack.clone(), reason });
        }
        execute(req, ready, lock, progress, signals, previous.clone())
            .await
            .map(ApplyResult::Applied)
    }
    .await;
    if let Some(p) = previous {
        let _ = p.release().await;
    }
    if let Some((path, draft, cluster, model, naming)) = record {
        let outcome = match &result {
            Ok(ApplyResult::Applied(o)) => Some(Some(o)),
            Ok(ApplyResult::NoChanges) => Some(None),
            _ => None,
        };
        // Only an apply that ran (or had nothing to do) is evidence.
        if let Some(outcome) = outcome {
            let record = draft.finish(outcome, &cluster, &model, &naming).await;
            match super::record::write(&record, &path) {
                Ok(()) => progress.notice(Notice::Recorded { path: &path }),
                Err(e) => progress.notice(Notice::RecordFailed { error: &e.to_string() }),
            }
        }
    }
    result
}

async fn fresh_plan(
    req: &ApplyRequest,
    prepared: Prepared,
    progress: &dyn Progress,
) -> Result<Ready, OpsError> {
    let Planned { plan, model, loaded, naming, cluster, settings, warnings, .. } =
        ops_plan::plan_against(&req.plan, prepared).await?;
    progress.notice(Notice::Warnings { diags: &warnings, loaded: &loaded });
    Ok(Ready { plan, model, naming, cluster, settings, confirmed: false })
}

/// Where a saved plan's config is, and whether its Secrets may read files outside it: what the
/// caller needs to read Secret values for it. `config_dir`: `--config-dir`, which overrides the
/// recorded root (the config digest still has to match).
pub fn saved_source(path: &Path, config_dir: Option<&Path>) -> Result<(PathBuf, bool), OpsError> {
    let plan = ops_plan::read(path)?;
    let origin = &plan.origin;
    let root = match config_dir {
        Some(d) => d.to_path_buf(),
        None => origin.config_root(path).ok_or_else(|| OpsError::SavedPlanRoot {
            plan: path.to_path_buf(),
            root: origin.config_root.clone(),
        })?,
    };
    Ok((root, origin.allow_outside_files))
}

/// The flags given with a saved plan, checked against what it records: each one that would
/// change it is refused (one that repeats it is fine).
fn check_saved_flags(path: &Path, plan: &Plan, req: &super::Request) -> Result<(), OpsError> {
    use crate::live::target::{domain_endpoint, parse_endpoint};
    use crate::plan::file::SavedTarget;
    let o = &plan.origin;
    let refuse = |why: String| Err(OpsError::SavedPlanFlag { plan: path.to_path_buf(), why });
    let list = |v: &[crate::model::Address]| {
        v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    };
    let sets = [
        ("--target", &req.targets, &o.targets),
        ("--exclude", &req.excludes, &o.excludes),
        ("--replace", &req.replaces, &o.replaces),
    ];
    for (flag, given, saved) in sets {
        if !given.is_empty() && given != saved {
            let made = if saved.is_empty() { "none".to_string() } else { list(saved) };
            return refuse(format!("{flag} {} differs from the plan's ({made})", list(given)));
        }
    }
    if let Some(env) = &req.load.env {
        if Some(env) != o.environment.as_ref() {
            let made = o.environment.as_deref().unwrap_or("none");
            return refuse(format!("--env {env} differs from the plan's environment ({made})"));
        }
    }
    if req.prune && !o.prune {
        return refuse("--prune was not given when the plan was made".into());
    }
    if req.allow_outside_files && !o.allow_outside_files {
        return refuse("--allow-outside-files was not given when the plan was made".into());
    }
    if let Some(stack) = &req.stack {
        if *stack != plan.stack {
            return refuse(format!(
                "--stack {stack} differs from the plan's stack ({})",
                plan.stack
            ));
        }
    }
    let given_args = &req.load.vars;
    if !given_args.is_empty() && !same_args(given_args, o, &req.env) {
        return refuse(
            "--var/--var-file differ from the plan's (a saved plan is applied with the variables \
             it was made with; a sensitive one can come from CORDIUM_VAR_<name>)"
                .into(),
        );
    }
    // The target: a flag, or an environment variable, naming another cluster is refused, never
    // silently preferred.
    let made_for = match &o.target {
        SavedTarget::Endpoint { url } => Some(url.clone()),
        SavedTarget::Local { path } => Some(format!("local:{path}")),
        SavedTarget::Unknown => None,
    };
    let normal = |e: &str| parse_endpoint(e).map(|u| u.url).unwrap_or_else(|_| e.to_string());
    let flags = &req.target;
    let mut asked: Vec<(String, String)> = Vec::new();
    if let Some(e) = &flags.endpoint {
        asked.push((format!("--endpoint {e}"), normal(e)));
    }
    if let Some(d) = &flags.domain {
        asked.push((
            format!("--domain {d}"),
            domain_endpoint(d).map(|e| normal(&e)).unwrap_or_default(),
        ));
    }
    if let Some(l) = &flags.local {
        let abs = crate::plan::file::absolute(l);
        asked.push((format!("--local {}", l.display()), format!("local:{}", abs.display())));
    }
    if let Some(e) = &req.env.target.endpoint {
        asked.push((format!("CORDIUM_ENDPOINT={e}"), normal(e)));
    }
    if let Some(d) = &req.env.target.domain {
        asked.push((
            format!("OCTELIUM_DOMAIN={d}"),
            domain_endpoint(d).map(|e| normal(&e)).unwrap_or_default(),
        ));
    }
    if let Some(made_for) = made_for {
        if let Some((what, _)) = asked.iter().find(|(_, t)| *t != made_for) {
            return refuse(format!("{what} names another cluster than the plan's ({made_for})"));
        }
    }
    Ok(())
}

/// Whether `--var`/`--var-file` given with a saved plan are the plan's own, in order (a
/// sensitive value compared by its digest).
fn same_args(
    given: &[crate::config::VarArg],
    o: &crate::plan::file::Origin,
    env: &super::EnvSettings,
) -> bool {
    use crate::config::VarArg;
    use crate::plan::file::{absolute, keyed_digest, SavedArg};
    let Ok(key) = ops_plan::saved_digest_key(env, &o.digest_key) else { return false };
    given.len() == o.args.len()
        && given.iter().zip(&o.args).all(|(g, s)| match (g, s) {
            (VarArg::File(p), SavedArg::VarFile { path }) => {
                absolute(p).display().to_string() == *path
            }
            (VarArg::Var { name, value }, SavedArg::Var { name: n, value: v, digest: d }) => {
                name == n
                    && match (v, d) {
                        (Some(v), _) => v == value,
                        (None, Some(d)) => keyed_digest(&key, name, &value.clone().into()) == *d,
                        (None, None) => false,
                    }
            }
            _ => false,
        })
}

/// Reads a saved plan and checks what can be checked without the cluster: the flags given with
/// it, the variables, the configuration, the target. The config is loaded from the plan's own
/// root (`req.plan.dir`, set by [`saved_source`]) with the plan's environment and variables.
async fn saved_plan(
    path: &Path,
    req: &ApplyRequest,
    progress: &dyn Progress,
) -> Result<Unlocked, OpsError> {
    let mut plan = ops_plan::read(path)?;
    check_saved_flags(path, &plan, &req.plan)?;
    let origin = plan.origin.clone();
    let key = ops_plan::saved_digest_key(&req.plan.env, &origin.digest_key)
        .map_err(|why| OpsError::SavedPlanFlag { plan: path.to_path_buf(), why })?;
    // The plan's environment and var arguments; a sensitive --var given again (and checked
    // against its digest) stands in for the one the plan could not keep.
    let mut load = origin.load_options(req.plan.load.env_vars.clone());
    if !req.plan.load.vars.is_empty() {
        load.vars = req.plan.load.vars.clone();
    }
    let Validated { loaded, model, diags } = validate::load(&req.plan.dir, &load)?;
    progress.notice(Notice::Warnings { diags: &diags, loaded: &loaded });
    let differences = origin.variable_differences(&loaded.variables, &key);
    if !differences.is_empty() {
        return Err(OpsError::SavedPlanVariables { plan: path.to_path_buf(), differences });
    }
    if crate::plan::digest::config_digest(&model, &plan.stack) != plan.config_digest {
        return Err(OpsError::ConfigChanged {
            dir: req.plan.dir.clone(),
            plan: path.to_path_buf(),
        });
    }
    if let Some(secrets) = &req.plan.secrets {
        let problems = ops_plan::check_secret_sources(&plan, &model, secrets.0.as_ref());
        if !problems.is_empty() {
            let mut diags = diags;
            problems.into_iter().for_each(|d| diags.push(d));
            diags.sort();
            return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
        }
    }
    // The request the plan was made with, as far as settings go.
    let mut made = req.plan.clone();
    made.load = load;
    made.targets = origin.targets.clone();
    made.excludes = origin.excludes.clone();
    made.replaces = origin.replaces.clone();
    made.prune = origin.prune;
    made.stack = origin.stack_flag.clone().or(made.stack);
    made.env.target = Default::default();
    match &origin.target {
        crate::plan::file::SavedTarget::Local { path } => {
            made.target = crate::live::target::TargetFlags {
                local: Some(PathBuf::from(path)),
                ..Default::default()
            };
        }
        crate::plan::file::SavedTarget::Endpoint { url } => {
            made.target = crate::live::target::TargetFlags {
                endpoint: Some(url.clone()),
                ..Default::default()
            };
        }
        crate::plan::file::SavedTarget::Unknown => made.env.target = req.plan.env.target.clone(),
    }
    let settings = Settings::resolve(&made, &loaded)?;
    let cluster = ops_plan::connect(&settings, &req.plan.env.auth).await?;
    let shown = |t: &str| t.to_string();
    let same = match &origin.target {
        crate::plan::file::SavedTarget::Unknown => settings.target.display() == plan.target.display,
        _ => true,
    };
    if !same {
        return Err(OpsError::TargetChanged {
            plan: path.to_path_buf(),
            made_for: shown(&plan.target.display),
            target: settings.target.display(),
        });
    }
    if let Some(secs) = settings.build_timeout_override {
        plan = plan.with_build_timeout(secs);
    }
    Ok(Unlocked::Saved {
        path: path.to_path_buf(),
        plan: Box::new(plan),
        model,
        settings: Box::new(settings),
        cluster,
    })
}

/// Under the lock: every object a saved plan touches is unchanged since it was made.
async fn check_saved(
    path: &Path,
    plan: Plan,
    mut model: Model,
    settings: Settings,
    cluster: Arc<dyn Cluster>,
) -> Result<Ready, OpsError> {
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username, &model);
    // As the plan was made: references in the stored form the server resolves.
    crate::model::qualify::references(&mut model, &|s: &str| naming.space_name(s));
    let stale = apply::staleness::check(&plan, cluster.as_ref(), &naming).await?;
    if !stale.is_empty() {
        return Err(OpsError::Stale { plan: path.to_path_buf(), objects: stale });
    }
    Ok(Ready { plan, model, naming, cluster, settings, confirmed: true })
}

/// The lock backend for the target (docs/locking.md): a file beside a local store; on a
/// cluster, a lock Template in the stack's anchor Space (pending while that Space does not
/// exist), or a core Group for a stack without Spaces; with Kubernetes access, the stack's
/// Lease as well, taken after the cluster's lock (so every applier of the stack, with that
/// access or without, is excluded by the lock they all take).
async fn lock(
    settings: &Settings,
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    opts: &LockOptions,
    env: Option<&str>,
) -> Result<(ApplyLock, Taken), OpsError> {
    let (held, taken) = cluster_lock(settings, cluster, model, opts).await?;
    let (Some(access), Target::Remote { .. }) = (&settings.kube, &settings.target) else {
        return Ok((held, taken));
    };
    let target = settings.target.display();
    let leased = async {
        let kube = crate::live::kube::Kube::connect(access).await?;
        let place = Arc::new(LeasePlace::new(kube, lease_name(&settings.stack, env)));
        Ok::<_, OpsError>(RemoteLock::acquire_at(place, &target, opts).await?)
    };
    match leased.await {
        Ok(lease) => Ok((ApplyLock::Paired { cluster: Box::new(held), lease }, taken)),
        Err(e) => {
            // Not both: hold neither.
            let _ = held.release().await;
            Err(e)
        }
    }
}

/// The cluster's own lock: the file, the anchored Template or the Group.
async fn cluster_lock(
    settings: &Settings,
    cluster: &Arc<dyn Cluster>,
    model: &Model,
    opts: &LockOptions,
) -> Result<(ApplyLock, Taken), OpsError> {
    let target = settings.target.display();
    match &settings.target {
        Target::Local { path, .. } => {
            Ok((ApplyLock::File(FileLock::acquire(path, opts).await?), Taken::Held))
        }
        Target::Remote { .. } => {
            let identity = cluster.identity().await?;
            let naming = Naming::for_model(identity.username, model);
            match anchor_of(model, &naming) {
                Some((space, stored)) => {
                    let (l, taken) =
                        AnchoredLock::acquire(cluster.clone(), &space, &stored, &target, opts)
                            .await?;
                    Ok((ApplyLock::Anchored(l), taken))
                }
                None => {
                    let l = RemoteLock::acquire(cluster.clone(), &target, opts).await?;
                    Ok((ApplyLock::Remote(l), Taken::Held))
                }
            }
        }
    }
}

/// SIGINT and SIGTERM, handled alike, counted from when [`Signals::listen`] was called. Clones
/// share the count; each sees every signal.
#[derive(Clone)]
struct Signals {
    rx: tokio::sync::watch::Receiver<(u32, &'static str)>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Signals {
    fn listen() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        let (tx, rx) = tokio::sync::watch::channel((0u32, ""));
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        let task = tokio::spawn(async move {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                if let Some(s) = s {
                    if s.recv().await.is_some() {
                        return;
                    }
                }
                std::future::pending::<()>().await
            }
            let mut count = 0;
            loop {
                let name = tokio::select! {
                    _ = next(&mut int) => "SIGINT",
                    _ = next(&mut term) => "SIGTERM",
                };
                count += 1;
                if tx.send((count, name)).is_err() {
                    return;
                }
            }
        });
        Signals { rx, _task: Arc::new(AbortOnDrop(task)) }
    }

    /// The next signal: how many so far, and its name.
    async fn next(&mut self) -> (u32, &'static str) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.rx.borrow_and_update()
    }
}

/// Walks the plan under `lock`. The first SIGINT or SIGTERM sets the walker's stop flag: no new
/// operation starts, running operations and builds finish; a second one, or the stop timeout,
/// cancels running builds too. A lost lock does both at once.
async fn execute(
    req: &ApplyRequest,
    ready: Ready,
    lock: &ApplyLock,
    progress: &dyn Progress,
    (signals, walking): (Option<Signals>, Arc<AtomicBool>),
    previous: Option<AnchoredLock>,
) -> Result<ApplyOutcome, OpsError> {
    let Ready { plan, model, naming, cluster, settings, .. } = ready;
    let plan = Arc::new(plan);
    let anchor = lock.anchored().map(|l| {
        Arc::new(AnchorSteps {
            lock: l.clone(),
            previous,
            plan: plan.clone(),
            naming: naming.clone(),
            cluster: cluster.clone(),
        }) as Arc<dyn AnchorHook>
    });
    let mut ctx = ApplyContext::new(cluster, Arc::new(model), naming, req.secrets.clone());
    ctx.parallelism = req.parallelism.max(1);
    ctx.lease = lock.lease();
    ctx.anchor = anchor;
    if let Some(access) = &settings.kube {
        let kube = crate::live::kube::Kube::connect(access).await?;
        ctx.snapshots = Some(apply::SnapshotWait::new(kube, access.snapshot_timeout));
    }
    let stop = ctx.stop.clone();
    let cancel = ctx.cancel.clone();
    let mut signals = signals.unwrap_or_else(Signals::listen);
    walking.store(true, Ordering::SeqCst);
    progress.notice(Notice::Applying { target: &settings.target.display() });
    super::keep_freed_memory();
    let walk = apply::apply(&plan, ctx, progress);
    tokio::pin!(walk);
    let lost = lock.lost();
    tokio::pin!(lost);
    // Set by the first signal: when running builds are cancelled.
    let mut deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let mut cancelled = false;
    let mut lock_lost = None;
    let mut outcome = loop {
        tokio::select! {
            outcome = &mut walk => break outcome,
            (_, signal) = signals.next(), if !cancelled => {
                if stop.swap(true, Ordering::SeqCst) {
                    cancel.store(true, Ordering::SeqCst);
                    cancelled = true;
                    progress.notice(Notice::Cancelling { reason: &format!("a second {signal}") });
                } else {
                    deadline = Some(Box::pin(tokio::time::sleep(req.stop_timeout)));
                    progress.notice(Notice::Stopping { signal, timeout: req.stop_timeout });
                }
            }
            _ = async { if let Some(d) = deadline.as_mut() { d.await } }, if deadline.is_some() && !cancelled => {
                cancel.store(true, Ordering::SeqCst);
                cancelled = true;
                let after = humantime::format_duration(req.stop_timeout).to_string();
                progress.notice(Notice::Cancelling { reason: &format!("--stop-timeout {after} passed") });
            }
            reason = &mut lost, if lock_lost.is_none() => {
                stop.store(true, Ordering::SeqCst);
                cancel.store(true, Ordering::SeqCst);
                progress.notice(Notice::LockLost { reason: &reason });
                lock_lost = Some(reason);
            }
        }
    };
    // The lease can run out before the renewal says so (this process was paused): an operation
    // refused for it stopped the walk, and the loss is what the summary must say.
    let ran_out = lock.lease().is_some_and(|l| !l.valid()) && !outcome.success();
    if lock_lost.is_none() && (ran_out || !lock.held()) {
        lock_lost = Some(lock.lost_reason().unwrap_or_else(|| {
            "it ran out before it could be renewed (was this process paused?)".to_string()
        }));
    }
    outcome.lock_lost = lock_lost;
    Ok(outcome)
}

/// The lock in the anchor Space around that Space's own steps (docs/locking.md).
struct AnchorSteps {
    lock: AnchoredLock,
    /// The lock in the anchor's old Space, when a replace moves the anchor.
    previous: Option<AnchoredLock>,
    plan: Arc<Plan>,
    naming: Naming,
    cluster: Arc<dyn Cluster>,
}

#[async_trait::async_trait]
impl AnchorHook for AnchorSteps {
    fn space(&self) -> crate::kind::Address {
        self.lock.space()
    }

    /// Takes the lock in the Space just created, without waiting, then checks that the plan is
    /// still true: another apply may have taken and released the lock between this one's
    /// create and now, and changed what this one planned.
    async fn after_create(&self) -> Result<(), (ErrorKind, String)> {
        let space = self.lock.space();
        self.lock.take_now().await.map_err(|e| match e {
            crate::apply::lock::LockError::Busy { holder, .. } => (
                ErrorKind::Conflict,
                format!(
                    "another apply took the lock in {space} right after this one created it \
                     ({holder}); nothing else was changed"
                ),
            ),
            other => (
                ErrorKind::Failed,
                format!("cannot take {}: {}", self.lock.describe(), super::error::chain(&other)),
            ),
        })?;
        let stale = crate::apply::staleness::check(&self.plan, self.cluster.as_ref(), &self.naming)
            .await
            .map_err(|e| {
                (ErrorKind::Failed, format!("cannot check the plan after taking the lock: {e}"))
            })?;
        // What this apply deleted before the create (the delete half of a replace and what
        // goes before it) is expected to have changed.
        let deleted: std::collections::BTreeSet<&crate::kind::Address> = self
            .plan
            .steps
            .iter()
            .filter(|s| s.kind == crate::plan::StepKind::Delete)
            .map(|s| &s.address)
            .collect();
        let stale: Vec<String> = stale
            .iter()
            .filter(|s| s.address != space && !deleted.contains(&s.address))
            .map(|s| s.to_string())
            .collect();
        if !stale.is_empty() {
            return Err((
                ErrorKind::Conflict,
                format!(
                    "another apply changed the stack between this one's create of {space} and \
                     its lock ({}); nothing else was changed",
                    stale.join("; ")
                ),
            ));
        }
        Ok(())
    }

    async fn before_delete(&self) -> Result<(), String> {
        self.previous.as_ref().unwrap_or(&self.lock).let_go().await.map_err(|e| {
            format!("cannot let go of {}: {}", self.lock.describe(), super::error::chain(&e))
        })
    }
}
