//! Kubernetes through the real binary against `cordium serve --kube-listen` (docs/kubernetes.md):
//! apply waits for each finished build's VolumeSnapshot before creating the Workspaces that use
//! its Template (the order read from serve's `kube.log`), a snapshot error fails the build step
//! and skips exactly its dependents, the errors of a missing CRD, missing RBAC and a snapshot
//! that never appears, and the Lease lock (contention, a holder killed with SIGKILL, force-unlock).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::apply::{cordium, lines, summary, text};
use crate::support::{cordium_as_admin, send, Serve};

/// A served cluster with its simulated Kubernetes; the data dir holds `kubeconfig`, `kube.log`.
struct Kube {
    serve: Serve,
    data: tempfile::TempDir,
}

impl Kube {
    fn start(extra: &[&str]) -> Kube {
        let data = tempfile::tempdir().expect("tempdir");
        let d = data.path().to_str().expect("utf-8").to_string();
        let mut args = vec!["--data", d.as_str(), "--kube-listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Kube { serve: Serve::start(&args), data }
    }

    fn kubeconfig(&self) -> String {
        self.data.path().join("kubeconfig").to_str().expect("utf-8").to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("kube.log")).unwrap_or_default()
    }

    /// `apply DIR --auto-approve --output json` with this Kubernetes access, and `extra`.
    fn apply(&self, dir: &Path, extra: &[&str]) -> std::process::Output {
        let d = dir.to_str().expect("utf-8");
        let k = self.kubeconfig();
        let mut args = vec!["apply", d, "--endpoint", &self.serve.url, "--auto-approve"];
        args.extend_from_slice(&["--output", "json", "--kubeconfig", &k]);
        args.extend_from_slice(extra);
        cordium(&args)
    }

