//! The embedded local cluster: the server semantics of a real Cordium cluster (API reference
//! §3, §4, §7, §8) over a SQLite store (`.cordium/local.db` by default).
//!
//! Two faces: [`Engine`], the lower-level API with the caller's username as an input, one method
//! per RPC taking and returning wire messages (reused by `cordium serve`'s gRPC services); and
//! [`LocalCluster`], the in-process [`Cluster`] for a fixed caller (`admin`), the default target.
//! Must not decide what to change.

mod builds;
mod engine;
mod error;
mod names;
mod spaces;
mod store;
mod users;
mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

pub use builds::{BuildSettings, Clock, ManualClock, SystemClock};
pub use engine::{Engine, EngineOptions, DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE};
pub use error::{ApiError, ApiResult, Code};
pub use names::{expand_space, expand_space_child, is_segment};
pub use users::CoreKind;

use crate::live::wire::{cordium, core, meta};
use crate::live::{Cluster, Identity, LiveError, Object, ObjectKey, Scope};
use crate::model::Kind;

/// The caller the in-process local cluster acts as.
pub const LOCAL_USER: &str = "admin";

/// The default store file, relative to the working directory.
pub const DEFAULT_DB: &str = ".cordium/local.db";

/// The embedded local cluster as a [`Cluster`], acting as [`LOCAL_USER`].
#[derive(Debug, Clone)]
pub struct LocalCluster {
    engine: Arc<Engine>,
    target: String,
    calls: Arc<AtomicU64>,
}

impl LocalCluster {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, LiveError> {
        Self::open_with(path, EngineOptions::default())
    }

    pub fn open_with(path: &Path, options: EngineOptions) -> Result<Self, LiveError> {
        let engine = Engine::open(path, options).map_err(|e| e.into_live("open local cluster"))?;
        Ok(Self::from_engine(Arc::new(engine), format!("local:{}", path.display())))
    }

    /// A fresh in-memory cluster (tests, benchmarks).
    pub fn in_memory() -> Result<Self, LiveError> {
        Self::in_memory_with(EngineOptions::default())
    }

    pub fn in_memory_with(options: EngineOptions) -> Result<Self, LiveError> {
        let engine = Engine::in_memory(options).map_err(|e| e.into_live("open local cluster"))?;
        Ok(Self::from_engine(Arc::new(engine), "local:memory".to_string()))
    }

