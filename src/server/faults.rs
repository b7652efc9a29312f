//! Fault injection of `cordium serve`, seedable: latency with jitter, and error answers at a given
//! rate, either before the operation runs (nothing written) or after it committed (the write
//! happened, the client is told it did not: what makes careless clients create twice). The error
//! is UNAVAILABLE, or OUT_OF_RANGE / INTERNAL (which a real cluster's API server answers for
//! transient storage trouble and the official CLI retries), or a mix. Applied to cordium/core
//! calls only, never to auth.

use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, SeedableRng};

/// When an injected error happens relative to the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorMode {
    /// UNAVAILABLE before the operation: nothing is written.
    #[default]
    Before,
    /// UNAVAILABLE after the operation committed.
    After,
    /// Either, half the time each.
    Both,
}

/// Which gRPC code an injected error carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultCode {
    #[default]
    Unavailable,
    OutOfRange,
    Internal,
    /// Each of the three, a third of the time.
    Mixed,
}

/// Fault settings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultOptions {
    pub latency: Duration,
    pub jitter: Duration,
    /// Probability (0..=1) of an injected error per call.
    pub error_rate: f64,
    pub error_mode: ErrorMode,
    pub error_code: FaultCode,
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    /// `Some(Before | After)` when this call fails.
    pub fail: Option<ErrorMode>,
    /// The code of the failure (meaningful when `fail` is set; never `Mixed`).
    pub code: FaultCode,
}

impl Decision {
    /// The status an injected failure answers.
    pub fn status(&self) -> tonic::Status {
        match self.code {
            FaultCode::OutOfRange => tonic::Status::out_of_range("injected fault: out of range"),
            FaultCode::Internal => tonic::Status::internal("injected fault: internal error"),
            FaultCode::Unavailable | FaultCode::Mixed => {
                tonic::Status::unavailable("injected fault: the server is unavailable")
            }
        }
    }
}

/// The seeded source of decisions. With one seed, the n-th call always gets the same decision.
#[derive(Debug)]
pub struct Faults {
    options: FaultOptions,
    rng: Mutex<rand::rngs::StdRng>,
}

impl Faults {
    pub fn new(options: FaultOptions, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::rngs::StdRng::from_os_rng(),
        };
        Faults { options, rng: Mutex::new(rng) }
    }

    /// The decision for the next call. Always draws the same amount of randomness, so the
    /// sequence depends on the seed and the call count only.
    pub fn decide(&self) -> Decision {
        let (j, roll, coin): (f64, f64, bool) = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (rng.random(), rng.random(), rng.random())
        };
        let o = &self.options;
        let delay = o.latency + o.jitter.mul_f64(j);
        let fail = (roll < o.error_rate).then_some(match o.error_mode {
            ErrorMode::Both if coin => ErrorMode::After,
            ErrorMode::Both => ErrorMode::Before,
            m => m,
        });
        // A mixed code comes from where the roll fell below the rate (uniform there), so the
        // draws per call stay three and seeded sequences of other settings are unchanged.
        let code = match o.error_code {
            FaultCode::Mixed => match (roll / o.error_rate.max(f64::MIN_POSITIVE) * 3.0) as u32 {
                0 => FaultCode::Unavailable,
                1 => FaultCode::OutOfRange,
                _ => FaultCode::Internal,
            },
            c => c,
        };
        Decision { delay, fail, code }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_decisions_repeat() {
        let o = FaultOptions { error_rate: 0.3, error_mode: ErrorMode::Both, ..Default::default() };
        let a: Vec<_> = {
            let f = Faults::new(o, Some(9));
            (0..100).map(|_| f.decide()).collect()
        };
        let f = Faults::new(o, Some(9));
        let b: Vec<_> = (0..100).map(|_| f.decide()).collect();
        assert_eq!(a, b);
        let fails = a.iter().filter(|d| d.fail.is_some()).count();
        assert!((10..60).contains(&fails), "{fails}");
        assert!(a.iter().any(|d| d.fail == Some(ErrorMode::After)));
        assert!(a.iter().any(|d| d.fail == Some(ErrorMode::Before)));
    }

    #[test]
    fn mixed_codes_are_all_drawn() {
        let o =
            FaultOptions { error_rate: 0.5, error_code: FaultCode::Mixed, ..Default::default() };
        let f = Faults::new(o, Some(3));
        let codes: Vec<tonic::Code> = (0..300)
            .map(|_| f.decide())
            .filter(|d| d.fail.is_some())
            .map(|d| d.status().code())
            .collect();
        for c in [tonic::Code::Unavailable, tonic::Code::OutOfRange, tonic::Code::Internal] {
            assert!(codes.contains(&c), "{c:?} never drawn");
        }
    }

    #[test]
    fn no_rate_no_faults() {
        let f = Faults::new(FaultOptions::default(), None);
        assert!((0..100).all(|_| f.decide().fail.is_none()));
    }
}
