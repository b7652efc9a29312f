//! Spec types: the `spec` of every managed kind, in the wire's shape.
//!
//! Field for field these follow the upstream messages (`reference/wire-tables.md`), with protojson
//! names (camelCase, enums by name, oneofs flattened into optional fields of which at most one is
//! set). Serialising a spec gives exactly the JSON the official tools read and write, which is
//! what YAML files hold, what HCL lowers to, and what `diff` compares. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal => $n:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            #[default]
            $(#[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            /// Every name, in wire-number order.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire number.
            pub fn number(self) -> i32 {
                match self { $(Self::$variant => $n,)+ }
            }

            /// From the wire number (unknown numbers map to the zero value).
            pub fn from_number(n: i32) -> Self {
                match n { $($n => Self::$variant,)+ _ => Self::default() }
            }

            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $wire,)+ }
            }

            pub fn is_unset(&self) -> bool {
                self.number() == 0
            }
        }
    };
}

name_enum!(
    /// `Workspace.Spec.Runtime.Task.Type`
    TaskType { Unknown = "UNKNOWN" => 0, OnCreate = "ON_CREATE" => 1, PostStart = "POST_START" => 2, PreStop = "PRE_STOP" => 3 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Task.OnFailure`
    TaskOnFailure { Unset = "ON_FAILURE_UNSET" => 0, Abort = "ON_FAILURE_ABORT" => 1, Continue = "ON_FAILURE_CONTINUE" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Network.Rule.Action`
    RuleAction { Unset = "ACTION_UNSET" => 0, Allow = "ALLOW" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Network.Egress.DefaultAction`
    EgressDefaultAction { Unset = "DEFAULT_ACTION_UNSET" => 0, AllowPublic = "ALLOW_PUBLIC" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Workspace.Spec.Runtime.Timeout.Mode`
    TimeoutMode { Unset = "MODE_UNSET" => 0, Default = "DEFAULT" => 1, Disabled = "DISABLED" => 2 }
);
name_enum!(
    /// `User.Spec.Type`
    UserType { Unknown = "TYPE_UNKNOWN" => 0, Human = "HUMAN" => 1, Workload = "WORKLOAD" => 2 }
);
name_enum!(
    /// `Session.Spec.State` (a User's default session state)
    SessionState { Unknown = "STATE_UNKNOWN" => 0, Active = "ACTIVE" => 1, Pending = "PENDING" => 2, Rejected = "REJECTED" => 3 }
);
name_enum!(
    /// `Authenticator.Spec.State`
    AuthenticatorState { Unknown = "STATE_UNKNOWN" => 0, Active = "ACTIVE" => 1, Pending = "PENDING" => 2, Rejected = "REJECTED" => 3 }
);
name_enum!(
    /// `Policy.Spec.Rule.Effect`
    RuleEffect { Unknown = "EFFECT_UNKNOWN" => 0, Allow = "ALLOW" => 1, Deny = "DENY" => 2 }
);
name_enum!(
    /// `Policy.Spec.EnforcementRule.Effect`
    EnforcementEffect { Unknown = "EFFECT_UNKNOWN" => 0, Enforce = "ENFORCE" => 1, Ignore = "IGNORE" => 2 }
);

// ---------------------------------------------------------------------------------------------
// Workspace.Spec and everything it shares with Template.Spec and Space.Spec.
// ---------------------------------------------------------------------------------------------

/// `Workspace.Spec.Image`: oneof dockerfile | registry | git | repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<ImageDockerfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<ImageRegistry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<ImageGit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<ImageRepository>,
}

/// `Image.Dockerfile`: oneof inline | url.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageDockerfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `Image.Registry`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRegistry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<RegistryAuthentication>,
}

/// `Image.Registry.Authentication`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryAuthentication {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// A password field: oneof fromSecret (the only variant upstream). Never a plaintext value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// Name of a Secret in the same Space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_secret: Option<String>,
}

/// `Image.Git`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageGit {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checkout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dockerfile: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// `Image.Repository`: oneof devcontainer | dockerfile, built from the workspace's repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRepository {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devcontainer: Option<ImageRepositoryDevcontainer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<ImageRepositoryDockerfile>,
}

