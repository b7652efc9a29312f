//! `cordium` manages a Cordium cluster as code.
//!
//! The stages, in pipeline order (a stage imports only stages before it; `diag` everywhere):
//!
//! - [`diag`]: diagnostics with source spans, collected, never thrown.
//! - [`kind`]: the managed kinds, their facts (naming, identity, scope) and addresses; a leaf
//!   every stage may use, like `diag`.
//! - [`order`]: sorting large records in place (a leaf, like `kind`).
//! - [`config`]: files → raw documents (HCL and YAML) with spans; variables and environments.
//! - [`model`]: raw documents → typed desired state, addresses, references, validation.
//! - [`live`]: the `Cluster` trait: gRPC to a real cluster, the embedded local cluster, auth.
//! - [`diff`]: pure: (desired, live) → per-resource changes with reasons.
//! - [`plan`]: pure: changes → ordered graph, snapshot builds, saved plan files.
//! - [`apply`]: walks a plan against a `Cluster`, concurrently, with retries; emits events.
//! - [`render`]: plans, diagnostics and events → human text, JSON, Markdown.
//! - [`server`]: `cordium serve`: the local cluster over real gRPC, with fault injection.
//! - [`ops`]: each command as a library call: settings resolved once, typed errors, no printing.
//! - [`cli`]: argument parsing, picking the target and the view, exit codes.

pub mod apply;
// The command line reads the environment and holds the terminal (clippy.toml).
#[allow(clippy::disallowed_methods)]
pub mod cli;
pub mod config;
pub mod diag;
pub mod diff;
pub mod kind;
pub mod live;
pub mod model;
pub mod ops;
pub mod order;
pub mod plan;
pub mod render;
pub mod server;
