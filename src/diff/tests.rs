//! Unit tests of [`super::diff`] on models loaded from YAML and live objects produced the way
//! apply writes them ([`super::testing::live_form`]), then changed on the "cluster" side.

use serde_json::{json, Value};

use super::testing::live_form;
use super::*;
use crate::model::testing::{hcl, yaml};
use crate::model::{Address, Kind};

const STACK: &str = "demo";

const CONFIG: &str = r#"
kind: Space
metadata: {name: ml, displayName: ML, labels: {team: ml}}
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
    tasks:
      - {name: install, type: ON_CREATE, run: pip install -r requirements.txt}
prebuild: {}
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
spec: {type: WORKLOAD, groups: [agents]}
"#;

fn a(s: &str) -> Address {
    s.parse().expect("address")
}

fn opts(prune: bool) -> DiffOptions {
    DiffOptions { stack: STACK.into(), prune }
}

fn change<'d>(d: &'d Diff, address: &str) -> &'d ResourceChange {
    d.changes
        .iter()
        .find(|c| c.address == a(address))
        .unwrap_or_else(|| panic!("no change for {address}: {:?}", d.changes))
}

fn paths(c: &ResourceChange) -> Vec<&str> {
    c.fields.iter().map(|f| f.path.as_str()).collect()
}

/// The live document of `address`, to change it "on the cluster".
fn live_of<'l>(live: &'l mut [LiveDoc], address: &str) -> &'l mut LiveDoc {
    live.iter_mut().find(|l| l.address == a(address)).expect("live object")
}

/// A pointer into a live document, created on the way if missing.
fn at<'v>(doc: &'v mut Value, path: &[&str]) -> &'v mut Value {
    path.iter().fold(doc, |v, k| {
        if !v.is_object() {
            *v = json!({});
        }
        v.as_object_mut().expect("object").entry(k.to_string()).or_insert(Value::Null)
    })
}

#[test]
fn the_live_form_of_the_config_is_all_no_ops() {
    let model = yaml(CONFIG);
    let live = live_form(&model, STACK);
    let d = diff(&model, &live, &opts(true));
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(d.changes.len(), model.len());
    for c in &d.changes {
        assert_eq!(c.action, Action::NoOp, "{}: {:?}", c.address, c.fields);
        assert_eq!(c.reason, "matches the cluster");
        assert!(c.live.is_some(), "{}", c.address);
    }
}

#[test]
fn a_resource_missing_on_the_cluster_is_created_field_by_field() {
    let model = yaml(CONFIG);
    let live: Vec<LiveDoc> = live_form(&model, STACK)
        .into_iter()
        .filter(|l| l.address != a("template.ml.cpu"))
        .collect();
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "template.ml.cpu");
    assert_eq!(c.action, Action::Create);
    assert_eq!(c.reason, "not on the cluster");
    assert!(c.live.is_none());
    assert_eq!(paths(c), ["metadata.labels.cordium-stack", "spec.image.registry.url"]);
    assert_eq!(c.fields[1].old, None);
    assert_eq!(c.fields[1].new, Some(json!("ubuntu:24.04")));
    // Everything else is untouched.
    let others: Vec<_> = d.changes.iter().filter(|c| c.action != Action::NoOp).collect();
    assert_eq!(others.len(), 1, "{others:?}");
}

#[test]
fn a_secret_create_says_where_its_value_comes_from_and_shows_no_fields() {
    let model = yaml(CONFIG);
    let d = diff(&model, &[], &opts(false));
    let c = change(&d, "secret.ml.tok");
    assert_eq!(c.action, Action::Create);
    assert!(c.reason.contains("$TOKEN"), "{}", c.reason);
    assert!(c.fields.is_empty(), "{:?}", c.fields);
    let file = yaml(
        "kind: Space\nmetadata: {name: ml}\n---\nkind: Secret\nmetadata: {name: key.ml}\nfromFile: secrets/key\n",
    );
    let d = diff(&file, &[], &opts(false));
    assert!(change(&d, "secret.ml.key").reason.contains("the file secrets/key"));
}

