//! Var files: reading one HCL, JSON or YAML file of `name = value` assignments and handing each
//! to a sink, with the span of its name. Knows nothing of declarations or precedence; the
//! caller decides what an assignment means.

use std::path::Path;

use hcl_edit::structure::Structure;
use hcl_edit::Span as _;

use super::decl::VarDecl;
use super::resolve::extend_hidden;
use crate::config::hcl::eval::{hcl_span, node_to_value, span_of, Scope};
use crate::diag::{Diagnostic, Diagnostics, FileId, Sources, Span};

pub(super) type Sink<'a> = dyn FnMut(&str, hcl::Value, Span, String, &mut Diagnostics) + 'a;

/// Reads one var file and calls `sink` with each `name = value`. Values of the sensitive
/// variables among `decls` are hidden in every snippet and message.
pub(super) fn read_var_file(
    path: &Path,
    shown: &Path,
    decls: &[VarDecl],
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut Sink<'_>,
) {
    let shown_str = shown.display().to_string();
    let Some(text) = read_text(path, &shown_str, diags) else {
        return;
    };
    let file = sources.add(shown.to_path_buf(), text.clone());
    // Until the file is understood, any mention of a sensitive variable may sit next to its
    // value: a file that fails to parse is hidden whole if it names one.
    let names_sensitive = decls.iter().any(|d| d.sensitive && text.contains(d.name.as_str()));
    let f = VarFile { file, shown: &shown_str, decls, names_sensitive };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "json" | "yaml" | "yml") {
        read_data_file(&text, ext, &f, sources, diags, sink);
    } else {
        read_hcl_file(&text, &f, sources, diags, sink);
    }
}

/// The var file being read.
struct VarFile<'a> {
    file: FileId,
    shown: &'a str,
    decls: &'a [VarDecl],
    /// The text names a sensitive variable.
    names_sensitive: bool,
}

impl VarFile<'_> {
    fn sensitive(&self, name: &str) -> Option<&VarDecl> {
        self.decls.iter().find(|d| d.name == name && d.sensitive)
    }
}

/// The file's text (a UTF-8 BOM dropped), or `None` with a diagnostic if it is not a regular
/// file, is too large, cannot be read or is not UTF-8.
fn read_text(path: &Path, shown_str: &str, diags: &mut Diagnostics) -> Option<String> {
    match crate::config::read::regular_text(path, crate::config::MAX_FILE_BYTES) {
        Ok(t) => Some(t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t)),
        Err(crate::config::read::ReadError::NotUtf8) => {
            diags.push(Diagnostic::error(
                "unreadable-file",
                format!("The var file {shown_str} is not UTF-8 text."),
            ));
            None
        }
        Err(e) => {
            diags.push(Diagnostic::error(
                "unreadable-file",
                format!("Cannot read the var file {shown_str}: {e}."),
            ));
            None
        }
    }
}

/// A JSON (`ext` = `json`) or YAML var file: one top-level map; an empty file assigns nothing.
fn read_data_file(
    text: &str,
    ext: &str,
    f: &VarFile<'_>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut Sink<'_>,
) {
    let (file, shown_str) = (f.file, f.shown);
    let parsed: Result<serde_json::Value, String> = if ext == "json" {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    };
    let map = match parsed {
        Ok(serde_json::Value::Object(m)) => m,
        Ok(serde_json::Value::Null) => return,
        Ok(_) => {
            if f.names_sensitive {
                sources.hide_file(file);
            }
            diags.push(
                Diagnostic::error(
                    "invalid-var-file",
                    format!("The var file {shown_str} must hold one map of names to values."),
                )
                .at(Span::file_start(file)),
            );
            return;
        }
        Err(e) => {
            // The parser's message may quote the text around the error.
            let e = if f.names_sensitive {
                sources.hide_file(file);
                "(details hidden: the file sets a sensitive variable)".to_string()
            } else {
                e
            };
            diags.push(
                Diagnostic::error(
                    "invalid-var-file",
                    format!("The var file {shown_str} cannot be parsed: {e}."),
                )
                .at(Span::file_start(file)),
            );
            return;
        }
    };
    // Values in JSON and YAML files carry no span of their own: a file that sets a sensitive
    // variable is hidden whole.
    if map.keys().any(|k| f.sensitive(k).is_some()) {
        sources.hide_file(file);
    }
    for (name, value) in map {
        let span = key_span(text, &name, file);
        match serde_json::from_value::<hcl::Value>(value) {
            Ok(v) => sink(&name, v, span, shown_str.to_string(), diags),
            Err(e) => diags.push(
                Diagnostic::error("invalid-var-file", format!("Invalid value for `{name}`: {e}."))
                    .at(span),
            ),
        }
    }
}

/// An HCL var file: `name = value` lines of literals, no blocks.
fn read_hcl_file(
    text: &str,
    f: &VarFile<'_>,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut Sink<'_>,
) {
    let (file, shown_str) = (f.file, f.shown);
    let body = match crate::config::hcl::syntax::parse(text, file) {
        Ok(b) => b,
        Err(d) => {
            if f.names_sensitive {
                sources.hide_file(file);
            }
            diags.extend(d);
            return;
        }
    };
    let literal = Scope::literal("a var file");
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                if let Some(decl) = f.sensitive(attr.key.as_str()) {
                    if let Some(span) = span_of(&attr.value, file) {
                        sources.hide(span);
                    }
                    let mut local = Diagnostics::new();
                    if let Some(node) = literal.eval(&attr.value, file, &mut local) {
                        let span = node.span;
                        sink(
                            attr.key.as_str(),
                            node_to_value(&node),
                            span,
                            shown_str.to_string(),
                            diags,
                        );
                    }
                    extend_hidden(diags, local, decl, shown_str);
                    continue;
                }
                if let Some(node) = literal.eval(&attr.value, file, diags) {
                    let span = node.span;
                    sink(
                        attr.key.as_str(),
                        node_to_value(&node),
                        span,
                        shown_str.to_string(),
                        diags,
                    );
                }
            }
            Structure::Block(b) => diags.push(
                Diagnostic::error(
                    "invalid-var-file",
                    "A var file holds only `name = value` lines, not blocks.",
                )
                .at_opt(hcl_span(b.ident.span(), file)),
            ),
        }
    }
}

/// The span of `name:` (or `"name":`) in a YAML or JSON text, or the file start.
fn key_span(text: &str, name: &str, file: FileId) -> Span {
    for (i, _) in text.match_indices(name) {
        let before = text[..i].trim_end_matches('"');
        let at_line_start = before.is_empty()
            || before.ends_with('\n')
            || before.trim_end_matches([' ', '\t', '{', ',']).ends_with('\n')
            || before.trim_end_matches([' ', '\t', '{', ',']).is_empty();
        let after = text[i + name.len()..].trim_start_matches('"').trim_start();
        if at_line_start && after.starts_with(':') {
            return Span::new(file, i, i + name.len());
        }
    }
    Span::file_start(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_key_spans_are_found() {
        let text = "a: 1\nbranch: main\n";
        let s = key_span(text, "branch", FileId(0));
        assert_eq!((s.start, s.end), (5, 11));
    }
}