/// `Image.Repository.Devcontainer`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRepositoryDevcontainer {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dir_path: String,
}

/// `Image.Repository.Dockerfile`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRepositoryDockerfile {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// `Workspace.Spec.Runtime`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Runtime {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_init: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cmd: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entrypoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devcontainers: Option<Devcontainers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub octelium: Option<RuntimeOctelium>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<Filesystem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_stop: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

/// `Runtime.EnvVar`: a key and oneof value | fromSecret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Name of a Secret in the same Space, resolved when the workspace starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_secret: Option<String>,
}

/// `Runtime.Task`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Task {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run: String,
    #[serde(default, rename = "type", skip_serializing_if = "TaskType::is_unset")]
    pub r#type: TaskType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<TaskEnvVar>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_background: bool,
    #[serde(default, skip_serializing_if = "TaskOnFailure::is_unset")]
    pub on_failure: TaskOnFailure,
    #[serde(default, skip_serializing_if = "is_false")]
    pub run_as_root: bool,
}

/// `Runtime.Task.EnvVar`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskEnvVar {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// `Runtime.Devcontainers`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Devcontainers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<DevcontainerFeature>,
}

/// `Runtime.Devcontainers.Feature`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevcontainerFeature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<KeyValue>,
}

/// A key/value pair (`Feature.Option`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyValue {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// `Runtime.Octelium`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeOctelium {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serve_services: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub serve_all: bool,
}

/// `Runtime.Network`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Network {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Egress>,
}

/// `Runtime.Network.Egress`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Egress {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<NetworkRule>,
    #[serde(default, skip_serializing_if = "EgressDefaultAction::is_unset")]
    pub default_action: EgressDefaultAction,
}

/// `Runtime.Network.Rule`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    #[serde(default, skip_serializing_if = "RuleAction::is_unset")]
    pub action: RuleAction,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u32>,
}

/// `Runtime.Filesystem`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filesystem {
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

/// `Runtime.Capabilities`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// `Runtime.Timeout`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeout {
    #[serde(default, skip_serializing_if = "TimeoutMode::is_unset")]
    pub mode: TimeoutMode,
}

/// `Runtime.VolumeMount`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeMount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_ref: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

/// `meta.v1.ObjectReference`, as a spec may hold one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRef {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
}

/// `Workspace.Spec.Repository`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Repository {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clone_options: Option<CloneOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<RepositoryAuthentication>,
}

/// `Repository.CloneOptions`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloneOptions {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub branch: String,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub depth: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_branch: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub shallow_submodules: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checkout: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_lazy_unshallow: bool,
}

/// `Repository.Authentication`: oneof http.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryAuthentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpAuthentication>,
}

/// `Repository.Authentication.HTTP`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpAuthentication {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// `Workspace.Spec.AdditionalRepository`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdditionalRepository {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clone_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
}

/// `Workspace.Spec.Application`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub port: i32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_default: bool,
}

/// `Workspace.Spec.Limit`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<LimitCpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<LimitMegabytes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<LimitMegabytes>,
}

/// `Limit.CPU`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitCpu {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub millicores: u32,
}

/// `Limit.Memory` and `Limit.Storage` (the wire numbers differ: 1 and 2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitMegabytes {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub megabytes: u32,
}

/// `Workspace.Spec.Var`: a value for Cordium's `${{ vars.NAME }}`, kept literally.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Var {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

// ---------------------------------------------------------------------------------------------
// Kind specs.
// ---------------------------------------------------------------------------------------------

/// `Space.Spec`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceSpec {
    /// Organisation Spaces only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<SpaceLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<SpaceRuntime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<SpaceAuthorization>,
}

/// `Space.Spec.Limit`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_limit: Option<Limit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_limit: Option<Limit>,
}

/// `Space.Spec.Runtime`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceRuntime {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
}

/// `Space.Spec.Authorization`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceAuthorization {
    #[serde(default, rename = "disableSSH", skip_serializing_if = "is_false")]
    pub disable_ssh: bool,
}

