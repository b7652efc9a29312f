//! Where a remote apply lock lives (docs/locking.md): one named object that is created
//! atomically (a second create of the name is refused), read by name, updated to move its
//! expiry, and deleted by uid. The holder is written into the object as JSON.
//!
//! - [`GroupPlace`]: a core `Group` `cordium-lock-<stack>`, seen by every cluster admin; the
//!   core API is for cluster admins only, so this is the lock of stacks that declare core
//!   objects (Users) and can only be applied by an admin anyway.
//! - [`TemplatePlace`]: a Template `cordium-lock-<stack>` in the stack's *anchor Space* (the
//!   first of its Spaces by stored name), seen by every member of that Space. Creating and
//!   updating Templates needs the Space ADMIN role, which anyone applying the stack's
//!   Templates has; this is the lock ordinary users can take.

use async_trait::async_trait;
use serde_json::Value;

use super::Holder;
use crate::kind::Kind;
use crate::live::convert::{from_struct, to_struct};
use crate::live::wire::{cordium, core, meta};
use crate::live::{Cluster, ErrorCode, LiveError, Object, ObjectKey};
use std::sync::Arc;

/// What a lock object says: its uid and (when readable) its holder.
#[derive(Debug, Clone)]
pub struct Found {
    pub uid: String,
    pub holder: Option<Holder>,
}

/// One place a lock can live.
#[async_trait]
pub trait LockPlace: Send + Sync + std::fmt::Debug {
    /// How messages name it: `the lock Group cordium-lock-web`, `the lock Template
    /// cordium-lock-web in Space ml.cordium`.
    fn describe(&self) -> String;
    /// Creates the object naming `holder`; the uid. A taken name answers
    /// [`ErrorCode::AlreadyExists`] (whatever code the server used for it).
    async fn create(&self, holder: &Holder) -> Result<String, LiveError>;
    /// Reads it by name.
    async fn get(&self) -> Result<Found, LiveError>;
    /// Moves it to `holder` (same uid).
    async fn update(&self, uid: &str, holder: &Holder) -> Result<(), LiveError>;
    /// Deletes exactly that object.
    async fn delete(&self, uid: &str) -> Result<(), LiveError>;
    /// Whether a holder that provably died on this host (its pid is gone) is taken over before
    /// its lock expires.
    fn takes_over_dead_holders(&self) -> bool {
        true
    }
}

const DESCRIPTION: &str = crate::live::state::APPLY_LOCK_DESCRIPTION;

/// The stack's lock Group.
pub struct GroupPlace {
    pub cluster: Arc<dyn Cluster>,
    pub name: String,
}

pub(super) fn group(name: &str, uid: &str, holder: &Holder) -> core::Group {
    core::Group {
        api_version: "core/v1".into(),
        kind: "Group".into(),
        metadata: Some(meta::Metadata {
            name: name.to_string(),
            uid: uid.to_string(),
            description: DESCRIPTION.into(),
            ..Default::default()
        }),
        spec: Some(core::group::Spec {
            authorization: None,
            attrs: Some(to_struct(&holder.to_json())),
        }),
        status: Some(Default::default()),
    }
}

pub(super) fn uid_of_group(g: &core::Group) -> String {
    g.metadata.as_ref().map(|m| m.uid.clone()).unwrap_or_default()
}

pub(super) fn holder_of_group(g: &core::Group) -> Option<Holder> {
    let attrs = g.spec.as_ref()?.attrs.as_ref()?;
    Holder::from_json(&from_struct(attrs))
}

impl std::fmt::Debug for GroupPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupPlace").field("name", &self.name).finish()
    }
}

#[async_trait]
impl LockPlace for GroupPlace {
    fn describe(&self) -> String {
        format!("the lock Group {}", self.name)
    }

    async fn create(&self, holder: &Holder) -> Result<String, LiveError> {
        let g = self.cluster.create_group(group(&self.name, "", holder)).await?;
        Ok(uid_of_group(&g))
    }

    async fn get(&self) -> Result<Found, LiveError> {
        let g = self.cluster.get_group(&ObjectKey::Name(self.name.clone())).await?;
        Ok(Found { uid: uid_of_group(&g), holder: holder_of_group(&g) })
    }

    async fn update(&self, uid: &str, holder: &Holder) -> Result<(), LiveError> {
        self.cluster.update_group(group(&self.name, uid, holder)).await.map(drop)
    }

