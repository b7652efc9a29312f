//! The real servers' rules as `cordium serve` answers them over gRPC: the same code and the same
//! message (see `docs/serve.md`, "Server rules", for each rule's upstream source).

use cordium::live::wire::{cordium as c, core};
use tonic::Code;

use super::{by_name, del_uid, m, md, secret, space, template, workspace};
use crate::support::Serve;

use c::workspace::spec as ws;

/// The code and message of a refusal.
fn refusal<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    let s = r.expect_err("expected a refusal");
    (s.code(), s.message().to_string())
}

fn env(key: &str, value: ws::runtime::env_var::Type) -> ws::runtime::EnvVar {
    ws::runtime::EnvVar { key: key.into(), r#type: Some(value) }
}

fn with_env(name: &str, vars: Vec<ws::runtime::EnvVar>) -> c::Template {
    let mut t = template(name);
    t.spec.as_mut().unwrap().runtime = Some(ws::Runtime { env_vars: vars, ..Default::default() });
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn from_secret_names_the_stored_secret_exactly() {
    use ws::runtime::env_var::Type::FromSecret;
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("ml.cordium")).await.unwrap();
    cl.create_secret(secret("wandb.ml.cordium", "k")).await.unwrap();
    let short = with_env("train.ml.cordium", vec![env("KEY", FromSecret("wandb".into()))]);
    assert_eq!(
        refusal(cl.create_template(short).await),
        (Code::NotFound, "The Secret: wandb does not exist".into())
    );
    let full =
        with_env("train.ml.cordium", vec![env("KEY", FromSecret("wandb.ml.cordium".into()))]);
    cl.create_template(full).await.unwrap();
    // In a USER Space's runtime, Secrets are refused outright.
    let mut user_space = space("mine");
    user_space.spec.as_mut().unwrap().runtime = Some(c::space::spec::Runtime {
        env_vars: vec![env("KEY", FromSecret("wandb.mine.admin".into()))],
        ..Default::default()
    });
    assert_eq!(
        refusal(cl.create_space(user_space).await),
        (Code::PermissionDenied, "Secrets can only be used for ORGANIZATION Spaces".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn specs_are_validated_as_upstream() {
    use ws::runtime::env_var::Type::Value;
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("sp")).await.unwrap();
    assert_eq!(
        refusal(cl.create_template(with_env("tt.sp", vec![env("K", Value(String::new()))])).await),
        (Code::InvalidArgument, "Empty value for env var: K".into())
    );
    let mut http = template("tt.sp");
    http.spec.as_mut().unwrap().repository =
        Some(ws::Repository { url: "http://github.com/org/repo".into(), ..Default::default() });
    assert_eq!(
        refusal(cl.create_template(http).await),
        (
            Code::InvalidArgument,
            r#"Repo URL must have https scheme (e.g. "https://github.com/org/repo")"#.into()
        )
    );
    let mut big = template("tt.sp");
    big.spec.as_mut().unwrap().image = Some(ws::Image {
        r#type: Some(ws::image::Type::Dockerfile(ws::image::Dockerfile {
            r#type: Some(ws::image::dockerfile::Type::Inline("RUN x\n".repeat(1000))),
        })),
    });
    assert_eq!(
        refusal(cl.create_template(big).await),
        (Code::InvalidArgument, "Too large Dockerfile".into())
    );
    assert_eq!(
        refusal(cl.create_space(space("octelium")).await),
        (Code::InvalidArgument, "The Space name octelium is reserved".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn non_members_are_denied_and_workspaces_are_their_owners() {
    let serve = Serve::start(&["--auth-token", "bob:B"]);
    let mut admin = serve.cordium().await;
    let mut bob = serve.cordium_with("B").await;
    admin.create_space(space("sp")).await.unwrap();
    assert_eq!(
        refusal(bob.get_space(by_name("sp.admin")).await),
        (Code::PermissionDenied, "The User is not authorized to operation".into())
    );
    assert_eq!(
        refusal(bob.create_template(template("tt.sp.admin")).await),
        (Code::PermissionDenied, "The User is not authorized to do this operation".into())
    );
    // A Workspace in an ORGANIZATION Space bob is not a member of: refused; admin's own
    // Workspace is admin's alone.
    admin.create_space(space("org.cordium")).await.unwrap();
    let w = admin
        .create_workspace(workspace("w", Some("default.org.cordium")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        refusal(bob.get_workspace(super::by_uid(&m(&w.metadata).uid)).await),
        (Code::PermissionDenied, "This Workspace is not owned by the User".into())
    );
    assert_eq!(
        refusal(bob.create_workspace(workspace("w", Some("default.org.cordium"))).await),
        (Code::PermissionDenied, "The User is not authorized to operation".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_space_takes_its_workspaces_with_it() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    let s = cl.create_space(space("sp")).await.unwrap().into_inner();
    let w =
        cl.create_workspace(workspace("w", Some("default.sp.admin"))).await.unwrap().into_inner();
    cl.delete_space(del_uid(&m(&s.metadata).uid)).await.unwrap();
    let (code, _) = refusal(cl.get_workspace(super::by_uid(&m(&w.metadata).uid)).await);
    assert_eq!(code, Code::NotFound);
    assert_eq!(
        refusal(cl.get_space(by_name("sp")).await),
        (Code::NotFound, "cordium.v1.Space sp.admin does not exist".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_need_a_type_and_existing_groups_and_genesis_users_exist() {
    let serve = Serve::start(&[]);
    let mut core_cl = serve.core().await;
    let user = |ty: core::user::spec::Type, groups: &[&str]| core::User {
        metadata: md("agent"),
        spec: Some(core::user::Spec {
            r#type: ty as i32,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        refusal(core_cl.create_user(user(core::user::spec::Type::Unknown, &[])).await),
        (
            Code::InvalidArgument,
            "rpc error: code = InvalidArgument desc = You must set the User type (i.e. either \
             `HUMAN` or `WORKLOAD`)"
                .into()
        )
    );
    assert_eq!(
        refusal(core_cl.create_user(user(core::user::spec::Type::Workload, &["ops"])).await),
        (Code::InvalidArgument, "The Group ops does not exist".into())
    );
    core_cl.create_user(user(core::user::spec::Type::Workload, &[])).await.unwrap();
    let users = core_cl.list_user(core::ListUserOptions::default()).await.unwrap().into_inner();
    let names: Vec<_> = users.items.iter().map(|u| m(&u.metadata).name.clone()).collect();
    for genesis in ["root", "octelium", "agent", "admin"] {
        assert!(names.iter().any(|n| n == genesis), "{genesis} in {names:?}");
    }
    let policy = core_cl.get_policy(by_name("octelium-api-full-access")).await.unwrap();
    assert_eq!(m(&policy.into_inner().metadata).name, "octelium-api-full-access");
}

/// cordium applies a stack within the rules against `cordium serve`, and its pruning plan then
/// leaves what the server made on its own alone: the default Template of each Space (CreateSpace
/// makes `default.<space>`) and the genesis Users and Policies of a fresh cluster.
#[tokio::test(flavor = "multi_thread")]
async fn a_stack_within_the_rules_applies_and_plans_clean_with_prune() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.hcl"),
        r#"
space "lab" {}
space "org" {
  organization = true
}
template "py" {
  space = space.lab
  image {
    registry {
      url = "python:3.12"
    }
  }
}
user "ci-bot" {
  type = "WORKLOAD"
  authorization {
    policies = ["allow-all"]
  }
}
"#,
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        crate::support::cordium_as_admin().args(args).output().expect("cordium runs")
    };
    let text = |o: &std::process::Output| {
        format!(
            "exit {:?}\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let apply = run(&["apply", d, "--endpoint", &serve.url, "--auto-approve", "--prune"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let plan = run(&["plan", d, "--endpoint", &serve.url, "--prune", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "no changes: {}", text(&plan));
    let mut cl = serve.cordium().await;
    cl.get_template(by_name("default.lab")).await.expect("the default Template is kept");
    let mut core_cl = serve.core().await;
    core_cl.get_user(by_name("root")).await.expect("genesis User kept");
    let destroy = run(&["destroy", d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    core_cl.get_policy(by_name("allow-all")).await.expect("genesis Policy kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn space_ownership_rules_decide_who_may_create_spaces() {
    // No rule: every CreateSpace is refused (upstream `canOwnSpace` with no rules).
    let none = Serve::start(&["--space-ownership", "none"]);
    let mut cl = none.cordium().await;
    assert_eq!(
        refusal(cl.create_space(space("ml.admin")).await),
        (Code::PermissionDenied, "You are not allowed to create this Space".into())
    );
    // DENY first, then ALLOW: bob is refused, admin may.
    let rules = Serve::start(&[
        "--auth-token",
        "bob:B:user",
        "--space-ownership",
        "deny:user=bob",
        "--space-ownership",
        "allow:any",
    ]);
    let mut admin = rules.cordium().await;
    admin.create_space(space("ml.admin")).await.expect("admin may");
    let mut bob = rules.cordium_with("B").await;
    assert_eq!(
        refusal(bob.create_space(space("ml.bob")).await),
        (Code::PermissionDenied, "You are not allowed to create this Space".into())
    );
    // A rule that does not parse is refused at start, naming it.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(["serve", "--in-memory", "--space-ownership", "maybe:any"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--space-ownership maybe:any"));
}
