//! `cordium status`: what the stack manages on the cluster.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::inspect::{Format, InspectFlags};
use super::output;
use crate::render;

/// Show what the stack manages on the cluster, one row per object.
///
/// Each row: kind, address, live (stored) name, state (a Workspace's run state; a Template's
/// last snapshot build and whether its snapshot is ready, "not verified" without Kubernetes
/// access), and when cordium last applied it. Declared resources that are not on the cluster
/// are listed too. Changes nothing.
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
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let req = args.flags.request(args.dir.clone(), matches);
    let result = super::block_on(crate::ops::status::status(&req));
    super::login::logout_after(&req);
    let doc = match result {
        Ok(d) => d,
        Err(e) => return output::failure(e, args.output == Format::Json),
    };
    output::print_stdout(&match args.output {
        Format::Human => render::status::human(&doc, output::stdout_style()),
        Format::Json => render::status::json(&doc),
        Format::Markdown => render::status::markdown(&doc),
    });
    Exit::Ok
}
