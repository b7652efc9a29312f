//! Pure: (desired, live) → one [`ResourceChange`] per resource, with field-level differences and
//! a reason for every action.
//!
//! Both sides are compared as canonical documents (`metadata` subset, `spec`, and for Workspaces
//! `template`), normalised the same way: the desired side is serialised from the model's spec
//! types, the live side is decoded into the same types by `live` before it gets here, so server
//! defaults and empty values cannot show up as changes. No I/O, no async, no clock.

pub mod doc;
pub mod value;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::diag::Diagnostic;
use crate::live::convert::{self, LiveResource};
use crate::live::identity::{self, Resolved};
pub use crate::model::STACK_LABEL;
use crate::model::{Address, Body, Kind, Metadata, Model, Resource};
pub use doc::Doc;
pub use value::FieldChange;

/// A live object as diff sees it (built by the caller from what `live` read).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveDoc {
    pub address: Address,
    /// The stored name (server-chosen for Workspaces).
    pub wire_name: String,
    pub uid: String,
    pub resource_version: String,
    /// The canonical document: `{metadata: {...}, spec: {...}, template?: "..."}`, held as its
    /// JSON text ([`Doc`]).
    pub doc: Doc,
    /// The value of its `cordium-stack` label, if any.
    pub stack: Option<String>,
    /// A Workspace this stack is replacing (its ownership record says so, `live::record`): the
    /// old half of a create-before-destroy replace that did not finish. Never a match; deleted.
    pub retiring: bool,
    /// The digest of what cordium last applied to it ([`applied_digest`]), when recorded.
    pub applied: Option<String>,
}

/// What plan will do to one resource. Serialised (in plans, plan files and the JSON plan) as
/// `no-op`, `create`, `update`, `replace`, `delete`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    #[serde(rename = "no-op")]
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }

    /// The serialised name: `no-op`, `create`, `update`, `replace`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }

    /// The sign plans show it with: `+`, `~`, `-/+`, `-`, and a space for a no-op.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// The identity of the live object an action touches (recorded in saved plans).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveRef {
    pub name: String,
    pub uid: String,
    pub resource_version: String,
    /// What the plan depends on: [`fingerprint`] of the object's canonical document (spec,
    /// managed metadata, Template) as the plan saw it. A saved plan is stale when this changes,
    /// not when `resourceVersion` does: a real server bumps that on every status write too
    /// (octelium `rscserver/common.go`, every write gets a new UUIDv7 resourceVersion). Empty in
    /// plan files written before it existed; those fall back to `resourceVersion`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// The document paths masked before hashing (values from sensitive variables), so the
    /// fingerprint cannot confirm a guessed secret. The staleness check masks the same paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
}

/// SHA-256 (hex) of a canonical live document with the values at `masked` replaced, the way
/// [`LiveRef::fingerprint`] is made at plan time and checked before a saved plan is applied.
pub fn fingerprint(doc: &Value, masked: &[String]) -> String {
    use sha2::{Digest, Sha256};
    // The document is copied only when something in it must be masked first.
    let bytes = if masked.is_empty() {
        serde_json::to_vec(doc)
    } else {
        let mut doc = doc.clone();
        for path in masked {
            crate::config::tree::mask_path(&mut doc, path, "(sensitive)");
        }
        serde_json::to_vec(&doc)
    };
    hex::encode(Sha256::digest(bytes.unwrap_or_default()))
}

