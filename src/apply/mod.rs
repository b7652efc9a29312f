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
pub use step::{Executor, PollPolicy, SecretValues, SnapshotWait, StepInput};

use crate::live::convert::Naming;
use crate::live::retry::RetryPolicy;
use crate::live::Cluster;
use crate::model::Model;
use crate::plan::Plan;
use lock::Lease;
use walk::{StepOutcome, WalkEvent};

/// The default number of operations at work at once.
pub const DEFAULT_PARALLELISM: usize = 10;

/// What apply needs besides the plan.
pub struct ApplyContext {
    pub cluster: Arc<dyn Cluster>,
    /// The desired state the plan was made from (specs to send).
    pub model: Arc<Model>,
    pub naming: Naming,
    pub secrets: Arc<dyn SecretValues>,
    /// At most this many operations at work at once (at least 1; see `walk::Slot`).
    pub parallelism: usize,
    /// Set it (the first signal) to stop: no new steps start; running operations and builds
    /// finish.
    pub stop: Arc<AtomicBool>,
    /// Set it (a second signal, the stop timeout, a lost lock) to cancel running builds too.
    pub cancel: Arc<AtomicBool>,
    pub retry: RetryPolicy,
    pub poll: PollPolicy,
    /// The remote lock's lease: no operation starts once it has run out.
    pub lease: Option<Lease>,
    /// When the lock lives in a Space of the stack: what to do around that Space's own create
    /// and delete steps (see [`AnchorHook`]).
    pub anchor: Option<Arc<dyn AnchorHook>>,
    /// With Kubernetes access: wait for each finished build's VolumeSnapshot to be ready before
    /// the build step is done (so before the Workspaces that use the Template are created).
    pub snapshots: Option<step::SnapshotWait>,
}

/// The lock lives in one of the stack's Spaces (the anchor, `lock::anchored`). Apply creates
/// that Space before every other step and calls `after_create` (take the lock in it) before
/// they start; it deletes that Space after every other step, calling `before_delete` (let the
/// lock go) first. Steps the anchor's create itself waits for (the delete half of its replace,
/// and what that waits for) run before it, as always.
#[async_trait::async_trait]
pub trait AnchorHook: Send + Sync {
    /// The anchor Space's config address.
    fn space(&self) -> crate::kind::Address;
    /// Right after the anchor Space was created. An error fails that step, so nothing else runs.
    /// `ErrorKind::Conflict` for another apply that came in between (the lock is taken, or the
    /// plan is no longer true); anything else for a failure.
    async fn after_create(&self) -> Result<(), (ErrorKind, String)>;
    /// Right before the anchor Space is deleted. An error fails that step.
    async fn before_delete(&self) -> Result<(), String>;
}

/// The steps with the anchor's ordering added (see [`AnchorHook`]): every step its create does
/// not wait for waits for it; its delete, when the plan does not create it again, waits for
/// every step that does not wait for it. Returns the steps and the indexes of that create and
/// delete.
fn anchored_steps(
    steps: &[crate::plan::Step],
    anchor: &crate::kind::Address,
) -> (Vec<crate::plan::Step>, Option<usize>, Option<usize>) {
    use crate::plan::StepKind;
    let mut out = steps.to_vec();
    let find = |kind| steps.iter().position(|s| s.kind == kind && &s.address == anchor);
    let (create, delete) = (find(StepKind::Create), find(StepKind::Delete));
    // The transitive dependencies (ancestors) of `i`, and its dependents (descendants).
    let ancestors = |i: usize| {
        let mut seen = vec![false; steps.len()];
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            for &d in &steps[j].depends_on {
                if d < steps.len() && !seen[d] {
                    seen[d] = true;
                    stack.push(d);
                }
            }
        }
        seen
    };
    if let Some(c) = create {
        let before = ancestors(c);
        for (k, s) in out.iter_mut().enumerate() {
            if k != c && !before[k] && !s.depends_on.contains(&c) {
                s.depends_on.push(c);
            }
        }
    } else if let Some(d) = delete {
        // What waits for the delete (its descendants), by walking the dependents from it.
        let mut dependents = vec![Vec::new(); steps.len()];
        for (k, s) in steps.iter().enumerate() {
            for &dep in &s.depends_on {
                if dep < steps.len() {
                    dependents[dep].push(k);
                }
            }
        }
        let mut after = vec![false; steps.len()];
        let mut stack = vec![d];
        while let Some(j) = stack.pop() {
            for &k in &dependents[j] {
                if !after[k] {
                    after[k] = true;
                    stack.push(k);
                }
            }
        }
        // A set, not `contains` on a list that grows to every step (quadratic).
        let mut waits: std::collections::BTreeSet<usize> =
            out[d].depends_on.iter().copied().collect();
        let others = (0..steps.len()).filter(|&k| k != d && !after[k]);
        let new: Vec<usize> = others.filter(|&k| waits.insert(k)).collect();
        out[d].depends_on.extend(new);
    }
    (out, create, delete)
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
            cancel: Arc::new(AtomicBool::new(false)),
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            lease: None,
            anchor: None,
            snapshots: None,
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

