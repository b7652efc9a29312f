//! `cordium serve` (not yet implemented).

use super::exit::Exit;

/// Arguments of `cordium serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Exit {
    Exit::Error
}
