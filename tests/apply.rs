//! `cordium apply` / `destroy` through the real binary against `cordium serve` over gRPC:
//! convergence under injected faults (no duplicates, a second plan is empty) across seeds, a
//! failing build skipping exactly its dependents, and the apply lock (refused naming the
//! holder, `--lock-timeout` waiting, an expired lock taken over).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cordium::apply::lock::{group_name, Holder, LockOptions, LockPlace, RemoteLock, TemplatePlace};
use cordium::live::auth::{Credentials, Token};
use cordium::live::convert::from_wire;
use cordium::live::grpc::{GrpcCluster, GrpcOptions};
use cordium::live::wire::meta;
use cordium::live::{Cluster, Scope};
use cordium::model::Kind;
use serde_json::Value;

use crate::support::{cordium_as_admin, Serve, ADMIN_TOKEN};

/// Runs the binary with the admin token and secret values in its environment.
pub(crate) fn cordium(args: &[&str]) -> Output {
    cordium_as_admin()
        .args(args)
        .env("WANDB_API_KEY", "wandb-value")
        .env("ANTHROPIC_API_KEY", "anthropic-value")
        .env("WEB_GIT_TOKEN", "git-value")
        .output()
        .expect("cordium runs")
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The JSON lines of `--output json`.
pub(crate) fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub(crate) fn summary(o: &Output) -> Value {
    lines(o).into_iter().rfind(|v| v["event"] == "summary").unwrap_or_else(|| panic!("{}", text(o)))
}

fn addresses(summary: &Value, list: &str) -> Vec<String> {
    let mut out: Vec<String> = summary[list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{} {}",
                        s["kind"].as_str().unwrap_or(""),
                        s["address"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Copies an example into a temporary directory, with the secret file it reads.
pub(crate) fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    copy_tree(&src, dir.path());
    std::fs::create_dir_all(dir.path().join("secrets")).expect("mkdir");
    std::fs::write(dir.path().join("secrets/github-token"), "ghp-value\n").expect("write");
    dir
}

/// Copies a config folder (files and subfolders; not `.cordium/`).
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == ".cordium") {
                continue;
            }
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

pub(crate) async fn client(serve: &Serve) -> Arc<dyn Cluster> {
    let mut o =
        GrpcOptions::new(serve.url.clone(), Credentials::AuthToken(Token::new(ADMIN_TOKEN)));
    o.call_timeout = Duration::from_secs(10);
    Arc::new(GrpcCluster::connect(o).await.expect("client"))
}

/// Every object of every kind on the cluster: exactly one per name, and one Workspace per
/// displayName in each Space. Returns the counts per kind.
pub(crate) async fn assert_no_duplicates(c: &dyn Cluster) -> BTreeMap<Kind, usize> {
    let mut counts = BTreeMap::new();
    let spaces: Vec<String> = c
        .list(Kind::Space, &Scope::All)
        .await
        .expect("list Spaces")
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    for kind in Kind::ALL {
        let objects = if kind.in_space() {
            let mut all = Vec::new();
            for s in &spaces {
                all.extend(c.list(kind, &Scope::Space(s.clone())).await.expect("list"));
            }
            all
        } else {
            c.list(kind, &Scope::All).await.expect("list")
        };
        let mut seen = BTreeMap::new();
        for o in &objects {
            let live = from_wire(o);
            if live.system {
                continue;
            }
            let key = match kind {
                Kind::Workspace => format!("{:?}/{}", live.space, live.metadata.display_name),
                _ => live.wire_name.clone(),
            };
            *seen.entry(key).or_insert(0usize) += 1;
        }
        let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(dups.is_empty(), "duplicate {kind:?}: {dups:?}");
        counts.insert(kind, seen.len());
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_under_injected_faults_converges_without_duplicates() {
    let mut retries = 0;
    for seed in ["3", "7", "11"] {
        let serve = Serve::start(&[
            "--error-rate",
            "0.1",
            "--error-mode",
            "both",
            "--latency",
            "5ms",
            "--seed",
            seed,
            "--build-duration",
            "1s",
        ]);
        let dir = example("platform-yaml");
        let d = dir.path().to_str().expect("utf-8");
        let applied =
            cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"]);
        let s = summary(&applied);
        assert_eq!(s["success"], true, "seed {seed}: {}", text(&applied));
        assert_eq!(applied.status.code(), Some(0), "seed {seed}: {}", text(&applied));
        // Every event line is an object with an event name; secrets never appear.
        let out = String::from_utf8_lossy(&applied.stdout);
        for secret in ["wandb-value", "anthropic-value", "git-value", "ghp-value"] {
            assert!(!out.contains(secret), "seed {seed}: a secret value was printed");
        }
        retries += lines(&applied).iter().filter(|v| v["event"] == "retrying").count();
        let c = client(&serve).await;
        let counts = assert_no_duplicates(c.as_ref()).await;
        assert_eq!(counts[&Kind::Workspace], 5, "seed {seed}: {counts:?}");
        let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "seed {seed}: second plan: {}", text(&plan));
    }
    assert!(retries > 0, "the injected faults were met and retried");
}

/// A small stack: Template `bad` (pre-built; every build fails here) used by two Workspaces,
/// Template `good` (no build) used by one.
fn small_stack(dir: &Path) {
    let doc = |kind: &str, name: &str, extra: &str| {
        format!("apiVersion: cordium/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}---\n")
    };
    let mut y = String::new();
    y += &doc("Space", "lab", "spec: {}\n");
    y += &doc(
        "Template",
        "bad.lab",
        "spec:\n  image:\n    registry:\n      url: python:3.12\nprebuild: {}\n",
    );
    y += &doc("Template", "good.lab", "spec:\n  image:\n    registry:\n      url: node:22\n");
    y += &doc("Workspace", "one.lab", "template: bad\n");
    y += &doc("Workspace", "two.lab", "template: bad\n");
    y += &doc("Workspace", "three.lab", "template: good\n");
    // No stack file: the stack is `default` (what the lock below is named after).
    std::fs::write(dir.join("main.yaml"), y).expect("write");
}

/// The stack of a config without a stack file.
const STACK: &str = "default";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_build_skips_exactly_its_workspaces() {
    let serve = Serve::start(&["--build-duration", "300ms", "--build-fail-rate", "1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    small_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let o = cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(addresses(&s, "failed"), ["build template.lab.bad"], "{}", text(&o));
    assert_eq!(
        addresses(&s, "skipped"),
        ["create workspace.lab.one", "create workspace.lab.two"],
        "{}",
        text(&o)
    );
    assert!(addresses(&s, "done").contains(&"create workspace.lab.three".to_string()));
    let failed = lines(&o).into_iter().find(|v| v["event"] == "failed").expect("failed event");
    assert_eq!(failed["error_kind"], "failed");

    // Human output: the summary names what failed and what was skipped.
    let again = cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve"]);
    let out = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(out.contains("Apply failed"), "{out}");
    assert!(out.contains("build template.lab.bad"), "{out}");
    assert!(out.contains("create workspace.lab.one (upstream failed"), "{out}");

    // Destroy removes everything of the stack, Workspaces before their Space.
    let gone = cordium(&["destroy", d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(gone.status.code(), Some(0), "{}", text(&gone));
    let c = client(&serve).await;
    let counts = assert_no_duplicates(c.as_ref()).await;
    assert_eq!(counts[&Kind::Workspace], 0, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_refuses_without_confirmation_when_not_on_a_terminal() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    small_stack(dir.path());
    let o = cordium(&["apply", dir.path().to_str().expect("utf-8"), "--endpoint", &serve.url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--auto-approve"), "{}", text(&o));
    let c = client(&serve).await;
    assert_eq!(assert_no_duplicates(c.as_ref()).await[&Kind::Space], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_refuses_names_its_holder_waits_and_expires() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    small_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8").to_string();
    let c = client(&serve).await;
    // The stack's lock lives in its anchor Space, `lab`: create it first.
    let first = cordium(&[
        "apply",
        &d,
        "--endpoint",
        &serve.url,
        "--auto-approve",
        "--target",
        "space.lab",
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let place = || -> Arc<dyn LockPlace> {
        Arc::new(TemplatePlace {
            cluster: c.clone(),
            name: group_name(STACK),
            space: "lab.admin".into(),
        })
    };

    // Held by someone else: refused at once, naming them.
    let held = RemoteLock::acquire_at(place(), "test", &LockOptions::new(STACK, "tester@box"))
        .await
        .expect("lock");
    let o = cordium(&["apply", &d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tester@box (pid"), "{err}");
    assert!(err.contains("since"), "{err}");
    // A second library holder is refused too.
    let busy = RemoteLock::acquire_at(place(), "test", &LockOptions::new(STACK, "other@x"))
        .await
        .expect_err("busy");
    assert!(busy.to_string().contains("tester@box"), "{busy}");

    // --lock-timeout waits for the holder to finish.
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        held.release().await.expect("release");
    });
    let url = serve.url.clone();
    let waited = tokio::task::spawn_blocking(move || {
        cordium(&["apply", &d, "--endpoint", &url, "--auto-approve", "--lock-timeout", "20s"])
    })
    .await
    .expect("joined");
    releaser.await.expect("released");
    // It got the lock and applied (the `bad` Template's build may fail: exit 0 or 1, never
    // the lock refusal).
    let out = String::from_utf8_lossy(&waited.stderr);
    assert!(!out.contains("holds the lock"), "{}", text(&waited));
    assert!(
        waited.status.code() == Some(0) || waited.status.code() == Some(1),
        "{}",
        text(&waited)
    );

    // A crashed holder's lock (expired, never renewed) is taken over.
    let past = SystemTime::now() - Duration::from_secs(3600);
    let crashed = Holder {
        who: "crashed@box".into(),
        pid: 4242,
        since: past,
        expires: Some(past + Duration::from_secs(60)),
        id: "dead".into(),
    };
    place().create(&crashed).await.expect("stale lock");
    let taken = RemoteLock::acquire_at(place(), "test", &LockOptions::new(STACK, "new@box"))
        .await
        .expect("an expired lock is taken over");
    taken.release().await.expect("release");
    // Released: nothing is left behind.
    assert!(place().get().await.is_err(), "the lock Template is deleted on release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_apply_is_completed_by_the_next_one_without_duplicates() {
    use std::io::BufRead;
    let serve = Serve::start(&["--build-duration", "3s", "--latency", "5ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    small_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["apply", &d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"])
        .env("CORDIUM_STACK", "default")
        .env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN)
        .env("CORDIUM_USERNAME", "admin")
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("CI")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("apply starts");
    let stdout = child.stdout.take().expect("stdout");
    // SIGKILL as soon as the build is running (other steps are done or in flight).
    for line in std::io::BufReader::new(stdout).lines() {
        if line.expect("line").contains("\"event\":\"progress\"") {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let again =
        cordium(&["apply", &d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let c = client(&serve).await;
    let counts = assert_no_duplicates(c.as_ref()).await;
    assert_eq!(counts[&Kind::Workspace], 3, "{counts:?}");
    let plan = cordium(&["plan", &d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_exactly_and_refused_when_stale() {
    let serve = Serve::start(&["--build-duration", "200ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    small_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let file = dir.path().join("plan.json");
    let f = file.to_str().expect("utf-8");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let applied = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));

    // A plan that updates Template `good`; then someone changes it on the cluster.
    let main = dir.path().join("main.yaml");
    let text_now = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, text_now.replace("node:22", "node:24")).expect("write");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let c = client(&serve).await;
    let key = cordium::live::ObjectKey::Name("good.lab.admin".into());
    let mut live = c.get(Kind::Template, &key).await.expect("get");
    live.metadata_mut().description = "changed by hand".into();
    c.update(live).await.expect("update by hand");
    let refused = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("stale"), "{err}");
    assert!(err.contains("template.lab.good: resourceVersion"), "{err}");

    // A plan made from another configuration is refused too.
    std::fs::write(&main, text_now).expect("write");
    let other = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    assert!(String::from_utf8_lossy(&other.stderr).contains("not the one"), "{}", text(&other));
}

/// Every example applies, then plans with no changes, then destroys to empty (issue 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_applies_plans_clean_and_destroys_to_empty() {
    for name in ["quickstart", "platform", "platform-yaml"] {
        let serve = Serve::start(&["--build-duration", "200ms"]);
        let dir = example(name);
        let d = dir.path().to_string_lossy().to_string();
        let url = serve.url.as_str();

        let applied =
            cordium(&["apply", &d, "--endpoint", url, "--auto-approve", "--output", "json"]);
        assert_eq!(applied.status.code(), Some(0), "{name}: apply\n{}", text(&applied));

        let plan = cordium(&["plan", &d, "--endpoint", url, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{name}: plan after apply\n{}", text(&plan));
        assert!(String::from_utf8_lossy(&plan.stdout).contains("No changes."), "{}", text(&plan));

        let c = client(&serve).await;
        let counts = assert_no_duplicates(c.as_ref()).await;
        assert!(counts.values().sum::<usize>() > 0, "{name}: nothing was created");

        let mut destroyed = cordium(&["destroy", &d, "--endpoint", url, "--auto-approve"]);
        if unprotect(dir.path()) {
            // prevent_destroy holds in destroy too: refused, nothing deleted; lifted, it goes.
            assert_eq!(destroyed.status.code(), Some(1), "{name}: destroy\n{}", text(&destroyed));
            let err = String::from_utf8_lossy(&destroyed.stderr);
            assert!(err.contains("has prevent_destroy set"), "{name}: {err}");
            assert_eq!(assert_no_duplicates(c.as_ref()).await, counts, "{name}: nothing deleted");
            destroyed = cordium(&["destroy", &d, "--endpoint", url, "--auto-approve"]);
        }
        assert_eq!(destroyed.status.code(), Some(0), "{name}: destroy\n{}", text(&destroyed));
        let after = cordium(&["plan", &d, "--endpoint", url, "--output", "json"]);
        let doc: Value = serde_json::from_slice(&after.stdout).expect("plan JSON");
        let creates = doc["summary"]["create"].as_u64().unwrap_or(0);
        let declared = doc["resource_changes"].as_array().map(Vec::len).unwrap_or(0) as u64;
        assert_eq!(creates, declared, "{name}: after destroy every resource is a create again");
        let spaces = c.list(Kind::Space, &Scope::All).await.expect("list Spaces");
        let ours: Vec<_> = spaces.iter().map(from_wire).filter(|s| s.stack().is_some()).collect();
        assert!(ours.is_empty(), "{name}: labelled Spaces left: {ours:?}");
        let workspaces = c.list(Kind::Workspace, &Scope::All).await.expect("list Workspaces");
        assert!(workspaces.iter().all(|w| from_wire(w).system), "{name}: Workspaces left");
    }
}

/// Turns every `prevent_destroy` of the config under `dir` off; true when there was one.
fn unprotect(dir: &Path) -> bool {
    let mut found = false;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        if path.is_dir() {
            todo.extend(
                std::fs::read_dir(&path).expect("read_dir").map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let path = path.as_path();
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        if text.contains("prevent_destroy = true") || text.contains("preventDestroy: true") {
            let lifted = text
                .replace("prevent_destroy = true", "prevent_destroy = false")
                .replace("preventDestroy: true", "preventDestroy: false");
            std::fs::write(path, lifted).expect("write");
            found = true;
        }
    }
    found
}

/// Runs `cordium plan` of the quickstart example with exactly these auth variables.
fn plan_with_tokens(serve: &Serve, access: &str, auth: Option<&str>) -> Output {
    let dir = example("quickstart");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordium"));
    cmd.args(["plan", dir.path().to_str().expect("utf-8"), "--endpoint", &serve.url])
        .env("CORDIUM_STACK", "default")
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("OCTELIUM_DOMAIN")
        .env_remove("OCTELIUM_AUTH_TOKEN")
        .env_remove("CI")
        .env("OCTELIUM_ACCESS_TOKEN", access)
        .env("CORDIUM_USERNAME", "admin")
        .env("WANDB_API_KEY", "wandb-value")
        .env("ANTHROPIC_API_KEY", "anthropic-value")
        .env("WEB_GIT_TOKEN", "git-value");
    if let Some(t) = auth {
        cmd.env("OCTELIUM_AUTH_TOKEN", t);
    }
    cmd.output().expect("cordium runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_access_token_falls_back_to_the_auth_token_or_says_it_expired() {
    let serve = Serve::start(&["--access-token-ttl", "1s"]);
    let session = serve.login(ADMIN_TOKEN).await.expect("login");
    let access = session.access_token;
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let o = plan_with_tokens(&serve, &access, Some(ADMIN_TOKEN));
    assert_eq!(o.status.code(), Some(0), "falls back to OCTELIUM_AUTH_TOKEN: {}", text(&o));

    let o = plan_with_tokens(&serve, &access, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("OCTELIUM_ACCESS_TOKEN has expired"), "{}", text(&o));
    assert!(!err.contains(&access), "the token is never printed: {}", text(&o));
    // One sentence about it: said once, not repeated down the chain.
    assert_eq!(err.matches("expired").count(), 1, "{}", text(&o));
}

/// A Space holding a Secret whose value comes from `SEAL_TEST_VALUE`, read by a Workspace.
const SEALED_STACK: &str = r#"
space "vault" {
  organization = true
}

secret "token" {
  space    = space.vault
  from_env = "SEAL_TEST_VALUE"
}

workspace "reader" {
  space = space.vault

  runtime {
    env_var {
      key         = "TOKEN"
      from_secret = secret.vault.token
    }
  }
}
"#;

fn run_sealed(verb: &str, dir: &Path, serve: &Serve, value: &str) -> Output {
    cordium_as_admin()
        .args([verb, dir.to_str().expect("utf-8"), "--endpoint", &serve.url, "--auto-approve"])
        .env("SEAL_TEST_VALUE", value)
        .output()
        .expect("cordium runs")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file of the store: the db, its WAL and shared memory.
fn store_bytes(db: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| {
            let p = format!("{}{s}", db.display());
            std::fs::read(&p).ok().map(|b| (p, b))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_its_store_owner_only_and_secret_values_sealed() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let serve = Serve::start_raw(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().expect("utf-8"),
        "--auth-token",
        "admin:T",
    ]);
    let config = tempfile::tempdir().expect("tempdir");
    std::fs::write(config.path().join("main.hcl"), SEALED_STACK).expect("write");
    let sentinel = format!("SENTINEL-{}", uuid::Uuid::new_v4().simple());
    let o = run_sealed("apply", config.path(), &serve, &sentinel);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    let db = data.join("local.db");
    assert_eq!(mode(&data), 0o700, "the data directory");
    for f in ["local.db", "local.db-wal", "local.db-shm", "local.db.key"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    for (path, bytes) in store_bytes(&db) {
        assert!(!contains(&bytes, sentinel.as_bytes()), "the value is in {path} in plaintext");
    }

    // The value reaches the Workspace: its env var names the Secret, whose value opens.
    let sealed_rows: Vec<Vec<u8>> = {
        let engine =
            cordium::live::local::Engine::open(&db, Default::default()).expect("store opens");
        let ws = engine.list_workspace("admin", Default::default()).expect("workspaces");
        let reader = ws
            .items
            .iter()
            .find(|w| w.metadata.as_ref().is_some_and(|m| m.display_name.contains("reader")));
        let env = reader
            .and_then(|w| w.spec.as_ref())
            .and_then(|s| s.runtime.as_ref())
            .map(|r| r.env_vars.clone())
            .unwrap_or_default();
        use cordium::live::wire::cordium::workspace::spec::runtime::env_var::Type;
        let secret_name = env
            .iter()
            .find_map(|e| match &e.r#type {
                Some(Type::FromSecret(name)) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("a Workspace env var from the Secret: {ws:?}"));
        // The env var names the Secret by its stored name, in the Workspace's Space.
        let space = reader
            .and_then(|w| w.status.as_ref())
            .and_then(|s| s.space_ref.as_ref())
            .map(|r| r.name.clone())
            .expect("the Workspace's Space");
        assert!(secret_name.ends_with(&format!(".{space}")), "{secret_name} is in {space}");
        let secret = engine
            .get_secret(
                "admin",
                meta::GetOptions { name: secret_name.clone(), ..Default::default() },
            )
            .unwrap_or_else(|e| panic!("the Secret {secret_name:?}: {e:?}"));
        let uid = secret.metadata.expect("metadata").uid;
        let data = engine.secret_data(&uid).expect("opens").expect("has data");
        use cordium::live::wire::cordium::secret::data::Type as Data;
        assert_eq!(data.r#type, Some(Data::Value(sentinel.clone())));
        let conn = rusqlite::Connection::open(&db).expect("db");
        let mut stmt = conn.prepare("SELECT data FROM sealed").expect("sealed table");
        let rows = stmt.query_map([], |r| r.get(0)).expect("rows");
        rows.map(|r| r.expect("row")).collect()
    };
    assert_eq!(sealed_rows.len(), 1, "one sealed value");

    let o = run_sealed("destroy", config.path(), &serve, &sentinel);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let conn = rusqlite::Connection::open(&db).expect("db");
    let left: i64 = conn.query_row("SELECT COUNT(*) FROM sealed", [], |r| r.get(0)).expect("count");
    assert_eq!(left, 0, "the sealed row is deleted");
    drop(conn);
    for (path, bytes) in store_bytes(&db) {
        assert!(!contains(&bytes, sentinel.as_bytes()), "{path}");
        for row in &sealed_rows {
            assert!(!contains(&bytes, row), "the deleted ciphertext is still in {path}");
        }
    }
}

/// The examples' stacks without Users apply, plan clean and destroy as an ordinary user (a
/// `user` token: no core API), the lock included (a Template in the stack's first Space).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_without_users_apply_and_destroy_as_an_ordinary_user() {
    let as_bob = |args: &[&str]| {
        cordium_as_admin()
            .env("OCTELIUM_AUTH_TOKEN", "B")
            .env_remove("CORDIUM_USERNAME")
            .env("WANDB_API_KEY", "wandb-value")
            .env("ANTHROPIC_API_KEY", "anthropic-value")
            .env("WEB_GIT_TOKEN", "git-value")
            .args(args)
            .output()
            .expect("cordium runs")
    };
    for (name, users) in [
        ("quickstart", None),
        ("platform", Some("users.hcl")),
        ("platform-yaml", Some("users.yaml")),
    ] {
        let serve = Serve::start(&["--build-duration", "200ms", "--auth-token", "bob:B:user"]);
        let dir = example(name);
        if let Some(file) = users {
            std::fs::remove_file(dir.path().join(file)).expect("remove the Users");
        }
        unprotect(dir.path());
        let d = dir.path().to_string_lossy().to_string();
        let url = serve.url.as_str();
        let applied = as_bob(&["apply", &d, "--endpoint", url, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{name}: apply\n{}", text(&applied));
        assert!(String::from_utf8_lossy(&applied.stdout).contains("as bob"), "{}", text(&applied));
        let plan = as_bob(&["plan", &d, "--endpoint", url, "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{name}: plan after apply\n{}", text(&plan));
        let destroyed = as_bob(&["destroy", &d, "--endpoint", url, "--auto-approve"]);
        assert_eq!(destroyed.status.code(), Some(0), "{name}: destroy\n{}", text(&destroyed));
    }
}

/// A large apply is summarised, not listed (issue 13): the first 200 creates get their lines,
/// then one line says the rest are counted, a count line follows, and the summary closes; the
/// JSON stream still has every event.
#[test]
fn a_large_embedded_apply_lists_the_first_steps_then_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let users: String = (0..300)
        .map(|i| format!("kind: User\nmetadata:\n  name: agent{i}\nspec:\n  type: WORKLOAD\n---\n"))
        .collect();
    std::fs::write(dir.path().join("users.yaml"), users).expect("write");
    let root = dir.path().to_str().expect("utf-8");
    let store = dir.path().join("store.db");
    let store = store.to_str().expect("utf-8");
    let o = cordium(&["apply", root, "--local", store, "--auto-approve"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let done = out.lines().filter(|l| l.contains(": created after")).count();
    assert_eq!(done, 200, "{}", text(&o));
    assert!(out.contains("More than 200 steps: the rest are counted"), "{}", text(&o));
    assert!(out.contains("steps ended: "), "a count line: {}", text(&o));
    assert!(out.contains("100 steps were counted, not listed"), "{}", text(&o));
    assert!(out.contains("Apply complete: 300 done, 0 failed"), "{}", text(&o));

    let o = cordium(&["destroy", root, "--local", store, "--auto-approve", "--output", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let ended = lines(&o).iter().filter(|v| v["event"] == "finished").count();
    assert_eq!(ended, 300, "the JSON stream is not summarised: {}", text(&o));
}
