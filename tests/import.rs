//! Import and status through the real binary against `cordium serve`: objects made by hand with
//! the upstream-schema API are adopted by an `import` block (HCL) and by `cordium import` (a
//! Workspace, recorded in its Space), the plan says "will be imported" with the live/config
//! difference, mistakes are errors at the import's span, and `status` lists what the stack
//! manages afterwards.

use std::path::Path;

use cordium::live::convert::from_wire;
use cordium::live::wire::{cordium as c, meta};
use cordium::live::{Object, Scope};
use cordium::model::Kind;
use serde_json::Value;

use crate::apply::{client, cordium, text};
use crate::support::Serve;

const MAIN: &str = r#"space "lab" {}

template "gpu" {
  space       = space.lab
  description = "from the config"
  image {
    registry {
      url = "node:22"
    }
  }
}

workspace "box" {
  space    = space.lab
  template = template.lab.gpu
}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_made_objects_are_imported_by_block_and_command_and_listed_by_status() {
    let serve = Serve::start(&[]);
    let url = serve.url.as_str();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    // The Space first (the stack's own), with no Template or Workspace yet.
    write(dir.path(), "main.hcl", "space \"lab\" {}\n");
    let applied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    // By hand: a Template and a Workspace that uses it.
    let cl = client(&serve).await;
    let template = c::Template {
        metadata: Some(meta::Metadata {
            name: "gpu.lab".into(),
            description: "by hand".into(),
            ..Default::default()
        }),
        spec: Some(c::template::Spec {
            image: Some(c::workspace::spec::Image {
                r#type: Some(c::workspace::spec::image::Type::Registry(
                    c::workspace::spec::image::Registry {
                        url: "node:22".into(),
                        ..Default::default()
                    },
                )),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    cl.create(Object::Template(template)).await.expect("create the Template by hand");
    let ws = c::Workspace {
        metadata: Some(meta::Metadata { display_name: "box".into(), ..Default::default() }),
        spec: Some(Default::default()),
        status: Some(c::workspace::Status {
            space_ref: Some(meta::ObjectReference {
                name: "lab.admin".into(),
                ..Default::default()
            }),
            template_ref: Some(meta::ObjectReference {
                name: "gpu.lab.admin".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let made = cl.create(Object::Workspace(ws)).await.expect("create the Workspace by hand");
    let ws_name = made.name().to_string();

    // Declared without an import: the plan refuses, and says how to adopt them.
    write(dir.path(), "main.hcl", MAIN);
    let refused = cordium(&["plan", d, "--endpoint", url]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(err.contains("cordium import template.lab.gpu gpu.lab.admin"), "{err}");

    // Mistakes are errors at the import: an address the config does not declare, an id that
    // names nothing.
    write(dir.path(), "imports.hcl", "import {\n  to = template.lab.cpu\n  id = \"gpu.lab\"\n}\n");
    let unknown = cordium(&["plan", d, "--endpoint", url]);
    assert_eq!(unknown.status.code(), Some(1), "{}", text(&unknown));
    let err = String::from_utf8_lossy(&unknown.stderr).to_string();
    assert!(
        err.contains("import to template.lab.cpu: the configuration declares no such"),
        "{err}"
    );
    assert!(err.contains("imports.hcl:2:8"), "{err}");
    assert!(err.contains("did you mean template.lab.gpu?"), "{err}");
    write(dir.path(), "imports.hcl", "import {\n  to = template.lab.gpu\n  id = \"cpu.lab\"\n}\n");
    let wrong = cordium(&["plan", d, "--endpoint", url]);
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    let err = String::from_utf8_lossy(&wrong.stderr).to_string();
    assert!(err.contains("the id `cpu.lab` is not the live object at that address"), "{err}");
    assert!(err.contains("(`gpu.lab.admin`)"), "{err}");
    assert!(err.contains("imports.hcl:3:8"), "{err}");

    // The import block: "will be imported", with the difference between live and config.
    write(dir.path(), "imports.hcl", "import {\n  to = template.lab.gpu\n  id = \"gpu.lab\"\n}\n");
    let plan = cordium(&["plan", d, "--endpoint", url, "--target", "template.lab.gpu"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let out = stdout(&plan);
    assert!(
        out.contains(
            "# template.lab.gpu will be imported and updated in place (will be imported from \
             `gpu.lab.admin`; 2 fields differ)"
        ),
        "{out}"
    );
    assert!(out.contains("~ description = \"by hand\" -> \"from the config\""), "{out}");
    assert!(out.contains("+ labels.cordium-stack = \"default\""), "{out}");
    assert!(out.contains("Plan: 1 to import, 0 to create, 1 to update"), "{out}");
    let json: Value = serde_json::from_slice(
        &cordium(&[
            "plan",
            d,
            "--endpoint",
            url,
            "--target",
            "template.lab.gpu",
            "--output",
            "json",
        ])
        .stdout,
    )
    .expect("json");
    let gpu = json["resource_changes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["address"] == "template.lab.gpu"))
        .cloned()
        .expect("the Template's change");
    assert_eq!(gpu["imported_from"], "gpu.lab.admin");
    assert_eq!(gpu["action"], "update");
    assert_eq!(json["summary"]["import"], 1);
    let md = stdout(&cordium(&[
        "plan",
        d,
        "--endpoint",
        url,
        "--target",
        "template.lab.gpu",
        "--output",
        "markdown",
    ]));
    assert!(md.contains("<code>~ template.lab.gpu</code> — import: will be imported"), "{md}");
    let imported =
        cordium(&["apply", d, "--endpoint", url, "--auto-approve", "--target", "template.lab.gpu"]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported));

    // The Workspace by command: its plan, then adopted (recorded in its Space).
    let by_command = cordium(&[
        "import",
        "workspace.lab.box",
        &ws_name,
        "--config-dir",
        d,
        "--endpoint",
        url,
        "--auto-approve",
    ]);
    assert_eq!(by_command.status.code(), Some(0), "{}", text(&by_command));
    let out = stdout(&by_command);
    assert!(
        out.contains(&format!(
            "# workspace.lab.box will be imported (will be imported from `{ws_name}`; it matches \
             the config)"
        )),
        "{out}"
    );
    let again = cordium(&["plan", d, "--endpoint", url, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(stdout(&again).contains("No changes."), "{}", text(&again));
    // Imported, the Workspace is the stack's: a plan without it in the config and with prune
    // deletes it.
    let spaces = cl.list(Kind::Space, &Scope::All).await.expect("list");
    let lab = spaces.iter().map(from_wire).find(|s| s.address.name == "lab").expect("lab");
    let recorded = lab.metadata.annotations.iter().filter(|(k, _)| k.starts_with("cws-")).count();
    assert_eq!(recorded, 1, "{:?}", lab.metadata.annotations);

    // An object another stack manages is refused.
    let other = tempfile::tempdir().expect("tempdir");
    let o = other.path().to_str().expect("utf-8");
    write(other.path(), "main.hcl", MAIN);
    write(other.path(), "cordium.hcl", "stack \"other\" {}\n");
    let taken = cordium(&[
        "import",
        "template.lab.gpu",
        "gpu.lab",
        "--config-dir",
        o,
        "--endpoint",
        url,
        "--auto-approve",
    ]);
    assert_eq!(taken.status.code(), Some(1), "{}", text(&taken));
    let err = String::from_utf8_lossy(&taken.stderr).replace(" | ", " ").replace("\n  ", " ");
    assert!(err.contains("is already managed by the stack"), "{}", text(&taken));

    // Status: one row per object the stack manages.
    let status = cordium(&["status", d, "--endpoint", url, "--output", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc: Value = serde_json::from_slice(&status.stdout).expect("json");
    let rows: Vec<String> = doc["objects"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {}",
                r["kind"].as_str().unwrap_or(""),
                r["address"].as_str().unwrap_or(""),
                r["live_name"].as_str().unwrap_or("-"),
                r["state"].as_str().unwrap_or(""),
                r["last_applied"].is_string()
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "space space.lab lab.admin present true".to_string(),
            "template template.lab.gpu gpu.lab.admin no snapshot build true".to_string(),
            format!("workspace workspace.lab.box {ws_name} stopped true"),
        ],
        "{doc}"
    );
    let human = stdout(&cordium(&["status", d, "--endpoint", url]));
    assert!(human.contains("kind       address            live name"), "{human}");
}

/// A Template's row says its last build and that the snapshot is not verified (no Kubernetes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_templates_last_build_and_an_unverified_snapshot() {
    let serve = Serve::start(&["--build-duration", "100ms"]);
    let url = serve.url.as_str();
    let dir = crate::apply::example("quickstart");
    let d = dir.path().to_str().expect("utf-8");
    let applied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let status = cordium(&["status", d, "--endpoint", url, "--output", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let doc: Value = serde_json::from_slice(&status.stdout).expect("json");
    let row = doc["objects"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["address"] == "template.demo.python"))
        .cloned()
        .expect("the Template's row");
    assert_eq!(row["build"]["state"], "ready", "{row}");
    assert_eq!(row["build"]["snapshot_ready"], true, "{row}");
    assert_eq!(row["build"]["snapshot_verified"], false, "{row}");
    let id = row["build"]["id"].as_str().expect("build id");
    assert_eq!(
        row["state"],
        format!("last build {id} ready; snapshot of build {id}: ready on the API, not verified")
    );
    let md = String::from_utf8_lossy(
        &cordium(&["status", d, "--endpoint", url, "--output", "markdown"]).stdout,
    )
    .to_string();
    assert!(md.contains("| template | template.demo.python |"), "{md}");
}
