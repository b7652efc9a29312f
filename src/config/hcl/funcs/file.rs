//! File functions: `file`, `fileexists`, `basename`, `dirname`, `abspath`. Relative paths are
//! resolved against the config root, which the loader sets for the duration of a load with
//! [`with_root`] (hcl-rs functions are plain `fn`s and cannot capture it). Reads files; never
//! writes.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use hcl::eval::FuncArgs;
use hcl::Value;

use super::{def, str_at, Def, S};
use crate::config::hcl::budget;
use crate::config::read;

/// Files larger than this are refused by `file()`.
const MAX_FILE_BYTES: u64 = 4 << 20;

thread_local! {
    static ROOT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
    /// `--allow-outside-files`: paths outside the root are read too.
    static ANYWHERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The last few files `file()` read in this load (path as written, text), so that
    /// `yamldecode(file(...))` can name the file in its errors.
    static READ: RefCell<Vec<(String, std::sync::Arc<str>)>> = const { RefCell::new(Vec::new()) };
}

/// How many recent `file()` reads are remembered for [`read_from`].
const REMEMBERED: usize = 16;

/// The path `file()` read `text` from in this load, if it did.
pub(super) fn read_from(text: &str) -> Option<String> {
    READ.with(|r| r.borrow().iter().rev().find(|(_, t)| &**t == text).map(|(p, _)| p.clone()))
}

/// Runs `f` with `root` as the base of relative paths in file functions on this thread; with
/// `anywhere` (`--allow-outside-files`) paths outside it are read too.
pub fn with_root<T>(root: &Path, anywhere: bool, f: impl FnOnce() -> T) -> T {
    let previous = ROOT.with(|r| r.replace(Some(root.to_path_buf())));
    let previous_anywhere = ANYWHERE.with(|a| a.replace(anywhere));
    let out = f();
    ROOT.with(|r| *r.borrow_mut() = previous);
    ANYWHERE.with(|a| a.set(previous_anywhere));
    READ.with(|r| r.borrow_mut().clear());
    out
}

fn resolve(path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    ROOT.with(|r| r.borrow().as_ref().map(|root| root.join(p))).unwrap_or_else(|| p.to_path_buf())
}

/// `path` resolved against the config root, refused when it leads outside it (`..`, an
/// absolute path elsewhere, a symlink out): a config must not read the rest of the machine,
/// unless `--allow-outside-files` says it may.
fn confined(path: &str) -> Result<PathBuf, String> {
    let full = resolve(path);
    if ANYWHERE.with(|a| a.get()) {
        return Ok(full);
    }
    let Some(root) = ROOT.with(|r| r.borrow().clone()) else { return Ok(full) };
    let outside = || {
        format!(
            "{path:?} is outside the config root; file() reads only files under it \
             (--allow-outside-files allows more)"
        )
    };
    let real_root = root.canonicalize().map_err(|e| format!("cannot read the config root: {e}"))?;
    match full.canonicalize() {
        Ok(real) if real.starts_with(&real_root) => Ok(real),
        Ok(_) => Err(outside()),
        // Missing: say so, unless the path itself already leaves the root.
        Err(e) if normalize(&full).starts_with(normalize(&root)) => {
            Err(format!("cannot read file {path:?}: {e}"))
        }
        Err(_) => Err(outside()),
    }
}

/// `p` made absolute with `.` and `..` removed, without following symlinks.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let p = match std::env::current_dir() {
        Ok(cwd) if p.is_relative() => cwd.join(p),
        _ => p.to_path_buf(),
    };
    let mut parts: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir => {}
            other => parts.push(other),
        }
    }
    parts.iter().collect()
}

pub(super) fn definitions() -> Vec<Def> {
    vec![
        (
            "file",
            "The contents of a UTF-8 file (path relative to the config root).",
            def(&[S], file),
        ),
        (
            "fileexists",
            "Whether a file exists (path relative to the config root).",
            def(&[S], fileexists),
        ),
        ("basename", "The last element of a path.", def(&[S], basename)),
        ("dirname", "A path without its last element.", def(&[S], dirname)),
        ("abspath", "A path made absolute against the config root.", def(&[S], abspath)),
    ]
}

