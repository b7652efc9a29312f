//! Concurrent applies of one stack through the real binary (issue 10): against one `cordium
//! serve`, two and four `apply --auto-approve --lock-timeout 60s` started at once, and one saved
//! plan applied by three runners at once, leave exactly one Workspace per displayName; on the
//! embedded local cluster concurrent applies take turns on the file lock and never fail with
//! `database is locked`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use std::sync::Arc;

use cordium::apply::lock::place::Found;
use cordium::apply::lock::{group_name, Holder, LockPlace, TemplatePlace};
use cordium::live::convert::from_wire;
use cordium::live::{Cluster, Scope};
use cordium::model::Kind;

use crate::apply::{client, cordium, text};
use crate::support::{cordium_as_admin, send, Serve, ADMIN_TOKEN};

/// Workspaces in the stack below (none exists before the first apply).
const WORKSPACES: usize = 4;

/// A Space, a Template that needs no build, and (unless `bare`) [`WORKSPACES`] Workspaces.
fn stack(dir: &Path, bare: bool) {
    let doc = |kind: &str, name: &str, extra: &str| {
        format!("apiVersion: cordium/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}---\n")
    };
    let mut y = doc("Space", "lab", "spec: {}\n");
    y += &doc("Template", "base.lab", "spec:\n  image:\n    registry:\n      url: node:22\n");
    for i in (0..WORKSPACES).filter(|_| !bare) {
        y += &doc("Workspace", &format!("w{i}.lab"), "template: base\n");
    }
    std::fs::write(dir.join("main.yaml"), y).expect("write");
}

/// A `cordium serve` and the config directory of the whole stack. With `space`, the server
/// already holds the stack's Space and Template but none of its Workspaces (what duplicates
/// needed: a Workspace has no name to make a second create fail).
fn started(space: bool) -> (Serve, tempfile::TempDir) {
    let serve = Serve::start(&["--latency", "5ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    if space {
        stack(dir.path(), true);
        let d = dir.path().to_str().expect("utf-8");
        let o = cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve"]);
        assert_eq!(o.status.code(), Some(0), "the Space and Template: {}", text(&o));
    }
    stack(dir.path(), false);
    (serve, dir)
}

/// Runs `cordium` with each argument list at once (one process each) and waits for all.
fn at_once(runs: Vec<Vec<String>>, cwd: Option<&Path>) -> Vec<Output> {
    let children: Vec<_> = runs
        .iter()
        .map(|args| {
            let mut c = cordium_as_admin();
            c.args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            if let Some(d) = cwd {
                c.current_dir(d);
            }
            c.spawn().expect("cordium starts")
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().expect("cordium ends")).collect()
}

/// Workspaces beyond the first with the same displayName in the same Space.
async fn extra_workspaces(c: &dyn Cluster) -> (usize, usize) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for space in c.list(Kind::Space, &Scope::All).await.expect("list Spaces") {
        let listed =
            c.list(Kind::Workspace, &Scope::Space(space.name().to_string())).await.expect("list");
        for o in &listed {
            let live = from_wire(o);
            if !live.system {
                *seen
                    .entry(format!("{:?}/{}", live.space, live.metadata.display_name))
                    .or_default() += 1;
            }
        }
    }
    (seen.len(), seen.values().map(|n| n - 1).sum())
}

fn apply_args(path: &str, url: &str) -> Vec<String> {
    ["apply", path, "--endpoint", url, "--auto-approve", "--lock-timeout", "60s"]
        .map(String::from)
        .to_vec()
}

fn assert_converged(d: &str, url: &str) {
    let plan = cordium(&["plan", d, "--endpoint", url, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "the plan after the applies: {}", text(&plan));
}

// Regression: the plan was read before the lock was taken, so every waiter created the
// Workspaces again (10 for 5 declared with two applies). A first round starts from nothing (the
// Space too); the rounds after start with the Space there and no Workspace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_of_one_stack_create_no_duplicate_workspaces() {
    let began = Instant::now();
    for (runners, from_nothing) in [(2, true), (2, false), (4, false), (8, false)] {
        let (serve, dir) = started(!from_nothing);
        let d = dir.path().to_str().expect("utf-8");
        let outs = at_once(vec![apply_args(d, &serve.url); runners], None);
        for o in &outs {
            assert_eq!(o.status.code(), Some(0), "{runners} runners: {}", text(o));
        }
        let c = client(&serve).await;
        let (names, extra) = extra_workspaces(c.as_ref()).await;
        assert_eq!((names, extra), (WORKSPACES, 0), "{runners} runners: Workspaces, duplicates");
        assert_converged(d, &serve.url);
    }
    // Not waiting (`--lock-timeout 0s`): each runner applies or is refused naming the holder;
    // still no duplicate, and one more apply converges.
    let (serve, dir) = started(true);
    let d = dir.path().to_str().expect("utf-8");
    let mut no_wait = apply_args(d, &serve.url);
    if let Some(t) = no_wait.last_mut() {
        *t = "0s".into();
    }
    for o in at_once(vec![no_wait; 4], None) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.code() == Some(0) || err.contains("another apply holds the lock"),
            "{}",
            text(&o)
        );
    }
    let c = client(&serve).await;
    let (_, extra) = extra_workspaces(c.as_ref()).await;
    assert_eq!(extra, 0, "no duplicate with --lock-timeout 0s");
    let last = cordium(&apply_args(d, &serve.url).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(last.status.code(), Some(0), "{}", text(&last));
    assert_eq!(extra_workspaces(c.as_ref()).await, (WORKSPACES, 0), "Workspaces, duplicates");
    assert_converged(d, &serve.url);
    assert!(began.elapsed() < Duration::from_secs(45), "took {:?}", began.elapsed());
}

