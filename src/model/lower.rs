//! Lowering HCL's raw block shape to the canonical document tree (stub; the HCL work replaces it).

use crate::config::tree::Node;
use crate::config::RawDoc;
use crate::diag::Diagnostics;

/// Turns one raw HCL document into the canonical tree (`kind`, `metadata`, `spec`, camelCase).
/// `None` when it cannot be lowered (the problems are in `diags`).
pub fn lower(_doc: &RawDoc, _diags: &mut Diagnostics) -> Option<Node> {
    None
}
