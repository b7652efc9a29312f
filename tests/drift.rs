//! `cordium drift` and the plan's "changed outside cordium" through the real binary against
//! `cordium serve`: changes made with the upstream-schema gRPC API after an apply (a
//! Template's description, a Workspace deleted, a Template created by hand in the stack's
//! Space) are reported exactly, and a config change is told apart from them.

use std::path::Path;

use cordium::live::wire::{cordium as c, meta};
use cordium::live::{Object, ObjectKey, Scope};
use cordium::model::Kind;
use serde_json::{json, Value};

use crate::apply::{client, cordium, text};
use crate::support::Serve;

const STACK: &str = "apiVersion: cordium/v1\nkind: Space\nmetadata:\n  name: lab\nspec: {}\n\
---\napiVersion: cordium/v1\nkind: Template\nmetadata:\n  name: good.lab\n  description: one\n\
spec:\n  image:\n    registry:\n      url: node:22\n\
---\napiVersion: cordium/v1\nkind: Template\nmetadata:\n  name: other.lab\n\
spec:\n  image:\n    registry:\n      url: node:20\n\
---\napiVersion: cordium/v1\nkind: Workspace\nmetadata:\n  name: box.lab\ntemplate: good\n";

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.yaml"), text).expect("write");
}

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_reports_out_of_band_changes_exactly_and_plan_tells_them_from_config_changes() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    let url = serve.url.as_str();
    write(dir.path(), STACK);
    let applied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));

    let clean = cordium(&["drift", d, "--endpoint", url]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout),
        format!(
            "Target: {url} as admin\n\nNo drift. The cluster is as cordium last applied it (4 \
             resources checked).\n"
        )
    );

    // Out of band, with the upstream-schema API: a description changed, the Workspace
    // deleted, a Template created in the stack's Space with no stack label.
    let cl = client(&serve).await;
    let key = ObjectKey::Name("good.lab.admin".into());
    let mut good = cl.get(Kind::Template, &key).await.expect("get");
    if let Object::Template(t) = &mut good {
        t.metadata.as_mut().expect("metadata").description = "by hand".into();
    }
    cl.update(good).await.expect("update by hand");
    let ws = cl.list(Kind::Workspace, &Scope::All).await.expect("list");
    let ws: Vec<&Object> =
        ws.iter().filter(|w| !cordium::live::convert::from_wire(w).system).collect();
    assert_eq!(ws.len(), 1);
    cl.delete(Kind::Workspace, &ObjectKey::Uid(ws[0].uid().to_string())).await.expect("delete");
    let stray = c::Template {
        metadata: Some(meta::Metadata { name: "stray.lab".into(), ..Default::default() }),
        spec: Some(c::template::Spec::default()),
        ..Default::default()
    };
    cl.create(Object::Template(stray)).await.expect("create by hand");

    let found = cordium(&["drift", d, "--endpoint", url, "--output", "json"]);
    assert_eq!(found.status.code(), Some(2), "{}", text(&found));
    let report = json_of(&found);
    assert_eq!(
        report["drifted"],
        json!([
            {
                "address": "template.lab.good",
                "kind": "template",
                "drift": "changed",
                "reason": "changed outside cordium (1 field(s))",
                "live_name": "good.lab.admin",
                "fields": [{
                    "path": "metadata.description",
                    "live": "by hand",
                    "config": "one",
                    "sensitive": false
                }]
            },
            {
                "address": "template.lab.stray",
                "kind": "template",
                "drift": "unmanaged",
                "reason": "in the stack's Space `lab.admin`, but managed by no stack",
                "live_name": "stray.lab.admin",
                "fields": []
            },
            {
                "address": "workspace.lab.box",
                "kind": "workspace",
                "drift": "deleted",
                "reason": "not on the cluster: a Workspace its Space's ownership record names is \
                           gone (deleted outside cordium)",
                "fields": []
            }
        ]),
        "{}",
        text(&found)
    );
    assert_eq!(report["has_drift"], true);
    assert_eq!(report["config_changes"], json!([]));

    let human = cordium(&["drift", d, "--endpoint", url]);
    assert_eq!(human.status.code(), Some(2), "{}", text(&human));
    assert_eq!(
        String::from_utf8_lossy(&human.stdout),
        [
            &format!("Target: {url} as admin"),
            "",
            "  # template.lab.good changed: changed outside cordium (1 field(s)) (live: \
             good.lab.admin)",
            "      ~ metadata.description: \"by hand\" on the cluster, \"one\" in the config",
            "",
            "  # template.lab.stray unmanaged: in the stack's Space `lab.admin`, but managed by \
             no stack (live: stray.lab.admin)",
            "",
            "  # workspace.lab.box deleted: not on the cluster: a Workspace its Space's ownership \
             record names is gone (deleted outside cordium)",
            "",
            "Drift: 1 changed outside cordium, 1 deleted outside cordium, 1 unmanaged.",
            "",
        ]
        .join("\n")
    );
    // The HTML page beside the human output: self-contained, one open section per finding.
    let page_dir = tempfile::tempdir().expect("tempdir");
    let page_path = page_dir.path().join("drift.html");
    let page_arg = page_path.to_str().expect("utf-8");
    let with_page = cordium(&["drift", d, "--endpoint", url, "--html", page_arg]);
    assert_eq!(with_page.status.code(), Some(2), "{}", text(&with_page));
    assert_eq!(with_page.stdout, human.stdout, "--html changes nothing else");
    let page = std::fs::read_to_string(&page_path).expect("the page is written");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    for banned in ["<script", "src=", "href=", "@import", "<link"] {
        assert!(!page.contains(banned), "the page has {banned}");
    }
    assert!(
        page.contains(
            "<strong>Drift: 1 changed outside cordium, 1 deleted outside cordium, 1 unmanaged.</strong>"
        ),
        "{page}"
    );
    for (a, kind) in [
        ("template.lab.good", "changed"),
        ("template.lab.stray", "unmanaged"),
        ("workspace.lab.box", "deleted"),
    ] {
        assert!(
            page.contains(&format!(
                "<details class=\"resource\" id=\"r-{a}\" open><summary><code>{a}</code> {kind}:"
            )),
            "{a}: {page}"
        );
    }
    assert!(
        page.contains(
            "<td><code>metadata.description</code></td><td><code>&quot;by hand&quot;</code></td>"
        ),
        "{page}"
    );
    let md = cordium(&["drift", d, "--endpoint", url, "--output", "markdown"]);
    let md = String::from_utf8_lossy(&md.stdout).to_string();
    assert!(md.contains("| `template.lab.good` | changed | `good.lab.admin` |"), "{md}");
    assert!(md.contains("+ metadata.description = \"one\""), "{md}");

    // The plan says which side each difference comes from: a change of the config to another
    // Template is "your config changed"; the hand-made one "changed outside cordium".
    write(dir.path(), &STACK.replace("node:20", "node:24"));
    let plan = cordium(&["plan", d, "--endpoint", url, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let doc = json_of(&plan);
    let field = |address: &str| -> Value {
        doc["resource_changes"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["address"] == address))
            .map(|c| c["fields"][0].clone())
            .unwrap_or_else(|| panic!("{address}: {doc}"))
    };
    assert_eq!(field("template.lab.good")["changed_by"], "outside");
    assert_eq!(field("template.lab.other")["changed_by"], "config");
    assert_eq!(field("template.lab.other")["path"], "spec.image.registry.url");
    let human = cordium(&["plan", d, "--endpoint", url]);
    let out = String::from_utf8_lossy(&human.stdout).to_string();
    assert!(
        out.contains("~ metadata.description = \"by hand\" -> \"one\" # changed outside cordium"),
        "{out}"
    );
    assert!(
        out.contains(
            "~ spec.image.registry.url = \"node:20\" -> \"node:24\" # your config changed"
        ),
        "{out}"
    );
    // Drift leaves the config's own change out, and names it.
    let again = json_of(&cordium(&["drift", d, "--endpoint", url, "--output", "json"]));
    assert_eq!(again["config_changes"], json!(["template.lab.other"]));

    // Applied again, the cluster is as applied: no drift but the unmanaged Template.
    let reapplied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
    assert_eq!(reapplied.status.code(), Some(0), "{}", text(&reapplied));
    let after = json_of(&cordium(&["drift", d, "--endpoint", url, "--output", "json"]));
    let kinds: Vec<&str> = after["drifted"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["drift"].as_str())
        .collect();
    assert_eq!(kinds, ["unmanaged"], "{after}");
}

/// `schemas/drift.v1.json` and `schemas/status.v1.json` are the documents' schemas (refresh
/// with `BLESS=1 cargo test --test main schemas`).
#[test]
fn drift_and_status_schemas_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, schema) in [
        ("schemas/drift.v1.json", cordium::render::drift::schema()),
        ("schemas/status.v1.json", cordium::render::status::schema()),
    ] {
        let path = root.join(file);
        let mut want = serde_json::to_string_pretty(&schema).expect("json");
        want.push('\n');
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &want).expect("write schema");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "stale {file} (run `BLESS=1 cargo test --test main schemas`)");
    }
}
