//! The drift report (`cordium drift`): the JSON document (its schema is
//! `schemas/drift.v1.json`), and the human and Markdown views formatted from it.

use std::fmt::Write;

use serde::Serialize;

use super::Style;
use crate::plan::PlannedField;

/// Version of the JSON drift report (semver, like the JSON plan).
pub const DRIFT_FORMAT_VERSION: &str = "1.0";

/// What `drift` found.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DriftReport {
    pub format_version: String,
    pub stack: String,
    /// The cluster, as a plan shows it.
    pub target: String,
    pub username: String,
    /// Declared resources compared.
    pub checked: usize,
    /// Every finding, in address order.
    pub drifted: Vec<Drifted>,
    /// Declared resources whose only difference is a change of the config since the last
    /// apply (not drift: the next plan applies it).
    pub config_changes: Vec<String>,
    pub has_drift: bool,
}

/// One finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Drifted {
    pub address: String,
    pub kind: String,
    /// `changed` (live differs from what cordium applied), `deleted` (managed, gone from the
    /// cluster), `unmanaged` (in a managed Space, managed by no stack), `unrecorded` (differs
    /// from the config; applied before cordium recorded what it applied, so the cause is
    /// unknown).
    pub drift: DriftKind,
    pub reason: String,
    /// The live object's stored name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_name: Option<String>,
    /// Field by field, live (`old`) against the config (`new`); masked like a plan.
    pub fields: Vec<DriftField>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    Changed,
    Deleted,
    Unmanaged,
    Unrecorded,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Changed => "changed",
            DriftKind::Deleted => "deleted",
            DriftKind::Unmanaged => "unmanaged",
            DriftKind::Unrecorded => "unrecorded",
        }
    }
}

/// One field that drifted: its live value (`live`) and the one cordium applies (`config`).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DriftField {
    pub path: String,
    /// Absent: the field is not set on the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<serde_json::Value>,
    /// Absent: the config does not set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    pub sensitive: bool,
}

impl From<&PlannedField> for DriftField {
    fn from(f: &PlannedField) -> Self {
        DriftField {
            path: f.path.clone(),
            live: f.old.clone(),
            config: f.new.clone(),
            sensitive: f.sensitive,
        }
    }
}

/// The JSON Schema of [`DriftReport`] (`schemas/drift.v1.json`).
pub fn schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<DriftReport>()
        .to_value()
}

/// The JSON text (pretty, with a trailing newline).
pub fn json(report: &DriftReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

fn value(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "(not set)".to_string(),
        Some(serde_json::Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}

/// For a terminal.
pub fn human(r: &DriftReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} as {}\n", r.target, r.username);
    if !r.has_drift {
        let _ = writeln!(
            out,
            "{} The cluster is as cordium last applied it ({} resources checked).",
            style.green("No drift."),
            r.checked
        );
    } else {
        for d in &r.drifted {
            let live = d.live_name.as_deref().map(|n| format!(" (live: {n})")).unwrap_or_default();
            let head = format!("# {} {}: {}", d.address, d.drift.as_str(), d.reason);
            let _ = writeln!(out, "  {}{}", style.bold(&head), style.dim(&live));
            for f in &d.fields {
                let _ = writeln!(
                    out,
                    "      {} {}: {} on the cluster, {} in the config",
                    style.yellow("~"),
                    f.path,
                    value(&f.live),
                    value(&f.config)
                );
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{} {}.", style.bold("Drift:"), sentence(r));
    }
    if !r.config_changes.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "Note: the config changed since the last apply (not drift; plan shows it): {}.",
                r.config_changes.join(", ")
            ))
        );
    }
    style.finish(out)
}

/// "2 changed outside cordium, 1 deleted, 1 unmanaged" (no period).
pub fn sentence(r: &DriftReport) -> String {
    let count = |k: DriftKind| r.drifted.iter().filter(|d| d.drift == k).count();
    let mut parts = vec![
        format!("{} changed outside cordium", count(DriftKind::Changed)),
        format!("{} deleted outside cordium", count(DriftKind::Deleted)),
        format!("{} unmanaged", count(DriftKind::Unmanaged)),
    ];
    let unrecorded = count(DriftKind::Unrecorded);
    if unrecorded > 0 {
        parts.push(format!("{unrecorded} differing with no record"));
    }
    parts.join(", ")
}

