//! Unit tests of [`super::make`]: selection with `--target`/`--exclude`, prevent_destroy,
//! masking, snapshot build decisions and step order, on models loaded from YAML/HCL and live
//! objects written the way apply writes them.

use std::collections::BTreeMap;

use serde_json::json;

use super::prebuild::{input_tag, BuildState, PastBuild};
use super::*;
use crate::diff::testing::live_form;
use crate::diff::{self, DiffOptions, FieldChange, LiveDoc};
use crate::model::testing::{hcl, yaml};

const STACK: &str = "demo";

/// gpu (pre-built, reads Secret tok) ← box; cpu stands alone in the same Space; a User and an
/// organisation Space beside them.
const CONFIG: &str = r#"
kind: Space
metadata: {name: ml}
---
kind: Space
metadata: {name: org.cordium}
---
kind: Secret
metadata: {name: tok.ml}
fromEnv: TOKEN
---
kind: Template
metadata: {name: gpu.ml}
spec:
  image: {registry: {url: "python:3.12"}}
  runtime:
    envVars:
      - {key: TOKEN, fromSecret: tok}
prebuild: {timeout: 45m}
---
kind: Template
metadata: {name: cpu.ml}
spec:
  image: {registry: {url: "ubuntu:24.04"}}
---
kind: Workspace
metadata: {name: box.ml}
template: gpu
---
kind: User
metadata: {name: agent}
spec: {type: WORKLOAD}
"#;

fn a(s: &str) -> Address {
    s.parse().expect("address")
}

fn inputs() -> PlanInputs {
    PlanInputs { stack: STACK.into(), build_timeout_secs: 600, ..PlanInputs::default() }
}

fn plan_with(model: &Model, live: &[LiveDoc], inputs: PlanInputs) -> (Plan, Vec<Diagnostic>) {
    plan_pruning(model, live, inputs, false)
}

/// A plan whose diff prunes (or not) the stack's unlisted objects.
fn plan_pruning(
    model: &Model,
    live: &[LiveDoc],
    inputs: PlanInputs,
    prune: bool,
) -> (Plan, Vec<Diagnostic>) {
    let d = diff::diff(model, live, &DiffOptions { stack: STACK.into(), prune });
    make(model, d, inputs)
}

fn addresses(plan: &Plan) -> Vec<String> {
    plan.changes.iter().map(|c| c.address.to_string()).collect()
}

fn strs(list: &[Address]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn step_names(plan: &Plan) -> Vec<String> {
    plan.steps.iter().map(|s| format!("{:?} {}", s.kind, s.address)).collect()
}

fn position(plan: &Plan, kind: StepKind, address: &str) -> usize {
    plan.steps
        .iter()
        .position(|s| s.kind == kind && s.address == a(address))
        .unwrap_or_else(|| panic!("no {kind:?} {address}: {:?}", step_names(plan)))
}

// Selection.

#[test]
fn a_target_keeps_what_it_depends_on_and_nothing_else() {
    let model = yaml(CONFIG);
    let (plan, problems) =
        plan_with(&model, &[], PlanInputs { targets: vec![a("workspace.ml.box")], ..inputs() });
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        addresses(&plan),
        ["space.ml", "secret.ml.tok", "template.ml.gpu", "workspace.ml.box"]
    );
    assert_eq!(strs(&plan.excluded), ["user.agent", "space.org", "template.ml.cpu"]);
    assert!(plan.steps.iter().all(|s| s.address != a("template.ml.cpu")));
    assert_eq!(plan.builds.len(), 1);
}

#[test]
fn a_target_with_no_dependencies_leaves_out_its_dependents_and_their_builds() {
    let model = yaml(CONFIG);
    let (plan, _) = plan_with(&model, &[], PlanInputs { targets: vec![a("space.ml")], ..inputs() });
    assert_eq!(addresses(&plan), ["space.ml"]);
    assert!(plan.builds.is_empty(), "{:?}", plan.builds);
    assert_eq!(step_names(&plan), ["Create space.ml"]);
}

