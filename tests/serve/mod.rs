//! `cordium serve` over real gRPC, driven with clients generated from the upstream definitions
//! (as a third-party tool would): naming, updates, secrets, cascades, pagination, concurrency,
//! auth, fault injection and the build flow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod core_rules;
mod estate;
mod rules;

use std::time::{Duration, Instant};

use cordium::live::wire::{cordium as c, core, meta};
use tonic::Code;

use crate::support::{CordiumClient, Serve};

use c::template::status::build_info::build::State as BuildState;

fn md(name: &str) -> Option<meta::Metadata> {
    Some(meta::Metadata { name: name.into(), ..Default::default() })
}
fn space(name: &str) -> c::Space {
    c::Space { metadata: md(name), spec: Some(Default::default()), ..Default::default() }
}
fn template(name: &str) -> c::Template {
    c::Template { metadata: md(name), spec: Some(Default::default()), ..Default::default() }
}
fn secret(name: &str, value: &str) -> c::Secret {
    c::Secret {
        metadata: md(name),
        spec: Some(Default::default()),
        data: Some(c::secret::Data { r#type: Some(c::secret::data::Type::Value(value.into())) }),
        ..Default::default()
    }
}
fn workspace(display: &str, template: Option<&str>) -> c::Workspace {
    c::Workspace {
        metadata: Some(meta::Metadata { display_name: display.into(), ..Default::default() }),
        spec: Some(Default::default()),
        status: template.map(|t| c::workspace::Status {
            template_ref: Some(meta::ObjectReference { name: t.into(), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
fn workload_user(name: &str) -> core::User {
    core::User {
        metadata: md(name),
        spec: Some(core::user::Spec {
            r#type: core::user::spec::Type::Workload as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}
fn by_name(n: &str) -> meta::GetOptions {
    meta::GetOptions { name: n.into(), ..Default::default() }
}
fn by_uid(u: &str) -> meta::GetOptions {
    meta::GetOptions { uid: u.into(), ..Default::default() }
}
fn del_uid(u: &str) -> meta::DeleteOptions {
    meta::DeleteOptions { uid: u.into(), ..Default::default() }
}
fn del_name(n: &str) -> meta::DeleteOptions {
    meta::DeleteOptions { name: n.into(), ..Default::default() }
}
fn space_ref(n: &str) -> Option<meta::ObjectReference> {
    Some(meta::ObjectReference { name: n.into(), ..Default::default() })
}
fn m<T>(o: &Option<T>) -> &T {
    o.as_ref().unwrap()
}
fn code<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    r.expect_err("expected an error").code()
}

#[tokio::test(flavor = "multi_thread")]
async fn first_line_is_the_address_and_sigterm_stops_cleanly() {
    let serve = Serve::start(&[]);
    let port = serve.first_line.strip_prefix("listening on http://127.0.0.1:").unwrap();
    assert!(port.parse::<u16>().unwrap() > 0);
    serve.cordium().await.list_space(c::ListSpaceOptions::default()).await.unwrap();
    assert!(serve.terminate(), "exit 0 on SIGTERM");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_auth_tokens_one_is_generated_for_admin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let serve = Serve::start_raw(&["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()]);
    let file = data.join("admin.token");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let token = std::fs::read_to_string(&file).unwrap();
    let mut cl = serve.cordium_with(token.trim()).await;
    let s = cl.create_space(space("proj")).await.unwrap().into_inner();
    assert_eq!(m(&s.metadata).name, "proj.admin");
    assert!(data.join("local.db").exists(), "the store is a file under --data");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_memory_writes_no_key_file_and_its_token_directory_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let serve = Serve::start_raw(&["--listen", "127.0.0.1:0", "--in-memory", "--data", d]);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("admin.token")), 0o600);
    let names: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["admin.token"], "nothing but the token touches --data");
    assert!(serve.terminate());
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_failures_and_refresh() {
    let serve = Serve::start(&["--access-token-ttl", "1s"]);
    // No token, bad token: UNAUTHENTICATED on cordium and core.
    let mut none = serve.cordium_raw(None).await;
    assert_eq!(code(none.list_space(c::ListSpaceOptions::default()).await), Code::Unauthenticated);
    let mut bad = serve.cordium_raw(Some("nope")).await;
    assert_eq!(code(bad.get_space(by_name("x")).await), Code::Unauthenticated);
    let mut core_none = serve.core_raw(None).await;
    assert_eq!(
        code(core_none.list_user(core::ListUserOptions::default()).await),
        Code::Unauthenticated
    );
    assert_eq!(serve.login("wrong").await.unwrap_err().code(), Code::Unauthenticated);

    let session = serve.login("T").await.unwrap();
    assert_eq!(session.expires_in, 1);
    assert!(session.refresh_token_expires_in > 1);
    let mut ok = serve.cordium_raw(Some(&session.access_token)).await;
    ok.list_space(c::ListSpaceOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(code(ok.list_space(c::ListSpaceOptions::default()).await), Code::Unauthenticated);

    // Refresh: the refresh token travels as metadata.
    let mut auth = serve.auth().await;
    let mut req = tonic::Request::new(Default::default());
    req.metadata_mut().insert("x-octelium-refresh-token", session.refresh_token.parse().unwrap());
    let fresh = auth.authenticate_with_refresh_token(req).await.unwrap().into_inner();
    assert_ne!(fresh.access_token, session.access_token);
    let mut again = serve.cordium_raw(Some(&fresh.access_token)).await;
    again.list_space(c::ListSpaceOptions::default()).await.unwrap();
    // A refresh token is single use; none at all is refused.
    let mut req = tonic::Request::new(Default::default());
    req.metadata_mut().insert("x-octelium-refresh-token", session.refresh_token.parse().unwrap());
    assert_eq!(code(auth.authenticate_with_refresh_token(req).await), Code::Unauthenticated);
    assert_eq!(
        code(
            auth.authenticate_with_refresh_token(
                cordium::live::wire::auth::AuthenticateWithRefreshTokenRequest {}
            )
            .await
        ),
        Code::Unauthenticated
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn space_names_expand_and_owner_decides_the_type() {
    let serve = Serve::start(&["--auth-token", "bob:B"]);
    let mut cl = serve.cordium().await;
    let s = cl.create_space(space("proj")).await.unwrap().into_inner();
    assert_eq!(m(&s.metadata).name, "proj.admin");
    assert_eq!(m(&s.status).r#type(), c::space::status::Type::User);
    let o = cl.create_space(space("ml.cordium")).await.unwrap().into_inner();
    assert_eq!(m(&o.status).r#type(), c::space::status::Type::Organization);
    assert_eq!(code(cl.create_space(space("x.bob")).await), Code::InvalidArgument);
    assert_eq!(code(cl.create_space(space("proj")).await), Code::AlreadyExists);
    for bad in ["A1", "a", "a--b", "ab-", "1ab", &"a".repeat(41)] {
        assert_eq!(code(cl.create_space(space(bad)).await), Code::InvalidArgument, "{bad}");
    }
    let mut labelled = space("lab");
    m(&labelled.metadata);
    labelled.metadata.as_mut().unwrap().labels.insert("Bad".into(), "v".into());
    assert_eq!(code(cl.create_space(labelled).await), Code::InvalidArgument);
    // Only the creator is a member.
    let mut bob = serve.cordium_with("B").await;
    assert_eq!(code(bob.get_space(by_name("proj.admin")).await), Code::PermissionDenied);
    let got = cl.get_space(by_name("proj")).await.unwrap().into_inner();
    assert_eq!(got, s);
    let listed = cl.list_space(c::ListSpaceOptions::default()).await.unwrap().into_inner();
    assert_eq!(listed.items.len(), 2);
    assert!(bob
        .list_space(c::ListSpaceOptions::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn get_and_delete_take_uid_or_name_never_both() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    let s = cl.create_space(space("sp")).await.unwrap().into_inner();
    let uid = m(&s.metadata).uid.clone();
    assert_eq!(cl.get_space(by_uid(&uid)).await.unwrap().into_inner(), s);
    let both = meta::GetOptions { uid: uid.clone(), name: "sp".into() };
    assert_eq!(code(cl.get_space(both).await), Code::InvalidArgument);
    assert_eq!(code(cl.get_space(meta::GetOptions::default()).await), Code::InvalidArgument);
    assert_eq!(code(cl.get_space(by_uid("not-a-uuid")).await), Code::InvalidArgument);
    assert_eq!(code(cl.get_space(by_name("missing")).await), Code::NotFound);
    // DeleteSpace needs the uid.
    assert_eq!(code(cl.delete_space(del_name("sp.admin")).await), Code::InvalidArgument);
    cl.delete_space(del_uid(&uid)).await.unwrap();
    assert_eq!(code(cl.get_space(by_uid(&uid)).await), Code::NotFound);
    assert_eq!(code(cl.delete_space(del_uid(&uid)).await), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_and_secrets_are_space_children() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    // `t` alone lands in the caller's default Space, which must exist first.
    assert_eq!(code(cl.create_template(template("tt")).await), Code::NotFound);
    cl.create_space(space("default")).await.unwrap();
    let names =
        [("tt", "tt.default.admin"), ("t2.sp", "t2.sp.admin"), ("t3.sp.admin", "t3.sp.admin")];
    for (sent, stored) in names {
        let t = cl.create_template(template(sent)).await.unwrap().into_inner();
        assert_eq!(m(&t.metadata).name, stored);
        assert_eq!(m(&m(&t.status).space_ref).name, stored.split_once('.').unwrap().1);
    }
    // Upstream answers a taken Template or Secret name with INVALID_ARGUMENT.
    assert_eq!(code(cl.create_template(template("t2.sp")).await), Code::InvalidArgument);
    let s = cl.create_secret(secret("key.sp", "hunter2")).await.unwrap().into_inner();
    assert_eq!(m(&s.metadata).name, "key.sp.admin");
    assert!(s.data.is_none(), "secret data is never returned");
    assert!(cl.get_secret(by_name("key.sp")).await.unwrap().into_inner().data.is_none());
    let list = cl
        .list_secret(c::ListSecretOptions { space_ref: space_ref("sp"), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.items.len(), 1);
    assert!(list.items.iter().all(|s| s.data.is_none()));
    assert_eq!(code(cl.create_secret(secret("key.sp", "x")).await), Code::InvalidArgument);
    assert_eq!(code(cl.list_secret(c::ListSecretOptions::default()).await), Code::InvalidArgument);
    let tl = cl
        .list_template(c::ListTemplateOptions { space_ref: space_ref("sp"), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut names: Vec<_> = tl.items.iter().map(|t| m(&t.metadata).name.clone()).collect();
    names.sort();
    assert_eq!(names, ["default.sp.admin", "t2.sp.admin", "t3.sp.admin"]);
    cl.delete_secret(del_name("key.sp")).await.unwrap();
    assert_eq!(code(cl.get_secret(by_name("key.sp")).await), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_is_wholesale_and_bumps_resource_version() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    let mut t = template("tp.sp");
    let meta0 = t.metadata.as_mut().unwrap();
    meta0.labels.insert("cordium-stack".into(), "platform".into());
    meta0.description = "old".into();
    t.spec
        .as_mut()
        .unwrap()
        .vars
        .push(c::workspace::spec::Var { name: "A".into(), value: "1".into() });
    let created = cl.create_template(t).await.unwrap().into_inner();
    let rv0 = m(&created.metadata).resource_version.clone();
    let mut upd = template("tp.sp");
    upd.status = Some(Default::default());
    upd.spec.as_mut().unwrap().runtime =
        Some(c::workspace::spec::Runtime { cmd: "sleep".into(), ..Default::default() });
    let updated = cl.update_template(upd.clone()).await.unwrap().into_inner();
    let um = m(&updated.metadata);
    assert!(um.labels.is_empty() && um.description.is_empty(), "metadata replaced wholesale");
    assert!(m(&updated.spec).vars.is_empty(), "spec replaced wholesale");
    assert_eq!(m(&m(&updated.spec).runtime).cmd, "sleep");
    assert_ne!(um.resource_version, rv0);
    assert_eq!(um.last_resource_version, rv0);
    assert_eq!(um.uid, m(&created.metadata).uid);
    let got = cl.get_template(by_name("tp.sp")).await.unwrap().into_inner();
    assert_eq!(m(&got.metadata).resource_version, um.resource_version);
    upd.status = None;
    assert_eq!(code(cl.update_template(upd).await), Code::InvalidArgument, "status required");
    // Space update: displayName and spec replaced.
    let mut s = space("sp");
    s.metadata.as_mut().unwrap().display_name = "Space".into();
    let s = cl.update_space(s).await.unwrap().into_inner();
    assert_eq!(m(&s.metadata).display_name, "Space");
}

#[tokio::test(flavor = "multi_thread")]
async fn workspaces_get_random_names_and_keep_display_name() {
    let serve = Serve::start(&["--auth-token", "bob:B"]);
    let mut cl = serve.cordium().await;
    let mut req = workspace("agent-box", None);
    req.metadata.as_mut().unwrap().labels.insert("team".into(), "ml".into());
    let mut names = std::collections::HashSet::new();
    let mut first = None;
    for _ in 0..20 {
        let ws = cl.create_workspace(req.clone()).await.unwrap().into_inner();
        let wm = m(&ws.metadata);
        assert!((3..=6).contains(&wm.name.len()), "{}", wm.name);
        assert!(wm.name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()));
        assert_eq!(wm.display_name, "agent-box");
        assert!(wm.labels.is_empty(), "only displayName is kept");
        assert!(names.insert(wm.name.clone()), "names are unique");
        first.get_or_insert(ws);
    }
    let ws = first.unwrap();
    let st = m(&ws.status);
    assert_eq!(st.state(), c::workspace::status::State::Stopped);
    assert_eq!(m(&st.template_ref).name, "default.default.admin");
    assert_eq!(m(&st.space_ref).name, "default.admin");
    cl.get_space(by_name("default")).await.expect("default Space auto-created");
    // Template refs are not expanded.
    cl.create_space(space("ml")).await.unwrap();
    cl.create_template(template("gpu.ml")).await.unwrap();
    assert_eq!(
        code(cl.create_workspace(workspace("x", Some("gpu.ml"))).await),
        Code::InvalidArgument
    );
    let in_ml =
        cl.create_workspace(workspace("x", Some("gpu.ml.admin"))).await.unwrap().into_inner();
    let ml_uid = m(&m(&in_ml.status).space_ref).uid.clone();
    let by_space = |r: meta::ObjectReference| c::ListWorkspaceOptions {
        common: None,
        filter: Some(c::list_workspace_options::Filter::SpaceRef(r)),
    };
    let uid_ref = meta::ObjectReference { uid: ml_uid, ..Default::default() };
    let l = cl.list_workspace(by_space(uid_ref)).await.unwrap().into_inner();
    assert_eq!(l.items.len(), 1);
    // Filtering by Space name resolves the name (server-rules.md: ListWorkspace `spaceRef`).
    let name_ref = meta::ObjectReference { name: "ml.admin".into(), ..Default::default() };
    assert_eq!(cl.list_workspace(by_space(name_ref)).await.unwrap().into_inner().items.len(), 1);
    // Update by uid: displayName + spec.
    let mut upd = ws.clone();
    upd.metadata.as_mut().unwrap().display_name = "renamed".into();
    let out = cl.update_workspace(upd).await.unwrap().into_inner();
    assert_eq!(m(&out.metadata).display_name, "renamed");
    // Other users can neither see nor delete it.
    let mut bob = serve.cordium_with("B").await;
    let uid = m(&ws.metadata).uid.clone();
    assert_eq!(code(bob.delete_workspace(del_uid(&uid)).await), Code::PermissionDenied);
    assert_eq!(code(bob.get_workspace(by_uid(&uid)).await), Code::PermissionDenied);
    assert!(bob
        .list_workspace(c::ListWorkspaceOptions::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
    cl.delete_workspace(del_uid(&uid)).await.unwrap();
    assert_eq!(code(cl.get_workspace(by_uid(&uid)).await), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn space_delete_cascades_and_default_template_stays() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    let s = cl.create_space(space("sp")).await.unwrap().into_inner();
    let d = cl.get_template(by_name("default.sp")).await.unwrap().into_inner();
    assert_eq!(m(&d.metadata).name, "default.sp.admin");
    assert_eq!(code(cl.delete_template(del_name("default.sp")).await), Code::InvalidArgument);
    cl.create_template(template("tp.sp")).await.unwrap();
    cl.create_secret(secret("key.sp", "v")).await.unwrap();
    let ws = cl.create_workspace(workspace("w", Some("tp.sp.admin"))).await.unwrap().into_inner();
    cl.delete_space(del_uid(&m(&s.metadata).uid)).await.unwrap();
    for t in ["tp.sp", "default.sp"] {
        assert_eq!(code(cl.get_template(by_name(t)).await), Code::NotFound, "{t}");
    }
    assert_eq!(code(cl.get_secret(by_name("key.sp")).await), Code::NotFound);
    // As upstream (mains/space.go @ 54d80f2b), the Space's Workspaces go with it.
    assert_eq!(code(cl.get_workspace(by_uid(&m(&ws.metadata).uid)).await), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn pagination_over_2500_users() {
    let serve = Serve::start(&[]);
    let mut core_cl = serve.core().await;
    let mut tasks = Vec::new();
    for chunk in 0..10 {
        let mut cl = core_cl.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..250 {
                cl.create_user(workload_user(&format!("user-{chunk}-{i}"))).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = 2503; // and admin, and the genesis Users root and octelium
    let first = core_cl.list_user(core::ListUserOptions::default()).await.unwrap().into_inner();
    let lm = m(&first.list_response_meta);
    assert_eq!(
        (first.items.len(), lm.page, lm.items_per_page, lm.total_count, lm.has_more),
        (200, 0, 200, total, true)
    );
    let mut seen = std::collections::HashSet::new();
    let mut page = 0;
    loop {
        let opts = core::ListUserOptions {
            common: Some(meta::CommonListOptions { page, items_per_page: 1000, order_by: None }),
        };
        let l = core_cl.list_user(opts).await.unwrap().into_inner();
        let lm = m(&l.list_response_meta);
        assert_eq!(lm.total_count, total);
        seen.extend(l.items.iter().map(|u| m(&u.metadata).name.clone()));
        if !lm.has_more {
            break;
        }
        page += 1;
    }
    assert_eq!((page, seen.len()), (2, 2503));
    let capped = core::ListUserOptions {
        common: Some(meta::CommonListOptions { page: 0, items_per_page: 5000, order_by: None }),
    };
    let l = core_cl.list_user(capped).await.unwrap().into_inner();
    assert_eq!(m(&l.list_response_meta).items_per_page, 1000);
    let past = core::ListUserOptions {
        common: Some(meta::CommonListOptions { page: 3, items_per_page: 1000, order_by: None }),
    };
    assert_eq!(code(core_cl.list_user(past).await), Code::NotFound, "a page past the end");
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_concurrent_creates_are_all_kept() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let mut cl = cl.clone();
            tokio::spawn(async move { cl.create_template(template(&format!("t{i}.sp"))).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let l = cl
        .list_template(c::ListTemplateOptions {
            space_ref: space_ref("sp"),
            common: Some(meta::CommonListOptions { page: 0, items_per_page: 1000, order_by: None }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(l.items.len(), 101, "100 and the default Template");
    let uids: std::collections::HashSet<_> =
        l.items.iter().map(|t| m(&t.metadata).uid.clone()).collect();
    assert_eq!(uids.len(), 101);
}

/// Retries a call while it fails with UNAVAILABLE (injected faults).
async fn until_available<T, F, Fut>(mut f: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    loop {
        match f().await {
            Err(s) if s.code() == Code::Unavailable => continue,
            r => return r.map(|r| r.into_inner()),
        }
    }
}

/// Creates Spaces s0..s{n} under faults; returns which creates answered OK, and which exist.
async fn create_under_faults(cl: &mut CordiumClient, n: usize) -> (Vec<bool>, Vec<bool>) {
    let mut answered_ok = Vec::new();
    for i in 0..n {
        let r = cl.create_space(space(&format!("s{i}"))).await;
        if let Err(e) = &r {
            assert_eq!(e.code(), Code::Unavailable, "only injected faults");
        }
        answered_ok.push(r.is_ok());
    }
    let mut exists = Vec::new();
    for i in 0..n {
        let name = format!("s{i}");
        let r = until_available(|| {
            let mut cl = cl.clone();
            let name = name.clone();
            async move { cl.get_space(by_name(&name)).await }
        })
        .await;
        exists.push(r.is_ok());
    }
    (answered_ok, exists)
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_before_write_leave_nothing_behind() {
    let serve = Serve::start(&["--error-rate", "0.5", "--error-mode", "before", "--seed", "7"]);
    let mut cl = serve.cordium().await;
    let (ok, exists) = create_under_faults(&mut cl, 30).await;
    assert!(ok.iter().any(|x| !x), "some calls failed");
    assert_eq!(ok, exists, "a refused create wrote nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_after_write_commit_anyway() {
    let serve = Serve::start(&["--error-rate", "0.5", "--error-mode", "after", "--seed", "7"]);
    let mut cl = serve.cordium().await;
    let (ok, exists) = create_under_faults(&mut cl, 30).await;
    assert!(ok.iter().any(|x| !x), "some calls failed");
    assert!(exists.iter().all(|x| *x), "every create was committed despite UNAVAILABLE");
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_are_reproducible_with_a_seed_and_spare_auth() {
    async fn pattern(seed: &str) -> Vec<bool> {
        let serve = Serve::start(&["--error-rate", "0.5", "--error-mode", "both", "--seed", seed]);
        let mut cl = serve.cordium().await; // auth is never faulted
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(cl.list_space(c::ListSpaceOptions::default()).await.is_ok());
        }
        out
    }
    let a = pattern("42").await;
    assert_eq!(a, pattern("42").await);
    assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_is_injected() {
    let serve = Serve::start(&["--latency", "300ms"]);
    let mut cl = serve.cordium().await;
    let t = Instant::now();
    cl.list_space(c::ListSpaceOptions::default()).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
}

fn build_ref(name: &str) -> Option<meta::ObjectReference> {
    Some(meta::ObjectReference { name: name.into(), ..Default::default() })
}

async fn newest_build(
    cl: &mut CordiumClient,
    id: &str,
) -> (c::template::status::build_info::Build, c::template::status::BuildInfo) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = cl.get_template(by_name("tp.sp")).await.unwrap().into_inner();
        let info = m(&t.status).build_info.clone().unwrap();
        let b = info.builds.iter().find(|b| b.id == id).unwrap().clone();
        if b.state() != BuildState::Running || Instant::now() > deadline {
            return (b, info);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn build_flow_ready_cancel_and_superseded() {
    let serve = Serve::start(&["--build-duration", "600ms"]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    cl.create_template(template("tp.sp")).await.unwrap();
    let req = |tags: &[&str]| c::BuildTemplateRequest {
        template_ref: build_ref("tp.sp.admin"),
        tags: tags.iter().map(|s| s.to_string()).collect(),
    };
    let t = cl.build_template(req(&[])).await.unwrap().into_inner();
    let info = m(&t.status).build_info.clone().unwrap();
    let b = &info.builds[0];
    assert_eq!(
        (b.id.len(), b.tags.clone(), b.state()),
        (6, vec!["latest".to_string()], BuildState::Running)
    );
    assert_eq!(info.current_running_build_id, b.id);
    let (done, info) = newest_build(&mut cl, &b.id).await;
    assert_eq!(done.state(), BuildState::Ready);
    assert!(done.done_at.is_some());
    assert_eq!(info.current_ready_build_id, done.id);
    assert!(info.current_running_build_id.is_empty());

    // Superseded: a second build cancels the running first.
    let first = cl.build_template(req(&["x"])).await;
    assert_eq!(code(first), Code::InvalidArgument, "tags are 2-16 chars");
    let one = cl.build_template(req(&["hash-one"])).await.unwrap().into_inner();
    let two = cl.build_template(req(&["hash-two"])).await.unwrap().into_inner();
    let one_id = m(&one.status).build_info.clone().unwrap().builds[0].id.clone();
    let info = m(&two.status).build_info.clone().unwrap();
    assert_eq!(info.builds[1].id, one_id);
    assert!(info.builds[1].is_canceled);
    assert_eq!(info.builds[1].state(), BuildState::Failed);
    // Cancel the second.
    let cancel = c::CancelBuildTemplateRequest { template_ref: build_ref("tp.sp.admin") };
    let t = cl.cancel_build_template(cancel.clone()).await.unwrap().into_inner();
    let info = m(&t.status).build_info.clone().unwrap();
    assert!(info.builds[0].is_canceled && info.current_running_build_id.is_empty());
    assert_eq!(info.current_ready_build_id, done.id, "the last ready build stays in use");
    assert_eq!(info.builds[0].tags, ["hash-two"]);
    // Cancel with nothing running: unchanged.
    let again = cl.cancel_build_template(cancel).await.unwrap().into_inner();
    assert_eq!(m(&again.metadata).resource_version, m(&t.metadata).resource_version);
}

#[tokio::test(flavor = "multi_thread")]
async fn builds_fail_at_the_configured_rate() {
    let serve =
        Serve::start(&["--build-duration", "200ms", "--build-fail-rate", "1", "--seed", "1"]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    cl.create_template(template("tp.sp")).await.unwrap();
    let req = c::BuildTemplateRequest { template_ref: build_ref("tp.sp.admin"), tags: vec![] };
    let t = cl.build_template(req).await.unwrap().into_inner();
    let id = m(&t.status).build_info.clone().unwrap().builds[0].id.clone();
    let (b, info) = newest_build(&mut cl, &id).await;
    assert_eq!(b.state(), BuildState::Failed);
    assert!(!b.is_canceled);
    assert!(b.failure.is_some());
    assert!(info.current_ready_build_id.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn core_users_groups_policies() {
    let serve = Serve::start(&[]);
    let mut cl = serve.core().await;
    let user = workload_user;
    let u = cl.create_user(user("agent-1")).await.unwrap().into_inner();
    assert_eq!(u.api_version, "core/v1");
    assert_eq!(code(cl.create_user(user("agent-1")).await), Code::AlreadyExists);
    assert_eq!(code(cl.create_user(user("Agent")).await), Code::InvalidArgument);
    let mut upd = user("agent-1");
    upd.spec.as_mut().unwrap().groups = vec!["dev".into()];
    // A User's Groups must exist (octelium admin/user.go, checkAndSetUser).
    assert_eq!(code(cl.update_user(upd.clone()).await), Code::InvalidArgument);
    let dev =
        core::Group { metadata: md("dev"), spec: Some(Default::default()), ..Default::default() };
    cl.create_group(dev).await.unwrap();
    let out = cl.update_user(upd).await.unwrap().into_inner();
    assert_eq!(m(&out.spec).groups, ["dev"]);
    cl.delete_user(del_name("agent-1")).await.unwrap();
    assert_eq!(code(cl.get_user(by_name("agent-1")).await), Code::NotFound);
    let g =
        core::Group { metadata: md("devs"), spec: Some(Default::default()), ..Default::default() };
    cl.create_group(g).await.unwrap();
    assert_eq!(
        cl.list_group(core::ListGroupOptions::default()).await.unwrap().into_inner().items.len(),
        2
    );
    let p = core::Policy {
        metadata: md("allow-ml"),
        spec: Some(Default::default()),
        ..Default::default()
    };
    cl.create_policy(p).await.unwrap();
    cl.get_policy(by_name("allow-ml")).await.unwrap();
    cl.delete_policy(del_name("allow-ml")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        // No openssl here: nothing to test with.
        return;
    }
    let serve =
        Serve::start(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    let pem = std::fs::read(&cert).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(pem))
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(serve.url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut auth = cordium::live::wire::auth::main_service_client::MainServiceClient::new(channel);
    let req = cordium::live::wire::auth::AuthenticateWithAuthenticationTokenRequest {
        authentication_token: "T".into(),
        ..Default::default()
    };
    auth.authenticate_with_authentication_token(req).await.unwrap();
}