/// What each step needs from the plan and the model. Changes and builds are indexed by address
/// once, so this is linear in the plan (a scan per step was quadratic at 50,000 resources).
pub fn step_inputs(plan: &Plan, model: &Model) -> Vec<StepInput> {
    use std::collections::HashMap;
    // The first change (and build) of an address answers, as the scans they replace did.
    let mut live: HashMap<&crate::kind::Address, Option<&crate::diff::LiveRef>> = HashMap::new();
    for c in &plan.changes {
        live.entry(&c.address).or_insert(c.live.as_ref());
    }
    let mut builds: HashMap<&crate::kind::Address, &crate::plan::PlannedBuild> = HashMap::new();
    for b in &plan.builds {
        builds.entry(&b.template).or_insert(b);
    }
    plan.steps
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let step = StepRef { index, kind: s.kind, address: s.address.clone() };
            let resource = model.get(&s.address);
            // A Workspace created from a pre-built Template with no build step in this plan.
            let snapshot_of = match (s.kind, resource.map(|r| &r.body)) {
                (
                    crate::plan::StepKind::Create,
                    Some(crate::model::Body::Workspace { template: Some(t), .. }),
                ) => {
                    let address = crate::kind::Address {
                        kind: crate::kind::Kind::Template,
                        space: s.address.space.clone(),
                        name: t.clone(),
                    };
                    builds
                        .get(&address)
                        .filter(|b| b.action == crate::plan::BuildAction::UpToDate)
                        .map(|_| address)
                }
                _ => None,
            };
            StepInput {
                snapshot_of,
                resource: resource.cloned(),
                live: live.get(&s.address).copied().flatten().cloned(),
                build: builds.get(&s.address).map(|&b| b.clone()),
                step,
            }
        })
        .collect()
}