/// [`fingerprint`] of a held document: the hash of its text when nothing is masked (the text is
/// what `serde_json::to_vec` writes for its tree), no tree built.
pub fn fingerprint_doc(doc: &Doc, masked: &[String]) -> String {
    use sha2::{Digest, Sha256};
    match doc.text() {
        Some(text) if masked.is_empty() => hex::encode(Sha256::digest(text.as_bytes())),
        _ => fingerprint(&doc.value(), masked),
    }
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceChange {
    pub address: Address,
    pub action: Action,
    /// Why: every action has one, e.g. "not on the cluster", "2 fields differ".
    pub reason: String,
    /// Field-level differences (old = live, new = desired). For a create, every desired field;
    /// for a delete, none.
    pub fields: Vec<FieldChange>,
    /// For a replace: the fields that force it.
    pub forced_by: Vec<String>,
    /// The live object, when there is one.
    pub live: Option<LiveRef>,
    /// Paths whose values must be masked in every output.
    pub sensitive: Vec<String>,
    /// An update: who changed the differing fields since cordium last applied the object
    /// (its applied digest, docs/drift.md). `None`: no record (not applied by this cordium).
    pub changed_by: Option<ChangedBy>,
    /// An `import` block adopts this existing object into the stack (its live name).
    pub imported: Option<String>,
}

/// Who made an object's live state differ from its configuration since cordium last applied
/// it, told from the digest apply records on the object (docs/drift.md).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ChangedBy {
    /// The live object is what cordium last applied: the configuration changed.
    Config,
    /// The configuration is what cordium last applied: the live object was changed outside
    /// cordium.
    Outside,
    /// Both changed since the last apply; a digest cannot say which field changed where.
    Both,
}

impl ChangedBy {
    /// How outputs say it.
    pub fn describe(self) -> &'static str {
        match self {
            ChangedBy::Config => "your config changed",
            ChangedBy::Outside => "changed outside cordium",
            ChangedBy::Both => "changed outside cordium and in your config since the last apply",
        }
    }
}

/// The digest apply records of the canonical document it sends (`desired_doc`), and drift
/// compares with the live document: SHA-256 of the document with its object keys sorted, first
/// [`APPLIED_DIGEST_LEN`] hex digits (an annotation value holds at most 63 characters; a
/// Workspace's ownership record holds it after the stack name).
pub fn applied_digest(doc: &Value) -> String {
    use sha2::{Digest, Sha256};
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let bytes = serde_json::to_vec(&sorted(doc)).unwrap_or_default();
    let mut out = hex::encode(Sha256::digest(bytes));
    out.truncate(APPLIED_DIGEST_LEN);
    out
}

/// Hex digits kept of an applied digest (64 bits: it detects a change, it guards nothing).
pub const APPLIED_DIGEST_LEN: usize = 16;

/// The value apply records: the digest and when it was sent, `<digest>@<unix seconds>` (at most
/// 27 characters).
pub fn applied_value(digest: &str, unix_secs: u64) -> String {
    format!("{digest}@{unix_secs}")
}

/// The digest and the time (unix seconds) of a recorded applied value.
pub fn parse_applied(value: &str) -> (&str, Option<u64>) {
    match value.split_once('@') {
        Some((digest, secs)) => (digest, secs.parse().ok()),
        None => (value, None),
    }
}

/// Options that change what diff reports.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The stack name (ownership label value).
    pub stack: String,
    /// Delete labelled live objects that are no longer declared.
    pub prune: bool,
}

/// The result of diffing a whole config against the cluster.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Sorted by address.
    pub changes: Vec<ResourceChange>,
    /// Problems that stop a plan (ambiguous matches, unmanaged objects in the way).
    pub problems: Vec<Diagnostic>,
}

impl LiveDoc {
    fn kind_is_workspace(&self) -> bool {
        self.address.kind == Kind::Workspace
    }

    /// Frees what the diff no longer needs of a compared object: everything but its address
    /// (which keeps the list sorted).
    fn hollow(&mut self) {
        self.doc = Doc::default();
        self.wire_name = String::new();
        self.uid = String::new();
        self.resource_version = String::new();
        self.stack = None;
        self.applied = None;
    }

    /// The diff view of a live object, normalised exactly like [`desired_doc`].
    pub fn from_live(live: &LiveResource) -> LiveDoc {
        LiveDoc::from_owned(live.clone())
    }

