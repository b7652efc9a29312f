//! Input variables: `variable` blocks, their types, and their values from every source, in
//! Terraform's precedence (lowest first): `default`, `CORDIUM_VAR_<name>`, the selected
//! environment's var files, then `--var-file` and `--var` in the order given.
//!
//! Var files are HCL (`name = value`, any extension but the ones below, typically `.hcl` or
//! `.tfvars`), JSON (`.json`) or YAML (`.yaml`, `.yml`): one top-level map of names to values.
//! Values given as text (`CORDIUM_VAR_*`, `--var`) are taken raw for `string` variables and
//! parsed as HCL expressions otherwise. Reads var files; must not read the environment (the
//! caller passes `CORDIUM_VAR_*` values in).

mod decl;
mod file;
mod resolve;
mod types;

pub(super) use decl::{declare, VarDecl};
pub(super) use resolve::resolve;
