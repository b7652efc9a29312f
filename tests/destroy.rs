//! What destroys, replaces and cascades do, through the real binary against `cordium serve`:
//! a Space replace takes (and recreates) what is in it, targeted destroys take what depends on
//! the target, an exclude that would orphan something is refused, prevent_destroy holds in a
//! cascade, and deletes run in reverse dependency order.

use std::path::Path;

use serde_json::Value;

use crate::apply::{assert_no_duplicates, client, cordium, lines, text};
use crate::support::Serve;
use cordium::live::{Cluster, Scope};
use cordium::model::Kind;

/// A Space with a Secret, a Template using it and a Workspace on the Template.
fn stack(dir: &Path, organization: bool, protect_template: bool) {
    let protect =
        if protect_template { "  lifecycle {\n    prevent_destroy = true\n  }\n" } else { "" };
    let text = format!(
        r#"space "lab" {{
  organization = {organization}
}}

secret "tok" {{
  space    = space.lab
  from_env = "WANDB_API_KEY"
}}

template "base" {{
  space = space.lab
  image {{
    registry {{
      url = "debian:12"
    }}
  }}
  runtime {{
    env_var {{
      key         = "TOKEN"
      from_secret = secret.lab.tok
    }}
  }}
{protect}}}

workspace "dev" {{
  space    = space.lab
  template = template.lab.base
}}
"#
    );
    std::fs::write(dir.join("cordium.hcl"), "stack \"lab\" {}\n").expect("write");
    std::fs::write(dir.join("main.hcl"), text).expect("write");
}

fn apply(d: &str, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["apply", d, "--endpoint", url, "--auto-approve", "--output", "json"];
    args.extend(extra);
    cordium(&args)
}

