//! `cordium graph [DIR]`: the config's dependency graph as DOT.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::vars::VarFlags;

/// Print the dependency graph of a config as DOT (pipe it to `dot -Tsvg`). Talks to no cluster.
///
/// An edge `a -> b` means a needs b first: apply creates b before a, and deletes a before b.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub vars: VarFlags,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let opts = args.vars.load_options(matches);
    let v = match crate::ops::validate::load(&args.dir, &opts) {
        Ok(v) => v,
        Err(e) => return output::failure(e, false),
    };
    output::warnings(&v.diags, &v.loaded);
    output::print_stdout(&crate::render::dot::graph(&v.edges()));
    Exit::Ok
}
