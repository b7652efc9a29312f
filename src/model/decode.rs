//! Decoding canonical document trees into typed [`Resource`]s.
//!
//! Owns [`build`], the model's entry point: every raw document (HCL lowered first) is checked
//! against its kind's schema ([`super::shape`]), deserialised into its document type, and turned
//! into a resource (address from the name, metadata, body, origin); then the whole config is
//! validated ([`super::validate`]). Every problem is a diagnostic with a span. Pure: no I/O.

use std::borrow::Cow;

use crate::config::tree::{Node, Value};
use crate::config::{Format, Loaded, RawDoc};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};

use super::document::{
    DocMetadata, GitProviderDoc, GroupDoc, MembershipDoc, PolicyDoc, SecretDoc, SpaceDoc,
    TemplateDoc, UserDoc, VolumeDoc, WorkspaceDoc,
};
use super::spec::{MembershipRole, VolumeAccessMode, VolumeSize};
use super::{
    schema, shape, validate, Address, Body, Kind, Lifecycle, Metadata, Model, Origin, Resource,
    SecretSource,
};

/// The owner suffix of an organisation Space's name (`ml.cordium`).
pub const ORGANIZATION_OWNER: &str = "cordium";

/// Builds the typed model from everything loaded: decodes each document, then validates the
/// whole config. Returns only the model's own diagnostics (the caller already holds
/// `loaded.diagnostics`). Resources with errors are left out of the model; duplicates keep the
/// first definition.
pub fn build(loaded: &Loaded) -> (Model, Diagnostics) {
    let secrets = sensitive_strings(loaded.docs.iter());
    let docs = loaded.docs.iter().filter(|d| !super::moves::is_move(d)).map(Cow::Borrowed);
    build_docs(loaded, docs.collect(), &secrets, Taken::default())
}

/// [`build`], taking each resource document's tree out of `loaded` instead of copying it: the
/// model's resources keep the trees (their [`Origin`]s), so the config is held once. Afterwards
/// `loaded.docs` holds the `moved` documents only (nothing else reads them after the model is
/// built).
pub fn build_owned(loaded: &mut Loaded) -> (Model, Diagnostics) {
    let secrets = sensitive_strings(loaded.docs.iter());
    let (moves, docs): (Vec<RawDoc>, Vec<RawDoc>) =
        std::mem::take(&mut loaded.docs).into_iter().partition(super::moves::is_move);
    loaded.docs = moves;
    build_docs(loaded, docs.into_iter().map(Cow::Owned).collect(), &secrets, Taken::default())
}

/// Where a document is: its file and offset, the order of documents in a config (see
/// [`crate::config::DocSink`]).
type Key = (crate::diag::FileId, usize);

fn key(doc: &RawDoc) -> Key {
    (doc.span.file, doc.span.start)
}

/// Decodes YAML documents while the config loads ([`crate::config::load_with`]): each as soon
/// as its file is parsed, on the thread that parsed it, so its tree is dropped then (a resource
/// reads its document again when a diagnostic needs it). [`build_loaded`] makes the model of
/// what it decoded and of the documents left in the [`Loaded`].
pub struct Decoder {
    strict_kinds: bool,
    taken: std::sync::Mutex<Taken>,
}

/// The documents a [`Decoder`] decoded: what each gave, file by file, and every resource in
/// one list (the model's list, put in document order in place: a resource is large, and a
/// second list of them would double the model's memory while the first is freed).
#[derive(Default)]
struct Taken {
    files: Vec<Vec<(Key, Decoded)>>,
    resources: Vec<Resource>,
}

impl Decoder {
    pub fn new(strict_kinds: bool) -> Decoder {
        Decoder { strict_kinds, taken: Default::default() }
    }

    /// Everything decoded, the files in document order (the resources in the order their files
    /// finished).
    fn into_taken(self) -> Taken {
        let mut taken = self.taken.into_inner().unwrap_or_else(|p| p.into_inner());
        taken.files.sort_by_key(|t| t.first().map(|(k, _)| *k));
        taken
    }
}

impl crate::config::DocSink for Decoder {
    fn take(&self, docs: Vec<RawDoc>) -> Vec<RawDoc> {
        let (moves, docs): (Vec<RawDoc>, Vec<RawDoc>) =
            docs.into_iter().partition(super::moves::is_move);
        if docs.is_empty() {
            return moves;
        }
        let (mut decoded, mut resources) = (Vec::new(), Vec::new());
        for doc in docs {
            let k = key(&doc);
            let mut slot = None;
            // Only what adds a diagnostic is kept: a document that decoded cleanly (nearly
            // all) gives the model nothing besides its resource.
            match decode_doc(Cow::Owned(doc), self.strict_kinds, &mut slot) {
                Decoded::Skip => {}
                Decoded::Resource(diags) if diags.is_empty() => {}
                d => decoded.push((k, d)),
            }
            resources.extend(slot);
        }
        let mut all = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        if !decoded.is_empty() {
            all.files.push(decoded);
        }
        all.resources.append(&mut resources);
        moves
    }

    fn restart(&self) {
        *self.taken.lock().unwrap_or_else(|p| p.into_inner()) = Taken::default();
    }
}

/// [`build_owned`] for a config loaded with a [`Decoder`]: its documents and those left in
/// `loaded`, in document order, give the same model and diagnostics as [`build`] of a plain
/// load would.
pub fn build_loaded(loaded: &mut Loaded, decoder: Decoder) -> (Model, Diagnostics) {
    let secrets = sensitive_strings(loaded.docs.iter());
    let (moves, docs): (Vec<RawDoc>, Vec<RawDoc>) =
        std::mem::take(&mut loaded.docs).into_iter().partition(super::moves::is_move);
    loaded.docs = moves;
    let taken = decoder.into_taken();
    build_docs(loaded, docs.into_iter().map(Cow::Owned).collect(), &secrets, taken)
}

