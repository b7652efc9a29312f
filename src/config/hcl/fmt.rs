//! Canonical HCL formatting for `cordium fmt`: two-space indentation by nesting, `=` aligned
//! in runs of consecutive one-line attributes, one blank line between top-level blocks, runs of
//! blank lines collapsed, trailing whitespace removed, one final newline. Comments are kept
//! where they are; heredoc bodies and block comments are left byte for byte.
//!
//! Works line by line over text that `hcl-edit` has already accepted (a file that does not
//! parse is never touched), and checks that its output parses too. Idempotent:
//! `format(format(x)) == format(x)`. Pure: the command reads and writes the files.

use super::syntax;
use crate::diag::{Diagnostics, FileId};

/// Formats one file's text. Errors are the file's syntax errors.
pub fn format(text: &str, file: FileId) -> Result<String, Diagnostics> {
    syntax::parse(text, file)?;
    let out = format_lines(text);
    // Safety net: never hand back something that no longer parses.
    if syntax::parse(&out, file).is_err() {
        return Ok(text.to_string());
    }
    Ok(out)
}

/// One line as read, classified.
struct Line {
    /// Code lines are re-indented; verbatim ones (heredoc bodies, block comments) are not.
    verbatim: bool,
    indent: usize,
    /// The line without leading and trailing whitespace (verbatim: without trailing `\r` only).
    text: String,
    /// `Some(key_len)` when the line is `key = value` with a one-line value start.
    key: Option<usize>,
    /// The line closes a top-level block (or is a whole one-line top-level block).
    ends_top_block: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Code,
    Str,
    /// Inside `${ ... }` or `%{ ... }` within a string; counts its own braces.
    Interp(usize),
}

struct Scanner {
    depth: usize,
    modes: Vec<Mode>,
    heredoc: Option<String>,
    block_comment: bool,
}

impl Scanner {
    fn mode(&self) -> Mode {
        *self.modes.last().unwrap_or(&Mode::Code)
    }

    fn in_code(&self) -> bool {
        self.modes.len() <= 1 && self.mode() == Mode::Code
    }

    /// Updates nesting over one line of code; returns a heredoc marker started on it.
    fn scan(&mut self, line: &str) -> Option<String> {
        let chars: Vec<char> = line.chars().collect();
        let mut heredoc = None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if self.block_comment {
                if c == '*' && next == Some('/') {
                    self.block_comment = false;
                    i += 1;
                }
                i += 1;
                continue;
            }
            match self.mode() {
                Mode::Str => match c {
                    '\\' => i += 1,
                    '"' => {
                        self.modes.pop();
                    }
                    '$' | '%' if next == Some('{') => {
                        if i > 0 && chars[i - 1] == c {
                            // `$${` / `%%{` escapes: literal text.
                        } else {
                            self.modes.push(Mode::Interp(0));
                            i += 1;
                        }
                    }
                    _ => {}
                },
                Mode::Code | Mode::Interp(_) => match c {
                    '#' => break,
                    '/' if next == Some('/') => break,
                    '/' if next == Some('*') => {
                        self.block_comment = true;
                        i += 1;
                    }
                    '"' => self.modes.push(Mode::Str),
                    '<' if next == Some('<') => {
                        let rest: String = chars[i + 2..].iter().collect();
                        let rest = rest.strip_prefix('-').unwrap_or(&rest);
                        let marker: String =
                            rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        if !marker.is_empty() {
                            heredoc = Some(marker);
                        }
                        i += 1;
                    }
                    '{' | '[' | '(' => match self.modes.last_mut() {
                        Some(Mode::Interp(n)) => *n += 1,
                        _ => self.depth += 1,
                    },
                    '}' | ']' | ')' => match self.modes.last_mut() {
                        Some(Mode::Interp(0)) => {
                            self.modes.pop();
                        }
                        Some(Mode::Interp(n)) => *n -= 1,
                        _ => self.depth = self.depth.saturating_sub(1),
                    },
                    _ => {}
                },
            }
            i += 1;
        }
        heredoc
    }
}

fn classify(text: &str) -> Vec<Line> {
    let mut s = Scanner { depth: 0, modes: vec![Mode::Code], heredoc: None, block_comment: false };
    let mut out = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(marker) = &s.heredoc {
            let done = raw.trim() == marker;
            out.push(Line {
                verbatim: true,
                indent: 0,
                text: raw.to_string(),
                key: None,
                ends_top_block: false,
            });
            if done {
                s.heredoc = None;
            }
            continue;
        }
        if s.block_comment {
            out.push(Line {
                verbatim: true,
                indent: 0,
                text: raw.trim_end().to_string(),
                key: None,
                ends_top_block: false,
            });
            s.scan(raw);
            continue;
        }
        let trimmed = raw.trim();
        let at_code = s.in_code();
        let closers = if at_code {
            trimmed.chars().take_while(|c| matches!(c, '}' | ']' | ')')).count()
        } else {
            0
        };
        let indent = s.depth.saturating_sub(closers);
        let depth_before = s.depth;
        let key = if at_code { key_len(trimmed) } else { None };
        s.heredoc = s.scan(raw);
        let ends_top_block = at_code
            && s.depth == 0
            && s.in_code()
            && (depth_before > 0 || (trimmed.contains('{') && trimmed.ends_with('}')));
        out.push(Line {
            verbatim: !at_code,
            indent,
            text: trimmed.to_string(),
            key,
            ends_top_block,
        });
    }
    out
}

