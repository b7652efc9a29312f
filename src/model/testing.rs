//! Test helpers: models built from config text through the real loader, so unit tests of the
//! later stages start from what a user would write. YAML is parsed in memory; HCL (and stack
//! files) go through a temporary directory and [`crate::config::load`].

use std::path::Path;

use crate::config::{self, LoadOptions, Loaded};
use crate::diag::Diagnostics;

use super::Model;

/// Every diagnostic of loading and building, as `code: message` lines (errors only).
pub(crate) fn errors(diags: &Diagnostics) -> Vec<String> {
    diags.iter().filter(|d| d.is_error()).map(|d| format!("{}: {}", d.code, d.message)).collect()
}

/// The model of one YAML file (any number of documents), with every diagnostic.
pub(crate) fn load_yaml(text: &str) -> (Model, Diagnostics) {
    let mut loaded = Loaded::default();
    let text: std::sync::Arc<str> = text.into();
    let file = loaded.sources.add("test.yaml", text.clone());
    let docs = config::yaml_docs(file, &text, &mut loaded.diagnostics);
    loaded.docs.extend(docs);
    let (model, diags) = super::build(&loaded);
    let mut all = loaded.diagnostics;
    all.extend(diags);
    (model, all)
}

/// The model of one YAML file that must have no errors.
pub(crate) fn yaml(text: &str) -> Model {
    let (model, diags) = load_yaml(text);
    assert!(!diags.has_errors(), "{:?}", errors(&diags));
    model
}

/// The model of a config directory written from `files` (path, text), with every diagnostic.
pub(crate) fn load_dir(files: &[(&str, &str)], opts: &LoadOptions) -> (Model, Diagnostics) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    let loaded = config::load(dir.path(), opts);
    let (model, diags) = super::build(&loaded);
    let mut all = loaded.diagnostics;
    all.extend(diags);
    (model, all)
}

/// The model of one HCL file that must have no errors.
pub(crate) fn hcl(text: &str) -> Model {
    let (model, diags) = load_dir(&[("main.hcl", text)], &LoadOptions::default());
    assert!(!diags.has_errors(), "{:?}", errors(&diags));
    model
}

/// Random small configs, as YAML text, for property tests: 1–3 Spaces (some organisation
/// Spaces) each with Secrets, Templates (images, tasks, env vars from literals or Secrets,
/// limits, repositories, pre-builds) and Workspaces (on a declared Template or the default),
/// plus Users. Every generated config is valid: a test can rely on every document becoming a
/// resource.
pub(crate) mod arb {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    #[derive(Debug, Clone)]
    struct TemplateGen {
        image: usize,
        tasks: usize,
        env: Option<usize>,
        cpu: Option<u32>,
        repo: bool,
        prebuild: bool,
        description: Option<String>,
    }

    #[derive(Debug, Clone)]
    struct WorkspaceGen {
        template: Option<usize>,
        ephemeral: bool,
        memory: Option<u32>,
    }

    #[derive(Debug, Clone)]
    struct SpaceGen {
        org: bool,
        display: Option<String>,
        label: Option<String>,
        secrets: usize,
        templates: Vec<TemplateGen>,
        workspaces: Vec<WorkspaceGen>,
    }

    #[derive(Debug, Clone)]
    struct UserGen {
        workload: bool,
        groups: Vec<String>,
    }

    const IMAGES: &[&str] = &["python:3.12", "ubuntu:24.04", "node:22-bookworm"];

