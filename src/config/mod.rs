//! Reading the config directory: finding files, parsing HCL and YAML into raw documents with
//! source spans, variables, locals, var files and the stack file's environments.
//!
//! Produces [`RawDoc`]s: YAML documents in the canonical shape (see `model::doc`), HCL resource
//! blocks in the raw HCL shape (see [`hcl`]) with every expression already evaluated. Typing them
//! is the model's job. Must not talk to a cluster.

pub mod hcl;
pub mod stack;
pub mod tree;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, FileId, Sources, Span};
use tree::Node;

/// The format a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Hcl,
}

/// One resource document, before typing.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDoc {
    pub format: Format,
    /// YAML: the document as written (canonical shape). HCL: see [`hcl`] for the raw shape.
    pub node: Node,
    /// The document or block, for "defined here" notes.
    pub span: Span,
    pub file: FileId,
}

/// A `--var` or `--var-file`, in the order given (later wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarArg {
    Var { name: String, value: String },
    File(PathBuf),
}

/// What the caller says about loading (already merged from flags and environment by `cli`).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--env NAME`: an environment of the stack file, whose var files apply.
    pub env: Option<String>,
    /// `CORDIUM_VAR_<name>` values, read by `cli` from the environment.
    pub env_vars: Vec<(String, String)>,
    /// `--var` and `--var-file` in the order given.
    pub vars: Vec<VarArg>,
}

/// Everything read from a config directory.
#[derive(Debug, Default)]
pub struct Loaded {
    pub root: PathBuf,
    pub sources: Sources,
    pub docs: Vec<RawDoc>,
    pub stack: Option<stack::Stack>,
    pub diagnostics: Diagnostics,
}

/// Reads every `.hcl`, `.yaml` and `.yml` under `root` (recursively; hidden folders and
/// `.cordium/` skipped), plus the stack file, into raw documents. Never fails: problems are
/// diagnostics.
pub fn load(root: &Path, _opts: &LoadOptions) -> Loaded {
    Loaded { root: root.to_path_buf(), ..Loaded::default() }
}