#[test]
fn one_drifted_field_is_an_update_naming_it() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    *at(&mut live_of(&mut live, "template.ml.cpu").doc, &["spec", "image", "registry", "url"]) =
        json!("ubuntu:22.04");
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "template.ml.cpu");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.reason, "spec.image.registry.url differs");
    assert_eq!(
        c.fields,
        [FieldChange {
            path: "spec.image.registry.url".into(),
            old: Some(json!("ubuntu:22.04")),
            new: Some(json!("ubuntu:24.04")),
        }]
    );
    assert!(c.forced_by.is_empty());
    assert_eq!(c.live.as_ref().map(|l| l.name.as_str()), Some("cpu.ml.alice"));
}

#[test]
fn several_drifted_fields_are_counted_and_live_only_fields_are_removals() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    let space = live_of(&mut live, "space.ml");
    *at(&mut space.doc, &["metadata", "displayName"]) = json!("Old ML");
    *at(&mut space.doc, &["metadata", "labels", "extra"]) = json!("x");
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "space.ml");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.reason, "2 fields differ");
    assert_eq!(paths(c), ["metadata.displayName", "metadata.labels.extra"]);
    assert_eq!(c.fields[1].new, None, "a field only the cluster has is removed");
}

#[test]
fn a_workspace_template_change_is_a_replace_forced_by_template() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    *at(&mut live_of(&mut live, "workspace.ml.box").doc, &["template"]) = json!("cpu");
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "workspace.ml.box");
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.forced_by, ["template"]);
    assert_eq!(c.reason, "template cannot change in place");
}

#[test]
fn a_space_changing_type_is_a_replace_but_a_template_never_is() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    *at(&mut live_of(&mut live, "space.org").doc, &["organization"]) = json!(false);
    // A Template whose every field changed is still updated in place.
    *at(&mut live_of(&mut live, "template.ml.gpu").doc, &["spec"]) = json!({});
    let d = diff(&model, &live, &opts(false));
    let space = change(&d, "space.org");
    assert_eq!(
        (space.action, space.forced_by.as_slice()),
        (Action::Replace, &["organization".to_string()][..])
    );
    assert_eq!(change(&d, "template.ml.gpu").action, Action::Update);
}

#[test]
fn a_replace_lists_every_difference_but_only_forcing_fields_in_forced_by() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    let ws = live_of(&mut live, "workspace.ml.box");
    *at(&mut ws.doc, &["template"]) = json!("cpu");
    *at(&mut ws.doc, &["spec", "isEphemeral"]) = json!(true);
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "workspace.ml.box");
    assert_eq!(c.action, Action::Replace);
    assert_eq!(paths(c).len(), 2, "{:?}", c.fields);
    assert_eq!(c.forced_by, ["template"]);
}

#[test]
fn ignore_changes_hides_drift_under_the_ignored_path_only() {
    let model = yaml(
        r#"
kind: Space
metadata: {name: ml}
---
kind: Template
metadata: {name: gpu.ml}
spec:
  image: {registry: {url: "python:3.12"}}
  runtime:
    tasks:
      - {name: install, type: ON_CREATE, run: make}
lifecycle:
  ignoreChanges: [spec.runtime]
"#,
    );
    let mut live = live_form(&model, STACK);
    let t = live_of(&mut live, "template.ml.gpu");
    *at(&mut t.doc, &["spec", "runtime", "tasks"]) = json!([]);
    let d = diff(&model, &live, &opts(false));
    assert_eq!(change(&d, "template.ml.gpu").action, Action::NoOp);
    *at(&mut live_of(&mut live, "template.ml.gpu").doc, &["spec", "image", "registry", "url"]) =
        json!("python:3.11");
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "template.ml.gpu");
    assert_eq!(c.action, Action::Update);
    assert_eq!(paths(c), ["spec.image.registry.url"]);
}

/// A Template with one plain env var and one from a sensitive variable.
const SENSITIVE_TEMPLATE: &str = r#"
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
      value = "x"
    }
    env_var {
      key   = "API_KEY"
      value = var.api_key
    }
  }
}
"#;

#[test]
fn values_from_sensitive_variables_are_marked_by_their_reported_path() {
    let model = hcl(SENSITIVE_TEMPLATE);
    let d = diff(&model, &[], &opts(false));
    let c = change(&d, "template.ml.gpu");
    assert_eq!(c.sensitive, ["spec.runtime.envVars[API_KEY].value"]);
    assert!(paths(c).contains(&"spec.runtime.envVars[API_KEY].value"), "{:?}", paths(c));
    // The mark travels with updates too, and nothing else is marked.
    let mut live = live_form(&model, STACK);
    let t = live_of(&mut live, "template.ml.gpu");
    t.doc["spec"]["runtime"]["envVars"][1]["value"] = json!("sk-old");
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "template.ml.gpu");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.sensitive, ["spec.runtime.envVars[API_KEY].value"]);
    assert!(change(&d, "space.ml").sensitive.is_empty());
}

