//! The human view of a plan, Terraform-like, formatted from the [`PlanDoc`]: `+ create`,
//! `~ update`, `-/+ replace`, `- destroy`, multi-line strings diffed line by line, and a summary
//! table of counts by kind and action.

use std::fmt::Write;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use tabled::settings::Style as TableStyle;

use super::plan_doc::{BuildDoc, ChangeDoc, FieldDoc, PlanDoc};
use super::style::Style;
use crate::plan::{Action, BuildAction};

/// Lines of context kept around each change in a multi-line diff.
const CONTEXT: usize = 2;

/// Renders the plan for a terminal (Unicode) or a pipe (ASCII), as `style` says.
pub fn plan(doc: &PlanDoc, style: Style) -> String {
    style.finish(plan_text(doc, style))
}

fn plan_text(doc: &PlanDoc, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", target_line(doc));
    out.push('\n');

    let changes: Vec<&ChangeDoc> =
        doc.resource_changes.iter().filter(|c| c.action.is_change()).collect();
    let builds: Vec<&BuildDoc> =
        doc.builds.iter().filter(|b| b.action != BuildAction::UpToDate).collect();
    if changes.is_empty() && builds.is_empty() {
        let _ = writeln!(
            out,
            "{} The cluster matches the configuration ({} resources checked).",
            style.green("No changes."),
            doc.summary.no_op
        );
        kept_notes(doc, &mut out, style);
        return out;
    }

    out.push_str("cordium will perform the following actions:\n\n");
    for c in &changes {
        resource(c, &mut out, style);
    }
    for b in &builds {
        build(b, &mut out, style);
    }
    kept_notes(doc, &mut out, style);
    summary(doc, &mut out, style);
    out
}

/// "Target: ..." with the implicit local cluster called out.
pub fn target_line(doc: &PlanDoc) -> String {
    if doc.target.implicit_local {
        format!(
            "Target: {} (no target configured: using the embedded local cluster), environment: {}",
            doc.target.display,
            doc.environment_name()
        )
    } else {
        format!(
            "Target: {} as {}, environment: {}",
            doc.target.display,
            doc.target.username,
            doc.environment_name()
        )
    }
}

fn colored(action: Action, s: &str, style: Style) -> String {
    match action {
        Action::Create => style.green(s),
        Action::Update => style.yellow(s),
        Action::Replace | Action::Delete => style.red(s),
        Action::NoOp => s.to_string(),
    }
}

fn headline(c: &ChangeDoc) -> String {
    if let Some(from) = &c.moved_from {
        return match c.action {
            Action::Replace => {
                format!("{from} has moved to {}, and must be replaced ({})", c.address, c.reason)
            }
            _ => format!("{from} has moved to {} ({})", c.address, c.reason),
        };
    }
    match c.action {
        Action::Create if c.reason != "not on the cluster" => {
            format!("{} will be created ({})", c.address, c.reason)
        }
        Action::Create => format!("{} will be created", c.address),
        Action::Update if c.imported_from.is_some() && c.fields.is_empty() => {
            format!("{} will be imported ({})", c.address, c.reason)
        }
        Action::Update if c.imported_from.is_some() => {
            format!("{} will be imported and updated in place ({})", c.address, c.reason)
        }
        Action::Update => format!("{} will be updated in place ({})", c.address, c.reason),
        Action::Replace => format!("{} must be replaced ({})", c.address, c.reason),
        Action::Delete => format!("{} will be destroyed ({})", c.address, c.reason),
        Action::NoOp => format!("{} ({})", c.address, c.reason),
    }
}

