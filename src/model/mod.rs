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
pub mod strmap;
#[cfg(test)]
pub(crate) mod testing;
pub mod validate;

use std::sync::Arc;
pub use strmap::StrMap;

pub use crate::kind::{Address, AddressError, Kind};
pub use decode::build;
pub use document::{Lifecycle, Prebuild};
pub use validate::{
    is_workspace_record_key, APPLIED_ANNOTATION, STACK_LABEL, WORKSPACE_RECORD_PREFIX,
};

use crate::config;
use crate::config::tree::Node;
use crate::diag::Span;

/// The mutable metadata the server keeps from a request. Maps are sorted (normalised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub display_name: String,
    pub description: String,
    pub labels: StrMap,
    pub annotations: StrMap,
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

/// What a resource is, per kind. Every spec larger than a pointer or two is boxed: a resource is
/// as large as its largest variant, and a large config's list of resources is its largest part.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Space {
        /// Stored as `<space>.cordium` (type ORGANIZATION) rather than `<space>.<caller>`.
        organization: bool,
        spec: Box<spec::SpaceSpec>,
    },
    Template {
        spec: Box<spec::TemplateSpec>,
        prebuild: Option<Prebuild>,
    },
    User {
        spec: Box<spec::UserSpec>,
    },
    Workspace {
        /// The Template (name within the same Space); `None` = the Space's `default` Template.
        template: Option<String>,
        spec: Box<spec::WorkspaceSpec>,
    },
    Secret {
        source: SecretSource,
    },
    Group {
        spec: Box<spec::GroupSpec>,
    },
    Policy {
        spec: Box<spec::PolicySpec>,
    },
    Membership {
        spec: spec::MembershipSpec,
    },
    GitProvider {
        spec: Box<spec::GitProviderSpec>,
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
    /// The canonical document tree, or where to read it again, so that a problem at a spec
    /// path can be shown at its source ([`Origin::span_of`], [`Origin::with_doc`]).
    tree: Tree,
    /// Paths (`spec.runtime.envVars[0].value`) whose values come from sensitive variables.
    pub sensitive: Vec<String>,
    /// The names the document gives of other resources (`fromSecret`s under `spec`, a
    /// Template's `spec.gitProvider`, `spec.runtime.volumeMounts[].volumeRef.name`), as written
    /// and where: read at decode so that nothing walks every document's tree again.
    pub refs: Vec<Ref>,
    /// The length of `metadata.name` as written.
    pub name_len: usize,
}

/// A name of another resource written in a document, with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// What it names: a Secret, a GitProvider or a Volume.
    pub kind: Kind,
    pub name: String,
    pub span: Span,
}

/// A resource's document tree, kept or to be read again.
#[derive(Debug, Clone, PartialEq)]
enum Tree {
    /// Kept: an HCL block is the result of evaluation, and a `specFrom` document holds another
    /// file's `spec`; neither can be read again from one text.
    Kept(Arc<Node>),
    /// A YAML document read again from its file's text when a diagnostic needs a span, then
    /// shaped as decoding shaped it ([`decode::reshape`]): the same tree, the same spans.
    Reparse { at: crate::config::Reparse, kind: Kind },
    /// None (a resource made from a live object): every path is the whole span.
    None,
}

impl Origin {
    /// An origin keeping its document's tree.
    pub fn kept(span: Span, doc: Node, sensitive: Vec<String>) -> Origin {
        let refs = graph::doc_refs(&doc);
        let name_len = doc.find_path("metadata.name").as_str().map_or(0, str::len);
        Origin { span, tree: Tree::Kept(Arc::new(doc)), sensitive, refs, name_len }
    }

    /// Drops the kept tree: from now on it is read again from `at` when needed. `at` must be
    /// where the tree was parsed from, and `kind` the kind it was decoded as.
    pub(crate) fn read_again(&mut self, at: crate::config::Reparse, kind: Kind) {
        self.tree = Tree::Reparse { at, kind };
    }

    /// The kept tree, if this origin holds it alone (for a decode that failed after the
    /// origin was made).
    pub(crate) fn into_tree(self) -> Option<Node> {
        match self.tree {
            Tree::Kept(doc) => Some(Arc::try_unwrap(doc).unwrap_or_else(|doc| (*doc).clone())),
            _ => None,
        }
    }

    /// An origin with no document (a resource made from a live object, not from config).
    pub fn bare(span: Span) -> Origin {
        Origin { span, tree: Tree::None, sensitive: Vec::new(), refs: Vec::new(), name_len: 0 }
    }

    /// Whether the tree is kept in memory (HCL blocks, `specFrom` documents), not read again.
    pub fn keeps_tree(&self) -> bool {
        matches!(self.tree, Tree::Kept(_))
    }

    /// Calls `f` with the document's canonical tree: the kept one, or the document read again
    /// (if it cannot be, which only a changed text could cause, a null node at the document's
    /// span, so every path falls back to the whole document).
    pub fn with_doc<R>(&self, f: impl FnOnce(&Node) -> R) -> R {
        match &self.tree {
            Tree::Kept(doc) => f(doc),
            Tree::Reparse { at, kind } => {
                let doc = at.tree(self.span).map(|mut node| {
                    decode::reshape(&mut node, *kind);
                    node
                });
                f(&doc.unwrap_or_else(|| Node::new(config::tree::Value::Null, self.span)))
            }
            Tree::None => f(&Node::new(config::tree::Value::Null, self.span)),
        }
    }

    /// The source span of a path in the document (`spec.image.registry.url`), or the nearest
    /// ancestor that exists in the source.
    pub fn span_of(&self, path: &str) -> Span {
        self.with_doc(|doc| doc.find_path(path).span)
    }

    /// Every `fromSecret` string under `spec`, in document order (empty ones included).
    pub fn secret_refs(&self) -> impl Iterator<Item = &Ref> {
        self.refs.iter().filter(|r| r.kind == Kind::Secret)
    }

    /// A Template's `spec.gitProvider`, if set and not empty.
    pub fn git_provider_ref(&self) -> Option<&Ref> {
        self.refs.iter().find(|r| r.kind == Kind::GitProvider)
    }

    /// Every non-empty `spec.runtime.volumeMounts[].volumeRef.name`.
    pub fn volume_refs(&self) -> impl Iterator<Item = &Ref> {
        self.refs.iter().filter(|r| r.kind == Kind::Volume)
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

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    /// A large config's list of resources is most of what validate and plan hold, so a
    /// resource stays small: every spec bigger than a few words lives behind a `Box`.
    /// Measured when this was written: Resource 384, Body 40, UserSpec 160, Image 32 bytes.
    #[test]
    fn a_resource_and_its_specs_stay_small() {
        let limits = [
            ("Resource", size_of::<super::Resource>(), 400),
            ("Body", size_of::<super::Body>(), 40),
            ("UserSpec", size_of::<super::spec::UserSpec>(), 200),
            ("Image", size_of::<super::spec::Image>(), 64),
        ];
        for (name, size, limit) in limits {
            assert!(size <= limit, "{name} is {size} bytes, at most {limit}");
        }
    }
}