    fn text() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9 ]{0,12}"
    }

    fn template() -> impl Strategy<Value = TemplateGen> {
        (
            0..IMAGES.len(),
            0usize..3,
            proptest::option::of(0usize..3),
            proptest::option::of(1u32..=64_000),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(text()),
        )
            .prop_map(|(image, tasks, env, cpu, repo, prebuild, description)| {
                TemplateGen { image, tasks, env, cpu, repo, prebuild, description }
            })
    }

    fn workspace() -> impl Strategy<Value = WorkspaceGen> {
        (proptest::option::of(0usize..3), any::<bool>(), proptest::option::of(1u32..=65_536))
            .prop_map(|(template, ephemeral, memory)| WorkspaceGen { template, ephemeral, memory })
    }

    fn space() -> impl Strategy<Value = SpaceGen> {
        (
            any::<bool>(),
            proptest::option::of(text()),
            proptest::option::of("[a-z0-9]{1,8}"),
            0usize..3,
            vec(template(), 0..3),
            vec(workspace(), 0..3),
        )
            .prop_map(|(org, display, label, secrets, templates, workspaces)| SpaceGen {
                org,
                display,
                label,
                secrets,
                templates,
                workspaces,
            })
    }

    fn user() -> impl Strategy<Value = UserGen> {
        (any::<bool>(), vec("[a-z]{2,6}", 0..3))
            .prop_map(|(workload, groups)| UserGen { workload, groups })
    }

    /// The documents of a random config (JSON is YAML: each one is written as a JSON line).
    pub(crate) fn docs() -> impl Strategy<Value = Vec<Value>> {
        (vec(space(), 1..4), vec(user(), 0..3)).prop_map(|(spaces, users)| {
            let mut docs = Vec::new();
            for (s, sp) in spaces.iter().enumerate() {
                let space = format!("sp{s}");
                let mut md = Map::new();
                let full = if sp.org { format!("{space}.cordium") } else { space.clone() };
                md.insert("name".into(), json!(full));
                if let Some(d) = &sp.display {
                    md.insert("displayName".into(), json!(d));
                }
                if let Some(l) = &sp.label {
                    md.insert("labels".into(), json!({ "team": l }));
                }
                docs.push(json!({"kind": "Space", "metadata": md}));
                for k in 0..sp.secrets {
                    docs.push(json!({
                        "kind": "Secret",
                        "metadata": {"name": format!("sec{k}.{space}")},
                        "fromEnv": format!("SECRET_{s}_{k}"),
                    }));
                }
                for (t, tg) in sp.templates.iter().enumerate() {
                    let mut spec = Map::new();
                    spec.insert("image".into(), json!({"registry": {"url": IMAGES[tg.image]}}));
                    let tasks: Vec<Value> = (0..tg.tasks)
                        .map(|i| json!({"name": format!("task{i}"), "type": "ON_CREATE", "run": format!("make step{i}")}))
                        .collect();
                    let env: Vec<Value> = match tg.env {
                        Some(k) if sp.secrets > 0 => {
                            vec![json!({"key": "TOKEN", "fromSecret": format!("sec{}", k % sp.secrets)})]
                        }
                        Some(k) => vec![json!({"key": "LEVEL", "value": k.to_string()})],
                        None => Vec::new(),
                    };
                    if !tasks.is_empty() || !env.is_empty() {
                        spec.insert("runtime".into(), json!({"tasks": tasks, "envVars": env}));
                    }
                    if let Some(cpu) = tg.cpu {
                        spec.insert("limit".into(), json!({"cpu": {"millicores": cpu}}));
                    }
                    if tg.repo {
                        spec.insert(
                            "repository".into(),
                            json!({"url": format!("https://github.com/example/r{t}")}),
                        );
                    }
                    let mut md = Map::new();
                    md.insert("name".into(), json!(format!("tpl{t}.{space}")));
                    if let Some(d) = &tg.description {
                        md.insert("description".into(), json!(d));
                    }
                    let mut doc = json!({"kind": "Template", "metadata": md, "spec": spec});
                    if tg.prebuild {
                        doc["prebuild"] = json!({});
                    }
                    docs.push(doc);
                }
                for (w, wg) in sp.workspaces.iter().enumerate() {
                    let mut doc = json!({
                        "kind": "Workspace",
                        "metadata": {"name": format!("wk{w}.{space}")},
                        "spec": {"isEphemeral": wg.ephemeral},
                    });
                    if let (Some(t), n) = (wg.template, sp.templates.len()) {
                        if n > 0 {
                            doc["template"] = json!(format!("tpl{}", t % n));
                        }
                    }
                    if let Some(m) = wg.memory {
                        doc["spec"]["limit"] = json!({"memory": {"megabytes": m}});
                    }
                    docs.push(doc);
                }
            }
            for (u, ug) in users.iter().enumerate() {
                docs.push(json!({
                    "kind": "User",
                    "metadata": {"name": format!("user{u}")},
                    "spec": {"type": if ug.workload { "WORKLOAD" } else { "HUMAN" }, "groups": ug.groups},
                }));
            }
            docs
        })
    }

    /// The YAML text of a list of documents.
    pub(crate) fn to_yaml(docs: &[Value]) -> String {
        docs.iter().map(Value::to_string).collect::<Vec<_>>().join("\n---\n")
    }
}
