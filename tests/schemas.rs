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
    assert!(checked >= 30, "expected every platform-yaml document, checked {checked}");
}

/// Runs one YAML document through the real decoder (`model::decode::decode`): the error codes.
fn decoder_errors(text: &str) -> Vec<&'static str> {
    let mut sources = cordium::diag::Sources::new();
    let file = sources.add("doc.yaml", text);
    let mut diags = cordium::diag::Diagnostics::new();
    let mut docs = cordium::config::yaml::parse(file, text, &mut diags);
    assert_eq!(docs.len(), 1, "one document: {text}");
    let doc = docs.remove(0);
    let decoded = cordium::model::decode::decode(doc.node, doc.span, &mut diags);
    let errors: Vec<&'static str> = diags.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
    assert_eq!(decoded.is_none(), !errors.is_empty(), "{text}: {errors:?}");
    errors
}

/// The schema of a document's own kind, as a validator.
fn schema_accepts(text: &str) -> bool {
    let doc: serde_json::Value = serde_saphyr::from_str(text).expect("YAML");
    let kind = doc.get("kind").and_then(|k| k.as_str()).and_then(Kind::from_api_kind);
    let kind = kind.expect("a known kind");
    jsonschema::is_valid(schema::for_kind(kind), &doc)
}

#[test]
fn the_schemas_reject_what_the_decoder_rejects() {
    // (document, the decoder's error code)
    let bad = [
        ("kind: Template\nmetadata: {name: gpu.ml}\nspec: {imag: {}}\n", "unknown-field"),
        (
            "kind: Template\nmetadata: {name: gpu.ml}\nspec:\n  runtime:\n    tasks:\n      - {name: t, type: ON_CRATE, run: make}\n",
            "bad-enum",
        ),
        ("kind: Space\nmetadata: {name: ml}\nspec: {limit: big}\n", "wrong-type"),
        ("kind: Template\nspec: {}\n", "missing-field"),
        ("kind: User\nmetadata: {name: agent}\nspec: {groups: agents}\n", "wrong-type"),
    ];
    for (doc, code) in bad {
        let errors = decoder_errors(doc);
        assert!(errors.contains(&code), "decoder on {doc}: {errors:?}");
        assert!(!schema_accepts(doc), "the schema accepted what the decoder rejects: {doc}");
    }
    // And both accept a good document of each kind, so the rejections above mean something.
    let good = [
        "kind: Template\nmetadata: {name: gpu.ml}\nspec:\n  image: {registry: {url: 'python:3.12'}}\n  runtime:\n    tasks:\n      - {name: t, type: ON_CREATE, run: make}\n",
        "kind: Space\nmetadata: {name: ml}\nspec: {limit: {maxLimit: {cpu: {millicores: 100}}}}\n",
        "kind: User\nmetadata: {name: agent}\nspec: {type: WORKLOAD, groups: [agents]}\n",
        "kind: Workspace\nmetadata: {name: box.ml}\ntemplate: gpu\n",
        "kind: Secret\nmetadata: {name: tok.ml}\nfromEnv: TOKEN\n",
    ];
    for doc in good {
        assert_eq!(decoder_errors(doc), Vec::<&str>::new(), "decoder on {doc}");
        assert!(schema_accepts(doc), "the schema rejected {doc}");
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
