//! YAML: parsing text into spanned [`Node`] trees, one per document.
//!
//! Built on the event API of `granit-parser` (the parser under `serde-saphyr`, re-exported by it)
//! so every key and value keeps its byte span. Plain scalars are resolved with the YAML 1.2 core
//! schema. Anchors, aliases and merge keys (`<<`) work; duplicate keys are errors. Hostile input
//! is bounded: nesting depth ([`MAX_DEPTH`]) and the number of values, alias expansions included
//! ([`MAX_NODES`]). Every problem is a diagnostic; this module never panics and never reads files.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{
    ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, Span as YSpan, StructureStyle, Tag,
};

use super::tree::{Key, Node, Value};
use crate::diag::{Diagnostic, Diagnostics, FileId, Span};

/// Deepest nesting of maps and lists accepted in one document.
pub const MAX_DEPTH: usize = 128;

/// Most values (scalars, maps, lists; alias expansions counted) accepted in one file.
pub const MAX_NODES: usize = 1_000_000;

/// Most syntax errors reported for one file (the parser resumes at the next `---`).
const MAX_SYNTAX_ERRORS: usize = 20;

/// One parsed, non-empty YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub node: Node,
    /// From the first to the last byte of the document's content.
    pub span: Span,
    /// Where the text the document is read from begins: the end of the document before it (0
    /// for the first), so that [`reparse`] from there reads it again with its directives.
    pub from: usize,
}

/// Parses every document of a YAML file. Empty documents (nothing, or only `null`) are dropped.
/// Problems are pushed to `diags`; documents with errors are left out.
pub fn parse(file: FileId, text: &str, diags: &mut Diagnostics) -> Vec<Document> {
    let parser = Parser::new_from_str_with_options(text, options());
    let mut builder = Builder::new(file, text, diags);
    builder.run(parser);
    builder.docs
}

fn options() -> Options {
    let mut options = Options::default();
    options.flow_nesting_limit = MAX_DEPTH + 2;
    options.block_nesting_limit = MAX_DEPTH + 2;
    options.set_emit_comments(false);
    options
}

/// The tree of the document of `text` (a whole file's text) whose content spans `span`, read
/// again from `from` (its [`Document::from`]): the same tree, with the same spans, as
/// [`parse`] of the whole file gives it. Only that document is read. `None` if `from` does not
/// lead to that document (the text is not the one it was parsed from).
pub fn reparse(file: FileId, text: &str, from: usize, span: Span) -> Option<Node> {
    let rest = text.get(from..)?;
    let parser = Parser::new_from_str_with_options(rest, options());
    let mut diags = Diagnostics::new();
    let mut builder = Builder::new(file, text, &mut diags);
    builder.base = from;
    builder.stop_after = Some(span.start);
    builder.run(parser);
    builder.docs.into_iter().find(|d| d.span == span).map(|d| d.node)
}

/// What an anchor refers to, with its cost when an alias repeats it.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        flow: bool,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        seen: HashMap<String, usize>,
        key: Option<Key>,
        /// The key being read is `<<` (a merge).
        merge_key: bool,
        merges: Vec<Node>,
        start: usize,
        flow: bool,
        anchor: usize,
    },
}

/// Why the current document was abandoned.
struct Abort;

struct Builder<'d> {
    file: FileId,
    len: usize,
    /// The offset in the file of the text being parsed (a [`reparse`] starts inside it).
    base: usize,
    /// [`reparse`]: stop once a document starting at or after this offset is read.
    stop_after: Option<usize>,
    /// Where the next document's text begins (see [`Document::from`]).
    from: usize,
    diags: &'d mut Diagnostics,
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    /// The current document had an error: do not keep it.
    doc_failed: bool,
    root: Option<Node>,
}

