//! The managed kinds and resource addresses: `space.ml`, `template.ml.gpu`, `user.agent-1`,
//! `workspace.ml.box`, `secret.ml.wandb`. One display form, one parse form, used in every output
//! and in `--target`.
//!
//! A leaf: every stage may use it (like `diag`), and it uses no stage (std and serde only).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The managed kinds. Declaration order is apply order for creates and the order addresses
/// sort in; every fact about a kind is a method here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Policy,
    Group,
    User,
    Space,
    Secret,
    Template,
    Workspace,
    Membership,
    GitProvider,
    Volume,
}

/// `apiVersion` of Cordium kinds.
pub const CORDIUM_API_VERSION: &str = "cordium/v1";
/// `apiVersion` of Octelium core kinds (User, Group, Policy).
pub const CORE_API_VERSION: &str = "core/v1";

/// How a declared resource finds its live object (ARCHITECTURE.md §2; resolved in
/// `live::identity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifiedBy {
    /// By the stored name the client computes from the config name (`gpu.ml.alice`).
    StoredName,
    /// The server picks a random name: the live object in the same Space whose `displayName`
    /// equals the config name. Two matches is an error.
    DisplayName,
}

/// How the live objects of a kind are listed when reading the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    /// One list across the cluster (Users, Spaces).
    Cluster,
    /// One list per Space (Templates, Secrets).
    PerSpace,
    /// One list of the caller's own objects across every Space, filtered by Space on our side
    /// (Workspaces: the server's Space filter takes a uid only, and a list is only ever the
    /// caller's own).
    Caller,
}

impl Kind {
    /// Every kind, in apply order for creates (deletes run in reverse). Adding a kind starts
    /// here; the facts below are `match`es the compiler makes complete.
    pub const ALL: [Kind; 10] = [
        Kind::Policy,
        Kind::Group,
        Kind::User,
        Kind::Space,
        Kind::Secret,
        Kind::Template,
        Kind::Workspace,
        Kind::Membership,
        Kind::GitProvider,
        Kind::Volume,
    ];

    /// Every kind, in the order messages and summaries list them: a Space, its children, then
    /// the cluster-wide rest. A permutation of [`Kind::ALL`] (tested).
    pub const LISTED: [Kind; 10] = [
        Kind::Space,
        Kind::Template,
        Kind::Workspace,
        Kind::Secret,
        Kind::User,
        Kind::Group,
        Kind::Policy,
        Kind::Membership,
        Kind::GitProvider,
        Kind::Volume,
    ];