/// For a pull-request comment or an issue.
pub fn markdown(r: &DriftReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### cordium drift: stack `{}`\n", r.stack);
    let _ = writeln!(out, "**Target:** {} as {}\n", r.target, r.username);
    if !r.has_drift {
        let _ = writeln!(
            out,
            "**No drift.** The cluster is as cordium last applied it ({} resources checked).",
            r.checked
        );
        return out;
    }
    let _ = writeln!(out, "**Drift: {}.**\n", sentence(r));
    out.push_str("| address | drift | live name | reason |\n|---|---|---|---|\n");
    for d in &r.drifted {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            d.address,
            d.drift.as_str(),
            d.live_name.as_deref().map(|n| format!("`{n}`")).unwrap_or_default(),
            d.reason.replace('|', "\\|")
        );
    }
    for d in r.drifted.iter().filter(|d| !d.fields.is_empty()) {
        let _ = writeln!(out, "\n<details><summary><code>{}</code></summary>\n", d.address);
        out.push_str("```diff\n");
        for f in &d.fields {
            let fence = |s: String| s.replace("```", "`\u{200b}``");
            let _ = writeln!(out, "- {} = {}", f.path, fence(value(&f.live)));
            let _ = writeln!(out, "+ {} = {}", f.path, fence(value(&f.config)));
        }
        out.push_str("```\n\n</details>\n");
    }
    out
}

/// One self-contained HTML page (`drift --html FILE`), for a CI artifact: the same head and
/// styles as the plan's review page, the summary, a table of the findings, and one
/// `<details>` per finding with its fields, masked as every other view. No graph: drift is a
/// set of objects, not changes in an order.
pub fn html(r: &DriftReport) -> String {
    use super::html::escape;
    let title = format!("cordium drift: stack {}", r.stack);
    let mut out = super::html::head(&title);
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        out,
        "<p id=\"target\">Target: <code>{}</code> as <code>{}</code></p>",
        escape(&r.target),
        escape(&r.username)
    );
    if !r.has_drift {
        let _ = writeln!(
            out,
            "<p id=\"summary\"><strong>No drift.</strong> The cluster is as cordium last applied \
             it ({} resources checked).</p>",
            r.checked
        );
    } else {
        let _ = writeln!(
            out,
            "<p id=\"summary\"><strong>Drift: {}.</strong></p>",
            escape(&sentence(r))
        );
        out.push_str(
            "<table id=\"findings\"><tr><th>address</th><th>drift</th><th>live name</th>\
             <th>reason</th></tr>\n",
        );
        for d in &r.drifted {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&d.address),
                d.drift.as_str(),
                escape(d.live_name.as_deref().unwrap_or("")),
                escape(&d.reason)
            );
        }
        out.push_str("</table>\n<h2>Findings</h2>\n");
        for d in &r.drifted {
            let _ = writeln!(
                out,
                "<details class=\"resource\" id=\"r-{}\" open><summary><code>{}</code> {}: {}</summary>",
                escape(&d.address),
                escape(&d.address),
                d.drift.as_str(),
                escape(&d.reason)
            );
            if !d.fields.is_empty() {
                out.push_str(
                    "<table><tr><th>field</th><th>on the cluster</th><th>in the config</th></tr>\n",
                );
                for f in &d.fields {
                    let _ = writeln!(
                        out,
                        "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                        escape(&f.path),
                        escape(&value(&f.live)),
                        escape(&value(&f.config))
                    );
                }
                out.push_str("</table>\n");
            }
            out.push_str("</details>\n");
        }
    }
    if !r.config_changes.is_empty() {
        let list: Vec<String> =
            r.config_changes.iter().map(|a| format!("<code>{}</code>", escape(a))).collect();
        let _ = writeln!(
            out,
            "<p>The config changed since the last apply (not drift; plan shows it): {}.</p>",
            list.join(", ")
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}
