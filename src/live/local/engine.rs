//! The local cluster's engine: the lower-level API both the in-process [`super::LocalCluster`]
//! and the gRPC services of `cordium serve` call, with the caller's username as an input.
//!
//! Every public operation is atomic, mirrors one RPC of the real server, taking and returning
//! the wire messages, and returns only once what it wrote is committed. Operations that arrive
//! while another runs share one SQLite transaction (group commit, [`Engine::tx`]), each under a
//! savepoint of its own, so a failed one undoes only its own writes. This file holds the shared machinery (transactions,
//! saving with uid/resourceVersion, pagination, the caller's User); the RPCs live in
//! `spaces.rs`, `templates.rs`, `secrets.rs`, `workspaces.rs` and `users.rs`, the permission
//! checks in `access.rs`, the spec checks in `validate.rs`, the fresh-cluster objects in
//! `genesis.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rand::{Rng, SeedableRng};
use rusqlite::Connection;

use super::access::{Role, SpaceOwnership};
use super::builds::{self, BuildSettings, Clock, SystemClock};
use super::error::{ApiError, ApiResult};
use super::seal::{create_private_dir, key_path, SecretKey};
use super::store::{self, Filter, Order, Stored};
use crate::live::wire::{cordium, core, meta};

/// Upstream rscserver: `defaultItemsPerPage`.
pub const DEFAULT_ITEMS_PER_PAGE: u32 = 200;
/// Upstream rscserver: `maxItemsPerPage`.
pub const MAX_ITEMS_PER_PAGE: u32 = 1000;
/// Upstream rscserver refuses pages beyond this.
pub const MAX_PAGE: u32 = 10_000;

/// How an [`Engine`] is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub clock: Arc<dyn Clock>,
    pub builds: BuildSettings,
    /// Seeds server-chosen names and build ids; `None` = from the OS.
    pub seed: Option<u64>,
    /// The key sealing Secret values of a store file; `None` = `<db>.key` beside it. In-memory
    /// stores use a random key kept nowhere.
    pub secret_key_file: Option<PathBuf>,
    /// The ClusterConfig `spec.space.ownership.rules`: who may create which Space. Default: what
    /// a fresh installation sets (one ALLOW `matchAny` rule: everyone may); no rules refuses
    /// every CreateSpace.
    pub space_ownership: SpaceOwnership,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            clock: Arc::new(SystemClock),
            builds: BuildSettings::default(),
            seed: None,
            secret_key_file: None,
            space_ownership: SpaceOwnership::default(),
        }
    }
}

/// At most this many operations share one transaction (group commit).
pub(super) const MAX_BATCH_OPS: usize = 64;
/// A shared transaction is committed once it has been open this long, even if more operations
/// are waiting to join it, so no operation waits long for the ones after it. (On a busy
/// machine handing the connection from one waiting thread to the next can take a scheduler
/// slice; at 2 ms most transactions were cut after one or two operations.)
pub(super) const MAX_BATCH_AGE: Duration = Duration::from_millis(10);
/// The end of one shared transaction, which the operations in it wait for: a ticket of their
/// own, so waking them does not contend for the connection the next transaction needs.
#[derive(Debug, Default)]
struct Batch {
    /// `None` while open; then whether it committed.
    outcome: Mutex<Option<Result<(), ApiError>>>,
    ended: Condvar,
}

impl Batch {
    fn finish(&self, outcome: Result<(), ApiError>) {
        let mut o = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        *o = Some(outcome);
        self.ended.notify_all();
    }

    fn wait(&self) -> Result<(), ApiError> {
        let mut o = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(outcome) = &*o {
                return outcome.clone();
            }
            o = self.ended.wait(o).unwrap_or_else(|e| e.into_inner());
        }
    }
}

thread_local! {
    /// While a queue thread runs one of its jobs ([`Engine::held`]): the transactions the
    /// job's operations ran in, which [`Engine::tx`] leaves open for the queue's next job
    /// instead of committing (the queue ends them, [`Engine::end_held`]). `None` elsewhere.
    static HELD: std::cell::RefCell<Option<Vec<Arc<Batch>>>> =
        const { std::cell::RefCell::new(None) };
}

/// The transactions one queued job ran in: its answer waits for them ([`Held::outcome`]).
#[derive(Debug, Default)]
pub(super) struct Held(Vec<Arc<Batch>>);