#[test]
fn an_exclude_leaves_out_everything_that_depends_on_it_transitively() {
    let model = yaml(CONFIG);
    let (plan, _) =
        plan_with(&model, &[], PlanInputs { excludes: vec![a("secret.ml.tok")], ..inputs() });
    // box depends on gpu, which reads tok.
    assert_eq!(addresses(&plan), ["user.agent", "space.ml", "space.org", "template.ml.cpu"]);
    assert_eq!(strs(&plan.excluded), ["secret.ml.tok", "template.ml.gpu", "workspace.ml.box"]);
    assert!(plan.builds.is_empty());

    let (plan, _) =
        plan_with(&model, &[], PlanInputs { excludes: vec![a("space.ml")], ..inputs() });
    assert_eq!(addresses(&plan), ["user.agent", "space.org"]);
}

#[test]
fn an_exclude_wins_over_a_target() {
    let model = yaml(CONFIG);
    let (plan, _) = plan_with(
        &model,
        &[],
        PlanInputs {
            targets: vec![a("workspace.ml.box")],
            excludes: vec![a("template.ml.gpu")],
            ..inputs()
        },
    );
    assert_eq!(addresses(&plan), ["space.ml", "secret.ml.tok"]);
}

// prevent_destroy.

const PROTECTED: &str = r#"
kind: Space
metadata: {name: ml}
---
kind: Template
metadata: {name: gpu.ml}
spec: {image: {registry: {url: "python:3.12"}}}
---
kind: Template
metadata: {name: cpu.ml}
spec: {image: {registry: {url: "ubuntu:24.04"}}}
---
kind: Workspace
metadata: {name: box.ml}
template: gpu
lifecycle: {preventDestroy: true}
"#;

fn retemplated(model: &Model) -> Vec<LiveDoc> {
    let mut live = live_form(model, STACK);
    for l in &mut live {
        if l.address == a("workspace.ml.box") {
            l.doc["template"] = json!("cpu");
        }
    }
    live
}

#[test]
fn prevent_destroy_refuses_a_replace_and_names_the_forcing_field() {
    let model = yaml(PROTECTED);
    let (plan, problems) = plan_with(&model, &retemplated(&model), inputs());
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(p.code, "prevent-destroy");
    assert_eq!(p.address.as_deref(), Some("workspace.ml.box"));
    assert!(p.message.contains("would replace it"), "{}", p.message);
    assert!(p.help.as_deref().unwrap_or_default().starts_with("template forces the replace"));
    assert!(p.span.is_some(), "points at the resource");
    // The plan is still there to be shown.
    let c = plan.changes.iter().find(|c| c.address == a("workspace.ml.box")).expect("change");
    assert_eq!(c.action, Action::Replace);
}

#[test]
fn a_workspace_replace_creates_its_successor_first_unless_it_cannot_or_opts_out() {
    let model = yaml(CONFIG);
    // The box moves from cpu to gpu (gpu is pre-built: its build comes first too).
    let (plan, problems) = plan_with(&model, &retemplated(&model), inputs());
    assert!(problems.is_empty(), "{problems:?}");
    let c = plan.changes.iter().find(|c| c.address == a("workspace.ml.box")).expect("change");
    assert_eq!(c.replace_order, Some(ReplaceOrder::CreateBeforeDestroy));
    assert!(c.reason.contains("create before destroy") && c.reason.contains("data on the old"));
    let create = position(&plan, StepKind::Create, "workspace.ml.box");
    assert!(
        create < position(&plan, StepKind::Delete, "workspace.ml.box"),
        "{:?}",
        step_names(&plan)
    );
    assert!(plan.steps[position(&plan, StepKind::Delete, "workspace.ml.box")]
        .depends_on
        .contains(&create));

    // Opted out: the old one goes first.
    let opted = yaml(
        &CONFIG
            .replace("template: gpu\n", "template: gpu\nlifecycle: {createBeforeDestroy: false}\n"),
    );
    let (plan, _) = plan_with(&opted, &retemplated(&opted), inputs());
    let c = plan.changes.iter().find(|c| c.address == a("workspace.ml.box")).expect("change");
    assert_eq!(c.replace_order, Some(ReplaceOrder::DestroyBeforeCreate));
    assert!(c.reason.contains("create_before_destroy = false"), "{}", c.reason);
    assert!(
        position(&plan, StepKind::Delete, "workspace.ml.box")
            < position(&plan, StepKind::Create, "workspace.ml.box")
    );

    // Its Space is replaced too: the old Workspace must be gone before the Space is.
    let mut live = retemplated(&model);
    for l in &mut live {
        if l.address == a("space.ml") {
            l.doc["organization"] = json!(true);
        }
    }
    let (plan, problems) = plan_with(&model, &live, inputs());
    assert!(problems.iter().all(|p| p.code != "dependency-cycle"), "{problems:?}");
    let c = plan.changes.iter().find(|c| c.address == a("workspace.ml.box")).expect("change");
    assert_eq!(c.replace_order, Some(ReplaceOrder::DestroyBeforeCreate));
    assert!(c.reason.contains("space.ml is replaced too"), "{}", c.reason);
}