/// `first` (in key order) and `rest` (in document order) as one list in document order: an
/// item of `first` goes before the first item of `rest` with a later key.
fn merge<T>(
    first: impl Iterator<Item = (Key, T)>,
    rest: impl Iterator<Item = (Key, T)>,
    capacity: usize,
) -> Vec<T> {
    let mut out = Vec::with_capacity(capacity);
    let mut first = first.peekable();
    for (k, item) in rest {
        while let Some((_, x)) = first.next_if(|(fk, _)| *fk < k) {
            out.push(x);
        }
        out.push(item);
    }
    out.extend(first.map(|(_, x)| x));
    out
}

/// Puts resources in document order (the order of their documents' keys) in place: each is
/// moved once, and no second list is built. Stable: two resources with one key (HCL blocks with
/// no span of their own) keep their order.
fn in_document_order(resources: &mut [Resource]) {
    crate::order::stable_sort_by(resources, |a, b| {
        (a.origin.span.file, a.origin.span.start).cmp(&(b.origin.span.file, b.origin.span.start))
    });
}

/// What one document gives the model.
enum Decoded {
    /// A bare spec file's document: nothing.
    Skip,
    /// A kind cordium does not manage, skipped with a warning counted per kind.
    Foreign(String, Span),
    /// A resource document (its resource, if it decodes, is in its slot), and the problems
    /// found, in order.
    Resource(Vec<Diagnostic>),
}

/// Documents up to this many are decoded on the calling thread; more are split between the
/// machine's cores (each document decodes on its own; results are kept in file order).
const PARALLEL_FROM: usize = 512;

fn build_docs(
    loaded: &Loaded,
    docs: Vec<Cow<'_, RawDoc>>,
    secrets: &[String],
    taken: Taken,
) -> (Model, Diagnostics) {
    let strict = loaded.strict_kinds;
    let keys: Vec<Key> = docs.iter().map(|d| key(d)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    // Each document's resource goes to its own slot (decoded in parallel, kept in order); the
    // slots' resources are then moved onto the end of the model's one list.
    let mut slots: Vec<Option<Resource>> = Vec::new();
    slots.resize_with(docs.len(), || None);
    let decoded: Vec<Decoded> = if docs.len() < PARALLEL_FROM || threads < 2 {
        docs.into_iter()
            .zip(slots.iter_mut())
            .map(|(d, slot)| decode_doc(d, strict, slot))
            .collect()
    } else {
        let per = docs.len().div_ceil(threads);
        let mut chunks: Vec<Vec<Cow<'_, RawDoc>>> = Vec::new();
        let mut rest = docs.into_iter();
        loop {
            let chunk: Vec<_> = rest.by_ref().take(per).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        let work = move |(chunk, slots): (Vec<Cow<'_, RawDoc>>, &mut [Option<Resource>])| {
            chunk
                .into_iter()
                .zip(slots.iter_mut())
                .map(|(d, slot)| decode_doc(d, strict, slot))
                .collect::<Vec<_>>()
        };
        std::thread::scope(|scope| {
            let mut parts = chunks.into_iter().zip(slots.chunks_mut(per));
            let first = parts.next();
            let handles: Vec<_> = parts.map(|part| scope.spawn(move || work(part))).collect();
            let mut out: Vec<Decoded> = first.map(work).unwrap_or_default();
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part),
                    // Decoding does not panic; if it ever did, the panic is the caller's.
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            out
        })
    };
    let n = taken.files.iter().map(Vec::len).sum::<usize>() + decoded.len();
    let decoded = merge(taken.files.into_iter().flatten(), keys.into_iter().zip(decoded), n);
    let mut diags = Diagnostics::new();
    let mut foreign: std::collections::BTreeMap<String, (Span, usize)> = Default::default();
    for d in decoded {
        match d {
            Decoded::Skip => {}
            Decoded::Foreign(kind, span) => foreign.entry(kind).or_insert((span, 0)).1 += 1,
            Decoded::Resource(local) => {
                for d in local {
                    diags.push(d);
                }
            }
        }
    }
    let mut resources = taken.resources;
    resources.reserve_exact(slots.iter().filter(|s| s.is_some()).count());
    resources.extend(slots.into_iter().flatten());
    // Grown by doubling while files finished; the model keeps it as long as it lives.
    resources.shrink_to_fit();
    in_document_order(&mut resources);
    for (kind, (span, n)) in foreign {
        let docs = if n == 1 { "1 document".to_string() } else { format!("{n} documents") };
        diags.push(
            Diagnostic::warning(
                "unmanaged-kind",
                format!("cordium does not manage {kind}; {docs} skipped; use octeliumctl for them"),
            )
            .at(Span::new(span.file, span.start, span.start))
            .help("--strict-kinds makes these documents errors"),
        );
    }
    let mut model = validate::validate(resources, &mut diags);
    super::moves::read(loaded, &model, &mut diags);
    model.imports = imports(loaded, &model, &mut diags);
    // A check may quote a value it rejects; a value from a sensitive variable is never quoted.
    let diags = if secrets.is_empty() {
        diags
    } else {
        diags.into_iter().map(|d| scrub(d, secrets)).collect()
    };
    (model, diags)
}

/// Decodes one document (not a `moved` one): lowers an HCL block first; a YAML document's tree
/// is moved into the resource when the document is owned.
fn decode_doc(doc: Cow<'_, RawDoc>, strict_kinds: bool, slot: &mut Option<Resource>) -> Decoded {
    let mut diags = Diagnostics::new();
    if doc.format == Format::Yaml {
        if is_bare_spec(&doc.node) {
            return Decoded::Skip;
        }
        if let Some(kind) = foreign_kind(&doc.node) {
            if !strict_kinds {
                return Decoded::Foreign(kind, doc.span);
            }
            diags.push(foreign_error(&kind, &doc.node, doc.span));
            return Decoded::Resource(diags.into_vec());
        }
    }
    let (format, span, reparse) = (doc.format, doc.span, doc.reparse.clone());
    let node = match (format, doc) {
        (Format::Yaml, Cow::Owned(d)) => Some(d.node),
        (Format::Yaml, Cow::Borrowed(d)) => Some(d.node.clone()),
        (Format::Hcl, d) => super::lower::lower(&d, &mut diags),
    };
    let Some(node) = node else { return Decoded::Resource(diags.into_vec()) };
    let mut local = Diagnostics::new();
    *slot = decode_from(node, span, reparse, &mut local);
    for d in local {
        diags.push(if format == Format::Hcl { hcl_spelling(d) } else { d });
    }
    Decoded::Resource(diags.into_vec())
}

/// The config's imports, each to a declared resource, once per address. An import to an
/// address that is not one, or that no resource declares, is an error at its `to`.
fn imports(loaded: &Loaded, model: &Model, diags: &mut Diagnostics) -> Vec<super::Import> {
    let mut out: Vec<super::Import> = Vec::new();
    for i in &loaded.imports {
        let to = match i.to.parse::<Address>() {
            Ok(a) => a,
            Err(e) => {
                diags.push(
                    Diagnostic::error("unknown-address", format!("import to {e}"))
                        .at(i.to_span)
                        .help(
                            "write the address of a declared resource, e.g. `template.SPACE.NAME`",
                        ),
                );
                continue;
            }
        };
        if model.get(&to).is_none() {
            let known = model.resources.iter().map(|r| r.address.to_string()).collect::<Vec<_>>();
            let d = Diagnostic::error(
                "unknown-address",
                format!("import to {to}: the configuration declares no such resource"),
            )
            .at(i.to_span);
            diags.push(match crate::diag::did_you_mean(&to.to_string(), known.iter().map(String::as_str)) {
                Some(near) => d.help(format!("did you mean {near}? (declare the resource the object is imported as)")),
                None => d.help("declare the resource the object is imported as, then import it to its address"),
            });
            continue;
        }
        if i.id.is_empty() {
            diags.push(
                Diagnostic::error("import", format!("import to {to}: the id is empty"))
                    .at(i.id_span)
                    .help("set `id` to the live object's name, e.g. `gpu.ml`"),
            );
            continue;
        }
        if let Some(first) = out.iter().find(|x| x.to == to) {
            diags.push(
                Diagnostic::error("duplicate-import", format!("{to} is imported twice"))
                    .at(i.to_span)
                    .related(first.to_span.unwrap_or(i.span), "first imported here"),
            );
            continue;
        }
        out.push(super::Import {
            to,
            id: i.id.clone(),
            to_span: Some(i.to_span),
            id_span: Some(i.id_span),
        });
    }
    out
}

/// A bare spec file's document (`spec:` and nothing else: no `apiVersion`, `kind` or
/// `metadata`), as the Cordium docs write Templates and Workspaces for `cordium create -f`: not a
/// resource of its own, only read through `specFrom:` (YAML) or `yamldecode(file(...))` (HCL).
pub fn is_bare_spec(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => entries.len() == 1 && node.get("spec").is_some(),
        _ => false,
    }
}