/// The length of `key` in a `key = value` line (identifier or quoted key), if it is one.
fn key_len(line: &str) -> Option<usize> {
    let key_end = if let Some(rest) = line.strip_prefix('"') {
        let close = rest.find('"')?;
        close + 2
    } else {
        let n = line
            .char_indices()
            .take_while(|(i, c)| c.is_alphanumeric() || *c == '_' || (*i > 0 && *c == '-'))
            .map(|(i, c)| i + c.len_utf8())
            .last()?;
        if !line.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
            return None;
        }
        n
    };
    let rest = line[key_end..].trim_start();
    let after = rest.strip_prefix('=')?;
    if after.starts_with('=') || after.starts_with('>') {
        return None;
    }
    Some(key_end)
}

fn format_lines(text: &str) -> String {
    let lines = classify(text);
    // Alignment widths: runs of consecutive key lines at the same indent.
    let mut width = vec![0usize; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if lines[i].key.is_none() || lines[i].verbatim {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len()
            && !lines[j].verbatim
            && lines[j].key.is_some()
            && lines[j].indent == lines[i].indent
        {
            j += 1;
        }
        let w = lines[i..j].iter().filter_map(|l| l.key).max().unwrap_or(0);
        for x in &mut width[i..j] {
            *x = w;
        }
        i = j;
    }

    let mut out = String::with_capacity(text.len() + 64);
    let mut pending_blank = false;
    let mut need_blank = false;
    let mut wrote_any = false;
    for (n, line) in lines.iter().enumerate() {
        if line.verbatim {
            out.push_str(&line.text);
            out.push('\n');
            continue;
        }
        if line.text.is_empty() {
            pending_blank = wrote_any;
            continue;
        }
        let top_item = line.indent == 0;
        if wrote_any && (pending_blank || (need_blank && top_item)) {
            out.push('\n');
        }
        pending_blank = false;
        need_blank = false;
        out.push_str(&"  ".repeat(line.indent));
        match line.key {
            Some(k) => {
                let key = &line.text[..k];
                let value = line.text[k..].trim_start().trim_start_matches('=').trim_start();
                out.push_str(key);
                out.push_str(&" ".repeat(width[n].saturating_sub(k.min(width[n])) + 1));
                out.push('=');
                if !value.is_empty() {
                    out.push(' ');
                    out.push_str(value);
                }
            }
            None => out.push_str(&line.text),
        }
        out.push('\n');
        wrote_any = true;
        if line.ends_top_block {
            need_blank = true;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(s: &str) -> String {
        let once = format(s, FileId(0)).expect("formats");
        let twice = format(&once, FileId(0)).expect("formats again");
        assert_eq!(once, twice, "not idempotent for:\n{s}");
        once
    }

    #[test]
    fn indents_aligns_and_separates_blocks() {
        let input = "variable \"branch\" {\ndefault=\"main\"\n    description = \"x\"\n}\nspace \"ml\" {\n      display_name = \"ML\" # the name\n  organization=true\n\n\n\n  runtime {\n  env_var {\n  key = \"A\"\n  from_secret = \"s\"\n  }\n  }\n}\ntemplate \"t\" {}\n";
        let want = "variable \"branch\" {\n  default     = \"main\"\n  description = \"x\"\n}\n\nspace \"ml\" {\n  display_name = \"ML\" # the name\n  organization = true\n\n  runtime {\n    env_var {\n      key         = \"A\"\n      from_secret = \"s\"\n    }\n  }\n}\n\ntemplate \"t\" {}\n";
        assert_eq!(fmt(input), want);
    }

    #[test]
    fn keeps_heredocs_comments_and_strings() {
        let input = "# header\n\n\ntemplate \"t\" {\n    runtime {\n  cmd = <<-EOT\n      echo \"{\"\n   EOT\n   /* a\n  block */\n  x = \"${ {a = 1}.a } }\" // c\n  y = \"$${{ vars.X }}\"\n  }\n}\n";
        let want = "# header\n\ntemplate \"t\" {\n  runtime {\n    cmd = <<-EOT\n      echo \"{\"\n   EOT\n    /* a\n  block */\n    x = \"${ {a = 1}.a } }\" // c\n    y = \"$${{ vars.X }}\"\n  }\n}\n";
        assert_eq!(fmt(input), want);
    }

    #[test]
    fn lists_and_objects_nest() {
        let input =
            "user \"u\" {\ngroups = [\n\"a\",\n\"b\",\n]\nattrs = {\na = 1\nlonger = 2\n}\n}\n";
        let want = "user \"u\" {\n  groups = [\n    \"a\",\n    \"b\",\n  ]\n  attrs = {\n    a      = 1\n    longer = 2\n  }\n}\n";
        assert_eq!(fmt(input), want);
    }

    #[test]
    fn broken_files_are_not_touched() {
        assert!(format("space \"x\" {", FileId(0)).is_err());
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n"), "");
    }

    #[test]
    fn comparisons_are_not_attributes() {
        let input =
            "locals {\n  a = [for x in [1]: x if x == 1]\n  b = {\n    k = 1 == 1\n  }\n}\n";
        assert_eq!(fmt(input), input);
    }
}
