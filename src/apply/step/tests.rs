//! Unit tests of the step operations and of `apply` over the in-process local cluster, with a
//! wrapper that injects transient failures before or after an operation runs (the latter is a
//! write that happened although the client was told it failed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::apply::{apply, ApplyContext, ErrorKind, Event, Observer, StepStatus};
use crate::diff::LiveRef;
use crate::live::local::{BuildSettings, EngineOptions, LocalCluster};
use crate::live::wire::core;
use crate::live::Identity;
use crate::model::{Metadata, Model, Prebuild};
use crate::plan::{BuildAction, Plan, Step, TargetInfo};

/// When an injected failure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// UNAVAILABLE; nothing happened.
    Before,
    /// The operation happened; UNAVAILABLE anyway.
    After,
}

/// A local cluster that fails the next calls of an operation as scripted.
struct Flaky {
    inner: LocalCluster,
    script: Mutex<HashMap<&'static str, VecDeque<Fault>>>,
    /// CancelBuildTemplate answers OK and changes nothing (upstream, when the build's
    /// Workspace is gone).
    cancel_finds_nothing: std::sync::atomic::AtomicBool,
    /// Calls made, per operation.
    made: Mutex<HashMap<&'static str, u64>>,
    /// Set: a List answers (what it read when it ran) only once a permit is added.
    list_gate: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// Lists that have read and wait at the gate.
    gated: std::sync::atomic::AtomicU64,
}

impl Flaky {
    fn new(inner: LocalCluster) -> Arc<Self> {
        Arc::new(Flaky {
            inner,
            script: Mutex::new(HashMap::new()),
            cancel_finds_nothing: Default::default(),
            made: Mutex::new(HashMap::new()),
            list_gate: Mutex::new(None),
            gated: Default::default(),
        })
    }

    fn fail(&self, op: &'static str, faults: &[Fault]) {
        self.script.lock().unwrap().entry(op).or_default().extend(faults.iter().copied());
    }

    fn made(&self, op: &'static str) -> u64 {
        self.made.lock().unwrap().get(op).copied().unwrap_or_default()
    }

    fn next(&self, op: &'static str) -> Option<Fault> {
        *self.made.lock().unwrap().entry(op).or_default() += 1;
        self.script.lock().unwrap().get_mut(op).and_then(VecDeque::pop_front)
    }

    async fn wrap<T>(
        &self,
        op: &'static str,
        f: impl std::future::Future<Output = Result<T, LiveError>>,
    ) -> Result<T, LiveError> {
        let unavailable = || LiveError::new(ErrorCode::Transient, op, "injected");
        // Every answer takes a turn of the scheduler, as a network round trip would, so steps
        // in flight interleave between their calls.
        tokio::task::yield_now().await;
        match self.next(op) {
            Some(Fault::Before) => Err(unavailable()),
            Some(Fault::After) => {
                f.await?;
                Err(unavailable())
            }
            None => f.await,
        }
    }
}

