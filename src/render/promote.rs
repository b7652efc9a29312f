//! The promotion report (`cordium promote`): its JSON document ([`PromoteDoc`], the contract:
//! `schemas/promote.v1.json`), built by `ops::promote`, and the human, Markdown and HTML views
//! formatted from it.

use std::fmt::Write;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::plan_doc::PlanDoc;
use super::style::Style;
use crate::plan::Action;

/// Version of the promotion report format.
pub const PROMOTE_FORMAT_VERSION: &str = "1.0";

/// The promotion report (`schemas/promote.v1.json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PromoteDoc {
    pub format_version: String,
    pub stack: String,
    pub from: String,
    pub to: String,
    pub evidence: EvidenceDoc,
    pub summary: PromoteSummary,
    /// Every object of the `to` plan, in address order.
    pub objects: Vec<PromoteObject>,
    /// The `to` environment's plan.
    pub plan: PlanDoc,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceDoc {
    /// `record` (an apply record) or `cluster` (the `from` environment read now).
    pub source: String,
    /// The record's path (source `record`).
    pub record: Option<String>,
    /// The config digest the `from` environment ran.
    pub config_digest: String,
    /// The git commit the record names.
    pub git_commit: Option<String>,
    /// When the recorded apply finished (source `record`).
    pub applied_at: Option<String>,
    /// The recorded apply succeeded (source `cluster`: always true).
    pub success: bool,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct PromoteSummary {
    /// Changes that production gets exactly as the `from` environment ran them.
    pub tested: usize,
    /// Changes whose production form never ran in the `from` environment.
    pub untested: usize,
    /// Objects the plan leaves as they are.
    pub unchanged: usize,
}

/// `tested`, `untested` or `unchanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Tested,
    Untested,
    Unchanged,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PromoteObject {
    pub address: String,
    /// The `to` plan's action.
    pub action: Action,
    pub verdict: Verdict,
    /// Why, in one sentence.
    pub reason: String,
    /// The spec paths where the `to` form differs from what the `from` environment ran.
    pub differences: Vec<String>,
    /// Templates: the snapshot build.
    pub build: Option<PromoteBuild>,
    /// Things worth knowing that do not make it untested (sensitive values that differ).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PromoteBuild {
    /// The input tag production builds (or finds ready).
    pub tag: String,
    /// The `from` environment's tag.
    pub from_tag: Option<String>,
    /// The `from` environment's build of these inputs that succeeded.
    pub from_build: Option<String>,
    /// The same inputs as a build that succeeded in the `from` environment.
    pub carries_over: bool,
    /// "carries over: same inputs as staging build X", or why not.
    pub reason: String,
    /// Build inputs that differ.
    pub differences: Vec<String>,
}

impl PromoteDoc {
    /// The JSON text (pretty, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn untested(&self) -> impl Iterator<Item = &PromoteObject> {
        self.objects.iter().filter(|o| o.verdict == Verdict::Untested)
    }
}

/// The JSON Schema of [`PromoteDoc`] (`schemas/promote.v1.json`).
pub fn schema() -> Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PromoteDoc>()
        .to_value()
}

fn evidence_line(doc: &PromoteDoc) -> String {
    let e = &doc.evidence;
    let mut s = match &e.record {
        Some(r) => format!("Evidence: the apply record {r} of {}", doc.from),
        None => format!("Evidence: the {} cluster, read now", doc.from),
    };
    let digest = e.config_digest.get(..12).unwrap_or(&e.config_digest);
    let _ = write!(s, " (config {digest}");
    if let Some(c) = &e.git_commit {
        let _ = write!(s, ", commit {}", c.get(..12).unwrap_or(c));
    }
    if let Some(t) = &e.applied_at {
        let _ = write!(s, ", applied {t}");
    }
    if !e.success {
        s.push_str(", an apply that did not fully succeed");
    }
    s.push(')');
    s
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Tested => "tested",
        Verdict::Untested => "untested",
        Verdict::Unchanged => "unchanged",
    }
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "destroy",
        Action::NoOp => "no-op",
    }
}

