//! The live cluster: the [`Cluster`] trait and its implementations (gRPC to a real cluster or to
//! `cordium serve`, and the embedded local cluster), auth and identity resolution.
//!
//! Objects cross this boundary as the generated wire messages ([`wire`]), wrapped in [`Object`],
//! so both implementations exchange exactly what a real server would. Must not decide what to
//! change.

pub mod auth;
pub mod cache;
pub mod convert;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod kube;
pub mod local;
pub mod record;
pub mod retry;
pub mod state;
pub mod target;
pub mod wire;

use async_trait::async_trait;

use crate::model::Kind;
use wire::{cordium, core};

/// One live object of a managed kind, as the server returned it.
// Workspaces are the largest; objects live in Vecs of one kind, so boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Space(cordium::Space),
    Template(cordium::Template),
    Workspace(cordium::Workspace),
    Secret(cordium::Secret),
    User(core::User),
    Group(core::Group),
    Policy(core::Policy),
    Membership(cordium::Membership),
    GitProvider(cordium::GitProvider),
    Volume(cordium::Volume),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Space(_) => Kind::Space,
            Object::Template(_) => Kind::Template,
            Object::Workspace(_) => Kind::Workspace,
            Object::Secret(_) => Kind::Secret,
            Object::User(_) => Kind::User,
            Object::Group(_) => Kind::Group,
            Object::Policy(_) => Kind::Policy,
            Object::Membership(_) => Kind::Membership,
            Object::GitProvider(_) => Kind::GitProvider,
            Object::Volume(_) => Kind::Volume,
        }
    }

    pub fn metadata(&self) -> Option<&wire::meta::Metadata> {
        match self {
            Object::Space(o) => o.metadata.as_ref(),
            Object::Template(o) => o.metadata.as_ref(),
            Object::Workspace(o) => o.metadata.as_ref(),
            Object::Secret(o) => o.metadata.as_ref(),
            Object::User(o) => o.metadata.as_ref(),
            Object::Group(o) => o.metadata.as_ref(),
            Object::Policy(o) => o.metadata.as_ref(),
            Object::Membership(o) => o.metadata.as_ref(),
            Object::GitProvider(o) => o.metadata.as_ref(),
            Object::Volume(o) => o.metadata.as_ref(),
        }
    }

    pub fn metadata_mut(&mut self) -> &mut wire::meta::Metadata {
        match self {
            Object::Space(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Template(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Workspace(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Secret(o) => o.metadata.get_or_insert_with(Default::default),
            Object::User(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Group(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Policy(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Membership(o) => o.metadata.get_or_insert_with(Default::default),
            Object::GitProvider(o) => o.metadata.get_or_insert_with(Default::default),
            Object::Volume(o) => o.metadata.get_or_insert_with(Default::default),
        }
    }

    /// The stored (fully qualified) name; for Workspaces the server-chosen one.
    pub fn name(&self) -> &str {
        self.metadata().map(|m| m.name.as_str()).unwrap_or("")
    }

    pub fn uid(&self) -> &str {
        self.metadata().map(|m| m.uid.as_str()).unwrap_or("")
    }

    pub fn resource_version(&self) -> &str {
        self.metadata().map(|m| m.resource_version.as_str()).unwrap_or("")
    }
}

/// Which object a Get or Delete means: by uid or by name, never both (server rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKey {
    Uid(String),
    Name(String),
}

/// Who the cluster says we are, and which cluster it is (recorded in saved plans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The caller's Octelium username (the owner part of USER Space names).
    pub username: String,
    /// A display form of the target: `local:.cordium/local.db`, `http://127.0.0.1:4000`,
    /// `octelium-api.example.com:443`. Never holds a token.
    pub target: String,
}

/// What went wrong talking to the cluster, classified so the executor can decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({}): {message}", code.describe())]
pub struct LiveError {
    pub code: ErrorCode,
    /// The operation, e.g. `CreateTemplate ml-env.ml.alice`.
    pub operation: String,
    /// The server's message. Never holds a token.
    pub message: String,
}

/// The gRPC status codes we act on; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    FailedPrecondition,
    /// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED: may succeed if retried. For a
    /// write, the outcome is unknown: it may have been committed.
    Transient,
    Other,
}

impl ErrorCode {
    /// How messages name the code.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not found",
            ErrorCode::AlreadyExists => "already exists",
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::PermissionDenied => "permission denied",
            ErrorCode::Unauthenticated => "not authenticated",
            ErrorCode::FailedPrecondition => "failed precondition",
            ErrorCode::Transient => "unavailable, may succeed if retried",
            ErrorCode::Other => "error",
        }
    }
}

