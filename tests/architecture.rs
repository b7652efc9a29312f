//! Stages import only stages to their left (ARCHITECTURE.md §1): a scan of `use crate::…` and
//! `crate::…` paths in every module.

use std::path::Path;

/// Pipeline order. `diag` may be used by all; `cli` may use all.
const ORDER: &[&str] =
    &["diag", "config", "model", "live", "diff", "plan", "apply", "render", "server", "cli"];

/// Leaf modules (`src/<leaf>.rs`): usable from every stage, like `diag`, and importing no stage.
const LEAVES: &[&str] = &["kind"];

/// Allowed imports beyond "stages to the left". Each entry says why.
const EXCEPTIONS: &[(&str, &str)] = &[
    // render turns plans, diagnostics and events into text; it needs no live or server types,
    // but plan is to its left already. No exceptions so far.
];

fn rank(stage: &str) -> Option<usize> {
    ORDER.iter().position(|s| *s == stage)
}

fn scan(dir: &Path, stage: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            scan(&path, stage, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        scan_file(&path, stage, out);
    }
}

/// The `crate::<module>` paths of one file, checked against `stage`'s rank. A leaf has no
/// rank: every stage it names is a violation.
fn scan_file(path: &Path, stage: &str, out: &mut Vec<String>) {
    let text = std::fs::read_to_string(path).expect("readable file");
    let me = if LEAVES.contains(&stage) { None } else { Some(rank(stage).expect("known stage")) };
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let used: String =
                after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            rest = &after[used.len()..];
            if LEAVES.contains(&used.as_str()) {
                continue;
            }
            let Some(theirs) = rank(&used) else { continue };
            let allowed = me.is_some_and(|me| {
                used == stage
                    || used == "diag"
                    || theirs < me
                    || EXCEPTIONS.contains(&(stage, used.as_str()))
            });
            if !allowed {
                out.push(format!("{}:{}: {stage} uses {used}", path.display(), n + 1));
            }
        }
    }
}

#[test]
fn stages_import_only_stages_to_their_left() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for stage in ORDER {
        let dir = src.join(stage);
        if dir.exists() {
            scan(&dir, stage, &mut violations);
        }
    }
    for leaf in LEAVES {
        scan_file(&src.join(format!("{leaf}.rs")), leaf, &mut violations);
    }
    assert!(violations.is_empty(), "imports against the pipeline:\n{}", violations.join("\n"));
}

#[test]
fn the_scan_catches_a_backward_import() {
    // Guard against a scan that cannot fail: a synthetic module that imports to its right.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.rs"), "use crate::apply::Executor;\n").expect("write");
    let mut v = Vec::new();
    scan(dir.path(), "model", &mut v);
    assert_eq!(v.len(), 1, "{v:?}");
}

#[test]
fn a_leaf_is_usable_everywhere_and_imports_no_stage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.rs");
    std::fs::write(&file, "use crate::kind::Kind;\n").expect("write");
    let mut v = Vec::new();
    scan(dir.path(), "config", &mut v);
    assert!(v.is_empty(), "{v:?}");
    std::fs::write(&file, "use crate::diag::Diagnostic;\n").expect("write");
    scan_file(&file, "kind", &mut v);
    assert_eq!(v.len(), 1, "a leaf may not import a stage, not even diag: {v:?}");
}
