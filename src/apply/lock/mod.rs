//! The apply lock: one apply per stack and target at a time (docs/locking.md).
//!
//! - Embedded local cluster: an exclusive file lock (`fs4`) on `<db>.lock` beside the store. The
//!   file names the holder (user@host, pid) and since when. The operating system drops the lock
//!   when the holder dies, so a crashed apply never leaves it behind.
//! - A cluster reached over gRPC: one named lock object ([`place`]), created atomically (a taken
//!   name = busy), which says who holds it, since when and until when: a Template in the stack's
//!   anchor Space ([`anchored`]; ordinary users can take it), or for a stack without Spaces a core
//!   Group. The holder renews it while it runs and deletes it by uid at the end; an expired one
//!   (a crashed holder) is deleted by uid and taken over.
//!
//! A busy lock names its holder; waiting for it (`--lock-timeout`) polls. Must not print.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::live::{Cluster, ErrorCode, LiveError};

mod anchored;
pub mod lease;
pub mod place;
pub use anchored::{anchor_of, AnchoredLock, Taken};
#[cfg(test)]
use place::{group, holder_of_group as holder_of, uid_of_group as uid_of};
pub use place::{GroupPlace, LockPlace, TemplatePlace};

/// The prefix of lock Group names.
pub const GROUP_PREFIX: &str = crate::live::state::APPLY_LOCK_PREFIX;
/// The longest name a core object may have (one segment).
const MAX_NAME: usize = 40;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `user@host`.
    pub who: String,
    pub pid: u32,
    pub since: SystemTime,
    /// When a remote lock lapses unless renewed (file locks do not expire: the OS releases them).
    pub expires: Option<SystemTime>,
    /// Tells this holder's lock from another's with the same `who` and pid.
    pub id: String,
}

impl Holder {
    /// A new holder: `who` (user@host, from the cli) and this process.
    pub fn me(who: impl Into<String>) -> Self {
        Holder {
            who: who.into(),
            pid: std::process::id(),
            since: SystemTime::now(),
            expires: None,
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("holder".into(), self.who.clone().into());
        m.insert("pid".into(), self.pid.into());
        m.insert("since".into(), rfc3339(self.since).into());
        if let Some(e) = self.expires {
            m.insert("expires".into(), rfc3339(e).into());
        }
        m.insert("id".into(), self.id.clone().into());
        m
    }

    pub(crate) fn from_json(m: &Map<String, Value>) -> Option<Holder> {
        let text = |k: &str| m.get(k).and_then(Value::as_str);
        let time = |k: &str| text(k).and_then(|t| humantime::parse_rfc3339_weak(t).ok());
        Some(Holder {
            who: text("holder")?.to_string(),
            pid: m.get("pid").and_then(Value::as_u64).and_then(|p| u32::try_from(p).ok())?,
            since: time("since")?,
            expires: time("expires"),
            id: text("id").unwrap_or_default().to_string(),
        })
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// True when this holder is provably gone: it ran as `who` (the same user on the same
    /// host as us) and its process no longer exists. Only decidable where `/proc` exists.
    fn dead(&self, who: &str) -> bool {
        self.who == who && self.pid_gone_here(who)
    }

    /// True when the holder ran on our host (the part of `who` after `@`) and its pid no
    /// longer exists there. Only decidable where `/proc` exists.
    fn pid_gone_here(&self, who: &str) -> bool {
        let proc = Path::new("/proc");
        host_of(&self.who) == host_of(who)
            && self.pid != std::process::id()
            && proc.join("self").exists()
            && !proc.join(self.pid.to_string()).exists()
    }

    /// What a refused waiter (`who`) is told about a file lock's holder: whether it looks stale
    /// and when the lock ends (file locks do not expire: the OS releases them with the process).
    fn file_state(&self, who: &str) -> String {
        if self.pid_gone_here(who) {
            format!(
                "It looks stale: pid {} is no longer running on this host, yet the lock file is \
                 still locked (a process it started may hold it); the lock is released when the \
                 last process holding the file ends.",
                self.pid
            )
        } else if host_of(&self.who) == host_of(who) {
            format!(
                "It does not look stale: pid {} is still running on this host; the lock is \
                 released when that process ends.",
                self.pid
            )
        } else {
            "The lock is released when the holder's process ends.".to_string()
        }
    }

    /// What a refused waiter is told about a remote lock's holder: when it expires and
    /// whether it looks stale (expired, or closer to expiry than half of `ttl`, which a holder
    /// renewing every third of its lifetime never is).
    fn remote_state(&self, who: &str, now: SystemTime, ttl: Duration) -> String {
        let Some(expires) = self.expires else {
            return "Its expiry is unknown (the lock Group names none).".to_string();
        };
        let at = rfc3339(expires);
        let secs = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs()));
        match expires.duration_since(now) {
            Err(past) => format!(
                "It looks stale: it expired at {at} ({} ago) and is taken over by the next apply.",
                secs(past.duration())
            ),
            Ok(left) if left < ttl / 2 => format!(
                "It looks stale: it expires at {at} (in {}) and was not renewed on time; the next \
                 apply after that takes it over.",
                secs(left)
            ),
            Ok(left) if self.pid_gone_here(who) => format!(
                "It looks stale: pid {} is no longer running on this host; it expires at {at} \
                 (in {}) unless renewed.",
                self.pid,
                secs(left)
            ),
            Ok(left) => format!(
                "It does not look stale: it was renewed on time and expires at {at} (in {}) \
                 unless renewed again.",
                secs(left)
            ),
        }
    }
}