#[async_trait]
impl Cluster for Flaky {
    async fn identity(&self) -> Result<Identity, LiveError> {
        self.inner.identity().await
    }
    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Object>, LiveError> {
        let objects = self.wrap("list", self.inner.list(kind, scope)).await;
        let gate = self.list_gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            self.gated.fetch_add(1, Ordering::SeqCst);
            gate.acquire().await.unwrap().forget();
        }
        objects
    }
    async fn get(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError> {
        self.wrap("get", self.inner.get(kind, key)).await
    }
    async fn create(&self, object: Object) -> Result<Object, LiveError> {
        self.wrap("create", self.inner.create(object)).await
    }
    async fn update(&self, object: Object) -> Result<Object, LiveError> {
        self.wrap("update", self.inner.update(object)).await
    }
    async fn delete(&self, kind: Kind, key: &ObjectKey) -> Result<(), LiveError> {
        self.wrap("delete", self.inner.delete(kind, key)).await
    }
    async fn build_template(
        &self,
        template: &ObjectKey,
        tags: &[String],
    ) -> Result<cordium::Template, LiveError> {
        self.wrap("build", self.inner.build_template(template, tags)).await
    }
    async fn cancel_build(&self, template: &ObjectKey) -> Result<cordium::Template, LiveError> {
        if self.cancel_finds_nothing.load(std::sync::atomic::Ordering::SeqCst) {
            return match self.inner.get(Kind::Template, template).await? {
                Object::Template(t) => Ok(t),
                _ => Err(LiveError::new(ErrorCode::Other, "cancel", "not a Template")),
            };
        }
        self.wrap("cancel", self.inner.cancel_build(template)).await
    }
    fn calls(&self) -> u64 {
        self.inner.calls()
    }
    async fn create_group(&self, g: core::Group) -> Result<core::Group, LiveError> {
        self.wrap("create_group", self.inner.create_group(g)).await
    }
    async fn get_group(&self, key: &ObjectKey) -> Result<core::Group, LiveError> {
        self.inner.get_group(key).await
    }
    async fn update_group(&self, g: core::Group) -> Result<core::Group, LiveError> {
        self.inner.update_group(g).await
    }
    async fn delete_group(&self, key: &ObjectKey) -> Result<(), LiveError> {
        self.inner.delete_group(key).await
    }
}

fn local(build: Duration, fail_rate: f64) -> LocalCluster {
    LocalCluster::in_memory_with(EngineOptions {
        builds: BuildSettings { duration: build, fail_rate, seed: 3 },
        seed: Some(5),
        ..Default::default()
    })
    .unwrap()
}

fn resource(address: &str, body: Body) -> Resource {
    let span = crate::diag::Span::new(crate::diag::FileId(0), 0, 0);
    Resource {
        address: address.parse().unwrap(),
        metadata: Metadata::default(),
        body,
        lifecycle: Default::default(),
        origin: crate::model::Origin::bare(span),
    }
}

fn space(name: &str) -> Resource {
    resource(
        &format!("space.{name}"),
        Body::Space { organization: false, spec: Default::default() },
    )
}

fn template(space: &str, name: &str, prebuild: bool) -> Resource {
    resource(
        &format!("template.{space}.{name}"),
        Body::Template {
            spec: Default::default(),
            prebuild: prebuild.then_some(Prebuild { timeout: None }),
        },
    )
}

fn workspace(space: &str, name: &str, template: Option<&str>) -> Resource {
    resource(
        &format!("workspace.{space}.{name}"),
        Body::Workspace { template: template.map(String::from), spec: Default::default() },
    )
}

fn secret(space: &str, name: &str) -> Resource {
    resource(
        &format!("secret.{space}.{name}"),
        Body::Secret { source: SecretSource::Env("TOKEN".into()) },
    )
}

struct Values;

impl SecretValues for Values {
    fn read(&self, _: &Address, source: &SecretSource) -> Result<String, String> {
        match source {
            SecretSource::Env(n) if n == "TOKEN" => Ok("s3cr3t-value".into()),
            SecretSource::Env(n) => Err(format!("environment variable {n} is not set")),
            SecretSource::File(f) => Err(format!("cannot read {f}")),
        }
    }
}

fn executor(cluster: Arc<dyn Cluster>) -> Executor {
    Executor {
        cluster,
        naming: Naming::new("admin"),
        stack: "test".into(),
        secrets: Arc::new(Values),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        poll: PollPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(50),
            ..PollPolicy::default()
        },
        stop: Arc::new(AtomicBool::new(false)),
        cancel: Arc::new(AtomicBool::new(false)),
        lease: None,
        records: Default::default(),
        listings: Default::default(),
        snapshots: None,
    }
}

fn input(kind: StepKind, r: &Resource) -> StepInput {
    StepInput {
        step: StepRef { index: 0, kind, address: r.address.clone() },
        resource: Some(r.clone()),
        live: None,
        build: None,
        snapshot_of: None,
    }
}

