//! `fmt`: rewrite `.hcl` (and `.tfvars`) files in canonical format (`config::hcl::fmt`). Finds
//! the files, formats them, writes them back unless only checking, and reports what it did.

use std::path::{Path, PathBuf};

use crate::config::hcl::fmt::format;
use crate::diag::Sources;

/// What `fmt` is asked.
#[derive(Debug, Clone)]
pub struct FmtRequest {
    /// A config directory (searched recursively) or one file.
    pub root: PathBuf,
    /// Write nothing; only report.
    pub check: bool,
    /// Produce a unified diff per changed file.
    pub diff: bool,
}

/// What `fmt` did, in file order.
#[derive(Debug, Default)]
pub struct FmtReport {
    /// Files that are (or were) not in canonical format, as shown to the user.
    pub changed: Vec<String>,
    /// Unified diffs of the changed files, when asked for.
    pub diffs: Vec<String>,
    /// Files that could not be read, parsed or written: one message each, with the location.
    pub problems: Vec<String>,
}

impl FmtReport {
    /// False when a file failed, or when checking found files to format.
    pub fn success(&self, check: bool) -> bool {
        self.problems.is_empty() && (!check || self.changed.is_empty())
    }
}

/// Why `fmt` could not start.
#[derive(Debug, thiserror::Error)]
#[error("{} is not a file or directory", .0.display())]
pub struct NotAFileOrDirectory(pub PathBuf);

/// Formats every HCL file under `req.root`.
pub fn fmt(req: &FmtRequest) -> Result<FmtReport, NotAFileOrDirectory> {
    let root = &req.root;
    let files = if root.is_file() {
        vec![root.clone()]
    } else if root.is_dir() {
        let mut out = Vec::new();
        walk(root, &mut out);
        out.sort();
        out
    } else {
        return Err(NotAFileOrDirectory(root.clone()));
    };
    let mut sources = Sources::new();
    let mut report = FmtReport::default();
    for path in &files {
        let shown = path.strip_prefix(root).unwrap_or(path);
        let shown = if shown.as_os_str().is_empty() { path.as_path() } else { shown };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                report.problems.push(format!("cannot read {}: {e}", shown.display()));
                continue;
            }
        };
        let id = sources.add(shown.to_path_buf(), text.clone());
        let formatted = match format(&text, id) {
            Ok(f) => f,
            Err(diags) => {
                for d in diags.iter() {
                    let at = d.span.map(|s| sources.locate(s).to_string()).unwrap_or_default();
                    let mut m = format!("{at}: {}", d.message);
                    if let Some(h) = &d.help {
                        m.push_str(&format!("\n  help: {h}"));
                    }
                    report.problems.push(m);
                }
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        let name = shown.display().to_string();
        if req.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            report.diffs.push(diff.unified_diff().header(&name, &name).to_string());
        }
        if !req.check {
            if let Err(e) = std::fs::write(path, &formatted) {
                report.problems.push(format!("cannot write {}: {e}", shown.display()));
            }
        }
        report.changed.push(name);
    }
    Ok(report)
}

/// Every `.hcl` and `.tfvars` file under `dir`, skipping hidden folders (and `.cordium/`).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "hcl" || e == "tfvars") {
            out.push(path);
        }
    }
}