    /// [`LiveDoc::from_live`], taking the object: its spec and metadata are moved into the
    /// document, not copied (a large plan holds one form of each live object, not two).
    pub fn from_owned(live: LiveResource) -> LiveDoc {
        let stack = live.stack().map(str::to_string);
        let retiring = live.kind == Kind::Workspace
            && live.metadata.labels.contains_key(crate::live::record::RETIRING_LABEL);
        let applied = live
            .metadata
            .annotations
            .get(crate::model::APPLIED_ANNOTATION)
            .map(|v| parse_applied(v).0.to_string());
        let LiveResource {
            kind,
            address,
            wire_name,
            uid,
            resource_version,
            mut metadata,
            spec_json,
            organization,
            template_ref,
            ..
        } = live;
        if !matches!(kind, Kind::Workspace | Kind::Secret | Kind::Membership) {
            // The Workspace ownership record is cordium's, not the config's.
            metadata.annotations.retain(|k, _| {
                !crate::live::record::is_record_key(k) && k != crate::model::APPLIED_ANNOTATION
            });
        }
        let template = template_ref
            .as_deref()
            .and_then(|t| t.split('.').next())
            .unwrap_or(convert::DEFAULT_TEMPLATE);
        let parts =
            LiveParts { kind, metadata: &metadata, spec: &spec_json, organization, template };
        // Written as text straight from its parts; a spec with a float is kept as a tree.
        let doc = match doc::has_float(&spec_json) {
            false => Doc::from_text(parts.text()),
            true => Doc::new(parts.tree()),
        };
        LiveDoc { address, wire_name, uid, resource_version, doc, stack, retiring, applied }
    }
}

/// The parts of a live object's canonical document (its metadata filtered already).
struct LiveParts<'a> {
    kind: Kind,
    metadata: &'a Metadata,
    spec: &'a Value,
    organization: bool,
    /// A Workspace's Template (its short name).
    template: &'a str,
}

impl LiveParts<'_> {
    /// The document: `{metadata, spec, organization?}`; a Workspace's `{spec, template}`; a
    /// Membership's `{spec}` (the server keeps its name and role only); a Secret's `{}`.
    fn tree(&self) -> Value {
        let mut doc = Map::new();
        match self.kind {
            Kind::Workspace => {
                doc.insert("spec".into(), self.spec.clone());
                doc.insert("template".into(), Value::String(self.template.to_string()));
            }
            Kind::Secret => {}
            Kind::Membership => {
                doc.insert("spec".into(), self.spec.clone());
            }
            kind => {
                doc.insert("metadata".into(), metadata_json(self.metadata));
                doc.insert("spec".into(), self.spec.clone());
                if kind == Kind::Space {
                    doc.insert("organization".into(), Value::Bool(self.organization));
                }
            }
        }
        Value::Object(doc)
    }

    /// [`LiveParts::tree`] as JSON text, written with no tree built.
    fn text(&self) -> String {
        // Invariant: strings and a JSON value serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl serde::Serialize for LiveParts<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match self.kind {
            Kind::Workspace => {
                map.serialize_entry("spec", self.spec)?;
                map.serialize_entry("template", self.template)?;
            }
            Kind::Secret => {}
            Kind::Membership => map.serialize_entry("spec", self.spec)?,
            kind => {
                map.serialize_entry("metadata", &MetadataView(self.metadata))?;
                map.serialize_entry("spec", self.spec)?;
                if kind == Kind::Space {
                    map.serialize_entry("organization", &self.organization)?;
                }
            }
        }
        map.end()
    }
}

/// The canonical document of a desired resource, as it should be on the cluster.
pub fn desired_doc(resource: &Resource, stack: &str) -> Value {
    let mut doc = Map::new();
    match &resource.body {
        Body::Workspace { template, .. } => {
            // The server keeps only displayName (the identity) of a Workspace's metadata.
            doc.insert("spec".into(), resource.spec_json());
            let template = template.as_deref().unwrap_or(convert::DEFAULT_TEMPLATE);
            doc.insert("template".into(), Value::String(template.to_string()));
        }
        Body::Secret { .. } => {}
        Body::Membership { .. } => {
            doc.insert("spec".into(), resource.spec_json());
        }
        body => {
            doc.insert(
                "metadata".into(),
                metadata_json(&convert::desired_metadata(resource, stack)),
            );
            doc.insert("spec".into(), resource.spec_json());
            if let Body::Space { organization, .. } = body {
                doc.insert("organization".into(), Value::Bool(*organization));
            }
        }
    }
    Value::Object(doc)
}

/// The reason of a declared resource that matches its live object.
const MATCHES: &str = "matches the cluster";