fn planned(r: &Resource, timeout_secs: u64) -> PlannedBuild {
    PlannedBuild {
        template: r.address.clone(),
        tag: "cabc".into(),
        action: BuildAction::Build,
        reason: None,
        build_id: None,
        estimate_secs: Some(1),
        timeout_secs,
    }
}

fn no_events(_: Event) {}

async fn run(ex: &Executor, i: &StepInput) -> Result<(), ApplyError> {
    ex.run(i, &no_events, &Slot::default()).await
}

async fn workspaces(c: &dyn Cluster) -> Vec<LiveResource> {
    c.list(Kind::Workspace, &Scope::All).await.unwrap().iter().map(from_wire).collect()
}

#[test]
fn taken_names_are_recognised_per_kind() {
    let e = |code, msg: &str| LiveError::new(code, "op", msg);
    assert!(name_taken(Kind::Space, &e(ErrorCode::AlreadyExists, "")));
    assert!(name_taken(
        Kind::Template,
        &e(ErrorCode::InvalidArgument, "Template name already exists for this Environment")
    ));
    assert!(name_taken(
        Kind::Secret,
        &e(ErrorCode::InvalidArgument, "This Secret name already exists")
    ));
    assert!(!name_taken(Kind::Space, &e(ErrorCode::InvalidArgument, "already exists")));
    assert!(!name_taken(Kind::Template, &e(ErrorCode::InvalidArgument, "bad name")));
}

#[test]
fn poll_intervals_grow_with_the_wait_up_to_the_cap() {
    let p = PollPolicy::default();
    let ms = |s: u64| p.interval(Duration::from_secs(s)).as_millis();
    assert_eq!([ms(0), ms(4), ms(10), ms(30), ms(3600)], [500, 500, 1000, 3000, 5000]);
}

#[test]
fn polls_keep_their_schedule_whatever_a_read_takes() {
    let p = PollPolicy::default();
    let (mut due, mut dues) = (Duration::ZERO, Vec::new());
    // Each read answers 12 ms after it was due; one (the third) takes 800 ms.
    for late in [12, 12, 800, 12, 12] {
        due = p.next_due(due, due + Duration::from_millis(late));
        dues.push(due.as_millis());
    }
    assert_eq!(dues, [500, 1000, 1800, 2300, 2800]);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_read_back_not_repeated() {
    for r in [space("ml"), secret("ml", "key")] {
        let c = Flaky::new(local(Duration::from_secs(1), 0.0));
        let ex = executor(c.clone());
        if r.kind() != Kind::Space {
            run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
        }
        c.fail("create", &[Fault::After]);
        run(&ex, &input(StepKind::Create, &r)).await.unwrap();
        let live = c.list(r.kind(), &Scope::All).await.unwrap();
        let ours: Vec<_> =
            live.iter().map(from_wire).filter(|l| l.stack() == Some("test")).collect();
        assert_eq!(ours.len(), 1, "{}", r.address);
    }
}

#[tokio::test]
async fn workspaces_are_never_duplicated_whatever_fails() {
    let scripts: &[(&[Fault], &[Fault])] = &[
        (&[Fault::After], &[]),
        (&[Fault::Before], &[]),
        (&[Fault::After, Fault::After], &[]),
        (&[Fault::Before, Fault::After], &[Fault::Before, Fault::Before]),
        (&[Fault::After], &[Fault::After, Fault::Before]),
    ];
    for (creates, lists) in scripts {
        let c = Flaky::new(local(Duration::from_secs(1), 0.0));
        let ex = executor(c.clone());
        run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
        c.fail("create", creates);
        c.fail("list", lists);
        run(&ex, &input(StepKind::Create, &workspace("ml", "box", None))).await.unwrap();
        let ws = workspaces(c.as_ref()).await;
        let named: Vec<_> = ws.iter().filter(|w| w.metadata.display_name == "box").collect();
        assert_eq!(named.len(), 1, "creates {creates:?} lists {lists:?}");
    }
}

// Regression (issue 10): a second runner whose plan saw no Workspace created it again; the
// displayName is now looked for right before each create.
#[tokio::test]
async fn a_workspace_created_since_the_plan_is_not_created_again() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let (first, second) = (executor(c.clone()), executor(c.clone()));
    run(&first, &input(StepKind::Create, &space("ml"))).await.unwrap();
    let ws = workspace("ml", "box", None);
    run(&first, &input(StepKind::Create, &ws)).await.unwrap();
    // The second runner planned before the first created it; the Space is missing for a third.
    run(&second, &input(StepKind::Create, &ws)).await.unwrap();
    let named = workspaces(c.as_ref()).await;
    assert_eq!(named.iter().filter(|w| w.metadata.display_name == "box").count(), 1);
    let e = run(&second, &input(StepKind::Create, &workspace("nowhere", "box", None)))
        .await
        .unwrap_err();
    assert!(!matches!(e, ApplyError::Unknown { .. }), "the create says why: {e}");
}

