//! Carrying out one plan step against a [`Cluster`]: create, update, delete, build, wait for a
//! build. Owns the retry rules of writes (ARCHITECTURE.md §5): transient failures are retried
//! with jittered exponential backoff, bounded in attempts and time; a write whose outcome is
//! unknown is *read back before it is sent again* (by stored name; Workspaces by `displayName`
//! in their Space), so nothing is ever created twice. An update is sent straight to the object
//! the plan read under the apply lock (its uid; no Get first); one whose outcome is unknown is
//! read back and compared before it is sent again.
//!
//! Must not decide new changes (it does what the step says) and must not print: it reports
//! through the `emit` callback. A Secret's value is read through [`SecretValues`] at the last
//! moment and goes into the request only, never into an event, an error or a log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::event::{Event, StepRef};
use super::lock::Lease;
use super::walk::Slot;
use super::ApplyError;
use crate::diff::LiveRef;
use crate::live::convert::{
    bind_to_live, from_wire, set_secret_value, to_wire, BuildState, LiveResource, Naming,
};
use crate::live::identity::{self, Resolved};
use crate::live::retry::RetryPolicy;
use crate::live::wire::cordium;
use crate::live::{Cluster, ErrorCode, LiveError, Object, ObjectKey, Scope};
use crate::model::{Address, Body, Kind, Resource, SecretSource};
use crate::plan::{PlannedBuild, StepKind};

/// Reads a Secret's value from its source (environment variable or file) at apply time. The
/// cli provides it; an error message names the source and never holds a value.
pub trait SecretValues: Send + Sync {
    fn read(&self, address: &Address, source: &SecretSource) -> Result<String, String>;
}

/// How a build is watched: reads back off from `initial` to `max` in proportion to the time
/// already waited (a tenth of it by default), so a build is seen finished at most ~10% late
/// while a long one costs few reads. Reads keep to that schedule counted from when the watch
/// began (fixed rate, as `tokio::time::interval`): a read's own round trip does not push every
/// later one back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// The interval as a fraction of the time waited so far.
    pub fraction: f64,
    /// Consecutive transient read failures tolerated while watching.
    pub max_read_failures: u32,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(5),
            fraction: 0.1,
            max_read_failures: 10,
        }
    }
}

impl PollPolicy {
    /// The wait before the next read, after `waited`.
    pub fn interval(&self, waited: Duration) -> Duration {
        waited
            .mul_f64(self.fraction.clamp(0.0, 1.0))
            .clamp(self.initial, self.max.max(self.initial))
    }

    /// When the read after the one due at `due` is due (both counted from the watch's start),
    /// given that it is `now`: one interval on from `due`, or from `now` if a slow read
    /// overran that (no burst of reads to catch up).
    pub fn next_due(&self, due: Duration, now: Duration) -> Duration {
        (due + self.interval(due)).max(now)
    }
}

/// What every step shares: the cluster and how names and values are made.
pub struct Executor {
    pub cluster: Arc<dyn Cluster>,
    pub naming: Naming,
    pub stack: String,
    pub secrets: Arc<dyn SecretValues>,
    pub retry: RetryPolicy,
    pub poll: PollPolicy,
    /// Set on the first SIGINT/SIGTERM: no new operation (a build included) starts; running
    /// builds are watched to their end; writes in flight finish.
    pub stop: Arc<AtomicBool>,
    /// Set on the second signal, after `--stop-timeout`, or when the lock is lost: running
    /// builds are cancelled (not once the lease has run out) and waits end early.
    pub cancel: Arc<AtomicBool>,
    /// The remote lock's lease, checked before each step and each create is sent; once it has
    /// run out, running builds are left alone.
    pub lease: Option<Lease>,
    /// Serialises the read-modify-write of Spaces' Workspace ownership records
    /// (`live::record`), so parallel Workspace steps in one Space do not lose each other's.
    pub records: Arc<RecordLocks>,
    /// The Lists of a Space's Workspaces that steps asking at once share ([`Listings`]).
    pub listings: Arc<Listings>,
    /// With Kubernetes access: the VolumeSnapshot of a finished build is waited for.
    pub snapshots: Option<SnapshotWait>,
}

/// How a finished build's VolumeSnapshot is waited for (docs/kubernetes.md).
#[derive(Debug, Clone)]
pub struct SnapshotWait {
    pub kube: crate::live::kube::Kube,
    /// How long after the build is READY the snapshot may take to appear and be ready.
    pub timeout: Duration,
    /// The snapshots seen ready in this apply (each is waited for once).
    pub ready: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl SnapshotWait {
    pub fn new(kube: crate::live::kube::Kube, timeout: Duration) -> Self {
        SnapshotWait { kube, timeout, ready: Default::default() }
    }

    fn seen_ready(&self, name: &str) -> bool {
        self.ready.lock().unwrap_or_else(|e| e.into_inner()).contains(name)
    }
}

/// One lock per Space for the read-modify-write of its Workspace ownership record: Workspace
/// steps in different Spaces do not wait for each other. Entries for one Space that queue while
/// its record is being written are written together by the next holder: one Get and one Update
/// for all of them (group commit), each entry answered with its own outcome.
#[derive(Default)]
pub struct RecordLocks(std::sync::Mutex<std::collections::BTreeMap<String, Arc<SpaceRecord>>>);

/// Each entry's outcome, in the batch's order.
type Outcomes = Vec<Result<(), ApplyError>>;

/// A Space's record lock and the entries waiting for it.
#[derive(Default)]
struct SpaceRecord {
    lock: Arc<tokio::sync::Mutex<()>>,
    pending: std::sync::Mutex<Vec<RecordEntry>>,
}

/// One Workspace's entry to set (`Some`) or remove (`None`), and where its outcome goes.
struct RecordEntry {
    address: Address,
    key: String,
    value: Option<String>,
    outcome: Arc<std::sync::OnceLock<Result<(), ApplyError>>>,
}

impl RecordLocks {
    fn space(&self, space: &str) -> Arc<SpaceRecord> {
        self.0
            .lock()
            .map(|mut m| m.entry(space.to_string()).or_default().clone())
            .unwrap_or_default()
    }

