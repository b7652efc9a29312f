//! `Workspace.Spec.Runtime` and its parts (env vars, tasks, devcontainers, network, filesystem,
//! capabilities, timeout, volume mounts), shared by Template specs and, in part, Space specs.
//! Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::{EgressDefaultAction, RuleAction, TaskOnFailure, TaskType, TimeoutMode};
use super::is_false;

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
    pub devcontainers: Option<Box<Devcontainers>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub octelium: Option<Box<RuntimeOctelium>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Box<Network>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<Box<Filesystem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Box<Capabilities>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Box<Timeout>>,
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
