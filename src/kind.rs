//! The managed kinds and resource addresses: `space.ml`, `template.ml.gpu`, `user.agent-1`,
//! `workspace.ml.box`, `secret.ml.wandb`. One display form, one parse form, used in every output
//! and in `--target`.
//!
//! A leaf: every stage may use it (like `diag`), and it uses no stage (std and serde only).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The managed kinds, in apply order for creates (deletes run in reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    User,
    Space,
    Secret,
    Template,
    Workspace,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::User, Kind::Space, Kind::Secret, Kind::Template, Kind::Workspace];

    /// The lowercase keyword used in addresses and HCL block types.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Space => "space",
            Kind::Secret => "secret",
            Kind::Template => "template",
            Kind::Workspace => "workspace",
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
        matches!(self, Kind::Secret | Kind::Template | Kind::Workspace)
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
    /// The Space, for Secrets, Templates and Workspaces.
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
        let kind = Kind::from_keyword(kind)
            .ok_or_else(|| err("it must start with space, template, user, workspace or secret"))?;
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
    fn bad_addresses_are_refused() {
        for s in ["", "space", "template.gpu", "space.a.b", "pod.x", "space..x", "user.a."] {
            assert!(s.parse::<Address>().is_err(), "{s} should not parse");
        }
    }
}