// The Workspace steps of a Space share Lists, but a List that began before a step asked is never
// its answer: what was made meanwhile is seen.
#[tokio::test]
async fn a_shared_workspace_list_always_started_after_its_step_asked() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = Arc::new(executor(c.clone()));
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    *c.list_gate.lock().unwrap() = Some(gate.clone());
    let before = c.made("list");
    let ml = ex.naming.space_name("ml");
    let ask = || {
        let (ex, ml) = (ex.clone(), ml.clone());
        tokio::spawn(async move { ex.list_space(Kind::Workspace, &ml).await.unwrap() })
    };
    let first = ask();
    while c.gated.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // Made by another writer after the first List read the Space, before the others ask.
    c.inner.create(ex.wire_object(&workspace("ml", "box", None))).await.unwrap();
    let (second, third) = (ask(), ask());
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(10);
    let names = |objects: &[Object]| -> Vec<String> {
        objects.iter().filter_map(|o| o.metadata().map(|m| m.display_name.clone())).collect()
    };
    assert!(!names(&first.await.unwrap()).contains(&"box".to_string()));
    for later in [second.await.unwrap(), third.await.unwrap()] {
        assert_eq!(names(&later), ["box"], "a step is answered by a List begun after it asked");
    }
    assert_eq!(c.made("list") - before, 2, "the two that asked meanwhile shared one List");
}

// 50 Workspaces of one Space created at once: each once, with fewer Lists than creates.
#[tokio::test]
async fn workspaces_created_at_once_share_their_lists() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = Arc::new(executor(c.clone()));
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    let before = c.made("list");
    let steps: Vec<_> = (0..50)
        .map(|i| {
            let ex = ex.clone();
            tokio::spawn(async move {
                run(&ex, &input(StepKind::Create, &workspace("ml", &format!("w{i}"), None))).await
            })
        })
        .collect();
    for step in steps {
        step.await.unwrap().unwrap();
    }
    let ws = workspaces(c.as_ref()).await;
    let mut names: Vec<_> = ws.iter().map(|w| w.metadata.display_name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!((ws.len(), names.len()), (50, 50));
    let lists = c.made("list") - before;
    assert!(lists < 25, "{lists} Lists for 50 creates");
}

#[tokio::test]
async fn a_create_that_finds_a_foreign_object_is_a_conflict() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = executor(c.clone());
    let mut other = executor(c.clone());
    other.stack = "other".into();
    run(&other, &input(StepKind::Create, &space("ml"))).await.unwrap();
    let e = run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("ml.admin"), "{e}");
}

#[tokio::test]
async fn secret_values_reach_the_request_but_never_an_error() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = executor(c.clone());
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    let mut bad = secret("ml", "key");
    bad.body = Body::Secret { source: SecretSource::Env("MISSING".into()) };
    let e = run(&ex, &input(StepKind::Create, &bad)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(e.report().contains("MISSING"), "{}", e.report());
    // A create refused for another reason does not echo the value either.
    run(&ex, &input(StepKind::Create, &secret("ml", "key"))).await.unwrap();
    let mut again = executor(c.clone());
    again.stack = "other".into();
    let e = run(&again, &input(StepKind::Create, &secret("ml", "key"))).await.unwrap_err();
    assert!(!e.report().contains("s3cr3t"), "{}", e.report());
}

