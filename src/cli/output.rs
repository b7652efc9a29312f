//! Printing shared by commands: plans in each format, diagnostics, one-line errors, colour.

use std::io::{IsTerminal, Write};

use super::exit::Exit;
use crate::ops::OpsError;
use crate::plan::Plan;
use crate::render::events::ViewMode;
use crate::render::{self, PlanDoc, Style};

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text with a summary table.
    Human,
    /// The versioned JSON plan document (schemas/plan.v1.json).
    Json,
    /// Markdown for a pull-request comment (at most 65,000 characters).
    Markdown,
    /// One self-contained HTML review page (summary, dependency graph, collapsible diffs).
    Html,
}

/// Colour on stdout, as the terminal and NO_COLOR allow.
pub fn stdout_style() -> Style {
    Style {
        color: anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
    }
}

/// How apply shows progress: JSON lines, bars when both stdout and stderr are terminals, else
/// plain lines.
pub fn view_mode(json: bool) -> ViewMode {
    if json {
        ViewMode::Json
    } else if std::io::stderr().is_terminal() && std::io::stdout().is_terminal() {
        ViewMode::Bars
    } else {
        ViewMode::Lines
    }
}

/// Colour on stderr, as the terminal and NO_COLOR allow.
pub fn stderr_color() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// The plan in the chosen format.
pub fn plan_text(plan: &Plan, format: PlanFormat, style: Style) -> String {
    let doc = PlanDoc::from_plan(plan);
    match format {
        PlanFormat::Human => render::human::plan(&doc, style),
        PlanFormat::Json => doc.to_json(),
        PlanFormat::Markdown => render::markdown::plan(&doc),
        PlanFormat::Html => {
            render::html::page(&doc, &render::html::edges_of(plan, None), &Default::default())
        }
    }
}

pub fn print_stdout(text: &str) {
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

pub fn print_stderr(text: &str) {
    let mut err = anstream::stderr();
    let _ = err.write_all(text.as_bytes());
}

/// Prints why an operation did not happen (as JSON on stdout when `json`), and returns exit 1.
pub fn failure(e: OpsError, json: bool) -> Exit {
    match e {
        OpsError::Invalid { diags, loaded } => {
            if json {
                let doc = render::diagnostics::json(&diags, &loaded.sources);
                print_stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                ));
            } else {
                print_stderr(&render::diagnostics::human(&diags, &loaded.sources, stderr_color()));
                print_stderr(&format!("Error: {}.\n", render::diagnostics::counts(&diags)));
            }
        }
        other => {
            let m = other.to_string();
            if json {
                let doc = serde_json::json!({"error": m});
                print_stdout(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                ));
            } else {
                print_stderr(&format!("Error: {m}\n"));
            }
        }
    }
    Exit::Error
}

/// Prints warnings (never fatal) to stderr.
pub fn warnings(diags: &crate::diag::Diagnostics, loaded: &crate::config::Loaded) {
    if !diags.is_empty() {
        print_stderr(&render::diagnostics::human(diags, &loaded.sources, stderr_color()));
    }
}