    async fn hold(&self, space: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.space(space).lock.clone().lock_owned().await
    }
}

/// The Lists that look for a server-named object (a Workspace, by `displayName`) in its Space,
/// shared by the steps that ask at once (group read, as [`RecordLocks`] group the record
/// writes): a step is answered by a List that *started after it asked*, never by an older one,
/// so each create is checked against the Space as it was after the step began, as if it had
/// listed alone. One List per Space is in flight; the steps that ask meanwhile share the next.
#[derive(Default)]
pub struct Listings(std::sync::Mutex<std::collections::BTreeMap<(Kind, String), Arc<Listing>>>);

/// One Space's List of one kind: the number the next one will take, and the latest answer
/// (locked while a List is in flight).
#[derive(Default)]
struct Listing {
    next: AtomicU64,
    latest: tokio::sync::Mutex<Option<(u64, Arc<Vec<Object>>)>>,
}

impl Listings {
    fn of(&self, kind: Kind, space: &str) -> Arc<Listing> {
        self.0
            .lock()
            .map(|mut m| m.entry((kind, space.to_string())).or_default().clone())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").field("stack", &self.stack).finish_non_exhaustive()
    }
}

/// Everything one step needs from the plan and the configuration.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub step: StepRef,
    /// The declared resource (creates and updates).
    pub resource: Option<Resource>,
    /// The live object the plan saw (updates, deletes).
    pub live: Option<LiveRef>,
    /// The planned build (build and wait steps).
    pub build: Option<PlannedBuild>,
    /// A Workspace create whose Template is pre-built and up to date (no build step in this
    /// plan): with Kubernetes access, its current snapshot is waited for first.
    pub snapshot_of: Option<Address>,
}

/// The callback events go through.
pub type Emit<'a> = &'a (dyn Fn(Event) + Send + Sync);

/// Counts attempts of one operation against a [`RetryPolicy`].
struct Attempts {
    policy: RetryPolicy,
    started: Instant,
    made: u32,
}

impl Attempts {
    fn new(policy: RetryPolicy) -> Self {
        Attempts { policy, started: Instant::now(), made: 0 }
    }

    /// Records a failed attempt; the wait before the next one, or `None` when the budget is
    /// spent (or the error is not transient).
    fn failed(&mut self, error: &LiveError) -> Option<Duration> {
        self.made += 1;
        let delay = self.policy.delay(self.made - 1);
        self.policy.may_retry(error.code, self.made, self.started.elapsed(), delay).then_some(delay)
    }

    fn gave_up(&self, address: &Address, source: LiveError) -> ApplyError {
        if source.is_transient() {
            ApplyError::GaveUp {
                address: address.clone(),
                attempts: self.made,
                elapsed: self.started.elapsed(),
                source: Box::new(source),
            }
        } else {
            ApplyError::live(address, source)
        }
    }
}

/// True when a create failed because the name is taken: ALREADY_EXISTS, or INVALID_ARGUMENT
/// "already exists" for the kinds the server words it so for
/// ([`Kind::taken_name_is_invalid_argument`]).
pub fn name_taken(kind: Kind, error: &LiveError) -> bool {
    match error.code {
        ErrorCode::AlreadyExists => true,
        ErrorCode::InvalidArgument => {
            kind.taken_name_is_invalid_argument()
                && error.message.to_ascii_lowercase().contains("already exists")
        }
        _ => false,
    }
}

/// What reading back a create found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// Nothing by that name (Workspaces: no such displayName in the Space).
    Absent,
    /// It exists and is ours: the create happened.
    Ours(Box<LiveResource>),
    /// Something by that name exists that this stack did not create.
    Foreign(Box<LiveResource>),
}

/// Decides whether a live object read back after a create is the one we sent (see
/// [`identity::is_ours`]: named kinds carry our stack label; Workspaces keep no labels, so any
/// identity match is ours).
pub fn judge(live: LiveResource, stack: &str) -> Found {
    if identity::is_ours(live.kind, live.stack(), stack) {
        Found::Ours(Box::new(live))
    } else {
        Found::Foreign(Box::new(live))
    }
}

