//! Secret values at rest: sealed with XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) under
//! a random 256-bit key kept in a file readable by its owner only (beside the store by default,
//! `<db>.key`), and the owner-only file and directory modes of everything the store writes.
//! Each sealed value is bound to its object's uid (associated data), so a sealed row moved to
//! another object does not open. Knows nothing of kinds or server rules.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::error::{ApiError, ApiResult};

/// Nonce length of XChaCha20-Poly1305 (random nonces of this size never collide in practice).
const NONCE: usize = 24;
/// The first byte of every sealed value: the format (nonce ‖ ciphertext ‖ tag).
const FORMAT: u8 = 1;

/// The key that seals Secret values. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The default key file of the store at `db`: `<db>.key`.
pub fn key_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

fn internal(what: &str, path: &Path, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("cannot {what} {}: {e}", path.display()))
}

impl SecretKey {
    /// A fresh random key, kept nowhere (in-memory stores).
    pub fn random() -> SecretKey {
        SecretKey(XChaCha20Poly1305::new(&XChaCha20Poly1305::generate_key(&mut OsRng)))
    }

    fn from_hex(text: &str) -> Option<SecretKey> {
        let bytes = hex::decode(text.trim()).ok()?;
        (bytes.len() == 32).then(|| SecretKey(XChaCha20Poly1305::new(bytes.as_slice().into())))
    }

    /// Reads the key at `path`, creating it (random, mode 0600) when there is none. Creation is
    /// atomic: the key is written to a temporary file and linked into place, so two processes
    /// opening a new store at once agree on one key and neither reads a half-written file.
    pub fn load_or_create(path: &Path) -> ApiResult<SecretKey> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                return SecretKey::from_hex(&text).ok_or_else(|| {
                    ApiError::internal(format!(
                        "the secret key file {} does not hold a key (64 hexadecimal digits)",
                        path.display()
                    ))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(internal("read the secret key file", path, e)),
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
        let tmp = PathBuf::from(tmp);
        let mut file = private_file(&tmp, true)?;
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| internal("write the secret key file", &tmp, e))?;
        drop(file);
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(SecretKey(XChaCha20Poly1305::new(&key))),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                SecretKey::load_or_create(path)
            }
            Err(e) => Err(internal("create the secret key file", path, e)),
        }
    }

    /// Seals `plain`, bound to `uid`.
    pub fn seal(&self, uid: &str, plain: &[u8]) -> ApiResult<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, Payload { msg: plain, aad: uid.as_bytes() })
            .map_err(|_| ApiError::internal("cannot seal a Secret value"))?;
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`SecretKey::seal`] sealed for `uid`.
    pub fn open(&self, uid: &str, sealed: &[u8]) -> ApiResult<Vec<u8>> {
        let refused = || {
            ApiError::internal(
                "cannot open a stored Secret value: the secret key file is not the one it was \
                 sealed with, or the store is damaged",
            )
        };
        let rest = match sealed.split_first() {
            Some((&FORMAT, rest)) if rest.len() >= NONCE => rest,
            _ => return Err(refused()),
        };
        let (nonce, body) = rest.split_at(NONCE);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: uid.as_bytes() })
            .map_err(|_| refused())
    }
}

/// Creates `dir` (and missing parents) readable by its owner only (0700). An existing
/// directory is left as it is: it may be the person's own.
pub fn create_private_dir(dir: &Path) -> ApiResult<()> {
    let mut b = DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| internal("create", dir, e))
}

/// Opens (creating if needed; `new`: truncating) a file readable and writable by its owner
/// only, restricting an existing one to 0600 too.
pub fn private_file(path: &Path, new: bool) -> ApiResult<std::fs::File> {
    let mut open = OpenOptions::new();
    open.read(true).write(true).create(true).truncate(new);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let file = open.open(path).map_err(|e| internal("open", path, e))?;
    restrict(path)?;
    Ok(file)
}

/// Sets an existing file to 0600 (nothing when it does not exist or is another user's).
pub fn restrict(path: &Path) -> ApiResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            // Gone, or not ours to change (another user's store we may only read).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) => {}
            Err(e) => return Err(internal("restrict", path, e)),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_uid() {
        let key = SecretKey::random();
        let sealed = key.seal("u1", b"hunter2").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.open("u1", &sealed).unwrap(), b"hunter2");
        assert!(key.open("u2", &sealed).is_err(), "bound to its uid");
        assert!(SecretKey::random().open("u1", &sealed).is_err(), "another key");
        assert_ne!(key.seal("u1", b"hunter2").unwrap(), sealed, "a fresh nonce each time");
    }

    #[test]
    fn the_key_file_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("local.db.key");
        let a = SecretKey::load_or_create(&path).unwrap();
        let b = SecretKey::load_or_create(&path).unwrap();
        let sealed = a.seal("u", b"v").unwrap();
        assert_eq!(b.open("u", &sealed).unwrap(), b"v");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(SecretKey::load_or_create(&path).is_err());
    }
}