#[tokio::test]
async fn updates_are_compared_after_an_unknown_outcome_and_deletes_tolerate_not_found() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = executor(c.clone());
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    run(&ex, &input(StepKind::Create, &workspace("ml", "box", None))).await.unwrap();
    let mut changed = workspace("ml", "box", None);
    if let Body::Workspace { spec, .. } = &mut changed.body {
        spec.is_ephemeral = true;
    }
    let live = workspaces(c.as_ref()).await.remove(0);
    let mut i = input(StepKind::Update, &changed);
    i.live = Some(LiveRef {
        name: live.wire_name.clone(),
        uid: live.uid.clone(),
        resource_version: String::new(),
        fingerprint: String::new(),
        masked: Vec::new(),
    });
    c.fail("update", &[Fault::After]);
    let before = c.calls();
    run(&ex, &i).await.unwrap();
    // update + get (compare): no Get before it (the plan holds the object), no second update;
    // then the applied digest into its Space's ownership record (get + update).
    assert_eq!(c.calls() - before, 4);
    assert_eq!(workspaces(c.as_ref()).await[0].spec_json["isEphemeral"], true);

    // A plan that does not hold the object's uid (an older plan file) reads it first.
    let mut older = i.clone();
    older.live.as_mut().unwrap().uid.clear();
    older.live.as_mut().unwrap().name.clear();
    let before = c.calls();
    let e = run(&ex, &older).await.unwrap_err();
    assert!(e.report().contains("plan again"), "{}", e.report());
    assert_eq!(c.calls(), before, "nothing sent for a Workspace it cannot name");
    let mut renamed = space("ml");
    renamed.metadata.display_name = "ML".into();
    let mut s = input(StepKind::Update, &renamed);
    s.live = None;
    let before = c.calls();
    run(&ex, &s).await.unwrap();
    assert_eq!(c.calls() - before, 2, "get (by stored name) + update");

    c.fail("delete", &[Fault::After]);
    let mut d = i.clone();
    d.step.kind = StepKind::Delete;
    run(&ex, &d).await.unwrap();
    assert!(workspaces(c.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_build_started_behind_a_lost_answer_is_adopted_not_restarted() {
    let c = Flaky::new(local(Duration::from_millis(150), 0.0));
    let ex = executor(c.clone());
    let t = template("ml", "gpu", true);
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    run(&ex, &input(StepKind::Create, &t)).await.unwrap();
    c.fail("build", &[Fault::After]);
    let mut i = input(StepKind::Build, &t);
    i.build = Some(planned(&t, 30));
    let events = Mutex::new(Vec::new());
    ex.run(&i, &|e| events.lock().unwrap().push(e), &Slot::default()).await.unwrap();
    let Object::Template(got) =
        c.get(Kind::Template, &ObjectKey::Name("gpu.ml.admin".into())).await.unwrap()
    else {
        panic!("template")
    };
    let info = from_wire(&Object::Template(got)).build_info.unwrap();
    assert_eq!(info.builds.len(), 1, "one build, not two");
    assert_eq!(info.current_ready_build_id, info.builds[0].id);
    assert_eq!(info.builds[0].tags, ["cabc"]);
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| matches!(e, Event::Progress { .. })), "{events:?}");
}

