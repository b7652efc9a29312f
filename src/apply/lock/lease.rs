//! The apply lock as a `coordination.k8s.io/v1` Lease, when Kubernetes access is configured
//! (docs/locking.md): `spec.holderIdentity` is the holder text of the other lock places
//! (`user@host`, with the CI run URL), `acquireTime`, `renewTime` and `leaseDurationSeconds` say
//! when it lapses as any Lease reader expects, and the annotation `cordium.dev/holder` holds the
//! holder as JSON (pid, lock id). Every update carries the `resourceVersion` last read, so a
//! renewal that lost a race is refused (409) and never overwrites another holder. A delete
//! carries the uid and a `resourceVersion` as preconditions: a release, the version this holder
//! last wrote (a Lease someone else updated since is theirs: left alone); a takeover or
//! `force-unlock`, the version just read.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::place::{Found, LockPlace};
use super::Holder;
use crate::live::kube::Kube;
use crate::live::{ErrorCode, LiveError};

/// The annotation holding the holder as JSON.
pub const HOLDER_ANNOTATION: &str = "cordium.dev/holder";

/// The Lease of a stack in an environment: `cordium-lock-<stack>[-<env>]`, lowercase, at most
/// 63 characters (shortened with a hash past that).
pub fn lease_name(stack: &str, env: Option<&str>) -> String {
    let raw = match env {
        Some(e) => format!("{}{stack}-{e}", super::GROUP_PREFIX),
        None => format!("{}{stack}", super::GROUP_PREFIX),
    };
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .collect();
    if name.len() > 63 || name != raw {
        let hash = hex::encode(Sha256::digest(raw.as_bytes()));
        name.truncate(54);
        name = format!("{}-{}", name.trim_end_matches('-'), &hash[..8]);
    }
    name
}

/// The stack's Lease.
pub struct LeasePlace {
    kube: Kube,
    name: String,
    /// The uid and resourceVersion last read: what the next update must match.
    read: Mutex<Option<(String, String)>>,
    /// The uid and resourceVersion this holder last wrote: what its release must match.
    written: Mutex<Option<(String, String)>>,
}

fn version(lease: &Lease) -> Option<(String, String)> {
    let m = &lease.metadata;
    Some((m.uid.clone()?, m.resource_version.clone()?))
}

fn put(slot: &Mutex<Option<(String, String)>>, value: Option<(String, String)>) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = value;
}

fn take(slot: &Mutex<Option<(String, String)>>, uid: &str) -> Option<String> {
    let v = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
    v.filter(|(u, _)| u == uid).map(|(_, rv)| rv)
}

impl LeasePlace {
    pub fn new(kube: Kube, name: String) -> Self {
        LeasePlace { kube, name, read: Mutex::new(None), written: Mutex::new(None) }
    }

    fn lease(&self, holder: &Holder) -> Lease {
        let now = SystemTime::now();
        let left = holder.expires.and_then(|e| e.duration_since(now).ok()).unwrap_or_default();
        let seconds =
            i32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(i32::MAX);
        let json = Value::Object(holder.to_json()).to_string();
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                annotations: Some(BTreeMap::from([(HOLDER_ANNOTATION.to_string(), json)])),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_string(),
                    "cordium".to_string(),
                )])),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.who.clone()),
                lease_duration_seconds: Some(seconds.max(1)),
                acquire_time: micro(holder.since),
                renew_time: micro(now),
                ..Default::default()
            }),
        }
    }
}

fn micro(t: SystemTime) -> Option<MicroTime> {
    k8s_openapi::jiff::Timestamp::try_from(t).ok().map(MicroTime)
}

fn system(t: &MicroTime) -> Option<SystemTime> {
    Some(SystemTime::from(t.0))
}

/// The holder a Lease names: our annotation, else (a Lease another tool wrote) its
/// `holderIdentity`, expiring at `renewTime + leaseDurationSeconds`.
pub fn holder_of_lease(lease: &Lease) -> Option<Holder> {
    let annotated = lease
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HOLDER_ANNOTATION))
        .and_then(|j| serde_json::from_str::<serde_json::Map<String, Value>>(j).ok())
        .and_then(|m| Holder::from_json(&m));
    if annotated.is_some() {
        return annotated;
    }
    let spec = lease.spec.as_ref()?;
    let who = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let renewed = spec.renew_time.as_ref().and_then(system);
    let duration =
        spec.lease_duration_seconds.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)));
    Some(Holder {
        who,
        pid: 0,
        since: spec
            .acquire_time
            .as_ref()
            .and_then(system)
            .or(renewed)
            .unwrap_or(SystemTime::UNIX_EPOCH),
        expires: renewed.zip(duration).map(|(r, d)| r + d),
        id: String::new(),
    })
}

