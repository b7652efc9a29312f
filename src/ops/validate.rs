//! `validate`: load a config directory and build the model, collecting every problem. Talks to
//! no cluster.

use std::path::Path;

use super::OpsError;
use crate::config::{LoadOptions, Loaded};
use crate::diag::Diagnostics;
use crate::model::Model;

/// A loaded config, its model, and every problem found (sorted).
#[derive(Debug)]
pub struct Validated {
    pub loaded: Loaded,
    pub model: Model,
    pub diags: Diagnostics,
}

impl Validated {
    pub fn has_errors(&self) -> bool {
        self.diags.has_errors()
    }

    /// The dependency graph: each resource with what it needs first.
    pub fn edges(
        &self,
    ) -> std::collections::BTreeMap<crate::model::Address, Vec<crate::model::Address>> {
        crate::model::graph::edges(&self.model)
    }
}

/// Loads `dir` and builds the model; problems, errors included, are in the result.
pub fn validate(dir: &Path, opts: &LoadOptions) -> Validated {
    // Each YAML document is decoded as soon as its file is parsed, and its tree dropped.
    let decoder = crate::model::decode::Decoder::new(opts.strict_kinds);
    let mut loaded = crate::config::load_with(dir, opts, &decoder);
    let (model, model_diags) = crate::model::decode::build_loaded(&mut loaded, decoder);
    let mut diags = loaded.diagnostics.clone();
    diags.extend(model_diags);
    diags.sort();
    Validated { loaded, model, diags }
}

/// Loads `dir` and builds the model: the model and its warnings, or every problem.
pub fn load(dir: &Path, opts: &LoadOptions) -> Result<Validated, OpsError> {
    let v = validate(dir, opts);
    if v.has_errors() {
        return Err(OpsError::Invalid { diags: v.diags, loaded: Box::new(v.loaded) });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `file:line:col` of a diagnostic.
    fn at(v: &Validated, d: &crate::diag::Diagnostic) -> String {
        let span = d.span.expect("a span");
        let file = v.loaded.sources.get(span.file).expect("its file");
        let (line, col) = file.line_col(span.start);
        let name = v.loaded.sources.path(span.file).file_name().unwrap_or_default().to_owned();
        format!("{}:{line}:{col}", name.to_string_lossy())
    }

    /// `file:line:col` of a byte offset of `text`.
    fn place(name: &str, text: &str, offset: Option<usize>) -> String {
        let offset = offset.expect("the text holds it");
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{name}:{line}:{col}")
    }

    /// Documents are decoded while the config loads and their trees dropped: a problem found
    /// after that, by validate's rules or at plan against the cluster, is still shown at the
    /// line and column of the value, in a document that is not its file's first.
    #[test]
    fn problems_found_after_load_point_into_later_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = "kind: Space\nmetadata: {name: ml}\n---\nkind: Template\nmetadata: {name: ok.ml}\n\
spec: {image: {registry: {url: python}}}\n---\n# the third\nkind: Template\nmetadata:\n  name: big.ml\n\
status: {phase: x}\nspec:\n  image: {registry: {url: python}}\n  limit:\n    cpu:\n      millicores: 0\n";
        let b = "kind: Policy\nmetadata: {name: read}\n---\nkind: User\nmetadata:\n  name: bob\n  \
labels: {team: Not_Valid}\nspec:\n  type: WORKLOAD\n  groups: [ops, nowhere]\n";
        std::fs::write(dir.path().join("a.yaml"), a).expect("write");
        std::fs::write(dir.path().join("b.yaml"), b).expect("write");
        let v = validate(dir.path(), &LoadOptions::default());
        let found: Vec<(String, &str)> =
            v.diags.iter().filter(|d| d.is_error()).map(|d| (at(&v, d), d.code)).collect();
        let want = [
            (place("a.yaml", a, a.rfind(": 0").map(|i| i + 2)), "out-of-range"),
            (place("b.yaml", b, b.find("Not_Valid")), "label"),
        ];
        assert_eq!(found, want, "{:?}", v.diags);
        let status: Vec<String> =
            v.diags.iter().filter(|d| d.code == "status-ignored").map(|d| at(&v, d)).collect();
        assert_eq!(status, [place("a.yaml", a, a.find("status"))]);
        // At plan: the Groups the User names that neither the config nor the cluster has.
        let live = [(crate::model::Kind::Group, ["ops".to_string()].into())].into();
        let missing = crate::plan::references::missing_core_refs(&v.model, &live);
        let shown: Vec<String> = missing.iter().map(|d| at(&v, d)).collect();
        assert_eq!(shown, [place("b.yaml", b, b.find("nowhere"))], "{missing:?}");
        // The Template's resource did not keep its tree.
        let big = v.model.get(&"template.ml.big".parse().expect("address")).expect("decoded");
        assert!(!big.origin.keeps_tree());
    }
}
