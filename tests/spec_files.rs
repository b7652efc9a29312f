//! Bare spec files (a file holding only `spec:`, as the Cordium docs write Templates and
//! Workspaces for `cordium create template NAME -f`): used from HCL with
//! `spec = yamldecode(file(...))` and from YAML with `specFrom:`, both giving the plan a full
//! document gives; the spec file is not a resource itself; a problem inside it is shown at its
//! own line and column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

const SPEC: &str = "spec:\n  image:\n    registry:\n      url: python:3.12-bookworm\n  runtime:\n    envVars:\n      - key: PYTHONUNBUFFERED\n        value: \"1\"\n";

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

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir
}

/// The plan as JSON, without what differs by directory.
fn plan(dir: &Path) -> serde_json::Value {
    let db = dir.join("local.db");
    let o = run(dir, &["plan", ".", "--local", db.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan JSON");
    v["target"] = serde_json::Value::Null;
    // Where each field is set and how the config names it differ by design (the spec file's
    // own line or the inline document's; HCL or YAML names); everything else must be the same.
    if let Some(changes) = v["resource_changes"].as_array_mut() {
        for c in changes {
            if let Some(fields) = c["fields"].as_array_mut() {
                fields.iter_mut().filter_map(|f| f.as_object_mut()).for_each(|f| {
                    f.remove("at");
                    f.remove("config_path");
                });
            }
        }
    }
    v
}

#[test]
fn a_bare_spec_file_gives_the_same_plan_from_hcl_yaml_and_inline() {
    let space = "kind: Space\nmetadata: {name: ml}\n";
    let inline = dir_with(&[
        ("space.yaml", space),
        ("t.yaml", &format!("kind: Template\nmetadata: {{name: python.ml}}\n{SPEC}")),
    ]);
    let yaml = dir_with(&[
        ("space.yaml", space),
        ("templates/python.yaml", SPEC),
        (
            "t.yaml",
            "kind: Template\nmetadata: {name: python.ml}\nspecFrom: templates/python.yaml\n",
        ),
    ]);
    let hcl = dir_with(&[
        ("space.yaml", space),
        ("templates/python.yaml", SPEC),
        (
            "t.hcl",
            "template \"python\" {\n  space = \"ml\"\n  spec  = yamldecode(file(\"templates/python.yaml\"))\n}\n",
        ),
    ]);
    let want = plan(inline.path());
    assert_eq!(want["summary"]["create"], 2, "{want}");
    assert_eq!(plan(yaml.path()), want, "specFrom");
    assert_eq!(plan(hcl.path()), want, "yamldecode(file(...))");
}

#[test]
fn problems_inside_a_spec_file_are_shown_in_that_file() {
    let bad = "spec:\n  image:\n    registry:\n      url: python:3.12\n  runtim: {}\n";
    let yaml = dir_with(&[
        ("templates/python.yaml", bad),
        ("t.yaml", "kind: Space\nmetadata: {name: ml}\n---\nkind: Template\nmetadata: {name: python.ml}\nspecFrom: templates/python.yaml\n"),
    ]);
    let o = run(yaml.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("templates/python.yaml:5:3"), "{err}");

    // A YAML syntax error inside a file read by yamldecode(file()) names that file's line.
    let broken = "spec:\n  image: [unclosed\n";
    let hcl = dir_with(&[
        ("templates/python.yaml", broken),
        (
            "t.hcl",
            "space \"ml\" {}\ntemplate \"python\" {\n  space = space.ml\n  spec  = yamldecode(file(\"templates/python.yaml\"))\n}\n",
        ),
    ]);
    let o = run(hcl.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("templates/python.yaml:"), "{err}");

    // A problem with a decoded field is shown in the spec file too.
    let hcl = dir_with(&[
        ("templates/python.yaml", bad),
        (
            "t.hcl",
            "space \"ml\" {}\ntemplate \"python\" {\n  space = space.ml\n  spec  = yamldecode(file(\"templates/python.yaml\"))\n}\n",
        ),
    ]);
    let o = run(hcl.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("templates/python.yaml:5:3"), "{err}");

    // specFrom is YAML's: in HCL it is refused with the HCL way.
    let hcl = dir_with(&[
        ("templates/python.yaml", SPEC),
        (
            "t.hcl",
            "space \"ml\" {}\ntemplate \"python\" {\n  space     = space.ml\n  spec_from = \"templates/python.yaml\"\n}\n",
        ),
    ]);
    let o = run(hcl.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("yamldecode(file("), "{}", text(&o));

    // specFrom stays under the config root.
    let outside = dir_with(&[(
        "t.yaml",
        "kind: Space\nmetadata: {name: ml}\n---\nkind: Template\nmetadata: {name: python.ml}\nspecFrom: ../python.yaml\n",
    )]);
    let o = run(outside.path(), &["validate", "."]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a path under the config root"));
}