/// [`desired_doc`] as JSON text, written straight from the model: the text
/// `serde_json::to_string(&desired_doc(resource, stack))` gives, with no tree built.
pub fn desired_text(resource: &Resource, stack: &str) -> String {
    // Invariant: spec types are plain data whose serialisation cannot fail.
    serde_json::to_string(&DesiredView { resource, stack }).unwrap_or_default()
}

/// [`desired_doc`], serialised field by field in the same order.
struct DesiredView<'a> {
    resource: &'a Resource,
    stack: &'a str,
}

impl serde::Serialize for DesiredView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match &self.resource.body {
            Body::Workspace { template, spec } => {
                map.serialize_entry("spec", spec)?;
                let template = template.as_deref().unwrap_or(convert::DEFAULT_TEMPLATE);
                map.serialize_entry("template", template)?;
            }
            Body::Secret { .. } => {}
            Body::Membership { spec } => map.serialize_entry("spec", spec)?,
            body => {
                let metadata = convert::desired_metadata(self.resource, self.stack);
                map.serialize_entry("metadata", &MetadataView(&metadata))?;
                match body {
                    Body::Space { spec, .. } => map.serialize_entry("spec", spec)?,
                    Body::Template { spec, .. } => map.serialize_entry("spec", spec)?,
                    Body::User { spec } => map.serialize_entry("spec", spec)?,
                    Body::Group { spec } => map.serialize_entry("spec", spec)?,
                    Body::Policy { spec } => map.serialize_entry("spec", spec)?,
                    Body::GitProvider { spec } => map.serialize_entry("spec", spec)?,
                    Body::Volume { spec } => map.serialize_entry("spec", spec)?,
                    Body::Workspace { spec, .. } => map.serialize_entry("spec", spec)?,
                    Body::Membership { spec } => map.serialize_entry("spec", spec)?,
                    Body::Secret { .. } => map.serialize_entry("spec", &Map::new())?,
                }
                if let Body::Space { organization, .. } = body {
                    map.serialize_entry("organization", organization)?;
                }
            }
        }
        map.end()
    }
}

/// [`metadata_json`], serialised field by field in the same order.
struct MetadataView<'a>(&'a Metadata);

impl serde::Serialize for MetadataView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        if !m.display_name.is_empty() {
            map.serialize_entry("displayName", &m.display_name)?;
        }
        if !m.description.is_empty() {
            map.serialize_entry("description", &m.description)?;
        }
        if !m.labels.is_empty() {
            map.serialize_entry("labels", &m.labels)?;
        }
        if !m.annotations.is_empty() {
            map.serialize_entry("annotations", &m.annotations)?;
        }
        if !m.tags.is_empty() {
            map.serialize_entry("tags", &m.tags)?;
        }
        if !m.pic_url.is_empty() {
            map.serialize_entry("picURL", &m.pic_url)?;
        }
        map.end()
    }
}

/// The mutable metadata fields the server keeps, as protojson, empty ones left out.
fn metadata_json(m: &Metadata) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        let empty = match &v {
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if !empty {
            out.insert(k.into(), v);
        }
    };
    put("displayName", json!(m.display_name));
    put("description", json!(m.description));
    put("labels", json!(m.labels));
    put("annotations", json!(m.annotations));
    put("tags", json!(m.tags));
    put("picURL", json!(m.pic_url));
    Value::Object(out)
}

/// Fields that cannot change in place: a difference there forces delete + create.
fn forces_replace(kind: Kind, path: &str) -> bool {
    kind.immutable_fields().contains(&path)
}

/// Diffs the model against the live objects read from the cluster.
pub fn diff(model: &Model, live: &[LiveDoc], opts: &DiffOptions) -> Diff {
    diff_owned(model, live.to_vec(), opts)
}

