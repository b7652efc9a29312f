//! Users, roles, sessions and errors through the real binary against `cordium serve`: token
//! users with roles and types, the core API gate, whoami from user.v1 GetStatus, the session cap
//! and the session cache (40 plan + apply pairs on one HUMAN token), login/logout, `--logout`,
//! PERMISSION_DENIED read as a sentence about permission, and reads retried through injected
//! OUT_OF_RANGE and INTERNAL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use cordium::live::auth::Token;
use cordium::live::cache::{Entry, Slot};
use cordium::live::wire::{auth, core, user};
use tonic::Code;

use crate::support::{Auth, Serve};

/// `cordium ARGS` with this token, this cache directory (`None`: no cache at all) and nothing
/// inherited that could choose a target, a username or a cache.
fn run(token: &str, cache: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cordium"));
    c.args(args)
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("OCTELIUM_DOMAIN")
        .env_remove("OCTELIUM_ACCESS_TOKEN")
        .env_remove("CORDIUM_USERNAME")
        .env_remove("CORDIUM_LOGOUT")
        .env_remove("CI")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .env_remove("CORDIUM_CACHE_DIR")
        .env("OCTELIUM_AUTH_TOKEN", token);
    if let Some(dir) = cache {
        c.env("CORDIUM_CACHE_DIR", dir);
    }
    c.output().expect("cordium runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A stack of one Space (and `extra`).
fn stack(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cordium.hcl"), "stack \"auth\" {}\n").unwrap();
    let main = format!("space \"ml\" {{\n  display_name = \"ML\"\n}}\n{extra}");
    std::fs::write(dir.path().join("main.hcl"), main).unwrap();
    dir
}

fn path(d: &tempfile::TempDir) -> &str {
    d.path().to_str().unwrap()
}

fn login_req(token: &str) -> auth::AuthenticateWithAuthenticationTokenRequest {
    auth::AuthenticateWithAuthenticationTokenRequest {
        authentication_token: token.into(),
        ..Default::default()
    }
}

/// How many more Sessions `token` may open before the cap refuses one (opening them all).
async fn sessions_left(serve: &Serve, token: &str, cap: usize) -> usize {
    let mut client = serve.auth().await;
    for i in 0..=cap {
        match client.authenticate_with_authentication_token(login_req(token)).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
                return i;
            }
        }
    }
    panic!("more than {cap} sessions were opened");
}