impl<'d> Builder<'d> {
    fn new(file: FileId, text: &str, diags: &'d mut Diagnostics) -> Self {
        Builder {
            file,
            len: text.len(),
            base: 0,
            stop_after: None,
            from: 0,
            diags,
            docs: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            doc_failed: false,
            root: None,
        }
    }

    fn span(&self, s: &YSpan) -> Span {
        match s.byte_range() {
            Some(r) => {
                let (start, end) = (r.start + self.base, r.end + self.base);
                Span::new(self.file, start.min(self.len), end.min(self.len))
            }
            None => Span::file_start(self.file),
        }
    }

    fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) {
        self.diags.push(Diagnostic::error(code, message).at(span));
        self.doc_failed = true;
    }

    fn run<'a>(&mut self, mut parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>) {
        let mut syntax_errors = 0;
        loop {
            if self
                .stop_after
                .is_some_and(|at| self.docs.last().is_some_and(|d| d.span.start >= at))
            {
                break;
            }
            let step = match parser.next_event() {
                None => break,
                Some(Ok((event, span))) => self.event(event, &span),
                Some(Err(e)) => {
                    syntax_errors += 1;
                    self.syntax_error(&e);
                    Err(Abort)
                }
            };
            if step.is_err() {
                self.reset_document();
                if syntax_errors >= MAX_SYNTAX_ERRORS {
                    break;
                }
                match parser.proceed_next_document() {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        self.syntax_error(&e);
                        break;
                    }
                }
            }
        }
    }

    fn syntax_error(&mut self, e: &ScanError) {
        let m = e.marker();
        let at = (m.byte_offset().unwrap_or(0) + self.base).min(self.len);
        let info = e.info();
        let info = if info.is_empty() { "invalid syntax".to_string() } else { info };
        let (code, message) = if matches!(e.kind(), ErrorKind::RecursionLimitExceeded) {
            ("yaml-too-deep", format!("YAML nesting is deeper than {MAX_DEPTH} levels"))
        } else {
            ("yaml-syntax", format!("YAML syntax error: {info}"))
        };
        self.error(code, message, Span::new(self.file, at, at));
    }

    fn reset_document(&mut self) {
        self.stack.clear();
        self.root = None;
        self.doc_failed = false;
    }

    fn event(&mut self, event: Event<'_>, ys: &YSpan) -> Result<(), Abort> {
        let span = self.span(ys);
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                self.reset_document();
                self.anchors.clear();
            }
            Event::DocumentEnd => {
                if let Some(node) = self.root.take() {
                    if !self.doc_failed && !matches!(node.value, Value::Null) {
                        let span = node.span;
                        self.docs.push(Document { node, span, from: self.from });
                    }
                }
                self.doc_failed = false;
                self.from = span.end;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let merge = style == ScalarStyle::Plain && text == "<<";
                let quotable = style == ScalarStyle::Plain
                    || style == ScalarStyle::SingleQuoted
                    || style == ScalarStyle::DoubleQuoted;
                // A key's text becomes the key's name; its node is only looked at for its span
                // and a `null` (an anchored key keeps its node for the aliases that repeat it).
                let raw_key = (quotable && self.expects_key()).then(|| text.to_string());
                let node = match &raw_key {
                    Some(_) if anchor == 0 && tag.is_none() => Node::new(Value::Null, span),
                    _ => self.scalar(&text, style, tag.as_deref(), span),
                };
                self.count(1, span)?;
                if anchor != 0 {
                    self.anchors
                        .insert(anchor, Anchored { node: node.clone(), size: 1, height: 0 });
                }
                self.push(node, raw_key, merge)?;
            }
            Event::SequenceStart(style, anchor, _) => {
                self.open(span)?;
                let flow = style == StructureStyle::Flow;
                self.stack.push(Frame::Seq { items: Vec::new(), start: span.start, flow, anchor });
            }
            Event::MappingStart(style, anchor, _) => {
                self.open(span)?;
                let flow = style == StructureStyle::Flow;
                self.stack.push(Frame::Map {
                    flow,
                    entries: Vec::new(),
                    seen: HashMap::new(),
                    key: None,
                    merge_key: false,
                    merges: Vec::new(),
                    start: span.start,
                    anchor,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(span)?,
            Event::Alias(id) => self.alias(id, span)?,
            Event::UnresolvedAlias(name) => {
                self.error("yaml-alias", format!("the alias `*{name}` has no anchor"), span);
                return Err(Abort);
            }
            _ => {}
        }
        Ok(())
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Abort> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            self.error(
                "yaml-too-large",
                format!(
                    "this file holds more than {MAX_NODES} values (aliases expanded); \
                     it is refused to protect against alias bombs"
                ),
                span,
            );
            return Err(Abort);
        }
        Ok(())
    }

    fn open(&mut self, span: Span) -> Result<(), Abort> {
        if self.stack.len() >= MAX_DEPTH {
            self.error(
                "yaml-too-deep",
                format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
                span,
            );
            return Err(Abort);
        }
        self.count(1, span)
    }

    fn close(&mut self, end_span: Span) -> Result<(), Abort> {
        let Some(frame) = self.stack.pop() else { return Ok(()) };
        let (node, anchor) = match frame {
            Frame::Seq { items, start, flow, anchor } => {
                let mut items = items;
                // Most lists and maps are small: no spare capacity is kept in the tree.
                items.shrink_to_fit();
                let last = items.last().map(|n| n.span.end).unwrap_or(start);
                let end = if flow { end_span.end.max(last) } else { last };
                (Node::new(Value::List(items), Span::new(self.file, start, end)), anchor)
            }
            Frame::Map { mut entries, seen, merges, start, flow, anchor, .. } => {
                let mut seen = seen;
                for merged in merges {
                    let maps = match merged.value {
                        Value::List(items) => items,
                        other => vec![Node { value: other, ..merged }],
                    };
                    for m in maps {
                        match m.value {
                            Value::Map(more) => {
                                for (k, v) in more {
                                    if position(&entries, &mut seen, &k.name).is_none() {
                                        entries.push((k, v));
                                    }
                                }
                            }
                            _ => self.error(
                                "yaml-merge",
                                "a merge key `<<` takes a map or a list of maps",
                                m.span,
                            ),
                        }
                    }
                }
                entries.shrink_to_fit();
                let last = entries.iter().map(|(_, v)| v.span.end).max().unwrap_or(start);
                let end = if flow { end_span.end.max(last) } else { last };
                (Node::new(Value::Map(entries), Span::new(self.file, start, end)), anchor)
            }
        };
        if anchor != 0 {
            let (size, height) = measure(&node);
            self.anchors.insert(anchor, Anchored { node: node.clone(), size, height });
        }
        self.push(node, None, false)
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), Abort> {
        let Some(a) = self.anchors.get(&id) else {
            self.error(
                "yaml-alias",
                "this alias refers to a node that contains it (a recursive structure)",
                span,
            );
            return Err(Abort);
        };
        let (size, height) = (a.size, a.height);
        if self.stack.len() + height > MAX_DEPTH {
            self.error(
                "yaml-too-deep",
                format!(
                    "YAML nesting (with this alias expanded) is deeper than {MAX_DEPTH} levels"
                ),
                span,
            );
            return Err(Abort);
        }
        self.count(size, span)?;
        let Some(a) = self.anchors.get(&id) else { return Err(Abort) };
        let mut node = a.node.clone();
        let raw_key = node.as_str().map(str::to_string);
        node.span = span;
        self.push(node, raw_key, false)
    }

    /// Whether the next node read is a map's key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Adds a finished node to the collection being read (or makes it the document root).
    fn push(&mut self, node: Node, raw_key: Option<String>, is_merge: bool) -> Result<(), Abort> {
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match top {
            Frame::Seq { items, .. } => items.push(node),
            Frame::Map { entries, seen, key, merge_key, merges, .. } => match key.take() {
                None => {
                    let name = match (raw_key, &node.value) {
                        (Some(s), _) => s,
                        (None, Value::Null) => String::new(),
                        (None, _) => {
                            let span = node.span;
                            self.error(
                                "yaml-key",
                                "a map key must be a plain value, not a map or a list",
                                span,
                            );
                            return Err(Abort);
                        }
                    };
                    *merge_key = is_merge;
                    *key = Some(Key { name, span: node.span });
                }
                Some(k) => {
                    if std::mem::take(merge_key) {
                        merges.push(node);
                    } else if let Some(i) = position(entries, seen, &k.name) {
                        let first = entries.get(i).map(|(k, _)| k.span);
                        let mut d = Diagnostic::error(
                            "duplicate-key",
                            format!("the key `{}` appears twice in this map", k.name),
                        )
                        .at(k.span)
                        .help("remove one of them; YAML maps cannot repeat a key");
                        if let Some(first) = first {
                            d = d.related(first, "first defined here");
                        }
                        self.diags.push(d);
                        self.doc_failed = true;
                    } else {
                        entries.push((k, node));
                    }
                }
            },
        }
        Ok(())
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
        if let Some(tag) = tag {
            let value = match tag.core_suffix() {
                Some("str") => Some(Value::String(text.to_string())),
                Some("null") => Some(Value::Null),
                Some("bool") => resolve_plain(text).filter(|v| matches!(v, Value::Bool(_))),
                Some("int") => resolve_plain(text).filter(|v| match v {
                    Value::Number(n) => n.is_i64() || n.is_u64(),
                    _ => false,
                }),
                Some("float") => resolve_plain(text).filter(|v| matches!(v, Value::Number(_))),
                _ => {
                    self.error(
                        "yaml-tag",
                        format!("the YAML tag `{}` is not supported here", tag.original()),
                        span,
                    );
                    return Node::new(Value::String(text.to_string()), span);
                }
            };
            return match value {
                Some(v) => Node::new(v, span),
                None => {
                    self.error(
                        "yaml-tag",
                        format!("`{text}` is not a valid `{}` value", tag.original()),
                        span,
                    );
                    Node::new(Value::String(text.to_string()), span)
                }
            };
        }
        let value = if style == ScalarStyle::Plain {
            resolve_plain(text).unwrap_or_else(|| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        };
        Node::new(value, span)
    }
}