// Regression: one saved plan applied by several runners at once created its Workspaces once per
// runner; under the lock the staleness check now refuses every runner after the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_applied_by_three_runners_at_once_is_applied_once() {
    let (serve, dir) = started(true);
    let d = dir.path().to_str().expect("utf-8");
    let file = dir.path().join("saved.plan");
    let f = file.to_str().expect("utf-8");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert!(planned.status.success(), "{}", text(&planned));
    let mut args = apply_args(f, &serve.url);
    args.extend(["--config-dir".to_string(), d.to_string()]);
    let outs = at_once(vec![args; 3], None);
    let mut applied = 0;
    for o in &outs {
        match o.status.code() {
            Some(0) => applied += 1,
            Some(1) => {
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(err.contains("is stale"), "refused, but not as stale: {}", text(o));
                assert!(err.contains("now exists"), "the refusal names what changed: {}", text(o));
            }
            _ => panic!("{}", text(o)),
        }
    }
    assert_eq!(applied, 1, "exactly one runner applies the plan");
    let c = client(&serve).await;
    assert_eq!(extra_workspaces(c.as_ref()).await, (WORKSPACES, 0), "Workspaces, duplicates");
    assert_converged(d, &serve.url);
}

// Regression: concurrent applies on `--local` failed now and then with `database is locked`
// (the store switched to WAL before it set its busy timeout) and named no holder.
#[test]
fn concurrent_local_applies_take_turns_and_name_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path(), false);
    let local = |timeout: &str| -> Vec<String> {
        ["apply", ".", "--local", "local.db", "--auto-approve", "--lock-timeout", timeout]
            .map(String::from)
            .to_vec()
    };
    // Waiting: all succeed, one after the other.
    for o in at_once(vec![local("60s"); 4], Some(dir.path())) {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    // Not waiting: each applies (nothing to do) or is refused naming the holder; never a
    // SQLite error.
    for o in at_once(vec![local("0s"); 4], Some(dir.path())) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("database is locked"), "{}", text(&o));
        if o.status.code() != Some(0) {
            assert!(err.contains("another apply holds the lock"), "{}", text(&o));
            assert!(err.contains("(pid "), "{}", text(&o));
        }
    }
    let plan = Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["plan", ".", "--local", "local.db", "--detailed-exitcode"])
        .env("CORDIUM_STACK", "default")
        .current_dir(dir.path())
        .env_remove("CI")
        .output()
        .expect("plan runs");
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

/// A stack whose Workspaces wait for a Template build (`--build-duration` long).
fn built_stack(dir: &Path) {
    let doc = |kind: &str, name: &str, extra: &str| {
        format!("apiVersion: cordium/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}---\n")
    };
    let mut y = doc("Space", "lab", "spec: {}\n");
    y += &doc(
        "Template",
        "gpu.lab",
        "spec:\n  image:\n    registry:\n      url: python:3.12\nprebuild: {}\n",
    );
    for i in 0..WORKSPACES {
        y += &doc("Workspace", &format!("w{i}.lab"), "template: gpu\n");
    }
    std::fs::write(dir.join("main.yaml"), y).expect("write");
}

/// Starts `cordium apply` in the background with a short-lived lock (`--lock-ttl`).
fn apply_in_background(d: &str, url: &str, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["apply", d, "--endpoint", url, "--auto-approve", "--output", "json"])
        .env("CORDIUM_STACK", "default")
        .args(["--lock-ttl", "1500ms"])
        .args(extra)
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("CI")
        .env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN)
        .env("CORDIUM_USERNAME", "admin")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cordium starts")
}

/// The stack's lock: a Template in its anchor Space `lab` (taken right after the first apply
/// creates that Space).
fn lock_place(c: &Arc<dyn Cluster>) -> TemplatePlace {
    TemplatePlace { cluster: c.clone(), name: group_name("default"), space: "lab.admin".into() }
}

