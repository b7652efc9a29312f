//! The Markdown view of a plan, for pull-request comments, formatted from the [`PlanDoc`]:
//! summary table first, destroys and replaces called out, per-resource details collapsible, and
//! at most [`LIMIT`] characters. Truncation drops per-resource details only, never the list of
//! destroys and replaces, and says what it cut.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::plan_doc::{ChangeDoc, PlanDoc};
use crate::plan::{Action, BuildAction};

/// GitHub's comment limit is 65,536 characters; stay under it.
pub const LIMIT: usize = 65_000;

/// Room kept for the truncation note.
const NOTE_ROOM: usize = 400;

pub fn plan(doc: &PlanDoc) -> String {
    plan_with_limit(doc, LIMIT)
}

/// The hidden marker a plan comment starts with: `<!-- cordium:STACK:ENV -->` (ENV
/// `none` without `--env`).
pub fn marker(stack: &str, environment: Option<&str>) -> String {
    format!("<!-- cordium:{stack}:{} -->", environment.unwrap_or("none"))
}

/// Warnings and notes, as the CLI user sees them on stderr and below the plan: never cut.
fn warnings_and_notes(doc: &PlanDoc, out: &mut String) {
    if !doc.warnings.is_empty() {
        out.push_str("> [!WARNING]\n");
        for w in &doc.warnings {
            let at = match (&w.file, w.line) {
                (Some(f), Some(l)) => format!(" (`{f}:{l}`)"),
                _ => String::new(),
            };
            let _ = writeln!(out, "> {}{at}  ", escape(&w.message).replace('\n', " "));
        }
        out.push('\n');
    }
    if !doc.notes.is_empty() {
        out.push_str("> [!NOTE]\n");
        for n in &doc.notes {
            let _ = writeln!(out, "> {}  ", escape(n).replace('\n', " "));
        }
        out.push('\n');
    }
}

/// As [`plan`], with a custom limit (tests).
pub fn plan_with_limit(doc: &PlanDoc, limit: usize) -> String {
    let mut out = String::new();
    // For a bot that updates one comment per stack and environment instead of adding one.
    let _ = writeln!(out, "{}", marker(&doc.stack, doc.environment.as_deref()));
    let _ = writeln!(
        out,
        "### cordium plan: stack `{}`, environment `{}`\n",
        doc.stack,
        doc.environment_name()
    );
    let _ = writeln!(out, "{}\n", super::human::target_line(doc).replace("Target:", "**Target:**"));
    warnings_and_notes(doc, &mut out);
    let s = &doc.summary;
    if !s.has_changes {
        let _ = writeln!(
            out,
            "**No changes.** The cluster matches the configuration ({} resources checked).",
            s.no_op
        );
        if doc.snapshots.is_some() {
            out.push('\n');
            snapshots(doc, &mut out);
        }
        return out;
    }
    let _ = writeln!(out, "**Plan: {}.**\n", doc.summary_sentence());
    summary_table(doc, &mut out);

    let destroys: Vec<&ChangeDoc> =
        doc.resource_changes.iter().filter(|c| c.action == Action::Delete).collect();
    let replaces: Vec<&ChangeDoc> =
        doc.resource_changes.iter().filter(|c| c.action == Action::Replace).collect();
    if !destroys.is_empty() || !replaces.is_empty() {
        out.push_str("> [!CAUTION]\n");
        if !destroys.is_empty() {
            let list: Vec<String> = destroys.iter().map(|c| format!("`{}`", c.address)).collect();
            let _ = writeln!(out, "> **Destroys ({}):** {}  ", destroys.len(), list.join(", "));
        }
        if !replaces.is_empty() {
            let list: Vec<String> =
                replaces.iter().map(|c| format!("`{}` ({})", c.address, c.reason)).collect();
            let _ = writeln!(out, "> **Replaces ({}):** {}  ", replaces.len(), list.join(", "));
        }
        // What the server deletes with a Space besides the plan's own changes: never cut.
        for c in destroys.iter().chain(&replaces) {
            let Some(k) = &c.cascade else { continue };
            let mut items: Vec<String> =
                k.objects.iter().map(|o| format!("{} `{}`", o.kind, o.name)).collect();
            items.extend(k.unlisted.iter().cloned());
            let _ = writeln!(
                out,
                "> **The server also deletes, with `{}`:** {}  ",
                c.address,
                items.join("; ")
            );
        }
        out.push('\n');
    }

    let builds: Vec<String> = doc
        .builds
        .iter()
        .filter(|b| b.action != BuildAction::UpToDate)
        .map(|b| match b.action {
            BuildAction::Wait => format!(
                "- `{}`: wait for running build `{}`",
                b.template,
                b.build_id.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "- `{}`: build snapshot — {}{}",
                b.template,
                b.reason.as_deref().unwrap_or("needed"),
                b.estimate_secs
                    .map(|e| format!(
                        " (est. {})",
                        humantime::format_duration(std::time::Duration::from_secs(e))
                    ))
                    .unwrap_or_default()
            ),
        })
        .collect();
    if !builds.is_empty() {
        let _ = writeln!(out, "**Snapshot builds**\n\n{}\n", builds.join("\n"));
    }
    snapshots(doc, &mut out);

    // Details: destroys and replaces first, then the rest, while they fit.
    let mut ordered: Vec<&ChangeDoc> = Vec::new();
    ordered.extend(destroys.iter().copied());
    ordered.extend(replaces.iter().copied());
    ordered.extend(
        doc.resource_changes.iter().filter(|c| matches!(c.action, Action::Create | Action::Update)),
    );
    let mut cut: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in ordered.iter().enumerate() {
        let section = details(c);
        if out.len() + section.len() + NOTE_ROOM > limit {
            for rest in &ordered[i..] {
                *cut.entry(rest.action.as_str()).or_default() += 1;
            }
            break;
        }
        out.push_str(&section);
    }
    if !cut.is_empty() {
        let total: usize = cut.values().sum();
        let parts: Vec<String> = cut.iter().map(|(a, n)| format!("{n} {a}")).collect();
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> Details of {total} more resources ({}) were cut to fit the comment limit. Every destroy and replace is listed above. Run `cordium show <planfile>` or see the JSON plan for all of them.",
            parts.join(", ")
        );
    }
    out
}

