//! Octelium core `Policy.Spec`, as inline policies hold it: rules, enforcement rules and
//! their conditions. Pure data: no I/O.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::enums::{EnforcementEffect, RuleEffect};
use super::{is_false, is_zero_i32};

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