impl Held {
    /// Whether the job's writes are committed: `Ok` once every transaction it ran in has, the
    /// first failure otherwise. Waits for transactions still open (call after
    /// [`Engine::end_held`], when none is).
    pub(super) fn outcome(&self) -> Result<(), ApiError> {
        self.0.iter().try_for_each(|b| b.wait())
    }
}

/// The store connection and the transaction operations share (see [`Engine::tx`]).
#[derive(Debug)]
struct Writer {
    conn: Connection,
    /// When the open shared transaction began; `None` when none is open.
    open: Option<Instant>,
    /// Operations run in the open transaction.
    ops: usize,
    /// What the operations in the open transaction wait on.
    batch: Arc<Batch>,
    /// Transactions committed.
    commits: u64,
    /// Sealed rows were deleted inside the open transaction: the WAL is checkpointed and
    /// truncated once it has committed ([`Engine::forget_deleted`]).
    forget: bool,
}

impl Writer {
    fn new(conn: Connection) -> Self {
        Writer { conn, open: None, ops: 0, batch: Arc::default(), commits: 0, forget: false }
    }

    fn checkpoint(&self) {
        let _ = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    /// Ends the open transaction: commits it, or rolls it back when `outcome` (or the commit)
    /// failed, and tells the operations waiting on it. Returns the failure.
    fn end(&mut self, outcome: ApiResult<()>) -> Option<ApiError> {
        let outcome = outcome.and_then(|()| Ok(self.conn.execute_batch("COMMIT")?));
        let failure = outcome.err();
        if failure.is_some() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if failure.is_none() {
            self.commits += 1;
        }
        if std::mem::take(&mut self.forget) {
            self.checkpoint();
        }
        self.open = None;
        self.ops = 0;
        let batch = std::mem::take(&mut self.batch);
        batch.finish(failure.clone().map_or(Ok(()), Err));
        failure
    }
}

/// The connection while an operation holds it (unit tests reading what no RPC returns).
#[cfg(test)]
pub(super) struct ConnGuard<'a>(std::sync::MutexGuard<'a, Writer>);

#[cfg(test)]
impl std::ops::Deref for ConnGuard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

/// The local cluster's server semantics over its store.
#[derive(Debug)]
pub struct Engine {
    writer: Mutex<Writer>,
    /// Operations waiting for the connection: while there are any, the one running leaves the
    /// transaction open for them and the last one commits it.
    queued: AtomicUsize,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) builds: BuildSettings,
    rng: Mutex<rand::rngs::StdRng>,
    key: SecretKey,
    pub(super) space_ownership: SpaceOwnership,
}