/// [`diff`], taking the live documents: each is freed once it has been compared (a large
/// plan's live documents and its changes are not both held whole). What else needs the
/// documents takes it first (`plan::guards::LiveFacts`).
pub fn diff_owned(model: &Model, mut live: Vec<LiveDoc>, opts: &DiffOptions) -> Diff {
    let mut out = Diff::default();
    // At most one change per declared resource and per live object; reserved once, since
    // doubling a list of large records leaves each old buffer behind as a hole in the heap.
    // (What is reserved and never written is never touched: it costs address space, not
    // memory; `shrink_to_fit` at the end gives it back.)
    out.changes.reserve_exact(model.resources.len() + live.len());
    // By address, in place; stable, so the objects at one address keep the order they came in.
    crate::order::stable_sort_by(&mut live, |a, b| a.address.cmp(&b.address));
    let at = |live: &[LiveDoc], a: &Address| {
        let start = live.partition_point(|l| l.address < *a);
        start..start + live[start..].partition_point(|l| l.address == *a)
    };
    // Compared (or retired): no longer a match, nor a leftover.
    let mut used = vec![false; live.len()];
    // A Workspace marked as being replaced is retired only once its successor exists (a
    // Workspace of the same displayName in its Space). Without one (the successor's create
    // failed for good), it is still the declared Workspace's match: deleting it would lose its
    // data with nothing in its place.
    for i in 0..live.len() {
        let l = &live[i];
        let succeeded =
            || live[at(&live, &l.address)].iter().any(|s| !s.retiring && s.kind_is_workspace());
        if l.retiring && l.stack.as_deref() == Some(opts.stack.as_str()) && succeeded() {
            out.changes.push(retired(l));
            used[i] = true;
            live[i].hollow();
        }
    }
    let imports: BTreeMap<&Address, &crate::model::Import> =
        model.imports.iter().map(|i| (&i.to, i)).collect();
    for resource in &model.resources {
        // Live objects are keyed by the address their identity gives them (`convert::from_wire`:
        // the stored name, or a Workspace's displayName in its Space).
        let matched: Vec<usize> = at(&live, &resource.address).filter(|&i| !used[i]).collect();
        let matches: Vec<&LiveDoc> = matched.iter().map(|&i| &live[i]).collect();
        match imports.get(&resource.address) {
            Some(import) => diff_import(resource, import, matches, opts, &mut out),
            None => diff_declared(resource, matches, opts, &mut out),
        }
        for i in matched {
            used[i] = true;
            live[i].hollow();
        }
    }
    let mut by_address: BTreeMap<&Address, Vec<&LiveDoc>> = BTreeMap::new();
    for (l, _) in live.iter().zip(&used).filter(|(_, used)| !**used) {
        by_address.entry(&l.address).or_default().push(l);
    }
    diff_leftovers(by_address, opts, &mut out);
    crate::order::stable_sort_by(&mut out.changes, |a, b| a.address.cmp(&b.address));
    out.changes.shrink_to_fit();
    out
}

/// One declared resource against the live objects at its address: create, compare, or a
/// problem when the one match is not ours or there are several.
fn diff_declared(resource: &Resource, matches: Vec<&LiveDoc>, opts: &DiffOptions, out: &mut Diff) {
    match identity::resolve(matches) {
        Resolved::Absent => out.changes.push(create(resource, opts)),
        Resolved::One(one) => {
            if !identity::is_ours(resource.kind(), one.stack.as_deref(), &opts.stack) {
                out.problems.push(unmanaged_object(resource, one));
                return;
            }
            out.changes.push(compare(resource, one, opts));
        }
        Resolved::Ambiguous(many) => out.problems.push(ambiguous_match(resource, &many)),
    }
}

