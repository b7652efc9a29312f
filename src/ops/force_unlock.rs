//! `force-unlock`: remove the stack's apply lock on a remote cluster when its holder's id is the
//! one given (the id a refusal prints), for a holder that is gone (a runner killed with
//! SIGKILL) and a lock that would otherwise last until it expires. The local cluster's lock is a
//! file lock the OS releases with its holder's process: there is nothing to remove.

use std::sync::Arc;

use super::settings::{Request, Settings};
use super::validate::{self, Validated};
use super::OpsError;
use crate::apply::lock::lease::{lease_name, LeasePlace};
use crate::apply::lock::{
    anchor_of, force_unlock as unlock, group_name, GroupPlace, Holder, LockPlace, TemplatePlace,
    UnlockError,
};
use crate::live::convert::Naming;
use crate::live::target::Target;

/// What was removed.
#[derive(Debug)]
pub struct Unlocked {
    pub stack: String,
    pub target: String,
    /// `the lock Template … in Space …` or `the lock Group …`.
    pub place: String,
    pub holder: Holder,
}

/// Deletes the lock of the stack of `req.dir` on its target when its holder id is `id`.
pub async fn force_unlock(req: &Request, id: &str) -> Result<Unlocked, OpsError> {
    let Validated { loaded, model, .. } = validate::load(&req.dir, &req.load)?;
    let settings = Settings::resolve(req, &loaded)?;
    settings.check_stack()?;
    let target = settings.target.display();
    if let Target::Local { path, .. } = &settings.target {
        return Err(OpsError::FileLockNotForced {
            lock: crate::apply::lock::lock_path(path).display().to_string(),
        });
    }
    let cluster = super::plan::connect(&settings, &req.env.auth).await?;
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username, &model);
    let name = group_name(&settings.stack);
    let place: Arc<dyn LockPlace> = match anchor_of(&model, &naming) {
        Some((_, stored)) => Arc::new(TemplatePlace { cluster, name, space: stored }),
        None => Arc::new(GroupPlace { cluster, name }),
    };
    if let Some(access) = &settings.kube {
        // An apply with Kubernetes access holds the cluster's lock and the Lease under one id:
        // both are removed. Either alone is removed too (a holder killed between taking them).
        let kube = crate::live::kube::Kube::connect(access).await?;
        let lease = LeasePlace::new(kube, lease_name(&settings.stack, req.load.env.as_deref()));
        let on_cluster = unlock(place.as_ref(), id).await;
        let on_lease = unlock(&lease, id).await;
        let (place, holder) = match (on_cluster, on_lease) {
            (Ok(h), Ok(_)) => (format!("{} and {}", lease.describe(), place.describe()), h),
            (Ok(h), Err(UnlockError::NotHeld { .. })) => (place.describe(), h),
            (Err(UnlockError::NotHeld { .. }), Ok(h)) => (lease.describe(), h),
            // Neither held: the Lease's answer says so. Otherwise the failure that matters: a
            // lock that stays (held by another id, or not deletable) is never hidden.
            (Err(UnlockError::NotHeld { .. }), Err(e)) | (_, Err(e)) | (Err(e), _) => {
                return Err(e.into())
            }
        };
        return Ok(Unlocked { stack: settings.stack, target, place, holder });
    }
    let holder = unlock(place.as_ref(), id).await?;
    Ok(Unlocked { stack: settings.stack, target, place: place.describe(), holder })
}
