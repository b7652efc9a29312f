//! `moved` blocks (HCL `moved { from = workspace.ml.old  to = workspace.ml.new }`, YAML a
//! document `kind: Moved` with `from` and `to`): a resource renamed in the config is the same
//! object on the cluster, so the plan updates it instead of destroying and creating it.
//!
//! Only kinds the server names itself and finds by a display name (Workspaces) can be renamed
//! in place: UpdateWorkspace replaces `displayName`. A kind whose stored name is its identity
//! (Space, Template, Secret, User) cannot: its Update RPC finds the object by that name and
//! never changes it, so a `moved` block for one is an error that says so. Pure.

use std::collections::BTreeMap;

use crate::config::{Loaded, RawDoc};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use crate::kind::Address;

use super::Model;

/// One resolved move: the live object at `from` is the declared resource `to` (a chain
/// `a → b`, `b → c` resolves to `a → c` and `b → c`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: Address,
    pub to: Address,
    /// The `moved` block.
    pub span: Span,
}

/// True for a `moved` document (either format): it is not a resource.
pub fn is_move(doc: &RawDoc) -> bool {
    doc.node.get("kind").and_then(|k| k.as_str()) == Some("Moved")
}

/// One block as written.
struct Written {
    from: Address,
    from_span: Span,
    to: Address,
    to_span: Span,
    span: Span,
}

/// The config's moves, checked against the model; problems are pushed to `diags` and the
/// offending blocks left out.
pub fn read(loaded: &Loaded, model: &Model, diags: &mut Diagnostics) -> Vec<Move> {
    let mut written: Vec<Written> = Vec::new();
    let mut by_from: BTreeMap<Address, Span> = BTreeMap::new();
    for doc in loaded.docs.iter().filter(|d| is_move(d)) {
        let Some(w) = parse(doc, diags) else { continue };
        if let Some(problem) = refusal(&w) {
            diags.push(problem);
            continue;
        }
        if let Some(first) = by_from.get(&w.from) {
            diags.push(
                Diagnostic::error("moved-twice", format!("`{}` is moved twice.", w.from))
                    .at(w.from_span)
                    .related(*first, "first moved here")
                    .help("An object can move to one new address: keep one of the two blocks."),
            );
            continue;
        }
        if let Some(declared) = model.get(&w.from) {
            diags.push(
                Diagnostic::error(
                    "moved-from-declared",
                    format!("`{}` is moved, but it is still declared.", w.from),
                )
                .at(w.from_span)
                .related(declared.origin.span, "declared here")
                .help("`from` is the old address: rename the resource to `to`, or remove the moved block."),
            );
            continue;
        }
        by_from.insert(w.from.clone(), w.from_span);
        written.push(w);
    }
    let next: BTreeMap<&Address, &Written> = written.iter().map(|w| (&w.from, w)).collect();
    let mut out = Vec::new();
    for w in &written {
        // Follow the chain to its end; a cycle comes back to where it started.
        let mut to = &w.to;
        let mut steps = 0;
        let mut cycle = false;
        while let Some(n) = next.get(to) {
            to = &n.to;
            steps += 1;
            if to == &w.from || steps > written.len() {
                cycle = true;
                break;
            }
        }
        if cycle {
            diags.push(
                Diagnostic::error(
                    "moved-cycle",
                    format!("The moves from `{}` come back to it.", w.from),
                )
                .at(w.span)
                .help(
                    "Moves may chain (a to b, b to c) but not loop: remove one block of the loop.",
                ),
            );
            continue;
        }
        if model.get(to).is_none() {
            let names: Vec<String> =
                model.of_kind(to.kind).map(|r| r.address.to_string()).collect();
            let shown = to.to_string();
            let help = match did_you_mean(&shown, names.iter().map(String::as_str)) {
                Some(s) => format!("Did you mean `{s}`?"),
                None => format!("`to` must be a {} the config declares.", to.kind),
            };
            diags.push(
                Diagnostic::error(
                    "moved-to-unknown",
                    format!("`{shown}` is moved to, but the config does not declare it."),
                )
                .at(w.to_span)
                .help(help),
            );
            continue;
        }
        out.push(Move { from: w.from.clone(), to: to.clone(), span: w.span });
    }
    out
}

fn parse(doc: &RawDoc, diags: &mut Diagnostics) -> Option<Written> {
    let field = |name: &str, diags: &mut Diagnostics| -> Option<(Address, Span)> {
        let Some(node) = doc.node.get(name) else {
            diags.push(
                Diagnostic::error("missing-field", format!("A `moved` block needs `{name}`."))
                    .at(doc.span)
                    .help("Write `moved { from = workspace.ml.old  to = workspace.ml.new }`."),
            );
            return None;
        };
        let text = node.as_str().unwrap_or_default();
        match text.trim_matches('"').parse::<Address>() {
            Ok(a) => Some((a, node.span)),
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "invalid-address",
                        format!("`{name}` is not an address: {e}."),
                    )
                    .at(node.span)
                    .help("Write the resource's address, e.g. `workspace.ml.old`."),
                );
                None
            }
        }
    };
    let from = field("from", diags);
    let to = field("to", diags);
    let ((from, from_span), (to, to_span)) = (from?, to?);
    Some(Written { from, from_span, to, to_span, span: doc.span })
}

/// Why the server cannot do this rename, if it cannot.
fn refusal(w: &Written) -> Option<Diagnostic> {
    let error = |code: &'static str, message: String, help: &str| {
        Some(Diagnostic::error(code, message).at(w.span).help(help.to_string()))
    };
    if w.from == w.to {
        return error(
            "moved-to-itself",
            format!("`{}` is moved to itself.", w.from),
            "Remove the block.",
        );
    }
    if w.from.kind != w.to.kind {
        return error(
            "moved-kind",
            format!("A {} cannot move to a {}.", w.from.kind.api_kind(), w.to.kind.api_kind()),
            "`from` and `to` must be of one kind.",
        );
    }
    if !w.from.kind.server_named() {
        let api = w.from.kind.api_kind();
        return error(
            "moved-unsupported",
            format!(
                "A {api} cannot be renamed on the server: its stored name is its identity \
                 (Update{api} finds it by that name and never changes it)."
            ),
            "Remove the moved block: the plan then destroys the old one and creates the new one, and shows both.",
        );
    }
    if w.from.space != w.to.space {
        return error(
            "moved-space",
            format!("`{}` cannot move to another Space.", w.from),
            "UpdateWorkspace keeps a Workspace in its Space: moving it is a destroy and a create; remove the moved block.",
        );
    }
    None
}
