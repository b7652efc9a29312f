//! The embedded local cluster: the server semantics of a real Cordium cluster (API reference
//! §3, §4, §7, §8) over a SQLite store (`.cordium/local.db` by default).
//!
//! Two faces: [`Engine`], the lower-level API with the caller's username as an input, one method
//! per RPC taking and returning wire messages (reused by `cordium serve`'s gRPC services); and
//! [`LocalCluster`], the in-process [`Cluster`] for a fixed caller (`admin`), the default target.
//! Must not decide what to change.

mod access;
mod builds;
mod engine;
mod error;
mod genesis;
mod git_providers;
mod memberships;
mod names;
mod policies;
mod queue;
mod seal;
mod secrets;
mod snapshots;
mod spaces;
mod store;
mod templates;
mod users;
mod validate;
mod volumes;
mod workspaces;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

pub use access::{Condition, Effect, OwnershipRule, Role, RuleParseError, SpaceOwnership};
pub use builds::{BuildSettings, Clock, ManualClock, SystemClock};
pub use engine::{Engine, EngineOptions, DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE};
pub use error::{ApiError, ApiResult, Code};
pub use genesis::{POLICIES as GENESIS_POLICIES, USERS as GENESIS_USERS};
pub use names::{expand_space, expand_space_child, is_segment};
pub use seal::{create_private_dir, key_path, private_file};
pub use secrets::MAX_SECRET_BYTES;
pub use snapshots::{CreatedWorkspace, ReadyBuild};
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
    /// The thread the engine calls of async tasks run on (`queue.rs`); `None` when none could
    /// be started.
    queue: Option<Arc<queue::Queue>>,
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
        let queue = queue::Queue::start(engine.clone()).map(Arc::new);
        LocalCluster { engine, target, calls: Arc::new(AtomicU64::new(0)), queue }
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

    /// Runs one engine call on the cluster's queue thread (`queue.rs`), not on the async
    /// runtime's workers, so the operations apply keeps in flight reach the engine together and
    /// share its transactions instead of committing one by one; answered once its writes are
    /// committed. Inline outside a runtime, or when the queue thread could not be started.
    async fn blocking<R: Send + 'static>(
        &self,
        op: &str,
        f: impl FnOnce(&LocalCluster) -> Result<R, LiveError> + Send + 'static,
    ) -> Result<R, LiveError> {
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        let Some(queue) = self.queue.as_ref().filter(|_| in_runtime) else { return f(self) };
        let (send, answer) = tokio::sync::oneshot::channel();
        // Without the queue: the thread must not hold what keeps itself alive.
        let bare = LocalCluster {
            engine: self.engine.clone(),
            target: String::new(),
            calls: self.calls.clone(),
            queue: None,
        };
        let what = op.to_string();
        let job: queue::Job = Box::new(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&bare)));
            Box::new(move |committed: Result<(), ApiError>| {
                let answer = ran
                    .map(|r| r.and_then(|v| committed.map(|()| v).map_err(|e| e.into_live(what))));
                let _ = send.send(answer);
            })
        });
        if let Err(job) = queue.submit(job) {
            // The thread has gone: run it here, committed at once (no queue holds it open).
            job()(Ok(()));
        }
        match answer.await {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(LiveError::new(
                crate::live::ErrorCode::Other,
                op,
                "the operation did not finish: the local store's thread stopped",
            )),
        }
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
                    // By name: upstream checks the caller's Membership by the reference's name,
                    // so a uid-only reference is refused.
                    let m = s.metadata.unwrap_or_default();
                    meta::ObjectReference { name: m.name, ..Default::default() }
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
        self.get_kind(kind, opts).map_err(|e| e.into_live(op))
    }
}

/// The refusal of an Update for a kind the API cannot update ([`Kind::updatable`]).
fn not_updatable() -> ApiError {
    ApiError::new(
        Code::InvalidArgument,
        "Secrets cannot be updated (there is no UpdateSecret); delete and create instead",
    )
}

impl LocalCluster {
    /// Every Space, or the one a scope names.
    fn list_spaces(&self, scope: &Scope) -> Result<Vec<cordium::Space>, LiveError> {
        let all = self.spaces()?.into_iter();
        Ok(match scope {
            Scope::All => all.collect(),
            Scope::Space(n) => {
                all.filter(|s| s.metadata.as_ref().map_or("", |m| m.name.as_str()) == n).collect()
            }
        })
    }

