//! Retry policy for reads: which gRPC codes are transient, and exponential backoff with full
//! jitter, bounded in attempts and in total time. Writes are never retried here (their outcome is
//! unknown after a transient error; the apply executor decides). Pure apart from the random
//! jitter.

use std::time::Duration;

use rand::Rng;

use super::ErrorCode;

/// How hard a read tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; doubles each retry.
    pub initial_backoff: Duration,
    /// The largest single wait.
    pub max_backoff: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
            max_elapsed: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The backoff ceiling before retry number `retry` (0-based): `initial · 2^retry`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// A random wait in `[ceiling/2, ceiling]` ("equal jitter": spreads clients apart without
    /// retrying instantly).
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half).as_millis() as u64;
        half + Duration::from_millis(rand::rng().random_range(0..=spread))
    }

    /// Whether another attempt may start, after `attempts` made and `elapsed` spent, waiting
    /// `next_delay` first.
    pub fn may_retry(
        &self,
        code: ErrorCode,
        attempts: u32,
        elapsed: Duration,
        next_delay: Duration,
    ) -> bool {
        code == ErrorCode::Transient
            && attempts < self.max_attempts
            && elapsed + next_delay <= self.max_elapsed
    }
}

/// Whether a read that failed with `code` is worth repeating: the transient codes, and also
/// OUT_OF_RANGE and INTERNAL. Upstream's store answers a conflicting concurrent change as
/// OUT_OF_RANGE (octelium `cluster/rscserver/rscserver/rerr/rerr.go` ResourceChanged, L50-53),
/// and the API server turns any failure of its store that is not the user's fault into INTERNAL
/// "Internal error" (`cluster/apiserver/apiserver/serr/err.go` InternalWithErr, L55-86): both
/// pass when read again. Only for reads: a write answered INTERNAL may have been committed.
pub fn retryable_read(code: tonic::Code) -> bool {
    use tonic::Code;
    classify(code) == ErrorCode::Transient || matches!(code, Code::OutOfRange | Code::Internal)
}

/// The error class of a gRPC status code.
pub fn classify(code: tonic::Code) -> ErrorCode {
    use tonic::Code;
    match code {
        Code::NotFound => ErrorCode::NotFound,
        Code::AlreadyExists => ErrorCode::AlreadyExists,
        Code::InvalidArgument | Code::OutOfRange => ErrorCode::InvalidArgument,
        Code::PermissionDenied => ErrorCode::PermissionDenied,
        Code::Unauthenticated => ErrorCode::Unauthenticated,
        Code::FailedPrecondition => ErrorCode::FailedPrecondition,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted => {
            ErrorCode::Transient
        }
        _ => ErrorCode::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
            ..RetryPolicy::default()
        };
        let c: Vec<u128> = (0..5).map(|i| p.ceiling(i).as_millis()).collect();
        assert_eq!(c, [100, 200, 400, 700, 700]);
        assert_eq!(p.ceiling(500), Duration::from_millis(700));
        for i in 0..5 {
            let d = p.delay(i);
            assert!(d <= p.ceiling(i) && d >= p.ceiling(i) / 2, "{d:?}");
        }
    }

    #[test]
    fn only_transient_codes_are_retried_within_bounds() {
        let p = RetryPolicy::default();
        let z = Duration::ZERO;
        assert!(p.may_retry(ErrorCode::Transient, 1, z, z));
        assert!(!p.may_retry(ErrorCode::NotFound, 1, z, z));
        assert!(!p.may_retry(ErrorCode::Transient, p.max_attempts, z, z));
        assert!(!p.may_retry(ErrorCode::Transient, 1, p.max_elapsed, Duration::from_millis(1)));
        assert!(!RetryPolicy::none().may_retry(ErrorCode::Transient, 1, z, z));
    }

    #[test]
    fn status_codes_map_to_error_classes() {
        use tonic::Code;
        for c in [Code::Unavailable, Code::DeadlineExceeded, Code::ResourceExhausted, Code::Aborted]
        {
            assert_eq!(classify(c), ErrorCode::Transient);
        }
        assert_eq!(classify(Code::NotFound), ErrorCode::NotFound);
        assert_eq!(classify(Code::Internal), ErrorCode::Other);
        assert_eq!(classify(Code::Unauthenticated), ErrorCode::Unauthenticated);
    }

    #[test]
    fn reads_also_retry_out_of_range_and_internal() {
        use tonic::Code;
        for c in [Code::Unavailable, Code::OutOfRange, Code::Internal, Code::Aborted] {
            assert!(retryable_read(c), "{c:?}");
        }
        for c in [Code::NotFound, Code::InvalidArgument, Code::PermissionDenied, Code::Unknown] {
            assert!(!retryable_read(c), "{c:?}");
        }
    }
}