/// The closing sentence: "2 tested, 1 untested, 3 unchanged".
pub fn summary_sentence(doc: &PromoteDoc) -> String {
    let s = &doc.summary;
    format!("{} tested, {} untested, {} unchanged", s.tested, s.untested, s.unchanged)
}

/// The human view: the `to` plan, then one line per change with its verdict.
pub fn human(doc: &PromoteDoc, style: Style) -> String {
    let mut out = super::human::plan(&doc.plan, style);
    let _ = writeln!(
        out,
        "\n{}",
        style.bold(&format!("Promotion of stack {} from {} to {}", doc.stack, doc.from, doc.to))
    );
    let _ = writeln!(out, "{}\n", evidence_line(doc));
    let changes: Vec<&PromoteObject> =
        doc.objects.iter().filter(|o| o.verdict != Verdict::Unchanged).collect();
    if changes.is_empty() {
        let _ = writeln!(out, "Nothing to promote: {} matches its configuration.", doc.to);
    }
    for o in changes {
        let mark = match o.verdict {
            Verdict::Tested => style.green(&format!("{:<10}", format!("{} tested", style.check()))),
            _ => style.red(&format!("{} untested", style.cross())),
        };
        let _ = writeln!(out, "  {mark} {} ({}): {}", o.address, action_word(o.action), o.reason);
        if let Some(b) = &o.build {
            let _ = writeln!(out, "               snapshot {}: {}", b.tag, b.reason);
        }
        for n in &o.notes {
            let _ = writeln!(out, "               note: {n}");
        }
    }
    let _ = writeln!(out, "\nPromotion: {}.", summary_sentence(doc));
    style.finish(out)
}

/// The Markdown view, for a pull-request comment.
pub fn markdown(doc: &PromoteDoc) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### cordium promote: stack `{}`, `{}` → `{}`\n",
        doc.stack, doc.from, doc.to
    );
    let _ = writeln!(out, "{}\n", evidence_line(doc));
    let _ = writeln!(out, "**Promotion: {}.**\n", summary_sentence(doc));
    let changes: Vec<&PromoteObject> =
        doc.objects.iter().filter(|o| o.verdict != Verdict::Unchanged).collect();
    if !changes.is_empty() {
        out.push_str("| | resource | action | why |\n|---|---|---|---|\n");
        for o in changes {
            let mark = if o.verdict == Verdict::Tested { "✅ tested" } else { "❌ **untested**" };
            let mut why = o.reason.clone();
            if let Some(b) = &o.build {
                let _ = write!(why, "; snapshot `{}`: {}", b.tag, b.reason);
            }
            for n in &o.notes {
                let _ = write!(why, "; {n}");
            }
            let _ = writeln!(
                out,
                "| {mark} | `{}` | {} | {} |",
                o.address,
                action_word(o.action),
                why.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out.push_str("<details><summary>The plan</summary>\n\n");
    out.push_str(&super::markdown::plan(&doc.plan));
    out.push_str("\n</details>\n");
    out
}

/// The review page: the `to` plan's page with each resource's verdict.
pub fn html(doc: &PromoteDoc, edges: &std::collections::BTreeMap<String, Vec<String>>) -> String {
    let mut extras = super::html::Extras {
        title: Some(format!("cordium promote: stack {}, {} to {}", doc.stack, doc.from, doc.to)),
        preface: vec![evidence_line(doc), format!("Promotion: {}.", summary_sentence(doc))],
        ..Default::default()
    };
    for o in &doc.objects {
        let mut text = o.reason.clone();
        if let Some(b) = &o.build {
            let _ = write!(text, "; snapshot {}: {}", b.tag, b.reason);
        }
        extras
            .notes
            .entry(o.address.clone())
            .or_default()
            .push(super::html::Note { badge: verdict_word(o.verdict).to_string(), text });
    }
    super::html::page(&doc.plan, edges, &extras)
}
