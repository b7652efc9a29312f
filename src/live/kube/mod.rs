//! Kubernetes access through `kube` (docs/kubernetes.md): the VolumeSnapshots that Template
//! pre-builds leave behind (`snapshot.storage.k8s.io/v1`, a CRD: our own type with only the
//! fields we read, [`VolumeSnapshot`]) and the `coordination.k8s.io/v1` Lease of the apply lock.
//!
//! - [`KubeAccess`]: where the cluster is (kubeconfig path and context, or in-cluster) and the
//!   namespace; resolved by `ops::settings`.
//! - [`snapshot_state`] and the conditions [`is_ready`], [`has_failed`]: pure functions over an
//!   observed object, in the style of `kube::runtime::wait::conditions`.
//! - [`Kube::wait_snapshot`]: a watch (`kube::runtime::watcher::watch_object`, no polling) until
//!   a snapshot is ready or failed, with a timeout and a report of each change of state.
//! - [`Kube::get_lease`] and friends: the Lease calls, their errors as [`LiveError`]s so the lock
//!   code treats them like those of the other lock places.

pub mod snapshot;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, PostParams, Preconditions};
use kube::Api;

use super::{ErrorCode, LiveError};
pub use snapshot::{has_failed, is_ready, snapshot_state, SnapshotState, VolumeSnapshot};

/// The namespace used when none is configured (where Octelium's controllers live).
pub const DEFAULT_NAMESPACE: &str = "octelium";

/// `--kubeconfig`, `--kube-context`, `--kube-namespace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeFlags {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// `--snapshot-timeout`.
    pub snapshot_timeout: Option<Duration>,
}

/// How long apply waits for a finished build's VolumeSnapshot by default.
pub const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// What the environment says: `KUBECONFIG` (its first path), and whether this runs in a pod
/// (`KUBERNETES_SERVICE_HOST` is set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeEnv {
    pub kubeconfig: Option<String>,
    pub in_cluster: bool,
}

/// The stack file environment's `kubeconfig`, `kube_context` and `kube_namespace` (a relative
/// kubeconfig already joined to the config root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeStack {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// Kubernetes access for a target: flags beat the stack file's environment, which beats
/// `KUBECONFIG`, which beats the in-cluster service account; none of them: no access (`None`).
/// Each of the kubeconfig, context and namespace is chosen that way on its own; the namespace
/// defaults to [`DEFAULT_NAMESPACE`].
pub fn resolve(flags: &KubeFlags, env: &KubeEnv, stack: &KubeStack) -> Option<KubeAccess> {
    let from_env = env
        .kubeconfig
        .as_deref()
        .and_then(|k| k.split(':').find(|p| !p.trim().is_empty()))
        .map(PathBuf::from);
    let source = match flags.kubeconfig.clone().or_else(|| stack.kubeconfig.clone()).or(from_env) {
        Some(path) => KubeSource::Kubeconfig(path),
        None if env.in_cluster => KubeSource::InCluster,
        None => return None,
    };
    Some(KubeAccess {
        source,
        context: flags.context.clone().or_else(|| stack.context.clone()),
        namespace: flags
            .namespace
            .clone()
            .or_else(|| stack.namespace.clone())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
        snapshot_timeout: flags.snapshot_timeout.unwrap_or(DEFAULT_SNAPSHOT_TIMEOUT),
    })
}

/// Where the Kubernetes API is, for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeAccess {
    pub source: KubeSource,
    /// The context to use (a kubeconfig's current one when `None`).
    pub context: Option<String>,
    /// The namespace of the VolumeSnapshots and of the Lease.
    pub namespace: String,
    /// How long apply waits for a finished build's snapshot to appear and be ready.
    pub snapshot_timeout: Duration,
}

/// How the API is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeSource {
    /// A kubeconfig file.
    Kubeconfig(PathBuf),
    /// The pod's service account (`KUBERNETES_SERVICE_HOST` is set).
    InCluster,
}

