//! Simulated Template pre-builds (API reference §8) and the clock they run on.
//!
//! A build never runs anywhere: its outcome is decided lazily, whenever the Template is read,
//! from the stored `startedAt`, the injected [`Clock`] and a seeded choice per build, so no
//! background task is needed and tests are deterministic.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};

use crate::live::wire::cordium::{self, template::status::build_info};

/// Where the local cluster gets "now".
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How simulated builds behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildSettings {
    /// How long a build runs before it finishes.
    pub duration: Duration,
    /// The probability (0..=1) that a finished build failed.
    pub fail_rate: f64,
    /// Seeds the per-build outcome.
    pub seed: u64,
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings { duration: Duration::from_secs(5), fail_rate: 0.0, seed: 0 }
    }
}

/// Builds kept per Template (upstream keeps at most 1000, trimming to 998 before prepending).
pub const MAX_BUILDS: usize = 1000;

/// A timestamp from a system time.
pub fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn to_system_time(t: &prost_types::Timestamp) -> SystemTime {
    let secs = u64::try_from(t.seconds).unwrap_or(0);
    let nanos = u32::try_from(t.nanos).unwrap_or(0);
    UNIX_EPOCH + Duration::new(secs, nanos)
}

/// Whether the outcome of build `id` of template `uid` is a failure (seeded, order-free).
fn fails(settings: &BuildSettings, template_uid: &str, id: &str) -> bool {
    if settings.fail_rate <= 0.0 {
        return false;
    }
    // FNV-1a over the identity, mixed with the seed: the same build always ends the same way.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ settings.seed;
    for b in template_uid.bytes().chain([b'/']).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(h);
    rng.random::<f64>() < settings.fail_rate
}

/// Finishes the running build of `template` if its time has come; whether anything changed.
pub fn settle(template: &mut cordium::Template, settings: &BuildSettings, now: SystemTime) -> bool {
    let uid = template.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default();
    let Some(info) = template.status.as_mut().and_then(|s| s.build_info.as_mut()) else {
        return false;
    };
    if info.current_running_build_id.is_empty() {
        return false;
    }
    let running = info.current_running_build_id.clone();
    let Some(build) = info.builds.iter_mut().find(|b| b.id == running) else {
        info.current_running_build_id.clear();
        return true;
    };
    let started = build.started_at.as_ref().map(to_system_time).unwrap_or(now);
    let done_at = started + settings.duration;
    if now < done_at {
        return false;
    }
    build.done_at = Some(timestamp(done_at));
    if fails(settings, &uid, &build.id) {
        build.set_state(build_info::build::State::Failed);
        build.failure = Some(cordium::workspace::status::Failure {
            message: "The simulated build failed".to_string(),
            r#type: Some(cordium::workspace::status::failure::Type::Task(
                cordium::workspace::status::failure::Task {
                    name: "build".to_string(),
                    exit_code: 1,
                },
            )),
        });
    } else {
        build.set_state(build_info::build::State::Ready);
        info.current_ready_build_id = build.id.clone();
    }
    info.current_running_build_id.clear();
    true
}

/// Cancels the running build, if any (upstream `doCancelBuild`); whether anything changed.
pub fn cancel(template: &mut cordium::Template, now: SystemTime) -> bool {
    let Some(info) = template.status.as_mut().and_then(|s| s.build_info.as_mut()) else {
        return false;
    };
    if info.current_running_build_id.is_empty() {
        return false;
    }
    let running = std::mem::take(&mut info.current_running_build_id);
    if let Some(b) = info.builds.iter_mut().find(|b| b.id == running) {
        b.is_canceled = true;
        b.set_state(build_info::build::State::Failed);
        b.done_at = Some(timestamp(now));
    }
    true
}

/// Prepends a new running build (after cancelling any running one).
pub fn start(template: &mut cordium::Template, id: String, tags: Vec<String>, now: SystemTime) {
    cancel(template, now);
    let status = template.status.get_or_insert_with(Default::default);
    let info = status.build_info.get_or_insert_with(Default::default);
    if info.builds.len() >= MAX_BUILDS {
        info.builds.truncate(MAX_BUILDS - 2);
    }
    let mut build = build_info::Build {
        id: id.clone(),
        tags,
        started_at: Some(timestamp(now)),
        ..Default::default()
    };
    build.set_state(build_info::build::State::Running);
    info.builds.insert(0, build);
    info.current_running_build_id = id;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::live::wire::meta;

    fn template() -> cordium::Template {
        cordium::Template {
            metadata: Some(meta::Metadata { uid: "t-uid".into(), ..Default::default() }),
            status: Some(Default::default()),
            ..Default::default()
        }
    }

    fn info(t: &cordium::Template) -> &cordium::template::status::BuildInfo {
        t.status.as_ref().unwrap().build_info.as_ref().unwrap()
    }

    #[test]
    fn runs_then_ready() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1000));
        let s = BuildSettings { duration: Duration::from_secs(10), fail_rate: 0.0, seed: 1 };
        let mut t = template();
        start(&mut t, "abc123".into(), vec!["latest".into()], clock.now());
        assert!(!settle(&mut t, &s, clock.now()));
        assert_eq!(info(&t).current_running_build_id, "abc123");
        clock.advance(Duration::from_secs(10));
        assert!(settle(&mut t, &s, clock.now()));
        let i = info(&t);
        assert_eq!(i.current_ready_build_id, "abc123");
        assert!(i.current_running_build_id.is_empty());
        assert_eq!(i.builds[0].state(), build_info::build::State::Ready);
        assert_eq!(i.builds[0].done_at.as_ref().unwrap().seconds, 1010);
    }

    #[test]
    fn fail_rate_one_always_fails() {
        let s = BuildSettings { duration: Duration::ZERO, fail_rate: 1.0, seed: 7 };
        let mut t = template();
        let now = UNIX_EPOCH + Duration::from_secs(5);
        start(&mut t, "b1".into(), vec![], now);
        assert!(settle(&mut t, &s, now));
        let i = info(&t);
        assert_eq!(i.builds[0].state(), build_info::build::State::Failed);
        assert!(i.builds[0].failure.is_some());
        assert!(i.current_ready_build_id.is_empty());
    }

    #[test]
    fn new_build_cancels_running_one() {
        let now = UNIX_EPOCH + Duration::from_secs(5);
        let mut t = template();
        start(&mut t, "b1".into(), vec![], now);
        start(&mut t, "b2".into(), vec![], now);
        let i = info(&t);
        assert_eq!(i.builds.len(), 2);
        assert_eq!(i.builds[0].id, "b2");
        assert!(i.builds[1].is_canceled);
        assert_eq!(i.builds[1].state(), build_info::build::State::Failed);
        assert_eq!(i.current_running_build_id, "b2");
    }

    #[test]
    fn outcome_is_seeded() {
        let s = BuildSettings { duration: Duration::ZERO, fail_rate: 0.5, seed: 42 };
        let a: Vec<bool> = (0..64).map(|i| fails(&s, "t", &i.to_string())).collect();
        let b: Vec<bool> = (0..64).map(|i| fails(&s, "t", &i.to_string())).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }
}