#[tokio::test]
async fn failed_and_overdue_builds_fail_their_step() {
    let c = Flaky::new(local(Duration::from_millis(50), 1.0));
    let ex = executor(c.clone());
    let t = template("ml", "gpu", true);
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    run(&ex, &input(StepKind::Create, &t)).await.unwrap();
    let mut i = input(StepKind::Build, &t);
    i.build = Some(planned(&t, 30));
    let e = run(&ex, &i).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failed);
    assert!(e.to_string().contains("failed"), "{e}");

    let slow = Flaky::new(local(Duration::from_secs(60), 0.0));
    let ex = executor(slow.clone());
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    run(&ex, &input(StepKind::Create, &t)).await.unwrap();
    i.build = Some(planned(&t, 0));
    let e = run(&ex, &i).await.unwrap_err();
    assert!(matches!(e, ApplyError::BuildTimeout { .. }), "{e}");
    assert!(e.to_string().contains("was cancelled"), "{e}");

    // A cancel the server answers OK without cancelling anything is said as such.
    let gone = Flaky::new(local(Duration::from_secs(60), 0.0));
    gone.cancel_finds_nothing.store(true, std::sync::atomic::Ordering::SeqCst);
    let ex = executor(gone.clone());
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    run(&ex, &input(StepKind::Create, &t)).await.unwrap();
    let e = run(&ex, &i).await.unwrap_err();
    assert!(e.to_string().contains("nothing to cancel"), "{e}");
}

#[test]
fn duplicate_workspaces_are_reported_by_name() {
    let w = |name: &str| {
        let r = workspace("ml", "box", None);
        let mut o = to_wire(&r, &Naming::new("admin"), "s");
        o.metadata_mut().name = name.into();
        o
    };
    let a: Address = "workspace.ml.box".parse().unwrap();
    assert!(pick_workspace(&[w("abc")], &a, "ml.admin").unwrap().is_some());
    assert!(pick_workspace(&[w("abc")], &a, "ml.cordium").unwrap().is_none());
    let e = pick_workspace(&[w("abc"), w("xyz")], &a, "ml.admin").unwrap_err();
    assert!(e.to_string().contains("abc, xyz"), "{e}");
}

/// Collects events.
#[derive(Default)]
struct Record(Mutex<Vec<Event>>);

impl Observer for Record {
    fn event(&self, e: &Event) {
        self.0.lock().unwrap().push(e.clone());
    }
}

fn plan(steps: Vec<Step>, builds: Vec<PlannedBuild>) -> Plan {
    Plan {
        format_version: crate::plan::file::FILE_FORMAT_VERSION,
        tool_version: "test".into(),
        stack: "test".into(),
        target: TargetInfo::default(),
        config_digest: String::new(),
        changes: vec![],
        builds,
        steps,
        excluded: vec![],
        snapshots: None,
        origin: Default::default(),
    }
}

fn step(kind: StepKind, r: &Resource, deps: &[usize]) -> Step {
    Step { kind, address: r.address.clone(), depends_on: deps.to_vec() }
}

#[tokio::test]
async fn apply_skips_exactly_the_dependents_of_a_failed_build() {
    let c = Flaky::new(local(Duration::from_millis(50), 1.0));
    let (s, bad, good) = (space("ml"), template("ml", "bad", true), template("ml", "good", false));
    let (w1, w2, w3) = (
        workspace("ml", "one", Some("bad")),
        workspace("ml", "two", Some("bad")),
        workspace("ml", "three", Some("good")),
    );
    let mut resources =
        vec![s.clone(), bad.clone(), good.clone(), w1.clone(), w2.clone(), w3.clone()];
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    let model = Model { resources, ..Model::default() };
    let p = plan(
        vec![
            step(StepKind::Create, &s, &[]),
            step(StepKind::Create, &bad, &[0]),
            step(StepKind::Create, &good, &[0]),
            step(StepKind::Build, &bad, &[1]),
            step(StepKind::Create, &w1, &[0, 1, 3]),
            step(StepKind::Create, &w2, &[0, 1, 3]),
            step(StepKind::Create, &w3, &[0, 2]),
        ],
        vec![planned(&bad, 30)],
    );
    let mut ctx =
        ApplyContext::new(c.clone(), Arc::new(model), Naming::new("admin"), Arc::new(Values));
    ctx.poll = PollPolicy { initial: Duration::from_millis(20), ..PollPolicy::default() };
    let record = Record::default();
    let out = apply(&p, ctx, &record).await;
    let status: Vec<&str> = out.steps.iter().map(|s| s.status.name()).collect();
    assert_eq!(status, ["done", "done", "done", "failed", "skipped", "skipped", "done"]);
    assert!(!out.success());
    let StepStatus::Failed { kind, .. } = &out.steps[3].status else { panic!() };
    assert_eq!(*kind, Some(ErrorKind::Failed));
    let ended = record
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| !matches!(e, Event::Started { .. } | Event::Progress { .. }))
        .count();
    assert_eq!(ended, 7, "one end event per step");
    assert_eq!(workspaces(c.as_ref()).await.len(), 1);
}