/// The host part of `user@host` (all of it without an `@`), without the ` (CI run URL)` that
/// may follow it.
fn host_of(who: &str) -> &str {
    let who = who.split_once(" (").map_or(who, |(w, _)| w);
    who.rsplit_once('@').map_or(who, |(_, host)| host)
}

/// Why `force-unlock` removed nothing.
#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("{place} does not exist: the stack's lock is not held")]
    NotHeld { place: String },
    #[error(
        "{place} is held by {holder} with lock id {id}, not {asked}: nothing was removed (the id \
         is the one the refusal printed)"
    )]
    OtherHolder { place: String, holder: String, id: String, asked: String },
    #[error("cannot read or delete {place}")]
    Live {
        place: String,
        #[source]
        source: LiveError,
    },
}

/// Deletes the lock at `place` when its holder's id is `id` (what a refusal printed); the
/// holder it removed. Deletes by uid, so a lock taken again in between is left alone.
pub async fn force_unlock(place: &dyn LockPlace, id: &str) -> Result<Holder, UnlockError> {
    let what = place.describe();
    let live = |source: LiveError| UnlockError::Live { place: what.clone(), source };
    let found = match place.get().await {
        Ok(f) => f,
        Err(e) if e.code == ErrorCode::NotFound => {
            return Err(UnlockError::NotHeld { place: what })
        }
        Err(e) => return Err(live(e)),
    };
    let Some(holder) = found.holder.filter(|h| !h.id.is_empty()) else {
        return Err(UnlockError::OtherHolder {
            place: what.clone(),
            holder: "no holder cordium can read".into(),
            id: "(none)".into(),
            asked: id.to_string(),
        });
    };
    if holder.id != id.trim() {
        return Err(UnlockError::OtherHolder {
            place: what,
            holder: holder.to_string(),
            id: holder.id.clone(),
            asked: id.to_string(),
        });
    }
    match place.delete(&found.uid).await {
        Ok(()) => Ok(holder),
        Err(e) if e.code == ErrorCode::NotFound => Err(UnlockError::NotHeld { place: what }),
        Err(e) => Err(live(e)),
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ago = SystemTime::now().duration_since(self.since).unwrap_or_default();
        write!(
            f,
            "{} (pid {}) since {} ({} ago)",
            self.who,
            self.pid,
            rfc3339(self.since),
            humantime::format_duration(Duration::from_secs(ago.as_secs()))
        )
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another apply holds the lock of stack `{stack}` on {target}: {holder}{}. {state}",
        if *.waited > Duration::ZERO { format!(" (waited {})", humantime::format_duration(Duration::from_secs(.waited.as_secs()))) } else { String::new() })]
    Busy {
        stack: String,
        target: String,
        holder: String,
        /// Whether the holder looks stale and when the lock ends, as sentences.
        state: String,
        waited: Duration,
    },
    #[error("cannot use the lock file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take or release the apply lock on the cluster")]
    Live {
        #[source]
        source: LiveError,
    },
}

/// How to take a lock.
#[derive(Debug, Clone)]
pub struct LockOptions {
    pub stack: String,
    /// `user@host` (the cli knows it).
    pub who: String,
    /// How long to wait for a busy lock (`--lock-timeout`; zero: refuse at once).
    pub wait: Duration,
    /// How often a busy lock is looked at again.
    pub poll: Duration,
    /// A remote lock lapses this long after its last renewal.
    pub ttl: Duration,
    /// The holder id of every lock taken with these options: an apply that holds two (the
    /// cluster's lock and the Lease) is one holder, removed from both by one `force-unlock`.
    pub id: String,
}