impl KubeAccess {
    /// How messages name it: `kubeconfig .cordium/kubeconfig, namespace octelium`.
    pub fn describe(&self) -> String {
        let place = match &self.source {
            KubeSource::Kubeconfig(p) => format!("kubeconfig {}", p.display()),
            KubeSource::InCluster => "the in-cluster service account".to_string(),
        };
        match &self.context {
            Some(c) => format!("{place} (context {c}), namespace {}", self.namespace),
            None => format!("{place}, namespace {}", self.namespace),
        }
    }
}

/// Why Kubernetes could not be reached or asked.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot read the kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("cannot use the Kubernetes access configured ({access}): {message}")]
    Config { access: String, message: String },
    /// The `snapshot.storage.k8s.io/v1` VolumeSnapshot CRD is not installed.
    #[error(
        "the Kubernetes API at {server} does not serve volumesnapshots.snapshot.storage.k8s.io/v1 \
         (is the CSI snapshot CRD installed?): {message}"
    )]
    MissingCrd { server: String, message: String },
    /// RBAC refused a call: which verb on which resource.
    #[error(
        "Kubernetes refused to {verb} {resource} in namespace {namespace} (RBAC: grant the verb \
         `{verb}` on `{resource}`): {message}"
    )]
    Forbidden { verb: String, resource: String, namespace: String, message: String },
    #[error("Kubernetes could not {verb} {resource}: {message}")]
    Api { verb: String, resource: String, message: String },
}

/// A connected client and its namespace.
#[derive(Clone)]
pub struct Kube {
    client: kube::Client,
    namespace: String,
    server: String,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .finish()
    }
}

const SNAPSHOTS: &str = "volumesnapshots.snapshot.storage.k8s.io";
const LEASES: &str = "leases.coordination.k8s.io";

