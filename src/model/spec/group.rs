//! Octelium core `Group.Spec`: the Policies its members get (by name and inline) and free-form
//! `attrs`. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::user::Authorization;

/// `core.v1.Group.Spec`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    /// `Group.Spec.Authorization`: the same two fields as a User's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// `google.protobuf.Struct`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<serde_json::Map<String, serde_json::Value>>,
}