impl LockOptions {
    pub fn new(stack: impl Into<String>, who: impl Into<String>) -> Self {
        LockOptions {
            stack: stack.into(),
            who: who.into(),
            wait: Duration::ZERO,
            poll: Duration::from_secs(1),
            ttl: Duration::from_secs(120),
            id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// A new holder of these options' locks: `who` and this process, with their id.
    fn holder(&self) -> Holder {
        Holder { id: self.id.clone(), ..Holder::me(self.who.clone()) }
    }
}

/// A held apply lock; release it at the end (dropping it releases a file lock, and leaves a
/// remote one to expire).
#[derive(Debug)]
pub enum ApplyLock {
    File(FileLock),
    /// A core Group (a stack without Spaces).
    Remote(RemoteLock),
    /// A Template in the stack's anchor Space, possibly not taken yet.
    Anchored(AnchoredLock),
    /// The cluster's lock (a lock Template or Group) and, taken after it, the stack's Kubernetes
    /// Lease: with Kubernetes access both are held, so an applier without that access (which
    /// takes only the cluster's lock) is still excluded (docs/locking.md).
    Paired {
        cluster: Box<ApplyLock>,
        lease: RemoteLock,
    },
}

impl ApplyLock {
    pub async fn release(self) -> Result<(), LockError> {
        match self {
            ApplyLock::File(l) => l.release(),
            ApplyLock::Remote(l) => l.release().await,
            ApplyLock::Anchored(l) => l.release().await,
            ApplyLock::Paired { cluster, lease } => {
                // In the reverse order of taking them.
                let first = lease.release().await;
                let second = Box::pin(cluster.release()).await;
                first.and(second)
            }
        }
    }

    /// The anchored lock, alone or paired with a Lease.
    pub fn anchored(&self) -> Option<&AnchoredLock> {
        match self {
            ApplyLock::Anchored(l) => Some(l),
            ApplyLock::Paired { cluster, .. } => cluster.anchored(),
            _ => None,
        }
    }

    /// False once a remote lock was found taken over or gone, or could not be renewed in time.
    pub fn held(&self) -> bool {
        match self {
            ApplyLock::File(_) => true,
            ApplyLock::Remote(l) => l.lost.borrow().is_none(),
            ApplyLock::Anchored(l) => l.receiver().borrow().is_none(),
            ApplyLock::Paired { cluster, lease } => lease.lost.borrow().is_none() && cluster.held(),
        }
    }

    /// Why the lock was lost, if it was (so far).
    pub fn lost_reason(&self) -> Option<String> {
        match self {
            ApplyLock::File(_) => None,
            ApplyLock::Remote(l) => l.lost.borrow().clone(),
            ApplyLock::Anchored(l) => l.receiver().borrow().clone(),
            ApplyLock::Paired { cluster, lease } => {
                lease.lost.borrow().clone().or_else(|| cluster.lost_reason())
            }
        }
    }

    /// The lease to check before each operation (none for a file lock: the operating system
    /// holds it for as long as this process lives).
    pub fn lease(&self) -> Option<Lease> {
        match self {
            ApplyLock::File(_) => None,
            ApplyLock::Remote(l) => Some(l.lease.clone()),
            ApplyLock::Anchored(l) => Some(l.lease()),
            ApplyLock::Paired { cluster, lease } => Some(match cluster.lease() {
                Some(c) => c.and(&lease.lease),
                None => lease.lease.clone(),
            }),
        }
    }

    /// Resolves, with the reason, once the lock is lost; never for a file lock (the operating
    /// system holds it for as long as this process lives).
    pub async fn lost(&self) -> String {
        let mut rx = match self {
            ApplyLock::File(_) => return std::future::pending().await,
            ApplyLock::Remote(l) => l.lost.clone(),
            ApplyLock::Anchored(l) => l.receiver(),
            ApplyLock::Paired { cluster, lease } => {
                let lease = ApplyLock::watch_lost(lease.lost.clone());
                return tokio::select! {
                    reason = Box::pin(cluster.lost()) => reason,
                    reason = lease => reason,
                };
            }
        };
        Self::watch_lost_ref(&mut rx).await
    }

    async fn watch_lost(mut rx: tokio::sync::watch::Receiver<Option<String>>) -> String {
        Self::watch_lost_ref(&mut rx).await
    }

    async fn watch_lost_ref(rx: &mut tokio::sync::watch::Receiver<Option<String>>) -> String {
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                // Every sender is gone without a loss (released): never resolves.
                return std::future::pending().await;
            }
        }
    }
}

/// Until when a held remote lock is surely still ours: its expiry less a margin (a sixth of its
/// lifetime), moved forward by every renewal and set to the past when the lock is lost. Apply
/// checks it on the wall clock before each operation, so a holder paused past its expiry starts
/// nothing after it resumes, whether or not its renewal has noticed yet.
#[derive(Debug, Clone)]
pub struct Lease {
    until_ms: Arc<AtomicU64>,
    margin: Duration,
    /// Other locks' leases held together with this one: valid only while every one is.
    also: Vec<Lease>,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .try_into()
        .unwrap_or(u64::MAX)
}

impl Lease {
    fn new(expires: SystemTime, ttl: Duration) -> Lease {
        let lease =
            Lease { until_ms: Arc::new(AtomicU64::new(0)), margin: ttl / 6, also: Vec::new() };
        lease.extend(expires);
        lease
    }

