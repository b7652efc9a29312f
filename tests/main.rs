//! The one integration test binary. Each area is a module; `wiring` fails when a test file is
//! not listed here.

// Tests read BLESS (refresh goldens) from the environment.
#![allow(clippy::disallowed_methods)]

mod apply;
mod architecture;
mod auth;
mod ci;
mod cli;
mod client_rules;
mod concurrency;
mod core_kinds;
mod destroy;
mod equivalence;
mod hcl;
mod hostile;
mod invalid;
mod kinds;
mod live_grpc;
mod plan_cases;
mod robustness;
mod schemas;
mod secrets;
mod serve;
mod spec_files;
mod support;
mod wiring;