async fn workspaces(c: &dyn Cluster) -> usize {
    let all = c.list(Kind::Workspace, &Scope::All).await.expect("list");
    all.iter().filter(|w| !cordium::live::convert::from_wire(w).system).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_replace_recreates_what_is_in_it_and_one_apply_converges() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));

    // An organisation Space becomes a USER Space: a different object, so everything in it goes.
    stack(dir.path(), false, false);
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let action = |a: &str| {
        doc["resource_changes"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["address"] == a))
            .map(|c| c["action"].as_str().unwrap_or_default().to_string())
    };
    for a in ["space.lab", "template.lab.base", "workspace.lab.dev", "secret.lab.tok"] {
        assert_eq!(action(a).as_deref(), Some("replace"), "{a}: {}", text(&plan));
    }
    let space = doc["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["address"] == "space.lab")
        .expect("space.lab");
    let cascade = &space["cascade"];
    let names: Vec<&str> = cascade["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert!(names.contains(&"default.lab.cordium"), "{cascade}");
    assert!(cascade["unlisted"].as_array().is_some_and(|u| !u.is_empty()), "{cascade}");

    let second = apply(d, &serve.url, &[]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let again = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "one apply converges: {}", text(&again));
    let c = client(&serve).await;
    assert_no_duplicates(c.as_ref()).await;
    assert_eq!(workspaces(c.as_ref()).await, 1, "the Workspace was recreated, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_destroy_holds_in_a_cascade() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, true);
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    stack(dir.path(), false, true);
    let plan = cordium(&["plan", d, "--endpoint", &serve.url]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let err = String::from_utf8_lossy(&plan.stderr);
    assert!(err.contains("template.lab.base has prevent_destroy set"), "{err}");
    assert!(err.contains("space.lab is replaced"), "names what forces it: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targeted_destroys_take_dependents_excludes_cannot_orphan_and_deletes_run_in_reverse() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));

    // Excluding what the Space takes with it is refused, and changes nothing.
    let excluded = cordium(&[
        "destroy",
        d,
        "--endpoint",
        &serve.url,
        "--auto-approve",
        "--target",
        "space.lab",
        "--exclude",
        "workspace.lab.dev",
    ]);
    assert_eq!(excluded.status.code(), Some(1), "{}", text(&excluded));
    let err = String::from_utf8_lossy(&excluded.stderr);
    assert!(err.contains("workspace.lab.dev cannot be excluded"), "{err}");
    let c = client(&serve).await;
    assert_eq!(workspaces(c.as_ref()).await, 1, "nothing was destroyed");

    // A targeted destroy of the Template takes the Workspace that uses it, not the Space.
    let t = cordium(&[
        "destroy",
        d,
        "--endpoint",
        &serve.url,
        "--auto-approve",
        "--output",
        "json",
        "--target",
        "template.lab.base",
    ]);
    assert_eq!(t.status.code(), Some(0), "{}", text(&t));
    let done = |o: &std::process::Output| -> Vec<String> {
        lines(o)
            .into_iter()
            .filter(|v| v["event"] == "finished")
            .filter_map(|v| v["address"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(done(&t), ["workspace.lab.dev", "template.lab.base"], "{}", text(&t));
    assert_eq!(workspaces(c.as_ref()).await, 0);

    // Back, then a whole destroy: Workspace, Template, Secret, Space, in that order.
    let again = apply(d, &serve.url, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let all =
        cordium(&["destroy", d, "--endpoint", &serve.url, "--auto-approve", "--output", "json"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all));
    let order = done(&all);
    let pos =
        |a: &str| order.iter().position(|x| x == a).unwrap_or_else(|| panic!("{a}: {order:?}"));
    assert!(pos("workspace.lab.dev") < pos("template.lab.base"), "{order:?}");
    assert!(pos("template.lab.base") < pos("secret.lab.tok"), "{order:?}");
    assert!(pos("secret.lab.tok") < pos("space.lab"), "{order:?}");
    let empty = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&empty.stdout).expect("plan JSON");
    assert_eq!(doc["summary"]["create"], 4, "everything is gone: {}", text(&empty));
}

/// The Workspace ownership records (`cws-…` annotations) on the stack's Space `lab`, each
/// value without the digest of what apply last sent (docs/drift.md).
async fn records(c: &dyn Cluster) -> Vec<(String, String)> {
    use cordium::live::record;
    let spaces = c.list(Kind::Space, &Scope::All).await.expect("list Spaces");
    let lab = spaces.iter().find(|s| s.name().starts_with("lab.")).expect("Space lab");
    let md = lab.metadata().cloned().unwrap_or_default();
    let mut out: Vec<(String, String)> = md
        .annotations
        .into_iter()
        .filter(|(k, _)| record::is_record_key(k))
        .map(|(k, v)| {
            let (stack, retiring) = record::parse(&v);
            (k, if retiring { record::retiring(stack) } else { stack.to_string() })
        })
        .collect();
    out.sort();
    out
}

fn change<'a>(plan: &'a Value, address: &str) -> Option<&'a Value> {
    plan["resource_changes"].as_array()?.iter().find(|c| c["address"] == address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_workspaces_are_kept_or_pruned_and_only_the_ones_the_stack_created() {
    let serve = Serve::start(&[]);
    let c = client(&serve).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let scratch =
        "\nworkspace \"scratch\" {\n  space    = space.lab\n  template = template.lab.base\n}\n";
    let main = dir.path().join("main.hcl");
    let base = std::fs::read_to_string(&main).expect("read");
    std::fs::write(&main, format!("{base}{scratch}")).expect("write");
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let recorded = records(c.as_ref()).await;
    assert_eq!(recorded.len(), 2, "one record per Workspace created: {recorded:?}");
    assert!(recorded.iter().all(|(_, stack)| stack == "lab"), "{recorded:?}");

    // A Workspace in the Space the stack did not create (made with the API directly).
    let all = c.list(Kind::Workspace, &Scope::All).await.expect("list");
    let mut manual = all
        .iter()
        .find(|w| cordium::live::convert::from_wire(w).address.name == "dev")
        .cloned()
        .expect("dev");
    let md = manual.metadata_mut();
    md.display_name = "manual".into();
    md.name.clear();
    md.uid.clear();
    c.create(manual).await.expect("CreateWorkspace");

    // `scratch` leaves the config: kept, and said so; `manual` is not the stack's: not listed.
    std::fs::write(&main, &base).expect("write");
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", d, "--endpoint", &serve.url, "--output", "json"];
        args.extend(extra);
        let out = cordium(&args);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", text(&out)));
        doc
    };
    let kept = plan(&[]);
    let s = change(&kept, "workspace.lab.scratch").expect("scratch is in the plan");
    assert_eq!(s["action"], "no-op", "{s}");
    assert!(s["reason"].as_str().is_some_and(|r| r.contains("kept (prune is off)")), "{s}");
    assert!(change(&kept, "workspace.lab.manual").is_none(), "{kept}");

    // With --prune it is deleted, showing what goes away; `manual` still is not touched.
    let pruned = plan(&["--prune"]);
    let s = change(&pruned, "workspace.lab.scratch").expect("scratch is in the plan");
    assert_eq!(s["action"], "delete", "{s}");
    assert!(s["fields"].as_array().is_some_and(|f| f.iter().any(|f| f["path"] == "template")));
    assert!(change(&pruned, "workspace.lab.manual").is_none(), "{pruned}");
    let applied = apply(d, &serve.url, &["--prune"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let names: Vec<String> = c
        .list(Kind::Workspace, &Scope::All)
        .await
        .expect("list")
        .iter()
        .map(cordium::live::convert::from_wire)
        .filter(|w| !w.system)
        .map(|w| w.address.name)
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["dev", "manual"]);
    assert_eq!(records(c.as_ref()).await.len(), 1, "the deleted Workspace's record is gone");
    let again = plan(&["--prune"]);
    assert_eq!(again["summary"]["has_changes"], false, "{again}");

    // A Space update keeps the record; the record itself is no change to the Space.
    let text_now = std::fs::read_to_string(&main).expect("read");
    std::fs::write(
        &main,
        text_now.replacen("organization = true", "organization = true\n  description = \"lab\"", 1),
    )
    .expect("write");
    let updated = plan(&[]);
    let space = change(&updated, "space.lab").expect("space");
    assert_eq!(space["action"], "update", "{space}");
    assert!(
        space["fields"].as_array().is_some_and(|f| f.len() == 1),
        "only the description: {space}"
    );
    let applied = apply(d, &serve.url, &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert_eq!(records(c.as_ref()).await.len(), 1, "the update carried the record over");
    assert_eq!(plan(&[])["summary"]["has_changes"], false);
}

/// The stack's Workspaces on the cluster (not build Workspaces): (displayName, uid).
async fn live_workspaces(c: &dyn Cluster) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = c
        .list(Kind::Workspace, &Scope::All)
        .await
        .expect("list")
        .iter()
        .map(cordium::live::convert::from_wire)
        .filter(|w| !w.system)
        .map(|w| (w.address.name, w.uid))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_replace_creates_the_successor_first_and_an_interrupted_one_converges() {
    let serve = Serve::start(&[]);
    let c = client(&serve).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let main = dir.path().join("main.hcl");
    let other = "\ntemplate \"other\" {\n  space = space.lab\n  image {\n    registry {\n      url = \"debian:13\"\n    }\n  }\n}\n";
    let base = format!("{}{other}", std::fs::read_to_string(&main).expect("read"));
    std::fs::write(&main, &base).expect("write");
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let before = live_workspaces(c.as_ref()).await;

    // The Workspace moves to another Template: a replace, its successor created first.
    let moved = base.replace("template = template.lab.base", "template = template.lab.other");
    std::fs::write(&main, &moved).expect("write");
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let dev = change(&doc, "workspace.lab.dev").expect("dev");
    assert_eq!(dev["action"], "replace", "{dev}");
    assert_eq!(dev["replace_order"], "create-before-destroy", "{dev}");
    assert!(dev["reason"]
        .as_str()
        .is_some_and(|r| r.contains("data on the old Workspace is lost")));
    let human = cordium(&["plan", d, "--endpoint", &serve.url]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("create before destroy"),
        "{}",
        text(&human)
    );
    let applied = apply(d, &serve.url, &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let steps: Vec<String> = lines(&applied)
        .into_iter()
        .filter(|v| v["event"] == "finished" && v["address"] == "workspace.lab.dev")
        .filter_map(|v| v["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(steps, ["create", "delete"], "{}", text(&applied));
    let after = live_workspaces(c.as_ref()).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after[0].1, before[0].1, "a new Workspace");
    assert_eq!(records(c.as_ref()).await.len(), 1, "only the successor is recorded");
    let clean = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&clean.stdout).expect("plan JSON");
    assert_eq!(doc["summary"]["has_changes"], false, "{}", text(&clean));

    // Opting out: the old one goes first, and the plan says so.
    let opted = base.replace(
        "template = template.lab.base\n",
        "template = template.lab.base\n  lifecycle {\n    create_before_destroy = false\n  }\n",
    );
    std::fs::write(&main, &opted).expect("write");
    let applied = apply(d, &serve.url, &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let plan_line = lines(&applied).into_iter().find(|v| v["event"] == "plan").expect("plan line");
    let dev = change(&plan_line["plan"], "workspace.lab.dev").expect("dev");
    assert_eq!(dev["replace_order"], "destroy-before-create", "{dev}");
    let steps: Vec<String> = lines(&applied)
        .into_iter()
        .filter(|v| v["event"] == "finished" && v["address"] == "workspace.lab.dev")
        .filter_map(|v| v["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(steps, ["delete", "create"], "{}", text(&applied));

    // An apply that stopped between the two halves: the successor exists and the old one is
    // marked as being replaced. The next plan matches the successor (no "matches 2") and
    // deletes the old one, prune or not; one apply converges.
    std::fs::write(&main, &base).expect("write");
    let old = live_workspaces(c.as_ref()).await;
    let all = c.list(Kind::Workspace, &Scope::All).await.expect("list");
    let mut successor = all
        .iter()
        .find(|w| cordium::live::convert::from_wire(w).address.name == "dev")
        .cloned()
        .expect("dev");
    let md = successor.metadata_mut();
    md.name.clear();
    md.uid.clear();
    let made = cordium::live::convert::from_wire(&c.create(successor).await.expect("create"));
    let spaces = c.list(Kind::Space, &Scope::All).await.expect("list Spaces");
    let mut lab = spaces.into_iter().find(|s| s.name().starts_with("lab.")).expect("lab");
    let annotations = &mut lab.metadata_mut().annotations;
    let record = |uid: &str| cordium::live::record::key(uid).expect("uuid");
    annotations.insert(record(&old[0].1), cordium::live::record::retiring("lab"));
    annotations.insert(record(&made.uid), "lab".into());
    c.update(lab).await.expect("UpdateSpace");
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let deletes: Vec<&Value> = doc["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["action"] == "delete")
        .collect();
    assert_eq!(deletes.len(), 1, "{doc}");
    assert!(deletes[0]["reason"].as_str().is_some_and(|r| r.contains("the old `dev`, replaced")));
    assert_eq!(change(&doc, "workspace.lab.dev").expect("dev")["action"], "no-op", "{doc}");
    let applied = apply(d, &serve.url, &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let left = live_workspaces(c.as_ref()).await;
    assert_eq!(left, [("dev".to_string(), made.uid.clone())]);
    assert_eq!(records(c.as_ref()).await, [(record(&made.uid), "lab".to_string())]);
    let clean = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&clean.stdout).expect("plan JSON");
    assert_eq!(doc["summary"]["has_changes"], false, "{}", text(&clean));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_plan_is_saved_reviewed_and_applied_and_replace_forces_a_replace() {
    let serve = Serve::start(&[]);
    let c = client(&serve).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));

    // --replace: a Workspace nothing forces is replaced, its successor first.
    let plan = cordium(&[
        "plan",
        d,
        "--endpoint",
        &serve.url,
        "--output",
        "json",
        "--replace",
        "workspace.lab.dev",
    ]);
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let dev = change(&doc, "workspace.lab.dev").expect("dev");
    assert_eq!(dev["action"], "replace", "{dev}");
    assert_eq!(dev["forced_by"], serde_json::json!(["--replace"]), "{dev}");
    assert_eq!(dev["replace_order"], "create-before-destroy", "{dev}");
    assert_eq!(doc["summary"]["replace"], 1, "only it: {doc}");
    let before = live_workspaces(c.as_ref()).await;
    let replaced = apply(d, &serve.url, &["--replace", "workspace.lab.dev"]);
    assert_eq!(replaced.status.code(), Some(0), "{}", text(&replaced));
    let after = live_workspaces(c.as_ref()).await;
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].1, before[0].1, "a new Workspace");
    let nothing =
        cordium(&["plan", d, "--endpoint", &serve.url, "--replace", "workspace.lab.nope"]);
    assert_eq!(nothing.status.code(), Some(1), "{}", text(&nothing));
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("--replace workspace.lab.nope"),
        "{}",
        text(&nothing)
    );

    // plan --destroy --out: a reviewable destroy plan; `destroy` takes no plan file.
    let file = dir.path().join("destroy.plan");
    let f = file.to_str().expect("utf-8");
    let planned = cordium(&["plan", d, "--endpoint", &serve.url, "--destroy", "--out", f]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let shown = String::from_utf8_lossy(&planned.stdout).to_string();
    assert!(shown.contains("0 to create, 0 to update, 0 to replace, 4 to destroy"), "{shown}");
    assert!(shown.contains("- workspace.lab.dev"), "{shown}");
    let show = cordium(&["show", f, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&show.stdout).expect("show JSON");
    assert_eq!(doc["summary"]["delete"], 4, "{}", text(&show));
    let help = cordium(&["destroy", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    assert!(!help.contains("PLANFILE") && !help.contains("--config-dir"), "{help}");
    assert!(!help.contains("--replace"), "{help}");
    assert!(help.contains("plan --destroy"), "{help}");
    let refused = cordium(&["destroy", f, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("cordium apply"),
        "{}",
        text(&refused)
    );
    assert_eq!(live_workspaces(c.as_ref()).await.len(), 1, "nothing was destroyed yet");

    let applied =
        cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url, "--output", "json"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert_eq!(live_workspaces(c.as_ref()).await.len(), 0);
    let empty = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&empty.stdout).expect("plan JSON");
    assert_eq!(doc["summary"]["create"], 4, "everything is gone: {}", text(&empty));
}

/// A small stack the convergence property edits: Spaces, each with Templates and Workspaces.
#[derive(Debug, Clone)]
struct Sp {
    name: String,
    org: bool,
    /// (name, image tag)
    templates: Vec<(String, u32)>,
    /// (name, index into `templates`)
    workspaces: Vec<(String, usize)>,
}

fn base_stack() -> Vec<Sp> {
    vec![
        Sp {
            name: "lab".into(),
            org: false,
            templates: vec![("t1".into(), 12), ("t2".into(), 12)],
            workspaces: vec![("w1".into(), 0), ("w2".into(), 1)],
        },
        Sp {
            name: "web".into(),
            org: true,
            templates: vec![("t1".into(), 12)],
            workspaces: vec![("w3".into(), 0)],
        },
    ]
}

/// One random edit, as the issue lists them: add, remove, rename (also with a `moved` block, in
/// `moves` for this edit only), replace (move a Workspace to another Template), toggle a Space's
/// organisation flag, and Template edits (update, add, remove). `a` and `b` pick what is
/// edited; `n` makes new names unique.
fn edit(stack: &mut [Sp], moves: &mut Vec<String>, op: u8, a: usize, b: usize, n: usize) -> String {
    moves.clear();
    let s = a % stack.len();
    let sp = &mut stack[s];
    let t = b % sp.templates.len();
    match op % 9 {
        0 => {
            sp.workspaces.push((format!("n{n}"), t));
            format!("add workspace.{}.n{n}", sp.name)
        }
        1 if !sp.workspaces.is_empty() => {
            let (w, _) = sp.workspaces.remove(b % sp.workspaces.len());
            format!("remove workspace.{}.{w}", sp.name)
        }
        2 if !sp.workspaces.is_empty() => {
            let i = b % sp.workspaces.len();
            let old = std::mem::replace(&mut sp.workspaces[i].0, format!("r{n}"));
            format!("rename workspace.{}.{old} to r{n}", sp.name)
        }
        3 if !sp.workspaces.is_empty() => {
            let i = a % sp.workspaces.len();
            sp.workspaces[i].1 = t;
            format!(
                "move workspace.{}.{} to template {}",
                sp.name, sp.workspaces[i].0, sp.templates[t].0
            )
        }
        4 => {
            sp.org = !sp.org;
            format!("space.{} organization = {}", sp.name, sp.org)
        }
        5 => {
            sp.templates[t].1 += 1;
            format!("template.{}.{} image tag {}", sp.name, sp.templates[t].0, sp.templates[t].1)
        }
        6 => {
            sp.templates.push((format!("tn{n}"), 12));
            format!("add template.{}.tn{n}", sp.name)
        }
        8 if !sp.workspaces.is_empty() => {
            let i = b % sp.workspaces.len();
            let old = std::mem::replace(&mut sp.workspaces[i].0, format!("m{n}"));
            moves.push(format!(
                "moved {{\n  from = workspace.{0}.{old}\n  to   = workspace.{0}.m{n}\n}}\n",
                sp.name
            ));
            format!("rename workspace.{}.{old} to m{n} with a moved block", sp.name)
        }
        7 if sp.templates.len() > 1 => {
            // Its Workspaces move to the first other Template.
            let (gone, _) = sp.templates.remove(t);
            for w in &mut sp.workspaces {
                w.1 = match w.1.cmp(&t) {
                    std::cmp::Ordering::Less => w.1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => w.1 - 1,
                };
            }
            format!("remove template.{}.{gone}", sp.name)
        }
        _ => "nothing".into(),
    }
}

fn write_stack(dir: &Path, stack: &[Sp], moves: &[String]) {
    use std::fmt::Write as _;
    let mut text = moves.concat();
    for sp in stack {
        let _ = writeln!(text, "space \"{}\" {{\n  organization = {}\n}}\n", sp.name, sp.org);
        for (t, tag) in &sp.templates {
            let _ = writeln!(
                text,
                "template \"{t}\" {{\n  space = space.{}\n  image {{\n    registry {{\n      url = \"debian:{tag}\"\n    }}\n  }}\n}}\n",
                sp.name
            );
        }
        for (w, t) in &sp.workspaces {
            let _ = writeln!(
                text,
                "workspace \"{w}\" {{\n  space    = space.{0}\n  template = template.{0}.{1}\n}}\n",
                sp.name, sp.templates[*t].0
            );
        }
    }
    std::fs::write(dir.join("cordium.hcl"), "stack \"conv\" {\n  prune = true\n}\n")
        .expect("write");
    std::fs::write(dir.join("main.hcl"), text).expect("write");
}

/// After every apply of the edited stack: the next plan is empty, nothing is duplicated, and
/// the Workspaces on the server are exactly the declared ones (none orphaned, none missing).
async fn check_converged(serve: &Serve, d: &str, stack: &[Sp], history: &[String]) {
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "after {history:?}, the plan: {}", text(&plan));
    let c = client(serve).await;
    assert_no_duplicates(c.as_ref()).await;
    let mut declared: Vec<String> = stack
        .iter()
        .flat_map(|sp| sp.workspaces.iter().map(move |(w, _)| format!("{}/{w}", sp.name)))
        .collect();
    declared.sort();
    let mut live: Vec<String> = c
        .list(Kind::Workspace, &Scope::All)
        .await
        .expect("list")
        .iter()
        .map(cordium::live::convert::from_wire)
        .filter(|w| !w.system)
        .map(|w| format!("{}/{}", w.address.space.unwrap_or_default(), w.address.name))
        .collect();
    live.sort();
    assert_eq!(live, declared, "after {history:?}: Workspaces on the server, declared");
}

proptest::proptest! {
    // Bounded: each case starts a server and runs two binaries per edit.
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 10,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Issue 11: "after any apply of any plan the next plan is empty", for random edit
    /// sequences of a stack on `cordium serve`, with prune on.
    #[test]
    fn random_edits_converge_in_one_apply_with_no_duplicate_or_orphan(
        edits in proptest::collection::vec((0u8..9, 0usize..8, 0usize..8), 3..8)
    ) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let serve = Serve::start(&[]);
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf-8");
        let mut stack = base_stack();
        let mut history = vec!["the base stack".to_string()];
        let mut moves = Vec::new();
        write_stack(dir.path(), &stack, &moves);
        let first = apply(d, &serve.url, &[]);
        proptest::prop_assert_eq!(first.status.code(), Some(0), "{}", text(&first));
        rt.block_on(check_converged(&serve, d, &stack, &history));
        for (i, (op, a, b)) in edits.into_iter().enumerate() {
            history.push(edit(&mut stack, &mut moves, op, a, b, i));
            write_stack(dir.path(), &stack, &moves);
            let applied = apply(d, &serve.url, &[]);
            proptest::prop_assert_eq!(
                applied.status.code(), Some(0), "after {:?}: {}", history, text(&applied)
            );
            rt.block_on(check_converged(&serve, d, &stack, &history));
        }
    }
}

/// A `moved` block renames a Workspace in place: the plan shows "has moved to" (JSON
/// `moved_from`, an update of `metadata.displayName`), apply keeps the same object (same uid),
/// and the next plan is empty; a `moved` block for a Template is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_block_renames_a_workspace_in_place_and_refuses_a_template() {
    let serve = Serve::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8");
    stack(dir.path(), true, false);
    let first = apply(d, &serve.url, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let c = client(&serve).await;
    let before = live_workspaces(c.as_ref()).await;
    assert_eq!(before.len(), 1, "{before:?}");

    let main = dir.path().join("main.hcl");
    let text_of = std::fs::read_to_string(&main).expect("read");
    let renamed = text_of.replace("workspace \"dev\"", "workspace \"dev-box\"")
        + "\nmoved {\n  from = workspace.lab.dev\n  to   = workspace.lab.dev-box\n}\n";
    std::fs::write(&main, &renamed).expect("write");
    let plan = cordium(&["plan", d, "--endpoint", &serve.url, "--output", "json"]);
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
    let moved = change(&doc, "workspace.lab.dev-box").expect("the moved Workspace");
    assert_eq!(moved["action"], "update", "{moved}");
    assert_eq!(moved["moved_from"], "workspace.lab.dev", "{moved}");
    assert_eq!(moved["fields"][0]["path"], "metadata.displayName", "{moved}");
    assert!(change(&doc, "workspace.lab.dev").is_none(), "no delete of the old address: {doc}");
    let human = cordium(&["plan", d, "--endpoint", &serve.url]);
    assert!(
        String::from_utf8_lossy(&human.stdout)
            .contains("workspace.lab.dev has moved to workspace.lab.dev-box"),
        "{}",
        text(&human)
    );

    // Through a saved plan, as a reviewed pull request would be applied.
    let file = dir.path().join("moved.plan");
    let f = file.to_str().expect("utf-8");
    let saved = cordium(&["plan", d, "--endpoint", &serve.url, "--out", f]);
    assert_eq!(saved.status.code(), Some(0), "{}", text(&saved));
    let applied =
        cordium(&["apply", f, "--config-dir", d, "--endpoint", &serve.url, "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let after = live_workspaces(c.as_ref()).await;
    assert_eq!(after, vec![("dev-box".to_string(), before[0].1.clone())], "renamed, same uid");
    let again = cordium(&["plan", d, "--endpoint", &serve.url, "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "the next plan is empty: {}", text(&again));
    assert_no_duplicates(c.as_ref()).await;

    // A Template cannot be renamed on the server: validate says so at the block.
    let refused = renamed
        .replace("template \"base\"", "template \"base2\"")
        .replace("template.lab.base\n}", "template.lab.base2\n}")
        + "\nmoved {\n  from = template.lab.base\n  to   = template.lab.base2\n}\n";
    std::fs::write(&main, refused).expect("write");
    let v = cordium(&["validate", d]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    let err = text(&v);
    assert!(err.contains("cannot be renamed on the server"), "{err}");
    assert!(err.contains("main.hcl:"), "the block's location: {err}");
}