impl Engine {
    /// Opens the store file at `path` (creating it and its directory).
    /// The directory is created 0700, the files 0600; Secret values are sealed with the key at
    /// `options.secret_key_file` (created when missing).
    pub fn open(path: &Path, options: EngineOptions) -> ApiResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let key_file = options.secret_key_file.clone().unwrap_or_else(|| key_path(path));
        let key = SecretKey::load_or_create(&key_file)?;
        let engine = Self::with_connection(store::open(path)?, options, key);
        engine.seal_plain_secrets()?;
        engine.move_legacy_memberships()?;
        engine.backfill_owner_memberships()?;
        engine.reindex_users()?;
        engine.seed_genesis()?;
        Ok(engine)
    }

    /// An engine over an in-memory store.
    pub fn in_memory(options: EngineOptions) -> ApiResult<Self> {
        let engine = Self::with_connection(store::open_in_memory()?, options, SecretKey::random());
        engine.seed_genesis()?;
        Ok(engine)
    }

    /// Moves the Memberships older stores kept in a table of their own into Membership objects
    /// (that table numbered roles VIEWER 1, MEMBER 2, ADMIN 3, OWNER 4).
    fn move_legacy_memberships(&self) -> ApiResult<()> {
        self.tx(|c, now| {
            for (space_uid, user_uid, old) in store::take_legacy_memberships(c)? {
                let role = match old {
                    4 => Role::Owner,
                    3 => Role::Admin,
                    _ => Role::User,
                };
                let space = store::get_by_uid::<cordium::Space>(c, &space_uid)?;
                let user = store::get_by_uid::<core::User>(c, &user_uid)?;
                if let (Some(space), Some(user)) = (space, user) {
                    self.put_membership(c, now, &space, &user, role)?;
                }
            }
            Ok(())
        })
    }

    /// Creates the Membership of `user` in `space` with `role`, or sets the role of the one
    /// there is, as CreateSpace (the creator's OWNER Membership) and CreateMembership store it:
    /// named `<username>.<space>` (cordium `GetMembershipName`), with the User's display name
    /// and picture (`GetMembershipUserInfo`).
    pub(super) fn put_membership(
        &self,
        c: &Connection,
        now: SystemTime,
        space: &cordium::Space,
        user: &core::User,
        role: Role,
    ) -> ApiResult<cordium::Membership> {
        if let Some(mut m) = store::membership_object(c, &uid_of(space), &uid_of(user))? {
            m.spec.get_or_insert_with(Default::default).role = role as i32;
            self.save(c, now, &mut m)?;
            return Ok(m);
        }
        let um = user.metadata.clone().unwrap_or_default();
        let mut m = cordium::Membership {
            metadata: Some(meta::Metadata {
                name: format!("{}.{}", name_of(user), name_of(space)),
                ..Default::default()
            }),
            spec: Some(cordium::membership::Spec { role: role as i32 }),
            status: Some(cordium::membership::Status {
                user_ref: Some(reference(user)),
                space_ref: Some(reference(space)),
                user_info: Some(cordium::membership::status::UserInfo {
                    display_name: um.display_name,
                    pic_url: um.pic_url,
                }),
            }),
            ..Default::default()
        };
        self.save_new(c, now, &mut m)?;
        Ok(m)
    }

    /// Gives the creator of every Space that has no Membership (stored by a version before
    /// Memberships existed) its OWNER Membership, as CreateSpace does.
    fn backfill_owner_memberships(&self) -> ApiResult<()> {
        self.tx(|c, now| {
            for s in store::all::<cordium::Space>(c, &store::Filter::default())? {
                let space_uid = uid_of(&s);
                let owner = s.status.as_ref().and_then(|st| st.user_ref.as_ref());
                if let Some(owner) = owner {
                    if store::count_memberships(c, &space_uid)? == 0 {
                        if let Some(user) = store::get_by_uid::<core::User>(c, &owner.uid)? {
                            self.put_membership(c, now, &s, &user, Role::Owner)?;
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// Rewrites the indexed columns of every User once (a User's email became indexed after
    /// stores were written).
    fn reindex_users(&self) -> ApiResult<()> {
        self.tx(|c, _| {
            if store::flag(c, "user-email-index")? {
                return Ok(());
            }
            for u in store::all::<core::User>(c, &store::Filter::default())? {
                store::replace(c, &u)?;
            }
            store::set_flag(c, "user-email-index")
        })
    }

    /// Gives the User `username` (created if new) the role `role` in the Space `space` (its
    /// stored name), as CreateMembership or UpdateMembership would but without their checks:
    /// for tests and for seeding a shared Space.
    pub fn set_membership(&self, space: &str, username: &str, role: Role) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, username)?;
            let space: cordium::Space = load(c, "", space)?;
            self.put_membership(c, now, &space, &user, role).map(drop)
        })
    }

    /// Seals the values of Secrets stored in their body by a version before sealing existed.
    fn seal_plain_secrets(&self) -> ApiResult<()> {
        self.tx(|c, _| {
            for mut s in store::all::<cordium::Secret>(c, &store::Filter::default())? {
                if let Some(plain) = s.take_sensitive() {
                    let uid = uid_of(&s);
                    store::put_sealed(c, &uid, &self.key.seal(&uid, &plain)?)?;
                    store::replace(c, &s)?;
                }
            }
            Ok(())
        })
    }

    /// The stored value of the Secret with this uid, opened (never returned by an RPC; for
    /// what runs a Workspace).
    pub fn secret_data(&self, uid: &str) -> ApiResult<Option<cordium::secret::Data>> {
        self.tx(|c, _| {
            let Some(sealed) = store::get_sealed(c, uid)? else { return Ok(None) };
            let plain = self.key.open(uid, &sealed)?;
            Ok(Some(prost::Message::decode(plain.as_slice())?))
        })
    }

    /// After deleting sealed rows: copies the WAL into the store and truncates it, so the
    /// deleted rows' old pages do not linger in the WAL either (`secure_delete` zeroes them in
    /// the store). Best effort: another connection reading keeps the WAL until the next time.
    pub(super) fn forget_deleted(&self) {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Inside a shared transaction other operations have joined: once it has ended.
        if w.open.is_none() {
            w.checkpoint();
        } else {
            w.forget = true;
        }
    }

    fn with_connection(conn: Connection, options: EngineOptions, key: SecretKey) -> Self {
        let rng = match options.seed {
            Some(seed) => rand::rngs::StdRng::seed_from_u64(seed),
            None => rand::rngs::StdRng::from_os_rng(),
        };
        Engine {
            writer: Mutex::new(Writer::new(conn)),
            queued: AtomicUsize::new(0),
            clock: options.clock,
            builds: options.builds,
            rng: Mutex::new(rng),
            key,
            space_ownership: options.space_ownership,
        }
    }

    /// The store connection (unit tests reading what no RPC returns).
    #[cfg(test)]
    pub(super) fn conn_for_tests(&self) -> ConnGuard<'_> {
        ConnGuard(self.writer.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sets a Workspace's state as a controller would (unit tests: nothing here starts one).
    #[cfg(test)]
    pub(super) fn force_workspace_state(
        &self,
        uid: &str,
        state: cordium::workspace::status::State,
    ) {
        let r = self.tx(|c, now| {
            let mut w: cordium::Workspace = load(c, uid, "")?;
            w.status.get_or_insert_with(Default::default).set_state(state);
            self.save(c, now, &mut w)
        });
        assert!(r.is_ok(), "{r:?}");
    }

    /// Runs `f` as one atomic operation and returns once its writes are committed.
    ///
    /// Group commit: operations that arrive while another holds the connection join its
    /// transaction (`BEGIN IMMEDIATE`, so the store's write lock is taken first, as before),
    /// each under a savepoint of its own, so a failed operation undoes only its own writes. The
    /// last one in (no other waiting, or [`MAX_BATCH_OPS`], or [`MAX_BATCH_AGE`]) commits, and
    /// only then do they all return: no operation is answered before its writes are durable,
    /// and they run one at a time, in the order they got the connection, so each sees the
    /// writes of those before it exactly as if each had committed alone. If the shared
    /// transaction cannot commit, every operation in it fails with that error (none of them
    /// happened). A lone operation commits at once, as before.
    pub(super) fn tx<R>(
        &self,
        f: impl FnOnce(&Connection, SystemTime) -> ApiResult<R>,
    ) -> ApiResult<R> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        // A panic while holding the lock cannot leave a half-written operation (its savepoint
        // rolls back on drop), so a poisoned lock is safe to reuse.
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if w.open.is_none() {
            w.conn.execute_batch("BEGIN IMMEDIATE")?;
            w.open = Some(Instant::now());
            w.ops = 0;
        }
        let result = {
            let sp = w.conn.savepoint();
            match sp {
                Ok(mut sp) => {
                    // Undone (rolled back to the savepoint and released) when `sp` drops
                    // without a commit: on an error, or a panic.
                    sp.set_drop_behavior(rusqlite::DropBehavior::Rollback);
                    let clock = &self.clock;
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        f(&sp, clock.now())
                    }));
                    match ran {
                        Ok(Ok(r)) => Ok(sp.commit().map(|()| r).map_err(ApiError::from)),
                        Ok(Err(e)) => Ok(Err(e)),
                        Err(panic) => Err(panic),
                    }
                }
                Err(e) => Ok(Err(e.into())),
            }
        };
        let result = match result {
            Ok(r) => r,
            Err(panic) => {
                // A bug: its writes are undone; the operations before it in the transaction
                // are committed and answered, then the panic goes on.
                w.end(Ok(()));
                drop(w);
                std::panic::resume_unwind(panic);
            }
        };
        w.ops += 1;
        if w.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full disk): the
            // operations that ran in it before this one are undone too.
            let e = ApiError::internal("local store: the transaction was rolled back");
            let failure = w.end(Err(e));
            return Err(result.err().or(failure).unwrap_or_else(|| {
                ApiError::internal("local store: the transaction was rolled back")
            }));
        }
        let full = w.ops >= MAX_BATCH_OPS || w.open.is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE);
        // On a queue thread the queue commits (it knows whether more jobs are waiting): the
        // job's answer waits for that, not the operation.
        let held = !full
            && HELD
                .with_borrow_mut(|h| {
                    h.as_mut().map(|batches| {
                        if !batches.iter().any(|b| Arc::ptr_eq(b, &w.batch)) {
                            batches.push(w.batch.clone());
                        }
                    })
                })
                .is_some();
        if held {
            return result;
        }
        // A refused operation answers its own refusal whatever the commit does (its writes
        // were undone at its savepoint); one that succeeded answers the commit's failure.
        if full || self.queued.load(Ordering::SeqCst) == 0 {
            let failure = w.end(Ok(()));
            return match (result, failure) {
                (Err(e), _) | (Ok(_), Some(e)) => Err(e),
                (Ok(r), None) => Ok(r),
            };
        }
        // An operation waiting for the connection joins this transaction and it, or one after
        // it, commits; this one returns when that is done.
        let batch = w.batch.clone();
        drop(w);
        let committed = batch.wait();
        match result {
            Err(e) => Err(e),
            Ok(r) => committed.map(|()| r),
        }
    }

    /// Runs `f`, a job of a queue thread (`super::queue`), leaving the transactions its
    /// operations run in open for the queue's next jobs: they share it without handing the
    /// connection from thread to thread. Returns what `f` returned and the transactions it ran
    /// in; its answer must wait for their [`Held::outcome`], after [`Engine::end_held`].
    pub(super) fn held<R>(&self, f: impl FnOnce() -> R) -> (R, Held) {
        // `f` does not unwind: a queued call catches its own panic (`LocalCluster::blocking`).
        HELD.with_borrow_mut(|h| *h = Some(Vec::new()));
        let r = f();
        let batches = HELD.with_borrow_mut(|h| h.take()).unwrap_or_default();
        (r, Held(batches))
    }

    /// Commits the transaction the queue's jobs left open (if another caller's operation has
    /// not committed it meanwhile); each job's [`Held::outcome`] tells whether that worked.
    pub(super) fn end_held(&self) {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if w.open.is_some() {
            w.end(Ok(()));
        }
    }

    /// How many transactions the store has committed since the engine opened it: with
    /// operations arriving together, fewer than the operations (benches print the ratio).
    pub fn commits(&self) -> u64 {
        self.writer.lock().map(|w| w.commits).unwrap_or_else(|e| e.into_inner().commits)
    }

    /// `n` random lowercase alphanumerics, the first a letter (so it is a valid name segment).
    pub(super) fn random_name(&self, n: usize) -> String {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        (0..n)
            .map(|i| {
                let set = if i == 0 { LETTERS } else { ALNUM };
                char::from(set[rng.random_range(0..set.len())])
            })
            .collect()
    }

    /// Creates `object`: server-set uid, createdAt and resourceVersion.
    pub(super) fn save_new<T: Stored>(
        &self,
        c: &Connection,
        now: SystemTime,
        object: &mut T,
    ) -> ApiResult<()> {
        object.set_envelope();
        let rv = store::next_version(c)?;
        let m = object.meta_mut();
        m.uid = uuid::Uuid::new_v4().to_string();
        m.created_at = Some(builds::timestamp(now));
        m.updated_at = None;
        m.resource_version = rv;
        m.last_resource_version.clear();
        let uid = m.uid.clone();
        let sensitive = object.take_sensitive();
        store::insert(c, object)?;
        if let Some(plain) = sensitive {
            store::put_sealed(c, &uid, &self.key.seal(&uid, &plain)?)?;
        }
        Ok(())
    }

    /// Writes `object` back. As upstream, an update that changes nothing is not a write: the
    /// resourceVersion moves only when the stored object changes.
    pub(super) fn save<T: Stored>(
        &self,
        c: &Connection,
        now: SystemTime,
        object: &mut T,
    ) -> ApiResult<()> {
        let uid = object.meta().map(|m| m.uid.clone()).unwrap_or_default();
        let old = store::get_by_uid::<T>(c, &uid)?
            .ok_or_else(|| ApiError::not_found(format!("{} {uid} does not exist", T::KIND)))?;
        if &old == object {
            return Ok(());
        }
        let rv = store::next_version(c)?;
        let m = object.meta_mut();
        m.last_resource_version = std::mem::replace(&mut m.resource_version, rv);
        m.updated_at = Some(builds::timestamp(now));
        store::replace(c, object)
    }

    /// The caller's User, created on first sight (a real cluster knows every caller).
    pub(super) fn caller(
        &self,
        c: &Connection,
        now: SystemTime,
        username: &str,
    ) -> ApiResult<core::User> {
        if let Some(u) = store::get_by_name::<core::User>(c, username)? {
            return Ok(u);
        }
        if !super::names::is_segment(username) {
            return Err(ApiError::new(
                super::error::Code::Unauthenticated,
                format!("Unknown User: {username}"),
            ));
        }
        let mut user = core::User {
            metadata: Some(meta::Metadata { name: username.to_string(), ..Default::default() }),
            spec: Some(core::user::Spec {
                r#type: core::user::spec::Type::Human as i32,
                ..Default::default()
            }),
            status: Some(Default::default()),
            ..Default::default()
        };
        self.save_new(c, now, &mut user)?;
        Ok(user)
    }

    /// One page of objects as upstream's rscserver pages them (0-based page; default 200,
    /// at most 1000 per page; a page past the end is NOT_FOUND).
    pub(super) fn page<T: Stored>(
        &self,
        c: &Connection,
        filter: &Filter,
        common: Option<&meta::CommonListOptions>,
    ) -> ApiResult<(Vec<T>, meta::ListResponseMeta)> {
        let page = common.map(|o| o.page).unwrap_or(0);
        let per = match common.map(|o| o.items_per_page).unwrap_or(0) {
            0 => DEFAULT_ITEMS_PER_PAGE,
            n => n.min(MAX_ITEMS_PER_PAGE),
        };
        if page > MAX_PAGE {
            return Err(ApiError::invalid("Page number is too high"));
        }
        let order = order_of(common);
        let offset = u64::from(page) * u64::from(per);
        let (items, total) = store::list::<T>(c, filter, order, u64::from(per), offset)?;
        if items.is_empty() && page > 0 {
            return Err(ApiError::not_found("No Items found for that page"));
        }
        let total32 = u32::try_from(total).unwrap_or(u32::MAX);
        let meta = meta::ListResponseMeta {
            page,
            items_per_page: per,
            total_count: if items.is_empty() { 0 } else { total32 },
            has_more: total > (u64::from(page) + 1) * u64::from(per),
        };
        Ok((items, meta))
    }

    /// Finishes the Template's running build if due, persisting the change.
    pub(super) fn settled(
        &self,
        c: &Connection,
        now: SystemTime,
        mut template: cordium::Template,
    ) -> ApiResult<cordium::Template> {
        if builds::settle(&mut template, &self.builds, now) {
            self.save(c, now, &mut template)?;
        }
        Ok(template)
    }
}