fn summary_table(doc: &PlanDoc, out: &mut String) {
    let table = doc.counts_by_kind();
    out.push_str("| kind | create | update | replace | destroy |\n|---|---:|---:|---:|---:|\n");
    for (kind, n) in table {
        let _ = writeln!(out, "| {kind} | {} | {} | {} | {} |", n[0], n[1], n[2], n[3]);
    }
    out.push('\n');
}

fn details(c: &ChangeDoc) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<details><summary><code>{} {}</code> — {}: {}</summary>\n",
        c.action.symbol(),
        escape(&c.address),
        if c.imported_from.is_some() { "import" } else { c.action.as_str() },
        escape(&c.reason)
    );
    if !c.fields.is_empty() {
        s.push_str("```diff\n");
        for f in &c.fields {
            let old_ml = matches!(&f.old, Some(Value::String(v)) if v.contains('\n'));
            let new_ml = matches!(&f.new, Some(Value::String(v)) if v.contains('\n'));
            if !f.sensitive && (old_ml || new_ml) {
                let _ = writeln!(s, "! {}:", f.shown_path());
                let old = f.old.as_ref().and_then(Value::as_str).unwrap_or("");
                let new = f.new.as_ref().and_then(Value::as_str).unwrap_or("");
                let diff = similar::TextDiff::from_lines(old, new);
                for change in diff.iter_all_changes() {
                    let line = change.value().trim_end_matches('\n');
                    let tag = match change.tag() {
                        similar::ChangeTag::Equal => " ",
                        similar::ChangeTag::Delete => "-",
                        similar::ChangeTag::Insert => "+",
                    };
                    let _ = writeln!(s, "{tag}     {}", fence_safe(line));
                }
                continue;
            }
            let show = |v: &Value| {
                fence_safe(&match v {
                    Value::String(x) => format!("{x:?}"),
                    other => other.to_string(),
                })
            };
            let by = f.changed_by.map(|b| format!("  # {}", b.describe())).unwrap_or_default();
            match (&f.old, &f.new) {
                (Some(o), Some(n)) => {
                    let _ = writeln!(s, "- {} = {}", f.shown_path(), show(o));
                    let _ = writeln!(s, "+ {} = {}{by}", f.shown_path(), show(n));
                }
                (None, Some(n)) => {
                    let _ = writeln!(s, "+ {} = {}{by}", f.shown_path(), show(n));
                }
                (Some(o), None) => {
                    let _ = writeln!(s, "- {} = {}{by}", f.shown_path(), show(o));
                }
                (None, None) => {}
            }
        }
        s.push_str("```\n");
    }
    s.push_str("\n</details>\n");
    s
}

/// Keeps a line from closing the code fence.
fn fence_safe(s: &str) -> String {
    s.replace("```", "`\u{200b}``")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The snapshot readiness line, and with Kubernetes access each pre-built Template's snapshot.
fn snapshots(doc: &PlanDoc, out: &mut String) {
    let Some(s) = &doc.snapshots else { return };
    let _ = writeln!(out, "{}\n", s.headline());
    if !s.templates.is_empty() {
        for t in &s.templates {
            let _ = writeln!(out, "- {}", super::plan_doc::SnapshotsDoc::line(t));
        }
        out.push('\n');
    }
}