fn resource(c: &ChangeDoc, out: &mut String, style: Style) {
    let _ = writeln!(out, "  {}", style.bold(&format!("# {}", headline(c))));
    let sym = c.action.symbol();
    let live = c.live_name.as_deref().map(|n| format!(" (live: {n})")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {}{} {{",
        colored(c.action, &format!("{sym:>3}"), style),
        c.address,
        style.dim(&live)
    );
    for f in &c.fields {
        field(f, c.action, c.forced_by.contains(&f.path), out, style);
    }
    out.push_str("    }\n");
    if let Some(k) = &c.cascade {
        let _ = writeln!(
            out,
            "    {}",
            style.red(&format!("# the server also deletes, with {}:", c.address))
        );
        for o in &k.objects {
            let system = if o.system { " (the Space's own)" } else { "" };
            let _ = writeln!(out, "    {} {} {}{system}", style.red("-"), o.kind, o.name);
        }
        for u in &k.unlisted {
            let _ = writeln!(out, "    {} {u}", style.red("-"));
        }
    }
    out.push('\n');
}

/// A scalar or small value on one line.
fn inline(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn is_multiline(v: &Option<Value>) -> bool {
    matches!(v, Some(Value::String(s)) if s.contains('\n'))
}

fn field(f: &FieldDoc, action: Action, forces: bool, out: &mut String, style: Style) {
    // Where an update's new value is set; a create's fields are all the config's own.
    let at = match (&f.at, action) {
        (Some(at), Action::Update | Action::Replace) if f.new.is_some() => Some(at),
        _ => None,
    };
    // Who changed it (docs/drift.md), when the object carries a record of the last apply.
    let by = f.changed_by.filter(|_| !forces);
    let note = match (forces, by, at) {
        (true, _, Some(at)) => {
            format!("{}{}", style.red(" # forces replacement"), style.dim(&format!("; {at}")))
        }
        (true, _, None) => style.red(" # forces replacement"),
        (false, Some(by), at) => {
            let text = match at {
                Some(at) => format!(" # {}; {at}", by.describe()),
                None => format!(" # {}", by.describe()),
            };
            if by == crate::diff::ChangedBy::Config {
                style.dim(&text)
            } else {
                style.yellow(&text)
            }
        }
        (false, None, Some(at)) => style.dim(&format!("  # {at}")),
        (false, None, None) => String::new(),
    };
    let path = f.shown_path();
    let act = match (&f.old, &f.new) {
        (None, Some(_)) => Action::Create,
        (Some(_), None) => Action::Delete,
        _ => Action::Update,
    };
    let sym = act.symbol();
    let sym = if action == Action::Create { "+" } else { sym };
    let mark = colored(act, sym, style);
    if !f.sensitive && (is_multiline(&f.old) || is_multiline(&f.new)) {
        let old = f.old.as_ref().and_then(Value::as_str).unwrap_or("");
        let new = f.new.as_ref().and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(out, "      {mark} {} = <<-EOT{note}", path);
        text_diff(old, new, out, style);
        out.push_str("        EOT\n");
        return;
    }
    match (&f.old, &f.new) {
        (Some(old), Some(new)) => {
            let _ = writeln!(
                out,
                "      {mark} {} = {} {} {}{note}",
                path,
                inline(old),
                style.arrow(),
                inline(new)
            );
        }
        (None, Some(new)) => {
            let _ = writeln!(out, "      {mark} {} = {}{note}", path, inline(new));
        }
        (Some(old), None) => {
            let _ = writeln!(out, "      {mark} {} = {}{note}", path, inline(old));
        }
        (None, None) => {}
    }
}

/// A line-by-line diff with a little context; unchanged runs are elided.
pub fn text_diff(old: &str, new: &str, out: &mut String, style: Style) {
    let diff = TextDiff::from_lines(old, new);
    for (i, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "          {}", style.dim("..."));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                let _ = match change.tag() {
                    ChangeTag::Equal => writeln!(out, "            {line}"),
                    ChangeTag::Delete => {
                        writeln!(out, "          {}", style.red(&format!("- {line}")))
                    }
                    ChangeTag::Insert => {
                        writeln!(out, "          {}", style.green(&format!("+ {line}")))
                    }
                };
            }
        }
    }
}

fn duration(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

fn build(b: &BuildDoc, out: &mut String, style: Style) {
    let estimate = b
        .estimate_secs
        .map(|s| format!("est. {}", duration(s)))
        .unwrap_or_else(|| "no estimate yet".into());
    let line = match b.action {
        BuildAction::Wait => format!(
            "# {} snapshot build {} is running with these inputs: wait for it ({estimate}, timeout {})",
            b.template,
            b.build_id.as_deref().unwrap_or("?"),
            duration(b.timeout_secs)
        ),
        _ => format!(
            "# {} snapshot will be built: {} ({estimate}, timeout {})",
            b.template,
            b.reason.as_deref().unwrap_or("needed"),
            duration(b.timeout_secs)
        ),
    };
    let _ = writeln!(out, "  {}", style.bold(&line));
    let _ = writeln!(out, "{} build {} {{ tag = {:?} }}\n", style.cyan("  *"), b.template, b.tag);
}

fn kept_notes(doc: &PlanDoc, out: &mut String, style: Style) {
    if let Some(s) = &doc.snapshots {
        let _ = writeln!(out, "{}", style.dim(&s.headline()));
        for t in &s.templates {
            let _ = writeln!(out, "  {}", super::plan_doc::SnapshotsDoc::line(t));
        }
    }
    for note in &doc.notes {
        let _ = writeln!(out, "{}", style.dim(&format!("Note: {note}")));
    }
}

fn summary(doc: &PlanDoc, out: &mut String, style: Style) {
    let _ = writeln!(out, "{} {}.", style.bold("Plan:"), doc.summary_sentence());
    let table = doc.counts_by_kind();
    let mut rows = vec![[
        "kind".to_string(),
        "create".into(),
        "update".into(),
        "replace".into(),
        "destroy".into(),
    ]];
    for (kind, n) in &table {
        rows.push([
            kind.to_string(),
            n[0].to_string(),
            n[1].to_string(),
            n[2].to_string(),
            n[3].to_string(),
        ]);
    }
    let mut t =
        tabled::builder::Builder::from(rows.into_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
            .build();
    // Off a terminal `Style::finish` spells the frame in ASCII (`+---+`, `|`).
    t.with(TableStyle::rounded());
    if table.is_empty() {
        // Only builds: no resource rows to count.
    } else {
        let _ = writeln!(out, "\n{t}");
    }

    let destroys: Vec<&str> = doc
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.address.as_str())
        .collect();
    let replaces: Vec<&str> = doc
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .map(|c| c.address.as_str())
        .collect();
    if !destroys.is_empty() {
        let _ = writeln!(out, "{} {}", style.red("Will destroy:"), destroys.join(", "));
    }
    if !replaces.is_empty() {
        let _ = writeln!(out, "{} {}", style.red("Will replace:"), replaces.join(", "));
    }
}
