//! Colour and character set, decided once by `cli` (flags, NO_COLOR/FORCE_COLOR, TTY) and
//! passed in: render never looks at the terminal itself.

use std::borrow::Cow;

use owo_colors::OwoColorize;

/// Whether to colour output, and whether it may use Unicode (box drawing, arrows, check marks).
/// `unicode: false` is plain ASCII: what a pipe, a file or a CI log gets unless forced
/// (docs/output.md). The default is neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
}

impl Style {
    /// No colour, ASCII only.
    pub const PLAIN: Style = Style { color: false, unicode: false };

    /// `→` or `->`.
    pub fn arrow(self) -> &'static str {
        if self.unicode {
            "→"
        } else {
            "->"
        }
    }
    /// `✓` or `ok`.
    pub fn check(self) -> &'static str {
        if self.unicode {
            "✓"
        } else {
            "ok"
        }
    }
    /// `✗` or `x`.
    pub fn cross(self) -> &'static str {
        if self.unicode {
            "✗"
        } else {
            "x"
        }
    }
    /// The finished text: as it is with Unicode, else with the punctuation other stages write
    /// in their messages (`→`, `…`, `—`, box drawing) spelled in ASCII. Text that is the user's
    /// own (a description in another script) is left as written.
    pub fn finish(self, text: String) -> String {
        if self.unicode {
            text
        } else {
            match ascii(&text) {
                Cow::Borrowed(_) => text,
                Cow::Owned(s) => s,
            }
        }
    }
    pub fn green(self, s: &str) -> String {
        if self.color {
            s.green().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn yellow(self, s: &str) -> String {
        if self.color {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn red(self, s: &str) -> String {
        if self.color {
            s.red().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn cyan(self, s: &str) -> String {
        if self.color {
            s.cyan().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn bold(self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    pub fn dim(self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
}

/// The ASCII spelling of the punctuation and drawing characters cordium itself writes.
pub fn ascii(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '→' | '⟶' => out.push_str("->"),
            '←' => out.push_str("<-"),
            '…' => out.push_str("..."),
            '—' | '–' => out.push_str("--"),
            '·' | '•' => out.push('-'),
            '‘' | '’' => out.push('\''),
            '“' | '”' => out.push('"'),
            '×' | '✗' | '❌' => out.push('x'),
            '✓' | '✅' => out.push_str("ok"),
            '─' | '━' | '╌' => out.push('-'),
            '═' => out.push('='),
            '│' | '┃' | '║' => out.push('|'),
            '╭' | '╮' | '╰' | '╯' | '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' => {
                out.push('+')
            }
            '▲' => out.push('^'),
            '▶' => out.push('>'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_spells_our_punctuation_and_keeps_other_text() {
        assert_eq!(ascii("a → b … ╭─┬╮ ✓ ✗"), "a -> b ... +-++ ok x");
        assert_eq!(ascii("café"), "café");
        assert!(matches!(ascii("plain"), Cow::Borrowed("plain")));
        let plain = Style::PLAIN.finish("x → y".into());
        assert_eq!(plain, "x -> y");
        let uni = Style { color: false, unicode: true }.finish("x → y".into());
        assert_eq!(uni, "x → y");
    }
}