impl std::fmt::Debug for LeasePlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeasePlace").field("name", &self.name).finish()
    }
}

#[async_trait]
impl LockPlace for LeasePlace {
    fn describe(&self) -> String {
        format!("the Lease {} in namespace {}", self.name, self.kube.namespace())
    }

    fn takes_over_dead_holders(&self) -> bool {
        // A Lease is taken over only once it has expired, as every Lease reader expects.
        false
    }

    async fn create(&self, holder: &Holder) -> Result<String, LiveError> {
        let created = self.kube.create_lease(&self.lease(holder)).await?;
        put(&self.read, version(&created));
        put(&self.written, version(&created));
        Ok(created.metadata.uid.unwrap_or_default())
    }

    async fn get(&self) -> Result<Found, LiveError> {
        let lease = self.kube.get_lease(&self.name).await?;
        put(&self.read, version(&lease));
        Ok(Found {
            uid: lease.metadata.uid.clone().unwrap_or_default(),
            holder: holder_of_lease(&lease),
        })
    }

    async fn update(&self, uid: &str, holder: &Holder) -> Result<(), LiveError> {
        let Some(rv) = take(&self.read, uid) else {
            return Err(LiveError {
                code: ErrorCode::FailedPrecondition,
                operation: format!("update {}", self.describe()),
                message: "the Lease was not read first".into(),
            });
        };
        let mut lease = self.lease(holder);
        lease.metadata.uid = Some(uid.to_string());
        lease.metadata.resource_version = Some(rv);
        let updated = self.kube.replace_lease(&lease).await?;
        put(&self.read, version(&updated));
        put(&self.written, version(&updated));
        Ok(())
    }

    async fn delete(&self, uid: &str) -> Result<(), LiveError> {
        let rv = take(&self.written, uid).or_else(|| take(&self.read, uid));
        self.kube.delete_lease(&self.name, uid, rv.as_deref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_are_dns_labels_named_from_stack_and_environment() {
        assert_eq!(lease_name("platform", None), "cordium-lock-platform");
        assert_eq!(lease_name("platform", Some("prod")), "cordium-lock-platform-prod");
        let long = lease_name(&"a".repeat(80), Some("prod"));
        assert!(long.len() <= 63, "{long}");
        let odd = lease_name("web", Some("Prod_EU"));
        assert!(
            odd.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{odd}"
        );
        assert_ne!(odd, lease_name("web", Some("prod-eu")));
    }

    #[test]
    fn a_lease_of_another_tool_expires_at_renew_time_plus_its_duration() {
        let renewed = SystemTime::now();
        let lease = Lease {
            metadata: ObjectMeta { name: Some("x".into()), ..Default::default() },
            spec: Some(LeaseSpec {
                holder_identity: Some("controller-7".into()),
                lease_duration_seconds: Some(15),
                renew_time: micro(renewed),
                ..Default::default()
            }),
        };
        let h = holder_of_lease(&lease).expect("a holder");
        assert_eq!(h.who, "controller-7");
        let expires = h.expires.expect("an expiry");
        let off = expires
            .duration_since(renewed + Duration::from_secs(15))
            .unwrap_or_else(|e| e.duration());
        assert!(off < Duration::from_millis(1), "{off:?}");
    }

    #[test]
    fn our_lease_round_trips_its_holder() {
        let mut me = Holder::me("ci@runner (https://ci/1)");
        me.expires = Some(SystemTime::now() + Duration::from_secs(120));
        let json = Value::Object(me.to_json()).to_string();
        let lease = Lease {
            metadata: ObjectMeta {
                annotations: Some(BTreeMap::from([(HOLDER_ANNOTATION.to_string(), json)])),
                ..Default::default()
            },
            spec: Some(LeaseSpec { holder_identity: Some(me.who.clone()), ..Default::default() }),
        };
        let back = holder_of_lease(&lease).expect("parsed");
        assert_eq!((back.id, back.who), (me.id, me.who));
    }
}
