//! `cordium graph [DIR]`: the config's dependency graph as DOT.

use std::fmt::Write;
use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::pipeline;
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
    let (loaded, model, warnings) = match pipeline::load(&args.dir, &opts) {
        Ok(v) => v,
        Err(f) => return output::failure(f, false),
    };
    output::warnings(&warnings, &loaded);
    let edges = crate::model::graph::edges(&model);
    let mut dot = String::from("digraph cordium {\n  rankdir = \"RL\";\n  node [shape = box];\n");
    for (node, deps) in &edges {
        let _ = writeln!(dot, "  \"{node}\";");
        for d in deps {
            let _ = writeln!(dot, "  \"{node}\" -> \"{d}\";");
        }
    }
    dot.push_str("}\n");
    output::print_stdout(&dot);
    Exit::Ok
}
