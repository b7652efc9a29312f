//! Memberships, GitProviders and Volumes: the whole way through the binary (apply → an empty
//! plan → a shrink and a mounted delete refused at plan → destroy, on the embedded cluster and
//! over `cordium serve`), and their server rules over gRPC with upstream's codes and messages
//! (octelium/cordium `mains/{membership,gitprovider,volume,workspacevalidation}.go`).

use std::path::Path;

use cordium::live::wire::{cordium as c, meta};
use tonic::Code;

use super::{by_name, m, md, secret, space, template, workload_user};
use crate::apply::{cordium, text};
use crate::support::Serve;

fn refusal<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    let s = r.expect_err("expected a refusal");
    (s.code(), s.message().to_string())
}

const CONFIG: &str = r#"
space "team" {
  organization = true
}
user "bob" {
  type = "WORKLOAD"
}
membership "bob" {
  space = space.team
  role  = "ADMIN"
}
secret "oauth" {
  space    = space.team
  from_env = "WANDB_API_KEY"
}
git_provider "github" {
  space = space.team
  github {
    client_id = "Iv1.abc"
    client_secret {
      from_secret = secret.team.oauth
    }
    scopes = ["repo"]
  }
}
volume "data" {
  space          = space.team
  size_megabytes = 2000
}
template "py" {
  space        = space.team
  git_provider = git_provider.team.github
  runtime {
    volume_mount {
      mount_path = "/data"
      volume_ref {
        name = volume.team.data
      }
    }
  }
}
"#;

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.hcl"), text).expect("write config");
}

