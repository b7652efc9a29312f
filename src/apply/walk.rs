//! Walking the apply graph: at most `parallelism` steps at work, each started once everything
//! it depends on has finished; a failed step marks its dependents skipped ("upstream failed")
//! while independent branches go on; a stop request lets running steps finish and starts no new
//! ones. What a step does is the caller's (`run`); the walker only schedules and reports.
//!
//! Of the steps ready to start, the one with the longest chain of work still behind it starts
//! first (critical path first, [`ranks`]): a Space whose Templates have builds and Workspaces
//! waiting goes before a thousand independent Users, which fill the slots the builds leave. A
//! build counts as [`BUILD_WEIGHT`] calls. Equal ranks start in plan order.
//!
//! Each step holds a [`Slot`] while it works. A step whose operation is done and that only waits
//! for bookkeeping shared with other steps (a Workspace's entry in its Space's ownership record,
//! written together with the entries that queue meanwhile) gives its slot back, so the next step
//! can start; it still ends, and its dependents still start, only when that bookkeeping is done.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::plan::{Step, StepKind};

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Done {
        elapsed: Duration,
    },
    Failed {
        error: String,
        elapsed: Duration,
    },
    /// Not started: something it depends on failed or was skipped.
    Skipped {
        reason: String,
    },
    /// Not started: apply was stopped first.
    NotStarted,
}

/// What the walker tells its observer, in order per step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkEvent {
    Started { step: usize },
    Ended { step: usize, outcome: StepOutcome },
}

/// A running step's place among the `parallelism` at work. Given back once the walker has seen
/// the step end and queued what it unblocks, or earlier by [`Slot::release`].
#[derive(Debug, Default)]
pub struct Slot(std::sync::Mutex<Option<OwnedSemaphorePermit>>);

impl Slot {
    fn holding(permit: OwnedSemaphorePermit) -> Self {
        Slot(std::sync::Mutex::new(Some(permit)))
    }

    /// Gives the slot back: what is left of the step only waits (for bookkeeping shared with
    /// other steps), so another step may start. Releasing twice, or a slot that holds nothing
    /// (a step run outside a walk), does nothing.
    pub fn release(&self) {
        let permit = self.0.lock().map(|mut p| p.take()).unwrap_or_else(|e| e.into_inner().take());
        drop(permit);
    }

    /// Whether the slot is still held.
    pub fn held(&self) -> bool {
        self.0.lock().map(|p| p.is_some()).unwrap_or(false)
    }
}

/// A step's task ends with its index, result, time taken and slot.
type Ended = (usize, Result<(), String>, Duration, Arc<Slot>);

/// Walks `steps` (dependencies given by index). `run(i, slot)` performs step `i`, holding `slot`
/// until it ends or gives it back. Returns one outcome per step, in step order.
pub async fn walk<F, Fut>(
    steps: &[Step],
    parallelism: usize,
    stop: Arc<AtomicBool>,
    run: F,
    mut observe: impl FnMut(WalkEvent),
) -> Vec<StepOutcome>
where
    F: Fn(usize, Arc<Slot>) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let n = steps.len();
    let slots = Arc::new(Semaphore::new(parallelism.clamp(1, Semaphore::MAX_PERMITS)));
    let mut outcomes: Vec<Option<StepOutcome>> = vec![None; n];
    let mut waiting: Vec<usize> = steps.iter().map(|s| s.depends_on.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in steps.iter().enumerate() {
        for &d in &s.depends_on {
            if d < n {
                dependents[d].push(i);
            }
        }
    }
    let rank = ranks(steps, &dependents);
    // Longest chain first; equal ranks in plan order.
    let mut ready: BinaryHeap<(u64, Reverse<usize>)> =
        (0..n).filter(|&i| waiting[i] == 0).map(|i| (rank[i], Reverse(i))).collect();
    let mut running: JoinSet<Ended> = JoinSet::new();

    // A slot given back while no step was ready to take it.
    let mut spare: Option<OwnedSemaphorePermit> = None;
    loop {
        while !ready.is_empty() && !stop.load(Ordering::SeqCst) {
            let Some(permit) = spare.take().or_else(|| slots.clone().try_acquire_owned().ok())
            else {
                break;
            };
            let Some((_, Reverse(i))) = ready.pop() else { break };
            observe(WalkEvent::Started { step: i });
            let slot = Arc::new(Slot::holding(permit));
            let fut = run(i, slot.clone());
            running.spawn(async move {
                let t = Instant::now();
                let r = fut.await;
                // The slot goes back once the walker has seen the step end (below), so that what
                // it unblocks competes for it with what was ready before.
                (i, r, t.elapsed(), slot)
            });
        }
        if running.is_empty() {
            break;
        }
        // Wait for a step to end or, when a step is ready to start, for a slot to come back.
        let waiting_for_slot = !ready.is_empty() && !stop.load(Ordering::SeqCst);
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            permit = slots.clone().acquire_owned(), if waiting_for_slot => {
                spare = permit.ok();
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (i, result, elapsed, slot) = match joined {
            Ok(v) => v,
            // A step task panicked or was aborted: that is a bug, but it must not take down the
            // walk. Its index is lost, so every unfinished step will be reported not started.
            Err(_) => continue,
        };
        let outcome = match result {
            Ok(()) => StepOutcome::Done { elapsed },
            Err(error) => StepOutcome::Failed { error, elapsed },
        };
        let failed = !matches!(outcome, StepOutcome::Done { .. });
        observe(WalkEvent::Ended { step: i, outcome: outcome.clone() });
        outcomes[i] = Some(outcome);
        // Release or skip dependents.
        let mut queue = vec![(i, failed)];
        while let Some((j, bad)) = queue.pop() {
            for &k in &dependents[j] {
                if outcomes[k].is_some() {
                    continue;
                }
                if bad {
                    let reason =
                        format!("upstream failed: {:?} {}", steps[i].kind, steps[i].address);
                    let o = StepOutcome::Skipped { reason };
                    observe(WalkEvent::Ended { step: k, outcome: o.clone() });
                    outcomes[k] = Some(o);
                    queue.push((k, true));
                } else {
                    waiting[k] -= 1;
                    if waiting[k] == 0 {
                        ready.push((rank[k], Reverse(k)));
                    }
                }
            }
        }
        slot.release();
    }
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| {
                observe(WalkEvent::Ended { step: i, outcome: StepOutcome::NotStarted });
                StepOutcome::NotStarted
            })
        })
        .collect()
}