    /// Every page of a per-Space List, for each Space of the scope.
    fn list_per_space<T>(
        &self,
        op: &str,
        scope: &Scope,
        fetch: impl Fn(meta::CommonListOptions, meta::ObjectReference) -> ApiResult<(Vec<T>, bool)>,
    ) -> Result<Vec<T>, LiveError> {
        let mut out = Vec::new();
        for space_ref in self.space_refs(scope)? {
            out.extend(self.all_pages(op, |common| fetch(common, space_ref.clone()))?);
        }
        Ok(out)
    }

    fn list_workspaces(&self, scope: &Scope) -> Result<Vec<cordium::Workspace>, LiveError> {
        // The spaceRef filter matches by uid only (upstream quirk): resolve it first.
        let filter = match scope {
            Scope::All => None,
            Scope::Space(n) => {
                let uid = self.get_inner(Kind::Space, &ObjectKey::Name(n.clone()))?;
                Some(cordium::list_workspace_options::Filter::SpaceRef(meta::ObjectReference {
                    uid: uid.uid().to_string(),
                    ..Default::default()
                }))
            }
        };
        self.all_pages("ListWorkspace", |common| {
            let l = self.engine.list_workspace(
                LOCAL_USER,
                cordium::ListWorkspaceOptions { common: Some(common), filter: filter.clone() },
            )?;
            Ok((l.items, more(&l.list_response_meta)))
        })
    }
}

/// The engine operations of every kind, one table row per kind: one closure per RPC (a kind
/// without `update` has no Update RPC). Generates the per-kind dispatch of [`LocalCluster`];
/// adding a kind is one row.
macro_rules! kinds {
    ($( $kind:ident {
        get: $get:expr,
        create: $create:expr,
        $( update: $update:expr, )?
        delete: $delete:expr,
        list: $list:expr,
    } )*) => {
        impl LocalCluster {
            fn list_kind(&self, kind: Kind, scope: &Scope) -> Result<Vec<Object>, LiveError> {
                Ok(match kind {
                    $( Kind::$kind => ($list)(self, scope)?.into_iter().map(Object::$kind).collect(), )*
                })
            }

            fn get_kind(&self, kind: Kind, opts: meta::GetOptions) -> ApiResult<Object> {
                let e = &*self.engine;
                match kind {
                    $( Kind::$kind => ($get)(e, opts).map(Object::$kind), )*
                }
            }

            fn create_kind(&self, object: Object) -> ApiResult<Object> {
                let e = &*self.engine;
                match object {
                    $( Object::$kind(o) => ($create)(e, o).map(Object::$kind), )*
                }
            }

            fn update_kind(&self, object: Object) -> ApiResult<Object> {
                let e = &*self.engine;
                match object {
                    $( Object::$kind(o) => kinds!(@update e, o, $kind $(, $update)?), )*
                }
            }

            fn delete_kind(&self, kind: Kind, opts: meta::DeleteOptions) -> ApiResult<()> {
                let e = &*self.engine;
                match kind {
                    $( Kind::$kind => ($delete)(e, opts), )*
                }
            }
        }
    };
    (@update $e:ident, $o:ident, $kind:ident, $update:expr) => {
        ($update)($e, $o).map(Object::$kind)
    };
    (@update $e:ident, $o:ident, $kind:ident) => {{
        let _ = $o;
        Err(not_updatable())
    }};
}

