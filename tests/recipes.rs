//! The CI recipes never rot (issue 15): every `cordium` command line in `docs/ci/*.md` is
//! extracted (continuations joined, redirections and pipes cut) and parsed by the real CLI
//! definitions (`Cli::try_parse_from`), and each recipe has every stage the issue asks for.

use std::path::{Path, PathBuf};

use clap::Parser;
use cordium::cli::Cli;

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci")
}

/// Splits a shell line into words: single and double quotes, backslash escapes; stops at the
/// first unquoted `>`, `|`, `;`, `&&`, `#`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                has = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    has = true;
                }
            }
            (None, '>' | '|' | ';' | '#') => break,
            (None, '&') if chars.peek() == Some(&'&') => break,
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, c) => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every `cordium ...` command of the fenced code blocks of a Markdown file, with its line.
fn commands(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_code = false;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let n = i + 1;
        i += 1;
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let mut t = line.trim_start();
        for prefix in ["- ", "run: "] {
            t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
        }
        if !t.starts_with("cordium ") {
            continue;
        }
        let mut full = t.to_string();
        while full.trim_end().ends_with('\\') && i < lines.len() {
            full = format!("{} {}", full.trim_end().trim_end_matches('\\'), lines[i].trim());
            i += 1;
        }
        out.push((n, words(&full)));
    }
    out
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(words("cordium plan --out 'a b' > x.md"), vec!["cordium", "plan", "--out", "a b"]);
    assert_eq!(words("cordium x \"$Y\" | tee"), vec!["cordium", "x", "$Y"]);
    assert_eq!(words("cordium a && b"), vec!["cordium", "a"]);
}

#[test]
fn every_cordium_command_in_the_ci_recipes_parses() {
    let mut parsed = 0;
    let mut problems = Vec::new();
    for file in ["github-actions.md", "gitlab-ci.md"] {
        let text = std::fs::read_to_string(docs().join(file)).expect("recipe exists");
        let found = commands(&text);
        let subs: Vec<&str> =
            found.iter().filter_map(|(_, w)| w.get(1).map(String::as_str)).collect();
        // Each recipe has the whole pipeline: plan on a PR with a saved plan and Markdown,
        // apply of a saved plan with a record, promotion gated on --require-tested, drift.
        let has = |sub: &str, flags: &[&str]| {
            found.iter().any(|(_, w)| {
                w.get(1).is_some_and(|s| s == sub) && flags.iter().all(|f| w.iter().any(|x| x == f))
            })
        };
        assert!(has("plan", &["--out", "--output", "markdown", "--html"]), "{file}: plan");
        assert!(has("apply", &["--record", "staging.plan"]), "{file}: apply of the saved plan");
        assert!(has("promote", &["--require-tested", "--record"]), "{file}: gated promotion");
        assert!(has("apply", &["production.plan"]), "{file}: production apply");
        assert!(subs.contains(&"drift"), "{file}: scheduled drift");
        for (line, w) in found {
            match Cli::try_parse_from(&w) {
                Ok(_) => parsed += 1,
                Err(e) => problems.push(format!("{file}:{line}: {}\n{e}", w.join(" "))),
            }
        }
    }
    assert!(problems.is_empty(), "recipe commands the CLI rejects:\n{}", problems.join("\n"));
    assert!(parsed >= 8, "only {parsed} commands found");
}
