//! A CI handoff you can trust (issue 12), through the real binary against `cordium serve`:
//! Secret sources checked before anything is written, `--target`/`--exclude` that match nothing,
//! the stack name a remote target requires, signals during apply, `force-unlock`, and the JSON
//! event stream.

use std::path::Path;
use std::process::{Command, Output};

use cordium::live::Scope;
use cordium::model::Kind;

use crate::apply::{client, text};
use crate::support::{cordium_as_admin, send, Serve};

/// A Secret source, its environment, and what the error says.
type SourceCase<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);

/// Flags, environment, and what is expected of the run.
type FlagCase<'a, T> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, T);

/// A value no output may ever contain.
const SENTINEL: &str = "ci-sentinel-value-93kq";

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c: Command = cordium_as_admin();
    c.args(args).env_remove("CI_SECRET_TOKEN").env_remove("CORDIUM_STACK");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("cordium runs")
}

/// A stack file, a Space, a Template and a Secret whose source is `source` (HCL attributes).
fn secret_config(dir: &Path, source: &str) {
    std::fs::write(dir.join("cordium.hcl"), "stack \"ci\" {}\n").expect("write");
    std::fs::write(
        dir.join("main.hcl"),
        format!(
            "space \"lab\" {{}}\n\ntemplate \"base\" {{\n  space = space.lab\n  image {{\n    \
             registry {{\n      url = \"node:22\"\n    }}\n  }}\n}}\n\n\
             secret \"token\" {{\n  space = space.lab\n  {source}\n}}\n"
        ),
    )
    .expect("write");
}

async fn spaces(serve: &Serve) -> Vec<String> {
    let c = client(serve).await;
    c.list(Kind::Space, &Scope::All)
        .await
        .expect("list Spaces")
        .iter()
        .map(|o| o.name().to_string())
        .filter(|n| n.starts_with("lab"))
        .collect()
}

/// Stderr with the diagnostic frame and line wrapping taken out.
fn flat(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .replace('|', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `schemas/events.v1.json`, compiled once.
fn stream_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/events.v1.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("the schema"))
                .expect("JSON");
        jsonschema::validator_for(&schema).expect("a valid schema")
    })
}

/// Every line of stdout is one JSON object (valid against `schemas/events.v1.json`) with an `event` and an RFC 3339 `time`; the events.
pub(crate) fn assert_stream(o: &Output) -> Vec<serde_json::Value> {
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.trim().is_empty(), "no stream: {}", text(o));
    out.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\n{}", text(o)));
            assert!(v["event"].is_string(), "no event: {l}");
            let errors: Vec<String> =
                stream_schema().iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "not a stream line (schemas/events.v1.json): {errors:?}\n{l}"
            );
            let t = v["time"].as_str().unwrap_or_else(|| panic!("no time: {l}"));
            assert!(humantime::parse_rfc3339(t).is_ok(), "time {t:?} in {l}");
            v
        })
        .collect()
}

fn assert_no_sentinel(o: &Output) {
    assert!(!text(o).contains(SENTINEL), "the value was shown: {}", text(o));
}

