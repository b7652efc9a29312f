//! Where each changed field is set in the configuration: its name as written there (HCL
//! spells `spec.limit.cpu.millicores` as `limit.cpu_millicores`) and the `file:line:col` of
//! the attribute that sets it. Pure: reads the model's origin trees and the loaded sources.
//!
//! The name is found by walking the field's canonical path through the resource's document
//! tree (`Origin::with_doc`), whose keys keep the span of the HCL name they were lowered from: each
//! key's source text, when it is a plain name, is that segment's HCL spelling, and keys lowered
//! from one HCL name (`cpu` and `millicores` from `cpu_millicores`) share it. A segment the
//! source does not hold (a field being removed) is written in snake_case.

use crate::config::tree::{Node, Value};
use crate::diag::{Sources, Span};
use crate::model::Model;

use super::{Plan, PlannedField};

/// Fills `config_path` (HCL stacks only) and `at` of every field of every change whose resource
/// is in `model`.
pub fn annotate(plan: &mut Plan, model: &Model, sources: &Sources) {
    for change in &mut plan.changes {
        // Nothing to place (an unchanged object): its document is not read. A YAML document
        // is parsed again to be read (`Origin::with_doc`), and reading every unchanged one was
        // a quarter of a 50k plan's CPU.
        if change.fields.is_empty() {
            continue;
        }
        let Some(resource) = model.get(&change.address) else { continue };
        let hcl = is_hcl(sources, resource.origin.span);
        // One reading of the document (kept, or read again) for all the change's fields.
        resource.origin.with_doc(|doc| {
            for field in &mut change.fields {
                locate(field, doc, hcl, sources);
            }
        });
        // The reason names changed fields too ("spec.limit.cpu.millicores differs"): in the
        // configuration's words, longest paths first so none is rewritten inside another.
        let mut renames: Vec<(&str, &str)> = change
            .fields
            .iter()
            .filter_map(|f| f.config_path.as_deref().map(|c| (f.path.as_str(), c)))
            .collect();
        renames.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        let mut reason = change.reason.clone();
        for (path, shown) in renames {
            reason = reason.replace(path, shown);
        }
        change.reason = reason;
    }
}

fn is_hcl(sources: &Sources, span: Span) -> bool {
    sources.path(span.file).extension().is_some_and(|e| e == "hcl")
}

/// One segment of a canonical path: a key, or a list item by index or by its `name`/`key`.
#[derive(Debug, PartialEq)]
enum Seg<'a> {
    Key(&'a str),
    Item(&'a str),
}

/// `spec.runtime.tasks[install].run` → `Key(spec) Key(runtime) Key(tasks) Item(install)
/// Key(run)`. Keys with dots inside brackets (`labels[k8s.io/app]`) are not split.
fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            out.push(Seg::Item(&inner[..end]));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            if end > 0 {
                out.push(Seg::Key(&rest[..end]));
            }
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    out
}

/// The list item a bracket segment names: its index, or the item whose `name` (or `key`) is it.
fn item<'n>(items: &'n [Node], id: &str) -> Option<&'n Node> {
    if let Ok(i) = id.parse::<usize>() {
        if let Some(n) = items.get(i) {
            return Some(n);
        }
    }
    items
        .iter()
        .find(|n| ["name", "key"].iter().any(|k| n.get(k).and_then(Node::as_str) == Some(id)))
}

/// A plain HCL name: what a key's source text must be to stand for its segment's spelling.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn locate(field: &mut PlannedField, doc: &Node, hcl: bool, sources: &Sources) {
    let segs = segments(&field.path);
    let mut node = Some(doc);
    let mut names: Vec<String> = Vec::new();
    // The span of the last HCL name written, so two keys lowered from one name print it once.
    let mut last_span: Option<Span> = None;
    let mut found: Option<Span> = None;
    for (depth, seg) in segs.iter().enumerate() {
        // `spec` and `metadata` are not written in HCL: their fields are the block's own.
        let implicit = depth == 0 && matches!(seg, Seg::Key("spec" | "metadata"));
        let next = match (seg, node.map(|n| &n.value)) {
            (Seg::Key(k), Some(Value::Map(entries))) => {
                entries.iter().find(|(key, _)| key.name == *k)
            }
            _ => None,
        };
        match (seg, next) {
            (Seg::Key(k), Some((key, child))) => {
                node = Some(child);
                found = Some(key.span);
                if implicit {
                    continue;
                }
                let text = sources
                    .get(key.span.file)
                    .and_then(|f| f.text.get(key.span.start..key.span.end))
                    .filter(|t| hcl && is_name(t));
                match text {
                    // The same HCL name as the segment before (`cpu_millicores`): written once.
                    Some(_) if last_span == Some(key.span) => {}
                    Some(t) => {
                        names.push(t.to_string());
                        last_span = Some(key.span);
                    }
                    None => names.push(k.to_string()),
                }
            }
            (Seg::Key(k), None) => {
                node = None;
                found = None;
                if !implicit {
                    names.push(if hcl { crate::model::lower::snake(k) } else { k.to_string() });
                }
            }
            (Seg::Item(id), _) => {
                let child = match node.map(|n| &n.value) {
                    Some(Value::List(items)) => item(items, id),
                    _ => None,
                };
                found = child.map(|c| c.span);
                node = child;
                match names.last_mut() {
                    Some(last) => last.push_str(&format!("[{id}]")),
                    None => names.push(format!("[{id}]")),
                }
            }
        }
    }
    if hcl {
        let path = names.join(".");
        if path != field.path {
            field.config_path = Some(path);
        }
    }
    field.at = found.map(|span| {
        let file = sources.get(span.file);
        let (line, col) = file.map(|f| f.line_col(span.start)).unwrap_or((1, 1));
        format!("{}:{line}:{col}", sources.path(span.file).display())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_split_into_keys_and_items() {
        assert_eq!(
            segments("spec.runtime.tasks[install].run"),
            vec![
                Seg::Key("spec"),
                Seg::Key("runtime"),
                Seg::Key("tasks"),
                Seg::Item("install"),
                Seg::Key("run")
            ]
        );
        assert_eq!(
            segments("metadata.labels[k8s.io/app]"),
            vec![Seg::Key("metadata"), Seg::Key("labels"), Seg::Item("k8s.io/app")]
        );
        assert_eq!(segments("rules[*]"), vec![Seg::Key("rules"), Seg::Item("*")]);
    }

    #[test]
    fn only_plain_names_count_as_hcl_spellings() {
        assert!(is_name("cpu_millicores"));
        assert!(is_name("env_var"));
        assert!(!is_name("\"team\""));
        assert!(!is_name("template \"gpu\" {"));
        assert!(!is_name(""));
    }
}