/// The Workspace among `objects` that is `address` (same Space, same displayName), if any; two
/// or more is an error naming them all.
pub fn pick_workspace(
    objects: &[Object],
    address: &Address,
    space: &str,
) -> Result<Option<LiveResource>, ApplyError> {
    let live: Vec<LiveResource> = objects.iter().map(from_wire).collect();
    match identity::find_by_display_name(&live, address, space) {
        Resolved::Absent => Ok(None),
        Resolved::One(w) => Ok(Some(w.clone())),
        Resolved::Ambiguous(matches) => Err(ApplyError::Duplicate {
            address: address.clone(),
            space: space.to_string(),
            count: matches.len(),
            names: matches.iter().map(|w| w.wire_name.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Where a build stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildStatus {
    Running {
        started_at: Option<SystemTime>,
    },
    Ready,
    Failed(String),
    /// The Template no longer lists it.
    Missing,
}

/// Reads the state of build `id` from a Template. READY means the build finished and is the
/// Template's current ready build.
pub fn build_status(template: &cordium::Template, id: &str) -> BuildStatus {
    let live = from_wire(&Object::Template(template.clone()));
    let info = live.build_info.unwrap_or_default();
    let Some(build) = info.build(id) else { return BuildStatus::Missing };
    match build.state {
        BuildState::Running | BuildState::Unknown => {
            BuildStatus::Running { started_at: build.started_at }
        }
        BuildState::Ready if info.current_ready_build_id == id => BuildStatus::Ready,
        BuildState::Ready => BuildStatus::Failed(format!(
            "it finished, but build {} is now the Template's ready build",
            if info.current_ready_build_id.is_empty() {
                "(none)"
            } else {
                &info.current_ready_build_id
            }
        )),
        BuildState::Failed if build.is_canceled => BuildStatus::Failed(
            "it was cancelled (another build of this Template was started, or it was cancelled \
             by hand)"
                .to_string(),
        ),
        BuildState::Failed => {
            BuildStatus::Failed(build.failure.clone().unwrap_or_else(|| "no reason given".into()))
        }
    }
}

/// The id of the running build of a Template that carries `tag`, if any (how a BuildTemplate
/// whose outcome is unknown is recognised).
pub fn running_build_with_tag(template: &cordium::Template, tag: &str) -> Option<String> {
    let live = from_wire(&Object::Template(template.clone()));
    let info = live.build_info?;
    let running = info.build(&info.current_running_build_id)?;
    (running.state == BuildState::Running && running.tags.iter().any(|t| t == tag))
        .then(|| running.id.clone())
}

impl Executor {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, waking early when apply is cancelled.
    async fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.cancelled() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(Duration::from_millis(100))).await;
        }
    }

    /// Refuses to go on once the lock's lease has run out (this process was paused past it, or
    /// the lock was lost), and stops the apply.
    fn leased(&self, address: &Address) -> Result<(), ApplyError> {
        match &self.lease {
            Some(lease) if !lease.valid() => {
                self.stop.store(true, Ordering::SeqCst);
                self.cancel.store(true, Ordering::SeqCst);
                Err(ApplyError::Interrupted {
                    address: address.clone(),
                    outcome: "nothing was sent: the apply lock ran out".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Performs one step, holding `slot` (its place among the steps at work) until only its
    /// Workspace ownership-record write is left: that write waits on the Space's shared record
    /// ([`RecordLocks`]) and sends at most one Get and one Update for every entry that queued,
    /// so the slot goes back for the next step's work meanwhile.
    pub async fn run(
        &self,
        input: &StepInput,
        emit: Emit<'_>,
        slot: &Slot,
    ) -> Result<(), ApplyError> {
        self.leased(&input.step.address)?;
        match input.step.kind {
            StepKind::Create => {
                self.template_snapshot(input, emit).await?;
                let uid = self.create(input, emit).await?;
                match uid.filter(|_| input.step.address.kind.server_named()) {
                    Some(uid) => {
                        let value = self.applied_record(input)?;
                        slot.release();
                        self.record(input, &uid, Some(value)).await
                    }
                    None => Ok(()),
                }
            }
            StepKind::Update => {
                let uid = self.update(input, emit).await?;
                if input.step.address.kind.server_named() {
                    // What was sent, recorded (and an imported Workspace adopted).
                    let value = self.applied_record(input)?;
                    slot.release();
                    self.record(input, &uid, Some(value)).await?;
                }
                Ok(())
            }
            StepKind::Delete => {
                self.delete(input, emit).await?;
                if input.step.address.kind.server_named() {
                    slot.release();
                    // Best effort: an entry left for a uid that no longer exists matches
                    // nothing (uids are never reused), and the Space may be about to go (its
                    // update refused because a Secret it names was deleted before it).
                    if let Some(uid) = input.live.as_ref().map(|l| l.uid.as_str()) {
                        let _ = self.record(input, uid, None).await;
                    }
                }
                Ok(())
            }
            StepKind::Build => self.build(input, emit).await,
            StepKind::WaitBuild => self.wait_build(input, emit).await,
        }
    }

    /// A Workspace's ownership record value: the stack and the digest of what was sent.
    fn applied_record(&self, input: &StepInput) -> Result<String, ApplyError> {
        Ok(crate::live::record::applied(&self.stack, &self.applied(self.resource(input)?)))
    }

    /// What apply records of a resource it sends: the digest of its canonical document and
    /// the time (docs/drift.md).
    fn applied(&self, resource: &Resource) -> String {
        // Sensitive values masked: the digest is readable by every reader of the object.
        let doc = crate::diff::desired_doc(resource, &self.stack);
        let digest = crate::diff::applied_digest(&crate::diff::digest_form(&doc, resource));
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        crate::diff::applied_value(&digest, now.as_secs())
    }

    /// The object to send for a resource: its wire form, with the digest of its canonical
    /// document in the applied annotation for the kinds that keep annotations (docs/drift.md).
    fn wire_object(&self, resource: &Resource) -> Object {
        let mut object = to_wire(resource, &self.naming, &self.stack);
        let kind = resource.kind();
        if kind.keeps_labels() && !kind.sensitive() {
            let applied = self.applied(resource);
            object
                .metadata_mut()
                .annotations
                .insert(crate::model::APPLIED_ANNOTATION.to_string(), applied);
        }
        object
    }

    fn resource<'a>(&self, input: &'a StepInput) -> Result<&'a Resource, ApplyError> {
        input.resource.as_ref().ok_or_else(|| ApplyError::Plan {
            address: input.step.address.clone(),
            message: "the plan changes it, but the configuration does not declare it; plan again"
                .into(),
        })
    }

    fn retrying(
        &self,
        input: &StepInput,
        emit: Emit<'_>,
        attempt: u32,
        delay: Duration,
        e: &LiveError,
    ) {
        emit(Event::Retrying { step: input.step.clone(), attempt, delay, reason: e.to_string() });
    }

    /// Creates the resource; returns the uid of what now exists (when known).
    async fn create(
        &self,
        input: &StepInput,
        emit: Emit<'_>,
    ) -> Result<Option<String>, ApplyError> {
        let address = &input.step.address;
        let resource = self.resource(input)?;
        let mut object = self.wire_object(resource);
        if let Body::Secret { source } = &resource.body {
            let value = self
                .secrets
                .read(address, source)
                .map_err(|message| ApplyError::SecretValue { address: address.clone(), message })?;
            set_secret_value(&mut object, value);
        }
        if address.kind.server_named() {
            self.retire_old(input, emit).await?;
        }
        if address.kind.server_named() {
            if let Some(uid) = self.exists_already(resource, emit, input).await? {
                return Ok(Some(uid));
            }
        }
        let mut tries = Attempts::new(self.retry);
        // An earlier attempt failed in a way that leaves its outcome unknown.
        let mut unknown = false;
        loop {
            self.leased(address)?;
            let err = match self.cluster.create(object.clone()).await {
                Ok(made) => return Ok(made.metadata().map(|m| m.uid.clone())),
                Err(e) => e,
            };
            if err.is_transient() || (unknown && name_taken(address.kind, &err)) {
                unknown = true;
                match self.read_back(resource, emit, input).await? {
                    Found::Ours(live) => return Ok(Some(live.uid)),
                    Found::Foreign(live) => {
                        return Err(ApplyError::Exists {
                            address: address.clone(),
                            name: live.wire_name,
                        })
                    }
                    Found::Absent if err.is_transient() => {}
                    // Taken, yet not there when read: deleted meanwhile. Try again.
                    Found::Absent => {}
                }
                let Some(delay) = tries.failed(&err) else {
                    return Err(tries.gave_up(address, err));
                };
                self.retrying(input, emit, tries.made, delay, &err);
                self.sleep(delay).await;
                continue;
            }
            if name_taken(address.kind, &err) {
                let name = self.naming.stored_name(address).unwrap_or_default();
                return Err(ApplyError::Exists { address: address.clone(), name });
            }
            return Err(ApplyError::live(address, err));
        }
    }

    /// A server-named kind (Workspaces) has no name to make a second create fail: two creates
    /// with one `displayName` make two objects. So it is looked for right before every create,
    /// under the lock, by a List that starts after the step asks (one the Workspace steps of its
    /// Space that ask at once share: [`Listings`]): found (another run of this stack made it since the plan was read), the
    /// create is done; two or more found is the duplicate error. A Space that does not exist
    /// (yet) holds nothing, and the create says why it fails.
    async fn exists_already(
        &self,
        resource: &Resource,
        emit: Emit<'_>,
        input: &StepInput,
    ) -> Result<Option<String>, ApplyError> {
        match self.read_back(resource, emit, input).await {
            Ok(Found::Ours(live)) => Ok(Some(live.uid)),
            Ok(Found::Foreign(live)) => {
                Err(ApplyError::Exists { address: resource.address.clone(), name: live.wire_name })
            }
            Ok(Found::Absent) => Ok(None),
            Err(ApplyError::Unknown { source, .. }) if source.code == ErrorCode::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads back what a create may have made, retrying transient read failures within the
    /// retry budget. Fails (outcome unknown) rather than guess.
    async fn read_back(
        &self,
        resource: &Resource,
        emit: Emit<'_>,
        input: &StepInput,
    ) -> Result<Found, ApplyError> {
        let address = &resource.address;
        let mut tries = Attempts::new(self.retry);
        loop {
            // The create of a replace: the old Workspace (by uid) is not the new one.
            let old = input.live.as_ref().map(|l| l.uid.as_str());
            let err = match self.find(resource, old).await {
                Ok(found) => return Ok(found),
                Err(ApplyError::Live { source, .. }) => *source,
                Err(other) => return Err(other),
            };
            match tries.failed(&err) {
                Some(delay) => {
                    self.retrying(input, emit, tries.made, delay, &err);
                    self.sleep(delay).await;
                }
                None => {
                    return Err(ApplyError::Unknown {
                        address: address.clone(),
                        source: Box::new(err),
                    })
                }
            }
        }
    }

    /// One read of the live object a declared resource corresponds to.
    async fn find(&self, resource: &Resource, skip: Option<&str>) -> Result<Found, ApplyError> {
        let address = &resource.address;
        if address.kind.server_named() {
            let space = self.naming.space_name(address.space.as_deref().unwrap_or_default());
            let all = self
                .list_space(address.kind, &space)
                .await
                .map_err(|e| ApplyError::live(address, e))?;
            // Only those with its displayName can be it (`identity::is_display_match`).
            let named: Vec<Object> = all
                .iter()
                .filter(|o| {
                    o.metadata().is_some_and(|m| {
                        m.display_name == address.name && skip.is_none_or(|uid| m.uid != uid)
                    })
                })
                .cloned()
                .collect();
            return Ok(match pick_workspace(&named, address, &space)? {
                Some(live) => judge(live, &self.stack),
                None => Found::Absent,
            });
        }
        let name = self.naming.stored_name(address).unwrap_or_default();
        match self.cluster.get(address.kind, &ObjectKey::Name(name)).await {
            Ok(o) => Ok(judge(from_wire(&o), &self.stack)),
            Err(e) if e.code == ErrorCode::NotFound => Ok(Found::Absent),
            Err(e) => Err(ApplyError::live(address, e)),
        }
    }

    /// Every `kind` object in Space `space`, by a List that started after this call ([`Listings`]).
    async fn list_space(&self, kind: Kind, space: &str) -> Result<Arc<Vec<Object>>, LiveError> {
        let listing = self.listings.of(kind, space);
        // Lists numbered from here on start after this call.
        let asked = listing.next.load(Ordering::SeqCst);
        let mut latest = listing.latest.lock().await;
        if let Some((number, objects)) = latest.as_ref() {
            if *number >= asked {
                return Ok(objects.clone());
            }
        }
        let number = listing.next.fetch_add(1, Ordering::SeqCst);
        let objects = Arc::new(self.cluster.list(kind, &Scope::Space(space.to_string())).await?);
        *latest = Some((number, objects.clone()));
        Ok(objects)
    }

    /// The key of the live object a step acts on: its uid as planned, else its stored name.
    fn live_key(&self, input: &StepInput) -> Result<ObjectKey, ApplyError> {
        let address = &input.step.address;
        if let Some(uid) = input.live.as_ref().map(|l| l.uid.clone()).filter(|u| !u.is_empty()) {
            return Ok(ObjectKey::Uid(uid));
        }
        match self.naming.stored_name(address) {
            Some(name) => Ok(ObjectKey::Name(name)),
            None => Err(ApplyError::Plan {
                address: address.clone(),
                message: "the plan does not say which live Workspace this is; plan again".into(),
            }),
        }
    }

    /// Reads a live object, retrying transient failures.
    async fn read_live(
        &self,
        input: &StepInput,
        key: &ObjectKey,
        emit: Emit<'_>,
    ) -> Result<Object, ApplyError> {
        let address = &input.step.address;
        let mut tries = Attempts::new(self.retry);
        loop {
            match self.cluster.get(address.kind, key).await {
                Ok(o) => return Ok(o),
                Err(e) => match tries.failed(&e) {
                    Some(delay) => {
                        self.retrying(input, emit, tries.made, delay, &e);
                        self.sleep(delay).await;
                    }
                    None => return Err(tries.gave_up(address, e)),
                },
            }
        }
    }

    /// Updates the object; returns its uid.
    async fn update(&self, input: &StepInput, emit: Emit<'_>) -> Result<String, ApplyError> {
        let address = &input.step.address;
        let resource = self.resource(input)?;
        if !address.kind.updatable() {
            return Err(ApplyError::Plan {
                address: address.clone(),
                message: "Secrets cannot be updated, only replaced; plan again".into(),
            });
        }
        let mut object = self.wire_object(resource);
        // A Space's update carries its Workspace ownership record over (read, then written):
        // held like the record's own writes, so a record change in between is not lost.
        let _held = match address.kind {
            Kind::Space => Some(self.records.hold(&self.naming.space_name(&address.name)).await),
            _ => None,
        };
        // The plan was made (or, for a saved plan, checked) under the apply lock, so the object
        // it read is the one to update: its uid and stored name bind the request with no Get.
        // Only a plan that does not hold them (an older plan file) reads the object first, and a
        // Space: its Workspace ownership record (annotations, not in the config) must be kept.
        let planned = input.live.as_ref().filter(|l| {
            address.kind != Kind::Space
                && !l.uid.is_empty()
                && (!address.kind.server_named() || !l.name.is_empty())
        });
        let uid = match planned {
            Some(l) => {
                let md = object.metadata_mut();
                md.uid = l.uid.clone();
                if address.kind.server_named() {
                    md.name = l.name.clone();
                }
                l.uid.clone()
            }
            None => {
                let key = self.live_key(input)?;
                let live = from_wire(&self.read_live(input, &key, emit).await?);
                bind_to_live(&mut object, &live);
                if let Object::Space(space) = &mut object {
                    // The Workspace ownership record is not in the config: keep it.
                    if let Some(md) = space.metadata.as_mut() {
                        let mut annotations: crate::model::StrMap =
                            md.annotations.drain().collect();
                        crate::live::record::carry_over(
                            &live.metadata.annotations,
                            &mut annotations,
                        );
                        md.annotations = annotations.into_iter().collect();
                    }
                }
                live.uid
            }
        };
        let desired = resource.spec_json();
        let key = ObjectKey::Uid(uid.clone());
        let mut tries = Attempts::new(self.retry);
        loop {
            self.leased(address)?;
            let err = match self.cluster.update(object.clone()).await {
                Ok(_) => return Ok(uid),
                Err(e) => e,
            };
            if !err.is_transient() {
                return Err(ApplyError::live(address, err));
            }
            // The update may have landed: compare before sending it again.
            let now = from_wire(&self.read_live(input, &key, emit).await?);
            if now.spec_json == desired {
                return Ok(uid);
            }
            let Some(delay) = tries.failed(&err) else {
                return Err(tries.gave_up(address, err));
            };
            self.retrying(input, emit, tries.made, delay, &err);
            self.sleep(delay).await;
        }
    }

    /// The create of a Workspace replace whose old Workspace is still there (create before
    /// destroy): the old one is marked as being replaced in the record first, so a plan made
    /// while both exist (an interrupted apply) matches the new one and deletes the old.
    async fn retire_old(&self, input: &StepInput, emit: Emit<'_>) -> Result<(), ApplyError> {
        let Some(old) = input.live.as_ref().map(|l| l.uid.clone()).filter(|u| !u.is_empty()) else {
            return Ok(());
        };
        match self.read_live(input, &ObjectKey::Uid(old.clone()), emit).await {
            Ok(_) => {
                self.record(input, &old, Some(crate::live::record::retiring(&self.stack))).await
            }
            Err(e) if e.kind() == super::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Sets the Workspace `uid`'s entry in its Space's ownership record (`live::record`) to
    /// `value`, or removes it (`None`). A Space that is gone holds no record; a full one (the
    /// servers allow 64 annotations) is a failure that says what it means. Entries of one Space
    /// that wait meanwhile are written with it ([`RecordLocks`]).
    async fn record(
        &self,
        input: &StepInput,
        uid: &str,
        value: Option<String>,
    ) -> Result<(), ApplyError> {
        let address = &input.step.address;
        let Some(key) = crate::live::record::key(uid) else { return Ok(()) };
        let space = self.naming.space_name(address.space.as_deref().unwrap_or_default());
        let record = self.records.space(&space);
        let outcome = Arc::new(std::sync::OnceLock::new());
        let entry = || RecordEntry {
            address: address.clone(),
            key: key.clone(),
            value: value.clone(),
            outcome: outcome.clone(),
        };
        let pending = || record.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending().push(entry());
        let _held = record.lock.clone().lock_owned().await;
        if let Some(done) = outcome.get() {
            // Written by the holder before this one, together with its own.
            return done.clone();
        }
        let mut batch = std::mem::take(&mut *pending());
        if !batch.iter().any(|e| Arc::ptr_eq(&e.outcome, &outcome)) {
            // Taken by a holder that was cancelled before it answered: written here.
            batch.push(entry());
        }
        let results = self.write_records(&space, &batch).await;
        for (entry, result) in batch.iter().zip(results) {
            let _ = entry.outcome.set(result);
        }
        outcome.get().cloned().unwrap_or(Ok(()))
    }

    /// One read-modify-write of `space`'s ownership record for every entry of `batch` (in
    /// order, as if written one after another); each entry's outcome.
    async fn write_records(
        &self,
        space: &str,
        batch: &[RecordEntry],
    ) -> Vec<Result<(), ApplyError>> {
        use crate::live::record;
        let mut tries = Attempts::new(self.retry);
        loop {
            // Set when the Update failed: which entries it carried, and the others' outcomes.
            let mut written: Option<(Vec<bool>, Outcomes)> = None;
            if let Some(first) = batch.first() {
                if let Err(ApplyError::Interrupted { outcome, .. }) = self.leased(&first.address) {
                    // Every entry gets the same answer (a renewal in between must not make a
                    // later entry look written).
                    return batch
                        .iter()
                        .map(|e| {
                            Err(ApplyError::Interrupted {
                                address: e.address.clone(),
                                outcome: outcome.clone(),
                            })
                        })
                        .collect();
                }
            }
            let err = match self.cluster.get(Kind::Space, &ObjectKey::Name(space.to_string())).await
            {
                Ok(Object::Space(mut s)) => {
                    let md = s.metadata.get_or_insert_with(Default::default);
                    let mut results = Vec::with_capacity(batch.len());
                    // Which entries the Update carries: only theirs depend on its answer.
                    let mut writes = vec![false; batch.len()];
                    for (i, e) in batch.iter().enumerate() {
                        if md.annotations.get(&e.key) == e.value.as_ref() {
                            results.push(Ok(()));
                            continue;
                        }
                        let Some(value) = &e.value else {
                            md.annotations.remove(&e.key);
                            writes[i] = true;
                            results.push(Ok(()));
                            continue;
                        };
                        let full = md.annotations.len() >= record::MAX_ANNOTATIONS
                            && !md.annotations.contains_key(&e.key);
                        if full {
                            results.push(Err(ApplyError::Plan {
                                address: e.address.clone(),
                                message: format!(
                                    "created, but its Space `{space}` has no room for its \
                                     ownership record ({} annotations at most): cordium will \
                                     not delete it when it leaves the config",
                                    record::MAX_ANNOTATIONS
                                ),
                            }));
                            continue;
                        }
                        md.annotations.insert(e.key.clone(), value.clone());
                        writes[i] = true;
                        results.push(Ok(()));
                    }
                    if !writes.contains(&true) {
                        return results;
                    }
                    match self.cluster.update(Object::Space(s)).await {
                        Ok(_) => return results,
                        Err(e) => {
                            written = Some((writes, results));
                            e
                        }
                    }
                }
                Ok(_) => return batch.iter().map(|_| Ok(())).collect(),
                Err(e) if e.code == ErrorCode::NotFound => {
                    return batch.iter().map(|_| Ok(())).collect()
                }
                Err(e) => e,
            };
            let failed = |e: &RecordEntry, err: &LiveError| -> ApplyError {
                if err.code == ErrorCode::PermissionDenied && e.value.is_some() {
                    ApplyError::Plan {
                        address: e.address.clone(),
                        message: format!(
                            "created, but its ownership record could not be written: {}; only \
                             the Space's owner or an OWNER member may update `{space}` (give \
                             this user `role = \"OWNER\"`): cordium will not delete it when it \
                             leaves the config, and the other members' plans do not count it",
                            err.message
                        ),
                    }
                } else {
                    ApplyError::live(&e.address, err.clone())
                }
            };
            // A failed Update answers only the entries it carried; the others keep what they
            // were found to be (already recorded, or no room), as written one by one.
            let answer = |f: &dyn Fn(&RecordEntry) -> ApplyError| -> Vec<Result<(), ApplyError>> {
                match &written {
                    Some((writes, results)) => batch
                        .iter()
                        .zip(writes.iter().zip(results))
                        .map(|(e, (&w, r))| if w { Err(f(e)) } else { r.clone() })
                        .collect(),
                    None => batch.iter().map(|e| Err(f(e))).collect(),
                }
            };
            if err.code == ErrorCode::PermissionDenied || !err.is_transient() {
                return answer(&|e| failed(e, &err));
            }
            let Some(delay) = tries.failed(&err) else {
                return answer(&|e| tries.gave_up(&e.address, err.clone()));
            };
            self.sleep(delay).await;
        }
    }

    async fn delete(&self, input: &StepInput, emit: Emit<'_>) -> Result<(), ApplyError> {
        let address = &input.step.address;
        let key = self.live_key(input)?;
        let mut tries = Attempts::new(self.retry);
        loop {
            self.leased(address)?;
            let err = match self.cluster.delete(address.kind, &key).await {
                Ok(()) => return Ok(()),
                // Gone already (an earlier attempt whose answer was lost, or someone else).
                Err(e) if e.code == ErrorCode::NotFound => return Ok(()),
                Err(e) => e,
            };
            let Some(delay) = tries.failed(&err) else {
                return Err(tries.gave_up(address, err));
            };
            self.retrying(input, emit, tries.made, delay, &err);
            self.sleep(delay).await;
        }
    }

    fn planned_build<'a>(&self, input: &'a StepInput) -> Result<&'a PlannedBuild, ApplyError> {
        input.build.as_ref().ok_or_else(|| ApplyError::Plan {
            address: input.step.address.clone(),
            message: "the plan has a build step but no build for it".into(),
        })
    }

    fn template_key(&self, address: &Address) -> ObjectKey {
        ObjectKey::Name(self.naming.stored_name(address).unwrap_or_default())
    }

    async fn build(&self, input: &StepInput, emit: Emit<'_>) -> Result<(), ApplyError> {
        let address = &input.step.address;
        let planned = self.planned_build(input)?;
        let key = self.template_key(address);
        let tags = vec![planned.tag.clone()];
        let mut tries = Attempts::new(self.retry);
        let id = loop {
            if self.stopped() {
                return Err(ApplyError::Interrupted {
                    address: address.clone(),
                    outcome: "the build was not started".into(),
                });
            }
            let err = match self.cluster.build_template(&key, &tags).await {
                Ok(t) => match t
                    .status
                    .and_then(|s| s.build_info)
                    .and_then(|b| b.builds.first().cloned())
                {
                    Some(b) => break b.id,
                    None => {
                        return Err(ApplyError::Plan {
                            address: address.clone(),
                            message: "BuildTemplate answered without the new build".into(),
                        })
                    }
                },
                Err(e) => e,
            };
            if !err.is_transient() {
                return Err(ApplyError::live(address, err));
            }
            // It may have started: a running build with our tag is ours (starting another
            // would cancel it).
            if let Object::Template(t) = self.read_live(input, &key, emit).await? {
                if let Some(id) = running_build_with_tag(&t, &planned.tag) {
                    break id;
                }
            }
            let Some(delay) = tries.failed(&err) else {
                return Err(tries.gave_up(address, err));
            };
            self.retrying(input, emit, tries.made, delay, &err);
            self.sleep(delay).await;
        };
        self.watch(input, planned, &key, &id, emit).await
    }

    async fn wait_build(&self, input: &StepInput, emit: Emit<'_>) -> Result<(), ApplyError> {
        let planned = self.planned_build(input)?;
        let Some(id) = planned.build_id.clone() else {
            return Err(ApplyError::Plan {
                address: input.step.address.clone(),
                message: "the plan waits for a build but does not say which".into(),
            });
        };
        let key = self.template_key(&input.step.address);
        self.watch(input, planned, &key, &id, emit).await
    }

    /// Polls the Template until build `id` leaves RUNNING; cancels it on timeout or stop.
    async fn watch(
        &self,
        input: &StepInput,
        planned: &PlannedBuild,
        key: &ObjectKey,
        id: &str,
        emit: Emit<'_>,
    ) -> Result<(), ApplyError> {
        let address = &input.step.address;
        let timeout = Duration::from_secs(planned.timeout_secs);
        let estimate = planned.estimate_secs.map(Duration::from_secs);
        let began = Instant::now();
        let mut read_failures = 0u32;
        // When the current read was due, counted from `began`.
        let mut due = Duration::ZERO;
        loop {
            if self.cancelled() {
                let outcome = self.cancel(key, id).await;
                return Err(ApplyError::Interrupted { address: address.clone(), outcome });
            }
            if began.elapsed() >= timeout {
                let outcome = self.cancel(key, id).await;
                return Err(ApplyError::BuildTimeout {
                    address: address.clone(),
                    build_id: id.to_string(),
                    timeout,
                    outcome,
                });
            }
            match self.cluster.get(Kind::Template, key).await {
                Ok(Object::Template(t)) => {
                    read_failures = 0;
                    match build_status(&t, id) {
                        BuildStatus::Ready => {
                            return self.await_snapshot(input, &t, id, emit).await
                        }
                        BuildStatus::Failed(message) => {
                            return Err(ApplyError::BuildFailed {
                                address: address.clone(),
                                build_id: id.to_string(),
                                message,
                            })
                        }
                        BuildStatus::Missing => {
                            return Err(ApplyError::BuildFailed {
                                address: address.clone(),
                                build_id: id.to_string(),
                                message: "the Template no longer lists it".into(),
                            })
                        }
                        BuildStatus::Running { started_at } => {
                            let elapsed = started_at
                                .and_then(|s| SystemTime::now().duration_since(s).ok())
                                .unwrap_or_else(|| began.elapsed());
                            emit(Event::Progress {
                                step: input.step.clone(),
                                build_id: id.to_string(),
                                elapsed,
                                estimate,
                                timeout,
                            });
                        }
                    }
                }
                Ok(_) => {}
                Err(e) if e.is_transient() && read_failures < self.poll.max_read_failures => {
                    read_failures += 1;
                }
                Err(e) => return Err(ApplyError::live(address, e)),
            }
            let now = began.elapsed();
            due = self.poll.next_due(due, now);
            self.sleep((due - now).min(timeout.saturating_sub(now))).await;
        }
    }

    /// With Kubernetes access: watches the VolumeSnapshot `<templateUID>-<id>` of the READY
    /// build `id` until it is `readyToUse` (done), has `status.error` (failed), or the timeout
    /// passes; each state it is seen in is an [`Event::Snapshot`]. Without access: done at once
    /// (the plan said readiness is not verified).
    async fn await_snapshot(
        &self,
        input: &StepInput,
        template: &cordium::Template,
        id: &str,
        emit: Emit<'_>,
    ) -> Result<(), ApplyError> {
        use crate::live::kube::{SnapshotState, WaitError};
        let Some(wait) = &self.snapshots else { return Ok(()) };
        let address = &input.step.address;
        let uid = template.metadata.as_ref().map(|m| m.uid.as_str()).unwrap_or_default();
        let name = crate::live::kube::snapshot::snapshot_name(uid, id);
        if wait.seen_ready(&name) {
            return Ok(());
        }
        let began = Instant::now();
        let namespace = wait.kube.namespace().to_string();
        let mut seen = |state: &SnapshotState| {
            emit(Event::Snapshot {
                step: input.step.clone(),
                snapshot: name.clone(),
                namespace: namespace.clone(),
                state: state.clone(),
                elapsed: began.elapsed(),
            })
        };
        let failed = |message: String, denied: bool| ApplyError::Snapshot {
            address: address.clone(),
            build_id: id.to_string(),
            message,
            denied,
        };
        let watching = wait.kube.wait_snapshot(&name, wait.timeout, &mut seen);
        let cancelled = async {
            while !self.cancelled() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let result = tokio::select! {
            r = watching => r,
            () = cancelled => {
                return Err(ApplyError::Interrupted {
                    address: address.clone(),
                    outcome: format!("build {id} is READY; its VolumeSnapshot {name} was not waited for"),
                })
            }
        };
        match result {
            Ok(SnapshotState::Ready { .. }) => {
                wait.ready.lock().unwrap_or_else(|e| e.into_inner()).insert(name);
                Ok(())
            }
            Ok(SnapshotState::Failed { message }) => Err(failed(
                format!("VolumeSnapshot {name} in namespace {namespace} failed: {message}"),
                false,
            )),
            Ok(other) => {
                Err(failed(format!("VolumeSnapshot {name} is {}", other.describe()), false))
            }
            Err(WaitError::Kube(e)) => {
                let denied = matches!(e, crate::live::kube::KubeError::Forbidden { .. });
                Err(failed(e.to_string(), denied))
            }
            Err(e @ WaitError::Timeout { .. }) => Err(failed(e.to_string(), false)),
        }
    }

    /// Before a Workspace create whose Template's build is up to date (no build step in this
    /// plan to wait in): with Kubernetes access, the snapshot of the Template's current ready
    /// build is waited for, so the Workspace restores from it (nothing to wait for without a
    /// ready build).
    async fn template_snapshot(&self, input: &StepInput, emit: Emit<'_>) -> Result<(), ApplyError> {
        let (Some(_), Some(template)) = (&self.snapshots, &input.snapshot_of) else {
            return Ok(());
        };
        let key = self.template_key(template);
        let t = match self.cluster.get(Kind::Template, &key).await {
            Ok(Object::Template(t)) => t,
            Ok(_) => return Ok(()),
            Err(e) => return Err(ApplyError::live(&input.step.address, e)),
        };
        let id = t
            .status
            .as_ref()
            .and_then(|s| s.build_info.as_ref())
            .map(|b| b.current_ready_build_id.clone())
            .unwrap_or_default();
        if id.is_empty() {
            return Ok(());
        }
        self.await_snapshot(input, &t, &id, emit).await
    }

    /// Cancels build `id` if it is still the running one; says what happened. Not once the
    /// lock's lease has run out: the apply holding the lock now may be waiting for that build.
    async fn cancel(&self, key: &ObjectKey, id: &str) -> String {
        if self.lease.as_ref().is_some_and(|l| !l.valid()) {
            return format!("build {id} was left running: the apply lock ran out");
        }
        let running = match self.cluster.get(Kind::Template, key).await {
            Ok(Object::Template(t)) => matches!(build_status(&t, id), BuildStatus::Running { .. }),
            _ => true,
        };
        if !running {
            return format!("build {id} had already finished");
        }
        for _ in 0..3 {
            match self.cluster.cancel_build(key).await {
                // Upstream answers OK and changes nothing when the build's Workspace is gone
                // (`mains/build.go` CancelBuildTemplate): the build still reads as running.
                Ok(t) if matches!(build_status(&t, id), BuildStatus::Running { .. }) => {
                    return format!(
                        "build {id}: nothing to cancel (the server found no build Workspace for it)"
                    )
                }
                Ok(_) => return format!("build {id} was cancelled"),
                Err(e) if e.is_transient() => continue,
                Err(e) => return format!("cancelling build {id} failed: {e}"),
            }
        }
        format!("cancelling build {id} failed: the cluster did not answer")
    }
}

#[cfg(test)]
mod tests;
