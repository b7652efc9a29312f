//! `cordium validate`: load a config directory, build the model, print every problem.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::vars::VarFlags;
use crate::render::diagnostics as view;

/// How to print the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Diagnostics with source snippets, and a summary line.
    Human,
    /// One JSON document on stdout: `{"diagnostics": [...], "errors": N, "warnings": N}`.
    Json,
    /// GitHub Actions annotations on stdout (`::error file=…,line=…,col=…::`), and the human
    /// diagnostics on stderr.
    Github,
}

/// Check a config directory: syntax, fields, names, references. Talks to no cluster.
///
/// Exits 0 when there are no errors (warnings allowed), 1 otherwise.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory (every .hcl, .yaml and .yml file under it is read).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub vars: VarFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// The old name of --output.
    #[arg(long, value_enum, hide = true, conflicts_with = "output")]
    pub format: Option<OutputFormat>,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let opts = args.vars.load_options(matches);
    let crate::ops::validate::Validated { loaded, model, diags } =
        crate::ops::validate::validate(&args.dir, &opts);
    let exit = if diags.has_errors() { Exit::Error } else { Exit::Ok };
    let format = args.format.unwrap_or(args.output);
    if format == OutputFormat::Github {
        super::output::print_stdout(&crate::render::github::diagnostics(&diags, &loaded.sources));
    }
    match format {
        OutputFormat::Json => {
            let doc = view::json(&diags, &loaded.sources);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            super::output::print_stdout(&format!("{text}\n"));
        }
        OutputFormat::Human | OutputFormat::Github => {
            let style = super::output::stderr_style();
            super::output::print_stderr(&view::human(&diags, &loaded.sources, style));
            if diags.has_errors() {
                super::output::print_stderr(&format!("Invalid: {}.\n", view::counts(&diags)));
            } else {
                super::output::print_stdout(&format!("{}\n", view::valid_summary(&model, &diags)));
            }
        }
    }
    // The process ends next: the model and the loaded config (millions of small allocations
    // at 50,000 resources) are left to the OS, as `cordium plan` does.
    std::mem::forget((model, loaded, diags));
    exit
}