#[test]
fn replace_forces_a_replace_of_what_exists_and_refuses_anything_else() {
    let model = yaml(CONFIG);
    let live = live_form(&model, STACK);
    let inputs =
        PlanInputs { replaces: vec![a("template.ml.cpu"), a("workspace.ml.nope")], ..inputs() };
    let (plan, problems) = plan_with(&model, &live, inputs);
    let c = plan.changes.iter().find(|c| c.address == a("template.ml.cpu")).expect("change");
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.forced_by, ["--replace"]);
    assert!(
        position(&plan, StepKind::Delete, "template.ml.cpu")
            < position(&plan, StepKind::Create, "template.ml.cpu")
    );
    assert_eq!(plan.counts().get(&Action::Replace), Some(&1), "only it");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "replace-nothing");
    assert!(problems[0].message.contains("workspace.ml.nope"), "{}", problems[0].message);
}

#[test]
fn prevent_destroy_allows_updates_and_replaces_of_unprotected_resources() {
    let model = yaml(PROTECTED);
    let mut live = live_form(&model, STACK);
    for l in &mut live {
        if l.address == a("workspace.ml.box") {
            l.doc["spec"]["isEphemeral"] = json!(true);
        }
    }
    let (plan, problems) = plan_with(&model, &live, inputs());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(plan.counts().get(&Action::Update), Some(&1));
    // Same replace, protection removed: no problem.
    let unprotected = yaml(&PROTECTED.replace("lifecycle: {preventDestroy: true}\n", ""));
    let (_, problems) = plan_with(&unprotected, &retemplated(&unprotected), inputs());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn prevent_destroy_applies_to_the_selection_only() {
    let model = yaml(PROTECTED);
    let live = retemplated(&model);
    let (plan, problems) =
        plan_with(&model, &live, PlanInputs { excludes: vec![a("workspace.ml.box")], ..inputs() });
    assert!(problems.is_empty(), "{problems:?}");
    assert!(plan.steps.is_empty(), "{:?}", step_names(&plan));
}

#[test]
fn prevent_destroy_refuses_a_delete() {
    let model = yaml(PROTECTED);
    let mut d = diff::diff(
        &model,
        &live_form(&model, STACK),
        &DiffOptions { stack: STACK.into(), prune: false },
    );
    let c = d.changes.iter_mut().find(|c| c.address == a("workspace.ml.box")).expect("change");
    c.action = Action::Delete;
    let (_, problems) = make(&model, d, inputs());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("would destroy it"), "{}", problems[0].message);
    assert!(problems[0].help.as_deref().unwrap_or_default().starts_with("remove prevent_destroy"));
}

// Masking.