impl LiveError {
    pub fn new(code: ErrorCode, operation: impl Into<String>, message: impl Into<String>) -> Self {
        LiveError { code, operation: operation.into(), message: message.into() }
    }

    pub fn is_transient(&self) -> bool {
        self.code == ErrorCode::Transient
    }

    fn with_key(mut self, key: &ObjectKey) -> Self {
        let (ObjectKey::Uid(k) | ObjectKey::Name(k)) = key;
        self.operation = format!("{} {k}", self.operation);
        self
    }
}

/// Where a List looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything of the kind the caller can see.
    All,
    /// Children of one Space (stored name, e.g. `ml.cordium`).
    Space(String),
}

/// A cluster: the operations plan and apply need. Implemented by the embedded local cluster
/// (in-process) and by the gRPC client (a real cluster or `cordium serve`).
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Who we are, and which cluster this is.
    async fn identity(&self) -> Result<Identity, LiveError>;

    /// Every object of a kind in a scope (all pages). Users ignore the scope.
    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Object>, LiveError>;

    /// [`Cluster::list`], handing the objects to `each` a page at a time, in order, as the
    /// pages arrive: a caller that keeps a compact form of each object never holds a large list
    /// (every User) in its wire form. After an error, the pages handed over are not the list.
    async fn list_each(
        &self,
        kind: Kind,
        scope: &Scope,
        each: &mut (dyn FnMut(Vec<Object>) + Send),
    ) -> Result<(), LiveError> {
        each(self.list(kind, scope).await?);
        Ok(())
    }

    async fn get(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError>;

    /// Creates an object; returns it as stored (server-chosen name for Workspaces).
    async fn create(&self, object: Object) -> Result<Object, LiveError>;

    /// Replaces an object's spec and mutable metadata wholesale (no UpdateSecret exists).
    async fn update(&self, object: Object) -> Result<Object, LiveError>;

    async fn delete(&self, kind: Kind, key: &ObjectKey) -> Result<(), LiveError>;

    /// Starts a Template pre-build with these tags (cancelling a running one); returns the
    /// Template with the new build first in `status.buildInfo.builds`.
    async fn build_template(
        &self,
        template: &ObjectKey,
        tags: &[String],
    ) -> Result<cordium::Template, LiveError>;

    /// Cancels the Template's running build.
    async fn cancel_build(&self, template: &ObjectKey) -> Result<cordium::Template, LiveError>;

    /// How many RPCs (or, in-process, calls) this client has made: for benchmarks and tests.
    fn calls(&self) -> u64;

    /// Creates an Octelium core Group (apply keeps its remote lock in one). A taken name is
    /// ALREADY_EXISTS. Clusters without core Groups refuse.
    async fn create_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        Err(no_groups("CreateGroup", &group))
    }

    async fn get_group(&self, key: &ObjectKey) -> Result<core::Group, LiveError> {
        Err(LiveError::new(ErrorCode::Other, "GetGroup", GROUPS_UNSUPPORTED).with_key(key))
    }

    /// Replaces a Group's spec and mutable metadata (found by uid, else by name).
    async fn update_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        Err(no_groups("UpdateGroup", &group))
    }

    async fn delete_group(&self, key: &ObjectKey) -> Result<(), LiveError> {
        Err(LiveError::new(ErrorCode::Other, "DeleteGroup", GROUPS_UNSUPPORTED).with_key(key))
    }
}

const GROUPS_UNSUPPORTED: &str = "this cluster client does not support core Groups";

fn no_groups(op: &str, group: &core::Group) -> LiveError {
    let name = group.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    LiveError::new(ErrorCode::Other, format!("{op} {name}"), GROUPS_UNSUPPORTED)
}
