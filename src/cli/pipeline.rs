//! The plan pipeline shared by `plan`, `apply` and `destroy`: load the config, build the model,
//! pick and connect the target, read the live state, diff, plan. Each stage is a library call;
//! this only wires them and turns their failures into something the command can print.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::target::EnvSettings;
use crate::config::{LoadOptions, Loaded};
use crate::diag::{Diagnostic, Diagnostics};
use crate::diff::{self, DiffOptions, LiveDoc};
use crate::live::convert::{self, LiveResource, Naming};
use crate::live::target::{self, Target, TargetFlags};
use crate::live::{state, Cluster, LiveError};
use crate::model::{Address, Model};
use crate::plan::{self, build, BuildHistory, LiveVersion, Plan, PlanInputs, TargetInfo};

/// The stack name used when the config has no stack file.
pub const DEFAULT_STACK: &str = "default";

/// Default per-build timeout when neither the Template nor the stack file sets one.
pub const DEFAULT_BUILD_TIMEOUT_SECS: u64 = 30 * 60;

/// What a command asks the pipeline for.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub dir: PathBuf,
    pub load: LoadOptions,
    pub target: TargetFlags,
    pub env: EnvSettings,
    /// `--prune` (the stack file's `prune` also turns it on).
    pub prune: bool,
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    /// `destroy`: plan the deletion of every object of the stack.
    pub destroy: bool,
}

/// A plan and everything apply needs besides it.
pub struct Planned {
    pub plan: Plan,
    pub model: Model,
    pub loaded: Loaded,
    pub naming: Naming,
    pub cluster: Arc<dyn Cluster>,
    pub target: Target,
    /// Warnings from loading (printed before the plan).
    pub warnings: Diagnostics,
    /// RPCs (or in-process calls) spent reading the live state.
    pub read_calls: u64,
}

/// Why there is no plan.
pub enum Failure {
    /// The config (or the plan) has errors; show them with their sources.
    Diagnostics { diags: Diagnostics, loaded: Box<Loaded> },
    /// Target or cluster trouble: one sentence.
    Message(String),
}

impl From<LiveError> for Failure {
    fn from(e: LiveError) -> Self {
        Failure::Message(format!("cannot read the cluster: {e}"))
    }
}

/// Loads and validates the config: the model, or every problem.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<(Loaded, Model, Diagnostics), Failure> {
    let loaded = crate::config::load(dir, opts);
    let (model, model_diags) = crate::model::build(&loaded);
    let mut diags = loaded.diagnostics.clone();
    diags.extend(model_diags);
    diags.sort();
    if diags.has_errors() {
        return Err(Failure::Diagnostics { diags, loaded: Box::new(loaded) });
    }
    Ok((loaded, model, diags))
}

/// The stack name and settings of a loaded config.
pub fn stack_name(loaded: &Loaded) -> String {
    loaded
        .stack
        .as_ref()
        .map(|s| s.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_STACK.to_string())
}

/// Chooses the target (flags, environment, stack environment, default) and connects to it.
pub async fn connect(
    req: &PlanRequest,
    loaded: &Loaded,
) -> Result<(Target, Arc<dyn Cluster>), Failure> {
    let environment = match (&req.load.env, &loaded.stack) {
        (Some(name), Some(stack)) => stack.environments.get(name),
        _ => None,
    };
    let mut target = target::resolve(&req.target, &req.env.target, environment, req.env.ci)
        .map_err(|e| Failure::Message(e.to_string()))?;
    // A local store named in the stack file, or the default, lives under the config root.
    if let Target::Local { path, source } = &target {
        if path.is_relative() && *source != target::TargetSource::Flag {
            target = Target::Local { path: req.dir.join(path), source: *source };
        }
    }
    let cluster = target::connect(&target, &req.env.auth).await?;
    Ok((target, cluster))
}