kinds! {
    Space {
        get: |e: &Engine, o| e.get_space(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_space(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_space(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_space(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_spaces(scope),
    }
    Template {
        get: |e: &Engine, o| e.get_template(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_template(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_template(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_template(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_per_space("ListTemplate", scope, |common, space_ref| {
            let options = cordium::ListTemplateOptions { common: Some(common), space_ref: Some(space_ref) };
            let l = c.engine.list_template(LOCAL_USER, options)?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Secret {
        get: |e: &Engine, o| e.get_secret(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_secret(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_secret(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_per_space("ListSecret", scope, |common, space_ref| {
            let options = cordium::ListSecretOptions { common: Some(common), space_ref: Some(space_ref) };
            let l = c.engine.list_secret(LOCAL_USER, options)?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Membership {
        get: |e: &Engine, o| e.get_membership(LOCAL_USER, o),
        // CreateMembership takes a request naming the Space by uid: resolved here.
        create: |e: &Engine, o| e.create_membership_object(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_membership(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_membership(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_per_space("ListMembership", scope, |common, space_ref| {
            let options = cordium::ListMembershipOptions { common: Some(common), space_ref: Some(space_ref) };
            let l = c.engine.list_membership(LOCAL_USER, options)?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    GitProvider {
        get: |e: &Engine, o| e.get_git_provider(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_git_provider(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_git_provider(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_git_provider(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_per_space("ListGitProvider", scope, |common, space_ref| {
            let options = cordium::ListGitProviderOptions { common: Some(common), space_ref: Some(space_ref) };
            let l = c.engine.list_git_provider(LOCAL_USER, options)?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Volume {
        get: |e: &Engine, o| e.get_volume(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_volume(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_volume(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_volume(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_per_space("ListVolume", scope, |common, space_ref| {
            let options = cordium::ListVolumeOptions { common: Some(common), space_ref: Some(space_ref) };
            let l = c.engine.list_volume(LOCAL_USER, options)?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Workspace {
        get: |e: &Engine, o| e.get_workspace(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_workspace(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_workspace(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_workspace(LOCAL_USER, o),
        list: |c: &LocalCluster, scope| c.list_workspaces(scope),
    }
    User {
        get: |e: &Engine, o| e.get_core::<core::User>(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_core(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_core(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_core::<core::User>(LOCAL_USER, o),
        list: |c: &LocalCluster, _: &Scope| c.all_pages("ListUser", |common| {
            let l = c.engine.list_core::<core::User>(LOCAL_USER, Some(common))?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Group {
        get: |e: &Engine, o| e.get_core::<core::Group>(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_core(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_core(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_core::<core::Group>(LOCAL_USER, o),
        list: |c: &LocalCluster, _: &Scope| c.all_pages("ListGroup", |common| {
            let l = c.engine.list_core::<core::Group>(LOCAL_USER, Some(common))?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
    }
    Policy {
        get: |e: &Engine, o| e.get_core::<core::Policy>(LOCAL_USER, o),
        create: |e: &Engine, o| e.create_core(LOCAL_USER, o),
        update: |e: &Engine, o| e.update_core(LOCAL_USER, o),
        delete: |e: &Engine, o| e.delete_core::<core::Policy>(LOCAL_USER, o),
        list: |c: &LocalCluster, _: &Scope| c.all_pages("ListPolicy", |common| {
            let l = c.engine.list_core::<core::Policy>(LOCAL_USER, Some(common))?;
            Ok((l.items, more(&l.list_response_meta)))
        }),
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
        self.list_kind(kind, scope)
    }

    async fn get(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError> {
        self.count();
        let key = key.clone();
        self.blocking("Get", move |c| c.get_inner(kind, &key)).await
    }

    async fn create(&self, object: Object) -> Result<Object, LiveError> {
        self.count();
        let op = format!("Create{} {}", object.kind().api_kind(), object.name());
        let what = op.clone();
        self.blocking(&what, move |c| c.create_kind(object).map_err(|e| e.into_live(op))).await
    }

    async fn update(&self, object: Object) -> Result<Object, LiveError> {
        self.count();
        let op = format!("Update{} {}", object.kind().api_kind(), object.name());
        if !object.kind().updatable() {
            return Err(not_updatable().into_live(op));
        }
        let what = op.clone();
        self.blocking(&what, move |c| c.update_kind(object).map_err(|e| e.into_live(op))).await
    }

    async fn delete(&self, kind: Kind, key: &ObjectKey) -> Result<(), LiveError> {
        self.count();
        let op = format!("Delete{} {}", kind.api_kind(), key_text(key));
        let opts = if kind.deletes_by_uid_only() {
            // As on a real cluster (DeleteSpace takes a uid only).
            let uid = self.uid_of(kind, key).await?;
            meta::DeleteOptions { uid, name: String::new() }
        } else {
            match key {
                ObjectKey::Uid(u) => meta::DeleteOptions { uid: u.clone(), name: String::new() },
                ObjectKey::Name(n) => meta::DeleteOptions { uid: String::new(), name: n.clone() },
            }
        };
        let what = op.clone();
        self.blocking(&what, move |c| c.delete_kind(kind, opts).map_err(|e| e.into_live(op))).await
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod rules_tests;