/// Carries out `plan`: walks its steps in dependency order with at most `ctx.parallelism` in
/// flight (at work), reports every event to `observer`, and returns what happened to each step.
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
        cancel: ctx.cancel.clone(),
        lease: ctx.lease,
        records: Default::default(),
        listings: Default::default(),
        snapshots: ctx.snapshots,
    });
    let kinds: Arc<Mutex<Vec<Option<ErrorKind>>>> = Arc::new(Mutex::new(vec![None; inputs.len()]));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let (steps, anchor_create, anchor_delete) = match &ctx.anchor {
        Some(hook) => anchored_steps(&plan.steps, &hook.space()),
        None => (plan.steps.clone(), None, None),
    };
    // A replaced anchor: its delete lets the lock go and its create takes it again.
    let anchor_delete = anchor_delete.or_else(|| {
        let hook = ctx.anchor.as_ref()?;
        let space = hook.space();
        plan.steps
            .iter()
            .position(|s| s.kind == crate::plan::StepKind::Delete && s.address == space)
    });
    let anchor = ctx.anchor.clone();

    let run = {
        let (inputs, executor, kinds, tx) =
            (inputs.clone(), executor.clone(), kinds.clone(), tx.clone());
        move |i: usize, slot: Arc<walk::Slot>| {
            let (inputs, executor, kinds, tx) =
                (inputs.clone(), executor.clone(), kinds.clone(), tx.clone());
            let anchor = anchor.clone();
            async move {
                let emit = move |e: Event| {
                    let _ = tx.send(e);
                };
                let Some(input) = inputs.get(i) else { return Err("no such step".to_string()) };
                if let Some(hook) = anchor.as_ref().filter(|_| Some(i) == anchor_delete) {
                    hook.before_delete().await?;
                }
                executor.run(input, &emit, &slot).await.map_err(|e| {
                    if let Ok(mut k) = kinds.lock() {
                        if let Some(slot) = k.get_mut(i) {
                            *slot = Some(e.kind());
                        }
                    }
                    e.report()
                })?;
                if let Some(hook) = anchor.as_ref().filter(|_| Some(i) == anchor_create) {
                    hook.after_create().await.map_err(|(kind, message)| {
                        if let Ok(mut k) = kinds.lock() {
                            if let Some(slot) = k.get_mut(i) {
                                *slot = Some(kind);
                            }
                        }
                        message
                    })?;
                }
                Ok(())
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

    let walking = walk::walk(&steps, ctx.parallelism, ctx.stop.clone(), run, observe);
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

#[cfg(test)]
mod anchor_tests {
    use super::anchored_steps;
    use crate::kind::Address;
    use crate::plan::{Step, StepKind};

    fn step(kind: StepKind, address: &str, depends_on: Vec<usize>) -> Step {
        Step { kind, address: address.parse().expect("address"), depends_on }
    }

    fn waits_for(steps: &[Step], i: usize, j: usize) -> bool {
        let mut stack = vec![i];
        let mut seen = vec![false; steps.len()];
        while let Some(k) = stack.pop() {
            for &d in &steps[k].depends_on {
                if d == j {
                    return true;
                }
                if !seen[d] {
                    seen[d] = true;
                    stack.push(d);
                }
            }
        }
        false
    }

    #[test]
    fn everything_waits_for_the_anchors_create_and_its_delete_waits_for_everything() {
        let anchor = Address::space("a");
        // Create: Space a, Space b (independent), a Template in b, a User.
        let created = vec![
            step(StepKind::Create, "space.b", vec![]),
            step(StepKind::Create, "template.b.t", vec![0]),
            step(StepKind::Create, "space.a", vec![]),
            step(StepKind::Create, "user.u", vec![]),
        ];
        let (steps, c, d) = anchored_steps(&created, &anchor);
        assert_eq!((c, d), (Some(2), None));
        for i in [0, 1, 3] {
            assert!(waits_for(&steps, i, 2), "step {i} waits for the anchor's create");
        }
        assert!(steps[2].depends_on.is_empty(), "the anchor's create waits for nothing new");

        // Destroy: a Workspace in a waits for nothing, a's delete waits for it; b's delete too.
        let deleted = vec![
            step(StepKind::Delete, "workspace.a.w", vec![]),
            step(StepKind::Delete, "space.a", vec![0]),
            step(StepKind::Delete, "space.b", vec![]),
        ];
        let (steps, c, d) = anchored_steps(&deleted, &anchor);
        assert_eq!((c, d), (None, Some(1)));
        assert!(waits_for(&steps, 1, 0) && waits_for(&steps, 1, 2), "the anchor goes last");
        assert!(!waits_for(&steps, 2, 1), "no cycle");

        // Replace: the delete half runs first (the create waits for it), then the create, then
        // everything else.
        let replaced = vec![
            step(StepKind::Delete, "space.a", vec![]),
            step(StepKind::Create, "space.a", vec![0]),
            step(StepKind::Create, "space.b", vec![]),
        ];
        let (steps, c, _) = anchored_steps(&replaced, &anchor);
        assert_eq!(c, Some(1));
        assert!(waits_for(&steps, 2, 1));
        assert!(!waits_for(&steps, 0, 1), "no cycle");
    }
}
