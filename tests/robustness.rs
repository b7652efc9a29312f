//! Hostile input never panics or hangs: huge files, long lines, random bytes, and random
//! mutations of a valid config, through the YAML loader, the model and the renderers.

use std::path::Path;

use cordium::config::{self, LoadOptions, Loaded};
use cordium::diag::Diagnostics;
use cordium::render::diagnostics as view;
use proptest::prelude::*;

const VALID: &str = r#"apiVersion: cordium/v1
kind: Space
metadata:
  name: ml.cordium
  labels: {team: ml}
spec:
  runtime:
    envVars:
      - {key: WANDB_API_KEY, fromSecret: wandb}
---
kind: Secret
metadata: {name: wandb.ml}
fromEnv: WANDB_API_KEY
---
kind: Template
metadata:
  name: gpu.ml
spec:
  image: &img {registry: {url: "python:3.12-bookworm"}}
  repository:
    url: https://github.com/example/ml
    cloneOptions: {branch: main, depth: 1}
  runtime:
    tasks:
      - name: install
        type: ON_CREATE
        run: |
          pip install -r requirements.txt
        onFailure: 1
    network:
      egress:
        rules: [{cidrs: [10.0.0.0/8], action: DENY, ports: [443]}]
  limit: &lim {cpu: {millicores: 8000}, memory: {megabytes: 16384}}
  vars:
    - &var {name: A, value: "${{ vars.B }}"}
    - {<<: *var, name: B}
prebuild: {timeout: 45m}
---
kind: Workspace
metadata: {name: agent-box.ml}
template: gpu
spec:
  applications: [{name: web, port: 8080, isDefault: true}]
---
kind: User
metadata: {name: agent-1}
spec:
  type: WORKLOAD
  authorization:
    inlinePolicies:
      - spec: {rules: [{effect: ALLOW, condition: {match: "true"}}]}
"#;

/// Parses YAML text as one file of a config, builds the model and renders every diagnostic.
fn run_text(text: &str) -> (usize, Diagnostics) {
    let mut loaded = Loaded::default();
    let text: std::sync::Arc<str> = text.into();
    let file = loaded.sources.add("fuzz.yaml", text.clone());
    let docs = config::yaml_docs(file, &text, &mut loaded.diagnostics);
    loaded.docs.extend(docs);
    let (model, mut diags) = cordium::model::build(&loaded);
    diags.extend(loaded.diagnostics.clone());
    diags.sort();
    let _ = view::json(&diags, &loaded.sources);
    let _ = view::human(&diags, &loaded.sources, cordium::render::Style::PLAIN);
    (model.len(), diags)
}

fn load_dir(dir: &Path) -> (Loaded, Diagnostics) {
    let loaded = config::load(dir, &LoadOptions::default());
    let (_, mut diags) = cordium::model::build(&loaded);
    diags.extend(loaded.diagnostics.clone());
    (loaded, diags)
}

#[test]
fn the_valid_sample_is_valid() {
    let (n, diags) = run_text(VALID);
    assert!(!diags.has_errors(), "{diags:#?}");
    assert_eq!(n, 5);
}

#[test]
fn a_50_mb_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = std::fs::File::create(dir.path().join("huge.yaml")).expect("create");
    f.set_len(50 * 1024 * 1024).expect("sparse file");
    let (_, diags) = load_dir(dir.path());
    let d = diags.iter().find(|d| d.code == "file-too-large").expect("refused");
    assert!(d.message.contains("50 MB"), "{}", d.message);
}

