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
    /// Markdown for a pull-request comment (at most 65,000 characters), starting with the
    /// hidden marker `<!-- cordium:STACK:ENV -->`.
    Markdown,
    /// One self-contained HTML review page (summary, dependency graph, collapsible diffs).
    Html,
    /// GitHub Actions workflow commands: a `::warning file=…,line=…,col=…::` annotation per
    /// warning and a `::notice::` with the summary, then the plan as text.
    Github,
}

/// `--color`: when to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set; always when FORCE_COLOR or CLICOLOR_FORCE is.
    #[default]
    Auto,
    Always,
    Never,
}

/// The colour choice for the whole process: `--no-color`/`--color` beat the environment
/// (`NO_COLOR`, then `FORCE_COLOR`/`CLICOLOR_FORCE`), which beats the terminal check.
pub fn set_color(when: ColorWhen, no_color: bool) {
    let set = |v: &str| std::env::var(v).ok().is_some_and(|x| !x.is_empty());
    let forced = |v: &str| std::env::var(v).ok().is_some_and(|x| !x.is_empty() && x != "0");
    let choice = match (when, no_color) {
        (_, true) | (ColorWhen::Never, _) => anstream::ColorChoice::Never,
        (ColorWhen::Always, _) => anstream::ColorChoice::Always,
        (ColorWhen::Auto, _) if set("NO_COLOR") => anstream::ColorChoice::Never,
        (ColorWhen::Auto, _) if forced("FORCE_COLOR") || forced("CLICOLOR_FORCE") => {
            anstream::ColorChoice::Always
        }
        (ColorWhen::Auto, _) => anstream::ColorChoice::Auto,
    };
    choice.write_global();
}

/// Colour and character set on stdout: colour as the terminal and NO_COLOR allow; Unicode on a
/// terminal or when colour is forced (`--color always`, FORCE_COLOR, CLICOLOR_FORCE), else ASCII.
pub fn stdout_style() -> Style {
    let out = std::io::stdout();
    stream_style(anstream::AutoStream::choice(&out), out.is_terminal())
}

/// The same for stderr (diagnostics, warnings).
pub fn stderr_style() -> Style {
    let err = std::io::stderr();
    stream_style(anstream::AutoStream::choice(&err), err.is_terminal())
}

/// The one rule: Unicode where a person reads a terminal, or where colour was forced (the
/// reader asked for terminal output in a pipe); plain ASCII in files, pipes and CI logs.
fn stream_style(choice: anstream::ColorChoice, terminal: bool) -> Style {
    let forced = anstream::ColorChoice::global() == anstream::ColorChoice::Always;
    Style { color: choice != anstream::ColorChoice::Never, unicode: terminal || forced }
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

/// The plan in the chosen format.
pub fn plan_text(plan: &Plan, format: PlanFormat, style: Style) -> String {
    doc_text(&PlanDoc::from_plan(plan), format, style)
}

/// A plan document in the chosen format.
pub fn doc_text(doc: &PlanDoc, format: PlanFormat, style: Style) -> String {
    match format {
        PlanFormat::Human => render::human::plan(doc, style),
        PlanFormat::Json => doc.to_json(),
        PlanFormat::Markdown => render::markdown::plan(doc),
        PlanFormat::Html => render::html::page(doc, &Default::default(), &Default::default()),
        PlanFormat::Github => render::github::plan(doc) + &render::human::plan(doc, Style::PLAIN),
    }
}

/// Writes `text` to FILE (`--json-out`), saying why not on stderr.
pub fn write_file(path: &std::path::Path, text: &str) -> bool {
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            print_stderr(&format!("Error: cannot write {}: {e}\n", path.display()));
            false
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

/// Prints why an operation did not happen as GitHub annotations (`::error file=…::`), then as
/// text on stderr, and returns exit 1.
pub fn failure_github(e: OpsError) -> Exit {
    if let OpsError::Invalid { diags, loaded } = &e {
        print_stdout(&render::github::diagnostics(diags, &loaded.sources));
    } else {
        print_stdout(&render::github::error(&e.to_string()));
    }
    failure(e, false)
}

/// Prints why an operation did not happen (as one `error` event line on stdout when `json`), and
/// returns exit 1.
pub fn failure(e: OpsError, json: bool) -> Exit {
    match e {
        OpsError::Invalid { diags, loaded } => {
            if json {
                let doc = render::diagnostics::json(&diags, &loaded.sources);
                let m = OpsError::Invalid { diags, loaded }.to_string();
                let line = render::events::error_json(&m, Some(doc["diagnostics"].clone()));
                print_stdout(&format!("{}\n", render::events::stamped(line)));
            } else {
                print_stderr(&render::diagnostics::human(&diags, &loaded.sources, stderr_style()));
                print_stderr(&format!("Error: {}.\n", render::diagnostics::counts(&diags)));
            }
        }
        other => {
            let m = other.to_string();
            if json {
                let line = render::events::error_json(&m, None);
                print_stdout(&format!("{}\n", render::events::stamped(line)));
            } else {
                print_stderr(&stderr_style().finish(format!("Error: {m}\n")));
            }
        }
    }
    Exit::Error
}

/// Prints warnings (never fatal) to stderr.
pub fn warnings(diags: &crate::diag::Diagnostics, loaded: &crate::config::Loaded) {
    if !diags.is_empty() {
        print_stderr(&render::diagnostics::human(diags, &loaded.sources, stderr_style()));
    }
}
