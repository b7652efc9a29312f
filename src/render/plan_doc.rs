//! The JSON plan: one versioned document built from the [`Plan`]. It is the contract: its schema
//! is `schemas/plan.v1.json`, and the human and Markdown views are formatted from this document,
//! so nothing can appear in text that JSON lacks.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::plan::{Action, BuildAction, Plan};

/// Version of the JSON plan format (semver: minor for additions, major for breaking changes).
pub const JSON_FORMAT_VERSION: &str = "1.3";

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanDoc {
    pub format_version: String,
    pub tool_version: String,
    pub stack: String,
    /// The stack file's environment the plan was made for (`--env`); null for none.
    pub environment: Option<String>,
    pub target: TargetDoc,
    pub summary: SummaryDoc,
    /// Warnings from loading the config and reading the cluster: what the CLI user sees on
    /// stderr, for a reviewer who reads only this document or its Markdown.
    pub warnings: Vec<WarningDoc>,
    /// Notes a reviewer needs besides the changes, one sentence each: resources kept although no
    /// longer in the config (prune is off), addresses left out by `--target`/`--exclude`, whose
    /// objects the plan shows where the API lists only the caller's own.
    pub notes: Vec<String>,
    /// Every resource, in address order, no-ops included.
    pub resource_changes: Vec<ChangeDoc>,
    /// Template snapshot pre-builds.
    pub builds: Vec<BuildDoc>,
    /// Addresses left out by `--target` / `--exclude`.
    pub excluded: Vec<String>,
    /// The pre-built Templates' VolumeSnapshots as Kubernetes reports them (since 1.3); absent
    /// on the embedded local cluster. `verified: false`: no Kubernetes access is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<SnapshotsDoc>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SnapshotsDoc {
    /// False: no Kubernetes access is configured, so snapshot readiness is not verified.
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Why Kubernetes could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub templates: Vec<TemplateSnapshotDoc>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TemplateSnapshotDoc {
    pub template: String,
    /// The VolumeSnapshot name, `<templateUID>-<currentReadyBuildID>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// `ready`, `pending`, `missing`, `failed`, or `no_build`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SnapshotsDoc {
    /// The one line a plan without Kubernetes access shows, or the heading of the list.
    pub fn headline(&self) -> String {
        match (&self.error, self.verified) {
            (Some(e), _) => format!("Snapshot readiness could not be read from Kubernetes: {e}"),
            (None, false) => "Snapshot readiness is not verified: no Kubernetes access is \
                              configured (--kubeconfig, the environment's `kubeconfig`, or \
                              KUBECONFIG; docs/kubernetes.md)."
                .to_string(),
            (None, true) => format!(
                "Snapshots in Kubernetes namespace {}:",
                self.namespace.as_deref().unwrap_or("?")
            ),
        }
    }

    /// `template.ml.gpu: ready (10Gi), VolumeSnapshot 3f…-b7c9d1`.
    pub fn line(t: &TemplateSnapshotDoc) -> String {
        let mut state = match t.state.as_str() {
            "no_build" => "no ready build yet".to_string(),
            s => s.to_string(),
        };
        if let Some(size) = &t.restore_size {
            state.push_str(&format!(" ({size})"));
        }
        if let Some(m) = &t.message {
            state.push_str(&format!(": {m}"));
        }
        match &t.snapshot {
            Some(name) => format!("{}: {state}, VolumeSnapshot {name}", t.template),
            None => format!("{}: {state}", t.template),
        }
    }
}

/// One warning, where it is.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct WarningDoc {
    pub code: String,
    pub message: String,
    /// Relative to the working directory (or absolute outside it).
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub address: Option<String>,
    pub help: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetDoc {
    pub display: String,
    pub username: String,
    /// No target was configured: the embedded local cluster was used.
    pub implicit_local: bool,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct SummaryDoc {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub no_op: usize,
    /// Existing objects an `import` adopts into the stack (each also counted under its
    /// action, `update`).
    pub import: usize,
    /// Builds to start.
    pub build: usize,
    /// Running builds of the desired inputs to wait for.
    pub wait: usize,
    /// Objects the server deletes with a deleted or replaced Space that no change covers
    /// (listed under that Space's `cascade`). Not counted in `delete`.
    pub cascaded: usize,
    pub has_changes: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeDoc {
    pub address: String,
    pub kind: String,
    /// `create`, `update`, `replace`, `delete` or `no-op`.
    pub action: Action,
    pub reason: String,
    /// For a replace: the fields that force it.
    pub forced_by: Vec<String>,
    pub fields: Vec<FieldDoc>,
    /// The live object's stored name, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_name: Option<String>,
    /// A Space delete or replace: what the server deletes with it besides the plan's own
    /// changes (upstream DeleteSpace cascades to everything in the Space).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cascade: Option<CascadeDoc>,
    /// A Workspace replace: `create-before-destroy` (the successor is created, and its Template
    /// built, before the old one is deleted) or `destroy-before-create`. Either way the old
    /// Workspace's data is lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<crate::plan::ReplaceOrder>,
    /// A `moved` block renamed it: its address before. The live object is the same one
    /// (a Workspace renamed in place by updating its display name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// An `import` adopts the existing object of this stored name: it will be imported
    /// (labelled as the stack's) and made to match the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
    /// The change deletes a Volume (a delete or a replace): the data stored on it is lost.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_loss: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CascadeDoc {
    /// Objects read in the Space that go with it.
    pub objects: Vec<CascadedDoc>,
    /// What goes too but cannot be listed, in words.
    pub unlisted: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CascadedDoc {
    /// `template`, `secret`, `workspace`.
    pub kind: String,
    /// The stored name.
    pub name: String,
    /// Server-owned (the Space's `default` Template).
    pub system: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FieldDoc {
    pub path: String,
    /// Absent when the field is being added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// Absent when the field is being removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// Masked: the values are shown as "(sensitive)".
    pub sensitive: bool,
    /// The path as written in the configuration, when it differs from `path`: HCL names in an
    /// HCL stack (`limit.cpu_millicores` for `spec.limit.cpu.millicores`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// `file:line:col` of the attribute that sets the field, when the configuration sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// An update of an object cordium applied before: `config` (your config changed),
    /// `outside` (changed outside cordium) or `both` (both changed since the last apply; the
    /// recorded digest cannot say which field where). Absent without a record (docs/drift.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<crate::diff::ChangedBy>,
}

impl FieldDoc {
    /// The name shown to people: as written in the configuration.
    pub fn shown_path(&self) -> &str {
        self.config_path.as_deref().unwrap_or(&self.path)
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BuildDoc {
    pub template: String,
    /// `build`, `wait` or `up-to-date`.
    pub action: BuildAction,
    /// The input-hash tag.
    pub tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `never_built`, `inputs_changed`, `ready_build_outdated`, `last_build_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_secs: Option<u64>,
    pub timeout_secs: u64,
}

impl PlanDoc {
    pub fn from_plan(plan: &Plan) -> PlanDoc {
        let mut summary = SummaryDoc { has_changes: plan.has_changes(), ..SummaryDoc::default() };
        let resource_changes = plan
            .changes
            .iter()
            .map(|c| {
                match c.action {
                    Action::Create => summary.create += 1,
                    Action::Update => summary.update += 1,
                    Action::Replace => summary.replace += 1,
                    Action::Delete => summary.delete += 1,
                    Action::NoOp => summary.no_op += 1,
                }
                if c.imported.is_some() {
                    summary.import += 1;
                }
                ChangeDoc {
                    address: c.address.to_string(),
                    kind: c.address.kind.to_string(),
                    action: c.action,
                    reason: c.reason.clone(),
                    forced_by: c.forced_by.clone(),
                    fields: c
                        .fields
                        .iter()
                        .map(|f| FieldDoc {
                            path: f.path.clone(),
                            old: f.old.clone(),
                            new: f.new.clone(),
                            sensitive: f.sensitive,
                            config_path: f.config_path.clone(),
                            at: f.at.clone(),
                            changed_by: f.changed_by,
                        })
                        .collect(),
                    live_name: c.live.as_ref().map(|l| l.name.clone()),
                    replace_order: c.replace_order,
                    moved_from: c.moved_from.as_ref().map(ToString::to_string),
                    imported_from: c.imported.clone(),
                    data_loss: crate::plan::data_loss(c),
                    cascade: c.cascade.as_ref().map(|k| {
                        summary.cascaded += k.objects.len();
                        CascadeDoc {
                            objects: k
                                .objects
                                .iter()
                                .map(|o| CascadedDoc {
                                    kind: o.kind.to_string(),
                                    name: o.name.clone(),
                                    system: o.system,
                                })
                                .collect(),
                            unlisted: k.unlisted.clone(),
                        }
                    }),
                }
            })
            .collect();
        let builds = plan
            .builds
            .iter()
            .map(|b| {
                match b.action {
                    BuildAction::Build => summary.build += 1,
                    BuildAction::Wait => summary.wait += 1,
                    BuildAction::UpToDate => {}
                }
                BuildDoc {
                    template: b.template.to_string(),
                    action: b.action,
                    tag: b.tag.clone(),
                    reason: b.reason.as_ref().map(|r| r.describe()),
                    reason_kind: b.reason.as_ref().and_then(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
                    }),
                    build_id: b.build_id.clone(),
                    estimate_secs: b.estimate_secs,
                    timeout_secs: b.timeout_secs,
                }
            })
            .collect();
        let mut notes: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::NoOp && c.reason.contains("prune"))
            .map(|c| format!("{} {}.", c.address, c.reason))
            .collect();
        if !plan.excluded.is_empty() {
            let list: Vec<String> = plan.excluded.iter().map(ToString::to_string).collect();
            notes.push(format!("Left out by --target/--exclude: {}.", list.join(", ")));
        }
        let workspaces =
            plan.changes.iter().any(|c| c.address.kind == crate::model::Kind::Workspace);
        if workspaces && !plan.target.username.is_empty() {
            notes.push(format!(
                "Workspaces: {}'s own (the server lists each user's Workspaces to them only).",
                plan.target.username
            ));
        }
        PlanDoc {
            format_version: JSON_FORMAT_VERSION.to_string(),
            tool_version: plan.tool_version.clone(),
            stack: plan.stack.clone(),
            environment: plan.origin.environment.clone(),
            warnings: plan
                .origin
                .warnings
                .iter()
                .filter_map(|w| serde_json::from_value(w.clone()).ok())
                .collect(),
            notes,
            target: TargetDoc {
                display: plan.target.display.clone(),
                username: plan.target.username.clone(),
                implicit_local: plan.target.implicit_local,
            },
            summary,
            resource_changes,
            builds,
            excluded: plan.excluded.iter().map(ToString::to_string).collect(),
            snapshots: plan.snapshots.as_ref().map(|s| SnapshotsDoc {
                verified: s.verified,
                namespace: s.namespace.clone(),
                error: s.error.clone(),
                templates: s
                    .templates
                    .iter()
                    .map(|t| TemplateSnapshotDoc {
                        template: t.template.to_string(),
                        snapshot: t.snapshot.clone(),
                        state: t.state.clone(),
                        restore_size: t.restore_size.clone(),
                        message: t.message.clone(),
                    })
                    .collect(),
            }),
        }
    }

    /// The document with these warnings (their locations resolved against `sources`, any
    /// sensitive text scrubbed).
    pub fn with_warnings(
        mut self,
        diags: &crate::diag::Diagnostics,
        sources: &crate::diag::Sources,
    ) -> PlanDoc {
        self.warnings = diags
            .iter()
            .filter(|d| !d.is_error())
            .map(|d| {
                let at = d.span.map(|s| sources.locate(s));
                WarningDoc {
                    code: d.code.to_string(),
                    message: sources.scrub(&d.message),
                    file: at.as_ref().map(|l| l.file.clone()),
                    line: at.as_ref().map(|l| l.line),
                    column: at.as_ref().map(|l| l.column),
                    address: d.address.clone(),
                    help: d.help.as_deref().map(|h| sources.scrub(h)),
                }
            })
            .collect();
        self
    }

    /// The environment as outputs name it: its name, or `none`.
    pub fn environment_name(&self) -> &str {
        self.environment.as_deref().unwrap_or("none")
    }

    /// "3 to create, 1 to update, 0 to replace, 0 to destroy, 1 snapshot build" (no period).
    pub fn summary_sentence(&self) -> String {
        let s = &self.summary;
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let mut text = format!(
            "{} to create, {} to update, {} to replace, {} to destroy",
            s.create, s.update, s.replace, s.delete
        );
        if s.import > 0 {
            text = format!("{} to import, {text}", s.import);
        }
        if s.cascaded > 0 {
            text.push_str(&format!(
                " (and {} more object{} the server deletes with {})",
                s.cascaded,
                plural(s.cascaded),
                if s.cascaded == 1 { "its Space" } else { "their Space" }
            ));
        }
        if s.build > 0 {
            text.push_str(&format!(", {} snapshot build{}", s.build, plural(s.build)));
        }
        if s.wait > 0 {
            text.push_str(&format!(", {} running build{} to wait for", s.wait, plural(s.wait)));
        }
        text
    }

    /// Counts of changes per kind: [create, update, replace, delete]; kinds without changes
    /// are left out.
    pub fn counts_by_kind(&self) -> std::collections::BTreeMap<&str, [usize; 4]> {
        let mut table: std::collections::BTreeMap<&str, [usize; 4]> = Default::default();
        for c in &self.resource_changes {
            let col = match c.action {
                Action::Create => 0,
                Action::Update => 1,
                Action::Replace => 2,
                Action::Delete => 3,
                Action::NoOp => continue,
            };
            table.entry(c.kind.as_str()).or_default()[col] += 1;
        }
        table
    }

    /// The JSON text (pretty, with a trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The JSON Schema of [`PlanDoc`] (`schemas/plan.v1.json`).
pub fn schema() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PlanDoc>();
    schema.to_value()
}
