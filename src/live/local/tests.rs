//! Unit tests of the local cluster over an in-memory store: the server rules, in-process.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::live::wire::cordium::template::status::build_info::build::State as BuildState;

fn engine() -> Engine {
    Engine::in_memory(EngineOptions { seed: Some(1), ..Default::default() }).unwrap()
}

fn md(name: &str) -> Option<meta::Metadata> {
    Some(meta::Metadata { name: name.into(), ..Default::default() })
}

fn space(name: &str) -> cordium::Space {
    cordium::Space { metadata: md(name), spec: Some(Default::default()), ..Default::default() }
}

fn template(name: &str) -> cordium::Template {
    cordium::Template { metadata: md(name), spec: Some(Default::default()), ..Default::default() }
}

fn secret(name: &str, value: &str) -> cordium::Secret {
    cordium::Secret {
        metadata: md(name),
        spec: Some(Default::default()),
        data: Some(cordium::secret::Data {
            r#type: Some(cordium::secret::data::Type::Value(value.into())),
        }),
        ..Default::default()
    }
}

fn human(name: &str) -> core::User {
    core::User {
        metadata: md(name),
        spec: Some(core::user::Spec {
            r#type: core::user::spec::Type::Human as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn by_name(n: &str) -> meta::GetOptions {
    meta::GetOptions { uid: String::new(), name: n.into() }
}

fn name<T: store::Stored>(o: &T) -> String {
    o.meta().unwrap().name.clone()
}

fn code<T: std::fmt::Debug>(r: ApiResult<T>) -> Code {
    r.expect_err("expected an error").code
}

#[test]
fn space_names_expand_and_type_by_owner() {
    let e = engine();
    let s = e.create_space("alice", space("proj")).unwrap();
    assert_eq!(name(&s), "proj.alice");
    assert_eq!(s.status.as_ref().unwrap().r#type(), cordium::space::status::Type::User);
    let o = e.create_space("alice", space("ml.cordium")).unwrap();
    assert_eq!(o.status.unwrap().r#type(), cordium::space::status::Type::Organization);
    assert_eq!(code(e.create_space("alice", space("x.bob"))), Code::InvalidArgument);
    assert_eq!(code(e.create_space("alice", space("proj"))), Code::AlreadyExists);
    assert_eq!(code(e.create_space("alice", space("Bad"))), Code::InvalidArgument);
    assert_eq!(code(e.create_space("alice", space("a--b"))), Code::InvalidArgument);
    let no_spec = cordium::Space { metadata: md("nospec"), ..Default::default() };
    assert_eq!(code(e.create_space("alice", no_spec)), Code::InvalidArgument);
    // The default Template comes with the Space and cannot be deleted.
    let t = e.get_template("alice", by_name("default.proj")).unwrap();
    assert_eq!(name(&t), "default.proj.alice");
    let del = meta::DeleteOptions { uid: String::new(), name: "default.proj".into() };
    assert_eq!(code(e.delete_template("alice", del)), Code::InvalidArgument);
}

#[test]
fn limits_are_refused_on_user_spaces() {
    let e = engine();
    let mut s = space("lim");
    s.spec.as_mut().unwrap().limit = Some(Default::default());
    assert_eq!(code(e.create_space("alice", s.clone())), Code::PermissionDenied);
    s.metadata = md("lim.cordium");
    assert!(e.create_space("alice", s).is_ok());
}

#[test]
fn template_names_and_duplicates() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    e.create_space("alice", space("default")).unwrap();
    assert_eq!(name(&e.create_template("alice", template("t1")).unwrap()), "t1.default.alice");
    assert_eq!(name(&e.create_template("alice", template("t2.sp")).unwrap()), "t2.sp.alice");
    assert_eq!(name(&e.create_template("alice", template("t3.sp.alice")).unwrap()), "t3.sp.alice");
    // Upstream answers a taken Template name with INVALID_ARGUMENT, not ALREADY_EXISTS.
    assert_eq!(code(e.create_template("alice", template("t2.sp"))), Code::InvalidArgument);
    assert_eq!(code(e.create_template("alice", template("tx.nospace"))), Code::NotFound);
    assert_eq!(code(e.create_template("bob", template("t4.sp.alice"))), Code::PermissionDenied);
}

#[test]
fn get_by_uid_or_name_not_both() {
    let e = engine();
    let s = e.create_space("alice", space("sp")).unwrap();
    let uid = s.metadata.as_ref().unwrap().uid.clone();
    assert_eq!(
        e.get_space("alice", meta::GetOptions { uid: uid.clone(), name: String::new() }).unwrap(),
        s
    );
    assert_eq!(e.get_space("alice", by_name("sp")).unwrap(), s);
    let both = meta::GetOptions { uid, name: "sp".into() };
    assert_eq!(code(e.get_space("alice", both)), Code::InvalidArgument);
    assert_eq!(code(e.get_space("alice", meta::GetOptions::default())), Code::InvalidArgument);
    assert_eq!(code(e.get_space("alice", by_name("nope"))), Code::NotFound);
    assert_eq!(code(e.get_space("bob", by_name("sp.alice"))), Code::PermissionDenied);
}

#[test]
fn update_replaces_spec_and_metadata_and_bumps_version() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    let mut t = template("tp.sp");
    t.metadata.as_mut().unwrap().labels.insert("team".into(), "ml".into());
    t.spec.as_mut().unwrap().runtime =
        Some(cordium::workspace::spec::Runtime { cmd: "sleep".into(), ..Default::default() });
    let created = e.create_template("alice", t).unwrap();
    let rv0 = created.metadata.as_ref().unwrap().resource_version.clone();
    let mut upd = template("tp.sp");
    upd.status = Some(Default::default());
    upd.metadata.as_mut().unwrap().display_name = "T".into();
    let updated = e.update_template("alice", upd.clone()).unwrap();
    let m = updated.metadata.as_ref().unwrap();
    assert!(m.labels.is_empty(), "labels replaced wholesale");
    assert_eq!(m.display_name, "T");
    assert_eq!(updated.spec.as_ref().unwrap().runtime, None, "spec replaced wholesale");
    assert!(m.resource_version > rv0);
    assert_eq!(m.last_resource_version, rv0);
    // An update that changes nothing is no write (upstream rscserver).
    let again = e.update_template("alice", upd.clone()).unwrap();
    assert_eq!(again.metadata.unwrap().resource_version, m.resource_version);
    upd.status = None;
    assert_eq!(code(e.update_template("alice", upd)), Code::InvalidArgument, "status required");
}

#[test]
fn secrets_store_data_but_never_return_it() {
    let e = engine();
    e.create_space("alice", space("sp")).unwrap();
    let s = e.create_secret("alice", secret("key.sp", "hunter2")).unwrap();
    assert_eq!(name(&s), "key.sp.alice");
    assert!(s.data.is_none());
    assert!(e.get_secret("alice", by_name("key.sp")).unwrap().data.is_none());
    let list = e
        .list_secret(
            "alice",
            cordium::ListSecretOptions {
                space_ref: Some(meta::ObjectReference { name: "sp".into(), ..Default::default() }),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.items[0].data.is_none());
    assert_eq!(code(e.create_secret("alice", secret("key.sp", "x"))), Code::InvalidArgument);
    assert_eq!(code(e.create_secret("alice", secret("empty.sp", ""))), Code::InvalidArgument);
    let mut no_data = secret("nodata.sp", "x");
    no_data.data = None;
    assert_eq!(code(e.create_secret("alice", no_data)), Code::InvalidArgument);
    assert_eq!(
        code(e.list_secret("alice", cordium::ListSecretOptions::default())),
        Code::InvalidArgument,
        "spaceRef is required"
    );
}

#[test]
fn delete_space_needs_uid_and_cascades() {
    let e = engine();
    let s = e.create_space("alice", space("sp")).unwrap();
    let uid = s.metadata.unwrap().uid;
    e.create_template("alice", template("tp.sp")).unwrap();
    e.create_secret("alice", secret("kk.sp", "v")).unwrap();
    let ws = e
        .create_workspace(
            "alice",
            cordium::Workspace {
                metadata: Some(Default::default()),
                spec: Some(Default::default()),
                status: Some(cordium::workspace::Status {
                    template_ref: Some(meta::ObjectReference {
                        name: "tp.sp.alice".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let by_name = meta::DeleteOptions { uid: String::new(), name: "sp.alice".into() };
    assert_eq!(code(e.delete_space("alice", by_name)), Code::InvalidArgument);
    let by_uid = meta::DeleteOptions { uid: uid.clone(), name: String::new() };
    assert_eq!(code(e.delete_space("bob", by_uid.clone())), Code::PermissionDenied);
    e.delete_space("alice", by_uid).unwrap();
    assert_eq!(code(e.get_template("alice", super::tests::by_name("tp.sp"))), Code::NotFound);
    assert_eq!(code(e.get_template("alice", super::tests::by_name("default.sp"))), Code::NotFound);
    assert_eq!(code(e.get_secret("alice", super::tests::by_name("kk.sp"))), Code::NotFound);
    // Upstream (mains/space.go @ 54d80f2b, DeleteSpace) deletes the Space's Workspaces too.
    let ws_uid = ws.metadata.unwrap().uid;
    let get = meta::GetOptions { uid: ws_uid, name: String::new() };
    assert_eq!(code(e.get_workspace("alice", get)), Code::NotFound);
}

#[test]
fn workspaces_are_named_by_the_server_and_default_space_appears() {
    let e = engine();
    let req = cordium::Workspace {
        metadata: Some(meta::Metadata {
            name: "ignored".into(),
            display_name: "Agent box".into(),
            labels: [("team".to_string(), "ml".to_string())].into(),
            ..Default::default()
        }),
        spec: Some(Default::default()),
        ..Default::default()
    };
    let ws = e.create_workspace("alice", req.clone()).unwrap();
    let m = ws.metadata.as_ref().unwrap();
    assert_ne!(m.name, "ignored");
    assert!((3..=6).contains(&m.name.len()) && is_segment(&m.name));
    assert_eq!(m.display_name, "Agent box");
    assert!(m.labels.is_empty(), "only displayName is kept");
    let st = ws.status.as_ref().unwrap();
    assert_eq!(st.state(), cordium::workspace::status::State::Stopped);
    assert_eq!(st.template_ref.as_ref().unwrap().name, "default.default.alice");
    assert_eq!(st.space_ref.as_ref().unwrap().name, "default.alice");
    assert_eq!(st.limit.as_ref().unwrap().cpu.as_ref().unwrap().millicores, 2000);
    let second = e.create_workspace("alice", req).unwrap();
    assert_ne!(second.metadata.unwrap().name, m.name);
    // Owner only.
    let get = meta::GetOptions { uid: m.uid.clone(), name: String::new() };
    assert_eq!(code(e.get_workspace("bob", get.clone())), Code::PermissionDenied);
    let del = meta::DeleteOptions { uid: m.uid.clone(), name: String::new() };
    assert_eq!(code(e.delete_workspace("bob", del.clone())), Code::PermissionDenied);
    assert_eq!(e.list_workspace("bob", Default::default()).unwrap().items.len(), 0);
    assert_eq!(e.list_workspace("alice", Default::default()).unwrap().items.len(), 2);
    e.delete_workspace("alice", del).unwrap();
    assert_eq!(code(e.get_workspace("alice", get)), Code::NotFound);
}

#[test]
fn update_workspace_needs_uid() {
    let e = engine();
    let ws = e
        .create_workspace(
            "alice",
            cordium::Workspace {
                metadata: Some(Default::default()),
                spec: Some(Default::default()),
                ..Default::default()
            },
        )
        .unwrap();
    let mut upd = ws.clone();
    upd.metadata.as_mut().unwrap().display_name = "new".into();
    upd.spec.as_mut().unwrap().is_ephemeral = true;
    let out = e.update_workspace("alice", upd.clone()).unwrap();
    assert_eq!(out.metadata.as_ref().unwrap().display_name, "new");
    assert!(out.spec.unwrap().is_ephemeral);
    upd.metadata.as_mut().unwrap().uid.clear();
    assert_eq!(code(e.update_workspace("alice", upd)), Code::InvalidArgument);
}

#[test]
fn pagination_follows_upstream() {
    let e = engine();
    for i in 0..450 {
        e.create_core("admin", human(&format!("user-{i}"))).unwrap();
    }
    // 450 created + the caller + the genesis Users `root` and `octelium`.
    let first = e.list_core::<core::User>("admin", None).unwrap();
    let m = first.list_response_meta.unwrap();
    assert_eq!(
        (first.items.len(), m.items_per_page, m.total_count, m.has_more),
        (200, 200, 453, true)
    );
    let common =
        |page, per| Some(meta::CommonListOptions { page, items_per_page: per, order_by: None });
    let last = e.list_core::<core::User>("admin", common(2, 0)).unwrap();
    assert_eq!(last.items.len(), 53);
    assert!(!last.list_response_meta.unwrap().has_more);
    let big = e.list_core::<core::User>("admin", common(0, 5000)).unwrap();
    assert_eq!(big.list_response_meta.unwrap().items_per_page, 1000);
    assert_eq!(code(e.list_core::<core::User>("admin", common(3, 0))), Code::NotFound);
    assert_eq!(code(e.list_core::<core::User>("admin", common(10_001, 0))), Code::InvalidArgument);
}

#[test]
fn users_have_one_segment_names() {
    let e = engine();
    let u = human;
    e.create_core("admin", u("agent-1")).unwrap();
    assert_eq!(code(e.create_core("admin", u("agent-1"))), Code::AlreadyExists);
    assert_eq!(code(e.create_core("admin", u("a.b"))), Code::InvalidArgument);
    let self_delete = meta::DeleteOptions { uid: String::new(), name: "admin".into() };
    assert_eq!(code(e.delete_core::<core::User>("admin", self_delete)), Code::PermissionDenied);
    let g =
        core::Group { metadata: md("devs"), spec: Some(Default::default()), ..Default::default() };
    e.create_core("admin", g).unwrap();
    let p = core::Policy {
        metadata: md("allow-some"),
        spec: Some(Default::default()),
        ..Default::default()
    };
    e.create_core("admin", p).unwrap();
    assert_eq!(e.list_core::<core::Group>("admin", None).unwrap().items.len(), 1);
}

#[test]
fn builds_finish_on_read_by_the_injected_clock() {
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
    let e = Engine::in_memory(EngineOptions {
        clock: Arc::new(clock.clone()),
        builds: BuildSettings { duration: Duration::from_secs(60), fail_rate: 0.0, seed: 3 },
        seed: Some(3),
        ..Default::default()
    })
    .unwrap();
    e.create_space("alice", space("sp")).unwrap();
    e.create_template("alice", template("tp.sp")).unwrap();
    let req = |tags: Vec<String>| cordium::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference { name: "tp.sp".into(), ..Default::default() }),
        tags,
    };
    let t = e.build_template("alice", req(vec![])).unwrap();
    let info = t.status.unwrap().build_info.unwrap();
    let first = info.builds[0].clone();
    assert_eq!(first.id.len(), 6);
    assert_eq!(first.tags, vec!["latest"]);
    assert_eq!(first.state(), BuildState::Running);
    assert_eq!(info.current_running_build_id, first.id);
    // Superseded: a second build cancels the first.
    clock.advance(Duration::from_secs(10));
    let t = e.build_template("alice", req(vec!["abc123".into()])).unwrap();
    let info = t.status.unwrap().build_info.unwrap();
    assert!(info.builds[1].is_canceled);
    assert_eq!(info.builds[1].state(), BuildState::Failed);
    let second = info.builds[0].id.clone();
    clock.advance(Duration::from_secs(59));
    let t = e.get_template("alice", by_name("tp.sp")).unwrap();
    assert_eq!(t.status.unwrap().build_info.unwrap().current_running_build_id, second);
    clock.advance(Duration::from_secs(1));
    let t = e.get_template("alice", by_name("tp.sp")).unwrap();
    let info = t.status.unwrap().build_info.unwrap();
    assert_eq!(info.current_ready_build_id, second);
    assert!(info.current_running_build_id.is_empty());
    assert_eq!(info.builds[0].state(), BuildState::Ready);
    // Cancel with nothing running is a no-op; cancel of a running one marks it.
    let cancel = cordium::CancelBuildTemplateRequest {
        template_ref: Some(meta::ObjectReference { name: "tp.sp".into(), ..Default::default() }),
    };
    e.cancel_build_template("alice", cancel.clone()).unwrap();
    e.build_template("alice", req(vec![])).unwrap();
    let t = e.cancel_build_template("alice", cancel).unwrap();
    let info = t.status.unwrap().build_info.unwrap();
    assert!(info.builds[0].is_canceled);
    assert_eq!(info.current_ready_build_id, second, "the ready build stays in use");
    assert_eq!(code(e.build_template("alice", req(vec!["x".into()]))), Code::InvalidArgument);
    assert_eq!(code(e.build_template("alice", req(vec!["ab".into(); 11]))), Code::InvalidArgument);
}

#[tokio::test]
async fn local_cluster_implements_the_trait() {
    let c = LocalCluster::in_memory().unwrap();
    let s = c.create(Object::Space(space("ml"))).await.unwrap();
    assert_eq!(s.name(), "ml.admin");
    c.create(Object::Template(template("gpu.ml"))).await.unwrap();
    let all = c.list(Kind::Template, &Scope::All).await.unwrap();
    assert_eq!(all.len(), 2, "gpu and default");
    let in_ml = c.list(Kind::Template, &Scope::Space("ml.admin".into())).await.unwrap();
    assert_eq!(in_ml.len(), 2);
    c.create(Object::Workspace(cordium::Workspace {
        metadata: Some(meta::Metadata { display_name: "box".into(), ..Default::default() }),
        spec: Some(Default::default()),
        status: Some(cordium::workspace::Status {
            template_ref: Some(meta::ObjectReference {
                name: "gpu.ml.admin".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }))
    .await
    .unwrap();
    let ws = c.list(Kind::Workspace, &Scope::Space("ml.admin".into())).await.unwrap();
    assert_eq!(ws.len(), 1);
    let t = c.build_template(&ObjectKey::Name("gpu.ml.admin".into()), &[]).await.unwrap();
    assert_eq!(t.status.unwrap().build_info.unwrap().builds.len(), 1);
    c.delete(Kind::Space, &ObjectKey::Name("ml.admin".into())).await.unwrap();
    let err = c.get(Kind::Space, &ObjectKey::Name("ml".into())).await.unwrap_err();
    assert_eq!(err.code, crate::live::ErrorCode::NotFound);
    assert!(c.calls() >= 7);
    assert_eq!(c.identity().await.unwrap().username, "admin");
}

#[test]
fn file_store_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".cordium/local.db");
    {
        let e = Engine::open(&path, EngineOptions::default()).unwrap();
        e.create_space("alice", space("keep")).unwrap();
    }
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    assert!(e.get_space("alice", by_name("keep")).is_ok());
}

#[test]
fn secret_values_are_sealed_in_the_file_and_open_only_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".cordium/local.db");
    let uid = {
        let e = Engine::open(&path, EngineOptions::default()).unwrap();
        e.create_space("alice", space("sp")).unwrap();
        let s = e.create_secret("alice", secret("key.sp", "SENTINEL-sealed")).unwrap();
        s.metadata.unwrap().uid
    };
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default();
        assert!(!bytes.windows(15).any(|w| w == b"SENTINEL-sealed"), "plaintext in {suffix}");
    }
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    let value = Some(cordium::secret::data::Type::Value("SENTINEL-sealed".into()));
    assert_eq!(e.secret_data(&uid).unwrap().unwrap().r#type, value);
    drop(e);
    // Another key (a --secret-key-file that is not the store's): the value does not open.
    let other = dir.path().join("other.key");
    let e = Engine::open(
        &path,
        EngineOptions { secret_key_file: Some(other.clone()), ..Default::default() },
    )
    .unwrap();
    let err = e.secret_data(&uid).unwrap_err();
    assert!(err.message.contains("not the one it was sealed with"), "{}", err.message);
    assert!(other.exists(), "a missing key file is created");
}

#[test]
fn secrets_stored_in_plaintext_by_an_older_version_are_sealed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let uid = {
        let e = Engine::open(&path, EngineOptions::default()).unwrap();
        e.create_space("alice", space("sp")).unwrap();
        let s = e.create_secret("alice", secret("key.sp", "old-plain")).unwrap();
        s.metadata.unwrap().uid
    };
    // As an older version stored it: the value in the body, nothing sealed.
    let conn = store::open(&path).unwrap();
    let mut s: cordium::Secret = store::get_by_uid(&conn, &uid).unwrap().unwrap();
    s.data = Some(cordium::secret::Data {
        r#type: Some(cordium::secret::data::Type::Value("old-plain".into())),
    });
    store::replace(&conn, &s).unwrap();
    conn.execute("DELETE FROM sealed", []).unwrap();
    drop(conn);
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    let value = Some(cordium::secret::data::Type::Value("old-plain".into()));
    assert_eq!(e.secret_data(&uid).unwrap().unwrap().r#type, value);
    let conn = store::open(&path).unwrap();
    let body: cordium::Secret = store::get_by_uid(&conn, &uid).unwrap().unwrap();
    assert!(body.data.is_none(), "no longer in the body");
}

/// Group commit (`Engine::tx`): operations from many threads at once share transactions, yet
/// each is answered as if it had run alone: every success is stored once with its own
/// resourceVersion, every refusal (a taken name, a taken email) undoes only its own writes.
#[test]
fn concurrent_operations_share_transactions_and_fail_alone() {
    let e = Arc::new(engine());
    let before = e.commits();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut answers = Vec::new();
                for i in 0..40 {
                    // Every thread tries the same 40 names: one create of each wins.
                    let mut u = human(&format!("u{i}"));
                    if let Some(s) = u.spec.as_mut() {
                        s.email = format!("u{i}-{t}@example.org");
                    }
                    answers.push(e.create_core("admin", u).map(|u| engine::uid_of(&u)));
                }
                answers
            })
        })
        .collect();
    let answers: Vec<ApiResult<String>> =
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    // Counted before the reads below (a read is a transaction too).
    let commits = e.commits() - before;
    let won: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(won.len(), 40, "one create per name succeeds");
    assert!(answers
        .iter()
        .filter_map(|a| a.as_ref().err())
        .all(|err| err.code == Code::AlreadyExists && err.message.contains("already exists")));
    let users = e.list_core::<core::User>("admin", None).unwrap().items;
    for i in 0..40 {
        let named: Vec<_> = users.iter().filter(|u| name(*u) == format!("u{i}")).collect();
        assert_eq!(named.len(), 1, "u{i} stored once");
        assert!(won.contains(&&engine::uid_of(named[0])), "the stored u{i} is the one answered");
    }
    let mut versions: Vec<String> =
        users.iter().map(|u| u.metadata.as_ref().unwrap().resource_version.clone()).collect();
    let n = versions.len();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), n, "every write has its own resourceVersion");
    // 640 operations; how many transactions depends on the threads' timing, never more.
    assert!(commits <= 640, "{commits} transactions for 640 operations");
    // A refused operation in a shared transaction left nothing behind: the taken emails of
    // the losers are free.
    let mut again = human("fresh");
    again.spec.as_mut().unwrap().email = "u0-0@example.org".into();
    let taken = users.iter().any(|u| u.spec.as_ref().unwrap().email == "u0-0@example.org");
    assert_eq!(e.create_core("admin", again).is_ok(), !taken);
}

/// The in-process cluster's queue thread (`queue.rs`): calls from many tasks at once share
/// transactions, each answered only once committed and as if it had run alone (a refusal
/// undoes only its own writes); a panicking call reaches its caller and the queue goes on; the
/// last clone's drop finishes the queue, so the store holds every answered write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_calls_share_transactions_fail_alone_and_are_durable_when_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    let c = LocalCluster::open(&path).unwrap();
    let before = c.engine().commits();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        for i in 0..40 {
            let c = c.clone();
            tasks.spawn(async move {
                let mut u = human(&format!("q{i}"));
                u.spec.as_mut().unwrap().email = format!("q{i}-{t}@example.org");
                c.create(Object::User(u)).await.map(|o| o.uid().to_string())
            });
        }
    }
    let answers: Vec<Result<String, LiveError>> = tasks.join_all().await;
    let commits = c.engine().commits() - before;
    let won: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(won.len(), 40, "one create per name succeeds");
    assert!(
        answers
            .iter()
            .filter_map(|a| a.as_ref().err())
            .all(|e| e.code == crate::live::ErrorCode::AlreadyExists),
        "{answers:?}"
    );
    assert!(commits < 320, "320 calls in flight at once share transactions: {commits} commits");

    // A call that panics: its caller sees the panic; the calls after it are served.
    let c2 = c.clone();
    let panicked = tokio::spawn(async move {
        c2.blocking("Boom", |_| -> Result<(), LiveError> { panic!("a bug in a call") }).await
    })
    .await;
    assert!(panicked.is_err_and(|e| e.is_panic()));
    c.create(Object::User(human("after-panic"))).await.unwrap();

    drop(c);
    // Reopened after the drop: every answered create is in the file.
    let e = Engine::open(&path, EngineOptions::default()).unwrap();
    let users = e.list_core::<core::User>("admin", None).unwrap().items;
    for uid in won {
        assert_eq!(users.iter().filter(|u| &engine::uid_of(*u) == uid).count(), 1, "{uid}");
    }
    assert!(users.iter().any(|u| name(u) == "after-panic"));
}
