//! `specFrom:` (ours, YAML): a Template or Workspace document whose `spec` is a bare spec file
//! as the Cordium docs write them (a file holding only `spec:`, for `cordium create template
//! NAME -f`). The path is relative to the config root and must stay under it; the file's
//! `spec` replaces `specFrom`, with its own spans, so every problem inside it is shown at that
//! file's line and column. The spec file itself is not a resource (`model::decode` skips a
//! document holding only `spec:`).

use std::path::{Component, Path};

use crate::diag::{Diagnostic, Diagnostics, Sources};

use super::tree::{Key, Node, Value};
use super::yaml;

/// The key, beside `spec`, naming the spec file.
pub const SPEC_FROM: &str = "specFrom";

/// Replaces `specFrom: PATH` in a YAML document by the `spec` that file holds. Problems are
/// diagnostics (the document is left without a `spec`).
pub fn resolve(root: &Path, node: &mut Node, sources: &mut Sources, diags: &mut Diagnostics) {
    let Some((key, value)) = node.take(SPEC_FROM) else { return };
    let Some(path) = value.as_str().map(str::to_string) else {
        diags.push(
            Diagnostic::error(
                "wrong-type",
                format!(
                    "wrong type for `{SPEC_FROM}`: expected a path, found {}",
                    value.type_name()
                ),
            )
            .at(value.span),
        );
        return;
    };
    if node.get("spec").is_some() {
        diags.push(
            Diagnostic::error(
                "spec-from",
                format!("a document takes `spec` or `{SPEC_FROM}`, not both"),
            )
            .at(key.span)
            .help(format!("remove `spec:` or `{SPEC_FROM}:`")),
        );
        return;
    }
    let rel = Path::new(&path);
    let inside = !path.is_empty()
        && rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        diags.push(
            Diagnostic::error("spec-from", format!("`{path}` is not a path under the config root"))
                .at(value.span)
                .help(
                    "name the spec file relative to the config root, e.g. `templates/python.yaml`",
                ),
        );
        return;
    }
    let before = diags.error_count();
    let Some((file, text)) = super::read_source(root, rel, sources, diags) else {
        if diags.error_count() == before {
            diags.push(
                Diagnostic::error("spec-from", format!("cannot read the spec file `{path}`"))
                    .at(value.span),
            );
        }
        return;
    };
    let mut docs = yaml::parse(file, &text, diags);
    let spec = match docs.len() {
        1 => docs.remove(0).node.take("spec"),
        _ => None,
    };
    let Some((spec_key, spec)) = spec else {
        diags.push(
            Diagnostic::error(
                "spec-from",
                format!("`{path}` is not a spec file: one YAML document holding `spec:`"),
            )
            .at(value.span),
        );
        return;
    };
    if let Value::Map(entries) = &mut node.value {
        entries.push((Key { name: "spec".into(), span: spec_key.span }, spec));
    }
}