/// What a build counts for in [`ranks`], in calls: a build takes seconds to minutes, a call
/// milliseconds.
pub const BUILD_WEIGHT: u64 = 1000;

/// Each step's rank: its own weight (a call is 1, a build [`BUILD_WEIGHT`]) plus the largest
/// rank among the steps that depend on it, i.e. the work on the longest chain that starts with
/// it. Steps on a dependency cycle (which a plan never has), and those before one, get their
/// own weight.
fn ranks(steps: &[Step], dependents: &[Vec<usize>]) -> Vec<u64> {
    let n = steps.len();
    let weight = |i: usize| match steps[i].kind {
        StepKind::Build | StepKind::WaitBuild => BUILD_WEIGHT,
        StepKind::Create | StepKind::Update | StepKind::Delete => 1,
    };
    // A topological order (Kahn's), then the ranks from its end.
    let mut waiting: Vec<usize> = vec![0; n];
    for list in dependents {
        for &k in list {
            waiting[k] += 1;
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut next = 0;
    while let Some(&j) = order.get(next) {
        next += 1;
        for &k in &dependents[j] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                order.push(k);
            }
        }
    }
    let mut rank: Vec<u64> = (0..n).map(weight).collect();
    for &j in order.iter().rev() {
        let behind = dependents[j].iter().map(|&k| rank[k]).max().unwrap_or(0);
        rank[j] = weight(j).saturating_add(behind);
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;
    use crate::plan::StepKind;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    fn step(name: &str, deps: &[usize]) -> Step {
        Step { kind: StepKind::Create, address: Address::space(name), depends_on: deps.to_vec() }
    }

    #[tokio::test]
    async fn dependencies_run_first_and_failures_skip_only_dependents() {
        // a → b → c ; d independent ; b fails.
        let steps = vec![step("a", &[]), step("b", &[0]), step("c", &[1]), step("d", &[])];
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        let outcomes = walk(
            &steps,
            4,
            Arc::new(AtomicBool::new(false)),
            move |i, _| {
                let o = o.clone();
                async move {
                    o.lock().expect("lock").push(i);
                    if i == 1 {
                        Err("boom".to_string())
                    } else {
                        Ok(())
                    }
                }
            },
            |_| {},
        )
        .await;
        assert!(matches!(outcomes[0], StepOutcome::Done { .. }));
        assert!(matches!(outcomes[1], StepOutcome::Failed { .. }));
        assert!(
            matches!(&outcomes[2], StepOutcome::Skipped { reason } if reason.contains("space.b"))
        );
        assert!(matches!(outcomes[3], StepOutcome::Done { .. }));
        let order = order.lock().expect("lock").clone();
        assert!(order.iter().position(|&i| i == 0) < order.iter().position(|&i| i == 1));
        assert!(!order.contains(&2));
    }

    /// One at a time, the step order is the critical path's: the chain with a build behind it
    /// (a Space, its Template, the build, a Workspace) before independent Users listed first,
    /// the build as soon as its Template is done, and equal ranks in plan order.
    #[tokio::test]
    async fn the_longest_chain_starts_first() {
        let mut steps = vec![step("u1", &[]), step("u2", &[]), step("s", &[]), step("t", &[2])];
        steps.push(Step { kind: StepKind::Build, ..step("t-build", &[3]) });
        steps.push(step("w", &[4]));
        steps.push(step("s2", &[]));
        steps.push(step("t2", &[6]));
        let rank = ranks(&steps, &{
            let mut d = vec![Vec::new(); steps.len()];
            for (i, s) in steps.iter().enumerate() {
                s.depends_on.iter().for_each(|&j| d[j].push(i));
            }
            d
        });
        assert_eq!(rank, [1, 1, 1003, 1002, 1001, 1, 2, 1]);
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        walk(
            &steps,
            1,
            Arc::new(AtomicBool::new(false)),
            move |i, _| {
                o.lock().expect("lock").push(i);
                async { Ok(()) }
            },
            |_| {},
        )
        .await;
        assert_eq!(*order.lock().expect("lock"), [2, 3, 4, 6, 0, 1, 5, 7]);
    }

    #[tokio::test]
    async fn at_most_parallelism_steps_are_in_flight() {
        let steps: Vec<Step> = (0..20).map(|i| step(&format!("s{i}"), &[])).collect();
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (n2, p2) = (now.clone(), peak.clone());
        walk(
            &steps,
            3,
            Arc::new(AtomicBool::new(false)),
            move |_, _| {
                let (now, peak) = (n2.clone(), p2.clone());
                async move {
                    let c = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(c, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }
            },
            |_| {},
        )
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    /// A step that gives its slot back lets the next one start while it still runs; at most
    /// `parallelism` hold a slot at any time, and a step's dependents wait for its end, not for
    /// its release.
    #[tokio::test]
    async fn a_released_slot_starts_the_next_step() {
        // 0..6 release their slot at once and then wait for `go`; 6 depends on 0.
        let mut steps: Vec<Step> = (0..6).map(|i| step(&format!("s{i}"), &[])).collect();
        steps.push(step("after", &[0]));
        let go = Arc::new(tokio::sync::Notify::new());
        let at_work = Arc::new(AtomicUsize::new(0));
        let peak_work = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (g, w, pw, st, l) =
            (go.clone(), at_work.clone(), peak_work.clone(), started.clone(), log.clone());
        let walking = walk(
            &steps,
            2,
            Arc::new(AtomicBool::new(false)),
            move |i, slot| {
                let (go, at_work, peak_work, started, log) =
                    (g.clone(), w.clone(), pw.clone(), st.clone(), l.clone());
                async move {
                    assert!(slot.held());
                    let c = at_work.fetch_add(1, Ordering::SeqCst) + 1;
                    peak_work.fetch_max(c, Ordering::SeqCst);
                    started.fetch_add(1, Ordering::SeqCst);
                    log.lock().expect("lock").push(("start", i));
                    tokio::task::yield_now().await;
                    at_work.fetch_sub(1, Ordering::SeqCst);
                    slot.release();
                    assert!(!slot.held());
                    if i < 6 {
                        go.notified().await;
                    }
                    log.lock().expect("lock").push(("end", i));
                    Ok(())
                }
            },
            |_| {},
        );
        let releasing = async {
            // Every releasing step starts although only 2 may work at once.
            let all_started = async {
                while started.load(Ordering::SeqCst) < 6 {
                    tokio::task::yield_now().await;
                }
            };
            let waited = tokio::time::timeout(Duration::from_secs(10), all_started).await;
            assert!(waited.is_ok(), "released slots were not reused");
            assert!(!log.lock().expect("lock").contains(&("start", 6)), "6 waits for 0's end");
            // Wake them one at a time until all have ended.
            while log.lock().expect("lock").iter().filter(|(e, _)| *e == "end").count() < 7 {
                go.notify_one();
                tokio::task::yield_now().await;
            }
        };
        let (outcomes, ()) = tokio::join!(walking, releasing);
        assert!(outcomes.iter().all(|o| matches!(o, StepOutcome::Done { .. })));
        assert!(peak_work.load(Ordering::SeqCst) <= 2);
        let log = log.lock().expect("lock").clone();
        let start6 = log.iter().position(|e| *e == ("start", 6)).expect("6 ran");
        let end0 = log.iter().position(|e| *e == ("end", 0)).expect("0 ended");
        assert!(end0 < start6, "{log:?}");
    }

    /// "Unlimited" written as the largest number is no limit, not a panic.
    #[tokio::test]
    async fn the_largest_parallelism_is_no_limit() {
        let steps: Vec<Step> = (0..4).map(|i| step(&format!("s{i}"), &[])).collect();
        let outcomes = walk(
            &steps,
            usize::MAX,
            Arc::new(AtomicBool::new(false)),
            |_, _| async { Ok(()) },
            |_| {},
        )
        .await;
        assert!(outcomes.iter().all(|o| matches!(o, StepOutcome::Done { .. })));
    }

    #[tokio::test]
    async fn a_stop_starts_nothing_new() {
        let steps: Vec<Step> = (0..5).map(|i| step(&format!("s{i}"), &[])).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let outcomes = walk(
            &steps,
            1,
            stop,
            move |_, _| {
                let stop = s2.clone();
                async move {
                    stop.store(true, Ordering::SeqCst);
                    Ok(())
                }
            },
            |_| {},
        )
        .await;
        assert!(matches!(outcomes[0], StepOutcome::Done { .. }));
        assert!(outcomes[1..].iter().all(|o| *o == StepOutcome::NotStarted));
    }

    mod properties {
        use std::collections::BTreeSet;

        use proptest::prelude::*;

        use super::*;

        /// A random DAG of `n` steps: each step depends on some steps earlier in a hidden
        /// topological order, then the steps are shuffled (the walker must not rely on index
        /// order). Returns the steps and the topological order (as step indexes).
        fn dag() -> impl Strategy<Value = (Vec<Step>, Vec<usize>)> {
            (1usize..14)
                .prop_flat_map(|n| {
                    let deps = proptest::collection::vec(
                        proptest::collection::vec(any::<proptest::sample::Index>(), 0..3),
                        n,
                    );
                    (deps, Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
                })
                .prop_map(|(deps, perm)| {
                    // Topological rank r sits at index perm[r].
                    let n = perm.len();
                    let mut steps: Vec<Step> =
                        (0..n).map(|i| step(&format!("s{i}"), &[])).collect();
                    for (r, picks) in deps.iter().enumerate() {
                        if r == 0 {
                            continue;
                        }
                        let mut on: Vec<usize> = picks.iter().map(|p| perm[p.index(r)]).collect();
                        on.sort_unstable();
                        on.dedup();
                        steps[perm[r]].depends_on = on;
                    }
                    (steps, perm)
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// A failed step skips exactly its dependents, transitively; everything else runs,
            /// once, after everything it depends on.
            #[test]
            fn a_failure_skips_exactly_its_transitive_dependents(
                (steps, topo) in dag(),
                failing in proptest::collection::btree_set(0usize..14, 0..4),
                parallelism in 1usize..4,
            ) {
                let n = steps.len();
                // What should happen, in topological order.
                let mut expect: Vec<&str> = vec![""; n];
                for &i in &topo {
                    expect[i] = if steps[i].depends_on.iter().any(|&d| expect[d] != "done") {
                        "skipped"
                    } else if failing.contains(&i) {
                        "failed"
                    } else {
                        "done"
                    };
                }
                let log = Arc::new(Mutex::new(Vec::new()));
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let (l, fail) = (log.clone(), failing.clone());
                let outcomes = runtime.block_on(walk(
                    &steps,
                    parallelism,
                    Arc::new(AtomicBool::new(false)),
                    move |i, _| {
                        let (log, fail) = (l.clone(), fail.clone());
                        async move {
                            log.lock().expect("lock").push(("start", i));
                            // Interleave with other steps in flight.
                            for _ in 0..(i % 3) {
                                tokio::task::yield_now().await;
                            }
                            log.lock().expect("lock").push(("end", i));
                            if fail.contains(&i) { Err(format!("step {i} failed")) } else { Ok(()) }
                        }
                    },
                    |_| {},
                ));
                let got: Vec<&str> = outcomes
                    .iter()
                    .map(|o| match o {
                        StepOutcome::Done { .. } => "done",
                        StepOutcome::Failed { .. } => "failed",
                        StepOutcome::Skipped { .. } => "skipped",
                        StepOutcome::NotStarted => "not started",
                    })
                    .collect();
                prop_assert_eq!(&got, &expect);
                let log = log.lock().expect("lock").clone();
                let started: Vec<usize> =
                    log.iter().filter(|(e, _)| *e == "start").map(|(_, i)| *i).collect();
                let ran: BTreeSet<usize> = started.iter().copied().collect();
                prop_assert_eq!(started.len(), ran.len(), "a step ran twice: {:?}", started);
                let want: BTreeSet<usize> = (0..n).filter(|&i| expect[i] != "skipped").collect();
                prop_assert_eq!(&ran, &want);
                for (k, (e, i)) in log.iter().enumerate() {
                    if *e != "start" {
                        continue;
                    }
                    for d in &steps[*i].depends_on {
                        let ended = log[..k].contains(&("end", *d));
                        prop_assert!(ended, "step {} started before step {} ended", i, d);
                    }
                }
            }
        }
    }
}