    /// The lowercase keyword used in addresses and HCL block types.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Space => "space",
            Kind::Secret => "secret",
            Kind::Template => "template",
            Kind::Workspace => "workspace",
            Kind::Group => "group",
            Kind::Policy => "policy",
            Kind::Membership => "membership",
            Kind::GitProvider => "git_provider",
            Kind::Volume => "volume",
        }
    }

    /// The API `kind` string.
    pub fn api_kind(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Space => "Space",
            Kind::Secret => "Secret",
            Kind::Template => "Template",
            Kind::Workspace => "Workspace",
            Kind::Group => "Group",
            Kind::Policy => "Policy",
            Kind::Membership => "Membership",
            Kind::GitProvider => "GitProvider",
            Kind::Volume => "Volume",
        }
    }

    /// The API `apiVersion`: Octelium core kinds are `core/v1`, Cordium's own `cordium/v1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::User | Kind::Group | Kind::Policy => CORE_API_VERSION,
            Kind::Space | Kind::Secret | Kind::Template | Kind::Workspace => CORDIUM_API_VERSION,
            Kind::Membership | Kind::GitProvider | Kind::Volume => CORDIUM_API_VERSION,
        }
    }

    pub fn from_keyword(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.keyword() == s)
    }

    pub fn from_api_kind(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.api_kind() == s)
    }

    /// Space children are addressed `<kind>.<space>.<name>`.
    pub fn in_space(self) -> bool {
        match self {
            Kind::Secret | Kind::Template | Kind::Workspace => true,
            Kind::User | Kind::Space | Kind::Group | Kind::Policy => false,
            Kind::Membership | Kind::GitProvider | Kind::Volume => true,
        }
    }

    /// How a declared resource of this kind finds its live object.
    pub fn identified_by(self) -> IdentifiedBy {
        match self {
            Kind::Workspace => IdentifiedBy::DisplayName,
            Kind::User | Kind::Space | Kind::Secret | Kind::Template => IdentifiedBy::StoredName,
            Kind::Group | Kind::Policy => IdentifiedBy::StoredName,
            // A Membership is stored as `<username>.<space>` (cordium `cluster/common`
            // `GetMembershipName`): its config name is the username.
            Kind::Membership | Kind::GitProvider | Kind::Volume => IdentifiedBy::StoredName,
        }
    }

    /// The server names objects of this kind (randomly): there is no stored name to compute,
    /// the request carries none, and the `displayName` is the config name.
    pub fn server_named(self) -> bool {
        self.identified_by() == IdentifiedBy::DisplayName
    }

    /// Other resources may refer to one by name (`space.ml`, `template.ml.gpu`). A server-named
    /// kind has no name to refer to.
    pub fn referenceable(self) -> bool {
        !self.server_named()
    }

    /// The server keeps the labels (and other mutable metadata) we send, so ownership can be
    /// read from the `cordium-stack` label. Workspaces keep only their `displayName`: any
    /// Workspace that matches by identity is ours.
    pub fn keeps_labels(self) -> bool {
        match self {
            Kind::Workspace => false,
            Kind::User | Kind::Space | Kind::Secret | Kind::Template => true,
            Kind::Group | Kind::Policy => true,
            // CreateMembership builds the metadata from the name alone and UpdateMembership
            // copies the role only (cordium `mains/membership.go`).
            Kind::Membership => false,
            // `common.MetadataFrom` / `MetadataUpdate` (cordium `mains/{gitprovider,volume}.go`).
            Kind::GitProvider | Kind::Volume => true,
        }
    }

    /// The API can change one in place. Secrets have no Update RPC: a change is delete + create.
    pub fn updatable(self) -> bool {
        match self {
            Kind::Secret => false,
            Kind::User | Kind::Space | Kind::Template | Kind::Workspace => true,
            Kind::Group | Kind::Policy => true,
            Kind::Membership | Kind::GitProvider | Kind::Volume => true,
        }
    }

    /// Every field of one is masked in every output (its value is the point of it).
    pub fn sensitive(self) -> bool {
        match self {
            Kind::Secret => true,
            Kind::User | Kind::Space | Kind::Template | Kind::Workspace => false,
            Kind::Group | Kind::Policy => false,
            Kind::Membership | Kind::GitProvider | Kind::Volume => false,
        }
    }

    /// Fields (diff paths) that cannot change in place: a difference forces delete + create.
    pub fn immutable_fields(self) -> &'static [&'static str] {
        match self {
            // UpdateWorkspace takes displayName and spec only: the Template is fixed at create.
            Kind::Workspace => &["template"],
            // The owner part of a Space's name decides its type: a new Space.
            Kind::Space => &["organization"],
            Kind::User | Kind::Secret | Kind::Template => &[],
            Kind::Group | Kind::Policy => &[],
            // UpdateVolume: "The accessMode of a Volume is immutable" (cordium
            // `mains/volume.go`). A replace deletes the Volume's data: plan flags it.
            Kind::Volume => &["spec.accessMode"],
            Kind::Membership | Kind::GitProvider => &[],
        }
    }

    /// How the state read lists this kind.
    pub fn list_scope(self) -> ListScope {
        match self {
            Kind::User | Kind::Space => ListScope::Cluster,
            Kind::Group | Kind::Policy => ListScope::Cluster,
            Kind::Secret | Kind::Template => ListScope::PerSpace,
            Kind::Membership | Kind::GitProvider | Kind::Volume => ListScope::PerSpace,
            Kind::Workspace => ListScope::Caller,
        }
    }

    /// Deleting its Space deletes it too (the server cascades). The server does not cascade to
    /// Workspaces: they are deleted before their Space.
    pub fn deleted_with_space(self) -> bool {
        match self {
            Kind::Secret | Kind::Template => true,
            // DeleteSpace cascades to them (cordium `mains/space.go`, server-rules.md).
            Kind::Membership | Kind::GitProvider | Kind::Volume => true,
            Kind::User | Kind::Space | Kind::Workspace => false,
            Kind::Group | Kind::Policy => false,
        }
    }

    /// The Delete RPC takes a uid only, never a name (DeleteSpace): a name is resolved first.
    pub fn deletes_by_uid_only(self) -> bool {
        match self {
            Kind::Space => true,
            Kind::User | Kind::Secret | Kind::Template | Kind::Workspace => false,
            Kind::Membership | Kind::GitProvider | Kind::Volume => false,
            Kind::Group | Kind::Policy => false,
        }
    }

    /// The kinds whose specs may name one of this kind (a User's `groups`, a User's or Group's
    /// `authorization.policies`): a pruned one is deleted only after their updates, which may
    /// be what stops naming it (the server refuses to delete a Group a User still names).
    pub fn named_by(self) -> &'static [Kind] {
        match self {
            Kind::Group => &[Kind::User],
            Kind::Policy => &[Kind::User, Kind::Group],
            Kind::User
            | Kind::Space
            | Kind::Secret
            | Kind::Template
            | Kind::Workspace
            | Kind::Membership
            | Kind::GitProvider
            | Kind::Volume => &[],
        }
    }

    /// The server refuses a taken name with INVALID_ARGUMENT "... already exists" instead of
    /// ALREADY_EXISTS (its own wording for these kinds).
    pub fn taken_name_is_invalid_argument(self) -> bool {
        match self {
            Kind::Secret | Kind::Template => true,
            // "User is already a Member in this Space", "This GitProvider name already
            // exists", "This Volume name already exists" (cordium `mains/*.go`).
            Kind::Membership | Kind::GitProvider | Kind::Volume => true,
            Kind::User | Kind::Space | Kind::Workspace => false,
            Kind::Group | Kind::Policy => false,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Where a resource lives in the config: kind, Space (for Space children) and config name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub kind: Kind,
    /// The Space, for Space children (Secrets, Templates, Workspaces, Memberships,
    /// GitProviders, Volumes).
    pub space: Option<String>,
    pub name: String,
}

impl Address {
    pub fn space(name: impl Into<String>) -> Self {
        Address { kind: Kind::Space, space: None, name: name.into() }
    }

    pub fn user(name: impl Into<String>) -> Self {
        Address { kind: Kind::User, space: None, name: name.into() }
    }

    pub fn in_space(kind: Kind, space: impl Into<String>, name: impl Into<String>) -> Self {
        Address { kind, space: Some(space.into()), name: name.into() }
    }

    /// The address of the Space this resource lives in (itself for a Space).
    pub fn space_address(&self) -> Option<Address> {
        match self.kind {
            Kind::Space => Some(self.clone()),
            _ => self.space.as_ref().map(|s| Address::space(s.clone())),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.space {
            Some(space) => write!(f, "{}.{}.{}", self.kind, space, self.name),
            None => write!(f, "{}.{}", self.kind, self.name),
        }
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a resource address: {reason}")]
pub struct AddressError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddressError { input: s.to_string(), reason };
        let mut parts = s.split('.');
        let kind = parts.next().unwrap_or_default();
        let kind = Kind::from_keyword(kind).ok_or_else(|| {
            err("it must start with space, template, user, workspace, secret, group, policy, \
                 membership, git_provider or volume")
        })?;
        let rest: Vec<&str> = parts.collect();
        if rest.iter().any(|p| p.is_empty()) {
            return Err(err("it has an empty part"));
        }
        match (kind.in_space(), rest.as_slice()) {
            (false, [name]) => Ok(Address { kind, space: None, name: (*name).to_string() }),
            (true, [space, name]) => Ok(Address::in_space(kind, *space, *name)),
            (false, _) => Err(err("expected <kind>.<name>")),
            (true, _) => Err(err("expected <kind>.<space>.<name>")),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for s in ["space.ml", "template.ml.gpu", "user.agent-1", "workspace.ml.box", "secret.ml.k"]
        {
            let a: Address = s.parse().expect("parses");
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn listed_is_every_kind_once() {
        let mut listed = Kind::LISTED.to_vec();
        listed.sort();
        assert_eq!(listed, Kind::ALL.to_vec());
    }

    #[test]
    fn the_address_error_names_every_kind() {
        let err = "pod.x".parse::<Address>().expect_err("not a kind");
        for kind in Kind::ALL {
            assert!(err.reason.contains(kind.keyword()), "{kind} missing from: {}", err.reason);
        }
    }

    #[test]
    fn bad_addresses_are_refused() {
        for s in ["", "space", "template.gpu", "space.a.b", "pod.x", "space..x", "user.a."] {
            assert!(s.parse::<Address>().is_err(), "{s} should not parse");
        }
    }
}
