//! `Workspace.Spec.Image` (shared by Template specs): where a workspace's image comes from
//! (dockerfile, registry, git, repository), and [`SecretRef`], the only way a spec names a
//! password. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Workspace.Spec.Image`: oneof dockerfile | registry | git | repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<Box<ImageDockerfile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Box<ImageRegistry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Box<ImageGit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Box<ImageRepository>>,
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