/// `Template.Spec`. No applications and no isEphemeral: those are Workspace-only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_repositories: Vec<AdditionalRepository>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// A GitProvider in the same Space.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub git_provider: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<Var>,
}

/// `Workspace.Spec`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_repositories: Vec<AdditionalRepository>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<Var>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_ephemeral: bool,
}

// ---------------------------------------------------------------------------------------------
// Octelium core: User.
// ---------------------------------------------------------------------------------------------

/// `core.v1.User.Spec`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, rename = "type", skip_serializing_if = "UserType::is_unset")]
    pub r#type: UserType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<UserInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<UserSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_disabled: bool,
    /// `google.protobuf.Struct`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<UserAuthentication>,
}

/// `User.Spec.Info`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInfo {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub locale: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub first_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub middle_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub website: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub country: String,
}

/// `User.Spec.Session`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clientless_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub max_per_user: u32,
    #[serde(default, skip_serializing_if = "SessionState::is_unset")]
    pub default_state: SessionState,
}

/// `meta.v1.Duration`: oneof of one unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Duration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milliseconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weeks: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
}

/// `User.Spec.Authorization` (and `Group.Spec.Authorization`)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authorization {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_policies: Vec<InlinePolicy>,
}

/// `core.v1.InlinePolicy`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlinePolicy {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PolicySpec>,
}

/// `core.v1.Policy.Spec`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enforcement_rules: Vec<EnforcementRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_disabled: bool,
}

/// `Policy.Spec.Rule`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRule {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "RuleEffect::is_unset")]
    pub effect: RuleEffect,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub priority: i32,
}

/// `Policy.Spec.EnforcementRule`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnforcementRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "EnforcementEffect::is_unset")]
    pub effect: EnforcementEffect,
}

/// `core.v1.Condition`: oneof matchAny | match (CEL) | all | any | not (CEL) | none | opa.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_any: Option<bool>,
    /// A CEL expression.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub r#match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<ConditionList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<ConditionList>,
    /// A CEL expression that must be false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<ConditionList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opa: Option<ConditionOpa>,
}

/// `Condition.All` / `.Any` / `.None`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub of: Vec<Condition>,
}

/// `Condition.OPA`: oneof inline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConditionOpa {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
}

/// `User.Spec.Authentication`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserAuthentication {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<UserIdentity>,
    #[serde(default, skip_serializing_if = "AuthenticatorState::is_unset")]
    pub authenticator_default_state: AuthenticatorState,
}

/// `User.Spec.Authentication.Identity`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserIdentity {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity_provider: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_names_and_numbers() {
        for (i, name) in TaskType::NAMES.iter().enumerate() {
            let t = TaskType::from_number(i as i32);
            assert_eq!(t.name(), *name);
            assert_eq!(t.number(), i as i32);
        }
        assert_eq!(TaskType::from_number(99), TaskType::Unknown);
    }

    #[test]
    fn specs_serialise_as_protojson() {
        let spec = WorkspaceSpec {
            runtime: Some(Runtime {
                env_vars: vec![EnvVar {
                    key: "K".into(),
                    from_secret: Some("s".into()),
                    value: None,
                }],
                tasks: vec![Task {
                    name: "t".into(),
                    r#type: TaskType::OnCreate,
                    on_failure: TaskOnFailure::Abort,
                    ..Task::default()
                }],
                ..Runtime::default()
            }),
            limit: Some(Limit {
                storage: Some(LimitMegabytes { megabytes: 10 }),
                ..Limit::default()
            }),
            ..WorkspaceSpec::default()
        };
        let json = serde_json::to_value(&spec).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "runtime": {
                    "envVars": [{"key": "K", "fromSecret": "s"}],
                    "tasks": [{"name": "t", "type": "ON_CREATE", "onFailure": "ON_FAILURE_ABORT"}]
                },
                "limit": {"storage": {"megabytes": 10}}
            })
        );
        let back: WorkspaceSpec = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, spec);
        let auth = serde_json::to_value(SpaceAuthorization { disable_ssh: true }).expect("ser");
        assert_eq!(auth, serde_json::json!({"disableSSH": true}));
    }
}