#[test]
fn a_very_long_line_is_read_and_clipped_in_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "x".repeat(3 * 1024 * 1024);
    let text = format!("kind: Space\nmetadata: {{name: ml, description: \"{long}\"}}\n");
    std::fs::write(dir.path().join("space.yaml"), text).expect("write");
    let (loaded, diags) = load_dir(dir.path());
    let d = diags.iter().find(|d| d.message.contains("description")).expect("too long");
    assert!(d.is_error());
    let json = view::json(&diags, &loaded.sources).to_string();
    assert!(json.len() < 10_000, "output is clipped, got {} bytes", json.len());
    let human = view::human(&diags, &loaded.sources, cordium::render::Style::PLAIN);
    assert!(human.len() < 10_000, "human output is clipped, got {} bytes", human.len());
}

#[test]
fn a_missing_directory_is_a_diagnostic() {
    let (_, diags) = load_dir(Path::new("/nonexistent/cordium/config"));
    assert!(diags.iter().any(|d| d.code == "config-dir" && d.span.is_none()), "{diags:?}");
}

#[test]
fn many_documents_and_wide_maps_are_fine() {
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!("---\nkind: Space\nmetadata: {{name: s{i}}}\n"));
    }
    let (n, diags) = run_text(&text);
    assert!(!diags.has_errors(), "{:?}", diags.iter().next());
    assert_eq!(n, 2000);
}

/// One edit of a text, applied at a position chosen by proptest.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let fragment = prop::collection::vec(
        prop::sample::select(vec![
            ":",
            " ",
            "-",
            "[",
            "]",
            "{",
            "}",
            "&a",
            "*a",
            "!!str",
            "!x",
            "|",
            ">",
            "'",
            "\"",
            "#",
            "\n",
            "  ",
            "<<: *a",
            "0x1F",
            "-1",
            "99999999999999999999",
            "~",
            "null",
            "true",
            ".inf",
            "\t",
            "é",
            "\u{feff}",
            "---",
            "...",
            "%YAML 1.2",
            "kind: User",
            "metadata:",
            "spec:",
            "status:",
            "fromSecret",
            "password: x",
            "\\",
        ]),
        1..6,
    )
    .prop_map(|v| v.concat());
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), fragment).prop_map(|(a, s)| Edit::Insert(a, s)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        match e {
            Edit::Delete(at, n) => {
                let a = floor_boundary(&s, at % (s.len() + 1));
                let b = floor_boundary(&s, a + n);
                s.replace_range(a..b, "");
            }
            Edit::Insert(at, frag) => {
                let a = floor_boundary(&s, at % (s.len() + 1));
                s.insert_str(a, frag);
            }
            Edit::DuplicateLine(at) | Edit::SwapLines(at, _) if s.lines().count() == 0 => {
                let _ = at;
            }
            Edit::DuplicateLine(at) => {
                let mut lines: Vec<&str> = s.lines().collect();
                let i = at % lines.len();
                lines.insert(i, lines[i]);
                s = lines.join("\n");
            }
            Edit::SwapLines(a, b) => {
                let mut lines: Vec<&str> = s.lines().collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                s = lines.join("\n");
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, timeout: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        run_text(&text);
    }

    #[test]
    fn mutated_configs_never_panic(edits in prop::collection::vec(edit(), 1..8)) {
        let text = apply(VALID, &edits);
        run_text(&text);
    }
}

#[test]
fn random_files_on_disk_never_panic() {
    // Bytes that are not UTF-8, NUL bytes and BOMs go through the file reader too.
    let dir = tempfile::tempdir().expect("tempdir");
    let samples: [&[u8]; 5] = [
        b"\xff\xfe k: v",
        b"kind: Space\x00",
        b"\xef\xbb\xbfkind: Space\nmetadata: {name: ml}\n",
        b"",
        b"\n\n\n",
    ];
    for (i, bytes) in samples.iter().enumerate() {
        std::fs::write(dir.path().join(format!("f{i}.yaml")), bytes).expect("write");
    }
    let (loaded, diags) = load_dir(dir.path());
    assert!(diags.iter().any(|d| d.code == "not-utf8"));
    assert!(diags.iter().any(|d| d.code == "binary-file"));
    assert_eq!(loaded.docs.len(), 1, "the BOM file loads");
}
