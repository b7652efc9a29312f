//! Test helpers: models built from config text through the real loader, so unit tests of the
//! later stages start from what a user would write. YAML is parsed in memory; HCL (and stack
//! files) go through a temporary directory and [`crate::config::load`].

use std::path::Path;

use crate::config::{self, Format, LoadOptions, Loaded, RawDoc};
use crate::diag::Diagnostics;

use super::Model;

/// Every diagnostic of loading and building, as `code: message` lines (errors only).
pub(crate) fn errors(diags: &Diagnostics) -> Vec<String> {
    diags.iter().filter(|d| d.is_error()).map(|d| format!("{}: {}", d.code, d.message)).collect()
}

/// The model of one YAML file (any number of documents), with every diagnostic.
pub(crate) fn load_yaml(text: &str) -> (Model, Diagnostics) {
    let mut loaded = Loaded::default();
    let file = loaded.sources.add("test.yaml", text);
    for doc in config::yaml::parse(file, text, &mut loaded.diagnostics) {
        loaded.docs.push(RawDoc { format: Format::Yaml, node: doc.node, span: doc.span, file });
    }
    let (model, diags) = super::build(&loaded);
    let mut all = loaded.diagnostics;
    all.extend(diags);
    (model, all)
}

/// The model of one YAML file that must have no errors.
pub(crate) fn yaml(text: &str) -> Model {
    let (model, diags) = load_yaml(text);
    assert!(!diags.has_errors(), "{:?}", errors(&diags));
    model
}

/// The model of a config directory written from `files` (path, text), with every diagnostic.
pub(crate) fn load_dir(files: &[(&str, &str)], opts: &LoadOptions) -> (Model, Diagnostics) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    let loaded = config::load(dir.path(), opts);
    let (model, diags) = super::build(&loaded);
    let mut all = loaded.diagnostics;
    all.extend(diags);
    (model, all)
}

/// The model of one HCL file that must have no errors.
pub(crate) fn hcl(text: &str) -> Model {
    let (model, diags) = load_dir(&[("main.hcl", text)], &LoadOptions::default());
    assert!(!diags.has_errors(), "{:?}", errors(&diags));
    model
}
