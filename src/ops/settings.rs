//! Settings, resolved in one place (ripgrep's low/high arguments). A command gathers a
//! [`Request`]: its flags and what the environment says, unresolved. Once the config is loaded,
//! [`Settings::resolve`] turns it and the stack file into the values every stage uses: the stack
//! name, the target, prune, build timeouts. No other module picks a default or reads a fact of
//! the environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::OpsError;
use crate::apply::SecretValues;
use crate::config::{LoadOptions, Loaded};
use crate::live::auth::AuthEnv;
use crate::live::target::{self, Target, TargetEnv, TargetFlags, TargetSource};
use crate::model::Address;

/// The stack name used when the config has no stack file.
pub const DEFAULT_STACK: &str = "default";

/// Default per-build timeout when neither the Template nor the stack file sets one.
pub const DEFAULT_BUILD_TIMEOUT_SECS: u64 = 30 * 60;

/// What the environment says about the target, auth, CI and who is running (read by `cli`).
#[derive(Debug, Clone, Default)]
pub struct EnvSettings {
    pub target: TargetEnv,
    pub auth: AuthEnv,
    /// `CI=true` (or `1`).
    pub ci: bool,
    /// `user@host`, for lock holders.
    pub holder: String,
    /// `CORDIUM_STACK`: the stack name of a config without a stack file.
    pub stack: Option<String>,
    /// `KUBECONFIG`, and whether this runs in a pod.
    pub kube: crate::live::kube::KubeEnv,
    /// `CORDIUM_PLAN_KEY`: keys a saved plan's digests of sensitive variables (else a random
    /// key stored in the plan).
    pub plan_key: Option<String>,
}

/// What a command was asked, from its flags and the environment, before the config is read.
#[derive(Debug, Clone)]
pub struct Request {
    /// The config directory.
    pub dir: PathBuf,
    pub load: LoadOptions,
    pub target: TargetFlags,
    pub env: EnvSettings,
    /// `--prune` (the stack file's `prune` also turns it on).
    pub prune: bool,
    /// `--target`: only these and what they depend on.
    pub targets: Vec<Address>,
    /// `--exclude`: not these, nor what depends on them.
    pub excludes: Vec<Address>,
    /// `destroy`: plan the deletion of every object of the stack.
    pub destroy: bool,
    /// `--stack`: the stack name of a config without a stack file (beats `CORDIUM_STACK`).
    pub stack: Option<String>,
    /// `--replace`: replace these although nothing forces it.
    pub replaces: Vec<Address>,
    /// `--build-timeout`: overrides the Templates' and the stack file's build timeouts.
    pub build_timeout: Option<Duration>,
    /// Reads Secret values (the environment and files: `cli` supplies it); with it, every Secret
    /// the plan creates has its source checked at plan time. `None`: not checked.
    pub secrets: Option<SecretReader>,
    /// `--kubeconfig`, `--kube-context`, `--kube-namespace`.
    pub kube: crate::live::kube::KubeFlags,
    /// `cordium import ADDRESS ID`: imports besides the config's own import blocks.
    pub imports: Vec<(Address, String)>,
    /// `--allow-outside-files` (recorded in a saved plan).
    pub allow_outside_files: bool,
}

/// A [`SecretValues`] a request carries (its `Debug` shows no value).
#[derive(Clone)]
pub struct SecretReader(pub Arc<dyn SecretValues>);

impl std::fmt::Debug for SecretReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretReader")
    }
}

impl Request {
    /// A request for the config in `dir` with nothing else set.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Request {
            dir: dir.into(),
            load: LoadOptions::default(),
            target: TargetFlags::default(),
            env: EnvSettings::default(),
            prune: false,
            targets: Vec::new(),
            excludes: Vec::new(),
            destroy: false,
            stack: None,
            replaces: Vec::new(),
            build_timeout: None,
            secrets: None,
            kube: Default::default(),
            imports: Vec::new(),
            allow_outside_files: false,
        }
    }
}

/// What `apply` and `destroy` are asked besides the plan request.
#[derive(Clone)]
pub struct ApplyRequest {
    pub plan: Request,
    /// A plan saved with `plan --out FILE`, applied exactly (with `plan.dir` its config).
    pub saved: Option<PathBuf>,
    /// `--auto-approve`.
    pub auto_approve: bool,
    /// At most this many operations at work at once (at least 1).
    pub parallelism: usize,
    /// How long to wait for another apply of the stack (zero: refuse at once).
    pub lock_timeout: Duration,
    /// How long a remote lock lasts unless renewed (renewed every third of it).
    pub lock_ttl: Duration,
    /// After the first signal, how long running builds may go on before they are cancelled.
    pub stop_timeout: Duration,
    /// `--fail-on`: refuse (exit 3, nothing changed) a plan that has any of these.
    pub fail_on: Vec<super::plan::FailOn>,
    /// Reads Secret values at apply time (the environment and files: `cli` supplies it).
    pub secrets: Arc<dyn SecretValues>,
    /// `--record FILE`: write an apply record (ops/record.rs).
    pub record: Option<super::record::RecordRequest>,
}

impl std::fmt::Debug for ApplyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyRequest")
            .field("plan", &self.plan)
            .field("saved", &self.saved)
            .field("auto_approve", &self.auto_approve)
            .field("parallelism", &self.parallelism)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