/// A Space, a Template with a build, and a Workspace waiting for that build.
fn space_build_workspace() -> (Model, Plan) {
    let (s, t, w) = (space("ml"), template("ml", "gpu", true), workspace("ml", "box", Some("gpu")));
    let model = Model { resources: vec![s.clone(), t.clone(), w.clone()], ..Model::default() };
    let p = plan(
        vec![
            step(StepKind::Create, &s, &[]),
            step(StepKind::Create, &t, &[0]),
            step(StepKind::Build, &t, &[1]),
            step(StepKind::Create, &w, &[2]),
        ],
        vec![planned(&t, 600)],
    );
    (model, p)
}

#[tokio::test]
async fn a_cancel_cancels_running_builds_and_starts_nothing_new() {
    let c = Flaky::new(local(Duration::from_secs(60), 0.0));
    let (model, p) = space_build_workspace();
    let mut ctx =
        ApplyContext::new(c.clone(), Arc::new(model), Naming::new("admin"), Arc::new(Values));
    ctx.poll = PollPolicy { initial: Duration::from_millis(20), ..PollPolicy::default() };
    let flags = vec![ctx.stop.clone(), ctx.cancel.clone()];
    let out = apply(&p, ctx, &StopOnProgress(flags)).await;
    assert!(out.interrupted);
    let status: Vec<&str> = out.steps.iter().map(|s| s.status.name()).collect();
    assert_eq!(status, ["done", "done", "failed", "skipped"]);
    let StepStatus::Failed { error, kind, .. } = &out.steps[2].status else { panic!() };
    assert_eq!(*kind, Some(ErrorKind::Interrupted));
    assert!(error.contains("was cancelled"), "{error}");
}

/// Sets its flags on the first build progress event.
struct StopOnProgress(Vec<Arc<AtomicBool>>);

impl Observer for StopOnProgress {
    fn event(&self, e: &Event) {
        if matches!(e, Event::Progress { .. }) {
            self.0.iter().for_each(|f| f.store(true, std::sync::atomic::Ordering::SeqCst));
        }
    }
}

#[tokio::test]
async fn a_stop_lets_running_builds_finish_and_starts_nothing_new() {
    let c = Flaky::new(local(Duration::from_millis(400), 0.0));
    let (model, p) = space_build_workspace();
    let mut ctx =
        ApplyContext::new(c.clone(), Arc::new(model), Naming::new("admin"), Arc::new(Values));
    ctx.poll = PollPolicy { initial: Duration::from_millis(20), ..PollPolicy::default() };
    let flags = vec![ctx.stop.clone()];
    let out = apply(&p, ctx, &StopOnProgress(flags)).await;
    assert!(out.interrupted);
    let status: Vec<&str> = out.steps.iter().map(|s| s.status.name()).collect();
    assert_eq!(status[..3], ["done", "done", "done"], "the build finished: {status:?}");
    assert_ne!(status[3], "done", "the Workspace was not started: {status:?}");
    assert_eq!(workspaces(c.as_ref()).await.len(), 0);
}

