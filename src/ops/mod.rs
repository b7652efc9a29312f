//! The operations: what each command does, as library calls. `cli` turns arguments into a
//! [`Request`] and renders what comes back; benches and tests call these directly.
//!
//! - [`settings`]: every default and environment fact, resolved once: the [`Request`] a command
//!   gathers (flags and environment), and the [`Settings`] it means once the stack file is read.
//! - [`validate`]: load a config and build the model, with every problem.
//! - [`fmt`]: rewrite HCL files in canonical format.
//! - [`plan`]: the plan pipeline (load, model, target, live state, diff, plan).
//! - [`apply`]: apply and destroy: a fresh or saved plan, confirmation, the lock, the walk,
//!   Ctrl-C.
//! - [`session`]: login and logout (the cached session of a remote cluster).
//!
//! Ops never print and never read the environment: they return data and typed [`OpsError`]s,
//! and talk to the person through [`Confirm`] and [`Progress`].

pub mod apply;
pub mod drift;
pub mod error;
pub mod export;
pub mod fmt;
pub mod force_unlock;
pub mod import;
pub mod plan;
pub mod promote;
pub mod record;
pub mod session;
pub mod settings;
pub mod status;
pub mod validate;

pub use error::OpsError;
pub use settings::{ApplyRequest, EnvSettings, Request, Settings};

use crate::apply::Observer;
use crate::config::Loaded;
use crate::diag::Diagnostics;
use crate::plan::Plan;

/// Asks the person whether to go ahead.
pub trait Confirm: Send + Sync {
    /// Whether anyone can be asked (false when stdin is not a terminal).
    fn can_ask(&self) -> bool;
    /// Asks; true only for an explicit yes. `destroy`: the question is about destroying.
    fn confirm(&self, destroy: bool) -> bool;
}

/// Never asks; everything needs `--auto-approve` (or a saved plan).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConfirm;

impl Confirm for NoConfirm {
    fn can_ask(&self) -> bool {
        false
    }
    fn confirm(&self, _: bool) -> bool {
        false
    }
}

/// Something an operation has to say, besides apply's per-step events.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// Warnings from loading the config or reading the cluster (never fatal).
    Warnings { diags: &'a Diagnostics, loaded: &'a Loaded },
    /// The plan that is about to be confirmed and applied.
    Plan(&'a Plan),
    /// Confirmed and locked; the walk starts on this target.
    Applying { target: &'a str },
    /// The first SIGINT or SIGTERM: no new operations start; running operations and builds
    /// finish, for at most `timeout`.
    Stopping { signal: &'a str, timeout: std::time::Duration },
    /// A second signal, or the stop timeout: running builds are cancelled.
    Cancelling { reason: &'a str },
    /// The apply lock was lost while applying: no new operations start.
    LockLost { reason: &'a str },
    /// The stack's lock Space does not exist yet: the lock is taken in it right after this apply
    /// creates it, before anything else is done.
    LockPending { lock: &'a str },
    /// Another first apply of the stack created the lock Space first; this one changed nothing
    /// and plans again under that apply's lock.
    LockRaced { space: &'a str },
    /// The apply ran, but the lock could not be released (it expires by itself).
    LockNotReleased(&'a crate::apply::lock::LockError),
    /// The apply record (`--record`) was written here.
    Recorded { path: &'a std::path::Path },
    /// The apply ran, but its record could not be written.
    RecordFailed { error: &'a str },
}

/// Reports progress: the notices above and apply's events.
pub trait Progress: Observer {
    fn notice(&self, notice: Notice<'_>);
}

/// What follows is a long run of small requests (apply's steps, `cordium serve`'s calls): freed
/// memory is kept about 10 s for reuse rather than handed back to the system page by page as
/// the binary starts out doing, for plan's and validate's peak (`alloc_tune`). Over `cordium
/// serve`, 2,000 creates at parallelism 32 took the server 2.27 s of system time handing pages
/// back against 0.45 s keeping them.
pub fn keep_freed_memory() {
    #[cfg(not(target_env = "msvc"))]
    {
        // Only a tuning: where the allocator is not jemalloc (a test binary) or refuses it,
        // everything works as before.
        let _ = alloc_tune::keep_freed_pages(10_000);
    }
}

/// Runs an operation on a fresh runtime (commands are one-shot).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt.block_on(f),
        // Without a runtime nothing can run; this only fails when the OS refuses threads.
        Err(e) => panic!("cannot start the async runtime: {e}"),
    }
}
