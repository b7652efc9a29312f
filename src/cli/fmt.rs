//! `cordium fmt [DIR] [--check] [--diff]`: Args → `ops::fmt` → stdout (files, diffs) and
//! stderr (problems).

use std::path::PathBuf;

use super::exit::Exit;
use super::output::{print_stderr, print_stdout};
use crate::ops::fmt::{fmt, FmtRequest};

/// Arguments of `cordium fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory (searched recursively) or one file. Default: the current directory.
    pub dir: Option<PathBuf>,
    /// Write nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of every change.
    #[arg(long)]
    pub diff: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Exit {
    let root = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let req = FmtRequest { root, check: args.check, diff: args.diff };
    let report = match fmt(&req) {
        Ok(r) => r,
        Err(e) => {
            print_stderr(&format!("error: {e}\n"));
            return Exit::Error;
        }
    };
    for d in &report.diffs {
        print_stdout(d);
    }
    for p in &report.problems {
        print_stderr(&format!("error: {p}\n"));
    }
    if !args.diff {
        for name in &report.changed {
            print_stdout(&format!("{name}\n"));
        }
    }
    if report.success(args.check) {
        Exit::Ok
    } else {
        Exit::Error
    }
}