/// The Space `ml`'s Workspace ownership record: uid key → value.
/// The ownership record of Space `ml`, each value without the applied digest it may carry
/// (every entry of a created Workspace carries one: checked).
async fn record_of(c: &dyn Cluster) -> std::collections::BTreeMap<String, String> {
    let spaces = c.list(Kind::Space, &Scope::All).await.unwrap();
    let ml = spaces.iter().map(from_wire).find(|s| s.address.name == "ml").unwrap();
    ml.metadata
        .annotations
        .into_iter()
        .filter(|(k, _)| crate::live::record::is_record_key(k))
        .map(|(k, v)| {
            let (stack, retiring) = crate::live::record::parse(&v);
            let digest = crate::live::record::applied_digest(&v);
            assert_eq!(digest.is_some(), !retiring, "{v}");
            let stack = if retiring { crate::live::record::retiring(stack) } else { stack.into() };
            (k, stack)
        })
        .collect()
}

fn key_of(w: &LiveResource) -> String {
    crate::live::record::key(&w.uid).unwrap()
}

#[tokio::test]
async fn created_workspaces_are_recorded_in_their_space_and_deleted_ones_leave_it() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let ex = executor(c.clone());
    run(&ex, &input(StepKind::Create, &space("ml"))).await.unwrap();
    // A lost UpdateSpace answer and a failed GetSpace are retried.
    c.fail("update", &[Fault::After]);
    c.fail("get", &[Fault::Before]);
    run(&ex, &input(StepKind::Create, &workspace("ml", "box", None))).await.unwrap();
    let box_ = workspaces(c.as_ref()).await.into_iter().next().unwrap();
    assert_eq!(record_of(c.as_ref()).await, [(key_of(&box_), "test".to_string())].into());

    // A replace that creates first: the old one is marked, the create looks past it (by uid).
    let old = LiveRef {
        name: box_.wire_name.clone(),
        uid: box_.uid.clone(),
        resource_version: box_.resource_version.clone(),
        fingerprint: String::new(),
        masked: vec![],
    };
    let mut create = input(StepKind::Create, &workspace("ml", "box", None));
    create.live = Some(old.clone());
    run(&ex, &create).await.unwrap();
    let both = workspaces(c.as_ref()).await;
    assert_eq!(both.len(), 2, "the successor exists beside the old one");
    let new = both.iter().find(|w| w.uid != box_.uid).unwrap();
    let record = record_of(c.as_ref()).await;
    assert_eq!(record.get(&key_of(&box_)).map(String::as_str), Some("replaced:test"));
    assert_eq!(record.get(&key_of(new)).map(String::as_str), Some("test"));
    let mut delete = input(StepKind::Delete, &workspace("ml", "box", None));
    delete.live = Some(old);
    run(&ex, &delete).await.unwrap();
    assert_eq!(workspaces(c.as_ref()).await.len(), 1);
    assert_eq!(record_of(c.as_ref()).await, [(key_of(new), "test".to_string())].into());
}

#[tokio::test]
async fn parallel_creates_in_one_space_lose_no_record() {
    let c = Flaky::new(local(Duration::from_secs(1), 0.0));
    let s = space("ml");
    let boxes: Vec<Resource> = (0..24).map(|i| workspace("ml", &format!("w{i}"), None)).collect();
    let mut steps = vec![step(StepKind::Create, &s, &[])];
    steps.extend(boxes.iter().map(|b| step(StepKind::Create, b, &[0])));
    let mut resources = vec![s.clone()];
    resources.extend(boxes.iter().cloned());
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    let model = Model { resources, ..Model::default() };
    let mut ctx =
        ApplyContext::new(c.clone(), Arc::new(model), Naming::new("admin"), Arc::new(Values));
    ctx.parallelism = 24;
    let outcome = apply(&plan(steps, vec![]), ctx, &crate::apply::Ignore).await;
    assert!(outcome.success(), "{:?}", outcome.failed().collect::<Vec<_>>());
    let record = record_of(c.as_ref()).await;
    let ws = workspaces(c.as_ref()).await;
    assert_eq!(ws.len(), 24);
    for w in &ws {
        assert_eq!(record.get(&key_of(w)).map(String::as_str), Some("test"), "{}", w.wire_name);
    }
    // Entries that queued while the record was being written were written together: fewer
    // Space updates than Workspaces (one Get and one Update each, before group commit).
    let updates = c.made("update");
    assert!(updates < 24, "{updates} updates for 24 records");
}
