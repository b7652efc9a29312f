//! The one integration test binary. Each area is a module; `wiring` fails when a test file is
//! not listed here.

mod architecture;
mod hcl;
mod wiring;
