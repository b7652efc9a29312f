//! Concurrent applies of one stack through the real binary (issue 10): against one `cordium
//! serve`, two and four `apply --auto-approve --lock-timeout 60s` started at once, and one saved
//! plan applied by three runners at once, leave exactly one Workspace per displayName; on the
//! embedded local cluster concurrent applies take turns on the file lock and never fail with
//! `database is locked`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cordium::live::convert::from_wire;
use cordium::live::{Cluster, Scope};
use cordium::model::Kind;

use crate::apply::{client, cordium, text};
use crate::support::{Serve, ADMIN_TOKEN};

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
            let mut c = Command::new(env!("CARGO_BIN_EXE_cordium"));
            c.args(args)
                .env_remove("CORDIUM_ENDPOINT")
                .env_remove("OCTELIUM_DOMAIN")
                .env_remove("OCTELIUM_ACCESS_TOKEN")
                .env_remove("CI")
                .env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN)
                .env("CORDIUM_USERNAME", "admin")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
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
    for (runners, from_nothing) in [(2, true), (2, false), (4, false)] {
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
    assert!(began.elapsed() < Duration::from_secs(30), "took {:?}", began.elapsed());
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
        .current_dir(dir.path())
        .env_remove("CI")
        .output()
        .expect("plan runs");
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}