/// A live object labelled with `stack` that the config does not declare.
fn stray(address: &str, stack: Option<&str>) -> LiveDoc {
    let address = a(address);
    LiveDoc {
        wire_name: format!("{}.alice", address.name),
        uid: format!("uid-{address}"),
        resource_version: "7".into(),
        doc: json!({"spec": {}}).into(),
        stack: stack.map(str::to_string),
        retiring: false,
        applied: None,
        address,
    }
}

#[test]
fn prune_deletes_only_objects_labelled_with_this_stack() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    live.push(stray("space.old", Some(STACK)));
    live.push(stray("template.ml.old", Some(STACK)));
    live.push(stray("space.theirs", Some("other")));
    live.push(stray("space.manual", None));
    let d = diff(&model, &live, &opts(true));
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    for ours in ["space.old", "template.ml.old"] {
        let c = change(&d, ours);
        assert_eq!(c.action, Action::Delete, "{ours}");
        assert_eq!(c.reason, "no longer in the config; prune is on");
        assert_eq!(c.live.as_ref().map(|l| l.resource_version.as_str()), Some("7"));
        assert!(c.fields.is_empty());
    }
    for not_ours in ["space.theirs", "space.manual"] {
        assert!(d.changes.iter().all(|c| c.address != a(not_ours)), "{not_ours} was touched");
    }
    // Without prune, our strays are kept and said so; still nothing else.
    let d = diff(&model, &live, &opts(false));
    let c = change(&d, "space.old");
    assert_eq!(
        (c.action, c.reason.as_str()),
        (Action::NoOp, "no longer in the config; kept (prune is off)")
    );
    assert!(d.changes.iter().all(|c| c.address != a("space.theirs")));
    assert_eq!(d.changes.iter().filter(|c| c.action.is_change()).count(), 0);
}

#[test]
fn an_empty_stack_name_prunes_nothing() {
    let model = yaml("kind: Space\nmetadata: {name: ml}\n");
    let live = vec![stray("space.old", Some(""))];
    let d = diff(&model, &live, &DiffOptions { stack: String::new(), prune: true });
    assert!(d.changes.iter().all(|c| c.address != a("space.old")), "{:?}", d.changes);
}

#[test]
fn workspaces_of_a_pruned_space_go_with_it_labelled_or_not() {
    let model = yaml("kind: Space\nmetadata: {name: ml}\n");
    let mut live = live_form(&model, STACK);
    live.push(stray("space.old", Some(STACK)));
    live.push(stray("workspace.old.someones", None));
    live.push(stray("workspace.keep.someones", None));
    let d = diff(&model, &live, &opts(true));
    let c = change(&d, "workspace.old.someones");
    assert_eq!((c.action, c.reason.as_str()), (Action::Delete, "its Space is being destroyed"));
    assert!(d.changes.iter().all(|c| c.address != a("workspace.keep.someones")));
    // Without prune the Space stays, and so does the Workspace.
    let d = diff(&model, &live, &opts(false));
    assert!(d.changes.iter().all(|c| c.address != a("workspace.old.someones")));
}

#[test]
fn a_declared_name_taken_by_an_unmanaged_object_is_a_problem_not_a_change() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    live_of(&mut live, "template.ml.cpu").stack = None;
    live_of(&mut live, "user.agent").stack = Some("other".into());
    // Workspaces are matched by display name, whatever their labels.
    live_of(&mut live, "workspace.ml.box").stack = None;
    let d = diff(&model, &live, &opts(true));
    let problems: Vec<(&str, &str)> =
        d.problems.iter().map(|p| (p.code, p.address.as_deref().unwrap_or_default())).collect();
    // In model order: Users before Templates.
    assert_eq!(
        problems,
        [("unmanaged-object", "user.agent"), ("unmanaged-object", "template.ml.cpu")]
    );
    assert!(d.problems[0].message.contains("stack `other`"), "{}", d.problems[0].message);
    assert!(d.problems[1].message.contains("not managed by cordium"), "{}", d.problems[1].message);
    assert!(d
        .changes
        .iter()
        .all(|c| c.address != a("template.ml.cpu") && c.address != a("user.agent")));
    assert_eq!(change(&d, "workspace.ml.box").action, Action::NoOp);
}

