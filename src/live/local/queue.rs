//! The in-process cluster's writer thread: every engine call [`super::LocalCluster`] makes from
//! an async task runs here, one after another, and the calls that are waiting share one
//! transaction.
//!
//! `Engine::tx` alone shares a transaction between operations that arrive on several threads
//! while one runs (group commit), but every operation then costs a thread hand-off: a
//! blocking-pool thread woken for it, the connection's mutex passed from thread to thread, a
//! condition variable to wake it when its group commits. At 50,000 creates that was 355,901
//! futex calls, and ten threads into a file were 1.29x slower than one (docs/performance.md).
//! Here one thread takes the queued jobs in order, runs each under its own savepoint in the open
//! transaction, and commits when the queue is empty (or after [`MAX_BATCH_OPS`] operations, or
//! [`MAX_BATCH_AGE`]); only then is each job answered, through its own oneshot, so no answer
//! comes before its writes are durable and a refused job undoes only its own writes, exactly as
//! with `Engine::tx`. `cordium serve` does not use this: its calls keep the group commit path.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::engine::{Engine, Held, MAX_BATCH_AGE, MAX_BATCH_OPS};
use super::error::ApiError;

/// One queued call: runs on the queue thread and returns what answers it once its
/// transactions have ended (given whether they committed).
pub(super) type Job = Box<dyn FnOnce() -> Answer + Send>;
/// Sends a job's result, or the commit's failure, to the task waiting for it.
pub(super) type Answer = Box<dyn FnOnce(Result<(), ApiError>) + Send>;

/// The queue and its thread; dropping it lets the thread finish what is queued and joins it.
#[derive(Debug)]
pub(super) struct Queue {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Queue {
    /// Starts the thread for `engine`. `None` when no thread can be started (callers then run
    /// their calls inline).
    pub(super) fn start(engine: Arc<Engine>) -> Option<Queue> {
        let (send, jobs) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("cordium-local-store".into())
            .spawn(move || run(&engine, &jobs))
            .ok()?;
        Some(Queue { jobs: Some(send), thread: Some(thread) })
    }

    /// Queues `job`; gives it back when the thread has gone (it then runs inline).
    pub(super) fn submit(&self, job: Job) -> Result<(), Job> {
        match self.jobs.as_ref() {
            Some(send) => send.send(job).map_err(|mpsc::SendError(job)| job),
            None => Err(job),
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has answered every queued job. The
        // thread never holds a Queue (its jobs get a cluster without one), so this never joins
        // itself.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: takes a job, then every job queued behind it (up to the batch limits), all in
/// one transaction; commits; answers them; waits for the next.
fn run(engine: &Engine, jobs: &mpsc::Receiver<Job>) {
    let mut answers: Vec<(Answer, Held)> = Vec::new();
    while let Ok(first) = jobs.recv() {
        let opened = Instant::now();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            answers.push(engine.held(job));
            if answers.len() < MAX_BATCH_OPS && opened.elapsed() < MAX_BATCH_AGE {
                next = jobs.try_recv().ok();
            }
        }
        engine.end_held();
        for (answer, held) in answers.drain(..) {
            answer(held.outcome());
        }
    }
}
