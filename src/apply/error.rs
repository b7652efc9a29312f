//! [`ApplyError`]: why one step of an apply failed, classified by [`ErrorKind`] so the executor
//! and the view can tell a retryable failure from a conflict, a missing object, a refusal or an
//! invalid request. Messages name the address and never hold a secret value or a token (the
//! server's messages reach us already scrubbed of tokens by `live`).

use std::time::Duration;

use crate::live::{ErrorCode, LiveError};
use crate::model::Address;

/// What kind of failure an [`ApplyError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Transient: the same step may succeed if run again later.
    Retry,
    /// The cluster holds something that contradicts the plan (taken name, duplicate, stale plan).
    Conflict,
    NotFound,
    /// Refused: permissions or credentials.
    Denied,
    /// The request itself is wrong (or the plan does not fit the configuration).
    Invalid,
    /// The operation ran and failed (a build failed or timed out).
    Failed,
    /// Apply was stopped (SIGINT or SIGTERM) while the step ran.
    Interrupted,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Retry => "retry",
            ErrorKind::Conflict => "conflict",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Denied => "denied",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Failed => "failed",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// The kind of a cluster error.
    pub fn of_code(code: ErrorCode) -> ErrorKind {
        match code {
            ErrorCode::Transient => ErrorKind::Retry,
            ErrorCode::AlreadyExists | ErrorCode::FailedPrecondition => ErrorKind::Conflict,
            ErrorCode::NotFound => ErrorKind::NotFound,
            ErrorCode::PermissionDenied | ErrorCode::Unauthenticated => ErrorKind::Denied,
            ErrorCode::InvalidArgument => ErrorKind::Invalid,
            ErrorCode::Other => ErrorKind::Failed,
        }
    }
}

/// Why a step failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApplyError {
    /// The cluster refused or failed a call.
    #[error("{address}: the cluster refused the request")]
    Live {
        address: Address,
        #[source]
        source: Box<LiveError>,
    },
    /// Transient failures went on past the retry budget.
    #[error("{address}: gave up after {attempts} attempts over {}", secs(*.elapsed))]
    GaveUp {
        address: Address,
        attempts: u32,
        elapsed: Duration,
        #[source]
        source: Box<LiveError>,
    },
    /// A create's outcome is unknown and the object could not be read back to find out.
    #[error(
        "{address}: the create may or may not have happened, and reading it back failed; \
         run plan again to see"
    )]
    Unknown {
        address: Address,
        #[source]
        source: Box<LiveError>,
    },
    #[error(
        "{address} already exists on the cluster as {name}, and this apply did not create it; \
         run plan again (import it, or remove it from the cluster)"
    )]
    Exists { address: Address, name: String },
    #[error(
        "{address}: {count} Workspaces named `{}` exist in Space {space} ({names}); \
         delete all but one",
        .address.name
    )]
    Duplicate { address: Address, space: String, count: usize, names: String },
    /// The plan and the configuration it is applied with do not fit together.
    #[error("{address}: {message}")]
    Plan { address: Address, message: String },
    /// A Secret's value source could not be read (the message names the source, never a value).
    #[error("{address}: cannot read the secret value: {message}")]
    SecretValue { address: Address, message: String },
    #[error("{address}: build {build_id} failed: {message}")]
    BuildFailed { address: Address, build_id: String, message: String },
    #[error("{address}: build {build_id} did not finish within {}; {outcome}", secs(*.timeout))]
    BuildTimeout { address: Address, build_id: String, timeout: Duration, outcome: String },
    /// The build is READY, and its VolumeSnapshot failed, never became ready, or could not be
    /// watched (docs/kubernetes.md).
    #[error("{address}: build {build_id} is READY but its snapshot is not: {message}")]
    Snapshot { address: Address, build_id: String, message: String, denied: bool },
    #[error("{address}: interrupted; {outcome}")]
    Interrupted { address: Address, outcome: String },
}

fn secs(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs().max(1))).to_string()
}

impl ApplyError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApplyError::Live { source, .. } => ErrorKind::of_code(source.code),
            ApplyError::GaveUp { .. } | ApplyError::Unknown { .. } => ErrorKind::Retry,
            ApplyError::Exists { .. } | ApplyError::Duplicate { .. } => ErrorKind::Conflict,
            ApplyError::Plan { .. } | ApplyError::SecretValue { .. } => ErrorKind::Invalid,
            ApplyError::BuildFailed { .. } | ApplyError::BuildTimeout { .. } => ErrorKind::Failed,
            ApplyError::Snapshot { denied: true, .. } => ErrorKind::Denied,
            ApplyError::Snapshot { .. } => ErrorKind::Failed,
            ApplyError::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    pub(crate) fn live(address: &Address, source: LiveError) -> Self {
        ApplyError::Live { address: address.clone(), source: Box::new(source) }
    }

    /// The message with its source chain, one line (what events and summaries show).
    pub fn report(&self) -> String {
        let mut out = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            out.push_str(": ");
            out.push_str(&s.to_string());
            source = s.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_cluster_codes_and_reports_chain_sources() {
        let a = Address::space("ml");
        let e = ApplyError::live(
            &a,
            LiveError::new(ErrorCode::PermissionDenied, "CreateSpace ml", "no"),
        );
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert_eq!(
            e.report(),
            "space.ml: the cluster refused the request: CreateSpace ml failed (permission denied): no"
        );
        let t = LiveError::new(ErrorCode::Transient, "op", "down");
        assert_eq!(ApplyError::live(&a, t.clone()).kind(), ErrorKind::Retry);
        let g = ApplyError::GaveUp {
            address: a.clone(),
            attempts: 6,
            elapsed: Duration::from_secs(20),
            source: Box::new(t),
        };
        assert!(g.to_string().contains("6 attempts over 20s"), "{g}");
        assert_eq!(
            ApplyError::Exists { address: a, name: "ml.alice".into() }.kind(),
            ErrorKind::Conflict
        );
    }
}
