//! The same resources written in HCL and in YAML produce the same model, and so byte-identical
//! plans (ARCHITECTURE.md §2): `examples/platform` (HCL, default variables) against
//! `examples/platform-yaml` (its YAML rendering).

use std::path::Path;

use cordium::config::{load, LoadOptions};
use cordium::diff::{self, DiffOptions};
use cordium::model::{self, Model};
use cordium::plan::{self, PlanInputs, TargetInfo};
use cordium::render::PlanDoc;

fn model_of(dir: &str) -> Model {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(dir);
    let loaded = load(&root, &LoadOptions::default());
    let (model, diags) = model::build(&loaded);
    assert!(
        !loaded.diagnostics.has_errors() && !diags.has_errors(),
        "{dir}: {diags:?} {:?}",
        loaded.diagnostics
    );
    model
}

#[test]
fn hcl_and_yaml_platform_examples_build_the_same_model() {
    let hcl = model_of("platform");
    let yaml = model_of("platform-yaml");
    assert_eq!(hcl.len(), 34);
    let addresses =
        |m: &Model| m.resources.iter().map(|r| r.address.to_string()).collect::<Vec<_>>();
    assert_eq!(addresses(&hcl), addresses(&yaml));
    for (h, y) in hcl.resources.iter().zip(&yaml.resources) {
        assert_eq!(h.metadata, y.metadata, "{}: metadata", h.address);
        assert_eq!(h.body, y.body, "{}: body", h.address);
        assert_eq!(h.lifecycle, y.lifecycle, "{}: lifecycle", h.address);
    }
}

#[test]
fn hcl_and_yaml_platform_examples_plan_byte_identically() {
    let plan_json = |m: &Model| {
        let d = diff::diff(m, &[], &DiffOptions { stack: "platform".into(), prune: false });
        let inputs = PlanInputs {
            tool_version: "test".into(),
            stack: "platform".into(),
            target: TargetInfo {
                display: "local:x".into(),
                username: "admin".into(),
                implicit_local: true,
            },
            build_timeout_secs: 1800,
            ..PlanInputs::default()
        };
        let (p, problems) = plan::make(m, d, inputs);
        assert!(problems.is_empty(), "{problems:?}");
        PlanDoc::from_plan(&p).to_json()
    };
    let hcl = plan_json(&model_of("platform"));
    let yaml = plan_json(&model_of("platform-yaml"));
    assert!(
        hcl == yaml,
        "plans differ:\n{}",
        similar::TextDiff::from_lines(&yaml, &hcl).unified_diff()
    );
}
