//! The client within the real servers' rules, through the real binary against `cordium serve`:
//! saved plans judged by what they depend on (not resourceVersion), `fromSecret` sent in its
//! stored form and a missing Secret failing the plan.

use std::path::Path;
use std::time::{Duration, Instant};

use cordium::live::wire::{cordium as c, meta};
use cordium::live::ObjectKey;
use cordium::model::Kind;

use crate::apply::{client, cordium, text};
use crate::support::Serve;

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write");
}

/// A USER Space with one Template and no build.
const TEMPLATE_STACK: &str =
    "apiVersion: cordium/v1\nkind: Space\nmetadata:\n  name: lab\nspec: {}\n\
---\napiVersion: cordium/v1\nkind: Template\nmetadata:\n  name: good.lab\n  description: one\n\
spec:\n  image:\n    registry:\n      url: node:22\n";

fn resource_version(o: &cordium::live::Object) -> String {
    o.resource_version().to_string()
}

// A real server gives every write a new resourceVersion, status writes by its controllers
// included (octelium `rscserver/common.go`): a build finishing must not make a saved plan stale,
// a spec change must.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_survives_a_status_write_and_not_a_spec_change() {
    let serve = Serve::start(&["--build-duration", "300ms"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    write(dir.path(), "main.yaml", TEMPLATE_STACK);
    let applied = cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    // A plan that updates the Template's description.
    write(dir.path(), "main.yaml", &TEMPLATE_STACK.replace("description: one", "description: two"));
    let file = dir.path().join("plan.json");
    let f = file.to_str().expect("utf-8");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));

    // Status only: a build starts and finishes on the cluster (two status writes).
    let c = client(&serve).await;
    let key = ObjectKey::Name("good.lab.admin".into());
    let before = resource_version(&c.get(Kind::Template, &key).await.expect("get"));
    let mut grpc = serve.cordium().await;
    let req = c::BuildTemplateRequest {
        template_ref: Some(meta::ObjectReference {
            name: "good.lab.admin".into(),
            ..Default::default()
        }),
        tags: vec![],
    };
    grpc.build_template(req).await.expect("build");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let t = grpc
            .get_template(meta::GetOptions { name: "good.lab.admin".into(), ..Default::default() })
            .await
            .expect("get")
            .into_inner();
        let running = t
            .status
            .and_then(|s| s.build_info)
            .map(|b| !b.current_running_build_id.is_empty())
            .unwrap_or(false);
        if !running {
            break;
        }
        assert!(Instant::now() < deadline, "the build never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = resource_version(&c.get(Kind::Template, &key).await.expect("get"));
    assert_ne!(before, after, "the status writes moved the resourceVersion");

    let applied = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "a status write is not staleness: {}",
        text(&applied)
    );
    let live = c.get(Kind::Template, &key).await.expect("get");
    assert_eq!(live.metadata().map(|m| m.description.as_str()), Some("two"));

    // A spec change on the cluster after the plan: refused, naming the object.
    write(
        dir.path(),
        "main.yaml",
        &TEMPLATE_STACK.replace("description: one", "description: three"),
    );
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let mut live = c.get(Kind::Template, &key).await.expect("get");
    if let cordium::live::Object::Template(t) = &mut live {
        let reg = t.spec.as_mut().and_then(|s| s.image.as_mut());
        assert!(reg.is_some(), "the Template has an image");
        if let Some(img) = reg {
            img.r#type = Some(c::workspace::spec::image::Type::Registry(
                c::workspace::spec::image::Registry { url: "node:24".into(), ..Default::default() },
            ));
        }
    }
    c.update(live).await.expect("update by hand");
    let refused = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("stale"), "{err}");
    assert!(err.contains("template.lab.good"), "{err}");
    assert!(err.contains("spec or managed metadata changed"), "{err}");
}

/// An organisation Space and a USER Space, each with a Secret that a Template, a Workspace and
/// (the organisation Space) the Space runtime use through `fromSecret`.
const SECRET_STACK: &str = r#"apiVersion: cordium/v1
kind: Space
metadata:
  name: org.cordium
spec:
  runtime:
    envVars:
      - {key: WANDB, fromSecret: wandb}
---
apiVersion: cordium/v1
kind: Secret
metadata:
  name: wandb.org
fromEnv: WANDB_API_KEY
---
apiVersion: cordium/v1
kind: Template
metadata:
  name: gpu.org
spec:
  image:
    registry:
      url: python:3.12
  runtime:
    envVars:
      - {key: WANDB, fromSecret: wandb}
