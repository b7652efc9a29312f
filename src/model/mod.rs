//! The typed desired state: every resource of the config, addressed, with its spec.
//!
//! Owns [`Resource`] and [`Model`] ([`Address`] and [`Kind`] live in the leaf `crate::kind` and
//! are re-exported here), the spec types (wire-shaped, in [`spec`]), the
//! document shapes both formats decode into ([`document`]), decoding raw documents into resources with
//! diagnostics ([`decode`]), and the checks that need the whole config ([`validate`]): names,
//! labels, duplicates, references, cycles. Pure: no I/O.

pub mod decode;
pub mod document;
pub mod graph;
pub mod lower;
pub mod moves;
#[cfg(test)]
mod properties;
pub mod qualify;
pub mod rules;
pub mod schema;
pub mod shape;
pub mod spec;
#[cfg(test)]
pub(crate) mod testing;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::kind::{Address, AddressError, Kind};
pub use decode::build;
pub use document::{Lifecycle, Prebuild};
pub use validate::{
    is_workspace_record_key, APPLIED_ANNOTATION, STACK_LABEL, WORKSPACE_RECORD_PREFIX,
};

use crate::config::tree::Node;
use crate::diag::Span;

/// The mutable metadata the server keeps from a request. Maps are sorted (normalised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub display_name: String,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub pic_url: String,
}

/// Where a Secret's value comes from. Read by apply only, never by validate or plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable's name.
    Env(String),
    /// A file path, relative to the config root.
    File(String),
}

/// What a resource is, per kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Space {
        /// Stored as `<space>.cordium` (type ORGANIZATION) rather than `<space>.<caller>`.
        organization: bool,
        spec: spec::SpaceSpec,
    },
    Template {
        spec: spec::TemplateSpec,
        prebuild: Option<Prebuild>,
    },
    User {
        spec: spec::UserSpec,
    },
    Workspace {
        /// The Template (name within the same Space); `None` = the Space's `default` Template.
        template: Option<String>,
        spec: spec::WorkspaceSpec,
    },
    Secret {
        source: SecretSource,
    },
    Group {
        spec: spec::GroupSpec,
    },
    Policy {
        spec: spec::PolicySpec,
    },
    Membership {
        spec: spec::MembershipSpec,
    },
    GitProvider {
        spec: spec::GitProviderSpec,
    },
    Volume {
        spec: spec::VolumeSpec,
    },
}

/// Where a resource came from: for diagnostics and for masking.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The whole document (YAML) or block (HCL).
    pub span: Span,
    /// The canonical document tree, so a problem at a spec path can be shown at its source.
    pub doc: Arc<Node>,
    /// Paths (`spec.runtime.envVars[0].value`) whose values come from sensitive variables.
    pub sensitive: Vec<String>,
}

impl Origin {
    /// The source span of a path in the document (`spec.image.registry.url`), or the nearest
    /// ancestor that exists in the source.
    pub fn span_of(&self, path: &str) -> Span {
        self.doc.find_path(path).span
    }
}

/// One declared resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub address: Address,
    pub metadata: Metadata,
    pub body: Body,
    pub lifecycle: Lifecycle,
    pub origin: Origin,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    /// The spec as protojson (what the server stores; what diff compares). Secrets have none.
    pub fn spec_json(&self) -> serde_json::Value {
        let v = match &self.body {
            Body::Space { spec, .. } => serde_json::to_value(spec),
            Body::Template { spec, .. } => serde_json::to_value(spec),
            Body::User { spec } => serde_json::to_value(spec),
            Body::Workspace { spec, .. } => serde_json::to_value(spec),
            Body::Group { spec } => serde_json::to_value(spec),
            Body::Policy { spec } => serde_json::to_value(spec),
            Body::Secret { .. } => return serde_json::Value::Object(Default::default()),
            Body::Membership { spec } => serde_json::to_value(spec),
            Body::GitProvider { spec } => serde_json::to_value(spec),
            Body::Volume { spec } => serde_json::to_value(spec),
        };
        // Invariant: spec types are plain data whose serialisation cannot fail.
        v.unwrap_or_default()
    }
}

/// The desired state of a whole config: resources sorted by address, unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub resources: Vec<Resource>,
    /// `import` blocks: existing objects to adopt, each to a declared resource.
    pub imports: Vec<Import>,
}

/// Adopt the existing live object named `id` as the declared resource `to` (docs/import-export.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub to: Address,
    /// The live object's name: its stored name in full (`gpu.ml.alice`) or without the owner
    /// (`gpu.ml`); a Workspace's stored name or its display name.
    pub id: String,
    /// Where the import is written (none for `cordium import ADDRESS ID`).
    pub to_span: Option<crate::diag::Span>,
    pub id_span: Option<crate::diag::Span>,
}

impl Model {
    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources.binary_search_by(|r| r.address.cmp(address)).ok().map(|i| &self.resources[i])
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.kind() == kind)
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}
