//! The server rules of core.v1 Groups and Policies, as octelium
//! `cluster/apiserver/apiserver/admin/policy.go` @ 2918ec0e (`validatePolicySpec`,
//! `validateConditionAtDepth`, `validatePolicyOwner`) and `admin/group.go` (`validateGroup`,
//! `DeleteGroup`) check them, with their codes and messages. Not checked here: whether a CEL
//! expression compiles (`checkCELExpression`) and whether an OPA script parses
//! (`checkOPACondition`); their length and emptiness are. Child Policies (`<child>.<parent>`)
//! are not stored here: a Policy name is one segment.

use rusqlite::Connection;

use super::error::{ApiError, ApiResult};
use super::names;
use super::spaces::go_status;
use super::store::{self, Filter};
use super::users::validate_attrs;
use crate::live::wire::core;

/// `policy.go` constants.
const PRIORITY_MAX: i32 = 4;
const MAX_POLICY_RULES: usize = 100;
const MAX_POLICY_BYTES: usize = 100_000;
const MAX_POLICY_REFS: usize = 100;
const MAX_CONDITION_CHILDREN: usize = 100;
const MAX_CONDITION_DEPTH: usize = 16;
const MAX_CEL_EXPRESSION_LEN: usize = 10_000;
const MAX_OPA_SCRIPT_LEN: usize = 100_000;
/// `vutils.MaxPolicyParents`: how many parents a Policy name a Group names may have.
const MAX_POLICY_PARENTS: usize = 5;

/// Upstream `validatePolicySpec`.
pub(super) fn validate_policy_spec(p: Option<&core::policy::Spec>) -> ApiResult<()> {
    use core::policy::spec::{enforcement_rule, rule};
    let Some(p) = p else { return Err(ApiError::invalid("Nil spec")) };
    validate_attrs(p.attrs.as_ref())?;
    if prost::Message::encoded_len(p) > MAX_POLICY_BYTES {
        return Err(ApiError::invalid("Policy is too large"));
    }
    if p.rules.len() > MAX_POLICY_RULES {
        return Err(ApiError::invalid("Too many rules"));
    }
    if p.enforcement_rules.len() > MAX_POLICY_RULES {
        return Err(ApiError::invalid("Too many enforcement rules"));
    }
    for r in &p.rules {
        if !r.name.is_empty() {
            names::validate_name(&r.name, 0)?;
        }
        match rule::Effect::try_from(r.effect) {
            Ok(rule::Effect::Allow | rule::Effect::Deny) => {}
            _ => return Err(ApiError::invalid("Rule's effect must be set")),
        }
        if r.priority > PRIORITY_MAX {
            return Err(ApiError::invalid(format!(
                "Rule's priority cannot be higher than {PRIORITY_MAX}"
            )));
        }
        if r.priority < -PRIORITY_MAX {
            return Err(ApiError::invalid(format!(
                "Rule's priority cannot be lower than -{PRIORITY_MAX}"
            )));
        }
        validate_condition(r.condition.as_ref(), 0)?;
    }
    for r in &p.enforcement_rules {
        match enforcement_rule::Effect::try_from(r.effect) {
            Ok(enforcement_rule::Effect::Enforce | enforcement_rule::Effect::Ignore) => {}
            _ => {
                return Err(ApiError::invalid(
                    "Unknown effect. It must be either `ENFORCE` or `IGNORE`",
                ))
            }
        }
        validate_condition(r.condition.as_ref(), 0)?;
    }
    Ok(())
}