/// Waits until the stack's lock exists; returns it.
async fn lock_found(c: &Arc<dyn Cluster>) -> Found {
    let place = lock_place(c);
    for _ in 0..200 {
        if let Ok(found) = place.get().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the apply never took its lock");
}

fn holder_id(found: &Found) -> Option<String> {
    found.holder.as_ref().map(|h| h.id.clone())
}

// Regression: a lock taken over while its holder applied was "recorded and never read": the
// holder kept writing, and its renewal (an update by name) overwrote the new holder's lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_taken_over_mid_apply_stops_it_with_exit_1_and_is_left_alone() {
    let serve = Serve::start(&["--build-duration", "3s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let child = apply_in_background(d, &serve.url, &[]);
    let c = client(&serve).await;
    let g = lock_found(&c).await;
    // Another apply takes the lock over (as it would an expired one): delete by uid, create.
    let place = lock_place(&c);
    place.delete(&g.uid).await.expect("deleted");
    let now = std::time::SystemTime::now();
    let later = now + Duration::from_secs(60);
    let thief = Holder {
        who: "thief@box".into(),
        pid: 1,
        since: now,
        expires: Some(later),
        id: "thief".into(),
    };
    place.create(&thief).await.expect("the thief's lock");

    let o = child.wait_with_output().expect("cordium ends");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = crate::apply::summary(&o);
    let lost = s["lock_lost"].as_str().unwrap_or_else(|| panic!("{}", text(&o)));
    assert!(lost.contains("taken over by thief@box"), "{lost}");
    assert_eq!(s["success"], false);
    // No Workspace was started after the loss (they wait for the build).
    let (names, _) = extra_workspaces(c.as_ref()).await;
    assert_eq!(names, 0, "{}", text(&o));
    // The thief's lock is untouched: neither renewed over nor released.
    let after = lock_found(&c).await.holder.expect("a holder");
    assert_eq!(after.id, "thief");
    let secs = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    assert_eq!(after.expires.map(secs), Some(secs(later)), "neither renewed over nor released");
}

// Regression: a holder paused past its lock's expiry (SIGSTOP) resumed and kept writing after
// another apply had taken the lock over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_paused_past_its_lock_starts_nothing_when_it_resumes() {
    let serve = Serve::start(&["--build-duration", "2s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    // The lock Space exists, so the apply holds its lock from the start (a first apply takes
    // it only after creating that Space, and would be paused before holding anything).
    let space =
        cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--target", "space.lab"]);
    assert_eq!(space.status.code(), Some(0), "{}", text(&space));
    let mut paused = apply_in_background(d, &serve.url, &[]);
    let c = client(&serve).await;
    // Pause it once its build is running (a progress event): its next requests are the
    // build's polls, none of which can disturb the apply that takes over. (Paused between a
    // step's lease check and its request, a holder may still send that one request: the
    // documented window, docs/locking.md.)
    let stdout = paused.stdout.take().expect("piped");
    let (mut reader, mut seen) = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["event"] == "progress" {
                break;
            }
        }
        (reader, seen)
    })
    .await
    .expect("read");
    send("-STOP", paused.id());
    // Past its 1.5 s lifetime: the next apply takes the lock over and finishes the stack.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let next = apply_in_background(d, &serve.url, &["--lock-timeout", "30s"]);
    let g = lock_found(&c).await;
    let mut tries = 0;
    let mut holder = holder_id(&g);
    let first = holder.clone();
    while holder == first && tries < 200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        holder = lock_place(&c).get().await.ok().as_ref().and_then(holder_id);
        tries += 1;
    }
    send("-CONT", paused.id());
    std::io::Read::read_to_string(&mut reader, &mut seen).expect("the rest of stdout");
    let mut p = paused.wait_with_output().expect("paused ends");
    p.stdout = seen.into_bytes();
    let n = next.wait_with_output().expect("next ends");
    assert_eq!(n.status.code(), Some(0), "the next apply: {}", text(&n));
    assert_eq!(p.status.code(), Some(1), "the paused apply: {}", text(&p));
    let s = crate::apply::summary(&p);
    assert!(s["lock_lost"].is_string(), "{}", text(&p));
    // The paused apply started no Workspace create after it resumed.
    let started: Vec<_> = crate::apply::lines(&p)
        .into_iter()
        .filter(|v| v["event"] == "started" && v["kind"] == "create")
        .filter(|v| v["address"].as_str().is_some_and(|a| a.starts_with("workspace.")))
        .collect();
    assert!(started.is_empty(), "{}", text(&p));
    assert_eq!(extra_workspaces(c.as_ref()).await, (WORKSPACES, 0));
    assert_converged(d, &serve.url);
}
