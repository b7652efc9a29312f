//! `cordium validate`: load a config directory, build the model, print every problem.

use std::io::Write;
use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::vars::VarFlags;
use crate::diag::Diagnostics;
use crate::model::{Kind, Model};
use crate::render::diagnostics as view;

/// How to print the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Diagnostics with source snippets, and a summary line.
    Human,
    /// One JSON document on stdout: `{"diagnostics": [...], "errors": N, "warnings": N}`.
    Json,
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
    pub format: OutputFormat,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let opts = args.vars.load_options(matches);
    let crate::ops::validate::Validated { loaded, model, diags } =
        crate::ops::validate::validate(&args.dir, &opts);
    let exit = if diags.has_errors() { Exit::Error } else { Exit::Ok };
    match args.format {
        OutputFormat::Json => {
            let doc = view::json(&diags, &loaded.sources);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let _ = writeln!(anstream::stdout(), "{text}");
        }
        OutputFormat::Human => {
            let color = super::output::stderr_color();
            let mut err = anstream::stderr();
            let _ = write!(err, "{}", view::human(&diags, &loaded.sources, color));
            if diags.has_errors() {
                let _ = writeln!(err, "Invalid: {}.", view::counts(&diags));
            } else {
                let _ = writeln!(anstream::stdout(), "{}", summary(&model, &diags));
            }
        }
    }
    exit
}

/// `Valid: 12 resources (3 spaces, 4 templates, 5 workspaces).`
fn summary(model: &Model, diags: &Diagnostics) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let parts: Vec<String> = Kind::LISTED
        .into_iter()
        .map(|k| (k, model.of_kind(k).count()))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| plural(n, k.keyword()))
        .collect();
    let mut s = format!("Valid: {}", plural(model.len(), "resource"));
    if !parts.is_empty() {
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if diags.warning_count() > 0 {
        s.push_str(&format!(", {}", plural(diags.warning_count(), "warning")));
    }
    s.push('.');
    s
}