/// A declared resource with an `import`: the live object the id names is adopted (compared,
/// and updated with the stack's label: "will be imported"). The object must exist, be the one
/// at the resource's address, and be managed by no other stack; one this stack already manages
/// is compared as usual (the import is done).
fn diff_import(
    resource: &Resource,
    import: &crate::model::Import,
    matches: Vec<&LiveDoc>,
    opts: &DiffOptions,
    out: &mut Diff,
) {
    let problem = |code: &'static str, message: String, help: &str| {
        Diagnostic::error(code, message)
            .at_opt(import.id_span)
            .address(resource.address.to_string())
            .help(help.to_string())
    };
    let one = match identity::resolve(matches) {
        Resolved::Absent => {
            out.problems.push(problem(
                "import-not-found",
                format!(
                    "import to {}: there is no live object `{}` to import",
                    resource.address, import.id
                ),
                "check the id: the object's stored name (`NAME.SPACE` or `NAME.SPACE.OWNER`; a                  Workspace's name or display name) as `cordium export` or the Cordium CLI lists it",
            ));
            return;
        }
        Resolved::Ambiguous(many) => {
            out.problems.push(ambiguous_match(resource, &many));
            return;
        }
        Resolved::One(one) => one,
    };
    if !import_names(one, import) {
        out.problems.push(problem(
            "import-not-found",
            format!(
                "import to {}: the id `{}` is not the live object at that address (`{}`)",
                resource.address, import.id, one.wire_name
            ),
            "an import adopts the object the address names: set the id to its name, or change the resource's name to the object's",
        ));
        return;
    }
    match one.stack.as_deref() {
        Some(s) if s == opts.stack => {
            // Already this stack's: nothing to import.
            out.changes.push(compare(resource, one, opts));
        }
        Some(other) => out.problems.push(problem(
            "import-managed",
            format!(
                "import to {}: `{}` is already managed by the stack `{other}`",
                resource.address, one.wire_name
            ),
            "an object belongs to one stack: remove it from that stack's config first (and its label), or leave the import out",
        )),
        None => {
            let mut c = compare(resource, one, opts);
            c.changed_by = None;
            c.imported = Some(one.wire_name.clone());
            c.reason = match c.action {
                Action::NoOp => {
                    c.action = Action::Update;
                    format!("will be imported from `{}`; it matches the config", one.wire_name)
                }
                _ => format!("will be imported from `{}`; {}", one.wire_name, c.reason),
            };
            out.changes.push(c);
        }
    }
}

/// The import's id names this live object: its stored name, that name without the owner, or
/// (a server-named kind) its display name.
fn import_names(live: &LiveDoc, import: &crate::model::Import) -> bool {
    let id = import.id.as_str();
    let wire = live.wire_name.as_str();
    let short = wire
        .strip_prefix(id)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|owner| !owner.is_empty() && !owner.contains('.'));
    wire == id
        || (short && !live.kind_is_workspace())
        || (live.kind_is_workspace() && live.address.name == id)
}

fn unmanaged_object(resource: &Resource, one: &LiveDoc) -> Diagnostic {
    let owner = match &one.stack {
        Some(other) => format!("it belongs to stack `{other}`"),
        None => "it is not managed by cordium".to_string(),
    };
    Diagnostic::error(
        "unmanaged-object",
        format!(
            "{} already exists on the cluster as `{}`, but {owner}",
            resource.address, one.wire_name
        ),
    )
    .at(resource.origin.span)
    .address(resource.address.to_string())
    .help(format!(
        "adopt it with `cordium import {} {}` (or an import block), or rename the resource in the \
         config",
        resource.address, one.wire_name
    ))
}

fn ambiguous_match(resource: &Resource, many: &[&LiveDoc]) -> Diagnostic {
    let names: Vec<String> = many.iter().map(|l| format!("`{}`", l.wire_name)).collect();
    Diagnostic::error(
        "ambiguous-match",
        format!(
            "{} matches {} live objects: {}",
            resource.address,
            many.len(),
            names.join(" and ")
        ),
    )
    .at(resource.origin.span)
    .address(resource.address.to_string())
    .help(identity::AMBIGUOUS_HELP)
}

/// Live objects no resource declares. Labelled Spaces left out of the config are pruned; their
/// Workspaces go first (the server does not cascade to them), declared or not, since they
/// cannot outlive the Space. Objects not ours are never touched.
fn diff_leftovers(
    by_address: BTreeMap<&Address, Vec<&LiveDoc>>,
    opts: &DiffOptions,
    out: &mut Diff,
) {
    let ours =
        |l: &LiveDoc| !opts.stack.is_empty() && l.stack.as_deref() == Some(opts.stack.as_str());
    let doomed_spaces: Vec<String> = by_address
        .iter()
        .filter(|(a, lives)| opts.prune && a.kind == Kind::Space && lives.iter().any(|l| ours(l)))
        .map(|(a, _)| a.name.clone())
        .collect();
    for (address, lives) in by_address {
        for l in lives {
            // Children the server does not delete with their Space.
            let in_doomed_space = address.kind.in_space()
                && !address.kind.deleted_with_space()
                && address.space.as_ref().is_some_and(|s| doomed_spaces.contains(s));
            let (action, reason) = if in_doomed_space {
                (Action::Delete, "its Space is being destroyed")
            } else if !ours(l) {
                continue; // not ours: never touched
            } else if opts.prune {
                (Action::Delete, PRUNED)
            } else {
                (Action::NoOp, "no longer in the config; kept (prune is off)")
            };
            // A delete shows what goes away (every field, as Terraform does).
            let fields =
                if action == Action::Delete { removed_fields(&l.doc.value()) } else { Vec::new() };
            // Nothing in the config says which of its values came from a sensitive variable:
            // every string is masked, in what the plan shows and in the fingerprint it keeps
            // (a destroy of a configured object shows what its configuration allows, in
            // `plan::make`).
            let sensitive: Vec<String> = fields
                .iter()
                .filter(|f| unknown_may_hide_secret(f))
                .map(|f| f.path.clone())
                .collect();
            out.changes.push(ResourceChange {
                address: address.clone(),
                action,
                reason: reason.to_string(),
                fields,
                forced_by: Vec::new(),
                live: Some(live_ref(l, &sensitive)),
                sensitive,
                changed_by: None,
                imported: None,
            });
        }
    }
}

