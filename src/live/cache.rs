//! The session cache: a Session obtained by exchanging an authentication token is kept on disk
//! so the next run reuses it instead of opening another (a real cluster caps Sessions per User:
//! 16 HUMAN, 128 WORKLOAD). One file per (endpoint, authentication token), named by
//! `sha256(endpoint "\n" sha256(token))`, so two clusters or two tokens never share an entry and
//! the file name reveals neither. Files are 0600 in a 0700 directory, written whole and renamed
//! into place (a concurrent reader sees the old entry or the new one, never half of one).
//!
//! The directory comes from the CLI (`CORDIUM_CACHE_DIR`, else `$XDG_CACHE_HOME/cordium`, else
//! `~/.cache/cordium`): never the config directory, so never the repository.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::auth::Token;

/// The sub-directory of the cache directory holding session entries.
const SESSIONS: &str = "sessions";

/// A cached Session, as stored.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The endpoint it belongs to (for a person looking at the file; the key decides).
    pub endpoint: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The access token's lifetime when issued, in seconds (sets the renewal margin).
    pub expires_in: u64,
    /// Unix seconds when the access token expires.
    pub access_expires_at: u64,
    /// Unix seconds when the refresh token expires (the Session can be renewed until then).
    pub refresh_expires_at: u64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("endpoint", &self.endpoint)
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch of `t`.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// How long from now until the Unix second `at` (zero when past).
pub fn until(at: u64) -> Duration {
    Duration::from_secs(at.saturating_sub(unix_secs(SystemTime::now())))
}

/// One entry's place in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    path: PathBuf,
}

impl Slot {
    /// The slot of `endpoint` and authentication `token` under the cache directory `dir`.
    pub fn new(dir: &Path, endpoint: &str, token: &Token) -> Slot {
        let token_hash = hex::encode(Sha256::digest(token.expose().as_bytes()));
        let key = hex::encode(Sha256::digest(format!("{endpoint}\n{token_hash}").as_bytes()));
        Slot { path: dir.join(SESSIONS).join(format!("{key}.json")) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored entry, if there is a readable, well-formed one.
    pub fn load(&self) -> Option<Entry> {
        let meta = std::fs::symlink_metadata(&self.path).ok()?;
        // Only a small regular file is ours.
        if !meta.is_file() || meta.len() > 64 * 1024 {
            return None;
        }
        let text = std::fs::read_to_string(&self.path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Stores `entry`: the directories 0700, the file 0600, replaced atomically.
    pub fn store(&self, entry: &Entry) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        private_dir(dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            self.path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id(),
            rand::random::<u32>()
        ));
        let result = (|| {
            let mut open = OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                open.mode(0o600);
            }
            let mut file = open.open(&tmp)?;
            let text = serde_json::to_string(entry).map_err(std::io::Error::other)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Takes the entry's lock (`<key>.lock` beside it), so that of several runs sharing the
    /// cache only one renews or exchanges at a time and the others reuse what it stored.
    /// Waits up to `wait`; `None` when the lock cannot be had (the caller goes on without it:
    /// the lock saves Sessions, it is never needed for correctness).
    pub async fn lock(&self, wait: Duration) -> Option<SlotLock> {
        let dir = self.path.parent()?;
        private_dir(dir).ok()?;
        let path = self.path.with_extension("lock");
        let mut open = OpenOptions::new();
        open.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let file = open.open(&path).ok()?;
        let began = std::time::Instant::now();
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Some(SlotLock { _file: file }),
                Err(fs4::TryLockError::WouldBlock) if began.elapsed() < wait => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(_) => return None,
            }
        }
    }

    /// Removes the entry (nothing when there is none).
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A held entry lock; released when dropped (the file is closed).
#[derive(Debug)]
pub struct SlotLock {
    _file: std::fs::File,
}

/// Creates `dir` (and its parents) and makes `dir` itself and its parent (the cordium cache
/// directory) 0700.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for d in [Some(dir), dir.parent()].into_iter().flatten() {
            let private = std::fs::Permissions::from_mode(0o700);
            if std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()) {
                std::fs::set_permissions(d, private)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            endpoint: "http://127.0.0.1:1".into(),
            access_token: "acc-secret".into(),
            refresh_token: "ref-secret".into(),
            expires_in: 3600,
            access_expires_at: 10,
            refresh_expires_at: 20,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cordium-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn keys_separate_endpoints_and_tokens_and_reveal_neither() {
        let d = Path::new("/c");
        let a = Slot::new(d, "http://127.0.0.1:1", &Token::new("tok"));
        assert_eq!(a, Slot::new(d, "http://127.0.0.1:1", &Token::new("tok")));
        assert_ne!(a, Slot::new(d, "http://127.0.0.1:2", &Token::new("tok")));
        assert_ne!(a, Slot::new(d, "http://127.0.0.1:1", &Token::new("tok2")));
        let name = a.path().to_string_lossy().to_string();
        assert!(!name.contains("tok") && !name.contains("127.0.0.1"), "{name}");
        assert!(a.path().starts_with("/c/sessions"));
    }

    #[tokio::test]
    async fn one_holder_of_an_entry_lock_at_a_time() {
        let d = scratch("lock");
        let s = Slot::new(&d, "e", &Token::new("t"));
        let held = s.lock(Duration::from_secs(1)).await.expect("free");
        assert!(s.lock(Duration::from_millis(60)).await.is_none(), "held elsewhere");
        drop(held);
        assert!(s.lock(Duration::ZERO).await.is_some(), "released");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn entries_round_trip_privately() {
        let d = scratch("rt");
        let s = Slot::new(&d, "e", &Token::new("t"));
        assert_eq!(s.load(), None);
        s.store(&entry()).unwrap();
        assert_eq!(s.load(), Some(entry()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(s.path()), 0o600);
            assert_eq!(mode(s.path().parent().unwrap()), 0o700);
            assert_eq!(mode(&d), 0o700);
        }
        assert!(!format!("{:?}", entry()).contains("secret"));
        s.remove().unwrap();
        s.remove().unwrap();
        assert_eq!(s.load(), None);
        // A corrupt entry is no entry.
        std::fs::write(s.path(), "{not json").unwrap();
        assert_eq!(s.load(), None);
        let _ = std::fs::remove_dir_all(&d);
    }
}
