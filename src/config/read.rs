//! Reading one file a person pointed us at: config files, the stack file, var files, `file()`,
//! `from_file` Secret values and plan files all come through [`regular_file`].
//!
//! Only regular files are read: a FIFO would block forever, a device (`/dev/zero`) never ends
//! and a socket cannot be opened. The size is checked before reading (from the metadata) and
//! while reading (at most `limit + 1` bytes are read), so a file that grows, or lies about its
//! size, cannot exhaust memory. What remains: a file swapped for a FIFO between the check and
//! the open would block the open; the opened file is checked again.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Why a file was not read. Messages name what the path is, never its content.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("it is {what}, not a regular file")]
    NotRegular { what: &'static str },
    #[error("it is larger than {}", human(*limit))]
    TooLarge { limit: u64 },
    #[error("it is not UTF-8 text")]
    NotUtf8,
}

/// Reads a regular file of at most `limit` bytes.
pub fn regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    check(&meta, limit)?;
    let file = File::open(path).map_err(ReadError::Io)?;
    check(&file.metadata().map_err(ReadError::Io)?, limit)?;
    let mut out = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(ReadError::Io)?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(out)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes.
pub fn regular_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(regular_file(path, limit)?).map_err(|_| ReadError::NotUtf8)
}

/// What a path that is not a regular file is, for messages ("a FIFO (named pipe)"); `None`
/// for a regular file.
pub fn not_regular(meta: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    })
}

fn check(meta: &Metadata, limit: u64) -> Result<(), ReadError> {
    if let Some(what) = not_regular(meta) {
        return Err(ReadError::NotRegular { what });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(())
}

/// How messages and diagnostics name a file: relative to the working directory when it is
/// under it, else absolute; a relative path as given, without `./` (what editors and CI
/// annotations resolve).
pub fn shown(path: &Path) -> std::path::PathBuf {
    use std::path::{Component, PathBuf};
    let clean: PathBuf = path.components().filter(|c| *c != Component::CurDir).collect();
    if clean.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = clean.strip_prefix(&cwd) {
                if !rel.as_os_str().is_empty() {
                    return rel.to_path_buf();
                }
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return PathBuf::from(".");
    }
    clean
}

/// `4194304` as `4 MiB`.
fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("a.txt");
        std::fs::write(&f, "hello").expect("write");
        assert_eq!(regular_text(&f, 5).expect("read"), "hello");
        let e = regular_file(&f, 4).expect_err("too large");
        assert_eq!(e.to_string(), "it is larger than 4 bytes");
        let e = regular_file(dir.path(), 4).expect_err("a directory");
        assert_eq!(e.to_string(), "it is a directory, not a regular file");
        let e = regular_file(Path::new("/dev/zero"), 1 << 20).expect_err("a device");
        assert_eq!(e.to_string(), "it is a character device, not a regular file");
        assert!(matches!(regular_file(&dir.path().join("no"), 1), Err(ReadError::Io(_))));
        std::fs::write(&f, [0xff, 0xfe]).expect("write");
        assert!(matches!(regular_text(&f, 5), Err(ReadError::NotUtf8)));
    }
}