// Regression: a Secret whose variable was unset passed plan; apply created the Space and the
// Template and then failed on the Secret. Each bad source is now a plan error at the Secret's
// source line, for plan and for apply, and apply writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_secret_sources_fail_the_plan_at_the_secret_and_nothing_is_written() {
    let serve = Serve::start(&[]);
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("stolen"), SENTINEL).expect("write");
    let stolen = outside.path().join("stolen");
    let big = "x".repeat(1501);
    let cases: Vec<SourceCase> = vec![
        ("from_env = \"CI_SECRET_TOKEN\"".into(), vec![], "CI_SECRET_TOKEN is not set"),
        (
            "from_env = \"CI_SECRET_TOKEN\"".into(),
            vec![("CI_SECRET_TOKEN", "")],
            "environment variable CI_SECRET_TOKEN is empty",
        ),
        (
            "from_env = \"CI_SECRET_TOKEN\"".into(),
            vec![("CI_SECRET_TOKEN", big.as_str())],
            "is 1501 bytes; the server accepts at most 1500",
        ),
        ("from_file = \"secrets/missing\"".into(), vec![], "cannot read"),
        (
            format!("from_file = \"{}\"", stolen.display()),
            vec![],
            "is outside the config root; from_file reads only files under it",
        ),
    ];
    for (source, env, expected) in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        secret_config(dir.path(), source);
        let d = dir.path().to_str().expect("utf-8");
        for cmd in ["plan", "apply"] {
            let mut args = vec![cmd, d, "--endpoint", &serve.url];
            if cmd == "apply" {
                args.push("--auto-approve");
            }
            let o = run(&args, env);
            let err = flat(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} with {source}: {}", text(&o));
            assert!(err.contains(expected), "{cmd} with {source}: {}", text(&o));
            // The Secret's source attribute: line 14 of main.hcl.
            assert!(err.contains("main.hcl:14:"), "{cmd} with {source}: no location: {}", text(&o));
            assert_no_sentinel(&o);
        }
        assert_eq!(spaces(&serve).await, Vec::<String>::new(), "{source}: something was written");
    }
    // The same file outside the root is read when allowed, and applied.
    let dir = tempfile::tempdir().expect("tempdir");
    secret_config(dir.path(), &format!("from_file = \"{}\"", stolen.display()));
    let d = dir.path().to_str().expect("utf-8");
    let o = run(
        &["apply", d, "--endpoint", &serve.url, "--auto-approve", "--allow-outside-files"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_sentinel(&o);
    assert_eq!(spaces(&serve).await.len(), 1);
}

// A saved plan is checked again where it is applied: the variable set at plan time is missing
// in the apply job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_checks_secret_sources_before_writing() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    secret_config(dir.path(), "from_env = \"CI_SECRET_TOKEN\"");
    let d = dir.path().to_str().expect("utf-8");
    let file = dir.path().join("p.plan");
    let f = file.to_str().expect("utf-8");
    let env = [("CI_SECRET_TOKEN", SENTINEL)];
    let o = run(&["plan", d, "--endpoint", &serve.url, "--out", f], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["apply", f, "--config-dir", d, "--endpoint", &serve.url], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("CI_SECRET_TOKEN is not set"), "{}", text(&o));
    assert_eq!(spaces(&serve).await, Vec::<String>::new());
    let o = run(&["apply", f, "--config-dir", d, "--endpoint", &serve.url], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_sentinel(&o);
}

// Regression: `--target template.lab.bsae` (a typo) planned "No changes" and exited 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_or_exclude_that_matches_nothing_is_an_error_with_a_suggestion() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    secret_config(dir.path(), "from_env = \"CI_SECRET_TOKEN\"");
    let d = dir.path().to_str().expect("utf-8");
    let env = [("CI_SECRET_TOKEN", SENTINEL)];
    for (flag, cmd) in [("--target", "plan"), ("--exclude", "plan"), ("--target", "apply")] {
        let o = run(&[cmd, d, "--endpoint", &serve.url, flag, "template.lab.bsae"], &env);
        assert_eq!(o.status.code(), Some(1), "{cmd} {flag}: {}", text(&o));
        let err = flat(&o);
        assert!(
            err.contains(&format!("{flag} template.lab.bsae matches nothing")),
            "{cmd} {flag}: {}",
            text(&o)
        );
        assert!(err.contains("did you mean template.lab.base?"), "{cmd} {flag}: {}", text(&o));
    }
    assert_eq!(spaces(&serve).await, Vec::<String>::new());
    // Nothing near: no suggestion, a hint at the form.
    let o = run(&["plan", d, "--endpoint", &serve.url, "--target", "user.zzzzzzzz"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!flat(&o).contains("did you mean"), "{}", text(&o));
    // A correct target plans.
    let o = run(&["plan", d, "--endpoint", &serve.url, "--target", "template.lab.base"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Something only on the cluster (applied, then removed from the config) is known too.
    let o = run(&["apply", d, "--endpoint", &serve.url, "--auto-approve"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let main = dir.path().join("main.hcl");
    let hcl = std::fs::read_to_string(&main).expect("read");
    let cut = hcl.find("secret \"token\"").expect("the secret block");
    std::fs::write(&main, &hcl[..cut]).expect("write");
    let o =
        run(&["plan", d, "--endpoint", &serve.url, "--prune", "--target", "secret.lab.token"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

// Regression: without a stack file every config was the stack `default`, so two repositories
// applying to one cluster pruned each other. A remote target (or an explicit local store) now
// needs a name; the error shows the line to add; the implicit local cluster keeps `default`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_name_is_required_on_any_target_but_the_implicit_local_cluster() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    secret_config(dir.path(), "from_env = \"CI_SECRET_TOKEN\"");
    std::fs::remove_file(dir.path().join("cordium.hcl")).expect("remove the stack file");
    let d = dir.path().to_str().expect("utf-8");
    let env = [("CI_SECRET_TOKEN", SENTINEL)];
    let store = dir.path().join("explicit.db");
    let store = store.to_str().expect("utf-8");
    for target in [["--endpoint", serve.url.as_str()], ["--local", store]] {
        for cmd in ["plan", "apply", "destroy"] {
            let mut args = vec![cmd, d, target[0], target[1], "--auto-approve"];
            if cmd == "plan" {
                args.pop();
            }
            let o = run(&args, &env);
            assert_eq!(o.status.code(), Some(1), "{cmd} {target:?}: {}", text(&o));
            let err = flat(&o);
            assert!(err.contains("a stack name is required"), "{cmd}: {}", text(&o));
            assert!(err.contains("`stack \"NAME\" {}` to cordium.hcl"), "{cmd}: {}", text(&o));
            assert!(err.contains("`stack: {name: NAME}` to cordium.yaml"), "{cmd}: {}", text(&o));
        }
    }
    assert_eq!(spaces(&serve).await, Vec::<String>::new());
    assert!(!Path::new(store).exists(), "the explicit store was written");
    // --stack or CORDIUM_STACK names it; the objects carry it.
    let o = run(&["plan", d, "--endpoint", &serve.url, "--stack", "one"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(
        &["apply", d, "--endpoint", &serve.url, "--auto-approve"],
        &[("CI_SECRET_TOKEN", SENTINEL), ("CORDIUM_STACK", "one")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let c = client(&serve).await;
    let listed = c.list(Kind::Space, &Scope::All).await.expect("list");
    let lab = listed.iter().find(|o| o.name().starts_with("lab")).expect("the Space");
    let labels = cordium::live::convert::from_wire(lab).metadata.labels;
    assert_eq!(labels.get("cordium-stack").map(String::as_str), Some("one"), "{labels:?}");
    // A bad name, and a name that disagrees with the stack file.
    let o = run(&["plan", d, "--endpoint", &serve.url, "--stack", "Not_A_Name"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("is not a stack name"), "{}", text(&o));
    std::fs::write(dir.path().join("cordium.hcl"), "stack \"two\" {}\n").expect("write");
    let o = run(&["plan", d, "--endpoint", &serve.url, "--stack", "one"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("names the stack `two`, but --stack"), "{}", text(&o));
    // The implicit local cluster keeps the `default` stack.
    std::fs::remove_file(dir.path().join("cordium.hcl")).expect("remove");
    let o = run(&["plan", d], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// A stack file, a Space, a Template with a pre-build and two Workspaces started from it.
fn built_stack(dir: &Path) {
    std::fs::write(dir.join("cordium.hcl"), "stack \"sig\" {}\n").expect("write");
    let doc = |kind: &str, name: &str, extra: &str| {
        format!("apiVersion: cordium/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}---\n")
    };
    let mut y = doc("Space", "lab", "spec: {}\n");
    y += &doc(
        "Template",
        "gpu.lab",
        "spec:\n  image:\n    registry:\n      url: python:3.12\nprebuild: {}\n",
    );
    for i in 0..2 {
        y += &doc("Workspace", &format!("w{i}.lab"), "template: gpu\n");
    }
    std::fs::write(dir.join("main.yaml"), y).expect("write");
}

/// A child whose stdout is read on a thread.
struct Running {
    child: std::process::Child,
    seen: String,
    rest: std::thread::JoinHandle<String>,
}

/// `apply --output json` in the background, its stdout read up to the first build progress
/// event.
async fn apply_until_building(d: &str, url: &str, extra: &[&str]) -> Running {
    let mut child = cordium_as_admin()
        .args(["apply", d, "--endpoint", url, "--auto-approve", "--output", "json"])
        .args(extra)
        .env_remove("CORDIUM_STACK")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cordium starts");
    let stdout = child.stdout.take().expect("piped");
    let (reader, seen) = tokio::task::spawn_blocking(move || {
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
    assert!(seen.contains("\"progress\""), "no build progress: {seen}");
    // The rest, read while the child runs (a full pipe would block it).
    let rest = std::thread::spawn(move || {
        let mut reader = reader;
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut s);
        s
    });
    Running { child, seen, rest }
}

/// Waits for the child; its output with the whole stdout.
fn finish(r: Running) -> Output {
    let mut o = r.child.wait_with_output().expect("cordium ends");
    let rest = r.rest.join().expect("joined");
    o.stdout = format!("{}{rest}", r.seen).into_bytes();
    o
}

fn statuses(o: &Output, list: &str) -> Vec<String> {
    let s = crate::apply::summary(o);
    let mut out: Vec<String> = s[list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    format!(
                        "{} {}",
                        v["kind"].as_str().unwrap_or(""),
                        v["address"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn workspaces(serve: &Serve) -> usize {
    let c = client(serve).await;
    c.list(Kind::Workspace, &Scope::Space("lab.admin".into())).await.map(|l| l.len()).unwrap_or(0)
}

/// Whether the stack's lock is held (its lock Template in the anchor Space names a holder).
async fn lock_held(serve: &Serve) -> bool {
    use cordium::apply::lock::{group_name, LockPlace, TemplatePlace};
    let place = TemplatePlace {
        cluster: client(serve).await,
        name: group_name("sig"),
        space: "lab.admin".into(),
    };
    place.get().await.ok().is_some_and(|f| f.holder.is_some())
}

// Regression: SIGTERM (CI runners, `timeout`, `docker stop`) killed apply with no summary and
// left the lock for its full expiry; the first Ctrl-C cancelled running builds. Now the first
// signal lets the running build finish, starts nothing new, prints the summary, releases the
// lock and exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_running_build_finish_prints_the_summary_and_releases_the_lock() {
    let serve = Serve::start(&["--build-duration", "3s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let running = apply_until_building(d, &serve.url, &[]).await;
    assert!(lock_held(&serve).await, "the apply holds its lock while it builds");
    send("-TERM", running.child.id());
    let o = finish(running);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let events = assert_stream(&o);
    assert!(
        events.iter().any(|e| e["event"] == "notice" && e["notice"] == "stopping"),
        "{}",
        text(&o)
    );
    let s = crate::apply::summary(&o);
    assert_eq!(s["interrupted"], true, "{}", text(&o));
    assert!(statuses(&o, "done").contains(&"build template.lab.gpu".to_string()), "{}", text(&o));
    assert!(statuses(&o, "done").iter().all(|s| !s.contains("workspace.")), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SIGTERM: stopping"), "{}", text(&o));
    assert_eq!(workspaces(&serve).await, 0, "a new operation started after the signal");
    assert!(!lock_held(&serve).await, "the lock was not released");
    // The next apply finds the lock free and finishes the stack.
    let o = run(&["apply", d, "--endpoint", &serve.url, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(workspaces(&serve).await, 2);
}

// A second SIGINT cancels the running build; so does --stop-timeout after the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_or_the_stop_timeout_cancels_the_running_build() {
    let serve = Serve::start(&["--build-duration", "60s"]);
    for (second, extra) in [(true, vec![]), (false, vec!["--stop-timeout", "1s"])] {
        let dir = tempfile::tempdir().expect("tempdir");
        built_stack(dir.path());
        let d = dir.path().to_str().expect("utf-8");
        let began = std::time::Instant::now();
        let running = apply_until_building(d, &serve.url, &extra).await;
        send("-INT", running.child.id());
        if second {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            send("-INT", running.child.id());
        }
        let o = finish(running);
        assert!(began.elapsed() < std::time::Duration::from_secs(30), "{:?}", began.elapsed());
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert_stream(&o);
        assert_eq!(crate::apply::summary(&o)["interrupted"], true, "{}", text(&o));
        assert_eq!(statuses(&o, "failed"), ["build template.lab.gpu"], "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let why = if second { "a second SIGINT: cancelling" } else { "--stop-timeout 1s passed" };
        assert!(err.contains(why), "{}", text(&o));
        assert!(text(&o).contains("was cancelled"), "{}", text(&o));
        assert!(!lock_held(&serve).await, "the lock was not released");
        // Its own Space again for the next round.
        let o = run(&["destroy", d, "--endpoint", &serve.url, "--auto-approve"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}

// Regression: a runner killed with SIGKILL left its lock for the whole expiry, the refusal gave
// no way out, and the holder was `$USER@host` with no CI run. The refusal now names the CI run
// and the lock id; `force-unlock` with that id removes it (and with another id, nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_unlock_removes_a_dead_holders_lock_by_the_id_the_refusal_printed() {
    let serve = Serve::start(&["--build-duration", "60s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let mut cmd = cordium_as_admin();
    cmd.args(["apply", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"])
        .env_remove("CORDIUM_STACK")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_REPOSITORY", "acme/infra")
        .env("GITHUB_SERVER_URL", "https://github.example.com")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("cordium starts");
    let stdout = child.stdout.take().expect("piped");
    tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) > 0 {
            if line.contains("\"progress\"") {
                break;
            }
            line.clear();
        }
    })
    .await
    .expect("read");
    send("-KILL", child.id());
    let _ = child.wait();
    assert!(lock_held(&serve).await, "the killed apply left its lock");
    let refused = run(&["apply", d, "--endpoint", &serve.url, "--auto-approve"], &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = flat(&refused);
    assert!(
        err.contains("(https://github.example.com/acme/infra/actions/runs/4242)"),
        "the holder names the CI run: {}",
        text(&refused)
    );
    let id = err
        .split("Lock id ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("no lock id: {}", text(&refused)))
        .to_string();
    assert!(err.contains(&format!("`cordium force-unlock {id}`")), "{}", text(&refused));
    // Another id removes nothing.
    let o = run(&["force-unlock", d, "0000-not-it", "--endpoint", &serve.url], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains(&format!("with lock id {id}, not 0000-not-it")), "{}", text(&o));
    assert!(lock_held(&serve).await);
    // The right one does, once.
    let o = run(&["force-unlock", d, &id, "--endpoint", &serve.url], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Removed the lock Template"),
        "{}",
        text(&o)
    );
    assert!(!lock_held(&serve).await);
    let o = run(&["force-unlock", d, &id, "--endpoint", &serve.url], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("the stack's lock is not held"), "{}", text(&o));
    // The lock is free: an apply of the Space alone takes and releases it.
    let o = run(
        &["apply", d, "--endpoint", &serve.url, "--auto-approve", "--target", "space.lab"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The local cluster's file lock: nothing to force.
    let o = run(&["force-unlock", d, &id, "--local", "x.db"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("the OS releases it"), "{}", text(&o));
}

// Regression: `apply --output json` ended with a multi-line `{"error": ...}` without `event`,
// lines had no timestamps and warnings went to stderr only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_the_apply_stream_is_an_event_with_a_time_errors_and_warnings_included() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    std::fs::write(dir.path().join("cordium.yaml"), "stack: {name: stream}\n").expect("write");
    std::fs::write(
        dir.path().join("main.yaml"),
        "kind: Space\nmetadata: {name: lab}\nspec: {}\nstatus: {}\n---\n\
         kind: Secret\nmetadata: {name: tok.lab}\nfromEnv: CI_SECRET_TOKEN\n",
    )
    .expect("write");
    // The schema refuses what the stream used to print.
    let old = serde_json::json!({"error": "cannot read the cluster"});
    assert!(!stream_schema().is_valid(&old));
    let untimed = serde_json::json!({"event": "error", "message": "m"});
    assert!(!stream_schema().is_valid(&untimed));
    let apply = |env: &[(&str, &str)]| {
        run(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"], env)
    };
    // Invalid (the Secret's variable is unset): one error event with the diagnostics.
    let o = apply(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let events = assert_stream(&o);
    let last = events.last().expect("an event");
    assert_eq!(last["event"], "error", "{}", text(&o));
    let diags = last["diagnostics"].as_array().cloned().unwrap_or_default();
    let bad = diags.iter().find(|d| d["code"] == "secret-source").expect("the Secret's error");
    // Outside the working directory, the path is absolute.
    let file = bad["file"].as_str().unwrap_or_default();
    assert!(Path::new(file).is_absolute() && file.ends_with("/main.yaml"), "{file}");
    assert_eq!(bad["line"].as_u64(), Some(8));
    assert!(bad["message"].as_str().is_some_and(|m| m.contains("CI_SECRET_TOKEN")));
    // Applied: the warning is an event, then the plan, the steps and the summary.
    let env = [("CI_SECRET_TOKEN", SENTINEL)];
    let o = apply(&env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_sentinel(&o);
    let events = assert_stream(&o);
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    let warning = events.iter().position(|e| e["event"] == "warning").expect("a warning event");
    assert_eq!(events[warning]["code"], "status-ignored");
    assert_eq!(events[warning]["line"], 4);
    assert!(warning < names.iter().position(|n| *n == "plan").expect("the plan"), "{names:?}");
    assert!(names.contains(&"plan") && names.contains(&"finished"), "{names:?}");
    assert_eq!(names.last(), Some(&"summary"), "{names:?}");
    // Nothing to do: still a stream.
    let o = apply(&env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(assert_stream(&o).last().map(|e| e["event"].clone()), Some("summary".into()));
    // Any other failure (a stack file environment that does not exist) is an error event too.
    let o = run(
        &[
            "apply",
            d,
            "--endpoint",
            &serve.url,
            "--auto-approve",
            "--output",
            "json",
            "--env",
            "nope",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let events = assert_stream(&o);
    assert_eq!(events.len(), 1, "{}", text(&o));
    assert_eq!(events[0]["event"], "error");
    assert!(events[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// A Template that needs no build, to remove.
const SPARE: &str = "apiVersion: cordium/v1\nkind: Template\nmetadata:\n  name: spare.lab\n\
spec:\n  image:\n    registry:\n      url: node:22\n---\n";

// `--fail-on` gates a plan in CI: exit 3 after the plan is shown (and saved), naming the gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_exits_3_after_showing_the_plan_when_a_gate_matches() {
    let serve = Serve::start(&["--build-duration", "1s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let main = dir.path().join("main.yaml");
    let yaml = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, format!("{yaml}{SPARE}")).expect("write");
    let d = dir.path().to_str().expect("utf-8");
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", d, "--endpoint", serve.url.as_str()];
        args.extend_from_slice(extra);
        run(&args, &[])
    };
    let file = dir.path().join("p.plan");
    let f = file.to_str().expect("utf-8");
    let o = plan(&["--fail-on", "destroy,build", "--out", f, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("template.lab.gpu"), "the plan is shown");
    assert!(file.exists(), "the plan is saved");
    let err = flat(&o);
    assert!(err.contains("the plan has 1 snapshot build(s): --fail-on build"), "{}", text(&o));
    assert!(!err.contains("--fail-on destroy"), "{}", text(&o));
    let o = plan(&["--fail-on", "destroy", "--fail-on", "replace"]);
    assert_eq!(o.status.code(), Some(0), "nothing is destroyed or replaced: {}", text(&o));
    // apply refuses the same plan after showing it, with nothing changed.
    let o =
        run(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--fail-on", "build"], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(flat(&o).contains("--fail-on build; nothing was changed"), "{}", text(&o));
    assert_eq!(spaces(&serve).await, Vec::<String>::new());
    let o = run(
        &[
            "apply",
            f,
            "--config-dir",
            d,
            "--endpoint",
            &serve.url,
            "--fail-on",
            "build",
            "--output",
            "json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "a saved plan too: {}", text(&o));
    assert_eq!(assert_stream(&o).last().map(|e| e["event"].clone()), Some("error".into()));
    assert_eq!(spaces(&serve).await, Vec::<String>::new());
    let o = run(&["apply", d, "--endpoint", &serve.url, "--auto-approve"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = plan(&["--fail-on", "any"]);
    assert_eq!(o.status.code(), Some(0), "no changes: {}", text(&o));
    // A Template removed from the config and pruned is a destroy.
    let main = dir.path().join("main.yaml");
    let yaml = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, yaml.replace(SPARE, "")).expect("write");
    let o = plan(&["--prune", "--fail-on", "replace,destroy,any"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = flat(&o);
    assert!(err.contains("the plan has 1 destroy(s): --fail-on destroy"), "{}", text(&o));
    assert!(err.contains("the plan has changes: --fail-on any"), "{}", text(&o));
    assert!(!err.contains("--fail-on replace"), "{}", text(&o));
    let o = plan(&["--fail-on", "everything"]);
    assert_eq!(o.status.code(), Some(1), "an unknown gate is refused: {}", text(&o));
    assert!(flat(&o).contains("[possible values: destroy, replace, build, any]"), "{}", text(&o));
}

// A signal while an unattended apply plans under its lock (before the walk) ends it with the
// lock released and nothing changed, rather than leaving the lock for its expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_before_the_walk_releases_the_lock_and_changes_nothing() {
    let serve = Serve::start(&["--latency", "400ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    built_stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    // The Space first, so that the lock is taken in it before the plan is read.
    let o = run(
        &["apply", d, "--endpoint", &serve.url, "--auto-approve", "--target", "space.lab"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let child = cordium_as_admin()
        .args(["apply", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"])
        .env_remove("CORDIUM_STACK")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cordium starts");
    let mut held = false;
    for _ in 0..200 {
        if lock_held(&serve).await {
            held = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(held, "the apply never took its lock");
    send("-TERM", child.id());
    let o = child.wait_with_output().expect("cordium ends");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let events = assert_stream(&o);
    let last = events.last().expect("an event");
    assert_eq!(last["event"], "error", "{}", text(&o));
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("SIGTERM before anything was changed")),
        "{}",
        text(&o)
    );
    assert!(!events.iter().any(|e| e["event"] == "started"), "a step started: {}", text(&o));
    assert!(!lock_held(&serve).await, "the lock was not released");
    assert_eq!(workspaces(&serve).await, 0);
}

/// A stack with a sensitive variable (a Template's runtime var) and a plain one.
fn variable_config(dir: &Path) {
    std::fs::write(dir.join("cordium.hcl"), "stack \"ci\" {}\n").expect("write");
    std::fs::write(
        dir.join("main.hcl"),
        "variable \"token\" {\n  sensitive = true\n}\n\nvariable \"branch\" {\n  default = \
         \"main\"\n}\n\nspace \"lab\" {}\n\ntemplate \"base\" {\n  space = space.lab\n  \
         display_name = \"base ${var.branch}\"\n  image {\n    registry {\n      url = \
         \"node:22\"\n    }\n  }\n  var \"TOKEN\" {\n    value = var.token\n  }\n}\n",
    )
    .expect("write");
}

/// `cordium` run in `cwd`.
fn run_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c: Command = cordium_as_admin();
    c.current_dir(cwd).args(args).env_remove("CORDIUM_STACK").env_remove("CORDIUM_VAR_token");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("cordium runs")
}

// Regression: `cordium apply p1.plan` needed --config-dir, --env and the target again, loaded
// the whole filesystem when run from `/`, ignored --target, and applied a changed sensitive
// variable without a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_applies_alone_from_any_directory_and_refuses_what_would_change_it() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    variable_config(dir.path());
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("p1.plan");
    let f = file.to_str().expect("utf-8");
    let token = [("CORDIUM_VAR_token", SENTINEL)];
    let o = run_in(
        dir.path(),
        &["plan", ".", "--endpoint", &serve.url, "--var", "branch=dev", "--out", f],
        &token,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let saved = std::fs::read_to_string(&file).expect("the plan file");
    assert!(!saved.contains(SENTINEL), "the plan file holds the sensitive value");
    let root = Path::new("/");
    // Flags that would change the plan are refused, each with a sentence; nothing is written.
    let refusals: Vec<FlagCase<&str>> = vec![
        (vec!["--target", "template.lab.base"], vec![], "--target template.lab.base differs"),
        (
            vec!["--endpoint", "http://127.0.0.1:1"],
            vec![],
            "--endpoint http://127.0.0.1:1 names another cluster",
        ),
        (
            vec![],
            vec![("CORDIUM_ENDPOINT", "http://127.0.0.1:1")],
            "CORDIUM_ENDPOINT=http://127.0.0.1:1 names another cluster",
        ),
        (vec!["--var", "branch=prod"], vec![], "--var/--var-file differ"),
        (vec!["--env", "production"], vec![], "--env production differs"),
    ];
    for (flags, env, expected) in refusals {
        let mut args = vec!["apply", f];
        args.extend(flags.iter().copied());
        let mut env = env.clone();
        env.extend(token);
        let o = run_in(root, &args, &env);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(flat(&o).contains(expected), "{args:?}: {}", text(&o));
        assert_no_sentinel(&o);
    }
    // The sensitive variable changed since the plan: refused by name, the value never shown.
    let o = run_in(root, &["apply", f], &[("CORDIUM_VAR_token", "another-value-77")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(flat(&o).contains("sensitive variable token has another value"), "{}", text(&o));
    assert!(!text(&o).contains("another-value-77"), "{}", text(&o));
    assert_eq!(spaces(&serve).await, Vec::<String>::new(), "a refused apply wrote something");
    // Alone, from `/`: applied exactly (the plan's `--var branch=dev` included).
    let o = run_in(root, &["apply", f], &token);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_sentinel(&o);
    assert_eq!(spaces(&serve).await.len(), 1, "{}", text(&o));
    let again =
        run_in(dir.path(), &["plan", ".", "--endpoint", &serve.url, "--var", "branch=dev"], &token);
    assert!(text(&again).contains("No changes"), "{}", text(&again));
}

// Regression: a var file inside the config directory was loaded as a resource file and failed,
// and any docker-compose.yml under the root broke validate.
#[test]
fn only_cordium_documents_are_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("cordium.hcl"),
        "stack \"ci\" {}\n\nenvironment \"staging\" {\n  local = \".cordium/l.db\"\n  var_files = \
         [\"env/staging.hcl\"]\n}\n",
    )
    .expect("write");
    std::fs::create_dir_all(d.join("env")).expect("mkdir");
    std::fs::create_dir_all(d.join("vendor/x")).expect("mkdir");
    std::fs::write(
        d.join("main.hcl"),
        "variable \"branch\" {\n  default = \"main\"\n}\n\nspace \"lab\" {}\n",
    )
    .expect("write");
    // Named by the stack file: a var file, never config, whichever --env is chosen.
    std::fs::write(d.join("env/staging.hcl"), "branch = \"staging\"\n").expect("write");
    // Not named anywhere, but only `name = value` lines: skipped with a warning.
    std::fs::write(d.join("env/other.hcl"), "branch = \"other\"\n").expect("write");
    std::fs::write(d.join("docker-compose.yml"), "services:\n  web:\n    image: nginx\n")
        .expect("write");
    std::fs::write(
        d.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
    )
    .expect("write");
    // Ignored by .cordiumignore (gitignore syntax): never read, even broken.
    std::fs::write(d.join(".cordiumignore"), "# tools\nvendor/\n*.generated.hcl\n").expect("write");
    std::fs::write(d.join("vendor/x/broken.hcl"), "space {{{").expect("write");
    std::fs::write(d.join("a.generated.hcl"), "space {{{").expect("write");
    for env in [None, Some("staging")] {
        let mut args = vec!["validate", ".", "--output", "json"];
        if let Some(e) = env {
            args.extend(["--env", e]);
        }
        let o = run_in(d, &args, &[]);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let codes: Vec<(&str, &str)> = doc["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| (d["code"].as_str().unwrap_or(""), d["file"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(
            codes,
            [
                ("not-cordium", "deploy.yaml"),
                ("not-cordium", "docker-compose.yml"),
                ("var-file-skipped", "env/other.hcl")
            ],
            "{args:?}: {}",
            text(&o)
        );
    }
    // `--format` still works (hidden), and `--output github` annotates.
    let o = run_in(d, &["validate", ".", "--format", "json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run_in(d, &["validate", ".", "--output", "github"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("::warning file=env/other.hcl,line=1,col=1,title=cordium var-file-skipped::"),
        "{out}"
    );
}

// Diagnostics name paths from the working directory (editors, CI annotations in monorepos),
// and `--output github` makes them workflow annotations.
#[test]
fn diagnostic_paths_are_relative_to_the_working_directory_and_annotated_for_github() {
    let repo = tempfile::tempdir().expect("tempdir");
    let cfg = repo.path().join("infra/cordium");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(cfg.join("main.hcl"), "space \"lab\" {\n  nmae = \"x\"\n}\n").expect("write");
    let o = run_in(repo.path(), &["validate", "infra/cordium", "--output", "json"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["diagnostics"][0]["file"], "infra/cordium/main.hcl", "{doc}");
    let o = run_in(repo.path(), &["validate", "infra/cordium", "--output", "github"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("::error file=infra/cordium/main.hcl,line=2,col=3,"), "{out}");
    // plan too, before any cluster is read.
    let o = run_in(repo.path(), &["plan", "infra/cordium", "--output", "github"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("::error file=infra/cordium/main.hcl,line=2,col=3,"), "{out}");
    // From elsewhere, the path is absolute (nothing relative would resolve).
    let other = tempfile::tempdir().expect("tempdir");
    let abs = cfg.canonicalize().expect("cfg");
    let o =
        run_in(other.path(), &["validate", abs.to_str().expect("utf-8"), "--output", "json"], &[]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["diagnostics"][0]["file"], abs.join("main.hcl").to_str().expect("utf-8"));
}

// `--json-out` writes the JSON beside the human output in the same run; Markdown carries the
// marker a bot updates its comment by, and names the stack and the environment; warnings reach
// JSON, Markdown and the apply stream, not only stderr; an endpoint from the environment that
// overrides `--env`'s is a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_out_markdown_marker_warnings_and_the_environment_in_every_output() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("cordium.hcl"),
        "stack \"ci\" {}\n\nenvironment \"staging\" {\n  endpoint = \"http://127.0.0.1:9\"\n}\n",
    )
    .expect("write");
    std::fs::write(d.join("main.hcl"), "space \"lab\" {}\n").expect("write");
    std::fs::write(d.join("compose.yml"), "services: {}\n").expect("write");
    let endpoint = [("CORDIUM_ENDPOINT", serve.url.as_str())];
    let json_file = d.join("plan.json");
    let j = json_file.to_str().expect("utf-8");
    let o = run_in(
        d,
        &["plan", ".", "--env", "staging", "--output", "markdown", "--json-out", j],
        &endpoint,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.starts_with("<!-- cordium:ci:staging -->\n"), "{md}");
    assert!(md.contains("stack `ci`, environment `staging`"), "{md}");
    assert!(md.contains("CORDIUM_ENDPOINT overrides the target of environment `staging`"), "{md}");
    assert!(md.contains("`compose.yml:1`"), "{md}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CORDIUM_ENDPOINT overrides"),
        "{}",
        text(&o)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).expect("--json-out"))
            .expect("JSON");
    assert_eq!(doc["environment"], "staging");
    assert_eq!(doc["summary"]["create"], 1);
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert_eq!(codes, ["not-cordium", "target-override"], "{doc}");
    // The human plan names the environment and the endpoint.
    let o = run_in(d, &["plan", ".", "--env", "staging"], &endpoint);
    assert!(
        text(&o).contains(&format!("Target: {} as admin, environment: staging", serve.url)),
        "{}",
        text(&o)
    );
    // Apply: human on stdout, the event stream in the file, warnings as events.
    let events = d.join("events.jsonl");
    let e = events.to_str().expect("utf-8");
    let o = run_in(
        d,
        &["apply", ".", "--env", "staging", "--auto-approve", "--json-out", e],
        &endpoint,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Apply complete"), "{}", text(&o));
    let stream = std::fs::read_to_string(&events).expect("--json-out");
    let lines: Vec<serde_json::Value> =
        stream.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    for l in &lines {
        let errors: Vec<String> = stream_schema().iter_errors(l).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}: {l}");
    }
    let names: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    let warnings = lines.iter().filter(|l| l["event"] == "warning").count();
    assert_eq!(warnings, 2, "the compose file and the endpoint override: {names:?}");
    assert!(names.contains(&"plan") && names.last() == Some(&"summary"), "{names:?}");
}

// `--no-color`, `--color`, NO_COLOR and FORCE_COLOR.
#[test]
fn colour_follows_the_flags_then_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.hcl"), "space \"lab\" {\n  nmae = 1\n}\n").expect("write");
    let esc = |o: &Output| String::from_utf8_lossy(&o.stderr).contains('\u{1b}');
    let cases: Vec<FlagCase<bool>> = vec![
        (vec![], vec![], false),
        (vec![], vec![("FORCE_COLOR", "1")], true),
        (vec![], vec![("CLICOLOR_FORCE", "1")], true),
        (vec!["--color", "always"], vec![], true),
        (vec![], vec![("FORCE_COLOR", "1"), ("NO_COLOR", "1")], false),
        (vec!["--no-color"], vec![("FORCE_COLOR", "1")], false),
        (vec!["--color", "never"], vec![("FORCE_COLOR", "1")], false),
    ];
    for (flags, env, want) in cases {
        let mut args = vec!["validate", "."];
        args.extend(flags.iter().copied());
        let mut c: Command = cordium_as_admin();
        c.current_dir(dir.path())
            .args(&args)
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in &env {
            c.env(k, v);
        }
        let o = c.output().expect("runs");
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(esc(&o), want, "{args:?} {env:?}: {}", text(&o));
    }
}

// Off a terminal (a pipe, a file, a CI log) every human output is plain ASCII: the summary
// table, the diagnostic frames, the diff arrow, apply's check marks. Forcing colour (`--color
// always`, FORCE_COLOR, CLICOLOR_FORCE) restores the Unicode (docs/output.md).
#[test]
fn human_output_off_a_terminal_is_ascii_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("cordium.hcl"), "stack \"asc\" {}\n").expect("write");
    // `status:` draws a warning with a source frame on every command.
    let space = |desc: &str| {
        format!(
            "kind: Space\nmetadata:\n  name: lab\n  displayName: Lab\n  description: {desc}\n\
             status:\n  x: 1\n"
        )
    };
    std::fs::write(d.join("main.yaml"), space("one")).expect("write");
    let bad_dir = tempfile::tempdir().expect("tempdir");
    let bad = bad_dir.path().to_str().expect("utf-8 path");
    let bad = bad.to_string();
    let bad = bad.as_str();
    std::fs::write(bad_dir.path().join("main.hcl"), "space \"lab\" {\n  nmae = 1\n}\n")
        .expect("write");
    let run = |args: &[&str], env: &[(&str, &str)]| -> Output {
        let mut c: Command = cordium_as_admin();
        c.current_dir(d)
            .args(args)
            .env_remove("CORDIUM_STACK")
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("cordium runs")
    };
    let non_ascii = |o: &Output| -> Vec<String> {
        let all =
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        all.lines().filter(|l| !l.is_ascii()).map(String::from).collect()
    };
    let out = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let err = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let applied = run(&["apply", ".", "--local", "s.db", "--auto-approve"], &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert!(
        applied.stdout.iter().chain(&applied.stderr).all(|b| *b < 0x80),
        "{:?}",
        non_ascii(&applied)
    );
    assert!(out(&applied).contains("| kind  | create |"), "{}", text(&applied));
    assert!(out(&applied).contains("ok space.lab: created"), "{}", text(&applied));
    assert!(err(&applied).contains(",-[main.yaml:6:1]"), "{}", text(&applied));

    std::fs::write(d.join("main.yaml"), space("two")).expect("write");
    let plan = run(&["plan", ".", "--local", "s.db"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(plan.stdout.iter().chain(&plan.stderr).all(|b| *b < 0x80), "{:?}", non_ascii(&plan));
    assert!(out(&plan).contains("metadata.description = \"one\" -> \"two\""), "{}", text(&plan));
    assert!(out(&plan).contains("+-------+--------+"), "{}", text(&plan));

    let invalid = run(&["validate", bad], &[]);
    assert_eq!(invalid.status.code(), Some(1), "{}", text(&invalid));
    assert!(
        invalid.stdout.iter().chain(&invalid.stderr).all(|b| *b < 0x80),
        "{:?}",
        non_ascii(&invalid)
    );
    assert!(err(&invalid).contains(&format!(",-[{bad}/main.hcl:2:3]")), "{}", text(&invalid));

    // NO_COLOR and --color never say nothing about the terminal: still ASCII in a pipe.
    for (flags, env) in
        [(vec!["--color", "never"], vec![("FORCE_COLOR", "1")]), (vec![], vec![("NO_COLOR", "1")])]
    {
        let mut args = vec!["plan", ".", "--local", "s.db"];
        args.extend(flags.iter().copied());
        let o = run(&args, &env);
        assert!(non_ascii(&o).is_empty(), "{args:?} {env:?}: {:?}", non_ascii(&o));
    }

    let forced: Vec<FlagCase<()>> = vec![
        (vec!["--color", "always"], vec![], ()),
        (vec![], vec![("FORCE_COLOR", "1")], ()),
        (vec![], vec![("CLICOLOR_FORCE", "1")], ()),
    ];
    for (flags, env, ()) in forced {
        let mut args = vec!["plan", ".", "--local", "s.db"];
        args.extend(flags.iter().copied());
        let o = run(&args, &env);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(out(&o).contains(" → ") && out(&o).contains('╭'), "{args:?} {env:?}: {}", text(&o));
        assert!(err(&o).contains("╭─["), "{args:?} {env:?}: {}", text(&o));
        let mut args = vec!["validate", bad];
        args.extend(flags.iter().copied());
        let o = run(&args, &env);
        assert!(err(&o).contains("╭─["), "{args:?} {env:?}: {}", text(&o));
    }
    let o = run(&["apply", ".", "--local", "s.db", "--auto-approve", "--color", "always"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out(&o).contains('✓') && out(&o).contains(" space.lab: updated after"), "{}", text(&o));
}
