//! Checks that need the whole config: names, metadata rules (API reference §3–4), the reserved
//! ownership label, duplicate addresses, references between resources and dependency cycles.
//! Per-resource spec rules live in [`super::rules`]. Collects every problem; pure: no I/O.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::config::tree::{Node, PathSeg};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};

use super::{graph, rules, Address, Body, Kind, Model, Resource};

/// The label `apply` puts on every object it creates; users may not set it.
pub const STACK_LABEL: &str = "cordium-stack";

/// The prefix of the Space annotations that record the Workspaces a stack created
/// (`live::record`): `cws-` and a Workspace uid's 32 hex digits. Users may not set such keys.
pub const WORKSPACE_RECORD_PREFIX: &str = "cws-";

/// True for a Workspace ownership record key (see [`WORKSPACE_RECORD_PREFIX`]).
pub fn is_workspace_record_key(k: &str) -> bool {
    k.strip_prefix(WORKSPACE_RECORD_PREFIX).is_some_and(|hex| {
        hex.len() == 32 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The annotation `apply` puts on every object it writes (labelled kinds): a digest of the
/// canonical document it sent, so `drift` and `plan` can tell a change made outside cordium
/// from a change of the config (docs/drift.md). Users may not set it.
pub const APPLIED_ANNOTATION: &str = "cordium-applied";

/// The Template the server creates with every Space.
pub const DEFAULT_TEMPLATE: &str = "default";

/// Longest full name the server accepts.
pub const MAX_NAME_LEN: usize = 128;
/// Most labels, annotations or tags on one object.
pub const MAX_ENTRIES: usize = 64;
pub const MAX_DISPLAY_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_ANNOTATION_VALUE: usize = 63;

fn segment_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Invariant: a constant, valid pattern.
    #[allow(clippy::unwrap_used)]
    RE.get_or_init(|| Regex::new(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$").unwrap())
}

fn label_value_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Invariant: a constant, valid pattern.
    #[allow(clippy::unwrap_used)]
    RE.get_or_init(|| Regex::new(r"^[a-z0-9][a-z0-9-]{0,31}$").unwrap())
}

/// Whether `s` is a valid name segment (`ml`, `agent-1`): 2–40 characters, lowercase letters,
/// digits and dashes, starting with a letter, not ending with a dash, no `--`.
pub fn is_segment(s: &str) -> bool {
    segment_re().is_match(s) && !s.contains("--")
}

const SEGMENT_HELP: &str = "use 2 to 40 lowercase letters, digits and dashes, starting with a \
                            letter, ending with a letter or digit, without `--`";

/// Runs every whole-config check and returns the model: resources sorted by address, one per
/// address (the first definition wins).
pub fn validate(resources: Vec<Resource>, diags: &mut Diagnostics) -> Model {
    // Sorted in place (a resource is large: no second collection of them is built).
    let mut resources = resources;
    let mut first: std::collections::HashMap<&Address, usize> =
        std::collections::HashMap::with_capacity(resources.len());
    let mut duplicate = vec![false; resources.len()];
    for (i, r) in resources.iter().enumerate() {
        match first.get(&r.address) {
            Some(&f) => {
                duplicate[i] = true;
                diags.push(
                    Diagnostic::error(
                        "duplicate-resource",
                        format!("{} is declared twice", r.address),
                    )
                    .at(r.origin.span_of("metadata.name"))
                    .address(r.address.to_string())
                    .related(resources[f].origin.span_of("metadata.name"), "first declared here")
                    .help("rename one of them or remove the duplicate"),
                )
            }
            None => {
                first.insert(&r.address, i);
            }
        }
    }
    drop(first);
    if duplicate.contains(&true) {
        let mut i = 0;
        resources.retain(|_| {
            i += 1;
            !duplicate[i - 1]
        });
    }
    resources.sort_unstable_by(|a, b| a.address.cmp(&b.address));
    let model = Model { resources, imports: Vec::new() };
    for r in &model.resources {
        let mut local = Diagnostics::new();
        check_name(r, &mut local);
        check_metadata(r, &mut local);
        rules::check(r, &mut local);
        check_references(r, &model, &mut local);
        for mut d in local {
            d.address.get_or_insert_with(|| r.address.to_string());
            diags.push(d);
        }
    }
    if let Some(cycle) = graph::cycle(&model) {
        let path: Vec<String> = cycle.iter().map(Address::to_string).collect();
        let mut d = Diagnostic::error(
            "dependency-cycle",
            format!("these resources depend on each other in a cycle: {}", path.join(" → ")),
        );
        if let Some(first) = cycle.first().and_then(|a| model.get(a)) {
            d = d.at(first.origin.span).address(first.address.to_string());
        }
        for a in cycle.iter().skip(1).take(cycle.len().saturating_sub(2)) {
            if let Some(r) = model.get(a) {
                d = d.related(r.origin.span, format!("{a} is part of the cycle"));
            }
        }
        diags.push(d.help("break the cycle by removing one of the references"));
    }
    model
}

fn name_span(r: &Resource) -> Span {
    r.origin.span_of("metadata.name")
}

/// The span of a key (not its value) in the document, falling back to the nearest ancestor.
fn key_span(doc: &Node, parent: &[&str], key: &str) -> Span {
    let path: Vec<PathSeg> = parent.iter().map(|p| PathSeg::Key((*p).to_string())).collect();
    let node = doc.find(&path);
    node.entry(key).map(|(k, _)| k.span).unwrap_or(node.span)
}

fn check_name(r: &Resource, diags: &mut Diagnostics) {
    // Found only for a problem: a span is a document read again.
    let span = || name_span(r);
    let mut segments = vec![("name", r.address.name.as_str())];
    if let Some(space) = &r.address.space {
        segments.push(("Space name", space.as_str()));
    }
    for (what, s) in segments {
        if !is_segment(s) {
            diags.push(
                Diagnostic::error(
                    "bad-name",
                    format!("`{s}` is not a valid {what} for a {}", r.kind().api_kind()),
                )
                .at(span())
                .help(SEGMENT_HELP),
            );
        }
    }
    let full = r.origin.name_len;
    if full > MAX_NAME_LEN {
        diags.push(
            Diagnostic::error(
                "bad-name",
                format!("this name is {full} characters long; the limit is {MAX_NAME_LEN}"),
            )
            .at(span()),
        );
    }
    if r.kind() == Kind::Template && r.address.name == DEFAULT_TEMPLATE {
        diags.push(
            Diagnostic::error(
                "default-template",
                "the Template `default` cannot be declared: the server creates it with each Space",
            )
            .at(span())
            .help("give this Template another name and point Workspaces at it with `template:`"),
        );
    }
}

fn check_metadata(r: &Resource, diags: &mut Diagnostics) {
    check_metadata_sizes(r, diags);
    check_labels(r, diags);
    check_annotations(r, diags);
    check_tags(r, diags);
}

/// Display name and description lengths, and how many labels, annotations and tags.
fn check_metadata_sizes(r: &Resource, diags: &mut Diagnostics) {
    let m = &r.metadata;
    // A Workspace's display name is its config name, checked as a name already.
    if !r.kind().server_named() && m.display_name.chars().count() > MAX_DISPLAY_NAME {
        diags.push(
            Diagnostic::error(
                "metadata",
                format!("displayName is longer than {MAX_DISPLAY_NAME} characters"),
            )
            .at(r.origin.span_of("metadata.displayName")),
        );
    }
    if m.description.chars().count() > MAX_DESCRIPTION {
        diags.push(
            Diagnostic::error(
                "metadata",
                format!("description is longer than {MAX_DESCRIPTION} characters"),
            )
            .at(r.origin.span_of("metadata.description")),
        );
    }
    for (field, count) in
        [("labels", m.labels.len()), ("annotations", m.annotations.len()), ("tags", m.tags.len())]
    {
        if count > MAX_ENTRIES {
            diags.push(
                Diagnostic::error(
                    "metadata",
                    format!("{count} {field}; at most {MAX_ENTRIES} are allowed"),
                )
                .at(r.origin.span_of(&format!("metadata.{field}"))),
            );
        }
    }
}

/// Label keys and values, and the reserved ownership label.
fn check_labels(r: &Resource, diags: &mut Diagnostics) {
    let m = &r.metadata;
    // Spans are looked up only for a key that has a problem: finding one is a scan of the map
    // (and reads the document again), and doing it for every key made 100,000 labels quadratic.
    for (k, v) in &m.labels {
        let at = || r.origin.with_doc(|doc| key_span(doc, &["metadata", "labels"], k));
        if k == STACK_LABEL {
            diags.push(
                Diagnostic::error(
                    "reserved-label",
                    format!(
                        "the label `{STACK_LABEL}` is reserved: apply sets it to the stack name"
                    ),
                )
                .at(at())
                .help("remove it; the stack name comes from the stack file"),
            );
            continue;
        }
        if !is_segment(k) {
            diags.push(
                Diagnostic::error("label", format!("`{k}` is not a valid label key"))
                    .at(at())
                    .help(SEGMENT_HELP),
            );
        }
        if !label_value_re().is_match(v) {
            let value_span = r.origin.with_doc(|doc| {
                doc.get("metadata")
                    .and_then(|m| m.get("labels"))
                    .and_then(|l| l.get(k))
                    .map(|n| n.span)
                    .unwrap_or_else(|| key_span(doc, &["metadata", "labels"], k))
            });
            diags.push(
                Diagnostic::error("label", format!("`{v}` is not a valid value for label `{k}`"))
                    .at(value_span)
                    .help(
                        "use 1 to 32 lowercase letters, digits and dashes, starting with a \
                         letter or digit",
                    ),
            );
        }
    }
}

/// Annotation keys and value lengths.
fn check_annotations(r: &Resource, diags: &mut Diagnostics) {
    let m = &r.metadata;
    for (k, v) in &m.annotations {
        let at = || r.origin.with_doc(|doc| key_span(doc, &["metadata", "annotations"], k));
        if !is_segment(k) {
            diags.push(
                Diagnostic::error("annotation", format!("`{k}` is not a valid annotation key"))
                    .at(at())
                    .help(SEGMENT_HELP),
            );
        }
        if v.chars().count() > MAX_ANNOTATION_VALUE {
            diags.push(
                Diagnostic::error(
                    "annotation",
                    format!(
                        "the value of annotation `{k}` is longer than {MAX_ANNOTATION_VALUE} \
                         characters"
                    ),
                )
                .at(at()),
            );
        }
    }
}

/// Tags are valid segments, each listed once.
fn check_tags(r: &Resource, diags: &mut Diagnostics) {
    let m = &r.metadata;
    let mut seen = BTreeSet::new();
    for (i, t) in m.tags.iter().enumerate() {
        let at = || r.origin.span_of(&format!("metadata.tags[{i}]"));
        if !is_segment(t) {
            diags.push(
                Diagnostic::error("tag", format!("`{t}` is not a valid tag"))
                    .at(at())
                    .help(SEGMENT_HELP),
            );
        }
        if !seen.insert(t) {
            diags.push(Diagnostic::error("tag", format!("the tag `{t}` is listed twice")).at(at()));
        }
    }
}

fn check_references(r: &Resource, model: &Model, diags: &mut Diagnostics) {
    let Some(space) = space_of(r) else { return };
    let space_addr = Address::space(space);
    if r.kind().in_space() && model.get(&space_addr).is_none() {
        let spaces: Vec<&str> =
            model.of_kind(Kind::Space).map(|s| s.address.name.as_str()).collect();
        let mut help = format!(
            "declare it (`kind: Space`, `metadata.name: {space}`); cordium manages only declared \
             Spaces"
        );
        if let Some(m) = did_you_mean(space, spaces.iter().copied()) {
            help = format!("did you mean `{m}`? Or {help}");
        }
        diags.push(
            Diagnostic::error("unknown-space", format!("the Space `{space}` is not declared"))
                .at(name_span(r))
                .help(help),
        );
    }
    if let Body::Workspace { template: Some(t), .. } = &r.body {
        let addr = Address::in_space(Kind::Template, space, t.clone());
        if t != DEFAULT_TEMPLATE && model.get(&addr).is_none() {
            let names: Vec<&str> = model
                .of_kind(Kind::Template)
                .filter(|x| x.address.space.as_deref() == Some(space))
                .map(|x| x.address.name.as_str())
                .collect();
            let mut help = format!(
                "declare `kind: Template` named `{t}.{space}`, or use `default` (every Space has one)"
            );
            if let Some(m) = did_you_mean(t, names.iter().copied()) {
                help = format!("did you mean `{m}`? Or {help}");
            }
            diags.push(
                Diagnostic::error(
                    "unknown-template",
                    format!("the Template `{t}` is not declared in Space `{space}`"),
                )
                .at(r.origin.span_of("template"))
                .help(help),
            );
        }
    }
    if r.kind() == Kind::Membership {
        let organization = matches!(
            model.get(&space_addr).map(|s| &s.body),
            Some(Body::Space { organization: true, .. })
        );
        if model.get(&space_addr).is_some() && !organization {
            diags.push(
                Diagnostic::error(
                    "membership-user-space",
                    format!("the Space `{space}` is a USER Space: it cannot have Members"),
                )
                .at(name_span(r))
                .help(
                    "Memberships are for organisation Spaces (`organization = true`, stored as `<space>.cordium`); the server refuses \"Cannot add Members to User Spaces for now\"",
                ),
            );
        }
    }
    for secret in r.origin.secret_refs() {
        let name = secret.name.as_str();
        if name.is_empty() {
            continue; // reported by the spec rules
        }
        let addr = Address::in_space(Kind::Secret, space, name);
        if model.get(&addr).is_none() {
            diags.push(
                Diagnostic::warning(
                    "unknown-secret",
                    format!("the Secret `{name}` is not declared in Space `{space}`"),
                )
                .at(secret.span)
                .help(format!(
                    "declare it (`kind: Secret`, `metadata.name: {name}.{space}`), or ignore \
                     this if it is created outside cordium"
                )),
            );
        }
    }
}

/// The Space whose Secrets and Templates a resource refers to (a Space refers to its own).
fn space_of(r: &Resource) -> Option<&str> {
    match r.kind() {
        Kind::Space => Some(r.address.name.as_str()),
        _ => r.address.space.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_server_rules() {
        for ok in ["ml", "agent-1", "a1", &"a".repeat(40)] {
            assert!(is_segment(ok), "{ok}");
        }
        for bad in ["a", "1a", "a-", "a--b", "A", "a_b", "a.b", &"a".repeat(41), ""] {
            assert!(!is_segment(bad), "{bad}");
        }
    }
}
