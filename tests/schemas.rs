//! `schemas/` holds one JSON Schema per kind, generated from the model. A test fails when they
//! are stale (refresh with `BLESS=1 cargo test schemas`), and every YAML document in
//! `examples/` must validate against its kind's schema.

use std::path::{Path, PathBuf};

use cordium::model::{schema, Kind};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rendered(kind: Kind) -> String {
    let mut text = serde_json::to_string_pretty(schema::for_kind(kind)).expect("schema is JSON");
    text.push('\n');
    text
}

#[test]
fn schemas_are_up_to_date() {
    let dir = root().join("schemas");
    let bless = std::env::var_os("BLESS").is_some();
    let mut stale = Vec::new();
    for kind in Kind::ALL {
        let path = dir.join(schema::file_name(kind));
        let want = rendered(kind);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if bless {
                std::fs::create_dir_all(&dir).expect("create schemas/");
                std::fs::write(&path, want).expect("write schema");
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(stale.is_empty(), "stale schemas (run `BLESS=1 cargo test schemas`): {stale:?}");
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_example_yaml_document_matches_its_schema() {
    let mut files = Vec::new();
    yaml_files(&root().join("examples"), &mut files);
    let mut checked = 0;
    let mut problems = Vec::new();
    for file in files {
        if file.file_stem().is_some_and(|s| s == "cordium") {
            continue; // the stack file is not a resource document
        }
        let text = std::fs::read_to_string(&file).expect("readable example");
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).expect("example YAML parses");
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
            let kind = Kind::from_api_kind(kind)
                .unwrap_or_else(|| panic!("{}: unknown kind {kind:?}", file.display()));
            let validator = jsonschema::validator_for(schema::for_kind(kind)).expect("schema");
            for err in validator.iter_errors(&doc) {
                problems.push(format!("{}: {} at {}", file.display(), err, err.instance_path()));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 28, "expected every platform-yaml document, checked {checked}");
}

#[test]
fn the_schemas_reject_what_the_decoder_rejects() {
    let template = schema::for_kind(Kind::Template);
    let bad = [
        serde_json::json!({"kind": "Template", "metadata": {"name": "a.b"}, "spec": {"imag": {}}}),
        serde_json::json!({"kind": "Template", "metadata": {"name": "a.b"},
            "spec": {"runtime": {"tasks": [{"name": "t", "type": "ON_CRATE"}]}}}),
        serde_json::json!({"kind": "Space", "metadata": {"name": "a"}}),
        serde_json::json!({"kind": "Template", "spec": {}}),
    ];
    for doc in bad {
        assert!(!jsonschema::is_valid(template, &doc), "accepted {doc}");
    }
}

#[test]
fn plan_schema_is_up_to_date() {
    let path = root().join("schemas/plan.v1.json");
    let mut want =
        serde_json::to_string_pretty(&cordium::render::plan_doc::schema()).expect("json");
    want.push('\n');
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &want).expect("write plan schema");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "stale schemas/plan.v1.json (run `BLESS=1 cargo test schemas`)");
}

#[test]
fn the_plan_schema_rejects_a_document_missing_its_parts() {
    let schema = cordium::render::plan_doc::schema();
    assert!(!jsonschema::is_valid(&schema, &serde_json::json!({})));
    assert!(!jsonschema::is_valid(
        &schema,
        &serde_json::json!({"format_version": "1.0", "summary": {"create": "many"}})
    ));
}
