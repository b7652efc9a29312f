//! Who may do what in the local cluster, after upstream octelium/cordium: Space roles from
//! Memberships (`cluster/apiserver/apiserver/commonw/common.go`: `CheckIsMember`,
//! `CheckIsMemberAdmin`, `CheckIsMemberOwner`; `mains/utils.go`:
//! `checkIsResourceOwnerOrSpaceOwner`), and the ClusterConfig Space ownership rules that decide
//! who may create a Space (`mains/space.go`: `canOwnSpace`, `doCanOwnSpace`).
//!
//! A cluster admin gets no pass here: upstream's Cordium checks read only the caller's
//! Membership, never its Octelium role, so `admin` may touch exactly the Spaces it is a member
//! of, like anyone else.

use std::fmt;
use std::str::FromStr;

use rusqlite::Connection;

use super::engine::uid_of;
use super::error::{ApiError, ApiResult};
use super::store;
use crate::live::wire::{core, meta};

/// A Membership role (upstream `Membership.Spec.Role`, same numbers: OWNER 1, ADMIN 2, USER 3;
/// UNKNOWN 0 is stored as USER by CreateMembership and counts as a plain member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner = 1,
    Admin = 2,
    User = 3,
}

impl Role {
    pub(super) fn from_i32(n: i32) -> Option<Role> {
        match n {
            1 => Some(Role::Owner),
            2 => Some(Role::Admin),
            0 | 3 => Some(Role::User),
            _ => None,
        }
    }
}

/// The caller's role in the Space with this uid, if a member.
pub(super) fn role(c: &Connection, space_uid: &str, user: &core::User) -> ApiResult<Option<Role>> {
    Ok(store::membership(c, space_uid, &uid_of(user))?.and_then(Role::from_i32))
}

/// Upstream `CheckIsMember`.
pub(super) fn check_member(c: &Connection, space_uid: &str, user: &core::User) -> ApiResult<()> {
    match role(c, space_uid, user)? {
        Some(_) => Ok(()),
        None => Err(ApiError::denied("The User is not authorized to operation")),
    }
}

/// Upstream `CheckIsMemberAdmin`: ADMIN or OWNER.
pub(super) fn check_admin(c: &Connection, space_uid: &str, user: &core::User) -> ApiResult<()> {
    match role(c, space_uid, user)? {
        Some(Role::Admin | Role::Owner) => Ok(()),
        _ => Err(ApiError::denied("The User is not authorized to do this operation")),
    }
}

/// Upstream `checkIsResourceOwnerOrSpaceOwner`: a member who created the resource, or the
/// Space's OWNER.
pub(super) fn check_resource_or_space_owner(
    c: &Connection,
    resource_owner: Option<&meta::ObjectReference>,
    space_uid: &str,
    user: &core::User,
) -> ApiResult<()> {
    let Some(r) = role(c, space_uid, user)? else {
        return Err(ApiError::denied("The User is not a Member in this Space"));
    };
    if resource_owner.is_some_and(|o| o.uid == uid_of(user)) || r == Role::Owner {
        return Ok(());
    }
    Err(ApiError::denied("The User is not authorized to do this operation"))
}

/// What a ClusterConfig Space ownership rule does when its condition matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The conditions the local cluster can evaluate. Upstream conditions are CEL over `ctx.user`
/// and `ctx.space`; no CEL engine is embedded here, so only these are supported: the one a fresh
/// installation uses (`matchAny`), and a few simple comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `matchAny: true`.
    Any,
    /// `ctx.user.metadata.name == "<name>"`.
    Username(String),
    /// `ctx.user.spec.type == "HUMAN" | "WORKLOAD"`.
    UserType(core::user::spec::Type),
    /// `ctx.space.status.type == "USER" | "ORGANIZATION"`.
    SpaceType(crate::live::wire::cordium::space::status::Type),
}

/// One ClusterConfig `spec.space.ownership.rules` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipRule {
    pub effect: Effect,
    pub condition: Condition,
}