#[test]
fn two_live_workspaces_for_one_declared_is_an_ambiguity_naming_both() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    let mut twin = live_of(&mut live, "workspace.ml.box").clone();
    twin.wire_name = "twin9q".into();
    live.push(twin);
    let d = diff(&model, &live, &opts(false));
    assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
    let p = &d.problems[0];
    assert_eq!(p.code, "ambiguous-match");
    assert!(p.message.contains("`twin9q`") && p.message.contains("`ws"), "{}", p.message);
    assert!(d.changes.iter().all(|c| c.address != a("workspace.ml.box")));
}

#[test]
fn changes_are_sorted_by_address() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    live.push(stray("space.aaa", Some(STACK)));
    live.reverse();
    let d = diff(&model, &live, &opts(true));
    let addresses: Vec<&Address> = d.changes.iter().map(|c| &c.address).collect();
    let mut sorted = addresses.clone();
    sorted.sort();
    assert_eq!(addresses, sorted);
    assert_eq!(addresses.len(), model.len() + 1);
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::model::testing::arb;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// What apply writes, read back, is what the config says: a model diffed against its
        /// own live form has only no-ops (and no problems).
        #[test]
        fn a_model_against_its_own_live_form_is_all_no_ops(docs in arb::docs()) {
            let model = yaml(&arb::to_yaml(&docs));
            prop_assert_eq!(model.len(), docs.len(), "every generated document is a resource");
            let live = live_form(&model, STACK);
            let d = diff(&model, &live, &opts(true));
            prop_assert!(d.problems.is_empty(), "{:?}", d.problems);
            prop_assert_eq!(d.changes.len(), model.len());
            for c in &d.changes {
                prop_assert_eq!(c.action, Action::NoOp, "{}: {:?}", c.address, c.fields);
            }
        }

        /// The desired document written straight as text is the document's own text, and the
        /// comparison of texts gives the change the comparison of trees gives, matching or not.
        #[test]
        fn texts_compare_as_their_trees(docs in arb::docs(), drifted in 0usize..8) {
            let model = yaml(&arb::to_yaml(&docs));
            for r in &model.resources {
                let tree = serde_json::to_string(&desired_doc(r, STACK)).expect("serialises");
                prop_assert_eq!(desired_text(r, STACK), tree, "{}", r.address);
            }
            let mut live = live_form(&model, STACK);
            if let Some(l) = live.get_mut(drifted) {
                *at(&mut l.doc, &["spec", "drifted"]) = json!(true);
            }
            let trees = as_trees(&live);
            prop_assert_eq!(diff(&model, &live, &opts(true)).changes, diff(&model, &trees, &opts(true)).changes);
        }
    }
}

#[test]
fn the_fingerprint_is_of_what_the_plan_depends_on_with_sensitive_values_masked() {
    let doc = json!({"metadata": {"labels": {"cordium-stack": "demo"}}, "spec": {"runtime":
        {"envVars": [{"key": "API_KEY", "value": "s3cret"}, {"key": "B", "value": "b"}]}}});
    let masked = vec!["spec.runtime.envVars[0].value".to_string()];
    let base = fingerprint(&doc, &masked);
    assert_eq!(base.len(), 64, "hex SHA-256");
    assert_eq!(base, fingerprint(&doc.clone(), &masked), "deterministic");
    // Another value at a masked path: the same fingerprint (it cannot confirm a guess).
    let mut guessed = doc.clone();
    guessed["spec"]["runtime"]["envVars"][0]["value"] = json!("guess");
    assert_eq!(fingerprint(&guessed, &masked), base);
    assert_ne!(fingerprint(&guessed, &[]), fingerprint(&doc, &[]));
    // A spec change or a managed-metadata change elsewhere: a new fingerprint.
    let mut spec = doc.clone();
    spec["spec"]["runtime"]["envVars"][1]["value"] = json!("c");
    assert_ne!(fingerprint(&spec, &masked), base);
    let mut meta = doc.clone();
    meta["metadata"]["labels"]["cordium-stack"] = json!("other");
    assert_ne!(fingerprint(&meta, &masked), base);
}

