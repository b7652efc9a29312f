//! Every kind in `Kind::ALL` goes the whole way: HCL → model → wire (`live::convert`) and back
//! → the embedded local cluster (`cordium apply --local`) → a plan with nothing left to do, and
//! the live object read back is its address. A kind that misses a step fails here instead of
//! silently doing nothing, and a kind with no example below fails too.

use std::path::Path;
use std::process::{Command, Output};

use cordium::config::{self, LoadOptions};
use cordium::diff::{desired_doc, LiveDoc};
use cordium::live::convert::{from_wire, to_wire, Naming};
use cordium::live::local::{LocalCluster, LOCAL_USER};
use cordium::live::{Cluster, Scope};
use cordium::model::Kind;

const STACK: &str = "kinds";

/// One declared resource per kind, all in one config (Space children in Space `ml`).
const EXAMPLES: &[(Kind, &str)] = &[
    // An organisation Space: Memberships are refused in USER Spaces.
    (Kind::Space, "space \"ml\" {\n  organization = true\n  display_name = \"ML\"\n}\n"),
    (
        Kind::User,
        "user \"agent-1\" {\n  type   = \"WORKLOAD\"\n  groups = [group.agents]\n  authorization {\n    policies = [policy.ci]\n  }\n}\n",
    ),
    (
        Kind::Group,
        "group \"agents\" {\n  authorization {\n    policies = [policy.ci]\n  }\n}\n",
    ),
    (
        Kind::Policy,
        "policy \"ci\" {\n  rule {\n    effect    = \"ALLOW\"\n    condition = \"ctx.user.spec.type == 'WORKLOAD'\"\n  }\n}\n",
    ),
    (Kind::Secret, "secret \"wandb\" {\n  space    = space.ml\n  from_env = \"WANDB_API_KEY\"\n}\n"),
    (
        Kind::Template,
        "template \"gpu\" {\n  space = space.ml\n  git_provider = git_provider.ml.github\n  image {\n    registry {\n      url = \"python:3.12-bookworm\"\n    }\n  }\n  runtime {\n    volume_mount {\n      mount_path = \"/data\"\n      volume_ref {\n        name = volume.ml.data\n      }\n    }\n  }\n}\n",
    ),
    (Kind::Workspace, "workspace \"box\" {\n  space    = space.ml\n  template = template.gpu\n}\n"),
    (Kind::Membership, "membership \"agent-1\" {\n  space = space.ml\n  role  = \"ADMIN\"\n}\n"),
    (
        Kind::GitProvider,
        "git_provider \"github\" {\n  space = space.ml\n  github {\n    client_id = \"Iv1.abc\"\n    client_secret {\n      from_secret = secret.ml.wandb\n    }\n    scopes = [\"repo\"]\n  }\n}\n",
    ),
    (Kind::Volume, "volume \"data\" {\n  space          = space.ml\n  size_megabytes = 20000\n}\n"),
];

fn config_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cordium.hcl"), format!("stack \"{STACK}\" {{}}\n"))
        .expect("write stack file");
    let text: String = EXAMPLES.iter().map(|(_, hcl)| *hcl).collect::<Vec<_>>().join("\n");
    std::fs::write(dir.path().join("main.hcl"), text).expect("write config");
    dir
}

fn cordium(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cordium"))
        .args(args)
        .current_dir(dir)
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("OCTELIUM_DOMAIN")
        .env_remove("CI")
        .env("WANDB_API_KEY", "wandb-value")
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

#[test]
fn every_kind_has_an_example() {
    for kind in Kind::ALL {
        let n = EXAMPLES.iter().filter(|(k, _)| *k == kind).count();
        assert_eq!(n, 1, "{kind}: add exactly one example to tests/kinds.rs EXAMPLES");
    }
}

#[tokio::test]
async fn every_kind_goes_from_hcl_to_the_cluster_and_back() {
    let dir = config_dir();
    let root = dir.path();

    // HCL → model: one resource of every kind.
    let loaded = config::load(root, &LoadOptions::default());
    let (model, diags) = cordium::model::build(&loaded);
    assert!(
        !loaded.diagnostics.has_errors() && !diags.has_errors(),
        "the examples do not load: {:?} {:?}",
        loaded.diagnostics,
        diags
    );
    for kind in Kind::ALL {
        assert_eq!(model.of_kind(kind).count(), 1, "{kind}: the example is not in the model");
    }

    // Model → wire → model: same kind, same address (once stored), the same canonical document.
    let naming = Naming::for_model(LOCAL_USER, &model);
    for r in &model.resources {
        let mut object = to_wire(r, &naming, STACK);
        assert_eq!(object.kind(), r.kind(), "{}: to_wire made another kind", r.address);
        // As the server stores it: requests carry short names, the server expands them.
        if let Some(stored) = naming.stored_name(&r.address) {
            object.metadata_mut().name = stored;
        }
        let back = from_wire(&object);
        assert_eq!(back.kind, r.kind(), "{}", r.address);
        assert_eq!(
            back.address, r.address,
            "{}: the wire object answers to another address",
            r.address
        );
        assert_eq!(
            LiveDoc::from_live(&back).doc,
            desired_doc(r, STACK),
            "{}: the wire round trip changes the document",
            r.address
        );
    }

    // → the local cluster, then a plan with nothing to do.
    let db = root.join("local.db");
    let db = db.to_str().expect("utf-8 path");
    let applied = cordium(root, &["apply", ".", "--local", db, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "apply failed:\n{}", text(&applied));
    let plan = cordium(root, &["plan", ".", "--local", db, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "a second plan is not empty:\n{}", text(&plan));

    // ← the cluster: every declared resource is there, read back as its address.
    let cluster = LocalCluster::open(Path::new(db)).expect("open the local store");
    for kind in Kind::ALL {
        let live: Vec<_> = cluster
            .list(kind, &Scope::All)
            .await
            .expect("list")
            .iter()
            .map(from_wire)
            .filter(|l| !l.system)
            .collect();
        for r in model.of_kind(kind) {
            let found = live.iter().filter(|l| l.address == r.address).count();
            assert_eq!(found, 1, "{}: {found} live objects after apply", r.address);
        }
    }
}