fn cached(dir: &Path, serve: &Serve, token: &str) -> (Slot, Option<Entry>) {
    let slot = Slot::new(dir, &serve.url, &Token::new(token));
    let entry = slot.load();
    (slot, entry)
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_plan_and_apply_pairs_on_one_human_token_open_one_session() {
    let serve = Serve::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("");
    let ep = serve.url.clone();
    for i in 0..40 {
        let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &ep]);
        assert!(plan.status.success(), "plan {i}: {}", text(&plan));
        let apply = run(
            "T",
            Some(cache.path()),
            &["apply", path(&dir), "--endpoint", &ep, "--auto-approve"],
        );
        assert!(apply.status.success(), "apply {i}: {}", text(&apply));
    }
    // The 80 runs used one Session between them: 15 of the 16 are left.
    assert_eq!(sessions_left(&serve, "T", 16).await, 15);
    // Sessions went to the cache directory, nothing into the config directory.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(files, ["cordium.hcl", "main.hcl"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_cache_the_seventeenth_run_is_refused_as_upstream_does() {
    let serve = Serve::start(&["--workload-token", "ci:W"]);
    let dir = stack("");
    let ep = serve.url.clone();
    for i in 0..16 {
        let plan = run("T", None, &["plan", path(&dir), "--endpoint", &ep]);
        assert!(plan.status.success(), "plan {i}: {}", text(&plan));
    }
    let refused = run("T", None, &["plan", path(&dir), "--endpoint", &ep]);
    assert!(!refused.status.success());
    let out = text(&refused);
    assert!(out.contains("refused to open a new session"), "{out}");
    assert!(out.contains("16 for a HUMAN user"), "{out}");
    assert!(!out.contains("refused the authentication token"), "{out}");
    // The exchange itself: PERMISSION_DENIED with an empty message; a WORKLOAD user has 128.
    let e = serve.login("T").await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::PermissionDenied, ""));
    assert_eq!(sessions_left(&serve, "W", 128).await, 128);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_and_frees_its_place() {
    let serve = Serve::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let ep = serve.url.clone();
    let first = run("T", Some(cache.path()), &["login", "--endpoint", &ep]);
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("as admin (HUMAN user), new session, valid until"), "{out}");
    let again = run("T", Some(cache.path()), &["login", "--endpoint", &ep]);
    assert!(text(&again).contains("reusing the cached session"), "{}", text(&again));

    let (slot, entry) = cached(cache.path(), &serve, "T");
    let entry = entry.expect("the session is cached");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(slot.path()), 0o600);
        assert_eq!(mode(slot.path().parent().unwrap()), 0o700);
    }
    let file = std::fs::read_to_string(slot.path()).unwrap();
    assert!(!file.contains("\"T\""), "the authentication token is not stored");
    // A second token on the same cluster gets its own entry.
    assert_ne!(slot, Slot::new(cache.path(), &ep, &Token::new("other")));

    let out = run("T", Some(cache.path()), &["logout", "--endpoint", &ep]);
    assert!(text(&out).contains("Logged out"), "{}", text(&out));
    assert!(!slot.path().exists(), "the cache entry is removed");
    let mut gone = serve.cordium_raw(Some(&entry.access_token)).await;
    let e = gone
        .list_space(cordium::live::wire::cordium::ListSpaceOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let out = run("T", Some(cache.path()), &["logout", "--endpoint", &ep]);
    assert!(text(&out).contains("No session to end"), "{}", text(&out));
    // Logged out, the one Session is free again: all 16 are left.
    assert_eq!(sessions_left(&serve, "T", 16).await, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_after_a_command_by_flag_or_environment() {
    let serve = Serve::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("");
    let ep = serve.url.clone();
    let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &ep, "--logout"]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert_eq!(cached(cache.path(), &serve, "T").1, None);
    let mut c = Command::new(env!("CARGO_BIN_EXE_cordium"));
    let apply = c
        .args(["apply", path(&dir), "--endpoint", &ep, "--auto-approve"])
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("CORDIUM_USERNAME")
        .env_remove("CI")
        .env("OCTELIUM_AUTH_TOKEN", "T")
        .env("CORDIUM_CACHE_DIR", cache.path())
        .env("CORDIUM_LOGOUT", "true")
        .output()
        .unwrap();
    assert!(apply.status.success(), "{}", text(&apply));
    assert_eq!(cached(cache.path(), &serve, "T").1, None);
    // Both runs ended their Session.
    assert_eq!(sessions_left(&serve, "T", 16).await, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_cached_session_falls_back_to_one_new_exchange() {
    let serve = Serve::start(&["--access-token-ttl", "2s"]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("");
    let ep = serve.url.clone();
    // A cached session the server never issued (e.g. a restarted server).
    let (slot, _) = cached(cache.path(), &serve, "T");
    let far = 4_000_000_000;
    let bogus = Entry {
        endpoint: ep.clone(),
        access_token: "not-a-token".into(),
        refresh_token: "not-a-refresh-token".into(),
        expires_in: 3600,
        access_expires_at: far,
        refresh_expires_at: far,
    };
    slot.store(&bogus).unwrap();
    let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &ep]);
    assert!(plan.status.success(), "{}", text(&plan));
    let fresh = slot.load().expect("the new session is cached");
    assert_ne!(fresh.access_token, bogus.access_token);
    // Past the access token's lifetime the refresh token renews the same Session.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &ep]);
    assert!(plan.status.success(), "{}", text(&plan));
    let renewed = slot.load().unwrap();
    assert_ne!(renewed.refresh_token, fresh.refresh_token, "renewed with the refresh token");
    assert_eq!(sessions_left(&serve, "T", 16).await, 15, "still one Session");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_core_api_is_for_admins_and_get_status_for_everyone() {
    let serve = Serve::start(&[
        "--auth-token",
        "bob:B:user",
        "--auth-token",
        "eve:E:user",
        "--grant-api-access",
        "eve",
    ]);
    let bob = serve.login("B").await.unwrap();
    let mut core = serve.core_raw(Some(&bob.access_token)).await;
    let e = core.list_user(core::ListUserOptions::default()).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::PermissionDenied, "Octelium: Unauthorized"));
    let e = core.create_group(core::Group::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let admin = serve.login("T").await.unwrap();
    let mut admin_core = serve.core_raw(Some(&admin.access_token)).await;
    let users = admin_core.list_user(core::ListUserOptions::default()).await.unwrap();
    let names: Vec<String> = users
        .into_inner()
        .items
        .iter()
        .map(|u| u.metadata.as_ref().unwrap().name.clone())
        .collect();
    assert!(names.contains(&"bob".to_string()), "{names:?}");
    let eve = serve.login("E").await.unwrap();
    let mut eve_core = serve.core_raw(Some(&eve.access_token)).await;
    assert!(eve_core.list_user(core::ListUserOptions::default()).await.is_ok(), "granted");

    let channel = serve.channel().await;
    let auth = Auth(Some(bob.access_token.parse().unwrap()));
    let mut users = user::main_service_client::MainServiceClient::with_interceptor(channel, auth);
    let status = users.get_status(user::GetStatusRequest {}).await.unwrap().into_inner();
    let u = status.user.unwrap();
    assert_eq!(u.metadata.unwrap().name, "bob");
    assert_eq!(u.spec.unwrap().r#type, user::get_status_response::user::spec::Type::Human as i32);
    let mut anonymous = user::main_service_client::MainServiceClient::new(serve.channel().await);
    let e = anonymous.get_status(user::GetStatusRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread")]
async fn provisioned_users_get_their_type() {
    let serve = Serve::start(&["--workload-token", "ci:W:user", "--auth-token", "bob:B:user"]);
    let mut core = serve.core().await;
    let get =
        |n: &str| cordium::live::wire::meta::GetOptions { name: n.into(), ..Default::default() };
    let ty = |u: core::User| u.spec.unwrap().r#type;
    let ci = core.get_user(get("ci")).await.unwrap().into_inner();
    assert_eq!(ty(ci), core::user::spec::Type::Workload as i32);
    let bob = core.get_user(get("bob")).await.unwrap().into_inner();
    assert_eq!(ty(bob), core::user::spec::Type::Human as i32);
    // One User, one type.
    let both = Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["serve", "--in-memory", "--auth-token", "xy:A", "--workload-token", "xy:B"])
        .output()
        .unwrap();
    assert!(!both.status.success());
    assert!(text(&both).contains("a User has one type"), "{}", text(&both));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_user_plans_without_the_core_api_and_learns_its_name_from_get_status() {
    let serve = Serve::start(&["--auth-token", "bob:B:user"]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("");
    let ep = serve.url.clone();
    // Any core call would be refused for bob, and fail the plan.
    for extra in [&[][..], &["--prune"][..]] {
        let mut args = vec!["plan", path(&dir), "--endpoint", &ep];
        args.extend_from_slice(extra);
        let plan = run("B", Some(cache.path()), &args);
        assert!(plan.status.success(), "{extra:?}: {}", text(&plan));
        assert!(text(&plan).contains(&format!("Target: {ep} as bob")), "{}", text(&plan));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_with_users_run_by_an_ordinary_user_fails_before_any_write() {
    let serve = Serve::start(&["--auth-token", "bob:B:user"]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("user \"agent\" {\n  type = \"WORKLOAD\"\n}\n");
    let ep = serve.url.clone();
    let plan = run("B", Some(cache.path()), &["plan", path(&dir), "--endpoint", &ep]);
    assert!(!plan.status.success());
    let out = text(&plan);
    assert!(out.contains("this stack declares 1 User(s) (user.agent)"), "{out}");
    assert!(out.contains("only cluster admins"), "{out}");
    assert!(!out.contains("authentication token"), "{out}");
    let apply =
        run("B", Some(cache.path()), &["apply", path(&dir), "--endpoint", &ep, "--auto-approve"]);
    assert!(!apply.status.success());
    let out = text(&apply);
    assert!(
        out.contains("user `bob` is not allowed to") || out.contains("declares 1 User"),
        "{out}"
    );
    assert!(!out.contains("authentication token"), "{out}");
    let spaces = serve
        .cordium()
        .await
        .list_space(cordium::live::wire::cordium::ListSpaceOptions::default())
        .await
        .unwrap();
    assert!(spaces.into_inner().items.is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread")]
async fn plans_read_through_injected_out_of_range_and_internal() {
    let dir = stack("");
    for code in ["out-of-range", "internal", "mixed"] {
        let serve = Serve::start(&["--error-rate", "0.3", "--error-code", code, "--seed", "11"]);
        let cache = tempfile::tempdir().unwrap();
        let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &serve.url]);
        assert!(plan.status.success(), "{code}: {}", text(&plan));
    }
    // The faults are real: at a rate of 1 the retries give up and say what the server said.
    let serve = Serve::start(&["--error-rate", "1", "--error-code", "internal"]);
    let cache = tempfile::tempdir().unwrap();
    let plan = run("T", Some(cache.path()), &["plan", path(&dir), "--endpoint", &serve.url]);
    assert!(!plan.status.success());
    assert!(text(&plan).contains("injected fault: internal error"), "{}", text(&plan));
}

#[test]
fn login_needs_a_remote_cluster_and_an_authentication_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = run("T", Some(dir.path()), &["login", "--local", db.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("embedded local cluster, which has no sessions"), "{}", text(&out));
    let out = run("", Some(dir.path()), &["logout", "--endpoint", "http://127.0.0.1:1"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("set OCTELIUM_AUTH_TOKEN"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_runs_sharing_a_cache_open_one_session() {
    let serve = Serve::start(&[]);
    let cache = tempfile::tempdir().unwrap();
    let dir = stack("");
    let children: Vec<_> = (0..20)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_cordium"))
                .args(["plan", path(&dir), "--endpoint", &serve.url])
                .env_remove("CORDIUM_ENDPOINT")
                .env_remove("CORDIUM_USERNAME")
                .env_remove("CORDIUM_LOGOUT")
                .env_remove("CI")
                .env("OCTELIUM_AUTH_TOKEN", "T")
                .env("CORDIUM_CACHE_DIR", cache.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    // Twenty runs started at once, on an empty cache, and one Session was opened.
    assert_eq!(sessions_left(&serve, "T", 16).await, 15);
}

/// One stack, an organisation Space, two members (the docs' "One plan for one config").
const TEAM: &str = r#"
space "team" {
  organization = true
}
membership "bob" {
  space = space.team
  role  = "OWNER"
}
template "py" {
  space = space.team
}
workspace "box" {
  space    = space.team
  template = template.team.py
}
"#;

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// `(address, action)` of every change, and the Workspace's stored name.
fn changes(plan: &serde_json::Value) -> (Vec<(String, String)>, Option<String>) {
    let list = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    let pairs = list
        .iter()
        .map(|c| (c["address"].as_str().unwrap().to_string(), c["action"].to_string()))
        .collect();
    let ws = list
        .iter()
        .find(|c| c["address"] == "workspace.team.box")
        .and_then(|c| c["live_name"].as_str().map(String::from));
    (pairs, ws)
}

/// The `unseen-workspaces` warnings' messages.
fn unseen(plan: &serde_json::Value) -> Vec<String> {
    let list = plan["warnings"].as_array().cloned().unwrap_or_default();
    list.iter()
        .filter(|w| w["code"] == "unseen-workspaces")
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect()
}

/// `cordium serve` with users alice (admin, token A) and bob (user, token B), and a config dir
/// holding the stack file of stack `team`.
fn alice_and_bob() -> (Serve, tempfile::TempDir) {
    let serve = Serve::start_raw(&[
        "--listen",
        "127.0.0.1:0",
        "--in-memory",
        "--auth-token",
        "alice:A",
        "--auth-token",
        "bob:B:user",
    ]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cordium.hcl"), "stack \"team\" {}\n").unwrap();
    (serve, dir)
}

// Two users, members of one organisation Space, plan the same config: the Space, Template and
// Memberships are the same plan for both (the creator's OWNER Membership is nobody's to plan),
// each sees only their own Workspace, and each plan says so: whose Workspaces it shows, and how
// many Workspaces of the stack the Space's record lists that this user cannot see.
#[tokio::test(flavor = "multi_thread")]
async fn two_members_plan_one_config_and_each_plan_says_whose_workspaces_it_shows() {
    let (serve, dir) = alice_and_bob();
    std::fs::write(dir.path().join("main.hcl"), TEAM).unwrap();
    let d = path(&dir);
    let url = serve.url.as_str();
    let plan = |token: &str, output: &str| {
        run(token, None, &["plan", d, "--endpoint", url, "--output", output])
    };
    let applied = run("A", None, &["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    // Before bob applies: alice's Workspace is not his; the record says one is there.
    let before = json(&plan("B", "json"));
    assert_eq!(before["target"]["username"], "bob");
    let (pairs, _) = changes(&before);
    let creates: Vec<&str> =
        pairs.iter().filter(|(_, a)| a == "\"create\"").map(|(n, _)| n.as_str()).collect();
    assert_eq!(creates, ["workspace.team.box"], "{before}");
    assert!(!pairs.iter().any(|(n, _)| n.contains("alice")), "alice's OWNER Membership: {before}");
    let w = unseen(&before);
    assert_eq!(w.len(), 1, "{before}");
    assert!(w[0].starts_with("team.cordium records 1 Workspace(s) of stack `team`"), "{w:?}");
    assert!(w[0].contains("not among bob's") && w[0].contains("is bob's own"), "{w:?}");

    let applied = run("B", None, &["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    let a = json(&plan("A", "json"));
    let b = json(&plan("B", "json"));
    let ((a_pairs, a_ws), (b_pairs, b_ws)) = (changes(&a), changes(&b));
    // The same plan: the same resources, all unchanged, for both.
    assert_eq!(a_pairs, b_pairs);
    assert!(a_pairs.iter().all(|(_, act)| act == "\"no-op\""), "{a}");
    assert_eq!(a_pairs.len(), 4, "Space, Template, Workspace, bob's Membership: {a}");
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(a["stack"], b["stack"]);
    // What differs: whose plan, whose Workspace.
    assert_eq!(
        (&a["target"]["username"], &b["target"]["username"]),
        (&"alice".into(), &"bob".into())
    );
    assert!(a_ws.is_some() && b_ws.is_some() && a_ws != b_ws, "{a_ws:?} {b_ws:?}");
    for (plan, user) in [(&a, "alice"), (&b, "bob")] {
        let note = format!(
            "Workspaces: {user}'s own (the server lists each user's Workspaces to them only)."
        );
        assert!(plan["notes"].as_array().unwrap().iter().any(|n| n == note.as_str()), "{plan}");
        let w = unseen(plan);
        assert_eq!(w.len(), 1, "the other's Workspace: {plan}");
        assert!(w[0].starts_with("team.cordium records 1 Workspace(s)"), "{w:?}");
        assert!(w[0].contains(&format!("not among {user}'s")), "{w:?}");
    }
    // The human plans say the same on the target line, the note and the warning.
    for (token, user) in [("A", "alice"), ("B", "bob")] {
        let o = run(token, None, &["plan", d, "--endpoint", url, "--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains(&format!("as {user}, environment: none")), "{out}");
        assert!(
            out.contains("No changes.") && out.contains(&format!("Note: Workspaces: {user}'s own")),
            "{out}"
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("unseen-workspaces") && err.contains(&format!("not among {user}'s")),
            "{err}"
        );
    }
}

// A member who may not UpdateSpace (an ADMIN, not an OWNER) gets the Workspace, but not its
// entry in the Space's ownership record: the step fails and says exactly that.
#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_an_admin_member_cannot_record_is_created_and_the_step_says_so() {
    let (serve, dir) = alice_and_bob();
    std::fs::write(dir.path().join("main.hcl"), TEAM.replace("\"OWNER\"", "\"ADMIN\"")).unwrap();
    let d = path(&dir);
    let url = serve.url.as_str();
    let applied = run("A", None, &["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let bob = run("B", None, &["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(bob.status.code(), Some(1), "{}", text(&bob));
    let out = String::from_utf8_lossy(&bob.stdout);
    assert!(
        out.contains("workspace.team.box: created, but its ownership record could not be written"),
        "{out}"
    );
    assert!(out.contains("give this user `role = \"OWNER\"`"), "{out}");
    // The Workspace is there, his own: his next plan has nothing to do.
    let again = run("B", None, &["plan", d, "--endpoint", url, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}
