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
    let mut loaded = crate::config::load(dir, opts);
    let (model, model_diags) = crate::model::decode::build_owned(&mut loaded);
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
