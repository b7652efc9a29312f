//! Diagnostics: problems the user must fix, each with a source span, an address and a hint.
//!
//! Owns [`Diagnostic`], [`Span`], [`Sources`] (the text of every loaded file, so spans can be
//! turned into line and column) and [`Diagnostics`] (a collector: validation keeps going and
//! reports everything in one run). Knows no stage.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// How bad a diagnostic is. Errors stop the run (exit 1); warnings are printed and the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

/// A byte range in one loaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end: end.max(start) }
    }

    /// An empty span at the start of a file: for problems with a whole file.
    pub fn file_start(file: FileId) -> Self {
        Span { file, start: 0, end: 0 }
    }

    /// The smallest span covering both (same file assumed; otherwise `self`).
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span::new(self.file, self.start.min(other.start), self.end.max(other.end))
    }
}

/// Where each line of a text starts (the first at 0), as 32-bit offsets: half the memory of
/// `usize` ones, for the 700,000 lines of a large config. A config file is at most
/// [`crate::config::MAX_FILE_BYTES`]; a text of 4 GiB or more (which nothing loads) would have
/// its later lines all end the index.
#[derive(Debug, Clone)]
pub struct LineIndex(Arc<[u32]>);

impl LineIndex {
    pub fn of(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map_while(|(i, _)| u32::try_from(i + 1).ok()));
        LineIndex(starts.collect())
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        match self.0.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Where the 0-based `line` starts, if the text has it.
    pub fn start(&self, line: usize) -> Option<usize> {
        self.0.get(line).map(|&s| s as usize)
    }
}

/// One loaded source file.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the config root where possible).
    pub path: PathBuf,
    pub text: Arc<str>,
    line_starts: LineIndex,
    /// Byte ranges holding sensitive text (a sensitive variable's value or default, or the whole
    /// of a `--var`/`CORDIUM_VAR_*` value): renderers never show them.
    hidden: Vec<(usize, usize)>,
    /// [`SourceFile::shown_text`], made once (every diagnostic of a file shows it).
    shown: std::sync::OnceLock<Arc<str>>,
}

impl SourceFile {
    fn new(path: PathBuf, text: Arc<str>) -> Self {
        let line_starts = LineIndex::of(&text);
        SourceFile { path, text, line_starts, hidden: Vec::new(), shown: Default::default() }
    }

    /// The byte offset where each line starts (the first is 0): the index every line and
    /// column lookup uses, made once per file.
    pub fn line_starts(&self) -> LineIndex {
        self.line_starts.clone()
    }

    /// Whether any of the file's text is sensitive.
    pub fn has_hidden(&self) -> bool {
        !self.hidden.is_empty()
    }

    /// The text with every sensitive range overwritten by `*` (line breaks kept), so byte
    /// offsets, lines and columns stay where they were and no sensitive byte survives.
    pub fn shown_text(&self) -> Arc<str> {
        if self.hidden.is_empty() {
            return self.text.clone();
        }
        self.shown.get_or_init(|| self.mask_hidden()).clone()
    }

    fn mask_hidden(&self) -> Arc<str> {
        let text = &*self.text;
        let mut bytes = text.as_bytes().to_vec();
        for &(start, end) in &self.hidden {
            // Widen to character boundaries: every byte of a touched character becomes `*`, so
            // the result is ASCII there and as long as the original.
            let mut start = start.min(text.len());
            let mut end = end.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            for b in &mut bytes[start..end] {
                if *b != b'\n' && *b != b'\r' {
                    *b = b'*';
                }
            }
        }
        String::from_utf8(bytes).map(Arc::from).unwrap_or_else(|_| Arc::from(""))
    }

    /// `line_text` of [`SourceFile::shown_text`].
    pub fn shown_line(&self, offset: usize) -> String {
        let (line, _) = self.line_col(offset);
        let start = self.line_starts.start(line - 1).unwrap_or(0);
        let end = self.line_starts.start(line).map(|e| e - 1).unwrap_or(self.text.len());
        let text = self.shown_text();
        text.get(start..end).unwrap_or("").trim_end_matches('\r').to_string()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.line_of(offset);
        let start = self.line_starts.start(line).unwrap_or(0);
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    /// The text of the line holding `offset`, without its newline.
    pub fn line_text(&self, offset: usize) -> &str {
        let (line, _) = self.line_col(offset);
        let start = self.line_starts.start(line - 1).unwrap_or(0);
        let end = self.line_starts.start(line).map(|e| e - 1).unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("").trim_end_matches('\r')
    }
}

/// Every file loaded in a run, so spans can be resolved and snippets shown.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
    /// Sensitive values as text (from sensitive variables), longest first: renderers replace them
    /// wherever a message would quote one. A safety net behind the hidden ranges.
    secrets: Vec<String>,
}

/// Shortest sensitive text the safety net replaces in messages: shorter values (`1`, `true`)
/// would turn ordinary words into masks, and cannot be told from them anyway.
pub const MIN_SECRET_LEN: usize = 4;