/// The old Workspace of a replace that created its successor and stopped before deleting it:
/// the stack decided its delete already, so it goes (prune or not), and it is not a second
/// match for the declared Workspace.
fn retired(l: &LiveDoc) -> ResourceChange {
    let fields = removed_fields(&l.doc.value());
    let sensitive: Vec<String> =
        fields.iter().filter(|f| unknown_may_hide_secret(f)).map(|f| f.path.clone()).collect();
    // Addressed by its stored name: the declared Workspace's address is its successor's.
    let mut address = l.address.clone();
    address.name = l.wire_name.clone();
    ResourceChange {
        address,
        action: Action::Delete,
        reason: format!(
            "the old `{}`, replaced: its successor was created and it was to be deleted next \
             (an earlier apply stopped in between); data on it is lost",
            l.address.name
        ),
        fields,
        forced_by: Vec::new(),
        live: Some(live_ref(l, &sensitive)),
        sensitive,
        changed_by: None,
        imported: None,
    }
}

/// The reason of a delete of a labelled object the config no longer declares, with prune on.
pub const PRUNED: &str = "no longer in the config; prune is on";

/// Every field of a live object about to be deleted, as removed.
fn removed_fields(doc: &Value) -> Vec<value::FieldChange> {
    let mut fields = value::diff(doc, &Value::Object(Map::new()), &[]);
    fields.retain(|f| !matches!(&f.old, Some(Value::Object(m)) if m.is_empty()));
    fields
}

/// A field of an object no longer in the configuration whose value may be a secret: nothing
/// says whether it came from a sensitive variable, so inline env var values and credentials are
/// masked in what a delete shows.
pub fn may_hold_secret(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let field = p.rsplit('.').next().unwrap_or_default();
    (field == "value" && (p.contains("envvars") || p.contains("password")))
        || field.contains("password")
        || field.contains("token")
}

/// A field of an object no longer in the configuration that must be masked: any string but
/// the ones cordium itself writes (the stack label, a Workspace's Template name).
fn unknown_may_hide_secret(f: &value::FieldChange) -> bool {
    let cordium_written =
        f.path == format!("metadata.labels.{STACK_LABEL}") || f.path == "template";
    // Names already shown in the path (`envVars[TOKEN].key`), enum values and references.
    let field = f.path.rsplit('.').next().unwrap_or_default();
    let plain = matches!(field, "key" | "name" | "type" | "fromSecret");
    may_hold_secret(&f.path)
        || (matches!(f.old, Some(Value::String(_))) && !cordium_written && !plain)
}

fn live_ref(l: &LiveDoc, masked: &[String]) -> LiveRef {
    LiveRef {
        name: l.wire_name.clone(),
        uid: l.uid.clone(),
        resource_version: l.resource_version.clone(),
        fingerprint: fingerprint_doc(&l.doc, masked),
        masked: masked.to_vec(),
    }
}