/// Upstream `validateConditionAtDepth`.
fn validate_condition(c: Option<&core::Condition>, depth: usize) -> ApiResult<()> {
    use core::condition::Type;
    let Some(c) = c else { return Err(ApiError::invalid("Condition is not set")) };
    if depth > MAX_CONDITION_DEPTH {
        return Err(ApiError::invalid(format!(
            "Condition nesting is too deep. The maximum allowed depth is {MAX_CONDITION_DEPTH}"
        )));
    }
    let list = |of: &[core::Condition], name: &str| -> ApiResult<()> {
        if of.is_empty() {
            return Err(ApiError::invalid(format!("Empty {name} array")));
        }
        if of.len() > MAX_CONDITION_CHILDREN {
            return Err(ApiError::invalid(format!("{name} array is too long")));
        }
        of.iter().try_for_each(|inner| validate_condition(Some(inner), depth + 1))
    };
    match &c.r#type {
        Some(Type::All(l)) => list(&l.of, "allOf"),
        Some(Type::Any(l)) => list(&l.of, "anyOf"),
        Some(Type::None(l)) => list(&l.of, "noneOf"),
        Some(Type::Match(e)) => expression(e, "match"),
        Some(Type::Not(e)) => expression(e, "not"),
        Some(Type::MatchAny(_)) => Ok(()),
        Some(Type::Opa(o)) => {
            let inline = match &o.r#type {
                Some(core::condition::opa::Type::Inline(s)) => s.as_str(),
                None => "",
            };
            if inline.trim().is_empty() {
                return Err(ApiError::invalid("Empty OPA script"));
            }
            if inline.len() > MAX_OPA_SCRIPT_LEN {
                return Err(ApiError::invalid("OPA script is too large"));
            }
            Ok(())
        }
        None => Err(ApiError::invalid("Invalid Condition type")),
    }
}

/// Upstream `validatePolicyExpression`.
fn expression(e: &str, field: &str) -> ApiResult<()> {
    if e.trim().is_empty() {
        return Err(ApiError::invalid(format!("Empty {field} expression")));
    }
    if e.len() > MAX_CEL_EXPRESSION_LEN {
        return Err(ApiError::invalid(format!("{field} expression is too long")));
    }
    Ok(())
}

/// A Policy name as upstream's `apivalidation.ValidateName(name, 0, MaxPolicyParents)` takes
/// it: one to six segments.
fn validate_policy_ref(name: &str) -> ApiResult<()> {
    let parents = name.split('.').count().saturating_sub(1);
    names::validate_name(name, parents.min(MAX_POLICY_PARENTS))
}

/// The static half of upstream `validatePolicyOwner` (a Group's `authorization`): counts, names
/// and inline specs. The Policies named must also exist: [`check_policy_owner_refs`].
pub(super) fn validate_policy_owner(
    policies: &[String],
    inline: &[core::InlinePolicy],
) -> ApiResult<()> {
    if policies.len() > MAX_POLICY_REFS {
        return Err(ApiError::invalid("Too many Policies"));
    }
    if inline.len() > MAX_POLICY_REFS {
        return Err(ApiError::invalid("Too many inlinePolicies"));
    }
    for p in policies {
        validate_policy_ref(p).map_err(|e| ApiError::invalid(go_status(&e)))?;
    }
    for p in inline {
        if !p.name.is_empty() {
            names::validate_name(&p.name, 0).map_err(|e| ApiError::invalid(go_status(&e)))?;
        }
        validate_policy_spec(p.spec.as_ref())?;
    }
    Ok(())
}

/// Upstream `validatePolicyOwner`'s lookups: `The Policy %s does not exist`.
pub(super) fn check_policy_owner_refs(c: &Connection, policies: &[String]) -> ApiResult<()> {
    for p in policies {
        if !store::name_taken(c, "Policy", p)? {
            return Err(ApiError::invalid(format!("The Policy {p} does not exist")));
        }
    }
    Ok(())
}

/// Upstream `validateGroup` after the metadata rules.
pub(super) fn validate_group(g: &core::Group) -> ApiResult<()> {
    let Some(spec) = &g.spec else { return Err(ApiError::invalid("Nil spec")) };
    validate_attrs(spec.attrs.as_ref())?;
    match &spec.authorization {
        Some(a) => validate_policy_owner(&a.policies, &a.inline_policies),
        None => Ok(()),
    }
}

/// Upstream `validatePolicy` after the metadata rules: the spec's error comes back wrapped once
/// (`grpcutils.InvalidArgWithErr`), and Create/UpdatePolicy wrap every error once more.
pub(super) fn validate_policy(p: &core::Policy) -> ApiResult<()> {
    validate_policy_spec(p.spec.as_ref()).map_err(|e| ApiError::invalid(go_status(&e)))
}

/// Upstream `DeleteGroup`: a Group that Users belong to is not deleted.
pub(super) fn check_group_delete(c: &Connection, g: &core::Group) -> ApiResult<()> {
    let name = g.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default();
    let users = store::all::<core::User>(c, &Filter::default())?;
    if users.iter().any(|u| u.spec.as_ref().is_some_and(|s| s.groups.iter().any(|x| x == name))) {
        return Err(ApiError::invalid(
            "There are Users belonging to this Group. You must delete all its Users first.",
        ));
    }
    Ok(())
}
