//! Parsing one HCL text with `hcl-edit` (which keeps byte spans and bounds nesting depth), and
//! turning a syntax error into a diagnostic with a hint. Pure: the caller reads the file.

use hcl_edit::structure::Body;

use crate::diag::{Diagnostic, Diagnostics, FileId, Span};

/// Files larger than this are refused rather than parsed.
pub(super) const MAX_FILE_BYTES: usize = 16 << 20;

/// Parses a file's text into a body.
pub(super) fn parse(text: &str, file: FileId) -> Result<Body, Diagnostics> {
    if text.len() > MAX_FILE_BYTES {
        let d = Diagnostic::error(
            "file-too-large",
            format!("This file is larger than {} MiB and is not read.", MAX_FILE_BYTES >> 20),
        )
        .at(Span::file_start(file))
        .help("Split it into several files.");
        return Err(std::iter::once(d).collect());
    }
    match hcl_edit::parser::parse_body(text) {
        Ok(body) => Ok(body),
        Err(e) => Err(std::iter::once(syntax_error(text, file, &e)).collect()),
    }
}

fn syntax_error(text: &str, file: FileId, e: &hcl_edit::parser::Error) -> Diagnostic {
    let mut offset = e.location().offset().min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    if let Some(at) = unescaped_runtime_substitution(text, offset) {
        return Diagnostic::error(
            "hcl-syntax",
            "`${{` starts an HCL interpolation here, but Cordium's `${{ vars.NAME }}` substitution was meant.",
        )
        .at(Span::new(file, at, at + 3))
        .help("Write `$${{ vars.NAME }}`: `$${` is HCL's escape, and the value keeps `${{ vars.NAME }}` literally.");
    }
    let end = text[offset..].chars().next().map(|c| offset + c.len_utf8()).unwrap_or(offset);
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let line = &text[line_start..line_end];
    let help = if e.message().contains("redefined attribute") {
        "Each attribute may be set once per block; remove the repeated one."
    } else if line.matches('{').count() >= 2
        || (line.contains('{')
            && line.trim_end().ends_with('}')
            && line.contains('=')
            && line.matches('=').count() >= 2)
    {
        "A block written on one line may hold only one attribute and no nested blocks: put them on separate lines."
    } else {
        "Fix the HCL syntax here; the rest of this file is not read until then."
    };
    let message = e.message().trim_end_matches('.');
    let mut message = message.to_string();
    if let Some(first) = message.get(..1) {
        message = first.to_uppercase() + &message[1..];
    }
    Diagnostic::error("hcl-syntax", format!("{message}."))
        .at(Span::new(file, offset, end))
        .help(help)
}

/// The start of an unescaped `${{` on the line of the error (or before it on that line).
fn unescaped_runtime_substitution(text: &str, offset: usize) -> Option<usize> {
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let line = &text[line_start..line_end];
    line.match_indices("${{")
        .map(|(i, _)| line_start + i)
        .find(|&i| i == 0 || text.as_bytes()[i - 1] != b'$')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> Diagnostic {
        parse(src, FileId(0)).expect_err("a syntax error").into_iter().next().expect("one")
    }

    #[test]
    fn unescaped_runtime_substitution_gets_a_hint() {
        let d = err("var \"TASK\" { value = \"on ${{ vars.BRANCH }}\" }\n");
        assert_eq!(d.span.map(|s| s.start), Some(25));
        assert!(d.help.as_deref().unwrap_or("").contains("$${{"));
        assert!(parse("a = \"on $${{ vars.BRANCH }}\"\n", FileId(0)).is_ok());
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let d = err("space \"ml\" {\n  a = \n}\n");
        assert_eq!(d.code, "hcl-syntax");
        assert!(d.span.is_some());
        let d = err("template \"t\" {\n  image { registry { url = \"x\" } }\n}\n");
        assert!(d.help.as_deref().unwrap_or("").contains("on one line"), "{d:?}");
        let d = err("user \"u\" {\n  email = \"a\"\n  email = \"b\"\n}\n");
        assert!(d.help.as_deref().unwrap_or("").contains("set once"), "{d:?}");
        let d = err(&format!("a = {}1{}\n", "[".repeat(200), "]".repeat(200)));
        assert_eq!(d.code, "hcl-syntax");
    }
}
