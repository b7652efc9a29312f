//! The specs of the Cordium kinds beside the workloads: `Membership.Spec`, `GitProvider.Spec`
//! and `Volume.Spec` (octelium/cordium `apis/main/cordiumv1`), in the wire's protojson shape.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{is_zero_u32, MembershipRole, VolumeAccessMode};

/// `Membership.Spec`: the member's role in the Space.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MembershipSpec {
    /// OWNER, ADMIN or USER (UNKNOWN, the default, is stored as USER).
    #[serde(default, skip_serializing_if = "MembershipRole::is_unset")]
    pub role: MembershipRole,
}

/// `GitProvider.Spec`: oneof `github` | `gitlab` | `oauth2`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitProviderSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GitProviderApp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab: Option<GitProviderApp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<GitProviderOAuth2>,
}

/// `GitProvider.Spec.Github` and `.Gitlab`: an OAuth app of that host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitProviderApp {
    #[serde(default, rename = "clientID", skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(default, rename = "clientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// `GitProvider.Spec.OAuth2`: any OAuth2 provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitProviderOAuth2 {
    #[serde(default, rename = "clientID", skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(default, rename = "clientSecret", skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
    #[serde(default, rename = "authURL", skip_serializing_if = "String::is_empty")]
    pub auth_url: String,
    #[serde(default, rename = "tokenURL", skip_serializing_if = "String::is_empty")]
    pub token_url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// `GitProvider.Spec.ClientSecret`: oneof `fromSecret` (a Secret of the same Space).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientSecret {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from_secret: String,
}

/// `Volume.Spec`: its size (the server only grows it) and access mode (fixed at create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSpec {
    /// Unset: the cluster's default (10000 MB on a fresh install).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<VolumeSize>,
    #[serde(default, skip_serializing_if = "VolumeAccessMode::is_unset")]
    pub access_mode: VolumeAccessMode,
}

/// `Volume.Spec.Size`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSize {
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub megabytes: u32,
}
