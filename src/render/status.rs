//! The status table (`cordium status`): the JSON document and the human and Markdown views.

use std::fmt::Write;

use serde::Serialize;

use super::Style;

/// Version of the JSON status document.
pub const STATUS_FORMAT_VERSION: &str = "1.0";

/// What a stack manages on the cluster.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StatusDoc {
    pub format_version: String,
    pub stack: String,
    pub target: String,
    pub username: String,
    /// One row per object, in the order plans list kinds, then by address.
    pub objects: Vec<StatusRow>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StatusRow {
    pub kind: String,
    pub address: String,
    /// The stored name; absent for a declared resource that is not on the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_name: Option<String>,
    /// In words: a Workspace's run state (`running`, `stopped`, ...), a Template's last
    /// snapshot build and whether its snapshot is ready, `present`, or `not on the cluster`.
    pub state: String,
    /// Templates: the last snapshot build's id and state (`ready`, `running`, `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildStatus>,
    /// When cordium last applied it (RFC 3339, UTC), from the record apply keeps on the object
    /// (docs/drift.md); absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BuildStatus {
    pub id: String,
    /// `ready`, `running`, `failed` or `unknown`.
    pub state: String,
    /// The build new Workspaces restore from is ready on the Cordium API. Whether its volume
    /// snapshot is `readyToUse` is only visible to Kubernetes: `snapshot_verified` says whether
    /// that was checked.
    pub snapshot_ready: bool,
    pub snapshot_verified: bool,
}

pub fn json(doc: &StatusDoc) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

fn rows(doc: &StatusDoc) -> Vec<[String; 5]> {
    doc.objects
        .iter()
        .map(|r| {
            [
                r.kind.clone(),
                r.address.clone(),
                r.live_name.clone().unwrap_or_else(|| "-".into()),
                r.state.clone(),
                r.last_applied.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect()
}

const HEADER: [&str; 5] = ["kind", "address", "live name", "state", "last applied"];

pub fn human(doc: &StatusDoc, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} as {}, stack `{}`\n", doc.target, doc.username, doc.stack);
    if doc.objects.is_empty() {
        out.push_str("The stack manages nothing on this cluster yet.\n");
        return style.finish(out);
    }
    let mut all = vec![HEADER.map(String::from)];
    all.extend(rows(doc));
    let widths: Vec<usize> =
        (0..5).map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for (n, r) in all.iter().enumerate() {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i == 4 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        let line = line.trim_end().to_string();
        let _ = writeln!(out, "{}", if n == 0 { style.bold(&line) } else { line });
    }
    style.finish(out)
}

pub fn markdown(doc: &StatusDoc) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### cordium status: stack `{}`\n", doc.stack);
    let _ = writeln!(out, "**Target:** {} as {}\n", doc.target, doc.username);
    out.push_str("| kind | address | live name | state | last applied |\n|---|---|---|---|---|\n");
    for r in rows(doc) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The JSON Schema of [`StatusDoc`].
pub fn schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<StatusDoc>()
        .to_value()
}
