//! Document shapes: what one YAML document (or one lowered HCL block) holds, per kind.
//!
//! These are the exact shapes the official `cordium`/`octeliumctl` tools read (`apiVersion`,
//! `kind`, `metadata`, `spec`, camelCase) plus our top-level extensions beside `spec`:
//! `template:` (Workspace), `lifecycle:`, `prebuild:` (Template), `fromEnv:`/`fromFile:` (Secret).
//! The JSON Schemas in `schemas/` are generated from these types, and the decoder checks every
//! document against the same schemas, so editors and `cordium validate` agree.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::{
    GitProviderSpec, GroupSpec, MembershipSpec, PolicySpec, SpaceSpec, TemplateSpec, UserSpec,
    VolumeSpec, WorkspaceSpec,
};

/// `metadata`: the mutable fields the server copies from a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocMetadata {
    /// The resource name. Space: `<space>` (or `<space>.cordium` for an organisation Space);
    /// Template, Secret, GitProvider and Volume: `<name>.<space>`; Workspace:
    /// `<displayName>.<space>`; Membership: `<username>.<space>`; User: `<name>`.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub annotations: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, rename = "picURL", skip_serializing_if = "String::is_empty")]
    pub pic_url: String,
}

/// `lifecycle:` (ours): how plan treats this resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lifecycle {
    /// A plan that would delete or replace this resource is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_destroy: bool,
    /// Spec paths whose differences plan ignores, e.g. `spec.runtime.envVars`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    /// Workspaces: when one must be replaced, create its successor (and build its Template)
    /// before deleting it (the default), or `false`: delete it first. Other kinds are always
    /// deleted first (their names are taken until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_before_destroy: Option<bool>,
}

/// `prebuild:` (ours, Template only): build a snapshot so new Workspaces start from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prebuild {
    /// How long one build may take before apply gives up on it, e.g. `45m`. Default: the stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

macro_rules! kind_tag {
    ($name:ident, $value:literal) => {
        /// The `kind` of this document.
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
        )]
        pub enum $name {
            #[default]
            #[serde(rename = $value)]
            Tag,
        }
    };
}
kind_tag!(SpaceKind, "Space");
kind_tag!(TemplateKind, "Template");
kind_tag!(UserKind, "User");
kind_tag!(WorkspaceKind, "Workspace");
kind_tag!(SecretKind, "Secret");
kind_tag!(GroupKind, "Group");
kind_tag!(PolicyKind, "Policy");
kind_tag!(MembershipKind, "Membership");
kind_tag!(GitProviderKind, "GitProvider");
kind_tag!(VolumeKind, "Volume");

/// A Space document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceDoc {
    /// `cordium/v1` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: SpaceKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: SpaceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Template document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: TemplateKind,
    pub metadata: DocMetadata,
    /// `specFrom: path` (ours, YAML): the `spec` is read from a bare spec file (a file holding
    /// only `spec:`), relative to the config root; replaced by that `spec` when the config is
    /// loaded (`docs/yaml.md`, "Bare spec files").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_from: Option<String>,
    #[serde(default)]
    pub spec: TemplateSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prebuild: Option<Prebuild>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A User document (Octelium `core/v1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserDoc {
    /// `core/v1` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: UserKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: UserSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Workspace document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkspaceDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: WorkspaceKind,
    pub metadata: DocMetadata,
    /// The Template it starts from, in the same Space: `<template>` (ours, beside `spec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `specFrom: path` (ours, YAML): the `spec` is read from a bare spec file (a file holding
    /// only `spec:`), relative to the config root; replaced by that `spec` when the config is
    /// loaded (`docs/yaml.md`, "Bare spec files").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_from: Option<String>,
    #[serde(default)]
    pub spec: WorkspaceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Secret document: a name and where its value comes from at apply time. Never a value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: SecretKind,
    pub metadata: DocMetadata,
    /// Environment variable holding the value, read by apply only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_env: Option<String>,
    /// File holding the value (relative to the config root), read by apply only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Group document (Octelium `core/v1`), as `octeliumctl apply` reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupDoc {
    /// `core/v1` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: GroupKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: GroupSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Membership document: who (the User named first in `metadata.name`) is in an organisation
/// Space, with which role. The server keeps no other metadata of one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MembershipDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: MembershipKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: MembershipSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Policy document (Octelium `core/v1`), as `octeliumctl apply` reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyDoc {
    /// `core/v1` (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: PolicyKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: PolicySpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A GitProvider document: an OAuth app Templates of its Space clone through.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitProviderDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: GitProviderKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: GitProviderSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// A Volume document: persistent storage Templates and Workspaces of its Space mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    pub kind: VolumeKind,
    pub metadata: DocMetadata,
    #[serde(default)]
    pub spec: VolumeSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}
