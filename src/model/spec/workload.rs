//! The workload kinds' specs: `Space.Spec`, `Template.Spec` and `Workspace.Spec`, with the
//! parts only they hold (applications, limits, vars). The parts they share live in `image`,
//! `runtime` and `repository`. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image::Image;
use super::repository::{AdditionalRepository, Repository};
use super::runtime::{Capabilities, EnvVar, Runtime, Task};
use super::{is_false, is_zero_i32, is_zero_u32};

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
    pub repository: Option<Box<Repository>>,
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
    pub repository: Option<Box<Repository>>,
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
