//! GitHub Actions workflow commands (`::error file=…,line=…,col=…::message`), so that a CI run's
//! diagnostics show as annotations on the pull request's files. Paths are as diagnostics name
//! them (relative to the working directory, which in Actions is the checkout), values escaped as
//! the runner requires (`%`, CR, LF in messages; also `:` and `,` in properties).

use std::fmt::Write;

use super::plan_doc::PlanDoc;
use crate::diag::{Diagnostics, Severity, Sources};

/// A message escaped for a workflow command's data.
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value escaped for a workflow command.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command: `::LEVEL file=F,line=L,col=C,title=T::MESSAGE`.
pub fn command(
    level: &str,
    at: Option<(&str, usize, usize)>,
    title: Option<&str>,
    message: &str,
) -> String {
    let mut props = Vec::new();
    if let Some((file, line, col)) = at {
        props.push(format!("file={}", property(file)));
        props.push(format!("line={line}"));
        props.push(format!("col={col}"));
    }
    if let Some(t) = title {
        props.push(format!("title={}", property(t)));
    }
    let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
    format!("::{level}{props}::{}\n", data(message))
}

/// Every diagnostic as an `::error` or `::warning` annotation at its file, line and column.
pub fn diagnostics(diags: &Diagnostics, sources: &Sources) -> String {
    let mut out = String::new();
    for d in diags.iter() {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let loc = d.span.map(|s| sources.locate(s));
        let at = loc.as_ref().map(|l| (l.file.as_str(), l.line, l.column));
        let mut message = sources.scrub(&d.message);
        if let Some(a) = d.address.as_deref().filter(|a| !message.contains(*a)) {
            message = format!("{a}: {message}");
        }
        if let Some(h) = &d.help {
            message = format!("{message}\nhelp: {}", sources.scrub(h));
        }
        out.push_str(&command(level, at, Some(&format!("cordium {}", d.code)), &message));
    }
    out
}

/// A failure without a location, as an `::error` annotation.
pub fn error(message: &str) -> String {
    command("error", None, Some("cordium"), message)
}

/// A plan's warnings as annotations, and a notice with its summary, stack and environment.
pub fn plan(doc: &PlanDoc) -> String {
    let mut out = String::new();
    for w in &doc.warnings {
        let at = match (&w.file, w.line, w.column) {
            (Some(f), Some(l), Some(c)) => Some((f.as_str(), l, c)),
            _ => None,
        };
        out.push_str(&command("warning", at, Some(&format!("cordium {}", w.code)), &w.message));
    }
    let summary = if doc.summary.has_changes {
        format!("Plan: {}.", doc.summary_sentence())
    } else {
        "No changes.".to_string()
    };
    let _ = write!(
        out,
        "{}",
        command(
            "notice",
            None,
            Some(&format!(
                "cordium plan: stack {}, environment {}",
                doc.stack,
                doc.environment_name()
            )),
            &format!("{summary} Target: {} as {}.", doc.target.display, doc.target.username),
        )
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diagnostic, Span};

    #[test]
    fn annotations_name_file_line_and_column_and_escape_what_the_runner_parses() {
        let mut sources = Sources::new();
        let f = sources.add("infra/main.hcl", "space \"ml\" {\n  nmae = 1\n}\n");
        let mut diags = Diagnostics::new();
        diags.push(
            Diagnostic::error("unknown-field", "unknown field `nmae`: 100% wrong\nsecond line")
                .at(Span::new(f, 15, 19)),
        );
        diags.push(Diagnostic::warning("w", "no span, a:b"));
        let out = diagnostics(&diags, &sources);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "::error file=infra/main.hcl,line=2,col=3,title=cordium unknown-field::unknown field \
             `nmae`: 100%25 wrong%0Asecond line"
        );
        assert_eq!(lines[1], "::warning title=cordium w::no span, a:b");
        assert_eq!(property("a,b:c"), "a%2Cb%3Ac");
    }
}