---
apiVersion: cordium/v1
kind: Workspace
metadata:
  name: box.org
template: gpu
spec:
  repository:
    url: https://example.com/r
    authentication:
      http:
        username: git
        password: {fromSecret: wandb}
---
apiVersion: cordium/v1
kind: Space
metadata:
  name: lab
---
apiVersion: cordium/v1
kind: Secret
metadata:
  name: key.lab
fromEnv: ANTHROPIC_API_KEY
---
apiVersion: cordium/v1
kind: Template
metadata:
  name: cpu.lab
spec:
  image:
    registry:
      url: debian:12
      authentication: {username: me, password: {fromSecret: key}}
"#;

/// Every `fromSecret` string in a protojson value.
fn from_secrets(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                match (k.as_str(), c) {
                    ("fromSecret", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => from_secrets(c, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|i| from_secrets(i, out)),
        _ => {}
    }
}

// The server looks every `fromSecret` up by the Secret's exact stored name (octelium/cordium
// `wsutils/workspacevalidate.go` `ValidateWorkspace`, `mains/space.go` `validateSpace`): what
// cordium sends is `<secret>.<space>.<owner>`, and a converged stack plans clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_secret_is_sent_in_its_stored_form_and_plans_clean() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    write(dir.path(), "main.yaml", SECRET_STACK);
    // Through a saved plan: `apply FILE` sends the stored form too.
    let file = dir.path().join("plan.json");
    let f = file.to_str().expect("utf-8");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let applied = cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    let c = client(&serve).await;
    let spec_of = |o: cordium::live::Object| cordium::live::convert::from_wire(&o).spec_json;
    let mut found = Vec::new();
    for (kind, name) in [
        (Kind::Space, "org.cordium"),
        (Kind::Template, "gpu.org.cordium"),
        (Kind::Template, "cpu.lab.admin"),
    ] {
        let o = c.get(kind, &ObjectKey::Name(name.into())).await.expect("get");
        from_secrets(&spec_of(o), &mut found);
    }
    let ws = c
        .list(Kind::Workspace, &cordium::live::Scope::Space("org.cordium".into()))
        .await
        .expect("list");
    assert_eq!(ws.len(), 1);
    from_secrets(&spec_of(ws[0].clone()), &mut found);
    found.sort();
    assert_eq!(
        found,
        ["key.lab.admin", "wandb.org.cordium", "wandb.org.cordium", "wandb.org.cordium"],
        "every reference in its stored form"
    );

    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "a converged stack plans clean: {}", text(&plan));
}

// A reference the server would refuse fails the plan, at its file:line:col, before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_from_secret_naming_no_secret_fails_the_plan_and_writes_nothing() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let config =
        SECRET_STACK.replace("password: {fromSecret: key}", "password: {fromSecret: nope}");
    write(dir.path(), "main.yaml", &config);
    let plan = cordium(&["plan", d, "--endpoint", &serve.url]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let err = String::from_utf8_lossy(&plan.stderr);
    let line = config.lines().position(|l| l.contains("nope")).expect("line") + 1;
    assert!(err.contains(&format!("main.yaml:{line}:")), "file:line:col: {err}");
    assert!(err.contains("nope.lab.admin"), "names the stored name looked up: {err}");
    let applied = cordium(&["apply", d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(1), "{}", text(&applied));
    let c = client(&serve).await;
    let spaces = c.list(Kind::Space, &cordium::live::Scope::All).await.expect("list");
    assert!(spaces.is_empty(), "nothing written: {} Spaces", spaces.len());

    // Created on the cluster out of band, under its stored name: the plan goes through.
    let mut grpc = serve.cordium().await;
    let created = grpc.create_space(c::Space {
        metadata: Some(meta::Metadata { name: "lab".into(), ..Default::default() }),
        spec: Some(Default::default()),
        ..Default::default()
    });
    created.await.expect("create Space");
    let secret = c::Secret {
        metadata: Some(meta::Metadata { name: "nope.lab".into(), ..Default::default() }),
        spec: Some(Default::default()),
        data: Some(c::secret::Data { r#type: Some(c::secret::data::Type::Value("v".into())) }),
        ..Default::default()
    };
    grpc.create_secret(secret).await.expect("create Secret");
    let plan = cordium(&["plan", d, "--endpoint", &serve.url]);
    let err = String::from_utf8_lossy(&plan.stderr);
    assert!(!err.contains("missing-secret") && !err.contains("nope.lab.admin"), "{}", text(&plan));
}
