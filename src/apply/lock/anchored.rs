//! The lock of a stack with Spaces on a remote cluster: a lock Template in the stack's anchor
//! Space (docs/locking.md), which ordinary users can take as well as cluster admins.
//!
//! The anchor is the first, by stored name, of the Spaces the stack declares or puts objects
//! in: every applier of the same configuration picks the same one. When it does not exist yet
//! (the stack's first apply), no lock object can exist either. The lock is then *pending*: apply
//! creates the anchor Space before anything else (its create is atomic by name, so of two first
//! applies one is refused) and takes the lock in it at once, before any other step starts
//! ([`crate::apply::AnchorHook`]). A plan that deletes the anchor Space deletes it last, after letting the lock
//! go (the Space's Templates, the lock with them, go with it).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{group_name, Lease};
use super::{LockError, LockOptions, LockPlace, Loss, RemoteLock, TemplatePlace};
use crate::kind::{Address, Kind};
use crate::live::convert::Naming;
use crate::live::{Cluster, ErrorCode};
use crate::model::Model;

/// The anchor Space of a stack: its config name and its stored name. `None` when the stack has
/// no Space at all (only core objects: the lock is then a core Group).
pub fn anchor_of(model: &Model, naming: &Naming) -> Option<(String, String)> {
    let mut spaces = BTreeSet::new();
    for r in &model.resources {
        let space = match r.address.kind {
            Kind::Space => Some(r.address.name.as_str()),
            _ => r.address.space.as_deref(),
        };
        if let Some(s) = space {
            spaces.insert((naming.space_name(s), s.to_string()));
        }
    }
    spaces.into_iter().next().map(|(stored, name)| (name, stored))
}

/// Whether the lock was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Held,
    /// The anchor Space does not exist yet: the lock is taken right after apply creates it.
    Pending,
}

/// A lock Template in the anchor Space, taken now or (pending) right after the Space is created.
/// Cheap to clone: clones share the lock.
#[derive(Debug, Clone)]
pub struct AnchoredLock {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    place: Arc<dyn LockPlace>,
    /// The anchor Space's config name (`space.<name>` is its address).
    space: String,
    target: String,
    opts: LockOptions,
    loss: Loss,
    rx: tokio::sync::watch::Receiver<Option<String>>,
    inner: tokio::sync::Mutex<Option<RemoteLock>>,
}

impl std::fmt::Debug for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loss").finish_non_exhaustive()
    }
}

impl AnchoredLock {
    /// Takes the lock Template of `opts.stack` in Space `stored` (config name `space`), waiting
    /// up to `opts.wait`; pending when that Space does not exist.
    pub async fn acquire(
        cluster: Arc<dyn Cluster>,
        space: &str,
        stored: &str,
        target: &str,
        opts: &LockOptions,
    ) -> Result<(AnchoredLock, Taken), LockError> {
        let place = Arc::new(TemplatePlace {
            cluster,
            name: group_name(&opts.stack),
            space: stored.to_string(),
        });
        Self::acquire_at(place, space, target, opts).await
    }

    pub(super) async fn acquire_at(
        place: Arc<dyn LockPlace>,
        space: &str,
        target: &str,
        opts: &LockOptions,
    ) -> Result<(AnchoredLock, Taken), LockError> {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let lease = Lease::new(SystemTime::now(), opts.ttl);
        lease.unbounded();
        let shared = Shared {
            place: place.clone(),
            space: space.to_string(),
            target: target.to_string(),
            opts: opts.clone(),
            loss: Loss { tx, lease },
            rx,
            inner: tokio::sync::Mutex::new(None),
        };
        let lock = AnchoredLock { shared: Arc::new(shared) };
        match lock.take(opts).await {
            Ok(()) => Ok((lock, Taken::Held)),
            // CreateTemplate in a Space that does not exist: NOT_FOUND (upstream
            // `mains/template.go` CreateTemplate reads the Space first).
            Err(LockError::Live { source }) if source.code == ErrorCode::NotFound => {
                Ok((lock, Taken::Pending))
            }
            Err(e) => Err(e),
        }
    }

    async fn take(&self, opts: &LockOptions) -> Result<(), LockError> {
        let s = &self.shared;
        let mut inner = s.inner.lock().await;
        if inner.is_some() {
            return Ok(());
        }
        let lock =
            RemoteLock::acquire_reporting(s.place.clone(), &s.target, opts, Some((&s.loss, &s.rx)))
                .await?;
        *inner = Some(lock);
        Ok(())
    }

    /// Right after apply created the anchor Space: takes the lock in it without waiting (an
    /// apply that took it in between planned after this one's create, so this one's plan may
    /// no longer be true).
    pub async fn take_now(&self) -> Result<(), LockError> {
        let opts = LockOptions { wait: Duration::ZERO, ..self.shared.opts.clone() };
        self.take(&opts).await
    }

    /// Right before apply deletes the anchor Space: stops renewing, and leaves the lock Template
    /// for the Space delete to take with it. Deleting it first would let a waiting apply take a
    /// fresh lock in the Space that is about to go, and lose it unseen with the Space. No
    /// operation is refused for the lease afterwards, unless the lock was lost already.
    pub async fn let_go(&self) -> Result<(), LockError> {
        let taken = self.shared.inner.lock().await.take();
        if self.shared.rx.borrow().is_none() {
            self.shared.loss.lease.unbounded();
        }
        if let Some(l) = taken {
            l.stop_renewing();
        }
        Ok(())
    }

    /// Releases the lock if held.
    pub async fn release(self) -> Result<(), LockError> {
        let taken = self.shared.inner.lock().await.take();
        match taken {
            Some(l) => l.release().await,
            None => Ok(()),
        }
    }

    /// The same stack's lock in another Space `stored` (the anchor's old stored name, when a
    /// replace of the anchor moves it: `lab.alice` → `lab.cordium`), taken now, waiting as this
    /// one did.
    pub async fn in_space(
        &self,
        cluster: Arc<dyn Cluster>,
        stored: &str,
    ) -> Result<(AnchoredLock, Taken), LockError> {
        let s = &self.shared;
        AnchoredLock::acquire(cluster, &s.space, stored, &s.target, &s.opts).await
    }

    /// The anchor Space's config address.
    pub fn space(&self) -> Address {
        Address::space(self.shared.space.clone())
    }

    /// How messages name the lock object.
    pub fn describe(&self) -> String {
        self.shared.place.describe()
    }

    pub(super) fn receiver(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.shared.rx.clone()
    }

    pub(super) fn lease(&self) -> Lease {
        self.shared.loss.lease.clone()
    }
}