/// The `kind` of a YAML document cordium does not manage, as written: an unknown kind (unless
/// it is a near miss of one of ours with no `apiVersion`, which stays the decoder's
/// `unknown-kind` error with its suggestion), or one of our kind names under Octelium's
/// `core/v1` (Octelium's own Secret is not a Cordium Secret; any other wrong `apiVersion`
/// stays an `api-version` error).
fn foreign_kind(node: &Node) -> Option<String> {
    let kind = node.get("kind")?.as_str()?;
    let api = node.get("apiVersion").and_then(Node::as_str);
    match Kind::from_api_kind(kind) {
        Some(k) => api
            .filter(|v| *v == crate::kind::CORE_API_VERSION && *v != k.api_version())
            .map(|_| kind.to_string()),
        None => {
            let near = did_you_mean(kind, Kind::ALL.iter().map(|k| k.api_kind())).is_some();
            (api.is_some() || !near).then(|| kind.to_string())
        }
    }
}

/// `--strict-kinds`: a document of a kind cordium does not manage is an error.
fn foreign_error(kind: &str, node: &Node, span: Span) -> Diagnostic {
    let at = node.entry("kind").map(|(_, v)| v.span).unwrap_or(span);
    Diagnostic::error(
        "unmanaged-kind",
        format!("cordium does not manage {kind} (--strict-kinds)"),
    )
    .at(at)
    .help(format!(
        "manage it with octeliumctl, or move it out of this directory; the kinds cordium manages are: {}",
        kinds_list()
    ))
}

/// An unknown-field diagnostic about an HCL block names fields as HCL writes them
/// (`run_as_root`, not `runAsRoot`); paths stay in document form, as plan shows them.
fn hcl_spelling(mut d: crate::diag::Diagnostic) -> crate::diag::Diagnostic {
    if d.code != "unknown-field" {
        return d;
    }
    let snake_ticks = |text: &str| {
        let mut out = String::new();
        for (i, part) in text.split('`').enumerate() {
            // Odd parts are between backticks: single names become snake_case; paths stay.
            if i % 2 == 1 && !part.contains(['.', '[']) {
                out.push_str(&super::lower::snake(part));
            } else {
                out.push_str(part);
            }
            out.push('`');
        }
        out.pop();
        out
    };
    d.message = snake_ticks(&d.message);
    d.help = d.help.map(|h| match h.strip_prefix("known fields here: ") {
        Some(list) => {
            let names: Vec<String> = list.split(", ").map(super::lower::snake).collect();
            format!("known fields here: {}", names.join(", "))
        }
        None => snake_ticks(&h),
    });
    d
}

