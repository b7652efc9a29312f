//! HCL: parsing with spans (`hcl-edit`), evaluating expressions (`hcl::eval`) with variables,
//! locals, resource references and our Terraform-style function library, and producing one
//! [`RawDoc`] per resource block in the raw HCL shape. Lowering that shape to the canonical
//! document is the model's job.

mod eval;
pub mod funcs;

use std::path::{Path, PathBuf};

use super::stack::Stack;
use super::{LoadOptions, RawDoc};
use crate::diag::{Diagnostics, Sources};

/// Parses and evaluates every HCL file (stack file excluded) into raw documents.
pub fn load(
    _root: &Path,
    _files: &[PathBuf],
    _stack: Option<&Stack>,
    _opts: &LoadOptions,
    _sources: &mut Sources,
    _diags: &mut Diagnostics,
) -> Vec<RawDoc> {
    Vec::new()
}
