//! `cordium drift`: what changed on the cluster outside cordium.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::inspect::{Format, InspectFlags};
use super::output;
use crate::render;

/// Report what changed on the cluster outside cordium (a refresh-only comparison).
///
/// Reads the live state of the stack and reports objects changed outside cordium since it last
/// applied them (field by field, masked as in a plan), managed objects deleted out of band, and
/// objects in the stack's Spaces that no stack manages. Changes nothing. A change of the config
/// since the last apply is not drift (`cordium plan` shows it). See docs/drift.md.
///
/// Exit codes: 0 = no drift, 1 = error, 2 = drift found.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: InspectFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub output: Format,
    /// Also write the report as one self-contained HTML page to FILE (a CI artifact; masked as
    /// every output).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let req = args.flags.request(args.dir.clone(), matches);
    let json = args.output == Format::Json;
    let result = super::block_on(crate::ops::drift::drift(&req));
    super::login::logout_after(&req);
    let drift = match result {
        Ok(d) => d,
        Err(e) => return output::failure(e, json),
    };
    output::warnings(&drift.warnings, &drift.loaded);
    let r = &drift.report;
    if let Some(path) = &args.html {
        if !output::write_file(path, &render::drift::html(r)) {
            return Exit::Error;
        }
    }
    output::print_stdout(&match args.output {
        Format::Human => render::drift::human(r, output::stdout_style()),
        Format::Json => render::drift::json(r),
        Format::Markdown => render::drift::markdown(r),
    });
    if r.has_drift {
        Exit::Changes
    } else {
        Exit::Ok
    }
}
