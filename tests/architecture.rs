//! The architecture, enforced (docs/architecture.md): stages import only stages to their left,
//! and the pure core (`diff`, `plan`) does no I/O, reads no clock and runs nothing async. Files
//! are parsed with `syn`, so grouped imports (`use crate::{a, b::c}`), paths in expressions and
//! paths inside macro calls all count.

use std::path::{Path, PathBuf};

use syn::visit_mut::{self, VisitMut};

/// Pipeline order: a stage may use the stages before it.
const ORDER: &[&str] =
    &["diag", "config", "model", "live", "diff", "plan", "apply", "render", "server", "ops", "cli"];

/// Leaf modules (`src/<leaf>.rs`): every stage may use them, and they import no stage (not even
/// `diag`). `diag`, first in [`ORDER`], is usable everywhere too.
const LEAVES: &[&str] = &["kind", "order"];

/// Allowed imports beyond "stages to the left": (stage, used, why). None so far.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// Stages that must stay pure: no I/O, no clock, no async.
const PURE: &[&str] = &["diff", "plan"];

/// Files of a pure stage allowed to do I/O, and why.
const PURE_EXCEPTIONS: &[(&str, &str)] = &[("plan/file.rs", "reads and writes the plan file")];

/// Path segments that mean I/O, a clock or an async runtime.
const IMPURE: &[(&str, &str)] = &[
    ("std::fs", "file I/O"),
    ("std::io", "I/O"),
    ("std::net", "network I/O"),
    ("std::process", "processes"),
    ("std::env", "the environment"),
    ("std::thread", "threads"),
    ("Instant", "a clock"),
    ("SystemTime", "a clock"),
    ("tokio", "an async runtime"),
    ("tonic", "the network"),
    ("rusqlite", "a database"),
];

fn rank(stage: &str) -> Option<usize> {
    ORDER.iter().position(|s| *s == stage)
}

/// What one file uses: crate modules (with line numbers) and impure constructs.
#[derive(Default)]
struct Uses {
    crate_modules: Vec<(String, usize)>,
    impure: Vec<(String, usize)>,
}

impl Uses {
    fn path(&mut self, segments: &[String], line: usize) {
        if segments.first().is_some_and(|s| s == "crate") {
            if let Some(m) = segments.get(1) {
                self.crate_modules.push((m.clone(), line));
            }
        }
        let joined = segments.join("::");
        for (pattern, what) in IMPURE {
            let hit = if pattern.contains("::") {
                joined == *pattern || joined.starts_with(&format!("{pattern}::"))
            } else {
                segments.iter().any(|s| s == pattern)
            };
            if hit {
                self.impure.push((format!("{joined} ({what})"), line));
            }
        }
    }

    /// Every `a::b::c` run of identifiers in a macro's tokens.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut line = 0;
        let mut colons = 0;
        let flush = |run: &mut Vec<String>, line: usize, me: &mut Uses| {
            if !run.is_empty() {
                me.path(run, line);
                run.clear();
            }
        };
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Ident(i) => {
                    if colons != 2 {
                        flush(&mut run, line, self);
                        line = i.span().start().line;
                    }
                    run.push(i.to_string());
                    colons = 0;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' => colons += 1,
                proc_macro2::TokenTree::Group(g) => {
                    flush(&mut run, line, self);
                    colons = 0;
                    self.tokens(g.stream());
                }
                _ => {
                    flush(&mut run, line, self);
                    colons = 0;
                }
            }
        }
        flush(&mut run, line, self);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.leaf(prefix, &n.ident),
            syn::UseTree::Rename(r) => self.leaf(prefix, &r.ident),
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                self.path(prefix, line);
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }

    fn leaf(&mut self, prefix: &mut Vec<String>, ident: &syn::Ident) {
        prefix.push(ident.to_string());
        self.path(prefix, ident.span().start().line);
        prefix.pop();
    }
}

/// `#[cfg(test)]`: test code may do what the code under test must not (temp files, clocks).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

impl VisitMut for Uses {
    fn visit_item_mod_mut(&mut self, m: &mut syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            visit_mut::visit_item_mod_mut(self, m);
        }
    }

    fn visit_item_use_mut(&mut self, u: &mut syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path_mut(&mut self, p: &mut syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p.segments.first().map(|s| s.ident.span().start().line).unwrap_or(0);
        self.path(&segments, line);
        visit_mut::visit_path_mut(self, p);
    }

    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        self.tokens(m.tokens.clone());
        visit_mut::visit_macro_mut(self, m);
    }

    fn visit_item_fn_mut(&mut self, f: &mut syn::ItemFn) {
        if let Some(a) = &f.sig.asyncness {
            self.impure.push(("async fn".into(), a.span.start().line));
        }
        visit_mut::visit_item_fn_mut(self, f);
    }

    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        if let Some(a) = &f.sig.asyncness {
            self.impure.push(("async fn".into(), a.span.start().line));
        }
        visit_mut::visit_impl_item_fn_mut(self, f);
    }

    fn visit_expr_async_mut(&mut self, e: &mut syn::ExprAsync) {
        self.impure.push(("async block".into(), e.async_token.span.start().line));
        visit_mut::visit_expr_async_mut(self, e);
    }

    fn visit_expr_await_mut(&mut self, e: &mut syn::ExprAwait) {
        self.impure.push((".await".into(), e.await_token.span.start().line));
        visit_mut::visit_expr_await_mut(self, e);
    }
}