fn order_of(common: Option<&meta::CommonListOptions>) -> Order {
    use meta::common_list_options::order_by::{Mode, Type};
    let Some(ob) = common.and_then(|c| c.order_by.as_ref()) else { return Order::Insertion };
    let desc = ob.mode() == Mode::Desc;
    match (ob.r#type(), desc) {
        (Type::Name, false) => Order::NameAsc,
        (Type::Name, true) => Order::NameDesc,
        (Type::CreatedAt, false) => Order::CreatedAsc,
        (Type::CreatedAt, true) => Order::CreatedDesc,
        (Type::Unset, _) => Order::Insertion,
    }
}

/// A reference to a stored object, as the server writes into status fields.
pub(super) fn reference<T: Stored>(o: &T) -> meta::ObjectReference {
    let m = o.meta().cloned().unwrap_or_default();
    meta::ObjectReference {
        api_version: T::API_VERSION.to_string(),
        kind: T::KIND.to_string(),
        uid: m.uid,
        name: m.name,
        resource_version: m.resource_version,
    }
}

pub(super) fn uid_of<T: Stored>(o: &T) -> String {
    o.meta().map(|m| m.uid.clone()).unwrap_or_default()
}

pub(super) fn name_of<T: Stored>(o: &T) -> String {
    o.meta().map(|m| m.name.clone()).unwrap_or_default()
}

/// Loads by uid or name (the name wins when both are set, as in upstream's store).
pub(super) fn load<T: Stored>(c: &Connection, uid: &str, name: &str) -> ApiResult<T> {
    let found = if !name.is_empty() {
        store::get_by_name::<T>(c, name)?
    } else if !uid.is_empty() {
        store::get_by_uid::<T>(c, uid)?
    } else {
        return Err(ApiError::invalid("At least either the name or the UID must be specified"));
    };
    found.ok_or_else(|| missing::<T>(if name.is_empty() { uid } else { name }))
}

/// The store's NOT_FOUND, worded as upstream's rscserver words it (octelium
/// `cluster/rscserver/rscserver/common.go`, `doGet`): `<api>.<version>.<kind> <key> does not
/// exist`.
pub(super) fn missing<T: Stored>(key: &str) -> ApiError {
    let api = T::API_VERSION.replace('/', ".");
    ApiError::not_found(format!("{api}.{} {key} does not exist", T::KIND))
}

pub(super) fn require<T>(v: Option<T>, what: &str) -> ApiResult<T> {
    v.ok_or_else(|| ApiError::invalid(format!("Resource {what} must be set")))
}