/// The request resolved against the loaded config: the values the stages use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The stack name (the stack file's, else `--stack`/`CORDIUM_STACK`, else
    /// [`DEFAULT_STACK`]).
    pub stack: String,
    /// Whether something named the stack (else it is [`DEFAULT_STACK`], which only the implicit
    /// local cluster may use: see [`Settings::check_stack`]).
    pub stack_named: bool,
    /// The chosen cluster (a relative local store is under the config root).
    pub target: Target,
    /// Prune unlisted stack objects: `--prune`, the stack file's `prune`, or destroy.
    pub prune: bool,
    /// Per-build timeout for Templates that set none (the stack file's, else the default).
    pub build_timeout_secs: u64,
    /// `--build-timeout`, in seconds (at least 1): overrides every build's timeout.
    pub build_timeout_override: Option<u64>,
    /// Kubernetes access (docs/kubernetes.md), for a cluster reached over gRPC only: the
    /// embedded local cluster has no Kubernetes behind it.
    pub kube: Option<Box<crate::live::kube::KubeAccess>>,
    /// What the person must know about how these were chosen (an environment variable that
    /// overrides the stack file environment's target), as warnings of the command.
    pub warnings: Vec<String>,
}

impl Settings {
    /// Resolves `req` with the stack file of `loaded`: flags beat the environment, which beats
    /// the stack file's environment, which beats the defaults.
    pub fn resolve(req: &Request, loaded: &Loaded) -> Result<Settings, OpsError> {
        let stack_file = loaded.stack.as_ref();
        let environment = match (&req.load.env, stack_file) {
            (Some(name), Some(stack)) => stack.environments.get(name),
            _ => None,
        };
        let mut target = target::resolve(&req.target, &req.env.target, environment, req.env.ci)?;
        let mut warnings = Vec::new();
        // `CORDIUM_ENDPOINT` (or `OCTELIUM_DOMAIN`) beats `--env NAME`'s target: said loudly.
        if let (TargetSource::Env, Some(env)) = (target.source(), environment) {
            if env.local.is_some() || env.endpoint.is_some() || env.domain.is_some() {
                let var = if req.env.target.endpoint.is_some() {
                    "CORDIUM_ENDPOINT"
                } else {
                    "OCTELIUM_DOMAIN"
                };
                warnings.push(format!(
                    "{var} overrides the target of environment `{}`: using {}, not the \
                     environment's; unset {var}, or pass --endpoint to say which cluster",
                    env.name,
                    target.display()
                ));
            }
        }
        // A local store named in the stack file, or the default, lives under the config root.
        if let Target::Local { path, source } = &target {
            if path.is_relative() && *source != TargetSource::Flag {
                target = Target::Local { path: req.dir.join(path), source: *source };
            }
        }
        let build_timeout_secs = stack_file
            .and_then(|s| s.build_timeout.as_deref())
            .and_then(|t| humantime::parse_duration(t).ok())
            .map(|d| d.as_secs())
            .unwrap_or(DEFAULT_BUILD_TIMEOUT_SECS);
        let from_file = stack_file.map(|s| s.name.clone()).filter(|n| !n.is_empty());
        // `--stack` must agree with a stack file; `CORDIUM_STACK` (a runner-wide default) only
        // names a config that has none.
        let stack = match (from_file, req.stack.clone()) {
            (Some(file), Some(asked)) if file != asked => {
                return Err(OpsError::StackMismatch { file, asked });
            }
            (Some(name), _) => Some(name),
            (None, asked) => match asked.or_else(|| req.env.stack.clone()) {
                Some(name) if !crate::config::stack::valid_stack_name(&name) => {
                    return Err(OpsError::InvalidStackName { name });
                }
                name => name,
            },
        };
        let kube = match &target {
            Target::Remote { .. } => {
                let stack_kube = crate::live::kube::KubeStack {
                    kubeconfig: environment.and_then(|e| e.kubeconfig.clone()).map(|p| {
                        if p.is_relative() {
                            req.dir.join(p)
                        } else {
                            p
                        }
                    }),
                    context: environment.and_then(|e| e.kube_context.clone()),
                    namespace: environment.and_then(|e| e.kube_namespace.clone()),
                };
                crate::live::kube::resolve(&req.kube, &req.env.kube, &stack_kube).map(Box::new)
            }
            Target::Local { .. } => None,
        };
        Ok(Settings {
            kube,
            stack_named: stack.is_some(),
            stack: stack.unwrap_or_else(|| DEFAULT_STACK.to_string()),
            target,
            prune: req.prune || req.destroy || stack_file.is_some_and(|s| s.prune),
            build_timeout_secs,
            build_timeout_override: req.build_timeout.map(|t| t.as_secs().max(1)),
            warnings,
        })
    }
}

impl Settings {
    /// A stack name is required on any target but the implicit local cluster: two
    /// repositories applying to one cluster as `default` would prune each other's objects.
    pub fn check_stack(&self) -> Result<(), OpsError> {
        if self.stack_named || self.target.is_implicit() {
            return Ok(());
        }
        Err(OpsError::NoStackName { target: self.target.display() })
    }
}

/// The stack name of a loaded config: the stack file's, else [`DEFAULT_STACK`].
pub fn stack_name(loaded: &Loaded) -> String {
    loaded
        .stack
        .as_ref()
        .map(|s| s.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_STACK.to_string())
}
