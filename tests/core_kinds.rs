//! Groups and Policies (Octelium core API) the whole way through the binary, on the embedded
//! local cluster and over `cordium serve`: apply → a plan with nothing to do → a change to a
//! Policy's rules planned as a list change → destroy (Users first, then Groups, then Policies,
//! as the server refuses to delete a Group Users belong to). And a Group or Policy a User names
//! that is neither declared nor on the cluster is a plan error at the reference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use crate::support::Serve;

const CONFIG: &str = r#"
policy "ci-read" {
  description = "CI may read"
  rule {
    effect    = "ALLOW"
    condition = "ctx.request.http.method == 'GET'"
  }
}

group "agents" {
  authorization {
    policies = [policy.ci-read]
  }
}

user "agent-1" {
  type   = "WORKLOAD"
  groups = [group.agents]
  authorization {
    policies = [policy.ci-read, "allow-all"]
  }
}
"#;

fn run(dir: &Path, args: &[&str]) -> Output {
    crate::support::cordium_as_admin()
        .args(args)
        .current_dir(dir)
        .env("CORDIUM_STACK", "default")
        .output()
        .expect("cordium runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// apply → clean plan → rule change → destroy, against `target` (`--local DB` or `--endpoint`).
/// What an apply printed once it started writing (the steps, in the order they ran).
fn applied(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    out.split_once("Applying to").map(|(_, steps)| steps.to_string()).unwrap_or(out)
}

fn with<'a>(args: &[&'a str], target: &[&'a str]) -> Vec<&'a str> {
    [args, target].concat()
}

fn round_trip(dir: &Path, target: &[&str]) {
    std::fs::write(dir.join("main.hcl"), CONFIG).unwrap();
    let apply = run(dir, &with(&["apply", ".", "--auto-approve"], target));
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let out = applied(&apply);
    // Policy before Group before User.
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} in {out}"));
    assert!(at("policy.ci-read") < at("group.agents"), "{out}");
    assert!(at("group.agents") < at("user.agent-1"), "{out}");
    let plan = run(dir, &with(&["plan", ".", "--detailed-exitcode"], target));
    assert_eq!(plan.status.code(), Some(0), "nothing to do: {}", text(&plan));

    // One more rule: an update of the Policy, shown as one added list item.
    let changed = CONFIG.replace(
        "  rule {\n    effect    = \"ALLOW\"",
        "  rule {\n    effect    = \"DENY\"\n    priority  = 2\n    condition = \"ctx.user.spec.isDisabled\"\n  }\n  rule {\n    effect    = \"ALLOW\"",
    );
    std::fs::write(dir.join("main.hcl"), changed).unwrap();
    let plan = run(dir, &with(&["plan", ".", "--detailed-exitcode", "--output", "json"], target));
    assert_eq!(plan.status.code(), Some(2), "a change: {}", text(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let changes = json["resource_changes"].as_array().expect("changes");
    let touched: Vec<(&str, &str)> = changes
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| (c["address"].as_str().unwrap_or(""), c["action"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(touched, [("policy.ci-read", "update")], "{}", text(&plan));
    let fields = serde_json::to_string(&changes[0]).unwrap_or_default();
    assert!(fields.contains("spec.rules[0]"), "the new first rule is an insert: {fields}");
    assert!(!fields.contains("spec.rules[1].effect"), "the kept rule is not re-diffed: {fields}");

    let destroy = run(dir, &with(&["destroy", ".", "--auto-approve"], target));
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let out = applied(&destroy);
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} in {out}"));
    assert!(at("user.agent-1") < at("group.agents"), "{out}");
    assert!(at("group.agents") < at("policy.ci-read"), "{out}");
    std::fs::write(dir.join("main.hcl"), CONFIG).unwrap();
    let plan = run(dir, &with(&["plan", ".", "--output", "json"], target));
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let creates =
        json["resource_changes"].as_array().unwrap().iter().filter(|c| c["action"] == "create");
    assert_eq!(creates.count(), 3, "all three are gone after destroy: {}", text(&plan));
}

#[test]
fn groups_and_policies_apply_plan_clean_and_destroy_locally() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("local.db");
    round_trip(dir.path(), &["--local", db.to_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_and_policies_apply_plan_clean_and_destroy_over_serve() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), &["--endpoint", &serve.url]);
    // The genesis Policies a User named are left alone.
    let mut core = serve.core().await;
    let opts =
        cordium::live::wire::meta::GetOptions { name: "allow-all".into(), uid: String::new() };
    core.get_policy(opts).await.expect("genesis Policy kept");
}

#[test]
fn a_group_or_policy_nowhere_is_a_plan_error_at_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("local.db");
    let config = "user \"agent-1\" {\n  type   = \"WORKLOAD\"\n  groups = [\"ghosts\"]\n  authorization {\n    policies = [\"allow-all\", \"nowhere\"]\n  }\n}\n";
    std::fs::write(dir.path().join("main.hcl"), config).unwrap();
    let plan = run(dir.path(), &["plan", ".", "--local", db.to_str().unwrap()]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let err = String::from_utf8_lossy(&plan.stderr).to_string();
    assert!(err.contains("missing-group") && err.contains("main.hcl:3:13"), "{err}");
    assert!(err.contains("missing-policy") && err.contains("main.hcl:5:30"), "{err}");
    assert!(!err.contains("`allow-all`"), "a genesis Policy exists: {err}");
    // Nothing was written.
    let apply = run(dir.path(), &["apply", ".", "--local", db.to_str().unwrap(), "--auto-approve"]);
    assert_ne!(apply.status.code(), Some(0), "{}", text(&apply));
}

/// The fixture tree in the shape of the Octelium playground's `configs/` (copied to a temporary
/// directory, so the local store is not written into the repository).
fn octelium_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/octelium-configs");
    for sub in ["identity", "services"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    dir
}

#[test]
fn an_octeliumctl_tree_loads_and_its_supported_kinds_plan() {
    let dir = octelium_tree();
    let db = dir.path().join("local.db");
    let db = db.to_str().unwrap();
    let validate = run(dir.path(), &["validate", "."]);
    assert_eq!(validate.status.code(), Some(0), "{}", text(&validate));
    let err = String::from_utf8_lossy(&validate.stderr).to_string();
    for warning in [
        "cordium does not manage Service; 3 documents skipped; use octeliumctl for them",
        "cordium does not manage Namespace; 2 documents skipped",
        "cordium does not manage IdentityProvider; 1 document skipped",
        "cordium does not manage Secret; 1 document skipped",
    ] {
        assert_eq!(err.matches(warning).count(), 1, "{warning}: {}", text(&validate));
    }
    assert!(!err.contains("not-a-real-secret"), "{err}");
    let plan = run(dir.path(), &["plan", ".", "--local", db, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let mut creates: Vec<&str> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .filter_map(|c| c["address"].as_str())
        .collect();
    creates.sort();
    assert_eq!(
        creates,
        ["group.admins", "group.deployers", "policy.deploy-only", "user.alice", "user.deploy-bot"]
    );
    let apply = run(dir.path(), &["apply", ".", "--local", db, "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let again = run(dir.path(), &["plan", ".", "--local", db, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // --strict-kinds: every such document is an error, at its `kind`.
    let strict = run(dir.path(), &["validate", ".", "--strict-kinds"]);
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict));
    let err = String::from_utf8_lossy(&strict.stderr).to_string();
    assert_eq!(err.matches("cordium does not manage Service (--strict-kinds)").count(), 3, "{err}");
    assert!(err.contains("services/services.yaml:1:7"), "{err}");
}

/// A User leaves a Group that the same apply prunes: the User's update runs first (the server
/// refuses to delete a Group a User still names).
#[test]
fn a_user_leaving_a_pruned_group_is_updated_before_the_group_goes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("local.db");
    let db = db.to_str().unwrap();
    let main = dir.path().join("main.hcl");
    std::fs::write(
        &main,
        "policy \"pp\" {\n  rule {\n    effect    = \"ALLOW\"\n    condition = { match_any = true }\n  }\n}\ngroup \"ops\" {\n  authorization {\n    policies = [policy.pp]\n  }\n}\nuser \"bot\" {\n  type   = \"WORKLOAD\"\n  groups = [group.ops]\n}\n",
    )
    .unwrap();
    let apply = run(dir.path(), &["apply", ".", "--local", db, "--auto-approve"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    std::fs::write(&main, "user \"bot\" {\n  type = \"WORKLOAD\"\n}\n").unwrap();
    let apply = run(dir.path(), &["apply", ".", "--local", db, "--auto-approve", "--prune"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let out = applied(&apply);
    let at = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} in {out}"));
    assert!(at("user.bot: updat") < at("group.ops: destroy"), "{out}");
    assert!(at("group.ops: destroy") < at("policy.pp: destroy"), "{out}");
}
