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
use crate::model::{Address, Model};
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
    let Validated { loaded, model, diags: warnings } = validate::load(&req.dir, &req.load)?;
    let settings = Settings::resolve(req, &loaded)?;
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
    let live = state::read_with(&cluster, &model, &naming, &stack, read).await?;
    // The cluster now answers what validate could only guess: an undeclared Secret that exists
    // is fine, one that does not is an error (the server would refuse the write).
    let warnings: Diagnostics =
        warnings.into_iter().filter(|d| d.code != "unknown-secret").collect();
    let space_stored = |s: &str| naming.space_name(s);
    let missing = plan::references::missing_secrets(&model, &space_stored, &live.secret_names);
    if !missing.is_empty() && !req.destroy {
        let mut diags = warnings;
        missing.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }

    let digest = plan::digest::config_digest(&model, &stack);
    // Compared and sent in the stored form the server resolves (`wandb.ml.cordium`); the digest
    // above is of the config as written.
    crate::model::qualify::references(&mut model, &space_stored);
    // Destroy: the desired state is empty; everything labelled with the stack goes. The
    // configuration still gives the plan its prevent_destroy and its dependency order.
    let nothing = Model::default();
    let desired = if req.destroy { &nothing } else { &model };
    let docs: Vec<LiveDoc> = live.objects.iter().map(LiveDoc::from_live).collect();
    let diff =
        diff::diff(desired, &docs, &DiffOptions { stack: stack.clone(), prune: settings.prune });
    let inputs = PlanInputs {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack,
        target: TargetInfo {
            display: settings.target.display(),
            username: identity.username.clone(),
            implicit_local: settings.target.is_implicit(),
        },
        config_digest: digest,
        histories: histories(&live.objects),
        targets: req.targets.clone(),
        excludes: req.excludes.clone(),
        build_timeout_secs: settings.build_timeout_secs,
        build_timeout_override: settings.build_timeout_override,
        destroy: req.destroy,
        replaces: req.replaces.clone(),
        children: live.children,
    };
    let (plan, problems) = plan::make(&model, diff, inputs);
    if req.destroy {
        model = Model::default();
    }
    if !problems.is_empty() {
        let mut diags = warnings;
        problems.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(OpsError::Invalid { diags, loaded: Box::new(loaded) });
    }
    Ok(Planned { plan, model, loaded, naming, cluster, settings, warnings, read_calls: live.calls })
}

/// Build histories of the live Templates, by address.
fn histories(objects: &[LiveResource]) -> BTreeMap<Address, BuildHistory> {
    objects
        .iter()
        .filter_map(|l| {
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
            Some((
                l.address.clone(),
                BuildHistory {
                    builds,
                    current_ready: nonempty(&info.current_ready_build_id),
                    current_running: nonempty(&info.current_running_build_id),
                },
            ))
        })
        .collect()
}