/// Maps with fewer entries than this are searched for a key in order; larger ones through an
/// index of their keys (a map of 100,000 labels stays linear).
const INDEXED_FROM: usize = 16;

/// The position of the entry named `name` in a map being read. `seen` indexes a prefix of
/// `entries` (their names are unique) and is extended on demand.
fn position(
    entries: &[(Key, Node)],
    seen: &mut HashMap<String, usize>,
    name: &str,
) -> Option<usize> {
    if entries.len() < INDEXED_FROM {
        return entries.iter().position(|(k, _)| k.name == name);
    }
    for (i, (k, _)) in entries.iter().enumerate().skip(seen.len()) {
        seen.insert(k.name.clone(), i);
    }
    seen.get(name).copied()
}

/// (number of nodes, height) of a tree.
fn measure(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::List(items) => items.iter().fold((1, 1), |(s, h), n| {
            let (ns, nh) = measure(n);
            (s.saturating_add(ns), h.max(nh + 1))
        }),
        Value::Map(entries) => entries.iter().fold((1, 1), |(s, h), (_, n)| {
            let (ns, nh) = measure(n);
            (s.saturating_add(ns), h.max(nh + 1))
        }),
        _ => (1, 0),
    }
}

/// The YAML 1.2 core schema for plain scalars: null, booleans, integers, floats; `None` for a
/// string. `.inf` and `.nan` have no JSON form and stay strings.
fn resolve_plain(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(|n| Value::Number(n.into()));
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().map(|n| Value::Number(n.into()));
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Some(Value::Number(n.into()));
        }
        if let Ok(n) = digits.parse::<u64>() {
            if !text.starts_with('-') {
                return Some(Value::Number(n.into()));
            }
        }
    }
    if is_float(digits) {
        let f: f64 = text.parse().ok()?;
        return serde_json::Number::from_f64(f).map(Value::Number);
    }
    None
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exp_ok = match exp {
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && all_digits(e)
        }
        None => true,
    };
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Sources;

    /// Every document [`parse`] keeps, read again with [`reparse`] from its `from`, is the same
    /// tree with the same spans; the number of documents checked.
    fn reparses_alike(text: &str) -> usize {
        let file = FileId(3);
        let docs = parse(file, text, &mut Diagnostics::new());
        for doc in &docs {
            let again = reparse(file, text, doc.from, doc.span);
            assert_eq!(again.as_ref(), Some(&doc.node), "document at {:?} of {text:?}", doc.span);
        }
        docs.len()
    }

    #[test]
    fn a_document_read_again_is_the_document_read_with_its_file() {
        let cases = [
            ("a: 1\n---\nb: [x, {c: 2}]\n---\nc: {d: e}\n", 3),
            ("# a comment\n\n  a: 1\n  b: 2\n---\n  c: 3\n", 2),
            ("%YAML 1.2\n---\na: 1\n...\n%YAML 1.2\n---\nb: 2\n...\n", 2),
            ("%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n---\nb: !!str 2\n", 2),
            ("--- {a: 1}\n--- [x, y]\n---\n---\nb: 2\n", 3),
            ("a: &x {k: v}\nb: *x\nc: {<<: *x, l: w}\n---\na: &x [1]\nb: *x\n", 2),
            ("a: 1\n---\nb: [\n---\nc: 3\n---\nd: 4\nd: 5\n---\ne: 6\n", 3),
            ("k: |\n  line\n  more\n---\nl: >-\n  folded\n  text\n\n---\nm: 'q'\n", 3),
            ("a: 1\r\n---\r\nb:\r\n  - x\r\n", 2),
            ("\u{feff}a: 1\n---\nb: é\n---\nc: \"ü\"\n", 3),
            ("'q k': 1\n\"d\\tk\": 2\n? e\n: 3\n---\nx: null\n---\n~\n---\ny: 1 # end\n", 3),
            ("a: 1\n--- # c\nb: 2\n...\n# between\n---\nc: 3", 3),
        ];
        for (text, want) in cases {
            assert_eq!(reparses_alike(text), want, "{text:?}");
        }
    }

    /// The YAML of the repository's examples, fixtures and schemas, read again document by
    /// document.
    #[test]
    fn every_yaml_file_of_the_repository_reads_again_alike() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                    out.push(p);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples", "fixtures", "tests", "docs"] {
            walk(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "{} files", files.len());
        let mut docs = 0;
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else { continue };
            docs += reparses_alike(&text);
        }
        assert!(docs > 50, "{docs} documents");
    }

    #[test]
    fn a_document_not_at_the_offset_given_is_not_found() {
        let text = "a: 1\n---\nb: 2\n";
        let docs = parse(FileId(0), text, &mut Diagnostics::new());
        assert_eq!(docs.len(), 2);
        let second = docs.get(1).map(|d| d.node.clone());
        assert_eq!(reparse(FileId(0), text, docs[0].from, docs[1].span), second);
        assert_eq!(reparse(FileId(0), text, docs[1].from, docs[0].span), None);
        assert_eq!(reparse(FileId(0), text, text.len() + 1, docs[0].span), None);
    }

    fn parse_str(text: &str) -> (Vec<Document>, Diagnostics) {
        let mut sources = Sources::new();
        let id = sources.add("t.yaml", text);
        let mut d = Diagnostics::new();
        let docs = parse(id, text, &mut d);
        (docs, d)
    }

    fn snippet(text: &str, span: Span) -> &str {
        &text[span.start..span.end]
    }

    #[test]
    fn keys_and_values_have_spans() {
        let text =
            "kind: Space\nmetadata:\n  name: \"ml\"\n  labels: {a: b}\nlist: [1, 2.5, true, ~]\n";
        let (docs, d) = parse_str(text);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(docs.len(), 1);
        let root = &docs[0].node;
        let (k, v) = root.entry("kind").expect("kind");
        assert_eq!(snippet(text, k.span), "kind");
        assert_eq!(snippet(text, v.span), "Space");
        let name = root.get("metadata").and_then(|m| m.get("name")).expect("name");
        assert_eq!(name.as_str(), Some("ml"));
        assert_eq!(snippet(text, name.span), "\"ml\"");
        let list = root.get("list").expect("list");
        assert_eq!(list.to_json(), serde_json::json!([1, 2.5, true, null]),);
        let labels = root.get("metadata").and_then(|m| m.get("labels")).expect("labels");
        assert!(snippet(text, labels.span).starts_with('{'), "{:?}", snippet(text, labels.span));
    }

    #[test]
    fn multiple_documents_skip_empty_ones() {
        let (docs, d) = parse_str("a: 1\n---\n---\n# only a comment\n---\nb: 2\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(docs.len(), 2);
        assert!(docs[1].node.get("b").is_some());
    }

    #[test]
    fn duplicate_keys_are_errors_pointing_at_both() {
        let text = "a: 1\nb: 2\na: 3\n";
        let (docs, d) = parse_str(text);
        assert!(docs.is_empty());
        let e = d.iter().next().expect("one error");
        assert_eq!(e.code, "duplicate-key");
        assert_eq!(e.span.map(|s| s.start), Some(10));
        assert_eq!(e.related[0].span.start, 0);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_work() {
        let text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nref: *b\n";
        let (docs, d) = parse_str(text);
        assert!(d.is_empty(), "{d:?}");
        let root = docs[0].node.to_json();
        assert_eq!(root["other"], serde_json::json!({"y": 3, "x": 1}));
        assert_eq!(root["ref"], serde_json::json!({"x": 1, "y": 2}));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            text.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = c;
        }
        let (docs, d) = parse_str(&text);
        assert!(docs.is_empty());
        assert!(d.iter().any(|e| e.code == "yaml-too-large"), "{d:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let (docs, d) = parse_str(&text);
        assert!(docs.is_empty());
        assert!(d.has_errors());
        let block: String = (0..300).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        let (docs, d) = parse_str(&block);
        assert!(docs.is_empty());
        assert!(d.iter().any(|e| e.message.contains("deeper")), "{d:?}");
    }

    #[test]
    fn syntax_errors_are_located_and_later_documents_still_load() {
        let text = "a: [1, 2\n---\nb: 2\n";
        let (docs, d) = parse_str(text);
        assert!(d.has_errors());
        assert_eq!(docs.len(), 1, "{docs:?}");
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(resolve_plain("0x1f"), Some(Value::Number(31.into())));
        assert_eq!(resolve_plain("-12"), Some(Value::Number((-12).into())));
        assert_eq!(resolve_plain("1e3").map(|v| matches!(v, Value::Number(_))), Some(true));
        assert_eq!(resolve_plain("yes"), None);
        assert_eq!(resolve_plain("1.2.3"), None);
        assert_eq!(resolve_plain(".inf"), None);
        assert_eq!(resolve_plain("-"), None);
        let (docs, _) = parse_str("a: !!str 12\nb: '12'\n");
        assert_eq!(docs[0].node.to_json(), serde_json::json!({"a": "12", "b": "12"}));
    }

    #[test]
    fn recursive_aliases_are_errors() {
        let (docs, d) = parse_str("a: &a [*a]\n");
        assert!(docs.is_empty());
        assert!(d.has_errors());
    }
}
