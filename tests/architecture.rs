//! Stages import only stages to their left (ARCHITECTURE.md §1): a scan of `use crate::…` and
//! `crate::…` paths in every module.

use std::path::Path;

/// Pipeline order. `diag` may be used by all; `cli` may use all.
const ORDER: &[&str] =
    &["diag", "config", "model", "live", "diff", "plan", "apply", "render", "server", "cli"];

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
        let text = std::fs::read_to_string(&path).expect("readable file");
        let me = rank(stage).expect("known stage");
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                let after = &rest[i + "crate::".len()..];
                let used: String =
                    after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                rest = &after[used.len()..];
                let Some(theirs) = rank(&used) else { continue };
                let allowed = used == stage
                    || used == "diag"
                    || theirs < me
                    || EXCEPTIONS.contains(&(stage, used.as_str()));
                if !allowed {
                    out.push(format!("{}:{}: {stage} uses {used}", path.display(), n + 1));
                }
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
