//! The one integration test binary. Each area is a module; `wiring` fails when a test file is
//! not listed here.

// Tests read BLESS (refresh goldens) from the environment.
#![allow(clippy::disallowed_methods)]

mod apply;
mod architecture;
mod assertion;
mod auth;
mod ci;
mod cli;
mod client_rules;
mod concurrency;
mod core_kinds;
mod destroy;
mod docs;
mod drift;
mod equivalence;
mod export;
mod hcl;
mod hostile;
mod html;
mod import;
mod invalid;
mod kinds;
mod kube;
mod live_grpc;
mod plan_cases;
mod promote;
mod recipes;
mod robustness;
mod schemas;
mod secrets;
mod serve;
mod spec_files;
mod support;
mod wiring;