/// Runs the whole pipeline up to a plan. Plan problems (prevent_destroy, ambiguous matches)
/// come back as `Failure::Diagnostics` with the plan dropped.
pub async fn make_plan(req: &PlanRequest) -> Result<Planned, Failure> {
    let (loaded, mut model, warnings) = load(&req.dir, &req.load)?;
    let stack = stack_name(&loaded);
    let (target, cluster) = connect(req, &loaded).await?;
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username.clone(), &model);
    let live = state::read(&cluster, &model, &naming, &stack).await?;
    // The cluster now answers what validate could only guess: an undeclared Secret that exists
    // is fine, one that does not gets a sharper warning.
    let mut warnings: Diagnostics =
        warnings.into_iter().filter(|d| d.code != "unknown-secret").collect();
    for w in missing_secrets(&model, &naming, &live) {
        warnings.push(w);
    }

    let digest = config_digest(&model, &stack);
    if req.destroy {
        // Destroy: the desired state is empty; everything labelled with the stack goes.
        model = Model::default();
    }
    let docs: Vec<LiveDoc> = live.objects.iter().map(LiveDoc::from_live).collect();
    let prune = req.prune || req.destroy || loaded.stack.as_ref().is_some_and(|s| s.prune);
    let diff = diff::diff(&model, &docs, &DiffOptions { stack: stack.clone(), prune });
    let build_timeout_secs = loaded
        .stack
        .as_ref()
        .and_then(|s| s.build_timeout.as_deref())
        .and_then(|t| humantime::parse_duration(t).ok())
        .map(|d| d.as_secs())
        .unwrap_or(DEFAULT_BUILD_TIMEOUT_SECS);
    let inputs = PlanInputs {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack,
        target: TargetInfo {
            display: target.display(),
            username: identity.username.clone(),
            implicit_local: target.is_implicit(),
        },
        config_digest: digest,
        prune,
        histories: histories(&live.objects),
        live: live
            .objects
            .iter()
            .map(|l| LiveVersion {
                address: l.address.clone(),
                live: diff::LiveRef {
                    name: l.wire_name.clone(),
                    uid: l.uid.clone(),
                    resource_version: l.resource_version.clone(),
                },
            })
            .collect(),
        targets: req.targets.clone(),
        excludes: req.excludes.clone(),
        build_timeout_secs,
    };
    let (plan, problems) = plan::make(&model, diff, inputs);
    if !problems.is_empty() {
        let mut diags = warnings;
        problems.into_iter().for_each(|d| diags.push(d));
        diags.sort();
        return Err(Failure::Diagnostics { diags, loaded: Box::new(loaded) });
    }
    Ok(Planned { plan, model, loaded, naming, cluster, target, warnings, read_calls: live.calls })
}

/// A `fromSecret` naming a Secret that is neither declared nor on the cluster: the Workspace
/// would fail to start. A warning: the Secret may yet be created out of band.
fn missing_secrets(model: &Model, naming: &Naming, live: &state::LiveState) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for r in &model.resources {
        let Some(space) = r.address.space.clone().or_else(|| {
            (r.address.kind == crate::model::Kind::Space).then(|| r.address.name.clone())
        }) else {
            continue;
        };
        for node in crate::model::graph::secret_refs(&r.origin.doc) {
            let Some(name) = node.as_str() else { continue };
            let declared = Address::in_space(crate::model::Kind::Secret, space.clone(), name);
            if model.get(&declared).is_some() {
                continue;
            }
            let stored = format!("{name}.{}", naming.space_name(&space));
            if !live.secret_names.contains(&stored) {
                out.push(
                    Diagnostic::warning(
                        "missing-secret",
                        format!("Secret `{name}` does not exist in Space `{space}` on the cluster"),
                    )
                    .at(node.span)
                    .address(r.address.to_string())
                    .help(format!(
                        "declare `secret \"{name}\"` in the config or create it on the cluster; Workspaces that use it fail to start until it exists"
                    )),
                );
            }
        }
    }
    out
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
                .map(|b| build::PastBuild {
                    id: b.id.clone(),
                    tags: b.tags.clone(),
                    state: match b.state {
                        convert::BuildState::Running => build::BuildState::Running,
                        convert::BuildState::Ready => build::BuildState::Ready,
                        convert::BuildState::Failed => build::BuildState::Failed,
                        convert::BuildState::Unknown => build::BuildState::Unknown,
                    },
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

/// SHA-256 over every desired document in address order, with sensitive values masked (a
/// digest must not let anyone confirm a guessed secret).
pub fn config_digest(model: &Model, stack: &str) -> String {
    let mut h = Sha256::new();
    for r in &model.resources {
        let mut doc = diff::desired_doc(r, stack);
        for path in &r.origin.sensitive {
            mask_path(&mut doc, path);
        }
        h.update(r.address.to_string().as_bytes());
        h.update(b"\0");
        h.update(serde_json::to_vec(&doc).unwrap_or_default());
        h.update(b"\0");
    }
    hex::encode(h.finalize())
}

fn mask_path(doc: &mut serde_json::Value, path: &str) {
    let mut node = doc;
    for seg in crate::config::tree::parse_path(path) {
        let next = match seg {
            crate::config::tree::PathSeg::Key(k) => node.get_mut(&k),
            crate::config::tree::PathSeg::Index(i) => node.get_mut(i),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    *node = serde_json::Value::String(plan::MASK.into());
}
