//! Octelium core `User.Spec`: identity, info, sessions, authorization (policy names and
//! inline policies) and authentication. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::{AuthenticatorState, SessionState, UserType};
use super::policy::PolicySpec;
use super::{is_false, is_zero_u32};

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
    pub info: Option<Box<UserInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<UserSession>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Box<Authorization>>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_disabled: bool,
    /// `google.protobuf.Struct`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Box<UserAuthentication>>,
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