#[test]
fn every_live_ref_carries_a_fingerprint_of_the_live_document() {
    let model = yaml(CONFIG);
    let live = live_form(&model, STACK);
    let d = diff(&model, &live, &opts(false));
    for c in &d.changes {
        let l = c.live.as_ref().expect("live");
        let doc = &live.iter().find(|x| x.address == c.address).expect("doc").doc;
        assert_eq!(l.fingerprint, fingerprint(doc, &l.masked), "{}", c.address);
    }
}

#[test]
fn a_workspace_marked_replaced_is_retired_only_once_its_successor_exists() {
    let model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    live_of(&mut live, "workspace.ml.box").retiring = true;
    // No successor (its create failed for good): still the declared Workspace's match.
    let d = diff(&model, &live, &opts(true));
    let c = change(&d, "workspace.ml.box");
    assert_ne!(c.action, Action::Delete, "{c:?}");
    assert!(d.changes.iter().all(|c| c.action != Action::Delete), "{:?}", d.changes);
    // With its successor beside it: the old one is deleted, by its stored name.
    let mut successor = live_of(&mut live, "workspace.ml.box").clone();
    successor.retiring = false;
    successor.uid = "uid-successor".into();
    successor.wire_name = "new".into();
    let old_name = live_of(&mut live, "workspace.ml.box").wire_name.clone();
    live.push(successor);
    let d = diff(&model, &live, &opts(true));
    let deleted: Vec<&str> = d
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .filter_map(|c| c.live.as_ref().map(|l| l.name.as_str()))
        .collect();
    assert_eq!(deleted, [old_name.as_str()]);
    assert_ne!(change(&d, "workspace.ml.box").action, Action::Delete);
}

/// The live form with every object recorded as applied from `model` (what apply writes).
fn applied_form(model: &Model) -> Vec<LiveDoc> {
    let mut live = live_form(model, STACK);
    for l in &mut live {
        l.applied = Some(applied_digest(&l.doc));
    }
    live
}

#[test]
fn each_update_says_whether_the_config_or_the_cluster_changed_since_the_last_apply() {
    let model = yaml(CONFIG);
    // The cluster changed, the config did not: outside.
    let mut live = applied_form(&model);
    *at(&mut live_of(&mut live, "template.ml.cpu").doc, &["spec", "image", "registry", "url"]) =
        json!("ubuntu:22.04");
    let d = diff(&model, &live, &opts(false));
    assert_eq!(change(&d, "template.ml.cpu").changed_by, Some(ChangedBy::Outside));
    assert_eq!(change(&d, "template.ml.gpu").changed_by, None, "a no-op says nothing");

    // The config changed, the cluster is as applied: config.
    let edited = yaml(&CONFIG.replace("ubuntu:24.04", "ubuntu:25.04"));
    let live = applied_form(&model);
    let d = diff(&edited, &live, &opts(false));
    assert_eq!(change(&d, "template.ml.cpu").changed_by, Some(ChangedBy::Config));

    // Both: a digest cannot tell which field; no record: nothing is claimed.
    let mut live = applied_form(&model);
    *at(&mut live_of(&mut live, "template.ml.cpu").doc, &["metadata", "description"]) =
        json!("by hand");
    let d = diff(&edited, &live, &opts(false));
    assert_eq!(change(&d, "template.ml.cpu").changed_by, Some(ChangedBy::Both));
    let d = diff(&edited, &live_form(&model, STACK), &opts(false));
    assert_eq!(change(&d, "template.ml.cpu").changed_by, None);
}

fn import(to: &str, id: &str) -> crate::model::Import {
    crate::model::Import { to: a(to), id: id.into(), to_span: None, id_span: None }
}