/// Every string value marked sensitive in the loaded documents (longest first, so a value that
/// contains another is replaced whole).
fn sensitive_strings<'a>(docs: impl Iterator<Item = &'a RawDoc>) -> Vec<String> {
    fn walk(node: &Node, inherited: bool, out: &mut Vec<String>) {
        let sensitive = inherited || node.sensitive;
        match &node.value {
            crate::config::tree::Value::String(s) if sensitive && !s.is_empty() => {
                out.push(s.clone())
            }
            crate::config::tree::Value::Number(n) if sensitive => out.push(n.to_string()),
            crate::config::tree::Value::List(items) => {
                items.iter().for_each(|i| walk(i, sensitive, out))
            }
            crate::config::tree::Value::Map(entries) => {
                entries.iter().for_each(|(_, v)| walk(v, sensitive, out))
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    // Only HCL marks values sensitive (they come from `sensitive` variables).
    for doc in docs.filter(|d| d.format == Format::Hcl) {
        walk(&doc.node, false, &mut out);
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn scrub(mut d: crate::diag::Diagnostic, secrets: &[String]) -> crate::diag::Diagnostic {
    let clean = |text: &str| {
        secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "(sensitive)"))
    };
    d.message = clean(&d.message);
    d.help = d.help.as_deref().map(clean);
    for r in &mut d.related {
        r.message = clean(&r.message);
    }
    d
}

/// Decodes one canonical document, keeping its tree. `None` when it has errors (pushed to
/// `diags`).
pub fn decode(node: Node, span: Span, diags: &mut Diagnostics) -> Option<Resource> {
    decode_from(node, span, None, diags)
}

/// [`decode`]; with `reparse` (where the YAML document `node` was parsed from, unchanged
/// since), the resource does not keep the tree but reads it again when a diagnostic needs it.
pub fn decode_from(
    mut node: Node,
    span: Span,
    reparse: Option<crate::config::Reparse>,
    diags: &mut Diagnostics,
) -> Option<Resource> {
    let mut local = Diagnostics::new();
    let result = decode_inner(&mut node, span, reparse, &mut local);
    let address = result.as_ref().map(|r| r.address.to_string()).or_else(|| guess_address(&node));
    for mut d in local {
        if d.address.is_none() {
            d.address = address.clone();
        }
        diags.push(d);
    }
    result
}

/// The address a document would have, for diagnostics about a document that does not decode.
fn guess_address(node: &Node) -> Option<String> {
    let kind = Kind::from_api_kind(node.get("kind")?.as_str()?)?;
    let name = node.get("metadata")?.get("name")?.as_str()?;
    parse_name(kind, name).ok().map(|(a, _)| a.to_string())
}

fn kinds_list() -> String {
    Kind::ALL.iter().map(|k| k.api_kind()).collect::<Vec<_>>().join(", ")
}

fn decode_inner(
    node: &mut Node,
    span: Span,
    reparse: Option<crate::config::Reparse>,
    diags: &mut Diagnostics,
) -> Option<Resource> {
    require_map(node, diags)?;
    let kind = doc_kind(node, span, diags)?;
    drop_status(node, diags);
    if kind == Kind::Secret {
        refuse_secret_values(node, diags);
    }
    let errors_before = diags.error_count();
    shape::conform(node, schema::for_kind(kind), diags);
    check_api_version(node, kind, diags);
    if kind == Kind::Secret {
        refuse_sensitive_source(node, diags);
    }
    if diags.error_count() > errors_before {
        return None;
    }
    let sensitive =
        if super::shape::any_sensitive(node) { node.sensitive_paths() } else { Vec::new() };
    let name_span = node.find_path("metadata.name").span;
    let json = node.to_json();
    // The tree moves into the resource; on an error below it is put back, for the address
    // the diagnostics are given.
    let doc = std::mem::replace(node, Node::new(Value::Null, span));
    let mut origin = Origin::kept(span, doc, sensitive);
    let give_back = |origin: Origin, node: &mut Node| {
        if let Some(doc) = origin.into_tree() {
            *node = doc;
        }
    };
    let Some(typed) = typed_body(kind, json, &origin, name_span, diags) else {
        give_back(origin, node);
        return None;
    };
    let (address, display) = match parse_name(kind, &typed.doc_meta.name) {
        Ok(x) => x,
        Err(help) => {
            give_back(origin, node);
            diags.push(
                Diagnostic::error(
                    "bad-name",
                    format!("`{}` is not a valid {} name", typed.doc_meta.name, kind.api_kind()),
                )
                .at(name_span)
                .help(help),
            );
            return None;
        }
    };
    let mut metadata = typed.metadata;
    if let Some(display) = display {
        metadata.display_name = display;
    }
    let lifecycle = typed.lifecycle.unwrap_or_default();
    // A document that can be read again from its text is not kept: its tree is dropped here.
    if let Some(at) = reparse {
        origin.read_again(at, kind);
    }
    Some(Resource { address, metadata, body: typed.body, lifecycle, origin })
}

/// Shapes a document's tree as [`decode`] does before the resource is made (`status`
/// dropped, a Secret's values removed, the schema's normalisations), problems ignored: a tree
/// read again ([`Origin::with_doc`]) is then the tree the resource was decoded from.
pub(crate) fn reshape(node: &mut Node, kind: Kind) {
    let mut ignored = Diagnostics::new();
    drop_status(node, &mut ignored);
    if kind == Kind::Secret {
        refuse_secret_values(node, &mut ignored);
    }
    shape::conform(node, schema::for_kind(kind), &mut ignored);
}

/// A resource document is a map.
fn require_map(node: &Node, diags: &mut Diagnostics) -> Option<()> {
    if matches!(node.value, Value::Map(_)) {
        return Some(());
    }
    diags.push(
        Diagnostic::error(
            "not-a-document",
            format!(
                "a resource document must be a map with `kind`, `metadata` and `spec`, found {}",
                node.type_name()
            ),
        )
        .at(node.span),
    );
    None
}

/// `status` is the server's: dropped with a warning.
fn drop_status(node: &mut Node, diags: &mut Diagnostics) {
    if let Some((key, _)) = node.take("status") {
        diags.push(
            Diagnostic::warning("status-ignored", "`status` is set by the server; it is ignored")
                .at(key.span)
                .help("remove `status:` from the config"),
        );
    }
}

/// A Secret's value is never in the config: every field that could hold one is refused (and
/// removed, so it reaches no later stage).
fn refuse_secret_values(node: &mut Node, diags: &mut Diagnostics) {
    for field in ["data", "value", "stringData", "spec"] {
        if field == "spec" && node.get("spec").is_some_and(|s| s.get("data").is_none()) {
            continue;
        }
        if let Some((key, _)) = node.take(field) {
            diags.push(
                Diagnostic::error("secret-value", "secret values are never written in config")
                    .at(key.span)
                    .help(
                        "name where apply reads the value: `fromEnv: ENV_VAR` or \
                         `fromFile: path/to/file`",
                    ),
            );
        }
    }
}

/// Where apply reads a Secret's value is shown in plans and in apply's messages: it cannot
/// derive from a sensitive value.
fn refuse_sensitive_source(node: &Node, diags: &mut Diagnostics) {
    for field in ["fromEnv", "fromFile"] {
        if let Some(n) = node.get(field).filter(|n| super::shape::any_sensitive(n)) {
            diags.push(super::shape::sensitive_name(
                n.span,
                format!("`{field}`"),
                "where apply reads a Secret's value is shown in plans and in apply's messages",
            ));
        }
    }
}

/// What a conformed document decodes to, before its name is parsed.
struct Typed {
    metadata: Metadata,
    lifecycle: Option<Lifecycle>,
    body: Body,
    doc_meta: DocMetadata,
}

/// Decodes a conformed document into its kind's typed body.
fn typed_body(
    kind: Kind,
    json: serde_json::Value,
    origin: &Origin,
    name_span: Span,
    diags: &mut Diagnostics,
) -> Option<Typed> {
    fn read<T: serde::de::DeserializeOwned>(
        json: serde_json::Value,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<T> {
        serde_json::from_value(json)
            .map_err(|e| {
                diags.push(
                    Diagnostic::error(
                        "invalid-document",
                        format!("this document cannot be read: {e}"),
                    )
                    .at(span),
                );
            })
            .ok()
    }
    let typed = |doc_meta: DocMetadata, lifecycle: Option<Lifecycle>, body: Body| Typed {
        metadata: metadata(&doc_meta),
        lifecycle,
        body,
        doc_meta,
    };
    let span = origin.span;
    Some(match kind {
        Kind::Space => {
            let doc: SpaceDoc = read(json, span, diags)?;
            let organization = doc.metadata.name.ends_with(&format!(".{ORGANIZATION_OWNER}"));
            typed(
                doc.metadata,
                doc.lifecycle,
                Body::Space { organization, spec: Box::new(doc.spec) },
            )
        }
        Kind::Template => {
            let doc: TemplateDoc = read(json, span, diags)?;
            refuse_spec_from(doc.spec_from.is_some(), origin, diags)?;
            let body = Body::Template { spec: Box::new(doc.spec), prebuild: doc.prebuild };
            typed(doc.metadata, doc.lifecycle, body)
        }
        Kind::User => {
            let doc: UserDoc = read(json, span, diags)?;
            typed(doc.metadata, doc.lifecycle, Body::User { spec: Box::new(doc.spec) })
        }
        Kind::Workspace => {
            let doc: WorkspaceDoc = read(json, span, diags)?;
            refuse_spec_from(doc.spec_from.is_some(), origin, diags)?;
            refuse_workspace_display_name(&doc.metadata, origin, diags)?;
            let body = Body::Workspace { template: doc.template, spec: Box::new(doc.spec) };
            typed(doc.metadata, doc.lifecycle, body)
        }
        Kind::Secret => {
            let doc: SecretDoc = read(json, span, diags)?;
            let source = secret_source(&doc, origin, name_span, diags)?;
            typed(doc.metadata, doc.lifecycle, Body::Secret { source })
        }
        Kind::Group => {
            let doc: GroupDoc = read(json, span, diags)?;
            typed(doc.metadata, doc.lifecycle, Body::Group { spec: Box::new(doc.spec) })
        }
        Kind::Policy => {
            let doc: PolicyDoc = read(json, span, diags)?;
            typed(doc.metadata, doc.lifecycle, Body::Policy { spec: Box::new(doc.spec) })
        }
        Kind::Membership => {
            let mut doc: MembershipDoc = read(json, span, diags)?;
            refuse_membership_metadata(&doc.metadata, origin, diags)?;
            // CreateMembership stores UNKNOWN as USER (cordium `mains/membership.go`).
            if doc.spec.role == MembershipRole::Unknown {
                doc.spec.role = MembershipRole::User;
            }
            typed(doc.metadata, doc.lifecycle, Body::Membership { spec: doc.spec })
        }
        Kind::GitProvider => {
            let doc: GitProviderDoc = read(json, span, diags)?;
            typed(doc.metadata, doc.lifecycle, Body::GitProvider { spec: Box::new(doc.spec) })
        }
        Kind::Volume => {
            let mut doc: VolumeDoc = read(json, span, diags)?;
            // CreateVolume's defaults (cordium `mains/volume.go`): the cluster's default size
            // (10000 MB unless its ClusterConfig says otherwise) and EXCLUSIVE access, stored
            // as such, so a config that leaves them out plans clean against what it created.
            if doc.spec.size.as_ref().is_none_or(|s| s.megabytes == 0) {
                doc.spec.size = Some(VolumeSize { megabytes: DEFAULT_VOLUME_MEGABYTES });
            }
            if doc.spec.access_mode == VolumeAccessMode::Unset {
                doc.spec.access_mode = VolumeAccessMode::Exclusive;
            }
            typed(doc.metadata, doc.lifecycle, Body::Volume { spec: doc.spec })
        }
    })
}

/// `specFrom` is resolved by the YAML loader; one that reaches the decoder was written in HCL
/// (`spec_from = ...`), where `spec = yamldecode(file(...))` is the way.
fn refuse_spec_from(set: bool, origin: &Origin, diags: &mut Diagnostics) -> Option<()> {
    if !set {
        return Some(());
    }
    diags.push(
        Diagnostic::error("spec-from", "`spec_from` is for YAML documents")
            .at(origin.span_of("specFrom"))
            .help("in HCL, write `spec = yamldecode(file(\"templates/python.yaml\"))`"),
    );
    None
}

/// The size a Volume gets when its spec names none (cordium `mains/volume.go`
/// `defaultVolumeMegabytes`).
pub const DEFAULT_VOLUME_MEGABYTES: u32 = 10_000;

/// A Membership keeps no metadata but its name (CreateMembership builds it from the name alone,
/// UpdateMembership copies the role only): anything else would never converge.
fn refuse_membership_metadata(
    meta: &DocMetadata,
    origin: &Origin,
    diags: &mut Diagnostics,
) -> Option<()> {
    let set = [
        ("displayName", !meta.display_name.is_empty()),
        ("description", !meta.description.is_empty()),
        ("labels", !meta.labels.is_empty()),
        ("annotations", !meta.annotations.is_empty()),
        ("tags", !meta.tags.is_empty()),
        ("picURL", !meta.pic_url.is_empty()),
    ];
    let Some((field, _)) = set.iter().find(|(_, on)| *on) else { return Some(()) };
    diags.push(
        Diagnostic::error(
            "membership-metadata",
            format!("a Membership keeps no `{field}`: the server stores its name and role only"),
        )
        .at(origin.span_of(&format!("metadata.{field}")))
        .help(format!("remove `{field}`")),
    );
    None
}

/// A Workspace's displayName is its config name: setting it is an error.
fn refuse_workspace_display_name(
    meta: &DocMetadata,
    origin: &Origin,
    diags: &mut Diagnostics,
) -> Option<()> {
    if meta.display_name.is_empty() {
        return Some(());
    }
    diags.push(
        Diagnostic::error(
            "workspace-display-name",
            "a Workspace's displayName is its config name; it cannot be set",
        )
        .at(origin.span_of("metadata.displayName"))
        .help("remove `displayName`; the first part of `metadata.name` is used"),
    );
    None
}

/// Where a Secret's value comes from: exactly one of `fromEnv` and `fromFile`.
fn secret_source(
    doc: &SecretDoc,
    origin: &Origin,
    name_span: Span,
    diags: &mut Diagnostics,
) -> Option<SecretSource> {
    match (&doc.from_env, &doc.from_file) {
        (Some(env), None) => Some(SecretSource::Env(env.clone())),
        (None, Some(file)) => Some(SecretSource::File(file.clone())),
        (Some(_), Some(_)) => {
            diags.push(
                Diagnostic::error(
                    "secret-source",
                    "a Secret takes its value from `fromEnv` or `fromFile`, not both",
                )
                .at(origin.span_of("fromFile")),
            );
            None
        }
        (None, None) => {
            diags.push(
                Diagnostic::error(
                    "secret-source",
                    "a Secret needs `fromEnv` or `fromFile`: where apply reads its value",
                )
                .at(name_span)
                .help("add `fromEnv: ENV_VAR` or `fromFile: path/to/file`"),
            );
            None
        }
    }
}

fn doc_kind(node: &Node, span: Span, diags: &mut Diagnostics) -> Option<Kind> {
    let Some((key, value)) = node.entry("kind") else {
        diags.push(
            Diagnostic::error("missing-kind", "this document has no `kind`")
                .at(Span::new(span.file, span.start, span.start))
                .help(format!("add `kind:` with one of: {}", kinds_list())),
        );
        return None;
    };
    let _ = key;
    let Some(s) = value.as_str() else {
        diags.push(
            Diagnostic::error(
                "wrong-type",
                format!("wrong type for `kind`: expected a string, found {}", value.type_name()),
            )
            .at(value.span)
            .help(format!("use one of: {}", kinds_list())),
        );
        return None;
    };
    match Kind::from_api_kind(s) {
        Some(k) => Some(k),
        None => {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.api_kind()).collect();
            let mut help = format!("the kinds are: {}", kinds_list());
            if let Some(m) = did_you_mean(s, names.iter().copied()) {
                help = format!("did you mean `{m}`? {help}");
            }
            diags.push(
                Diagnostic::error("unknown-kind", format!("unknown kind `{s}`"))
                    .at(value.span)
                    .help(help),
            );
            None
        }
    }
}

fn check_api_version(node: &Node, kind: Kind, diags: &mut Diagnostics) {
    let Some(value) = node.get("apiVersion") else { return };
    let Some(v) = value.as_str() else { return };
    let want = kind.api_version();
    if v != want {
        diags.push(
            Diagnostic::error(
                "api-version",
                format!("a {} has apiVersion `{want}`, not `{v}`", kind.api_kind()),
            )
            .at(value.span)
            .help(format!("write `apiVersion: {want}` or leave it out")),
        );
    }
}

fn metadata(m: &DocMetadata) -> Metadata {
    Metadata {
        display_name: m.display_name.clone(),
        description: m.description.clone(),
        labels: m.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        annotations: m.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        tags: m.tags.clone(),
        pic_url: m.pic_url.clone(),
    }
}

/// Reads a document's `metadata.name` per kind: the address, and for a Workspace the display
/// name it stands for. `Err` holds a hint on the expected form. Segment rules are checked by
/// validation, not here.
pub fn parse_name(kind: Kind, name: &str) -> Result<(Address, Option<String>), String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(expected_form(kind));
    }
    match (kind, parts.as_slice()) {
        (Kind::Space, [space]) => Ok((Address::space(*space), None)),
        (Kind::Space, [space, owner]) if *owner == ORGANIZATION_OWNER => {
            Ok((Address::space(*space), None))
        }
        (Kind::User, [user]) => Ok((Address::user(*user), None)),
        (Kind::Group | Kind::Policy, [name]) => {
            Ok((Address { kind, space: None, name: (*name).to_string() }, None))
        }
        (Kind::Template | Kind::Secret, [name, space]) => {
            Ok((Address::in_space(kind, *space, *name), None))
        }
        (Kind::Membership | Kind::GitProvider | Kind::Volume, [name, space]) => {
            Ok((Address::in_space(kind, *space, *name), None))
        }
        (Kind::Workspace, [name, space]) => {
            Ok((Address::in_space(kind, *space, *name), Some((*name).to_string())))
        }
        _ => Err(expected_form(kind)),
    }
}

fn expected_form(kind: Kind) -> String {
    match kind {
        Kind::Space => {
            "a Space is named `<space>`, or `<space>.cordium` for an organisation Space".to_string()
        }
        Kind::User => "a User is named `<name>`, without dots".to_string(),
        Kind::Group => "a Group is named `<name>`, without dots".to_string(),
        // Upstream also has child Policies (`<child>.<parent>`); cordium declares top-level
        // Policies only.
        Kind::Policy => {
            "a Policy is named `<name>`, without dots (child Policies are not managed by cordium)"
                .to_string()
        }
        Kind::Template => "a Template is named `<template>.<space>`, e.g. `gpu.ml`".to_string(),
        Kind::Secret => "a Secret is named `<secret>.<space>`, e.g. `wandb.ml`".to_string(),
        Kind::Workspace => "a Workspace is named `<name>.<space>`, e.g. `agent-box.ml`".to_string(),
        Kind::Membership => {
            "a Membership is named `<username>.<space>`, e.g. `alice.platform`".to_string()
        }
        Kind::GitProvider => {
            "a GitProvider is named `<provider>.<space>`, e.g. `github.platform`".to_string()
        }
        Kind::Volume => "a Volume is named `<volume>.<space>`, e.g. `datasets.ml`".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::diag::Sources;
    use std::sync::Arc;

    fn decode_str(text: &str) -> (Option<Resource>, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let id = sources.add("t.yaml", text);
        let mut d = Diagnostics::new();
        let mut docs = yaml::parse(id, text, &mut d);
        let doc = docs.remove(0);
        let r = decode(doc.node, doc.span, &mut d);
        (r, d.into_vec())
    }

    #[test]
    fn names_map_to_addresses_per_kind() {
        let cases = [
            (Kind::Space, "ml", "space.ml"),
            (Kind::Space, "ml.cordium", "space.ml"),
            (Kind::Template, "gpu.ml", "template.ml.gpu"),
            (Kind::Secret, "k.ml", "secret.ml.k"),
            (Kind::Workspace, "box.ml", "workspace.ml.box"),
            (Kind::User, "agent-1", "user.agent-1"),
        ];
        for (kind, name, want) in cases {
            assert_eq!(parse_name(kind, name).map(|(a, _)| a.to_string()), Ok(want.to_string()));
        }
        for (kind, name) in
            [(Kind::Space, "ml.alice"), (Kind::Template, "gpu"), (Kind::User, "a.b")]
        {
            assert!(parse_name(kind, name).is_err(), "{name}");
        }
    }

    #[test]
    fn a_workspace_takes_its_display_name_from_its_name() {
        let (r, d) = decode_str("kind: Workspace\nmetadata: {name: box.ml}\ntemplate: gpu\n");
        assert!(d.is_empty(), "{d:?}");
        let r = r.expect("decodes");
        assert_eq!(r.metadata.display_name, "box");
        assert!(matches!(r.body, Body::Workspace { template: Some(ref t), .. } if t == "gpu"));
    }

    #[test]
    fn organisation_spaces_and_status_warnings() {
        let (r, d) = decode_str(
            "apiVersion: cordium/v1\nkind: Space\nmetadata: {name: ml.cordium}\nstatus: {x: 1}\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "status-ignored");
        assert!(matches!(r.expect("decodes").body, Body::Space { organization: true, .. }));
    }

    #[test]
    fn secrets_never_hold_values() {
        let (r, d) = decode_str("kind: Secret\nmetadata: {name: k.ml}\ndata: {value: hunter2}\n");
        assert!(r.is_none());
        assert_eq!(d[0].code, "secret-value");
        assert_eq!(d[0].address.as_deref(), Some("secret.ml.k"));
    }

    #[test]
    fn foreign_kinds_are_told_from_typos_and_wrong_versions() {
        let node = |text: &str| {
            let mut sources = Sources::new();
            let id = sources.add("t.yaml", text);
            yaml::parse(id, text, &mut Diagnostics::new()).remove(0).node
        };
        let cases = [
            ("kind: Service\nmetadata: {name: x}\n", Some("Service")),
            ("apiVersion: core/v1\nkind: Namespace\n", Some("Namespace")),
            ("apiVersion: core/v1\nkind: Secret\n", Some("Secret")),
            ("apiVersion: core/v1\nkind: Templte\n", Some("Templte")),
            // A near miss with no apiVersion is a typo of ours; a wrong version of ours is ours.
            ("kind: Templte\n", None),
            ("apiVersion: v1\nkind: Space\n", None),
            ("apiVersion: core/v1\nkind: Group\n", None),
            ("kind: Policy\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(foreign_kind(&node(text)).as_deref(), want, "{text}");
        }
        assert!(is_bare_spec(&node("spec:\n  image: {}\n")));
        assert!(!is_bare_spec(&node("kind: Template\nspec: {}\n")));
    }

    /// Enough documents to be decoded on several threads: the same model and the same
    /// diagnostics, in the same order, as one document at a time would give, taken or copied.
    #[test]
    fn many_documents_decode_in_file_order() {
        let mut text = String::new();
        for i in 0..(2 * PARALLEL_FROM) {
            text.push_str(&format!("kind: User\nmetadata: {{name: u{i:04}}}\nspec: {{type: WORKLOAD}}\nstatus: {{}}\n---\n"));
        }
        text.push_str(
            "kind: User\nmetadata: {name: u0007}\nspec: {type: WORKLOAD}\n---\nkind: User\nmetadata: {name: a.b}\n",
        );
        let mut loaded = Loaded::default();
        let text: Arc<str> = text.into();
        let file = loaded.sources.add("t.yaml", text.clone());
        let docs = crate::config::yaml_docs(file, &text, &mut loaded.diagnostics);
        loaded.docs.extend(docs);
        let (model, diags) = build(&loaded);
        let mut one_by_one = Diagnostics::new();
        let mut want = Vec::new();
        for doc in &loaded.docs {
            want.extend(decode(doc.node.clone(), doc.span, &mut one_by_one));
        }
        assert_eq!(model.len(), 2 * PARALLEL_FROM);
        assert!(model.resources.windows(2).all(|w| w[0].address < w[1].address));
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes.iter().filter(|c| **c == "status-ignored").count(), 2 * PARALLEL_FROM);
        assert_eq!(codes.len(), 2 * PARALLEL_FROM + 2, "{:?}", &codes[2 * PARALLEL_FROM..]);
        assert_eq!(codes[2 * PARALLEL_FROM..], ["bad-name", "duplicate-resource"]);
        let starts: Vec<usize> = diags
            .iter()
            .filter(|d| d.code == "status-ignored")
            .filter_map(|d| d.span.map(|s| s.start))
            .collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "in file order");
        let first: Vec<&str> = one_by_one.iter().map(|d| d.code).collect();
        assert_eq!(first[..], codes[..first.len()], "decode's diagnostics, in order");
        assert_eq!(want.len(), 2 * PARALLEL_FROM + 1);
        let (owned, owned_diags) = build_owned(&mut loaded);
        assert_eq!(owned, model);
        assert_eq!(owned_diags.into_vec(), diags.into_vec());
    }

    /// A resource that reads its document again sees the tree decoding left (snake_case keys
    /// renamed, nulls, `status` and a Secret's values dropped, numbers from strings) with the
    /// spans the kept tree has, and the same references.
    #[test]
    fn a_document_read_again_is_the_tree_decoding_kept() {
        let text = "kind: Space\nmetadata: {name: ml}\n---\nkind: Template\nmetadata:\n  name: tpl.ml\n  labels: {ab: cd}\nstatus: {x: 1}\nspec:\n  image: {registry: {url: python}}\n  git_provider: gh\n  runtime:\n    env_vars: [{key: K, value: v, from_secret: null}, {key: S, fromSecret: tok}]\n    volumeMounts: [{volumeRef: {name: data}, mountPath: /d}]\n  limit: {cpu: {millicores: '1000'}}\n---\nkind: Secret\nmetadata: {name: tok.ml}\nfromEnv: TOK\ndata: {value: x}\n";
        let text: Arc<str> = text.into();
        let mut sources = Sources::new();
        let file = sources.add("t.yaml", text.clone());
        let docs = crate::config::yaml_docs(file, &text, &mut Diagnostics::new());
        assert_eq!(docs.len(), 3);
        for doc in docs {
            let (mut d1, mut d2) = (Diagnostics::new(), Diagnostics::new());
            let kept = decode(doc.node.clone(), doc.span, &mut d1).expect("decodes");
            let again = decode_from(doc.node, doc.span, doc.reparse, &mut d2).expect("decodes");
            assert_eq!(d1.into_vec(), d2.into_vec());
            assert!(kept.origin.keeps_tree() && !again.origin.keeps_tree());
            let tree = |r: &Resource| r.origin.with_doc(Node::clone);
            assert_eq!(tree(&kept), tree(&again), "{}", kept.address);
            assert_eq!(kept.origin.refs, again.origin.refs);
            assert_eq!(kept.origin.name_len, again.origin.name_len);
            assert_eq!((kept.body, kept.metadata), (again.body, again.metadata));
        }
        // The Secret's `data` is an error; the model is built all the same.
        let (model, _) = crate::model::testing::load_yaml(&text);
        let t = model.get(&"template.ml.tpl".parse().expect("address")).expect("template");
        let shown = |path: &str| {
            let span = t.origin.span_of(path);
            text[span.start..span.end].to_string()
        };
        assert_eq!(shown("spec.runtime.envVars[0].value"), "v");
        assert_eq!(shown("spec.limit.cpu.millicores"), "'1000'");
        assert_eq!(shown("spec.gitProvider"), "gh");
        let refs: Vec<(Kind, &str, &str)> = t
            .origin
            .refs
            .iter()
            .map(|r| (r.kind, r.name.as_str(), &text[r.span.start..r.span.end]))
            .collect();
        assert_eq!(
            refs,
            [
                (Kind::Secret, "tok", "tok"),
                (Kind::GitProvider, "gh", "gh"),
                (Kind::Volume, "data", "data")
            ]
        );
        assert_eq!(t.origin.name_len, 6);
    }

    #[test]
    fn unknown_kinds_list_the_kinds() {
        let (r, d) = decode_str("kind: Templte\nmetadata: {name: x}\n");
        assert!(r.is_none());
        assert!(d[0].help.as_deref().unwrap_or("").contains("did you mean `Template`"), "{d:?}");
    }
}
