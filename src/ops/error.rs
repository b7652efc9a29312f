//! Why an operation did not happen: one typed error per cause, each with the sentence the person
//! reads. Diagnostics come back whole, with the sources to show them against.

use std::path::PathBuf;

use crate::apply::lock::LockError;
use crate::apply::staleness::Stale;
use crate::config::Loaded;
use crate::diag::Diagnostics;
use crate::live::target::TargetError;
use crate::live::LiveError;
use crate::plan::file::PlanFileError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The config (or the plan made from it) has errors; show them with their sources.
    #[error("the configuration is invalid: {} error(s)", .diags.error_count())]
    Invalid { diags: Diagnostics, loaded: Box<Loaded> },
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot read the cluster: {0}")]
    Cluster(#[from] LiveError),
    #[error("{}", chain(.0))]
    PlanFile(#[from] PlanFileError),
    #[error("destroy takes a config directory, not a saved plan")]
    DestroySavedPlan,
    #[error(
        "the configuration in {} is not the one {} was made from (it changed, or --env/--var \
         differ); plan again, or pass the right --config-dir",
        .dir.display(), .plan.display()
    )]
    ConfigChanged { dir: PathBuf, plan: PathBuf },
    #[error("{}: {why}; a saved plan applies exactly what it was made with (`cordium apply {}` alone), or plan again", .plan.display(), .plan.display())]
    SavedPlanFlag { plan: PathBuf, why: String },
    #[error(
        "{} was made with other variables: {}; plan again, or give them as when it was made",
        .plan.display(), .differences.join("; ")
    )]
    SavedPlanVariables { plan: PathBuf, differences: Vec<String> },
    #[error(
        "{} was made from the config in {root}, which is not a directory here (nor is it \
         beside the plan file); run where that checkout is, or pass --config-dir",
        .plan.display()
    )]
    SavedPlanRoot { plan: PathBuf, root: String },
    #[error(
        "{} was made for {made_for}, but the target is {target}; choose the same target",
        .plan.display()
    )]
    TargetChanged { plan: PathBuf, made_for: String, target: String },
    #[error(
        "{} is stale: {} object(s) changed since it was made; plan again:\n{}",
        .plan.display(), .objects.len(),
        .objects.iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
    )]
    Stale { plan: PathBuf, objects: Vec<Stale> },
    #[error(
        "refusing to change the cluster without confirmation: stdin is not a terminal; pass \
         --auto-approve"
    )]
    NotConfirmed,
    #[error("{}", chain(.0))]
    Lock(#[from] LockError),
    /// Kubernetes access is configured and cannot be used (docs/kubernetes.md).
    #[error(transparent)]
    Kube(#[from] crate::live::kube::KubeError),
    #[error("{}", chain(.0))]
    Unlock(#[from] crate::apply::lock::UnlockError),
    #[error(
        "the embedded local cluster's apply lock is a file lock ({lock}): the OS releases it when \
         the process holding it ends, so there is nothing to force-unlock; end that process (a \
         refusal names its pid)"
    )]
    FileLockNotForced { lock: String },
    #[error(
        "`{target}` is the embedded local cluster, which has no sessions; login and logout are \
         for a cluster reached over gRPC (--endpoint, --domain, CORDIUM_ENDPOINT or \
         OCTELIUM_DOMAIN)"
    )]
    NoSessions { target: String },
    #[error(
        "set OCTELIUM_AUTH_TOKEN to the authentication token whose session to open or end \
         (sessions are cached per cluster and token), or OCTELIUM_AUTH_ASSERTION to log in with \
         an OIDC assertion"
    )]
    NoAuthToken,
    #[error(
        "the apply lock of stack `{stack}` was lost before anything was changed ({reason}); \
         run apply again"
    )]
    LockLost { stack: String, reason: String },
    #[error(
        "the apply lock of stack `{stack}` lives in {space}, which does not exist yet, and this \
         apply does not create it (--target/--exclude); include {space} so the lock can be \
         taken in it, or apply it first"
    )]
    LockSpaceMissing { stack: String, space: String },
    #[error(
        "a stack name is required to apply to {target}: without one, two configurations applied \
         to one cluster would take each other's objects for their own; add the line \
         `stack \"NAME\" {{}}` to cordium.hcl (or `stack: {{name: NAME}}` to cordium.yaml) at the \
         config root, or pass --stack NAME (CORDIUM_STACK)"
    )]
    NoStackName { target: String },
    #[error(
        "the stack file names the stack `{file}`, but --stack says `{asked}`; drop one of them"
    )]
    StackMismatch { file: String, asked: String },
    #[error(
        "`{name}` is not a stack name: 1 to 32 lowercase letters, digits and `-`, starting with \
         a letter or digit"
    )]
    InvalidStackName { name: String },
    #[error("{}; nothing was changed", .reasons.join("; "))]
    Gated { reasons: Vec<String> },
    #[error("{signal} before anything was changed: stopped, and the apply lock was released")]
    Interrupted { signal: &'static str },
    #[error(
        "the stack's lock Space {space} was created by another apply while this one started; \
         nothing was changed; run apply again"
    )]
    LockSpaceAppeared { space: String },
    #[error(transparent)]
    Export(#[from] super::export::ExportError),
    #[error("apply record {path}: {message}")]
    Record { path: String, message: String },
    #[error(
        "environment `{name}` is not in the stack file{}",
        if .known.is_empty() { String::new() } else { format!(" (known: {})", .known.join(", ")) }
    )]
    UnknownEnvironment { name: String, known: Vec<String> },
    #[error("{record} is a record of {got}, not of {want}")]
    RecordMismatch { record: String, got: String, want: String },
}

/// An error and its sources, `: `-separated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
