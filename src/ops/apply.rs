//! `apply` and `destroy`: make (or read and re-check) the plan, confirm, take the stack's apply
//! lock, walk the plan with progress, stop cleanly on Ctrl-C, release the lock.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::plan::{self as ops_plan, Planned};
use super::settings::{ApplyRequest, Settings};
use super::validate::{self, Validated};
use super::{Confirm, Notice, OpsError, Progress};
use crate::apply::lock::{ApplyLock, FileLock, LockError, LockOptions, RemoteLock};
use crate::apply::{self, ApplyContext, ApplyOutcome};
use crate::live::convert::Naming;
use crate::live::target::Target;
use crate::live::Cluster;
use crate::model::Model;
use crate::plan::Plan;

/// What an apply came to.
#[derive(Debug)]
pub enum ApplyResult {
    /// The plan had nothing to do; nothing was locked or changed.
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

/// Applies (or, with `req.plan.destroy`, destroys): shows the plan through `progress`, asks
/// `confirm` unless approved, and carries the plan out under the stack's lock.
pub async fn apply(
    req: &ApplyRequest,
    confirm: &dyn Confirm,
    progress: &dyn Progress,
) -> Result<ApplyResult, OpsError> {
    if req.saved.is_some() && req.plan.destroy {
        return Err(OpsError::DestroySavedPlan);
    }
    let ready = match &req.saved {
        Some(path) => saved_plan(path, req, progress).await?,
        None => fresh_plan(req, progress).await?,
    };
    progress.notice(Notice::Plan(&ready.plan));
    if !ready.plan.has_changes() || ready.plan.steps.is_empty() {
        return Ok(ApplyResult::NoChanges);
    }
    if !req.auto_approve && !ready.confirmed {
        if !confirm.can_ask() {
            return Err(OpsError::NotConfirmed);
        }
        if !confirm.confirm(req.plan.destroy) {
            return Ok(ApplyResult::Cancelled);
        }
    }
    execute(req, ready, progress).await.map(ApplyResult::Applied)
}

async fn fresh_plan(req: &ApplyRequest, progress: &dyn Progress) -> Result<Ready, OpsError> {
    let Planned { plan, model, loaded, naming, cluster, settings, warnings, .. } =
        ops_plan::plan(&req.plan).await?;
    progress.notice(Notice::Warnings { diags: &warnings, loaded: &loaded });
    Ok(Ready { plan, model, naming, cluster, settings, confirmed: false })
}

/// Reads a saved plan and checks it still holds: same configuration, same target, and every
/// object it touches unchanged since.
async fn saved_plan(
    path: &Path,
    req: &ApplyRequest,
    progress: &dyn Progress,
) -> Result<Ready, OpsError> {
    let mut plan = ops_plan::read(path)?;
    let Validated { loaded, model, diags } = validate::load(&req.plan.dir, &req.plan.load)?;
    progress.notice(Notice::Warnings { diags: &diags, loaded: &loaded });
    if crate::plan::digest::config_digest(&model, &plan.stack) != plan.config_digest {
        return Err(OpsError::ConfigChanged {
            dir: req.plan.dir.clone(),
            plan: path.to_path_buf(),
        });
    }
    let settings = Settings::resolve(&req.plan, &loaded)?;
    let cluster = ops_plan::connect(&settings, &req.plan.env.auth).await?;
    if settings.target.display() != plan.target.display {
        return Err(OpsError::TargetChanged {
            plan: path.to_path_buf(),
            made_for: plan.target.display.clone(),
            target: settings.target.display(),
        });
    }
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username, &model);
    let stale = apply::staleness::check(&plan, cluster.as_ref(), &naming).await?;
    if !stale.is_empty() {
        return Err(OpsError::Stale { plan: path.to_path_buf(), objects: stale });
    }
    if let Some(secs) = settings.build_timeout_override {
        plan = plan.with_build_timeout(secs);
    }
    Ok(Ready { plan, model, naming, cluster, settings, confirmed: true })
}

/// The lock backend for the target: a file beside a local store, a core Group on a cluster.
async fn lock(
    settings: &Settings,
    cluster: &Arc<dyn Cluster>,
    opts: &LockOptions,
) -> Result<ApplyLock, LockError> {
    match &settings.target {
        Target::Local { path, .. } => FileLock::acquire(path, opts).await.map(ApplyLock::File),
        Target::Remote { .. } => {
            RemoteLock::acquire(cluster.clone(), &settings.target.display(), opts)
                .await
                .map(ApplyLock::Remote)
        }
    }
}

async fn execute(
    req: &ApplyRequest,
    ready: Ready,
    progress: &dyn Progress,
) -> Result<ApplyOutcome, OpsError> {
    let Ready { plan, model, naming, cluster, settings, .. } = ready;
    let mut lock_opts = LockOptions::new(plan.stack.clone(), req.plan.env.holder.clone());
    lock_opts.wait = req.lock_timeout;
    let lock = lock(&settings, &cluster, &lock_opts).await?;

    let mut ctx = ApplyContext::new(cluster, Arc::new(model), naming, req.secrets.clone());
    ctx.parallelism = req.parallelism.max(1);
    let stop = ctx.stop.clone();
    progress.notice(Notice::Applying { target: &settings.target.display() });
    let walk = apply::apply(&plan, ctx, progress);
    tokio::pin!(walk);
    let mut listening = true;
    let outcome = loop {
        tokio::select! {
            outcome = &mut walk => break outcome,
            signal = tokio::signal::ctrl_c(), if listening => {
                listening = false;
                if signal.is_ok() {
                    stop.store(true, Ordering::SeqCst);
                    progress.notice(Notice::Stopping);
                }
            }
        }
    };
    if let Err(e) = lock.release().await {
        progress.notice(Notice::LockNotReleased(&e));
    }
    Ok(outcome)
}