impl Kube {
    /// Builds a client for `access` (reads the kubeconfig; makes no call yet).
    pub async fn connect(access: &KubeAccess) -> Result<Kube, KubeError> {
        let config_err = |message: String| KubeError::Config { access: access.describe(), message };
        let config = match &access.source {
            KubeSource::Kubeconfig(path) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                    KubeError::Kubeconfig {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    }
                })?;
                let options = kube::config::KubeConfigOptions {
                    context: access.context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| config_err(e.to_string()))?
            }
            KubeSource::InCluster => {
                kube::Config::incluster().map_err(|e| config_err(e.to_string()))?
            }
        };
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| config_err(e.to_string()))?;
        Ok(Kube { client, namespace: access.namespace.clone(), server })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn snapshots(&self) -> Api<VolumeSnapshot> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn leases(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// The error of a call `verb` on `resource`.
    fn error(&self, verb: &str, resource: &str, e: kube::Error) -> KubeError {
        match e {
            kube::Error::Api(s) if s.code == 403 => KubeError::Forbidden {
                verb: verb.to_string(),
                resource: resource.to_string(),
                namespace: self.namespace.clone(),
                message: s.message.clone(),
            },
            kube::Error::Api(s) if s.code == 404 && resource == SNAPSHOTS && verb != "get" => {
                KubeError::MissingCrd { server: self.server.clone(), message: s.message.clone() }
            }
            e => KubeError::Api {
                verb: verb.to_string(),
                resource: resource.to_string(),
                message: e.to_string(),
            },
        }
    }

    /// The snapshot `name` as it is now (`None`: it does not exist).
    pub async fn get_snapshot(&self, name: &str) -> Result<Option<VolumeSnapshot>, KubeError> {
        match self.snapshots().get_opt(name).await {
            Ok(s) => Ok(s),
            // A 404 for a name is a missing object; a missing CRD shows on the list instead.
            Err(e) => Err(self.error("get", SNAPSHOTS, e)),
        }
    }

    /// Every snapshot of the namespace (one call, for the plan).
    pub async fn list_snapshots(&self) -> Result<Vec<VolumeSnapshot>, KubeError> {
        self.snapshots()
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .map_err(|e| self.error("list", SNAPSHOTS, e))
    }

    /// Watches snapshot `name` until it is ready or failed, at most `timeout`; `seen` is told
    /// each state it passes through (once per change). The state it ended in, or why not.
    pub async fn wait_snapshot(
        &self,
        name: &str,
        timeout: Duration,
        seen: &mut (dyn FnMut(&SnapshotState) + Send),
    ) -> Result<SnapshotState, WaitError> {
        let began = Instant::now();
        let stream = kube::runtime::watcher::watch_object(self.snapshots(), name);
        let mut stream = std::pin::pin!(stream);
        let mut last: Option<SnapshotState> = None;
        let mut transient = 0u32;
        loop {
            let left = timeout.saturating_sub(began.elapsed());
            let next = match tokio::time::timeout(left, stream.next()).await {
                Err(_) => {
                    return Err(WaitError::Timeout {
                        name: name.to_string(),
                        namespace: self.namespace.clone(),
                        timeout,
                        last: last.unwrap_or(SnapshotState::Missing),
                    })
                }
                Ok(None) => {
                    return Err(WaitError::Kube(KubeError::Api {
                        verb: "watch".into(),
                        resource: SNAPSHOTS.into(),
                        message: "the watch ended".into(),
                    }))
                }
                Ok(Some(n)) => n,
            };
            let object = match next {
                Ok(o) => o,
                Err(e) => {
                    let (verb, inner) = match e {
                        kube::runtime::watcher::Error::InitialListFailed(e) => ("list", e),
                        kube::runtime::watcher::Error::WatchStartFailed(e)
                        | kube::runtime::watcher::Error::WatchFailed(e) => ("watch", e),
                        kube::runtime::watcher::Error::WatchError(s) => {
                            ("watch", kube::Error::Api(s))
                        }
                        kube::runtime::watcher::Error::NoResourceVersion => {
                            return Err(WaitError::Kube(KubeError::Api {
                                verb: "list".into(),
                                resource: SNAPSHOTS.into(),
                                message: "the list carried no resourceVersion".into(),
                            }))
                        }
                    };
                    let api = matches!(&inner, kube::Error::Api(s) if (400..500).contains(&s.code) && s.code != 410 && s.code != 429);
                    if api || transient >= 5 {
                        return Err(WaitError::Kube(self.error(verb, SNAPSHOTS, inner)));
                    }
                    transient += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(transient))).await;
                    continue;
                }
            };
            let state = snapshot_state(object.as_ref());
            if last.as_ref() != Some(&state) {
                seen(&state);
            }
            if matches!(state, SnapshotState::Ready { .. } | SnapshotState::Failed { .. }) {
                return Ok(state);
            }
            last = Some(state);
        }
    }

    // ---- Leases ----------------------------------------------------------------------------

    fn live(&self, verb: &str, name: &str, e: kube::Error) -> LiveError {
        let operation = format!("{verb} Lease {name} in namespace {}", self.namespace);
        match e {
            kube::Error::Api(s) => {
                let code = match s.code {
                    404 => ErrorCode::NotFound,
                    409 if s.reason == "AlreadyExists" => ErrorCode::AlreadyExists,
                    409 => ErrorCode::FailedPrecondition,
                    403 => ErrorCode::PermissionDenied,
                    401 => ErrorCode::Unauthenticated,
                    400 | 422 => ErrorCode::InvalidArgument,
                    429 | 500.. => ErrorCode::Transient,
                    _ => ErrorCode::Other,
                };
                let message = match code {
                    ErrorCode::PermissionDenied => format!(
                        "{} (RBAC: grant the verb `{verb}` on `{LEASES}` in namespace {})",
                        s.message, self.namespace
                    ),
                    _ => s.message.clone(),
                };
                LiveError { code, operation, message }
            }
            e => LiveError { code: ErrorCode::Transient, operation, message: e.to_string() },
        }
    }

    pub async fn get_lease(&self, name: &str) -> Result<Lease, LiveError> {
        self.leases().get(name).await.map_err(|e| self.live("get", name, e))
    }

    /// Creates `lease`; a taken name answers [`ErrorCode::AlreadyExists`].
    pub async fn create_lease(&self, lease: &Lease) -> Result<Lease, LiveError> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        self.leases()
            .create(&PostParams::default(), lease)
            .await
            .map_err(|e| self.live("create", &name, e))
    }

    /// Replaces `lease` (its `metadata.resourceVersion` must be the current one: else
    /// [`ErrorCode::FailedPrecondition`], a lost race).
    pub async fn replace_lease(&self, lease: &Lease) -> Result<Lease, LiveError> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        self.leases()
            .replace(&name, &PostParams::default(), lease)
            .await
            .map_err(|e| self.live("update", &name, e))
    }

    /// Deletes Lease `name` if its uid is `uid` and (when given) its resourceVersion is
    /// `version`: another object of that name, or one written since, is left alone (answered as
    /// [`ErrorCode::NotFound`]: the one asked for is gone).
    pub async fn delete_lease(
        &self,
        name: &str,
        uid: &str,
        version: Option<&str>,
    ) -> Result<(), LiveError> {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: version.map(str::to_string),
            }),
            ..Default::default()
        };
        match self.leases().delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(LiveError {
                code: ErrorCode::NotFound,
                operation: format!("delete Lease {name} in namespace {}", self.namespace),
                message: format!(
                    "the Lease is another object now (uid precondition): {}",
                    s.message
                ),
            }),
            Err(e) => Err(self.live("delete", name, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_is_resolved_flags_first_then_the_stack_then_the_environment() {
        let none = KubeFlags::default();
        assert_eq!(resolve(&none, &KubeEnv::default(), &KubeStack::default()), None);
        let env = KubeEnv { kubeconfig: Some(":/e/one:/e/two".into()), in_cluster: true };
        let got = resolve(&none, &env, &KubeStack::default()).expect("from KUBECONFIG");
        assert_eq!(got.source, KubeSource::Kubeconfig("/e/one".into()));
        assert_eq!(got.namespace, DEFAULT_NAMESPACE);
        let stack = KubeStack {
            kubeconfig: Some("/s/k".into()),
            context: Some("prod".into()),
            namespace: Some("ops".into()),
        };
        let got = resolve(&none, &env, &stack).expect("from the stack file");
        assert_eq!(got.source, KubeSource::Kubeconfig("/s/k".into()));
        assert_eq!((got.context.as_deref(), got.namespace.as_str()), (Some("prod"), "ops"));
        let flags = KubeFlags {
            kubeconfig: Some("/f/k".into()),
            namespace: Some("x".into()),
            ..Default::default()
        };
        let got = resolve(&flags, &env, &stack).expect("from the flags");
        assert_eq!(got.source, KubeSource::Kubeconfig("/f/k".into()));
        assert_eq!((got.context.as_deref(), got.namespace.as_str()), (Some("prod"), "x"));
        let pod = KubeEnv { kubeconfig: None, in_cluster: true };
        let got = resolve(&none, &pod, &KubeStack::default()).expect("in a pod");
        assert_eq!(got.source, KubeSource::InCluster);
        assert!(got.describe().contains("in-cluster"), "{}", got.describe());
    }
}

/// Why waiting for a snapshot ended without it being ready or failed.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Kube(KubeError),
    #[error("{}", timeout_text(.name, .namespace, .timeout, .last))]
    Timeout { name: String, namespace: String, timeout: Duration, last: SnapshotState },
}

fn timeout_text(name: &str, namespace: &str, timeout: &Duration, last: &SnapshotState) -> String {
    let t = humantime::format_duration(Duration::from_secs(timeout.as_secs()));
    match last {
        SnapshotState::Missing => format!(
            "VolumeSnapshot {name} never appeared in namespace {namespace} within {t} (does the \
             controller create snapshots there? check the namespace setting)"
        ),
        _ => format!(
            "VolumeSnapshot {name} in namespace {namespace} was not readyToUse within {t} (still \
             {})",
            last.describe()
        ),
    }
}
