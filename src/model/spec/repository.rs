//! `Workspace.Spec.Repository` and `AdditionalRepository` (shared by Template specs): what
//! to clone, how, and with which credentials. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::image::SecretRef;
use super::{is_false, is_zero_u32};

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
