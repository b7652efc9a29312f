//! A CI handoff you can trust (issue 12), through the real binary against `cordium serve`:
//! Secret sources checked before anything is written, `--target`/`--exclude` that match nothing,
//! the stack name a remote target requires, signals during apply, `force-unlock`, and the JSON
//! event stream.

use std::path::Path;
use std::process::{Command, Output};

use cordium::live::Scope;
use cordium::model::Kind;

use crate::apply::{client, text};
use crate::support::{cordium_as_admin, Serve};

/// A Secret source, its environment, and what the error says.
type SourceCase<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);

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
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