    fn extend(&self, expires: SystemTime) {
        let until = expires.checked_sub(self.margin).unwrap_or(UNIX_EPOCH);
        self.until_ms.store(millis(until), Ordering::SeqCst);
    }

    fn end(&self) {
        self.until_ms.store(0, Ordering::SeqCst);
    }

    /// No expiry to check: no lock object is held yet, or it was let go on purpose (its Space
    /// is about to be deleted); see [`AnchoredLock`].
    fn unbounded(&self) {
        self.until_ms.store(u64::MAX, Ordering::SeqCst);
    }

    /// True while the lock is surely ours (every one of them, for leases held together).
    pub fn valid(&self) -> bool {
        millis(SystemTime::now()) < self.until_ms.load(Ordering::SeqCst)
            && self.also.iter().all(Lease::valid)
    }

    /// Valid while both this lease and `other` are.
    fn and(&self, other: &Lease) -> Lease {
        let mut both = self.clone();
        both.also.push(other.clone());
        both
    }
}

/// The lock file of a local store: `<db>.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// An exclusive lock on `<db>.lock`.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock of the local store at `db`, waiting up to `opts.wait`.
    pub async fn acquire(db: &Path, opts: &LockOptions) -> Result<FileLock, LockError> {
        let path = lock_path(db);
        let io = |source| LockError::Io { path: path.display().to_string(), source };
        let private = |e: crate::live::local::ApiError| io(std::io::Error::other(e.message));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::live::local::create_private_dir(dir).map_err(private)?;
        }
        let began = Instant::now();
        // Busy looks in a row that found the file empty or half written (see below).
        let mut unreadable = 0;
        loop {
            // Readable by its owner only, like the store.
            let mut file = crate::live::local::private_file(&path, false).map_err(private)?;
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => {
                    let holder = opts.holder();
                    let text =
                        serde_json::to_string(&Value::Object(holder.to_json())).unwrap_or_default();
                    file.set_len(0).map_err(io)?;
                    file.seek(SeekFrom::Start(0)).map_err(io)?;
                    file.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
                    file.flush().map_err(io)?;
                    return Ok(FileLock { file, path });
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    let read = |file: &mut File| {
                        let mut text = String::new();
                        let _ = file.seek(SeekFrom::Start(0));
                        let _ = file.read_to_string(&mut text);
                        serde_json::from_str::<Map<String, Value>>(text.trim())
                            .ok()
                            .and_then(|m| Holder::from_json(&m))
                    };
                    let parsed = read(&mut file);
                    // A holder that has just taken the lock empties the file before writing
                    // itself into it, and one releasing it empties the file before unlocking:
                    // try the lock again for a moment (it may be free by then) before calling
                    // the holder unknown.
                    if parsed.is_none() && unreadable < 10 {
                        unreadable += 1;
                        drop(file);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    unreadable = 0;
                    if began.elapsed() + opts.poll > opts.wait {
                        let (holder, state) = match parsed {
                            Some(h) => (h.to_string(), h.file_state(&opts.who)),
                            None => (
                                "an unknown process".to_string(),
                                "The lock is released when that process ends.".to_string(),
                            ),
                        };
                        return Err(LockError::Busy {
                            stack: opts.stack.clone(),
                            target: format!("local:{}", db.display()),
                            holder,
                            state,
                            waited: began.elapsed(),
                        });
                    }
                    drop(file);
                    tokio::time::sleep(opts.poll).await;
                }
                Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }

    pub fn release(self) -> Result<(), LockError> {
        let io = |source| LockError::Io { path: self.path.display().to_string(), source };
        self.file.set_len(0).map_err(io)?;
        fs4::FileExt::unlock(&self.file).map_err(io)
    }
}

/// The name of a stack's lock Group: `cordium-lock-<stack>`, shortened with a hash when it
/// would pass the 40-character name limit.
pub fn group_name(stack: &str) -> String {
    let name = format!("{GROUP_PREFIX}{stack}");
    if name.len() <= MAX_NAME {
        return name;
    }
    let hash = hex::encode(Sha256::digest(stack.as_bytes()));
    let room = MAX_NAME - GROUP_PREFIX.len() - 9;
    let keep: String = stack.chars().take(room).collect();
    format!("{GROUP_PREFIX}{}-{}", keep.trim_end_matches('-'), &hash[..8])
}

/// A lock object held on a cluster (a Group or a Template: [`place`]), renewed in the
/// background until released.
pub struct RemoteLock {
    place: Arc<dyn LockPlace>,
    uid: String,
    renewal: tokio::task::JoinHandle<()>,
    /// Why the lock was lost, once it is (set by the renewal task).
    lost: tokio::sync::watch::Receiver<Option<String>>,
    lease: Lease,
}

impl std::fmt::Debug for RemoteLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteLock").field("place", &self.place).field("uid", &self.uid).finish()
    }
}