    /// Wraps an engine (shared, e.g., with a server over the same store).
    pub fn from_engine(engine: Arc<Engine>, target: String) -> Self {
        LocalCluster { engine, target, calls: Arc::new(AtomicU64::new(0)) }
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The default store path under a project directory.
    pub fn default_path(root: &Path) -> PathBuf {
        root.join(DEFAULT_DB)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Pages through a List until `hasMore` is false.
    fn all_pages<T>(
        &self,
        op: &str,
        mut fetch: impl FnMut(meta::CommonListOptions) -> ApiResult<(Vec<T>, bool)>,
    ) -> Result<Vec<T>, LiveError> {
        let mut out = Vec::new();
        for page in 0.. {
            let common = meta::CommonListOptions {
                page,
                items_per_page: MAX_ITEMS_PER_PAGE,
                order_by: None,
            };
            let (items, more) = fetch(common).map_err(|e| e.into_live(op))?;
            out.extend(items);
            if !more {
                break;
            }
        }
        Ok(out)
    }

    fn spaces(&self) -> Result<Vec<cordium::Space>, LiveError> {
        self.all_pages("ListSpace", |common| {
            let l = self.engine.list_space(
                LOCAL_USER,
                cordium::ListSpaceOptions { common: Some(common), ..Default::default() },
            )?;
            Ok((l.items, more(&l.list_response_meta)))
        })
    }

    fn space_refs(&self, scope: &Scope) -> Result<Vec<meta::ObjectReference>, LiveError> {
        match scope {
            Scope::All => Ok(self
                .spaces()?
                .into_iter()
                .map(|s| {
                    let m = s.metadata.unwrap_or_default();
                    meta::ObjectReference { uid: m.uid, ..Default::default() }
                })
                .collect()),
            Scope::Space(name) => {
                Ok(vec![meta::ObjectReference { name: name.clone(), ..Default::default() }])
            }
        }
    }

    /// The uid of `key`, getting the object when named (for deletes that want a uid).
    async fn uid_of(&self, kind: Kind, key: &ObjectKey) -> Result<String, LiveError> {
        match key {
            ObjectKey::Uid(u) => Ok(u.clone()),
            ObjectKey::Name(_) => Ok(self.get_inner(kind, key)?.uid().to_string()),
        }
    }

    fn get_inner(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError> {
        let opts = match key {
            ObjectKey::Uid(u) => meta::GetOptions { uid: u.clone(), name: String::new() },
            ObjectKey::Name(n) => meta::GetOptions { uid: String::new(), name: n.clone() },
        };
        let op = format!("Get{} {}", kind.api_kind(), key_text(key));
        let e = &self.engine;
        let r = match kind {
            Kind::Space => e.get_space(LOCAL_USER, opts).map(Object::Space),
            Kind::Template => e.get_template(LOCAL_USER, opts).map(Object::Template),
            Kind::Workspace => e.get_workspace(LOCAL_USER, opts).map(Object::Workspace),
            Kind::Secret => e.get_secret(LOCAL_USER, opts).map(Object::Secret),
            Kind::User => e.get_core::<core::User>(LOCAL_USER, opts).map(Object::User),
        };
        r.map_err(|e| e.into_live(op))
    }
}

fn more(m: &Option<meta::ListResponseMeta>) -> bool {
    m.as_ref().is_some_and(|m| m.has_more)
}

fn key_text(key: &ObjectKey) -> &str {
    match key {
        ObjectKey::Uid(u) => u,
        ObjectKey::Name(n) => n,
    }
}

fn template_ref(key: &ObjectKey) -> meta::ObjectReference {
    match key {
        ObjectKey::Uid(u) => meta::ObjectReference { uid: u.clone(), ..Default::default() },
        ObjectKey::Name(n) => meta::ObjectReference { name: n.clone(), ..Default::default() },
    }
}

#[async_trait]
impl Cluster for LocalCluster {
    async fn identity(&self) -> Result<Identity, LiveError> {
        self.count();
        Ok(Identity { username: LOCAL_USER.to_string(), target: self.target.clone() })
    }

    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Object>, LiveError> {
        self.count();
        let e = &self.engine;
        match kind {
            Kind::Space => {
                let all = self.spaces()?.into_iter().map(Object::Space);
                Ok(match scope {
                    Scope::All => all.collect(),
                    Scope::Space(n) => all.filter(|o| o.name() == n).collect(),
                })
            }
            Kind::Template => {
                let mut out = Vec::new();
                for space_ref in self.space_refs(scope)? {
                    out.extend(
                        self.all_pages("ListTemplate", |common| {
                            let l = e.list_template(
                                LOCAL_USER,
                                cordium::ListTemplateOptions {
                                    common: Some(common),
                                    space_ref: Some(space_ref.clone()),
                                },
                            )?;
                            Ok((l.items, more(&l.list_response_meta)))
                        })?
                        .into_iter()
                        .map(Object::Template),
                    );
                }
                Ok(out)
            }
            Kind::Secret => {
                let mut out = Vec::new();
                for space_ref in self.space_refs(scope)? {
                    out.extend(
                        self.all_pages("ListSecret", |common| {
                            let l = e.list_secret(
                                LOCAL_USER,
                                cordium::ListSecretOptions {
                                    common: Some(common),
                                    space_ref: Some(space_ref.clone()),
                                },
                            )?;
                            Ok((l.items, more(&l.list_response_meta)))
                        })?
                        .into_iter()
                        .map(Object::Secret),
                    );
                }
                Ok(out)
            }
            Kind::Workspace => {
                // The spaceRef filter matches by uid only (upstream quirk): resolve it first.
                let filter = match scope {
                    Scope::All => None,
                    Scope::Space(n) => {
                        let uid = self.get_inner(Kind::Space, &ObjectKey::Name(n.clone()))?;
                        Some(cordium::list_workspace_options::Filter::SpaceRef(
                            meta::ObjectReference {
                                uid: uid.uid().to_string(),
                                ..Default::default()
                            },
                        ))
                    }
                };
                Ok(self
                    .all_pages("ListWorkspace", |common| {
                        let l = e.list_workspace(
                            LOCAL_USER,
                            cordium::ListWorkspaceOptions {
                                common: Some(common),
                                filter: filter.clone(),
                            },
                        )?;
                        Ok((l.items, more(&l.list_response_meta)))
                    })?
                    .into_iter()
                    .map(Object::Workspace)
                    .collect())
            }
            Kind::User => Ok(self
                .all_pages("ListUser", |common| {
                    let l = e.list_core::<core::User>(LOCAL_USER, Some(common))?;
                    Ok((l.items, more(&l.list_response_meta)))
                })?
                .into_iter()
                .map(Object::User)
                .collect()),
        }
    }

    async fn get(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError> {
        self.count();
        self.get_inner(kind, key)
    }

    async fn create(&self, object: Object) -> Result<Object, LiveError> {
        self.count();
        let op = format!("Create{} {}", object.kind().api_kind(), object.name());
        let e = &self.engine;
        let r = match object {
            Object::Space(o) => e.create_space(LOCAL_USER, o).map(Object::Space),
            Object::Template(o) => e.create_template(LOCAL_USER, o).map(Object::Template),
            Object::Workspace(o) => e.create_workspace(LOCAL_USER, o).map(Object::Workspace),
            Object::Secret(o) => e.create_secret(LOCAL_USER, o).map(Object::Secret),
            Object::User(o) => e.create_core(LOCAL_USER, o).map(Object::User),
        };
        r.map_err(|e| e.into_live(op))
    }

    async fn update(&self, object: Object) -> Result<Object, LiveError> {
        self.count();
        let op = format!("Update{} {}", object.kind().api_kind(), object.name());
        let e = &self.engine;
        let r = match object {
            Object::Space(o) => e.update_space(LOCAL_USER, o).map(Object::Space),
            Object::Template(o) => e.update_template(LOCAL_USER, o).map(Object::Template),
            Object::Workspace(o) => e.update_workspace(LOCAL_USER, o).map(Object::Workspace),
            Object::Secret(_) => Err(ApiError::new(
                Code::InvalidArgument,
                "Secrets cannot be updated (there is no UpdateSecret); delete and create instead",
            )),
            Object::User(o) => e.update_core(LOCAL_USER, o).map(Object::User),
        };
        r.map_err(|e| e.into_live(op))
    }

    async fn delete(&self, kind: Kind, key: &ObjectKey) -> Result<(), LiveError> {
        self.count();
        let op = format!("Delete{} {}", kind.api_kind(), key_text(key));
        let e = &self.engine;
        let opts = match key {
            ObjectKey::Uid(u) => meta::DeleteOptions { uid: u.clone(), name: String::new() },
            ObjectKey::Name(n) => meta::DeleteOptions { uid: String::new(), name: n.clone() },
        };
        let r = match kind {
            Kind::Space => {
                // DeleteSpace takes a uid only, as on a real cluster.
                let uid = self.uid_of(kind, key).await?;
                e.delete_space(LOCAL_USER, meta::DeleteOptions { uid, name: String::new() })
            }
            Kind::Template => e.delete_template(LOCAL_USER, opts),
            Kind::Workspace => e.delete_workspace(LOCAL_USER, opts),
            Kind::Secret => e.delete_secret(LOCAL_USER, opts),
            Kind::User => e.delete_core::<core::User>(LOCAL_USER, opts),
        };
        r.map_err(|e| e.into_live(op))
    }

    async fn build_template(
        &self,
        template: &ObjectKey,
        tags: &[String],
    ) -> Result<cordium::Template, LiveError> {
        self.count();
        let req = cordium::BuildTemplateRequest {
            template_ref: Some(template_ref(template)),
            tags: tags.to_vec(),
        };
        self.engine
            .build_template(LOCAL_USER, req)
            .map_err(|e| e.into_live(format!("BuildTemplate {}", key_text(template))))
    }

    async fn cancel_build(&self, template: &ObjectKey) -> Result<cordium::Template, LiveError> {
        self.count();
        let req =
            cordium::CancelBuildTemplateRequest { template_ref: Some(template_ref(template)) };
        self.engine
            .cancel_build_template(LOCAL_USER, req)
            .map_err(|e| e.into_live(format!("CancelBuildTemplate {}", key_text(template))))
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn create_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        self.count();
        let op = format!(
            "CreateGroup {}",
            group.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default()
        );
        self.engine.create_core(LOCAL_USER, group).map_err(|e| e.into_live(op))
    }

    async fn get_group(&self, key: &ObjectKey) -> Result<core::Group, LiveError> {
        self.count();
        let opts = match key {
            ObjectKey::Uid(u) => meta::GetOptions { uid: u.clone(), name: String::new() },
            ObjectKey::Name(n) => meta::GetOptions { uid: String::new(), name: n.clone() },
        };
        self.engine
            .get_core(LOCAL_USER, opts)
            .map_err(|e| e.into_live(format!("GetGroup {}", key_text(key))))
    }

    async fn update_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        self.count();
        let op = format!(
            "UpdateGroup {}",
            group.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default()
        );
        self.engine.update_core(LOCAL_USER, group).map_err(|e| e.into_live(op))
    }

    async fn delete_group(&self, key: &ObjectKey) -> Result<(), LiveError> {
        self.count();
        let opts = match key {
            ObjectKey::Uid(u) => meta::DeleteOptions { uid: u.clone(), name: String::new() },
            ObjectKey::Name(n) => meta::DeleteOptions { uid: String::new(), name: n.clone() },
        };
        self.engine
            .delete_core::<core::Group>(LOCAL_USER, opts)
            .map_err(|e| e.into_live(format!("DeleteGroup {}", key_text(key))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
