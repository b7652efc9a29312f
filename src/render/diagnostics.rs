//! Rendering diagnostics: human text through `miette` (file:line:col, the source snippet with
//! labels, help, related spans) and the JSON document `--format json` prints.
//!
//! Formats what it is given; decides nothing (not exit codes, not colour: the caller says whether
//! to colour). Returns strings; the caller prints them. Diagnostics about secret values never
//! show the offending source text; sensitive text in any source (a sensitive variable's value or
//! default, a `--var` or `CORDIUM_VAR_*` value: see [`Sources::hide`]) is shown as `*`, and a
//! recorded sensitive value quoted in a message is replaced (see [`Sources::scrub`]).

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::{json, Value};

use super::style::Style;
use crate::diag::{Diagnostic, Diagnostics, Severity, Sources, Span};
use crate::model::{Kind, Model};

/// Codes whose span covers a secret value: its text is never echoed.
const SECRET_CODES: &[&str] = &["plaintext-secret", "secret-value"];

fn hides_source(d: &Diagnostic) -> bool {
    SECRET_CODES.contains(&d.code)
}

/// `3 errors, 1 warning`
pub fn counts(diags: &Diagnostics) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(diags.error_count(), "error"),
        plural(diags.warning_count(), "warning")
    )
}

/// Every diagnostic as miette renders it, one after another.
pub fn human(diags: &Diagnostics, sources: &Sources, style: Style) -> String {
    let theme = match (style.color, style.unicode) {
        (true, true) => GraphicalTheme::unicode(),
        (false, true) => GraphicalTheme::unicode_nocolor(),
        (true, false) => GraphicalTheme::ascii(),
        (false, false) => GraphicalTheme::none(),
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in diags.iter() {
        let report = Report::new(d, sources);
        let mut text = String::new();
        if handler.render_report(&mut text, &report).is_err() {
            text = plain(d, sources);
        }
        let text = style.finish(text);
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One diagnostic without miette: `error[code]: message` and its location. A fallback.
fn plain(d: &Diagnostic, sources: &Sources) -> String {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut s = format!("{sev}[{}]: {}\n", d.code, sources.scrub(&d.message));
    if let Some(span) = d.span {
        s.push_str(&format!("  --> {}\n", sources.locate(span)));
    }
    if let Some(h) = &d.help {
        s.push_str(&format!("  help: {}\n", sources.scrub(h)));
    }
    s
}

/// The `--format json` document.
pub fn json(diags: &Diagnostics, sources: &Sources) -> Value {
    let items: Vec<Value> = diags.iter().map(|d| json_one(d, sources)).collect();
    json!({
        "diagnostics": items,
        "errors": diags.error_count(),
        "warnings": diags.warning_count(),
    })
}

fn position(span: Option<Span>, sources: &Sources) -> (Value, Value, Value, Value, Value) {
    match span {
        Some(span) => {
            let start = sources.locate(span);
            let end = sources.locate(Span::new(span.file, span.end, span.end));
            (
                json!(start.file),
                json!(start.line),
                json!(start.column),
                json!(end.line),
                json!(end.column),
            )
        }
        None => (Value::Null, Value::Null, Value::Null, Value::Null, Value::Null),
    }
}

fn json_one(d: &Diagnostic, sources: &Sources) -> Value {
    let (file, line, column, end_line, end_column) = position(d.span, sources);
    let snippet = match d.span {
        Some(span) if !hides_source(d) => sources
            .get(span.file)
            .map(|f| json!(clip_line(&f.shown_line(span.start), f.line_col(span.start).1)))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let related: Vec<Value> = d
        .related
        .iter()
        .map(|r| {
            let (file, line, column, end_line, end_column) = position(Some(r.span), sources);
            json!({
                "message": sources.scrub(&r.message),
                "file": file,
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
            })
        })
        .collect();
    json!({
        "severity": d.severity,
        "code": d.code,
        "message": sources.scrub(&d.message),
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "address": d.address,
        "help": d.help.as_deref().map(|h| sources.scrub(h)),
        "snippet": snippet,
        "related": related,
    })
}

/// Longest source line shown whole; longer lines are cut around the column (JSON) or not shown
/// (human), so a minified file cannot flood the output.
const MAX_LINE: usize = 200;

/// The line, or a window of it around `column` (1-based, in characters) when it is long.
fn clip_line(line: &str, column: usize) -> String {
    let count = line.chars().count();
    if count <= MAX_LINE {
        return line.to_string();
    }
    let from = column.saturating_sub(1).saturating_sub(MAX_LINE / 2).min(count - MAX_LINE);
    let mut s: String = line.chars().skip(from).take(MAX_LINE).collect();
    if from > 0 {
        s.insert(0, '…');
    }
    if from + MAX_LINE < count {
        s.push('…');
    }
    s
}

/// A diagnostic as miette sees it.
struct Report {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<Window>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Report {
    fn new(d: &Diagnostic, sources: &Sources) -> Self {
        let severity = match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        };
        let mut message = sources.scrub(&d.message);
        if let Some(a) = d.address.as_deref().filter(|a| !message.contains(*a)) {
            message = format!("{a}: {message}");
        }
        let mut report = Report {
            message,
            code: d.code,
            severity,
            help: d.help.as_deref().map(|h| sources.scrub(h)),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let Some(span) = d.span else { return report };
        let long_line =
            sources.get(span.file).is_some_and(|f| f.line_text(span.start).len() > 4 * MAX_LINE);
        if hides_source(d) || long_line {
            report.message = format!("{} ({})", report.message, sources.locate(span));
            return report;
        }
        report.source = named_source(sources, span);
        report.labels.push(label(span, Some("here".to_string()), true));
        for r in &d.related {
            if r.span.file == span.file {
                report.labels.push(label(r.span, Some(sources.scrub(&r.message)), false));
            } else {
                report.related.push(Report {
                    message: sources.scrub(&r.message),
                    code: "",
                    severity: miette::Severity::Advice,
                    help: None,
                    source: named_source(sources, r.span),
                    labels: vec![label(r.span, None, true)],
                    related: Vec::new(),
                });
            }
        }
        report
    }
}

fn named_source(sources: &Sources, span: Span) -> Option<Window> {
    let file = sources.get(span.file)?;
    Some(Window {
        name: file.path.display().to_string(),
        text: file.shown_text(),
        line_starts: file.line_starts(),
    })
}

/// A file's shown text as miette reads it, but through the file's line index: miette's own
/// `SourceCode` for text scans from the start of the file for every span it reads, which made
/// one diagnostic per Template quadratic in the file's size. This hands miette only the lines
/// around the span (from a line before the first context line to two past the last) and shifts its answer
/// back, so the result is the same as reading the whole text (tested below).
struct Window {
    name: String,
    text: Arc<str>,
    line_starts: crate::diag::LineIndex,
}

impl Window {
    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.line_of(offset)
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text.as_bytes();
        let (start, end) = (span.offset(), span.offset() + span.len());
        if end > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        // One line more than the context before: miette looks at the byte before an empty span.
        let first = self.line_of(start).saturating_sub(context_lines_before.saturating_add(1));
        let last = self.line_of(end).saturating_add(context_lines_after).saturating_add(2);
        let from = self.line_starts.start(first).unwrap_or(0);
        let to = self.line_starts.start(last).unwrap_or(text.len()).max(end);
        let window = text.get(from..to).ok_or(MietteError::OutOfBounds)?;
        let inner = SourceSpan::new((start - from).into(), span.len());
        let got = window.read_span(&inner, context_lines_before, context_lines_after)?;
        let data: &'a [u8] = got.data();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new((got.span().offset() + from).into(), got.span().len()),
            got.line() + first,
            got.column(),
            got.line_count() + first,
        )))
    }
}

fn label(span: Span, text: Option<String>, primary: bool) -> LabeledSpan {
    let s = SourceSpan::new(span.start.into(), span.end.saturating_sub(span.start));
    if primary {
        LabeledSpan::new_primary_with_span(text, s)
    } else {
        LabeledSpan::new_with_span(text, s)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_none() || self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
    }
}

/// `Valid: 12 resources (3 spaces, 4 templates, 5 workspaces).`
pub fn valid_summary(model: &Model, diags: &Diagnostics) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windowed_source_reads_what_the_whole_text_reads() {
        let text = "a = 1\n\nbé = \"x\"\r\nc {\n  d = [1,\n   2]\n}\n\nlast line without newline";
        let mut sources = Sources::new();
        let id = sources.add("x.hcl", text);
        let window = named_source(&sources, Span::file_start(id)).expect("file");
        let whole: &str = text;
        let mut checked = 0;
        for start in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for end in (start..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                for context in [0, 1, 2, 3] {
                    let span = SourceSpan::new(start.into(), end - start);
                    let a = window.read_span(&span, context, context).expect("window");
                    let b = whole.read_span(&span, context, context).expect("whole");
                    let got = (a.data(), *a.span(), a.line(), a.column(), a.line_count());
                    let want = (b.data(), *b.span(), b.line(), b.column(), b.line_count());
                    assert_eq!(got, want, "span {start}..{end}, context {context}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        let past = SourceSpan::new((text.len() + 1).into(), 0);
        assert!(window.read_span(&past, 1, 1).is_err());
    }

    fn sample() -> (Diagnostics, Sources) {
        let mut sources = Sources::new();
        let f = sources.add("space.yaml", "kind: Space\nmetadata:\n  name: ml\n  nmae: x\n");
        let mut d = Diagnostics::new();
        d.push(
            Diagnostic::error("unknown-field", "unknown field `nmae` in `metadata`")
                .at(Span::new(f, 35, 39))
                .address("space.ml")
                .help("did you mean `name`?")
                .related(Span::new(f, 24, 28), "the name is here"),
        );
        d.push(Diagnostic::warning("x", "no span"));
        (d, sources)
    }

    #[test]
    fn json_has_positions_and_counts() {
        let (d, s) = sample();
        let j = json(&d, &s);
        assert_eq!(j["errors"], 1);
        assert_eq!(j["warnings"], 1);
        let first = &j["diagnostics"][0];
        assert_eq!(first["file"], "space.yaml");
        assert_eq!((first["line"].clone(), first["column"].clone()), (json!(4), json!(3)));
        assert_eq!(first["end_column"], 7);
        assert_eq!(first["snippet"], "  nmae: x");
        assert_eq!(first["related"][0]["line"], 3);
        assert_eq!(j["diagnostics"][1]["file"], Value::Null);
    }

    #[test]
    fn hidden_text_and_recorded_secrets_never_render() {
        let mut sources = Sources::new();
        let f = sources.add("CORDIUM_VAR_pw", "s3cret-value");
        sources.hide_file(f);
        sources.add_secret("s3cret-value");
        let mut d = Diagnostics::new();
        d.push(
            Diagnostic::error("invalid-variable-value", "bad s3cret-value")
                .at(Span::new(f, 0, 12))
                .help("not s3cret-value")
                .related(Span::new(f, 0, 3), "s3cret-value here"),
        );
        let human = human(&d, &sources, Style::PLAIN);
        let json = json(&d, &sources);
        assert!(!human.contains("s3cret"), "{human}");
        assert!(human.contains("************"), "{human}");
        assert!(!json.to_string().contains("s3cret"), "{json}");
        assert_eq!(json["diagnostics"][0]["snippet"], "************");
    }

    #[test]
    fn human_shows_location_snippet_and_help() {
        let (d, s) = sample();
        let text = human(&d, &s, Style::PLAIN);
        assert!(text.contains("space.yaml:4:3"), "{text}");
        assert!(text.contains("nmae: x"), "{text}");
        assert!(text.contains("did you mean `name`?"), "{text}");
        assert!(text.contains("no span"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour when asked for none");
        assert_eq!(counts(&d), "1 error, 1 warning");
    }
}