fn create(resource: &Resource, opts: &DiffOptions) -> ResourceChange {
    let desired = desired_doc(resource, &opts.stack);
    let mut fields = value::diff(&Value::Object(Map::new()), &desired, &[]);
    // An empty message on a new object says nothing (`spec = {}`).
    fields.retain(|f| !matches!(&f.new, Some(Value::Object(m)) if m.is_empty()));
    let reason = match &resource.body {
        Body::Secret { source: crate::model::SecretSource::Env(var) } => {
            format!("not on the cluster; its value is read from ${var} at apply time")
        }
        Body::Secret { source: crate::model::SecretSource::File(path) } => {
            format!("not on the cluster; its value is read from the file {path} at apply time")
        }
        _ => "not on the cluster".into(),
    };
    ResourceChange {
        address: resource.address.clone(),
        action: Action::Create,
        reason,
        fields,
        forced_by: Vec::new(),
        live: None,
        sensitive: sensitive_paths(resource, &desired),
        changed_by: None,
        imported: None,
    }
}

/// The resource's sensitive paths, in the form diff reports fields.
pub fn sensitive_paths(resource: &Resource, desired: &Value) -> Vec<String> {
    resource.origin.sensitive.iter().map(|p| value::identity_path(desired, p)).collect()
}

fn compare(resource: &Resource, live: &LiveDoc, opts: &DiffOptions) -> ResourceChange {
    // Most of a large plan's objects match: the desired document written as text equals the
    // live one's text, and neither tree is built.
    if live.doc.text().is_some_and(|text| desired_text(resource, &opts.stack) == text) {
        let sensitive = if resource.origin.sensitive.is_empty() {
            Vec::new()
        } else {
            sensitive_paths(resource, &desired_doc(resource, &opts.stack))
        };
        return ResourceChange {
            address: resource.address.clone(),
            action: Action::NoOp,
            reason: MATCHES.to_string(),
            fields: Vec::new(),
            forced_by: Vec::new(),
            live: Some(live_ref(live, &resource.origin.sensitive)),
            sensitive,
            changed_by: None,
            imported: None,
        };
    }
    let desired = desired_doc(resource, &opts.stack);
    let fields = value::diff(&live.doc.value(), &desired, &resource.lifecycle.ignore_changes);
    let forced_by: Vec<String> = fields
        .iter()
        .filter(|f| forces_replace(resource.kind(), &f.path))
        .map(|f| f.path.clone())
        .collect();
    let (action, reason) = if fields.is_empty() {
        (Action::NoOp, MATCHES.to_string())
    } else if !forced_by.is_empty() {
        (Action::Replace, format!("{} cannot change in place", forced_by.join(", ")))
    } else if fields.len() == 1 {
        (Action::Update, format!("{} differs", fields[0].path))
    } else {
        (Action::Update, format!("{} fields differ", fields.len()))
    };
    let changed_by = if fields.is_empty() { None } else { changed_by(live, &desired, resource) };
    ResourceChange {
        address: resource.address.clone(),
        action,
        reason,
        fields,
        forced_by,
        live: Some(live_ref(live, &resource.origin.sensitive)),
        sensitive: sensitive_paths(resource, &desired),
        changed_by,
        imported: None,
    }
}

/// Who changed what differs between `live` and `desired` since the last apply (its recorded
/// digest): the live object is as applied (the config changed), the config is as applied (the
/// object was changed outside), or neither. Both sides are compared in [`digest_form`], as
/// apply recorded them.
pub fn changed_by(live: &LiveDoc, desired: &Value, resource: &Resource) -> Option<ChangedBy> {
    let applied = live.applied.as_deref()?;
    Some(if applied == applied_digest(&digest_form(&live.doc.value(), resource)) {
        ChangedBy::Config
    } else if applied == applied_digest(&digest_form(desired, resource)) {
        ChangedBy::Outside
    } else {
        ChangedBy::Both
    })
}

/// A document as its applied digest is taken: the resource's sensitive values masked. The
/// digest is readable by anyone who can read the object (an annotation, or its Space's
/// ownership record), so over the plain document it would confirm a guessed secret. The price:
/// a sensitive field changed outside cordium is not told apart from one the config changed
/// (docs/drift.md).
pub fn digest_form(doc: &Value, resource: &Resource) -> Value {
    let mut out = doc.clone();
    for path in &resource.origin.sensitive {
        crate::config::tree::mask_path(&mut out, path, "(sensitive)");
    }
    out
}