#[test]
fn an_import_adopts_only_the_unmanaged_object_its_id_names() {
    let mut model = yaml(CONFIG);
    let mut live = live_form(&model, STACK);
    // The Template was made by hand: no stack label.
    live_of(&mut live, "template.ml.cpu").stack = None;
    if let Some(Value::Object(labels)) =
        live_of(&mut live, "template.ml.cpu").doc.pointer_mut("/metadata/labels")
    {
        labels.remove(STACK_LABEL);
    }
    let d = diff(&model, &live, &opts(false));
    assert_eq!(d.problems.len(), 1, "not ours without an import: {:?}", d.problems);
    assert_eq!(d.problems[0].code, "unmanaged-object");

    for id in ["cpu.ml", "cpu.ml.alice"] {
        model.imports = vec![import("template.ml.cpu", id)];
        let d = diff(&model, &live, &opts(false));
        assert!(d.problems.is_empty(), "{id}: {:?}", d.problems);
        let c = change(&d, "template.ml.cpu");
        assert_eq!((c.action, c.imported.as_deref()), (Action::Update, Some("cpu.ml.alice")));
        assert_eq!(paths(c), [format!("metadata.labels.{STACK_LABEL}")]);
        assert!(c.reason.starts_with("will be imported from `cpu.ml.alice`"), "{}", c.reason);
    }
    for (id, code) in [("gpu.ml", "import-not-found"), ("cpu", "import-not-found")] {
        model.imports = vec![import("template.ml.cpu", id)];
        let d = diff(&model, &live, &opts(false));
        assert_eq!(d.problems.iter().map(|p| p.code).collect::<Vec<_>>(), [code], "{id}");
    }
    // Another stack's: refused. This stack's own: the import is done, a plain compare.
    live_of(&mut live, "template.ml.cpu").stack = Some("other".into());
    model.imports = vec![import("template.ml.cpu", "cpu.ml")];
    let d = diff(&model, &live, &opts(false));
    assert_eq!(d.problems[0].code, "import-managed");
    model.imports = vec![import("template.ml.gpu", "gpu.ml")];
    let d = diff(&model, &live_form(&model, STACK), &opts(false));
    assert!(d.problems.is_empty());
    assert_eq!(change(&d, "template.ml.gpu").imported, None);
    // Nothing at the address.
    model.imports = vec![import("template.ml.cpu", "cpu.ml")];
    let none: Vec<LiveDoc> = live_form(&model, STACK)
        .into_iter()
        .filter(|l| l.address != a("template.ml.cpu"))
        .collect();
    let d = diff(&model, &none, &opts(false));
    assert_eq!(d.problems[0].code, "import-not-found");
}

#[test]
fn applied_digests_are_taken_with_sensitive_values_masked() {
    let model = hcl(SENSITIVE_TEMPLATE);
    let r = model.resources.iter().find(|r| r.address == a("template.ml.gpu")).expect("gpu");
    let desired = desired_doc(r, STACK);
    let masked = digest_form(&desired, r);
    assert_eq!(masked["spec"]["runtime"]["envVars"][1]["value"], json!("(sensitive)"));
    assert_eq!(masked["spec"]["runtime"]["envVars"][0]["value"], json!("x"));
    // What apply records confirms no guess: the digest of the document holding the real
    // value is not it.
    let recorded = applied_digest(&masked);
    assert_ne!(recorded, applied_digest(&desired));
    // And who changed what is still told: a plain field edited on the cluster is "outside".
    let mut live = live_form(&model, STACK);
    for l in &mut live {
        l.applied = Some(recorded.clone());
    }
    let t = live_of(&mut live, "template.ml.gpu");
    t.doc["spec"]["runtime"]["envVars"][0]["value"] = json!("edited by hand");
    let d = diff(&model, &live, &opts(false));
    assert_eq!(change(&d, "template.ml.gpu").changed_by, Some(ChangedBy::Outside));
}

/// The owned conversion moves what the borrowed one copies: the same documents. (The old
/// form, kept here as the reference: `metadata_json` of the filtered metadata.)
#[test]
fn owned_live_docs_and_metadata_are_the_borrowed_ones() {
    use crate::live::convert::Naming;
    let model = yaml(CONFIG);
    let naming = Naming::for_model(super::testing::USER, &model);
    for (n, r) in model.resources.iter().enumerate() {
        let mut live = super::testing::live_resource(r, &naming, STACK, n);
        live.metadata.tags = vec!["a".into(), "b".into()];
        live.metadata.annotations.insert("note".into(), "x".into());
        live.metadata.pic_url = "https://example.com/p.png".into();
        let owned = LiveDoc::from_owned(live.clone());
        assert_eq!(owned, LiveDoc::from_live(&live), "{}", r.address);
        assert_eq!(
            serde_json::to_string(&owned.doc).expect("serialises"),
            serde_json::to_string(&LiveDoc::from_live(&live).doc).expect("serialises")
        );
        let m = live.metadata.clone();
        assert_eq!(
            serde_json::to_string(&MetadataView(&m)).expect("serialises"),
            serde_json::to_string(&metadata_json(&m)).expect("serialises")
        );
        // The text written from the parts is the text of the tree built from them.
        let parts = LiveParts {
            kind: live.kind,
            metadata: &m,
            spec: &live.spec_json,
            organization: live.organization,
            template: "gpu",
        };
        assert_eq!(parts.text(), serde_json::to_string(&parts.tree()).expect("serialises"));
        assert_eq!(owned.doc.text().map(str::len), Some(owned.doc.to_vec().len()));
    }
    let empty = Metadata::default();
    assert_eq!(
        serde_json::to_string(&MetadataView(&empty)).expect("serialises"),
        serde_json::to_string(&metadata_json(&empty)).expect("serialises")
    );
}