    async fn delete(&self, uid: &str) -> Result<(), LiveError> {
        self.cluster.delete_group(&ObjectKey::Uid(uid.to_string())).await
    }
}

/// The stack's lock Template in its anchor Space.
pub struct TemplatePlace {
    pub cluster: Arc<dyn Cluster>,
    /// The lock's own name (`cordium-lock-<stack>`).
    pub name: String,
    /// The anchor Space's stored name (`ml.cordium`).
    pub space: String,
}

impl TemplatePlace {
    /// The Template's stored name: `<name>.<space>`.
    pub fn stored_name(&self) -> String {
        format!("{}.{}", self.name, self.space)
    }

    /// The lock Template: no stack label (no plan manages or prunes it), the holder as JSON in
    /// the description (upstream keeps at most 1024 characters of it: `apivalidation.go`
    /// ValidateMetadata), and an empty spec (nothing to build, nothing a Workspace would use).
    fn template(&self, uid: &str, holder: &Holder) -> cordium::Template {
        let json = Value::Object(holder.to_json()).to_string();
        cordium::Template {
            api_version: Kind::Template.api_version().to_string(),
            kind: Kind::Template.api_kind().to_string(),
            metadata: Some(meta::Metadata {
                name: self.stored_name(),
                uid: uid.to_string(),
                description: format!("{DESCRIPTION} {json}"),
                ..Default::default()
            }),
            spec: Some(Default::default()),
            // UpdateTemplate requires a status (upstream `RequireStatus`); it is not read.
            status: Some(Default::default()),
        }
    }
}

/// The holder written into a lock Template's description.
fn holder_of_description(description: &str) -> Option<Holder> {
    let json = description.strip_prefix(DESCRIPTION)?.trim();
    match serde_json::from_str::<Value>(json).ok()? {
        Value::Object(m) => Holder::from_json(&m),
        _ => None,
    }
}

/// A Template create refused because the name is taken: upstream answers INVALID_ARGUMENT
/// `Template name already exists for this Environment` (`mains/template.go` CreateTemplate),
/// and the store below it ALREADY_EXISTS when two creates race.
fn taken(e: LiveError) -> LiveError {
    if e.code == ErrorCode::InvalidArgument && e.message.contains("already exists") {
        return LiveError { code: ErrorCode::AlreadyExists, ..e };
    }
    e
}

impl std::fmt::Debug for TemplatePlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplatePlace")
            .field("name", &self.name)
            .field("space", &self.space)
            .finish()
    }
}

#[async_trait]
impl LockPlace for TemplatePlace {
    fn describe(&self) -> String {
        format!("the lock Template {} in Space {}", self.name, self.space)
    }

    async fn create(&self, holder: &Holder) -> Result<String, LiveError> {
        let o = self.cluster.create(Object::Template(self.template("", holder))).await;
        Ok(o.map_err(taken)?.uid().to_string())
    }

    async fn get(&self) -> Result<Found, LiveError> {
        let key = ObjectKey::Name(self.stored_name());
        let o = self.cluster.get(Kind::Template, &key).await?;
        let description = o.metadata().map(|m| m.description.as_str()).unwrap_or("");
        Ok(Found { uid: o.uid().to_string(), holder: holder_of_description(description) })
    }

    async fn update(&self, uid: &str, holder: &Holder) -> Result<(), LiveError> {
        self.cluster.update(Object::Template(self.template(uid, holder))).await.map(drop)
    }

    async fn delete(&self, uid: &str) -> Result<(), LiveError> {
        self.cluster.delete(Kind::Template, &ObjectKey::Uid(uid.to_string())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_round_trips_through_a_description_within_upstreams_limit() {
        let mut h = Holder::me("ci-bot@runner-7f9c2d");
        h.expires = Some(h.since + std::time::Duration::from_secs(120));
        let place = TemplatePlace {
            cluster: Arc::new(crate::live::local::LocalCluster::in_memory().expect("cluster")),
            name: "cordium-lock-platform".into(),
            space: "ml.cordium".into(),
        };
        let t = place.template("", &h);
        let d = &t.metadata.as_ref().expect("metadata").description;
        assert!(d.len() <= 1024, "{}", d.len());
        let back = holder_of_description(d).expect("parsed");
        assert_eq!(back.id, h.id);
        assert_eq!(back.who, h.who);
        assert!(holder_of_description("someone's own template").is_none());
    }
}