impl RemoteLock {
    /// Takes the stack's lock Group on `cluster` (`target` is its display form, for messages),
    /// waiting up to `opts.wait`.
    pub async fn acquire(
        cluster: Arc<dyn Cluster>,
        target: &str,
        opts: &LockOptions,
    ) -> Result<RemoteLock, LockError> {
        let place = Arc::new(GroupPlace { cluster, name: group_name(&opts.stack) });
        Self::acquire_at(place, target, opts).await
    }

    /// Takes the lock at `place`, waiting up to `opts.wait`.
    pub async fn acquire_at(
        place: Arc<dyn LockPlace>,
        target: &str,
        opts: &LockOptions,
    ) -> Result<RemoteLock, LockError> {
        Self::acquire_reporting(place, target, opts, None).await
    }

    async fn acquire_reporting(
        place: Arc<dyn LockPlace>,
        target: &str,
        opts: &LockOptions,
        report: Option<(&Loss, &tokio::sync::watch::Receiver<Option<String>>)>,
    ) -> Result<RemoteLock, LockError> {
        let held = |place, uid, me: Holder| match report {
            Some((loss, rx)) => {
                Self::held_reporting(place, uid, me, opts.ttl, loss.clone(), rx.clone())
            }
            None => Self::held(place, uid, me, opts.ttl),
        };
        let mut me = opts.holder();
        let began = Instant::now();
        let mut transient = 0u32;
        loop {
            me.since = SystemTime::now();
            me.expires = Some(me.since + opts.ttl);
            let err = match place.create(&me).await {
                Ok(uid) => return Ok(held(place, uid, me)),
                Err(e) => e,
            };
            let live = |source| LockError::Live { source };
            match err.code {
                ErrorCode::Transient | ErrorCode::AlreadyExists => {}
                _ => return Err(live(err)),
            }
            let current = match place.get().await {
                Ok(found) => found,
                // Gone between our create and read: try again (not in a tight loop, and not
                // past the wait: a server that keeps refusing the name yet finds nothing).
                Err(e) if e.code == ErrorCode::NotFound => {
                    if began.elapsed() > opts.wait + opts.poll * 10 {
                        return Err(live(e));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) if e.is_transient() && transient < 10 => {
                    transient += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(live(e)),
            };
            if let Some(h) = &current.holder {
                if h.id == me.id {
                    // Our create landed although its answer was lost.
                    return Ok(held(place, current.uid, me));
                }
                let dead = place.takes_over_dead_holders() && h.dead(&opts.who);
                if h.expired(SystemTime::now()) || dead {
                    // A crashed holder: delete exactly that object (by uid) and take over.
                    tracing::info!(lock = %place.describe(), holder = %h, "taking over an expired apply lock");
                    match place.delete(&current.uid).await {
                        Ok(()) => {}
                        Err(e) if e.code == ErrorCode::NotFound || e.is_transient() => {}
                        Err(e) => return Err(live(e)),
                    }
                    continue;
                }
            }
            if err.is_transient() && transient < 10 {
                transient += 1;
                continue;
            }
            if began.elapsed() + opts.poll > opts.wait {
                let id = current.holder.as_ref().map(|h| h.id.clone()).filter(|i| !i.is_empty());
                let (holder_text, mut state) = match current.holder {
                    Some(h) => {
                        (h.to_string(), h.remote_state(&opts.who, SystemTime::now(), opts.ttl))
                    }
                    None => (
                        place.describe(),
                        "Its expiry is unknown (the lock object names none).".to_string(),
                    ),
                };
                // What `force-unlock` takes (a file lock ends with its process instead).
                if let Some(id) = id {
                    state.push_str(&format!(
                        " Lock id {id}: if its holder is gone, `cordium force-unlock {id}` \
                         removes it."
                    ));
                }
                return Err(LockError::Busy {
                    stack: opts.stack.clone(),
                    target: target.to_string(),
                    holder: holder_text,
                    state,
                    waited: began.elapsed(),
                });
            }
            tokio::time::sleep(opts.poll).await;
        }
    }

    fn held(place: Arc<dyn LockPlace>, uid: String, me: Holder, ttl: Duration) -> RemoteLock {
        let (tx, lost) = tokio::sync::watch::channel(None);
        let lease = Lease::new(me.expires.unwrap_or_else(SystemTime::now), ttl);
        Self::held_reporting(place, uid, me, ttl, Loss { tx, lease }, lost)
    }

    /// Held, with the loss and the lease reported where `loss` says (an [`AnchoredLock`] keeps
    /// one channel and one lease across the lock objects it takes).
    fn held_reporting(
        place: Arc<dyn LockPlace>,
        uid: String,
        me: Holder,
        ttl: Duration,
        loss: Loss,
        lost: tokio::sync::watch::Receiver<Option<String>>,
    ) -> RemoteLock {
        let lease = loss.lease.clone();
        lease.extend(me.expires.unwrap_or_else(SystemTime::now));
        let renewal = tokio::spawn(renew(place.clone(), uid.clone(), me, ttl, loss));
        RemoteLock { place, uid, renewal, lost, lease }
    }

    /// How messages name the lock object.
    pub fn describe(&self) -> String {
        self.place.describe()
    }

    /// Stops renewing, leaving the lock object to whatever deletes it (its Space's delete) or to
    /// expire.
    pub(crate) fn stop_renewing(self) {
        self.renewal.abort();
    }

    /// Stops renewing and deletes the lock object (by uid, so a lock taken over meanwhile is
    /// left alone).
    pub async fn release(self) -> Result<(), LockError> {
        self.renewal.abort();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.place.delete(&self.uid).await {
                Ok(()) => return Ok(()),
                Err(e) if e.code == ErrorCode::NotFound => return Ok(()),
                Err(e) if e.is_transient() && attempts < 6 => {
                    tokio::time::sleep(Duration::from_millis(200 * attempts)).await;
                }
                Err(source) => return Err(LockError::Live { source }),
            }
        }
    }
}

/// Why one renewal did not happen.
enum Renewal {
    /// Worth trying again soon (the cluster did not answer).
    Transient(LiveError),
    /// The lock is not ours any more; the sentence says why.
    Lost(String),
}

/// One renewal: read the lock object and check that it is still ours (same uid, same holder
/// id), then move its expiry forward. The read comes first because the server updates by name,
/// not uid (octelium `rscserver/common.go`: name wins over uid), so an update alone would
/// overwrite a lock another apply took over. What is left is the window between the read and
/// the update: a takeover needs our lock to have expired, so it takes a holder paused for the
/// whole remaining lifetime (80 s and more) between those two calls.
async fn renew_once(
    place: &dyn LockPlace,
    uid: &str,
    me: &mut Holder,
    ttl: Duration,
) -> Result<SystemTime, Renewal> {
    let what = place.describe();
    let classify = |e: LiveError, doing: &str| {
        if e.is_transient() {
            Renewal::Transient(e)
        } else if e.code == ErrorCode::NotFound {
            Renewal::Lost(format!("{what} was deleted"))
        } else {
            Renewal::Lost(format!("{doing} {what} failed: {e}"))
        }
    };
    let current = place.get().await.map_err(|e| classify(e, "reading"))?;
    if current.uid != uid || current.holder.as_ref().map(|h| h.id.as_str()) != Some(me.id.as_str())
    {
        let by = current.holder.map(|h| h.to_string()).unwrap_or_else(|| "someone else".into());
        return Err(Renewal::Lost(format!("it was taken over by {by}")));
    }
    let expires = SystemTime::now() + ttl;
    me.expires = Some(expires);
    place.update(uid, me).await.map_err(|e| classify(e, "renewing"))?;
    Ok(expires)
}

/// Where the renewal task reports: the reason of a loss, and the lease it keeps moving.
#[derive(Clone)]
struct Loss {
    tx: tokio::sync::watch::Sender<Option<String>>,
    lease: Lease,
}

impl Loss {
    fn lost(&self, reason: String) {
        self.lease.end();
        let _ = self.tx.send(Some(reason));
    }
}

/// Pushes the lock's expiry forward every third of its lifetime, until aborted or lost. The
/// loss is sent on `lost` (apply stops starting operations when it sees it) at the first of:
/// the object was deleted or taken over; the lock's own expiry passed (this process was
/// paused); no renewal succeeded for one renewal period after one was due, while the lock was
/// still ours for another period.
async fn renew(place: Arc<dyn LockPlace>, uid: String, mut me: Holder, ttl: Duration, lost: Loss) {
    let every = (ttl / 3).max(Duration::from_millis(100));
    let retry = (every / 20).clamp(Duration::from_millis(50), Duration::from_secs(2));
    let mut deadline = me.expires.unwrap_or_else(|| SystemTime::now() + ttl);
    let mut renewed = SystemTime::now();
    loop {
        tokio::time::sleep(every).await;
        loop {
            let now = SystemTime::now();
            if now >= deadline {
                let reason = format!(
                    "it expired at {} before it could be renewed (was this process paused?)",
                    rfc3339(deadline)
                );
                lost.lost(reason);
                return;
            }
            match renew_once(place.as_ref(), &uid, &mut me, ttl).await {
                Ok(expires) => {
                    deadline = expires;
                    lost.lease.extend(expires);
                    renewed = SystemTime::now();
                    break;
                }
                Err(Renewal::Lost(reason)) => {
                    lost.lost(reason);
                    return;
                }
                Err(Renewal::Transient(e)) => {
                    let since = SystemTime::now().duration_since(renewed).unwrap_or_default();
                    if since >= every * 2 {
                        let reason = format!(
                            "it could not be renewed for {} and expires at {}: {e}",
                            humantime::format_duration(Duration::from_secs(since.as_secs())),
                            rfc3339(deadline)
                        );
                        lost.lost(reason);
                        return;
                    }
                    tokio::time::sleep(retry).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::ObjectKey;

    #[test]
    fn group_names_fit_the_name_rules() {
        assert_eq!(group_name("platform"), "cordium-lock-platform");
        let long = group_name("a-very-long-stack-name-that-goes-past-forty");
        assert!(long.len() <= MAX_NAME, "{long}");
        assert!(long.starts_with(GROUP_PREFIX));
        assert!(!long.contains("--"));
        assert_ne!(long, group_name("a-very-long-stack-name-that-goes-past-fortz"));
    }

    #[test]
    fn holders_round_trip_and_expire() {
        let mut h = Holder::me("alice@box");
        h.expires = Some(h.since + Duration::from_secs(60));
        let back = Holder::from_json(&h.to_json()).expect("parses");
        assert_eq!(back.who, "alice@box");
        assert_eq!(back.id, h.id);
        assert!(!back.expired(h.since));
        assert!(back.expired(h.since + Duration::from_secs(61)));
        assert!(back.to_string().starts_with("alice@box (pid "), "{back}");
    }

    fn fast() -> LockOptions {
        let mut opts = LockOptions::new("s", "alice@box");
        opts.ttl = Duration::from_millis(600);
        opts
    }

    #[tokio::test]
    async fn a_lock_taken_over_is_lost_within_one_renewal_and_never_overwritten() {
        let cluster: Arc<dyn Cluster> =
            Arc::new(crate::live::local::LocalCluster::in_memory().expect("cluster"));
        let opts = fast();
        let mine = RemoteLock::acquire(cluster.clone(), "test", &opts).await.expect("taken");
        let lock = ApplyLock::Remote(mine);
        assert!(lock.held());
        // Another apply deletes it (as a takeover of an expired lock does) and creates its own.
        let name = group_name("s");
        let g = cluster.get_group(&ObjectKey::Name(name.clone())).await.expect("there");
        cluster.delete_group(&ObjectKey::Uid(uid_of(&g))).await.expect("deleted");
        let mut bob = Holder::me("bob@other");
        bob.expires = Some(SystemTime::now() + Duration::from_secs(60));
        cluster.create_group(group(&name, "", &bob)).await.expect("bob's");
        let began = Instant::now();
        let reason = tokio::time::timeout(Duration::from_secs(2), lock.lost()).await.expect("seen");
        assert!(began.elapsed() <= Duration::from_millis(600), "{:?}", began.elapsed());
        assert!(reason.contains("taken over by bob@other (pid"), "{reason}");
        assert!(!lock.held());
        assert!(!lock.lease().expect("remote").valid());
        // Bob's lock is untouched, by the renewal and by our release.
        lock.release().await.expect("released");
        let after = cluster.get_group(&ObjectKey::Name(name)).await.expect("bob's is there");
        assert_eq!(holder_of(&after).map(|h| h.id), Some(bob.id));
    }

    #[tokio::test]
    async fn a_lock_past_its_expiry_is_lost_without_a_write() {
        let cluster: Arc<dyn Cluster> =
            Arc::new(crate::live::local::LocalCluster::in_memory().expect("cluster"));
        let (tx, rx) = tokio::sync::watch::channel(None);
        let lease =
            Lease::new(SystemTime::now() - Duration::from_secs(1), Duration::from_millis(300));
        let mut me = Holder::me("alice@box");
        // As if this process had been paused past its lock's expiry.
        me.expires = Some(SystemTime::now() - Duration::from_secs(1));
        let g = cluster.create_group(group(&group_name("s"), "", &me)).await.expect("created");
        let before = g.metadata.as_ref().map(|m| m.resource_version.clone());
        let place: Arc<dyn LockPlace> =
            Arc::new(GroupPlace { cluster: cluster.clone(), name: group_name("s") });
        let renewal = tokio::spawn(renew(
            place.clone(),
            uid_of(&g),
            me,
            Duration::from_millis(300),
            Loss { tx, lease: lease.clone() },
        ));
        let lock =
            ApplyLock::Remote(RemoteLock { place, uid: uid_of(&g), renewal, lost: rx, lease });
        let reason = tokio::time::timeout(Duration::from_secs(2), lock.lost()).await.expect("seen");
        assert!(reason.contains("expired at"), "{reason}");
        let after = cluster.get_group(&ObjectKey::Name(group_name("s"))).await.expect("there");
        assert_eq!(after.metadata.map(|m| m.resource_version), before, "not renewed");
    }

    #[tokio::test]
    async fn a_held_lock_is_renewed_and_stays_held() {
        let cluster: Arc<dyn Cluster> =
            Arc::new(crate::live::local::LocalCluster::in_memory().expect("cluster"));
        let lock = ApplyLock::Remote(
            RemoteLock::acquire(cluster.clone(), "test", &fast()).await.expect("taken"),
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(lock.held(), "renewed past its 600 ms lifetime");
        assert!(lock.lease().expect("remote").valid());
        lock.release().await.expect("released");
    }

    #[tokio::test]
    async fn a_second_file_lock_is_refused_naming_the_first_and_waits_for_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("local.db");
        let mut opts = LockOptions::new("s", "alice@box");
        opts.poll = Duration::from_millis(20);
        let first = FileLock::acquire(&db, &opts).await.expect("first");
        let busy = FileLock::acquire(&db, &LockOptions { who: "bob@b".into(), ..opts.clone() })
            .await
            .expect_err("busy");
        let text = busy.to_string();
        assert!(text.contains("alice@box (pid"), "{text}");
        assert!(text.contains("since"), "{text}");
        let waiting = tokio::spawn({
            let db = db.clone();
            let opts = LockOptions { wait: Duration::from_secs(5), ..opts.clone() };
            async move { FileLock::acquire(&db, &opts).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        first.release().expect("release");
        let second = waiting.await.expect("joined").expect("taken after the wait");
        second.release().expect("release");
    }

    // Regression: a holder releasing its lock empties the file, then unlocks it. An apply that
    // found the lock busy just before and read the empty file kept reading it, never tried the
    // lock again, and refused naming "an unknown process" although the lock was free.
    #[tokio::test]
    async fn a_lock_released_while_its_file_is_read_is_taken_not_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("local.db");
        let opts = LockOptions::new("s", "alice@box");
        // The releasing holder, caught between emptying the file and unlocking it.
        let first = FileLock::acquire(&db, &opts).await.expect("first");
        first.file.set_len(0).expect("emptied");
        let releasing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            first.release().expect("released");
        });
        let bob = LockOptions { who: "bob@box".into(), ..opts.clone() };
        let taken = FileLock::acquire(&db, &bob).await;
        releasing.join().expect("joined");
        let taken = taken.expect("taken once released, no wait asked for");
        taken.release().expect("release");
    }

    #[tokio::test]
    async fn a_remote_refusal_says_when_the_lock_expires_and_whether_it_looks_stale() {
        let cluster: Arc<dyn Cluster> =
            Arc::new(crate::live::local::LocalCluster::in_memory().expect("cluster"));
        let opts = LockOptions::new("s", "bob@box");
        let mut alice = Holder::me("alice@other");
        let expires = SystemTime::now() + Duration::from_secs(100);
        alice.expires = Some(expires);
        let g = cluster.create_group(group(&group_name("s"), "", &alice)).await.expect("alice's");
        let text = RemoteLock::acquire(cluster.clone(), "t", &opts).await.expect_err("busy");
        let text = text.to_string();
        assert!(text.contains("alice@other (pid"), "{text}");
        assert!(text.contains("does not look stale"), "{text}");
        assert!(text.contains(&format!("expires at {}", rfc3339(expires))), "{text}");
        // Close to its expiry (less than half the lifetime left): not renewed on time.
        cluster.delete_group(&ObjectKey::Uid(uid_of(&g))).await.expect("deleted");
        let soon = SystemTime::now() + Duration::from_secs(20);
        alice.expires = Some(soon);
        cluster.create_group(group(&group_name("s"), "", &alice)).await.expect("again");
        let text = RemoteLock::acquire(cluster, "t", &opts).await.expect_err("busy").to_string();
        assert!(text.contains("It looks stale"), "{text}");
        assert!(text.contains("not renewed on time"), "{text}");
        assert!(text.contains(&format!("expires at {}", rfc3339(soon))), "{text}");
    }

    #[tokio::test]
    async fn a_file_refusal_says_the_lock_ends_with_the_holder_and_whether_it_looks_stale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("local.db");
        let opts = LockOptions::new("s", "alice@box");
        let first = FileLock::acquire(&db, &opts).await.expect("first");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lock_path(&db)).expect("there").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the lock file is the owner's only");
        let bob = LockOptions { who: "bob@box".into(), ..opts.clone() };
        let text = FileLock::acquire(&db, &bob).await.expect_err("busy").to_string();
        assert!(text.contains("does not look stale"), "{text}");
        assert!(text.contains("released when that process ends"), "{text}");
        // The holder named in the file has exited (a child it started still holds the lock).
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let gone = child.id();
        child.wait().expect("exited");
        let mut dead = Holder::me("alice@box");
        dead.pid = gone;
        let line = serde_json::to_string(&Value::Object(dead.to_json())).expect("json");
        std::fs::write(lock_path(&db), format!("{line}\n")).expect("rewritten");
        let text = FileLock::acquire(&db, &bob).await.expect_err("busy").to_string();
        assert!(
            text.contains(&format!("It looks stale: pid {gone} is no longer running")),
            "{text}"
        );
        assert!(text.contains("released when the last process holding the file ends"), "{text}");
        first.release().expect("release");
    }
}
