//! `cordium fmt [DIR] [--check] [--diff]`: rewrites `.hcl` (and `.tfvars`) files in canonical
//! format (`config::hcl::fmt`). Finds the files, prints, writes; the formatting is the library's.

use std::path::{Path, PathBuf};

use super::exit::Exit;
use crate::config::hcl::fmt::format;
use crate::diag::Sources;

/// Arguments of `cordium fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory (searched recursively) or one file. Default: the current directory.
    pub dir: Option<PathBuf>,
    /// Write nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of every change.
    #[arg(long)]
    pub diff: bool,
}

/// Runs the command.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn run(args: Args) -> Exit {
    let root = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let files = if root.is_file() {
        vec![root.clone()]
    } else if root.is_dir() {
        let mut out = Vec::new();
        walk(&root, &mut out);
        out.sort();
        out
    } else {
        eprintln!("error: {} is not a file or directory", root.display());
        return Exit::Error;
    };
    let mut sources = Sources::new();
    let mut failed = false;
    let mut changed = Vec::new();
    for path in &files {
        let shown = path.strip_prefix(&root).unwrap_or(path);
        let shown = if shown.as_os_str().is_empty() { path.as_path() } else { shown };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", shown.display());
                failed = true;
                continue;
            }
        };
        let id = sources.add(shown.to_path_buf(), text.clone());
        let formatted = match format(&text, id) {
            Ok(f) => f,
            Err(diags) => {
                for d in diags.iter() {
                    let at = d.span.map(|s| sources.locate(s).to_string()).unwrap_or_default();
                    eprintln!("error: {at}: {}", d.message);
                    if let Some(h) = &d.help {
                        eprintln!("  help: {h}");
                    }
                }
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed.push(shown.display().to_string());
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            let name = shown.display().to_string();
            print!("{}", diff.unified_diff().header(&name, &name));
        }
        if !args.check {
            if let Err(e) = std::fs::write(path, &formatted) {
                eprintln!("error: cannot write {}: {e}", shown.display());
                failed = true;
            }
        }
    }
    if !args.diff {
        for name in &changed {
            println!("{name}");
        }
    }
    if failed || (args.check && !changed.is_empty()) {
        Exit::Error
    } else {
        Exit::Ok
    }
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