/// Apply, an empty plan, the refused changes, destroy: against `target` (`--local DB` or
/// `--endpoint URL`).
fn round_trip(target: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    write(dir.path(), CONFIG);
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(target);
        cordium(&all)
    };
    let o = run(&["apply", d, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["plan", d, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "not converged:\n{}", text(&o));

    // Growing is an update in place; shrinking is a plan error at the size, not a replace.
    write(dir.path(), &CONFIG.replace("size_megabytes = 2000", "size_megabytes = 3000"));
    let o = run(&["apply", d, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    write(dir.path(), CONFIG);
    let o = run(&["plan", d]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(err.contains("cannot shrink to 2000 MB"), "{}", text(&o));
    assert!(err.contains("main.hcl:"), "the error points at the config: {}", text(&o));

    // Deleting the mounted Volume is refused at plan, naming the mounter.
    let without_volume = CONFIG.replace(
        "volume \"data\" {\n  space          = space.team\n  size_megabytes = 2000\n}\n",
        "",
    );
    let mounted = without_volume.replace("volume.team.data", "\"data\"");
    write(dir.path(), &mounted);
    let o = run(&["plan", d, "--prune"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(err.contains("template.team.py"), "{}", text(&o));

    // The mount removed first (the same plan may not do both: the Template's update could
    // run after the delete), the delete is planned and flagged as data loss in every view.
    let unmounted = CONFIG
        .replace("size_megabytes = 2000", "size_megabytes = 3000")
        .replace(
            "  runtime {\n    volume_mount {\n      mount_path = \"/data\"\n      volume_ref {\n        name = volume.team.data\n      }\n    }\n  }\n",
            "",
        );
    write(dir.path(), &unmounted);
    let o = run(&["apply", d, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let unmounted = unmounted.replace(
        "volume \"data\" {\n  space          = space.team\n  size_megabytes = 3000\n}\n",
        "",
    );
    write(dir.path(), &unmounted);
    for (format, needle) in
        [("human", "DATA LOSS"), ("markdown", "DATA LOSS"), ("json", "\"data_loss\":true")]
    {
        let o = run(&["plan", d, "--prune", "--output", format]);
        let out = String::from_utf8_lossy(&o.stdout).replace(": ", ":");
        assert!(out.contains(needle), "{format}: {}", text(&o));
    }

    // A Membership keeps no label: one in the stack's Space is the stack's, so taking it out
    // of the config prunes it; the caller's own (the creator's OWNER) is never planned for.
    let o = run(&["apply", d, "--prune", "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "the Volume's delete: {}", text(&o));
    let without_bob = unmounted
        .replace("membership \"bob\" {\n  space = space.team\n  role  = \"ADMIN\"\n}\n", "");
    write(dir.path(), &without_bob);
    let o = run(&["plan", d, "--prune"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("membership.team.bob will be destroyed"), "{}", text(&o));
    assert!(!out.contains("membership.team.admin"), "{}", text(&o));

    let o = run(&["destroy", d, "--auto-approve"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["plan", d, "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "destroy left nothing to create?\n{}", text(&o));
}

#[test]
fn the_cordium_kinds_apply_converge_and_destroy_on_the_local_cluster() {
    let db = tempfile::tempdir().expect("tempdir");
    let path = db.path().join("local.db");
    round_trip(&["--local", path.to_str().expect("utf-8")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cordium_kinds_apply_converge_and_destroy_over_serve() {
    let serve = Serve::start(&[]);
    let url = serve.url.clone();
    tokio::task::spawn_blocking(move || round_trip(&["--endpoint", &url])).await.expect("joins");
}

fn volume(name: &str, megabytes: u32) -> c::Volume {
    c::Volume {
        metadata: md(name),
        spec: Some(c::volume::Spec {
            size: Some(c::volume::spec::Size { megabytes }),
            access_mode: 0,
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn volumes_follow_the_server_rules() {
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("team.cordium")).await.unwrap();
    assert_eq!(
        refusal(cl.create_volume(volume("tiny.team.cordium", 999)).await),
        (Code::InvalidArgument, "A Volume must be at least 1000 MB".into())
    );
    assert_eq!(
        refusal(cl.create_volume(volume("huge.team.cordium", 10_000_001)).await),
        (Code::InvalidArgument, "The Volume size is too large: 10000001 MB".into())
    );
    let v = cl.create_volume(volume("data.team.cordium", 0)).await.unwrap().into_inner();
    let spec = m(&v.spec);
    assert_eq!(m(&spec.size).megabytes, 10_000, "the default size");
    assert_eq!(spec.access_mode, c::volume::AccessMode::Exclusive as i32);
    assert_eq!(
        refusal(cl.create_volume(volume("data.team.cordium", 2000)).await),
        (Code::InvalidArgument, "This Volume name already exists".into())
    );
    let mut smaller = volume("data.team.cordium", 5000);
    smaller.spec.as_mut().unwrap().access_mode = 0;
    assert_eq!(
        refusal(cl.update_volume(smaller).await),
        (
            Code::InvalidArgument,
            "A Volume can only be grown. It is currently 10000 MB while 5000 MB is requested"
                .into()
        )
    );
    let mut shared = volume("data.team.cordium", 0);
    shared.spec.as_mut().unwrap().access_mode = c::volume::AccessMode::Shared as i32;
    assert_eq!(
        refusal(cl.update_volume(shared).await),
        (Code::InvalidArgument, "The accessMode of a Volume is immutable".into())
    );
    let grown = cl.update_volume(volume("data.team.cordium", 20_000)).await.unwrap().into_inner();
    assert_eq!(m(&m(&grown.spec).size).megabytes, 20_000);

    // Mounts name Volumes of the Space; a mounted Volume is not deleted.
    let mount = |name: &str| {
        let mut t = template("py.team.cordium");
        t.spec.as_mut().unwrap().runtime = Some(c::workspace::spec::Runtime {
            volume_mounts: vec![c::workspace::spec::runtime::VolumeMount {
                volume_ref: Some(meta::ObjectReference { name: name.into(), ..Default::default() }),
                mount_path: "/data".into(),
                read_only: false,
            }],
            ..Default::default()
        });
        t
    };
    assert_eq!(
        refusal(cl.create_template(mount("nope")).await),
        (Code::InvalidArgument, "The Volume does not exist: nope".into())
    );
    let t = cl.create_template(mount("data")).await.unwrap().into_inner();
    let r = m(&m(&m(&t.spec).runtime).volume_mounts[0].volume_ref).clone();
    assert_eq!(
        (r.name.as_str(), r.uid.as_str()),
        ("data.team.cordium", m(&v.metadata).uid.as_str())
    );
    assert_eq!(
        refusal(
            cl.delete_volume(meta::DeleteOptions {
                name: "data.team.cordium".into(),
                uid: String::new()
            })
            .await
        ),
        (
            Code::InvalidArgument,
            "The Volume cannot be deleted while it is mounted by the Template: py.team.cordium"
                .into()
        )
    );
    cl.delete_template(meta::DeleteOptions { name: "py.team.cordium".into(), uid: String::new() })
        .await
        .unwrap();
    cl.delete_volume(meta::DeleteOptions { name: "data.team.cordium".into(), uid: String::new() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn git_providers_follow_the_server_rules() {
    use c::git_provider::spec::{client_secret, ClientSecret, Github, Type};
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    cl.create_space(space("team.cordium")).await.unwrap();
    let provider = |secret: &str, scopes: usize| c::GitProvider {
        metadata: md("gh.team.cordium"),
        spec: Some(c::git_provider::Spec {
            r#type: Some(Type::Github(Github {
                client_id: "Iv1.abc".into(),
                client_secret: Some(ClientSecret {
                    r#type: Some(client_secret::Type::FromSecret(secret.into())),
                }),
                scopes: (0..scopes).map(|i| format!("s{i}")).collect(),
            })),
        }),
        ..Default::default()
    };
    let none = c::GitProvider {
        metadata: md("gh.team.cordium"),
        spec: Some(Default::default()),
        ..Default::default()
    };
    assert_eq!(
        refusal(cl.create_git_provider(none).await),
        (Code::InvalidArgument, "You must provide a GitProvider type".into())
    );
    assert_eq!(
        refusal(cl.create_git_provider(provider("oauth.team.cordium", 1)).await),
        (Code::InvalidArgument, "The Secret oauth.team.cordium is not found".into())
    );
    cl.create_secret(secret("oauth.team.cordium", "v")).await.unwrap();
    assert_eq!(
        refusal(cl.create_git_provider(provider("oauth.team.cordium", 11)).await),
        (Code::InvalidArgument, "Too many scopes".into())
    );
    cl.create_git_provider(provider("oauth.team.cordium", 1)).await.unwrap();
    assert_eq!(
        refusal(cl.create_git_provider(provider("oauth.team.cordium", 1)).await),
        (Code::InvalidArgument, "This GitProvider name already exists".into())
    );
    // A Template names one by its exact stored name, in its Space.
    let mut t = template("py.team.cordium");
    t.spec.as_mut().unwrap().git_provider = "gh".into();
    assert_eq!(
        refusal(cl.create_template(t.clone()).await),
        (Code::NotFound, "cordium.v1.GitProvider gh does not exist".into())
    );
    t.spec.as_mut().unwrap().git_provider = "gh.team.cordium".into();
    cl.create_template(t).await.unwrap();
    let got = cl.get_git_provider(by_name("gh.team.cordium")).await.unwrap().into_inner();
    assert_eq!(m(&got.metadata).name, "gh.team.cordium");
}

#[tokio::test(flavor = "multi_thread")]
async fn memberships_follow_the_server_rules() {
    use c::create_membership_request::UserType;
    let serve = Serve::start(&[]);
    let mut cl = serve.cordium().await;
    let mut core = serve.core().await;
    core.create_user(workload_user("bob")).await.unwrap();
    let team = cl.create_space(space("team.cordium")).await.unwrap().into_inner();
    let mine = cl.create_space(space("mine")).await.unwrap().into_inner();
    let request = |s: &c::Space, user: &str, role: c::create_membership_request::Role| {
        let sm = m(&s.metadata);
        c::CreateMembershipRequest {
            role: role as i32,
            space_ref: Some(meta::ObjectReference {
                name: sm.name.clone(),
                uid: sm.uid.clone(),
                ..Default::default()
            }),
            user_type: Some(UserType::UserRef(meta::ObjectReference {
                name: user.into(),
                ..Default::default()
            })),
        }
    };
    use c::create_membership_request::Role;
    // The creator is OWNER already: its Membership is there, and adding yourself is refused.
    let own = cl.get_membership(by_name("admin.team.cordium")).await.unwrap().into_inner();
    assert_eq!(m(&own.spec).role, c::membership::spec::Role::Owner as i32);
    assert_eq!(
        refusal(cl.create_membership(request(&team, "admin", Role::Admin)).await),
        (Code::InvalidArgument, "You cannot add yourself as a Member".into())
    );
    assert_eq!(
        refusal(cl.create_membership(request(&mine, "bob", Role::User)).await),
        (Code::InvalidArgument, "Cannot add Members to User Spaces for now".into())
    );
    let bob =
        cl.create_membership(request(&team, "bob", Role::Unknown)).await.unwrap().into_inner();
    assert_eq!(m(&bob.metadata).name, "bob.team.cordium");
    assert_eq!(m(&bob.spec).role, c::membership::spec::Role::User as i32, "UNKNOWN is USER");
    assert_eq!(
        refusal(cl.create_membership(request(&team, "bob", Role::Admin)).await),
        (Code::InvalidArgument, "User is already a Member in this Space".into())
    );
    // The creator can neither change role nor leave: the Space keeps its last OWNER.
    let mut demoted = own.clone();
    demoted.spec = Some(c::membership::Spec { role: c::membership::spec::Role::User as i32 });
    assert_eq!(
        refusal(cl.update_membership(demoted).await),
        (Code::InvalidArgument, "Space Creators cannot update their own Memberships".into())
    );
    assert_eq!(
        refusal(
            cl.delete_membership(meta::DeleteOptions {
                name: "admin.team.cordium".into(),
                uid: String::new()
            })
            .await
        ),
        (Code::PermissionDenied, "Space Creators cannot remove themselves".into())
    );
    // The role the permission checks read is the Membership's: bob, now ADMIN, may create.
    let mut promoted = bob.clone();
    promoted.spec = Some(c::membership::Spec { role: c::membership::spec::Role::Admin as i32 });
    cl.update_membership(promoted).await.unwrap();
    let listed = cl
        .list_membership(c::ListMembershipOptions {
            common: None,
            space_ref: Some(meta::ObjectReference {
                name: "team.cordium".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = listed.items.iter().map(|i| m(&i.metadata).name.as_str()).collect();
    assert_eq!(names, ["admin.team.cordium", "bob.team.cordium"]);
    cl.delete_membership(meta::DeleteOptions {
        name: "bob.team.cordium".into(),
        uid: String::new(),
    })
    .await
    .unwrap();
}