/// The fingerprint hashes the bytes `to_vec` gives, masked or not.
#[test]
fn fingerprints_hash_the_serialised_document() {
    use sha2::{Digest, Sha256};
    let doc = json!({"metadata": {"displayName": "ML", "labels": {"b": "1", "a": "2"}},
        "spec": {"runtime": {"envVars": [{"key": "K", "value": "secret"}]}, "n": 1.5}});
    let plain = hex::encode(Sha256::digest(serde_json::to_vec(&doc).expect("serialises")));
    assert_eq!(fingerprint(&doc, &[]), plain);
    let masked = vec!["spec.runtime.envVars[0].value".to_string()];
    let mut m = doc.clone();
    crate::config::tree::mask_path(&mut m, &masked[0], "(sensitive)");
    assert_ne!(m, doc);
    assert_eq!(
        fingerprint(&doc, &masked),
        hex::encode(Sha256::digest(serde_json::to_vec(&m).expect("serialises")))
    );
}

/// Equal subtrees are skipped without changing what differs: the same fields as a walk of
/// every node, in the same order, for documents equal, partly equal and reordered.
#[test]
fn equal_subtrees_report_nothing() {
    let a = json!({"spec": {"x": {"y": 1, "z": [1, 2]}, "w": "s"}, "metadata": {"k": "v"}});
    assert!(value::diff(&a, &a.clone(), &[]).is_empty());
    let reordered = json!({"metadata": {"k": "v"}, "spec": {"w": "s", "x": {"z": [1, 2], "y": 1}}});
    assert!(value::diff(&a, &reordered, &[]).is_empty());
    let b = json!({"spec": {"x": {"y": 2, "z": [1, 2]}, "w": "s"}, "metadata": {"k": "v"}});
    let fields = value::diff(&a, &b, &[]);
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].path, "spec.x.y");
}

/// The same documents, held as trees (no text to compare).
fn as_trees(live: &[LiveDoc]) -> Vec<LiveDoc> {
    let mut trees = live.to_vec();
    for l in &mut trees {
        let _: &mut Value = &mut l.doc;
        assert_eq!(l.doc.text(), None);
    }
    trees
}

/// A live object that matches is compared as text (no tree built) and gives the change a
/// comparison of trees gives: fingerprint, masked paths and reason included; one that differs
/// is compared as trees.
#[test]
fn matching_texts_are_the_no_ops_trees_give() {
    for model in [yaml(CONFIG), hcl(SENSITIVE_TEMPLATE)] {
        let mut live = live_form(&model, STACK);
        assert!(live.iter().all(|l| l.doc.text().is_some()), "held as text");
        for r in &model.resources {
            assert_eq!(
                desired_text(r, STACK),
                serde_json::to_string(&desired_doc(r, STACK)).expect("serialises"),
                "{}",
                r.address
            );
        }
        let d = diff(&model, &live, &opts(false));
        assert_eq!(d.changes, diff(&model, &as_trees(&live), &opts(false)).changes);
        assert!(d.changes.iter().all(|c| c.action == Action::NoOp));
        // A drifted one: the same update either way.
        let first = live.iter().position(|l| l.address.kind == Kind::Template).expect("one");
        *at(&mut live[first].doc, &["spec", "image", "registry", "url"]) = json!("other:1");
        let d = diff(&model, &live, &opts(false));
        assert_eq!(d.changes, diff(&model, &as_trees(&live), &opts(false)).changes);
        assert_eq!(d.changes.iter().filter(|c| c.action == Action::Update).count(), 1);
    }
    let sensitive = hcl(SENSITIVE_TEMPLATE);
    let d = diff(&sensitive, &live_form(&sensitive, STACK), &opts(false));
    assert_eq!(change(&d, "template.ml.gpu").sensitive, ["spec.runtime.envVars[API_KEY].value"]);
}
