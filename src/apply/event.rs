//! What apply tells the view while it runs: [`Event`]s sent to an [`Observer`] the view
//! implements, and the [`ApplyOutcome`] it returns. Plain data: apply never prints, the view
//! (`render::events`) decides how events look. No event holds a secret value.

use std::time::Duration;

use super::ErrorKind;
use crate::model::Address;
use crate::plan::StepKind;

/// Which step an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRef {
    /// The index into the plan's steps.
    pub index: usize,
    pub kind: StepKind,
    pub address: Address,
}

/// One thing that happened during an apply. Per step: `Started`, then any `Progress` and
/// `Retrying`, then exactly one of `Finished` or `Failed`; or only `Skipped` or `NotStarted`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        step: StepRef,
    },
    /// A build is still running.
    Progress {
        step: StepRef,
        build_id: String,
        /// Since the build started.
        elapsed: Duration,
        /// From past builds, when there are any.
        estimate: Option<Duration>,
        /// When apply gives up on it.
        timeout: Duration,
    },
    /// A build is READY and apply waits for its VolumeSnapshot: the state it was seen in (sent
    /// once per change of state).
    Snapshot {
        step: StepRef,
        /// `<templateUID>-<buildID>`.
        snapshot: String,
        namespace: String,
        state: crate::live::kube::SnapshotState,
        /// Since apply began waiting for it.
        elapsed: Duration,
    },
    /// A transient failure; the operation is tried again after `delay`.
    Retrying {
        step: StepRef,
        /// The attempt that failed (1 = the first).
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    Finished {
        step: StepRef,
        elapsed: Duration,
    },
    Failed {
        step: StepRef,
        error: String,
        kind: Option<ErrorKind>,
        elapsed: Duration,
    },
    /// Not run: something it depends on failed or was skipped.
    Skipped {
        step: StepRef,
        reason: String,
    },
    /// Not run: apply was stopped first.
    NotStarted {
        step: StepRef,
    },
}

impl Event {
    pub fn step(&self) -> &StepRef {
        match self {
            Event::Started { step }
            | Event::Progress { step, .. }
            | Event::Snapshot { step, .. }
            | Event::Retrying { step, .. }
            | Event::Finished { step, .. }
            | Event::Failed { step, .. }
            | Event::Skipped { step, .. }
            | Event::NotStarted { step } => step,
        }
    }

    /// The event's name in JSON output and plain lines.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::Progress { .. } => "progress",
            Event::Snapshot { .. } => "snapshot",
            Event::Retrying { .. } => "retrying",
            Event::Finished { .. } => "finished",
            Event::Failed { .. } => "failed",
            Event::Skipped { .. } => "skipped",
            Event::NotStarted { .. } => "not_started",
        }
    }
}

/// Receives events as they happen. Implemented by the view; called from one task, in order.
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event);
}

/// An observer that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ignore;

impl Observer for Ignore {
    fn event(&self, _: &Event) {}
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Done { elapsed: Duration },
    Failed { error: String, kind: Option<ErrorKind>, elapsed: Duration },
    Skipped { reason: String },
    NotStarted,
}

impl StepStatus {
    pub fn name(&self) -> &'static str {
        match self {
            StepStatus::Done { .. } => "done",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Skipped { .. } => "skipped",
            StepStatus::NotStarted => "not_started",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub step: StepRef,
    pub status: StepStatus,
}

/// What an apply did, step by step (in plan order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyOutcome {
    pub steps: Vec<StepReport>,
    /// Apply was stopped (SIGINT or SIGTERM, or the lock was lost) before it finished.
    pub interrupted: bool,
    /// The apply lock was lost while applying (why, one sentence): no operation started after.
    pub lock_lost: Option<String>,
    pub elapsed: Duration,
}

impl ApplyOutcome {
    fn with(&self, name: &'static str) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(move |s| s.status.name() == name)
    }

    pub fn done(&self) -> impl Iterator<Item = &StepReport> {
        self.with("done")
    }

    pub fn failed(&self) -> impl Iterator<Item = &StepReport> {
        self.with("failed")
    }

    pub fn skipped(&self) -> impl Iterator<Item = &StepReport> {
        self.with("skipped")
    }

    pub fn not_started(&self) -> impl Iterator<Item = &StepReport> {
        self.with("not_started")
    }

    /// Every step done, not interrupted, the lock held throughout.
    pub fn success(&self) -> bool {
        !self.interrupted
            && self.lock_lost.is_none()
            && self.steps.iter().all(|s| matches!(s.status, StepStatus::Done { .. }))
    }
}