    /// The log once it has `n` Workspace lines (or after 5 s).
    fn log_with_workspaces(&self, n: usize) -> String {
        let began = Instant::now();
        loop {
            let log = self.log();
            if workspace_lines(&log).len() >= n || began.elapsed() > Duration::from_secs(5) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the log has a line containing `what` (the simulated controller ticks every
    /// 100 ms).
    fn wait_log(&self, what: &str, within: Duration) -> bool {
        let began = Instant::now();
        while began.elapsed() < within {
            if self.log().contains(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Space `lab`; Template `env` (pre-built) used by Workspaces `one` and `two`; Template `bad`
/// (pre-built) used by `three`; Template `plain` (no build) used by `four`.
fn stack(dir: &Path) {
    let doc = |kind: &str, name: &str, extra: &str| {
        format!("apiVersion: cordium/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra}---\n")
    };
    let built = "spec:\n  image:\n    registry:\n      url: python:3.12\nprebuild: {}\n";
    let mut y = String::new();
    y += &doc("Space", "lab", "spec: {}\n");
    y += &doc("Template", "env.lab", built);
    y += &doc("Template", "bad.lab", built);
    y += &doc("Template", "plain.lab", "spec:\n  image:\n    registry:\n      url: node:22\n");
    y += &doc("Workspace", "one.lab", "template: env\n");
    y += &doc("Workspace", "two.lab", "template: env\n");
    y += &doc("Workspace", "three.lab", "template: bad\n");
    y += &doc("Workspace", "four.lab", "template: plain\n");
    std::fs::write(dir.join("main.yaml"), y).expect("write");
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

/// The log's Workspace lines, by Workspace display name (the stored name is the server's).
fn workspace_lines(log: &str) -> Vec<String> {
    log.lines().filter(|l| l.contains(" Workspace ")).map(str::to_string).collect()
}

#[test]
fn apply_waits_for_each_snapshot_before_creating_the_workspaces_that_use_it() {
    let k = Kube::start(&["--build-duration", "300ms", "--kube-snapshot-delay", "1500ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let o = k.apply(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", text(&o), k.log());
    // Every line of the stream, the snapshot events included, is valid against its schema.
    crate::ci::assert_stream(&o);
    // Every view reports the wait: JSON events with the snapshot's states.
    let events: Vec<Value> = lines(&o).into_iter().filter(|v| v["event"] == "snapshot").collect();
    let states = |addr: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["address"] == addr)
            .map(|e| e["state"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for t in ["template.lab.env", "template.lab.bad"] {
        let s = states(t);
        assert_eq!(s.last().map(String::as_str), Some("ready"), "{t}: {s:?}\n{}", text(&o));
        assert!(s.len() >= 2, "{t}: seen before it was ready: {s:?}");
    }
    let ready = events.iter().find(|e| e["state"] == "ready").expect("a ready event");
    assert_eq!(ready["restore_size"], "1Gi");
    assert_eq!(ready["namespace"], "octelium");
    // The order, from serve's log: each Workspace of a pre-built Template was created after
    // its snapshot was readyToUse (the simulated controller says which ones restore).
    let log = k.log_with_workspaces(4);
    let ws = workspace_lines(&log);
    assert_eq!(ws.len(), 4, "{log}");
    let restoring = ws.iter().filter(|l| l.contains("restores from ready VolumeSnapshot")).count();
    assert_eq!(restoring, 3, "{log}");
    assert!(!log.contains("starts cold"), "{log}");
    assert!(
        log.contains("its Template has no ready build"),
        "four uses a Template without a build:\n{log}"
    );
}

#[test]
fn without_kubernetes_access_workspaces_start_cold_and_the_plan_says_so() {
    let k = Kube::start(&["--build-duration", "300ms", "--kube-snapshot-delay", "3s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let plan = cordium(&["plan", d, "--endpoint", &k.serve.url]);
    let out = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(out.contains("Snapshot readiness is not verified"), "{}", text(&plan));
    let o =
        cordium(&["apply", d, "--endpoint", &k.serve.url, "--auto-approve", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(lines(&o).iter().all(|v| v["event"] != "snapshot"), "{}", text(&o));
    assert!(
        k.wait_log("starts cold", Duration::from_secs(3)),
        "what the wait prevents:\n{}",
        k.log()
    );
}

#[test]
fn a_snapshot_error_fails_the_build_step_and_skips_exactly_its_workspaces() {
    let k = Kube::start(&["--build-duration", "200ms", "--kube-snapshot-fail", "bad.lab"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let o = k.apply(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = summary(&o);
    assert_eq!(addresses(&s, "failed"), ["build template.lab.bad"], "{}", text(&o));
    assert_eq!(addresses(&s, "skipped"), ["create workspace.lab.three"], "{}", text(&o));
    let done = addresses(&s, "done");
    for w in ["one", "two", "four"] {
        assert!(done.contains(&format!("create workspace.lab.{w}")), "{w}: {done:?}");
    }
    let failed = lines(&o).into_iter().find(|v| v["event"] == "failed").expect("failed event");
    let error = failed["error"].as_str().unwrap_or("");
    assert!(error.contains("simulated CSI driver failure"), "{error}");
    assert!(error.contains("is READY but its snapshot is not"), "{error}");
    assert_eq!(failed["error_kind"], "failed");

    // The plan shows each pre-built Template's snapshot, in JSON, text and Markdown.
    let d = dir.path().to_str().expect("utf-8");
    let kc = k.kubeconfig();
    let plan = |format: &str| {
        let args = ["plan", d, "--endpoint", &k.serve.url, "--kubeconfig", &kc, "--output", format];
        let o = cordium(&args);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let doc: Value = serde_json::from_str(&plan("json")).expect("the JSON plan");
    assert_eq!(doc["format_version"], "1.3");
    let snaps = &doc["snapshots"];
    assert_eq!(
        (snaps["verified"].clone(), snaps["namespace"].clone()),
        (true.into(), "octelium".into())
    );
    let state = |t: &str| {
        snaps["templates"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["template"] == t).cloned())
            .unwrap_or_else(|| panic!("{t} in {snaps}"))
    };
    assert_eq!(state("template.lab.env")["state"], "ready");
    assert_eq!(state("template.lab.env")["restore_size"], "1Gi");
    assert_eq!(state("template.lab.bad")["state"], "failed");
    assert!(state("template.lab.bad")["message"].as_str().unwrap_or("").contains("simulated CSI"));
    let human = plan("human");
    assert!(human.contains("Snapshots in Kubernetes namespace octelium:"), "{human}");
    assert!(human.contains("template.lab.env: ready (1Gi), VolumeSnapshot "), "{human}");
    let md = plan("markdown");
    assert!(md.contains("- template.lab.bad: failed: "), "{md}");
}

#[test]
fn a_missing_crd_missing_rbac_and_a_snapshot_that_never_appears_are_named() {
    let cases: [(&[&str], &[&str], &str); 3] = [
        (&["--kube-without-snapshot-crd"], &[], "is the CSI snapshot CRD installed?"),
        (
            &["--kube-forbid", "list/volumesnapshots"],
            &[],
            "refused to list volumesnapshots.snapshot.storage.k8s.io in namespace octelium",
        ),
        (
            &["--kube-snapshot-skip", "env.lab"],
            &["--snapshot-timeout", "2s"],
            "never appeared in namespace octelium within 2s",
        ),
    ];
    for (serve_flags, apply_flags, expected) in cases {
        let mut flags = vec!["--build-duration", "200ms"];
        flags.extend_from_slice(serve_flags);
        let k = Kube::start(&flags);
        let dir = tempfile::tempdir().expect("tempdir");
        stack(dir.path());
        let o = k.apply(dir.path(), apply_flags);
        assert_eq!(o.status.code(), Some(1), "{serve_flags:?}: {}", text(&o));
        let errors: Vec<String> = lines(&o)
            .into_iter()
            .filter(|v| v["event"] == "failed")
            .map(|v| v["error"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{serve_flags:?}: {errors:?}\n{}",
            text(&o)
        );
        // No Workspace of a Template whose snapshot was not verified was created.
        let s = summary(&o);
        assert!(
            addresses(&s, "skipped").contains(&"create workspace.lab.one".to_string()),
            "{}",
            text(&o)
        );
    }
}

/// `apply` in the background (as [`Kube::apply`]), with its output piped.
fn spawn_apply(k: &Kube, dir: &Path, extra: &[&str]) -> std::process::Child {
    let d = dir.to_str().expect("utf-8");
    let kc = k.kubeconfig();
    let mut args = vec!["apply", d, "--endpoint", &k.serve.url, "--auto-approve"];
    args.extend_from_slice(&["--output", "json", "--kubeconfig", &kc]);
    args.extend_from_slice(extra);
    cordium_as_admin()
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply starts")
}

const LEASE: &str = "Lease cordium-lock-default";

/// The text of a refusal by the lock (stderr, or the JSON error line).
fn refusal(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout))
}

fn kubectl_get(k: &Kube) -> Option<String> {
    let o = Command::new("kubectl")
        .args(["get", "volumesnapshots,leases", "--kubeconfig", &k.kubeconfig()])
        .output()
        .ok()?;
    assert!(o.status.success(), "kubectl: {}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8_lossy(&o.stdout).to_string())
}

/// The lines of serve's `kube.log` about the Lease, in order (`created`, `deleted`).
fn lease_events(log: &str) -> Vec<&'static str> {
    log.lines()
        .filter_map(|l| {
            if l.contains(&format!("{LEASE} created")) {
                Some("created")
            } else if l.contains(&format!("{LEASE} deleted")) {
                Some("deleted")
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn two_applies_contend_on_the_lease_one_refused_naming_the_holder_one_waiting() {
    let k = Kube::start(&["--build-duration", "3s", "--kube-snapshot-delay", "200ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let first = spawn_apply(&k, dir.path(), &[]);
    let pid = first.id();
    assert!(k.wait_log(&format!("{LEASE} created"), Duration::from_secs(10)), "{}", k.log());
    // The holder is held still (SIGSTOP) while the others look at its Lease: the Lease lasts
    // 2 minutes unrenewed, so it stays taken however slowly kubectl and the other applies start
    // on a loaded machine (with the holder running, its 3 s of builds raced them).
    send("-STOP", pid);
    // A stock kubectl reads both kinds from serve (when it is installed here).
    // (Not installed: the binary's kube client is the check that remains.)
    if let Some(out) = kubectl_get(&k) {
        assert!(out.contains("cordium-lock-default"), "{out}");
    }
    let refused = k.apply(dir.path(), &["--lock-timeout", "0s"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = refusal(&refused);
    assert!(why.contains("another apply holds the lock of stack `default`"), "{why}");
    assert!(why.contains(&format!("(pid {pid})")), "the holder is named: {why}");
    assert!(why.contains("does not look stale"), "{why}");
    // A waiter takes the Lease once the first apply releases it, and plans against its work.
    let mut waiter = spawn_apply(&k, dir.path(), &["--lock-timeout", "60s"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(matches!(waiter.try_wait(), Ok(None)), "the waiter waits for the held lock");
    assert_eq!(lease_events(&k.log()), ["created"], "taken once so far: {}", k.log());
    send("-CONT", pid);
    let first = first.wait_with_output().expect("first apply ends");
    let waited = waiter.wait_with_output().expect("the waiter ends");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(waited.status.code(), Some(0), "{}", text(&waited));
    let s = summary(&waited);
    assert!(addresses(&s, "done").is_empty(), "nothing left to do: {}", text(&waited));
    // Taken by the waiter only after the holder released it (the log is in serve's order).
    let log = k.log();
    assert_eq!(lease_events(&log), ["created", "deleted", "created", "deleted"], "{log}");
    if let Some(out) = kubectl_get(&k) {
        assert!(out.contains("volumesnapshot.snapshot.storage.k8s.io/"), "{out}");
        assert!(!out.contains("cordium-lock-default"), "released: {out}");
    }
}

/// The gap of issue 16's first design: which lock an apply took followed each applier's own
/// Kubernetes access, so one with access (the Lease) and one without (the lock Template) ran at
/// once. Now both take the cluster's lock, the first the Lease as well.
#[test]
fn an_apply_without_kubernetes_access_is_excluded_by_one_with_it_and_the_reverse() {
    let k = Kube::start(&["--build-duration", "3s", "--kube-snapshot-delay", "200ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    let plain = |extra: &[&str]| {
        let mut args = vec!["apply", d, "--endpoint", &k.serve.url, "--auto-approve"];
        args.extend_from_slice(&["--output", "json"]);
        args.extend_from_slice(extra);
        cordium(&args)
    };
    let first = spawn_apply(&k, dir.path(), &[]);
    let pid = first.id();
    assert!(k.wait_log(&format!("{LEASE} created"), Duration::from_secs(10)), "{}", k.log());
    send("-STOP", pid); // holds its locks however slowly the next apply starts
    let refused = plain(&["--lock-timeout", "0s"]);
    send("-CONT", pid);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = refusal(&refused);
    assert!(why.contains("another apply holds the lock of stack `default`"), "{why}");
    assert!(why.contains(&format!("(pid {pid})")), "the holder is named: {why}");
    let first = first.wait_with_output().expect("first apply ends");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // The reverse, on a fresh cluster: an apply without access holds the cluster's lock through
    // its builds (10 s); one with access is refused by it, before taking the Lease.
    let k = Kube::start(&["--build-duration", "10s", "--kube-snapshot-delay", "200ms"]);
    let holder = cordium_as_admin()
        .args(["apply", d, "--endpoint", &k.serve.url, "--auto-approve", "--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply starts");
    let pid = holder.id();
    std::thread::sleep(Duration::from_secs(3));
    send("-STOP", pid);
    let with_access = k.apply(dir.path(), &["--lock-timeout", "0s"]);
    send("-CONT", pid);
    assert_eq!(with_access.status.code(), Some(1), "{}", text(&with_access));
    let why = refusal(&with_access);
    assert!(why.contains("another apply holds the lock of stack `default`"), "{why}");
    assert!(why.contains(&format!("(pid {pid})")), "the holder is named: {why}");
    assert!(!k.log().contains(&format!("{LEASE} created")), "no Lease taken: {}", k.log());
    let holder = holder.wait_with_output().expect("ends");
    assert_eq!(holder.status.code(), Some(0), "{}", text(&holder));
}

#[test]
fn a_holder_killed_with_sigkill_loses_the_lease_after_expiry_and_the_next_apply_proceeds() {
    let k = Kube::start(&["--build-duration", "4s", "--kube-snapshot-delay", "200ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let mut holder = spawn_apply(&k, dir.path(), &["--lock-ttl", "4s"]);
    assert!(k.wait_log(&format!("{LEASE} created"), Duration::from_secs(10)), "{}", k.log());
    let killed_at = Instant::now();
    send("-KILL", holder.id());
    let _ = holder.wait();
    // Not taken over before it expires, although its pid is gone on this host.
    let refused = k.apply(dir.path(), &["--lock-timeout", "0s"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(refusal(&refused).contains("another apply holds the lock"), "{}", text(&refused));
    let next = k.apply(dir.path(), &["--lock-timeout", "30s", "--lock-ttl", "4s"]);
    assert_eq!(next.status.code(), Some(0), "{}\n{}", text(&next), k.log());
    assert!(killed_at.elapsed() >= Duration::from_secs(3), "taken over only after expiry");
    let log = k.log_with_workspaces(4);
    assert_eq!(log.matches(&format!("{LEASE} created")).count(), 2, "{log}");
    // Every Workspace exists once, created after its snapshot was ready.
    let ws = workspace_lines(&log);
    assert_eq!(ws.len(), 4, "{log}");
    assert!(!log.contains("starts cold"), "{log}");
}

#[test]
fn force_unlock_removes_the_lease_of_a_killed_holder() {
    let k = Kube::start(&["--build-duration", "30s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let mut holder = spawn_apply(&k, dir.path(), &[]);
    assert!(k.wait_log(&format!("{LEASE} created"), Duration::from_secs(10)), "{}", k.log());
    send("-KILL", holder.id());
    let _ = holder.wait();
    let refused = k.apply(dir.path(), &["--lock-timeout", "0s"]);
    let why = refusal(&refused);
    let id = why
        .split("Lock id ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("a lock id: {why}"))
        .to_string();
    let d = dir.path().to_str().expect("utf-8");
    let kc = k.kubeconfig();
    let unlock =
        cordium(&["force-unlock", d, &id, "--endpoint", &k.serve.url, "--kubeconfig", &kc]);
    assert_eq!(unlock.status.code(), Some(0), "{}", text(&unlock));
    let out = String::from_utf8_lossy(&unlock.stdout);
    assert!(out.contains("Removed the Lease cordium-lock-default in namespace octelium"), "{out}");
    assert!(k.log().contains(&format!("{LEASE} deleted")), "{}", k.log());
    // Gone: a second force-unlock removes nothing.
    let again = cordium(&["force-unlock", d, &id, "--endpoint", &k.serve.url, "--kubeconfig", &kc]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
}

/// The library's own client (`kube` underneath) against serve's Kubernetes API.
async fn client(k: &Kube) -> cordium::live::kube::Kube {
    use cordium::live::kube::{KubeAccess, KubeSource};
    let access = KubeAccess {
        source: KubeSource::Kubeconfig(k.kubeconfig().into()),
        context: None,
        namespace: "octelium".into(),
        snapshot_timeout: Duration::from_secs(5),
    };
    cordium::live::kube::Kube::connect(&access).await.expect("a client")
}

fn lease(name: &str, holder: &str) -> k8s_openapi::api::coordination::v1::Lease {
    use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
    Lease {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec { holder_identity: Some(holder.into()), ..Default::default() }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_lease_races_rbac_and_watches_with_api_semantics() {
    use cordium::live::kube::SnapshotState;
    use cordium::live::ErrorCode;
    let k = Kube::start(&["--kube-forbid", "delete/leases"]);
    let c = client(&k).await;
    let first = c.create_lease(&lease("l", "alice@a")).await.expect("created");
    let taken = c.create_lease(&lease("l", "bob@b")).await.expect_err("taken");
    assert_eq!(taken.code, ErrorCode::AlreadyExists, "{taken:?}");
    assert!(taken.message.contains("already exists"), "{taken:?}");
    // An update with the resourceVersion read wins once; the same version again is a 409.
    let mut next = first.clone();
    next.spec.as_mut().expect("spec").holder_identity = Some("alice@a2".into());
    let updated = c.replace_lease(&next).await.expect("updated");
    assert_ne!(updated.metadata.resource_version, first.metadata.resource_version);
    let stale = c.replace_lease(&next).await.expect_err("stale");
    assert_eq!(stale.code, ErrorCode::FailedPrecondition, "{stale:?}");
    assert!(stale.message.contains("the object has been modified"), "{stale:?}");
    let got = c.get_lease("l").await.expect("read");
    assert_eq!(got.spec.and_then(|s| s.holder_identity).as_deref(), Some("alice@a2"));
    // RBAC on demand: 403 naming the verb and the resource.
    let uid = first.metadata.uid.clone().unwrap_or_default();
    let denied = c.delete_lease("l", &uid, None).await.expect_err("forbidden");
    assert_eq!(denied.code, ErrorCode::PermissionDenied, "{denied:?}");
    assert!(denied.message.contains("cannot delete resource \"leases\""), "{denied:?}");
    assert!(denied.message.contains("grant the verb `delete`"), "{denied:?}");
    // A snapshot that never appears: the watch times out naming it.
    let mut seen = Vec::new();
    let mut record = |s: &SnapshotState| seen.push(s.clone());
    let e = c.wait_snapshot("nope-abc", Duration::from_millis(800), &mut record).await;
    let e = e.expect_err("never appears").to_string();
    assert!(e.contains("VolumeSnapshot nope-abc never appeared in namespace octelium"), "{e}");
    assert_eq!(seen, [SnapshotState::Missing]);
}

#[test]
fn a_lease_taken_over_while_applying_stops_the_apply_and_fails_it_clearly() {
    let k = Kube::start(&["--build-duration", "20s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let holder = spawn_apply(&k, dir.path(), &["--lock-ttl", "3s"]);
    assert!(k.wait_log(&format!("{LEASE} created"), Duration::from_secs(10)), "{}", k.log());
    // Someone else writes the Lease (with the resourceVersion they read, as a takeover does).
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = client(&k).await;
        let mut l = c.get_lease("cordium-lock-default").await.expect("the Lease");
        l.metadata.annotations = None;
        l.spec.as_mut().expect("spec").holder_identity = Some("mallory@elsewhere".into());
        c.replace_lease(&l).await.expect("their write");
    });
    let o = holder.wait_with_output().expect("apply ends");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s = summary(&o);
    let lost = s["lock_lost"].as_str().unwrap_or("");
    assert!(lost.contains("taken over by mallory@elsewhere"), "{lost}\n{}", text(&o));
    assert_eq!(s["success"], false);
    // The other holder's Lease is left alone: never overwritten, not released by the loser.
    let after = rt.block_on(async { client(&k).await.get_lease("cordium-lock-default").await });
    let holder = after.expect("still there").spec.and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some("mallory@elsewhere"));
}

#[test]
fn a_workspace_added_later_waits_for_the_snapshot_of_an_up_to_date_build() {
    let k = Kube::start(&["--build-duration", "300ms", "--kube-snapshot-delay", "5s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    let d = dir.path().to_str().expect("utf-8");
    // Built and created without Kubernetes access: its Workspaces start cold.
    let first = cordium(&["apply", d, "--endpoint", &k.serve.url, "--auto-approve"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let more = "---\napiVersion: cordium/v1\nkind: Workspace\nmetadata:\n  name: five.lab\ntemplate: env\n";
    let mut y = std::fs::read_to_string(dir.path().join("main.yaml")).expect("read");
    y.push_str(more);
    std::fs::write(dir.path().join("main.yaml"), y).expect("write");
    // The build is up to date: no build step, yet the new Workspace waits for the snapshot.
    let o = k.apply(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let states: Vec<String> = lines(&o)
        .into_iter()
        .filter(|v| v["event"] == "snapshot" && v["address"] == "workspace.lab.five")
        .map(|v| v["state"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(states.first().map(String::as_str), Some("pending"), "{states:?}\n{}", text(&o));
    assert_eq!(states.last().map(String::as_str), Some("ready"), "{states:?}");
    let log = k.log_with_workspaces(5);
    let ws = workspace_lines(&log);
    assert_eq!(ws.len(), 5, "{log}");
    assert!(ws[4].contains("restores from ready VolumeSnapshot"), "{log}");
    assert!(
        ws[..4].iter().any(|l| l.contains("starts cold")),
        "the first apply did not wait:\n{log}"
    );
}

#[test]
fn the_stack_files_environment_names_the_kubeconfig_relative_to_the_root() {
    let k = Kube::start(&["--build-duration", "200ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    stack(dir.path());
    std::fs::create_dir_all(dir.path().join("kube")).expect("mkdir");
    std::fs::copy(k.kubeconfig(), dir.path().join("kube/config")).expect("copy");
    let url = &k.serve.url;
    let hcl = format!(
        "stack \"demo\" {{}}\nenvironment \"serve\" {{\n  endpoint = \"{url}\"\n  kubeconfig = \"kube/config\"\n  kube_namespace = \"ops\"\n}}\n"
    );
    std::fs::write(dir.path().join("cordium.hcl"), hcl).expect("write");
    let d = dir.path().to_str().expect("utf-8");
    let plan = cordium_as_admin().args(["plan", d, "--env", "serve"]).output().expect("runs");
    let out = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(out.contains("Snapshots in Kubernetes namespace ops:"), "{out}");
    assert!(out.contains("template.lab.env: no ready build yet"), "{out}");
    // The flag beats the stack file.
    let plan = cordium_as_admin()
        .args(["plan", d, "--env", "serve", "--kube-namespace", "octelium"])
        .output()
        .expect("runs");
    let out = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(out.contains("Snapshots in Kubernetes namespace octelium:"), "{out}");
}