const SENSITIVE: &str = r#"
variable "api_key" {
  sensitive = true
  default   = "sk-live-123"
}
space "ml" {}
template "gpu" {
  space = space.ml
  runtime {
    env_var {
      key   = "PLAIN"
      value = "visible"
    }
    env_var {
      key   = "API_KEY"
      value = var.api_key
    }
  }
}
"#;

fn field<'p>(plan: &'p Plan, address: &str, path: &str) -> &'p PlannedField {
    plan.changes
        .iter()
        .find(|c| c.address == a(address))
        .and_then(|c| c.fields.iter().find(|f| f.path == path))
        .unwrap_or_else(|| panic!("no field {path} of {address}"))
}

#[test]
fn sensitive_values_are_masked_on_create_and_update_and_others_are_not() {
    let model = hcl(SENSITIVE);
    let (plan, _) = plan_with(&model, &[], inputs());
    let f = field(&plan, "template.ml.gpu", "spec.runtime.envVars[API_KEY].value");
    assert_eq!((f.old.as_ref(), f.new.as_ref(), f.sensitive), (None, Some(&json!(MASK)), true));
    let plain = field(&plan, "template.ml.gpu", "spec.runtime.envVars[PLAIN].value");
    assert_eq!((plain.new.as_ref(), plain.sensitive), (Some(&json!("visible")), false));

    let mut live = live_form(&model, STACK);
    for l in &mut live {
        if l.address == a("template.ml.gpu") {
            l.doc["spec"]["runtime"]["envVars"][1]["value"] = json!("sk-old-999");
        }
    }
    let (plan, _) = plan_with(&model, &live, inputs());
    let f = field(&plan, "template.ml.gpu", "spec.runtime.envVars[API_KEY].value");
    assert_eq!((f.old.as_ref(), f.new.as_ref()), (Some(&json!(MASK)), Some(&json!(MASK))));
    // Neither value is anywhere in the plan, nor in the plan file.
    let text = serde_json::to_string(&plan).expect("json");
    assert!(!text.contains("sk-live-123") && !text.contains("sk-old-999"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plan.json");
    file::write(&plan, &path).expect("write");
    let saved = std::fs::read_to_string(&path).expect("read");
    assert!(!saved.contains("sk-live-123") && !saved.contains("sk-old-999"));
    assert!(saved.contains("spec.runtime.envVars[API_KEY].value"), "the change is kept");
    assert_eq!(file::read(&path).expect("read back"), plan);
}

fn hand_change(address: &str, fields: &[&str], sensitive: &[&str]) -> ResourceChange {
    ResourceChange {
        address: a(address),
        action: Action::Update,
        reason: "because".into(),
        fields: fields
            .iter()
            .map(|p| FieldChange {
                path: (*p).into(),
                old: Some(json!("o")),
                new: Some(json!("n")),
            })
            .collect(),
        forced_by: vec![],
        live: None,
        sensitive: sensitive.iter().map(|s| (*s).to_string()).collect(),
        changed_by: None,
        imported: None,
    }
}

#[test]
fn masking_covers_descendants_ancestors_and_every_field_of_a_secret() {
    let c = hand_change(
        "template.ml.gpu",
        &["spec.a", "spec.a.b", "spec.a[x]", "spec.ab", "spec", "spec.z"],
        &["spec.a"],
    );
    let masked: Vec<(String, bool)> =
        mask(&c).fields.iter().map(|f| (f.path.clone(), f.sensitive)).collect();
    let want = [
        ("spec.a", true),
        ("spec.a.b", true),
        ("spec.a[x]", true),
        ("spec.ab", false), // a sibling sharing a prefix is not covered
        ("spec", true),     // an ancestor holds the value
        ("spec.z", false),
    ];
    assert_eq!(masked, want.map(|(p, s)| (p.to_string(), s)));
    for f in mask(&c).fields {
        let shown = if f.sensitive { json!(MASK) } else { json!("n") };
        assert_eq!(f.new, Some(shown), "{}", f.path);
    }
    let secret = mask(&hand_change("secret.ml.tok", &["anything"], &[]));
    assert!(secret.fields.iter().all(|f| f.sensitive && f.old == Some(json!(MASK))));
}

// Snapshot builds.

fn ready_history(tag: &str) -> BuildHistory {
    BuildHistory {
        builds: vec![
            PastBuild {
                id: "b2".into(),
                tags: vec![tag.into()],
                state: BuildState::Ready,
                duration_secs: Some(100),
            },
            PastBuild {
                id: "b1".into(),
                tags: vec!["cold".into()],
                state: BuildState::Ready,
                duration_secs: Some(300),
            },
        ],
        current_ready: Some("b2".into()),
        current_running: None,
    }
}

fn gpu_tag(model: &Model) -> String {
    match &model.get(&a("template.ml.gpu")).expect("gpu").body {
        Body::Template { spec, .. } => input_tag(spec),
        _ => unreachable!("a Template"),
    }
}

fn histories(entries: &[(&str, BuildHistory)]) -> BTreeMap<Address, BuildHistory> {
    entries.iter().map(|(k, v)| (a(k), v.clone())).collect()
}

#[test]
fn a_new_template_is_built_before_its_workspaces_are_created() {
    let model = yaml(CONFIG);
    let (plan, _) = plan_with(&model, &[], inputs());
    assert_eq!(plan.builds.len(), 1, "only gpu has a prebuild: {:?}", plan.builds);
    let b = &plan.builds[0];
    assert_eq!((b.template.to_string(), b.action), ("template.ml.gpu".into(), BuildAction::Build));
    assert_eq!(b.reason, Some(BuildReason::NeverBuilt));
    assert_eq!(b.tag, gpu_tag(&model));
    assert_eq!(b.timeout_secs, 45 * 60, "the Template's own timeout");
    assert_eq!((b.build_id.as_ref(), b.estimate_secs), (None, None));
    let create = position(&plan, StepKind::Create, "template.ml.gpu");
    let build = position(&plan, StepKind::Build, "template.ml.gpu");
    let ws = position(&plan, StepKind::Create, "workspace.ml.box");
    assert!(create < build && build < ws, "{:?}", step_names(&plan));
    assert!(plan.steps[ws].depends_on.contains(&build));
    assert!(plan.steps[build].depends_on.contains(&create));
}

#[test]
fn an_up_to_date_build_runs_nothing() {
    let model = yaml(CONFIG);
    let tag = gpu_tag(&model);
    let (plan, _) = plan_with(
        &model,
        &live_form(&model, STACK),
        PlanInputs {
            histories: histories(&[("template.ml.gpu", ready_history(&tag))]),
            ..inputs()
        },
    );
    let b = &plan.builds[0];
    assert_eq!(
        (b.action, b.build_id.as_deref(), b.reason.as_ref()),
        (BuildAction::UpToDate, Some("b2"), None)
    );
    assert_eq!(b.estimate_secs, Some(200), "mean of past successful builds");
    assert!(plan.steps.is_empty(), "{:?}", step_names(&plan));
    assert!(!plan.has_changes());
}

#[test]
fn a_change_outside_the_build_inputs_does_not_rebuild() {
    let model = yaml(CONFIG);
    let tag = gpu_tag(&model);
    let mut live = live_form(&model, STACK);
    for l in &mut live {
        if l.address == a("template.ml.gpu") {
            l.doc["metadata"]["description"] = json!("drifted");
        }
    }
    let (plan, _) = plan_with(
        &model,
        &live,
        PlanInputs {
            histories: histories(&[("template.ml.gpu", ready_history(&tag))]),
            ..inputs()
        },
    );
    assert_eq!(plan.builds[0].action, BuildAction::UpToDate);
    assert_eq!(step_names(&plan), ["Update template.ml.gpu"]);
}

#[test]
fn changed_build_inputs_rebuild_and_say_which() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    for l in &mut live {
        if l.address == a("template.ml.gpu") {
            l.doc["spec"]["image"]["registry"]["url"] = json!("python:3.11");
        }
    }
    // The ready build carries the tag of the old inputs.
    let (plan, _) = plan_with(
        &model,
        &live,
        PlanInputs {
            histories: histories(&[("template.ml.gpu", ready_history("cold-tag"))]),
            ..inputs()
        },
    );
    let b = &plan.builds[0];
    assert_eq!(b.action, BuildAction::Build);
    assert_eq!(
        b.reason,
        Some(BuildReason::InputsChanged { fields: vec!["spec.image.registry.url".into()] })
    );
    assert_eq!(step_names(&plan), ["Update template.ml.gpu", "Build template.ml.gpu"]);
}

#[test]
fn a_running_build_of_the_same_inputs_is_waited_for() {
    let model = yaml(CONFIG);
    let tag = gpu_tag(&model);
    let history = BuildHistory {
        builds: vec![PastBuild {
            id: "b9".into(),
            tags: vec![tag],
            state: BuildState::Running,
            duration_secs: None,
        }],
        current_ready: None,
        current_running: Some("b9".into()),
    };
    let live: Vec<LiveDoc> = live_form(&model, STACK)
        .into_iter()
        .filter(|l| l.address != a("workspace.ml.box"))
        .collect();
    let (plan, _) = plan_with(
        &model,
        &live,
        PlanInputs { histories: histories(&[("template.ml.gpu", history)]), ..inputs() },
    );
    assert_eq!(
        (plan.builds[0].action, plan.builds[0].build_id.as_deref()),
        (BuildAction::Wait, Some("b9"))
    );
    let wait = position(&plan, StepKind::WaitBuild, "template.ml.gpu");
    let ws = position(&plan, StepKind::Create, "workspace.ml.box");
    assert!(plan.steps[ws].depends_on.contains(&wait), "{:?}", plan.steps);
}

#[test]
fn a_replaced_template_is_built_afresh_whatever_its_history() {
    let model = yaml(CONFIG);
    let tag = gpu_tag(&model);
    let mut d = diff::diff(
        &model,
        &live_form(&model, STACK),
        &DiffOptions { stack: STACK.into(), prune: false },
    );
    let c = d.changes.iter_mut().find(|c| c.address == a("template.ml.gpu")).expect("change");
    c.action = Action::Replace;
    let (plan, _) = make(
        &model,
        d,
        PlanInputs {
            histories: histories(&[("template.ml.gpu", ready_history(&tag))]),
            ..inputs()
        },
    );
    assert_eq!(plan.builds[0].reason, Some(BuildReason::NeverBuilt));
    let delete = position(&plan, StepKind::Delete, "template.ml.gpu");
    let create = position(&plan, StepKind::Create, "template.ml.gpu");
    let build = position(&plan, StepKind::Build, "template.ml.gpu");
    assert!(delete < create && create < build, "{:?}", step_names(&plan));
}

#[test]
fn without_its_own_timeout_a_build_gets_the_default() {
    let model = yaml(&CONFIG.replace("prebuild: {timeout: 45m}", "prebuild: {}"));
    let (plan, _) = plan_with(&model, &[], inputs());
    assert_eq!(plan.builds[0].timeout_secs, 600);
}

// Steps.

#[test]
fn pruned_children_are_deleted_before_their_space() {
    let model = yaml("kind: Space\nmetadata: {name: ml}\n");
    let old = yaml(
        "kind: Space\nmetadata: {name: old}\n---\nkind: Template\nmetadata: {name: t1.old}\nspec: {}\n",
    );
    let mut live = live_form(&model, STACK);
    live.extend(live_form(&old, STACK));
    let (plan, problems) = plan_pruning(&model, &live, inputs(), true);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(step_names(&plan), ["Delete template.old.t1", "Delete space.old"]);
    assert_eq!(plan.steps[1].depends_on, [0]);
}

mod properties {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::model::testing::arb;

    /// What a test does to each resource's live object.
    #[derive(Debug, Clone, Copy)]
    enum Fate {
        Absent,
        Same,
        Drift,
        /// Workspaces: another Template; Spaces: the other type; others: drift.
        Replace,
    }

    fn fate() -> impl Strategy<Value = Fate> {
        prop_oneof![Just(Fate::Absent), Just(Fate::Same), Just(Fate::Drift), Just(Fate::Replace)]
    }

    fn drift(l: &mut LiveDoc) {
        match l.address.kind {
            Kind::Workspace => {
                let e = l.doc["spec"]["isEphemeral"].as_bool().unwrap_or(false);
                l.doc["spec"]["isEphemeral"] = json!(!e);
            }
            _ => l.doc["metadata"]["description"] = json!("drifted"),
        }
    }

    /// Random live state for `model`: each object absent, identical, drifted or replaced, plus
    /// stack-labelled leftovers (a Space with a Template and a Workspace) for prune.
    fn live_for(model: &Model, fates: &[Fate], strays: usize) -> Vec<LiveDoc> {
        let mut live = Vec::new();
        for (l, fate) in live_form(model, STACK).into_iter().zip(fates.iter().cycle()) {
            let mut l = l;
            match fate {
                Fate::Absent => continue,
                Fate::Same => {}
                Fate::Drift => drift(&mut l),
                Fate::Replace => match l.address.kind {
                    Kind::Workspace => l.doc["template"] = json!("other"),
                    Kind::Space => {
                        let org = l.doc["organization"].as_bool().unwrap_or(false);
                        l.doc["organization"] = json!(!org);
                    }
                    _ => drift(&mut l),
                },
            }
            live.push(l);
        }
        for s in 0..strays {
            let old = yaml(&format!(
                "kind: Space\nmetadata: {{name: old{s}}}\n---\nkind: Template\nmetadata: {{name: tx.old{s}}}\nspec: {{}}\n---\nkind: Workspace\nmetadata: {{name: wx.old{s}}}\ntemplate: tx\n"
            ));
            live.extend(live_form(&old, STACK));
        }
        live
    }

    fn pos(plan: &Plan, kinds: &[StepKind], address: &Address) -> Vec<usize> {
        (0..plan.steps.len())
            .filter(|&i| kinds.contains(&plan.steps[i].kind) && plan.steps[i].address == *address)
            .collect()
    }

    const WRITES: &[StepKind] = &[StepKind::Create, StepKind::Update];
    const BUILDS: &[StepKind] = &[StepKind::Build, StepKind::WaitBuild];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every plan's steps respect the dependency graph: each step comes after the steps it
        /// depends on; writes come after the writes of what they depend on; a Workspace after
        /// its Template's build; a build after its Template's write; a replace deletes before it
        /// creates; a delete comes after the deletes of what depends on it.
        #[test]
        fn every_plan_respects_the_dependency_graph(
            docs in arb::docs(),
            fates in proptest::collection::vec(fate(), 1..8),
            strays in 0usize..3,
            prune in any::<bool>(),
            target in proptest::option::of(any::<proptest::sample::Index>()),
            exclude in proptest::option::of(any::<proptest::sample::Index>()),
            replace in proptest::option::of(any::<proptest::sample::Index>()),
            destroy in any::<bool>(),
            delete_first in any::<bool>(),
        ) {
            let mut model = yaml(&arb::to_yaml(&docs));
            if delete_first {
                // Workspaces that opt out of create-before-destroy.
                for r in model.resources.iter_mut().filter(|r| r.kind() == Kind::Workspace) {
                    r.lifecycle.create_before_destroy = Some(false);
                }
            }
            let live = live_for(&model, &fates, strays);
            let pick = |i: &proptest::sample::Index| model.resources[i.index(model.len())].address.clone();
            let inputs = PlanInputs {
                targets: target.iter().map(pick).collect(),
                excludes: exclude.iter().map(pick).collect(),
                replaces: replace.iter().map(pick).collect(),
                destroy,
                ..inputs()
            };
            let (plan, problems) = if destroy {
                // A destroy: nothing desired, everything of the stack goes.
                let d = diff::diff(&Model::default(), &live, &DiffOptions { stack: STACK.into(), prune: true });
                make(&model, d, inputs)
            } else {
                plan_pruning(&model, &live, inputs, prune)
            };
            if destroy {
                prop_assert!(plan.changes.iter().all(|c| matches!(c.action, Action::Delete | Action::NoOp)));
            }
            if delete_first {
                prop_assert!(plan.changes.iter().all(|c| c.replace_order != Some(ReplaceOrder::CreateBeforeDestroy)));
            }
            prop_assert!(
                problems.iter().all(|p| p.code != "dependency-cycle"),
                "{:?}", problems
            );
            for (i, s) in plan.steps.iter().enumerate() {
                for &d in &s.depends_on {
                    prop_assert!(d < i, "step {} ({:?} {}) depends on later step {}", i, s.kind, s.address, d);
                }
            }
            let edges = crate::model::graph::edges(&model);
            let before = |a: &[usize], b: &[usize]| a.iter().all(|x| b.iter().all(|y| x < y));
            for s in &plan.steps {
                let x = &s.address;
                let deps = edges.get(x).cloned().unwrap_or_default();
                for d in &deps {
                    prop_assert!(
                        before(&pos(&plan, WRITES, d), &pos(&plan, WRITES, x)),
                        "{} is written before {}", x, d
                    );
                    if d.kind == Kind::Template && x.kind == Kind::Workspace {
                        prop_assert!(before(&pos(&plan, BUILDS, d), &pos(&plan, WRITES, x)));
                    }
                }
                prop_assert!(before(&pos(&plan, WRITES, x), &pos(&plan, BUILDS, x)));
                // A replace deletes before it creates, except a Workspace's that creates first
                // (create before destroy), which only happens when nothing it needs is deleted.
                let order = plan.changes.iter().find(|c| &c.address == x).and_then(|c| c.replace_order);
                if order == Some(ReplaceOrder::CreateBeforeDestroy) {
                    prop_assert!(before(&pos(&plan, WRITES, x), &pos(&plan, &[StepKind::Delete], x)));
                    for d in &deps {
                        prop_assert!(pos(&plan, &[StepKind::Delete], d).is_empty(), "{} needs {}, deleted", x, d);
                    }
                } else {
                    prop_assert!(before(&pos(&plan, &[StepKind::Delete], x), &pos(&plan, WRITES, x)));
                }
                if s.kind == StepKind::Delete {
                    let mut parents: BTreeSet<Address> = deps.into_iter().collect();
                    parents.extend(x.space_address().filter(|sp| sp != x));
                    for p in &parents {
                        prop_assert!(
                            before(&pos(&plan, &[StepKind::Delete], x), &pos(&plan, &[StepKind::Delete], p)),
                            "{} is deleted before {}", p, x
                        );
                    }
                }
            }
            // One step per operation: nothing planned is left out of the graph.
            let ops: usize = plan.changes.iter().map(|c| match c.action {
                Action::NoOp => 0,
                Action::Replace => 2,
                _ => 1,
            }).sum::<usize>() + plan.builds.iter().filter(|b| b.action != BuildAction::UpToDate).count();
            prop_assert_eq!(plan.steps.len(), ops);
        }
    }
}

/// `make` moves the diff's changes into the plan's list in place (`Vec`'s collect reuses the
/// buffer of an iterator over its own items when the new ones are no larger): a plan of every
/// object of a large stack is not held twice while it is made. The rare parts of a planned
/// change (`cascade`, `moved_from`) are boxed to keep it so.
#[test]
fn a_planned_change_fits_in_the_buffer_of_the_change_it_comes_from() {
    let (planned, change) =
        (std::mem::size_of::<PlannedChange>(), std::mem::size_of::<diff::ResourceChange>());
    assert!(planned <= change, "PlannedChange {planned} bytes, ResourceChange {change}");
    assert_eq!(std::mem::align_of::<PlannedChange>(), std::mem::align_of::<diff::ResourceChange>());
}