/// The ClusterConfig Space ownership rules (`spec.space.ownership.rules`). No rules means no one
/// may create a Space, as upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceOwnership {
    pub rules: Vec<OwnershipRule>,
}

impl Default for SpaceOwnership {
    /// What a fresh installation sets: one ALLOW rule with `matchAny: true` (octelium/cordium
    /// `cluster/rscserver/rscserver/server.go`, `setInitResources`).
    fn default() -> Self {
        SpaceOwnership::allow_all()
    }
}

impl SpaceOwnership {
    /// One ALLOW `matchAny` rule (the fresh-install default).
    pub fn allow_all() -> Self {
        SpaceOwnership {
            rules: vec![OwnershipRule { effect: Effect::Allow, condition: Condition::Any }],
        }
    }

    /// No rules: every CreateSpace is refused.
    pub fn none() -> Self {
        SpaceOwnership { rules: Vec::new() }
    }

    /// Upstream `doCanOwnSpace`: any matching DENY refuses, then any matching ALLOW allows,
    /// else refused.
    pub fn allows(
        &self,
        user: &core::User,
        space_type: crate::live::wire::cordium::space::status::Type,
    ) -> bool {
        let matches = |cond: &Condition| match cond {
            Condition::Any => true,
            Condition::Username(n) => user.metadata.as_ref().is_some_and(|m| &m.name == n),
            Condition::UserType(t) => user.spec.as_ref().is_some_and(|s| s.r#type() == *t),
            Condition::SpaceType(t) => space_type == *t,
        };
        let hit =
            |effect: Effect| self.rules.iter().any(|r| r.effect == effect && matches(&r.condition));
        !hit(Effect::Deny) && hit(Effect::Allow)
    }
}

/// A rule that could not be read (see [`OwnershipRule::from_str`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Space ownership rule `{0}`: expected EFFECT:CONDITION, EFFECT `allow` or `deny`, \
     CONDITION `any`, `user=NAME`, `type=human|workload` or `space=user|organization`"
)]
pub struct RuleParseError(pub String);

impl FromStr for OwnershipRule {
    type Err = RuleParseError;

    /// `allow:any`, `deny:user=bob`, `allow:type=workload`, `allow:space=organization`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use crate::live::wire::cordium::space::status::Type as SpaceType;
        use core::user::spec::Type as UserType;
        let bad = || RuleParseError(s.to_string());
        let (effect, cond) = s.split_once(':').ok_or_else(bad)?;
        let effect = match effect {
            "allow" => Effect::Allow,
            "deny" => Effect::Deny,
            _ => return Err(bad()),
        };
        let condition = match cond.split_once('=') {
            None if cond == "any" => Condition::Any,
            Some(("user", n)) if super::names::is_segment(n) => Condition::Username(n.into()),
            Some(("type", "human")) => Condition::UserType(UserType::Human),
            Some(("type", "workload")) => Condition::UserType(UserType::Workload),
            Some(("space", "user")) => Condition::SpaceType(SpaceType::User),
            Some(("space", "organization")) => Condition::SpaceType(SpaceType::Organization),
            _ => return Err(bad()),
        };
        Ok(OwnershipRule { effect, condition })
    }
}

impl fmt::Display for OwnershipRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::live::wire::cordium::space::status::Type as SpaceType;
        use core::user::spec::Type as UserType;
        let effect = match self.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        match &self.condition {
            Condition::Any => write!(f, "{effect}:any"),
            Condition::Username(n) => write!(f, "{effect}:user={n}"),
            Condition::UserType(t) => {
                let t = if *t == UserType::Workload { "workload" } else { "human" };
                write!(f, "{effect}:type={t}")
            }
            Condition::SpaceType(t) => {
                let t = if *t == SpaceType::Organization { "organization" } else { "user" };
                write!(f, "{effect}:space={t}")
            }
        }
    }
}