/// What replaces a sensitive value in any text shown.
pub const HIDDEN: &str = "(sensitive)";

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a file's text and returns its id.
    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile::new(path.into(), text.into()));
        id
    }

    /// Marks a span's text sensitive: no renderer shows it.
    pub fn hide(&mut self, span: Span) {
        if let Some(f) = self.files.get_mut(span.file.0 as usize) {
            f.hidden.push((span.start, span.end.max(span.start)));
            f.shown = Default::default();
        }
    }

    /// Marks a whole file sensitive.
    pub fn hide_file(&mut self, id: FileId) {
        let len = self.text(id).len();
        self.hide(Span::new(id, 0, len.max(1)));
    }

    /// Whether any part of `span` is sensitive.
    pub fn is_hidden(&self, span: Span) -> bool {
        self.get(span.file).is_some_and(|f| {
            f.hidden
                .iter()
                .any(|&(s, e)| span.start < e.max(s + 1) && s < span.end.max(span.start + 1))
        })
    }

    /// Records a sensitive value's text, so that no message quotes it.
    pub fn add_secret(&mut self, text: &str) {
        if text.chars().count() >= MIN_SECRET_LEN && !self.secrets.iter().any(|s| s == text) {
            self.secrets.push(text.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every recorded sensitive value replaced by [`HIDDEN`].
    pub fn scrub(&self, text: &str) -> String {
        scrub(&self.secrets, text)
    }

    /// The recorded sensitive values, longest first (for views that outlive the sources).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn path(&self, id: FileId) -> &Path {
        self.get(id).map(|f| f.path.as_path()).unwrap_or(Path::new("<unknown>"))
    }

    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map(|f| &*f.text).unwrap_or("")
    }

    /// The span's text (empty when out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.file).get(span.start..span.end).unwrap_or("")
    }

    /// Resolves a span to file, line and column.
    pub fn locate(&self, span: Span) -> Location {
        let (line, column) = self.get(span.file).map(|f| f.line_col(span.start)).unwrap_or((1, 1));
        Location { file: self.path(span.file).display().to_string(), line, column }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// `text` with every one of `secrets` (longest first) replaced by [`HIDDEN`].
pub fn scrub(secrets: &[String], text: &str) -> String {
    secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), HIDDEN))
}

/// A resolved position, as printed and as emitted in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A secondary span shown with a diagnostic (the other definition of a duplicate, a cycle step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

/// A problem the user must fix (or, as a warning, should know about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unknown-field`.
    pub code: &'static str,
    /// One sentence: what is wrong, with what.
    pub message: String,
    /// Where. `None` only for problems with no file (a missing directory, a bad flag).
    pub span: Option<Span>,
    /// The resource address, when the problem belongs to one.
    pub address: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            address: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(code, message) }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn at_opt(mut self, span: Option<Span>) -> Self {
        self.span = span.or(self.span);
        self
    }

    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related { span, message: message.into() });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A collector of diagnostics. Stages push and keep going; the caller decides at the end.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorts by file, position, then message, so output is stable whatever the load order.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            let ka = a.span.map(|s| (s.file, s.start));
            let kb = b.span.map(|s| (s.file, s.start));
            ka.cmp(&kb).then_with(|| a.message.cmp(&b.message))
        });
        self.items.dedup();
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Diagnostics { items: iter.into_iter().collect() }
    }
}

/// "Did you mean" for a misspelt name: the closest candidate, if close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines() {
        let mut s = Sources::new();
        let id = s.add("a.hcl", "ab\nçd\n\nx");
        let f = s.get(id).expect("added");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2)); // after the two-byte ç
        assert_eq!(f.line_col(7), (3, 1));
        assert_eq!(f.line_col(8), (4, 1));
        assert_eq!(f.line_col(999), (4, 2));
        assert_eq!(f.line_text(4), "çd");
    }

    #[test]
    fn hidden_ranges_are_masked_in_place_and_secrets_scrubbed() {
        let mut s = Sources::new();
        let id = s.add("a.hcl", "pw = \"çs3cret\"\nx = 1\n");
        s.hide(Span::new(id, 5, 15));
        let f = s.get(id).expect("added");
        assert_eq!(&*f.shown_text(), "pw = **********\nx = 1\n");
        assert_eq!(f.shown_text().len(), f.text.len(), "offsets stay valid");
        assert_eq!(f.shown_line(17), "x = 1");
        assert!(s.is_hidden(Span::new(id, 6, 7)) && !s.is_hidden(Span::new(id, 17, 18)));
        s.add_secret("s3cret");
        s.add_secret("abc"); // too short to tell from ordinary text
        assert_eq!(s.scrub("bad s3cret, abc"), "bad (sensitive), abc");
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let c = ["displayName", "description", "labels"];
        assert_eq!(did_you_mean("dispalyName", c), Some("displayName"));
        assert_eq!(did_you_mean("zzz", c), None);
    }
}
