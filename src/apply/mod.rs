//! Apply: walking a plan's graph against a `Cluster` under bounded concurrency, with retries and
//! build waits; partial-failure bookkeeping; the lock that keeps one apply per stack and target.
//! Never prints: it emits [`Event`]s to an [`Observer`] the view supplies. Never decides new
//! changes: it carries out the plan.
//!
//! - [`walk`]: the scheduler (dependencies, parallelism, skips, stop).
//! - [`step`]: what one step does, and the retry and read-back rules.
//! - [`staleness`]: is a saved plan still true of the cluster?
//! - [`event`]: events and the outcome.
//! - [`lock`]: the apply lock (a file next to a local store; a core Group on a remote cluster).

pub mod error;
pub mod event;
pub mod lock;
pub mod staleness;
pub mod step;
pub mod walk;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use error::{ApplyError, ErrorKind};
pub use event::{ApplyOutcome, Event, Ignore, Observer, StepRef, StepReport, StepStatus};
pub use step::{Executor, PollPolicy, SecretValues, StepInput};

use crate::live::convert::Naming;
use crate::live::retry::RetryPolicy;
use crate::live::Cluster;
use crate::model::Model;
use crate::plan::Plan;
use lock::Lease;
use walk::{StepOutcome, WalkEvent};

/// The default number of operations in flight.
pub const DEFAULT_PARALLELISM: usize = 10;

/// What apply needs besides the plan.
pub struct ApplyContext {
    pub cluster: Arc<dyn Cluster>,
    /// The desired state the plan was made from (specs to send).
    pub model: Arc<Model>,
    pub naming: Naming,
    pub secrets: Arc<dyn SecretValues>,
    /// At most this many operations in flight (at least 1).
    pub parallelism: usize,
    /// Set it (Ctrl-C) to stop: no new steps start, running builds are cancelled, writes in
    /// flight finish.
    pub stop: Arc<AtomicBool>,
    pub retry: RetryPolicy,
    pub poll: PollPolicy,
    /// The remote lock's lease: no operation starts once it has run out.
    pub lease: Option<Lease>,
}

impl ApplyContext {
    /// A context with the default parallelism, retry and poll policies.
    pub fn new(
        cluster: Arc<dyn Cluster>,
        model: Arc<Model>,
        naming: Naming,
        secrets: Arc<dyn SecretValues>,
    ) -> Self {
        ApplyContext {
            cluster,
            model,
            naming,
            secrets,
            parallelism: DEFAULT_PARALLELISM,
            stop: Arc::new(AtomicBool::new(false)),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            lease: None,
        }
    }
}

impl std::fmt::Debug for ApplyContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyContext")
            .field("parallelism", &self.parallelism)
            .finish_non_exhaustive()
    }
}

/// What each step needs from the plan and the model.
pub fn step_inputs(plan: &Plan, model: &Model) -> Vec<StepInput> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let step = StepRef { index, kind: s.kind, address: s.address.clone() };
            StepInput {
                resource: model.get(&s.address).cloned(),
                live: plan
                    .changes
                    .iter()
                    .find(|c| c.address == s.address)
                    .and_then(|c| c.live.clone()),
                build: plan.builds.iter().find(|b| b.template == s.address).cloned(),
                step,
            }
        })
        .collect()
}

/// Carries out `plan`: walks its steps in dependency order with at most `ctx.parallelism` in
/// flight, reports every event to `observer`, and returns what happened to each step.
pub async fn apply(plan: &Plan, ctx: ApplyContext, observer: &dyn Observer) -> ApplyOutcome {
    let began = Instant::now();
    let inputs: Arc<Vec<StepInput>> = Arc::new(step_inputs(plan, &ctx.model));
    let executor = Arc::new(Executor {
        cluster: ctx.cluster,
        naming: ctx.naming,
        stack: plan.stack.clone(),
        secrets: ctx.secrets,
        retry: ctx.retry,
        poll: ctx.poll,
        stop: ctx.stop.clone(),
        lease: ctx.lease,
    });
    let kinds: Arc<Mutex<Vec<Option<ErrorKind>>>> = Arc::new(Mutex::new(vec![None; inputs.len()]));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();

    let run = {
        let (inputs, executor, kinds, tx) =
            (inputs.clone(), executor.clone(), kinds.clone(), tx.clone());
        move |i: usize| {
            let (inputs, executor, kinds, tx) =
                (inputs.clone(), executor.clone(), kinds.clone(), tx.clone());
            async move {
                let emit = move |e: Event| {
                    let _ = tx.send(e);
                };
                let Some(input) = inputs.get(i) else { return Err("no such step".to_string()) };
                executor.run(input, &emit).await.map_err(|e| {
                    if let Ok(mut k) = kinds.lock() {
                        if let Some(slot) = k.get_mut(i) {
                            *slot = Some(e.kind());
                        }
                    }
                    e.report()
                })
            }
        }
    };
    let observe = {
        let (inputs, kinds, tx) = (inputs.clone(), kinds.clone(), tx);
        move |e: WalkEvent| {
            let step = |i: usize| inputs.get(i).map(|s| s.step.clone());
            let event = match e {
                WalkEvent::Started { step: i } => step(i).map(|step| Event::Started { step }),
                WalkEvent::Ended { step: i, outcome } => step(i).map(|step| match outcome {
                    StepOutcome::Done { elapsed } => Event::Finished { step, elapsed },
                    StepOutcome::Failed { error, elapsed } => {
                        let kind = kinds.lock().ok().and_then(|k| k.get(i).copied().flatten());
                        Event::Failed { step, error, kind, elapsed }
                    }
                    StepOutcome::Skipped { reason } => Event::Skipped { step, reason },
                    StepOutcome::NotStarted => Event::NotStarted { step },
                }),
            };
            if let Some(event) = event {
                let _ = tx.send(event);
            }
        }
    };

    let walking = walk::walk(&plan.steps, ctx.parallelism, ctx.stop.clone(), run, observe);
    let draining = async {
        while let Some(event) = rx.recv().await {
            observer.event(&event);
        }
    };
    let (outcomes, ()) = tokio::join!(walking, draining);

    let kinds = kinds.lock().map(|k| k.clone()).unwrap_or_default();
    let steps = outcomes
        .into_iter()
        .zip(inputs.iter())
        .enumerate()
        .map(|(i, (o, input))| StepReport {
            step: input.step.clone(),
            status: match o {
                StepOutcome::Done { elapsed } => StepStatus::Done { elapsed },
                StepOutcome::Failed { error, elapsed } => {
                    StepStatus::Failed { error, kind: kinds.get(i).copied().flatten(), elapsed }
                }
                StepOutcome::Skipped { reason } => StepStatus::Skipped { reason },
                StepOutcome::NotStarted => StepStatus::NotStarted,
            },
        })
        .collect();
    ApplyOutcome {
        steps,
        interrupted: ctx.stop.load(std::sync::atomic::Ordering::SeqCst),
        lock_lost: None,
        elapsed: began.elapsed(),
    }
}