fn file(a: FuncArgs) -> Result<Value, String> {
    let path = str_at(&a, 0)?;
    let full = confined(path)?;
    match read::regular_text(&full, MAX_FILE_BYTES) {
        Ok(text) => {
            budget::fits(1, text.len() as u64)?;
            READ.with(|r| {
                let mut r = r.borrow_mut();
                if r.len() >= REMEMBERED {
                    r.remove(0);
                }
                r.push((path.to_string(), std::sync::Arc::from(text.as_str())));
            });
            Ok(Value::from(text))
        }
        Err(e) => Err(format!("cannot read file {path:?}: {e}")),
    }
}

fn fileexists(a: FuncArgs) -> Result<Value, String> {
    let path = str_at(&a, 0)?;
    match confined(path) {
        Ok(full) => Ok(full.is_file().into()),
        Err(_) if resolve(path).symlink_metadata().is_err() => Ok(false.into()),
        Err(e) => Err(e),
    }
}

fn basename(a: FuncArgs) -> Result<Value, String> {
    let p = str_at(&a, 0)?;
    Ok(Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .into())
}

fn dirname(a: FuncArgs) -> Result<Value, String> {
    let p = str_at(&a, 0)?;
    let parent =
        Path::new(p).parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(if parent.is_empty() { ".".to_string() } else { parent }.into())
}

fn abspath(a: FuncArgs) -> Result<Value, String> {
    let full = resolve(str_at(&a, 0)?);
    let full = if full.is_absolute() {
        full
    } else {
        std::env::current_dir().map_err(|e| e.to_string())?.join(full)
    };
    Ok(full.to_string_lossy().into_owned().into())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, eval, ok};
    use super::with_root;

    #[test]
    fn files_are_read_relative_to_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.txt"), "hello\n").expect("write");
        with_root(dir.path(), false, || {
            ok(r#"file("a.txt")"#, r#""hello\n""#);
            ok(r#"fileexists("a.txt")"#, "true");
            ok(r#"fileexists("b.txt")"#, "false");
            err(r#"file("b.txt")"#, "cannot read file \"b.txt\"");
            err(r#"file(".")"#, "directory");
            let abs = eval(r#"abspath("a.txt")"#).expect("abspath");
            assert_eq!(abs.as_str().map(std::path::PathBuf::from), Some(dir.path().join("a.txt")));
        });
        err("file(1)", "string");
        err("fileexists([])", "string");
        err("abspath(1)", "string");
    }

    #[test]
    fn files_outside_the_root_and_special_files_are_refused() {
        let outer = tempfile::tempdir().expect("tempdir");
        let root = outer.path().join("config");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(outer.path().join("secret.txt"), "no").expect("write");
        std::fs::write(root.join("sub/a.txt"), "yes").expect("write");
        std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("out"))
            .expect("symlink");
        with_root(&root, false, || {
            ok(r#"file("sub/../sub/a.txt")"#, r#""yes""#);
            err(r#"file("../secret.txt")"#, "outside the config root");
            err(r#"file("out")"#, "outside the config root");
            err(r#"file("/dev/zero")"#, "outside the config root");
            err(r#"file("../missing")"#, "outside the config root");
            err(r#"file("missing")"#, "cannot read file");
            ok(r#"fileexists("missing")"#, "false");
            err(r#"fileexists("../secret.txt")"#, "outside the config root");
        });
        // `--allow-outside-files`: files elsewhere are read, special files still refused.
        with_root(&root, true, || {
            ok(r#"file("../secret.txt")"#, r#""no""#);
            ok(r#"file("out")"#, r#""no""#);
            ok(r#"fileexists("../secret.txt")"#, "true");
            err(r#"file("/dev/zero")"#, "regular");
        });
        // And the flag does not outlive its load.
        with_root(&root, false, || err(r#"file("../secret.txt")"#, "outside the config root"));
    }

    #[test]
    fn path_parts() {
        ok(r#"basename("a/b/c.txt")"#, r#""c.txt""#);
        ok(r#"dirname("a/b/c.txt")"#, r#""a/b""#);
        ok(r#"dirname("c.txt")"#, r#"".""#);
        err("basename(1)", "string");
        err("dirname(true)", "string");
    }
}