/// Parses one source file.
fn uses(text: &str) -> Uses {
    let mut file = syn::parse_file(text).expect("every source file parses");
    let mut uses = Uses::default();
    uses.visit_file_mut(&mut file);
    uses
}

/// The stage-order violations of one file of `stage` (a stage or a leaf).
fn stage_violations(stage: &str, file: &str, uses: &Uses) -> Vec<String> {
    // A leaf has no rank: every stage it names is a violation.
    let me = if LEAVES.contains(&stage) { None } else { Some(rank(stage).expect("known stage")) };
    uses.crate_modules
        .iter()
        .filter(|(used, _)| {
            if LEAVES.contains(&used.as_str()) {
                return false;
            }
            let Some(theirs) = rank(used) else { return false };
            !me.is_some_and(|me| {
                used == stage
                    || theirs < me
                    || EXCEPTIONS.iter().any(|(s, u, _)| *s == stage && u == used)
            })
        })
        .map(|(used, line)| format!("{file}:{line}: {stage} uses {used}"))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file of the crate with its stage (the first folder under `src/`, or the file
/// name for `src/x.rs`), relative path and parsed uses.
fn crate_files() -> Vec<(String, String, Uses)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&src).ok()?.to_string_lossy().replace('\\', "/");
            let stage = rel.split('/').next()?.trim_end_matches(".rs").to_string();
            if rank(&stage).is_none() && !LEAVES.contains(&stage.as_str()) {
                return None;
            }
            let text = std::fs::read_to_string(&path).expect("readable file");
            Some((stage, rel, uses(&text)))
        })
        .collect()
}

#[test]
fn stages_import_only_stages_to_their_left() {
    let files = crate_files();
    let stages: std::collections::BTreeSet<&str> = files.iter().map(|f| f.0.as_str()).collect();
    for stage in ORDER.iter().chain(LEAVES) {
        assert!(stages.contains(stage), "no source files found for {stage}");
    }
    let violations: Vec<String> =
        files.iter().flat_map(|(stage, rel, uses)| stage_violations(stage, rel, uses)).collect();
    assert!(violations.is_empty(), "imports against the pipeline:\n{}", violations.join("\n"));
}

#[test]
fn the_pure_core_does_no_io_and_reads_no_clock() {
    let mut violations = Vec::new();
    for (stage, rel, uses) in crate_files() {
        if !PURE.contains(&stage.as_str()) || PURE_EXCEPTIONS.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        // Test modules in their own files (`mod tests;` under `#[cfg(test)]`) are test code.
        if rel.ends_with("/tests.rs") || rel.ends_with("/testing.rs") {
            continue;
        }
        for (what, line) in &uses.impure {
            violations.push(format!("src/{rel}:{line}: {what}"));
        }
    }
    assert!(violations.is_empty(), "the pure core must stay pure:\n{}", violations.join("\n"));
}

#[test]
fn the_scans_catch_what_they_forbid() {
    // Guards against scans that cannot fail: each construct below must be caught.
    let backward = [
        "use crate::apply::Executor;",
        "use crate::{diag::Span, apply::Executor};",
        "use crate::{diag, apply};",
        "use crate::apply::*;",
        "fn f() { crate::apply::run(); }",
        "fn f() { let _ = format!(\"{}\", crate::apply::X); }",
        "type T = crate::apply::Plan;",
    ];
    for src in backward {
        let v = stage_violations("model", "x.rs", &uses(src));
        assert_eq!(v.len(), 1, "{src}: {v:?}");
    }
    for ok in [
        "use crate::{diag::Span, config::tree};",
        "fn f() { crate::model::x(); }",
        "use crate::kind::{Address, Kind};",
    ] {
        assert!(stage_violations("model", "x.rs", &uses(ok)).is_empty(), "{ok}");
    }
    // A leaf imports no stage, not even diag.
    let v = stage_violations("kind", "kind.rs", &uses("use crate::diag::Diagnostic;"));
    assert_eq!(v.len(), 1, "{v:?}");
    let impure = [
        "use std::fs;",
        "fn f() { std::fs::read(\"x\"); }",
        "use std::{collections::BTreeMap, io::Write};",
        "use std::time::Instant;",
        "fn f() { let t = Instant::now(); }",
        "async fn f() {}",
        "fn f() { let _ = async { 1 }; }",
        "fn f() { tokio::spawn(x); }",
        "fn f() { let _ = vec![std::time::SystemTime::now()]; }",
    ];
    for src in impure {
        assert!(!uses(src).impure.is_empty(), "{src} should be impure");
    }
    for pure in [
        "use std::collections::BTreeMap;",
        "fn f() -> std::time::Duration { todo!() }",
        "#[cfg(test)] mod tests { fn f() { std::fs::read(\"x\"); } }",
    ] {
        assert!(uses(pure).impure.is_empty(), "{pure} should be pure");
    }
}
