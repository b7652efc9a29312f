//! The stack file at the config root (`cordium.hcl` or `cordium.yaml`): the stack name (used in
//! the `cordium-stack` ownership label), prune and build defaults, and named environments with
//! their targets and variable files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, Sources, Span};

/// The stack file's contents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// Stack name: the value of the `cordium-stack` label on every object apply creates.
    pub name: String,
    /// Delete labelled objects that are no longer declared (same as `plan --prune`).
    pub prune: bool,
    /// Default per-build timeout for Template pre-builds, e.g. `30m`.
    pub build_timeout: Option<String>,
    pub environments: BTreeMap<String, Environment>,
    /// Path of the stack file, relative to the root.
    pub file: Option<PathBuf>,
    pub span: Option<Span>,
}

/// A named environment: where to apply, with which variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    pub name: String,
    /// A real cluster at `octelium-api.<domain>:443`.
    pub domain: Option<String>,
    /// An explicit endpoint URL, e.g. `http://127.0.0.1:4000` for `cordium serve`.
    pub endpoint: Option<String>,
    /// The embedded local cluster stored at this path (relative to the root).
    pub local: Option<PathBuf>,
    /// Variable files (relative to the root), applied in order.
    pub var_files: Vec<PathBuf>,
    pub span: Option<Span>,
}

/// Stack file names, in the order they are looked for.
pub const FILE_NAMES: &[&str] = &["cordium.hcl", "cordium.yaml", "cordium.yml"];

/// Reads the stack file at `root`, if any. Problems are diagnostics.
pub fn load(_root: &Path, _sources: &mut Sources, _diags: &mut Diagnostics) -> Option<Stack> {
    None
}
