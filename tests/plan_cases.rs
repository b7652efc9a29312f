//! Golden plan cases: `fixtures/cases/<name>/` holds `case.yaml` (what to set up), `before/`
//! (a config applied first, through the real binary, to seed the live state), `in/` (the config
//! planned) and `out/` (the expected `plan.txt`, `plan.json`, `plan.md` and `stderr.txt`). Each
//! case starts its own `cordium serve` on 127.0.0.1 and runs `cordium plan` against it three
//! times, once per format. `BLESS=1 cargo test plan_cases` rewrites `out/` (read every file you
//! bless). Server-chosen names, ports and build ids are replaced by placeholders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regex::Regex;
use serde::Deserialize;

use crate::support::{Serve, ADMIN_TOKEN};
use cordium::live::wire::{cordium as pb, meta};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Case {
    /// What the case shows (documentation only).
    about: String,
    /// Extra `cordium serve` flags.
    serve: Vec<String>,
    /// Extra flags for the seeding `apply` of `before/`.
    before_args: Vec<String>,
    /// Expected exit code of the seeding apply.
    before_exit: i32,
    /// Raw gRPC operations after the seeding apply, as another client would make them.
    raw: Vec<Raw>,
    /// Extra `cordium plan` flags.
    plan: Vec<String>,
    /// Environment for `cordium plan`.
    env: Vec<(String, String)>,
    /// Expected exit code of `cordium plan --detailed-exitcode`.
    exit: i32,
    /// Strings no output may contain (besides the secret sentinel).
    forbid: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Raw {
    /// CreateWorkspace with this displayName and Template, in `space`: a stored Space name
    /// (`ml.cordium`), or a short one for a USER Space of admin (`ml` = `ml.admin`).
    CreateWorkspace { space: String, display_name: String, template: String },
    /// CreateSpace with no labels.
    CreateSpace { name: String },
    /// DeleteSecret by stored name (`tok.ml.admin`): drift made outside cordium.
    DeleteSecret { name: String },
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cases")
}

/// A secret value every case has in its environment; no output may ever contain it.
const SENTINEL: &str = "sentinel-never-shown-7f3a";

fn cordium(args: &[&str], url: &str, env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordium"));
    cmd.args(args)
        .env("CASE_TOKEN", SENTINEL)
        .arg("--endpoint")
        .arg(url)
        .env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("CORDIUM_ENDPOINT")
        .env_remove("OCTELIUM_DOMAIN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("cordium runs")
}

/// Replaces what differs from run to run: ports, build ids, the tool version.
fn normalise(text: &str, url: &str) -> String {
    let text = text.replace(url, "http://127.0.0.1:PORT");
    // Workspace names come from the server's seeded generator and each case creates them in a
    // fixed order, so they stay; build ids are replaced all the same.
    let build = Regex::new(r"build \([a-z0-9]{6}\)|build `[a-z0-9]{6}`|build [a-z0-9]{6}\b")
        .expect("regex");
    let text = build.replace_all(&text, "build <id>");
    let build_id = Regex::new(r#""build_id": "[A-Za-z0-9]{6}""#).expect("regex");
    let text = build_id.replace_all(&text, r#""build_id": "<id>""#);
    let tool = Regex::new(r#""tool_version": "[^"]+""#).expect("regex");
    let text = tool.replace_all(&text, r#""tool_version": "<version>""#);
    // An `error` event's timestamp.
    let time = Regex::new(r#""time":"[^"]+""#).expect("regex");
    time.replace_all(&text, r#""time":"<time>""#).into_owned()
}

async fn raw(serve: &Serve, op: &Raw) {
    let mut c = serve.cordium().await;
    match op {
        Raw::CreateWorkspace { space, display_name, template } => {
            let space = if space.contains('.') { space.clone() } else { format!("{space}.admin") };
            let ws = pb::Workspace {
                metadata: Some(meta::Metadata {
                    display_name: display_name.clone(),
                    ..Default::default()
                }),
                spec: Some(Default::default()),
                status: Some(pb::workspace::Status {
                    template_ref: Some(meta::ObjectReference {
                        name: format!("{template}.{space}"),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            c.create_workspace(ws).await.expect("raw CreateWorkspace");
        }
        Raw::CreateSpace { name } => {
            let space = pb::Space {
                metadata: Some(meta::Metadata { name: name.clone(), ..Default::default() }),
                spec: Some(Default::default()),
                ..Default::default()
            };
            c.create_space(space).await.expect("raw CreateSpace");
        }
        Raw::DeleteSecret { name } => {
            c.delete_secret(meta::DeleteOptions { name: name.clone(), ..Default::default() })
                .await
                .expect("raw DeleteSecret");
        }
    }
}

/// Every emitted JSON plan must validate against `schemas/plan.v1.json`.
fn check_plan_schema(name: &str, stdout: &[u8]) -> Vec<String> {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("plan schema"))
            .expect("JSON");
    let doc: serde_json::Value = match serde_json::from_slice(stdout) {
        Ok(d) => d,
        Err(e) => return vec![format!("{name}: plan --output json is not JSON: {e}")],
    };
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    validator
        .iter_errors(&doc)
        .map(|e| {
            format!("{name}: plan JSON breaks schemas/plan.v1.json: {e} at {}", e.instance_path())
        })
        .collect()
}

fn run_case(dir: &Path, bless: bool) -> Vec<String> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let case: Case = match std::fs::read_to_string(dir.join("case.yaml")) {
        Ok(text) => {
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}/case.yaml: {e}"))
        }
        Err(_) => Case::default(),
    };
    let _ = &case.about;
    let mut serve_args: Vec<&str> = vec!["--seed", "42", "--build-duration", "300ms"];
    serve_args.extend(case.serve.iter().map(String::as_str));
    let serve = Serve::start(&serve_args);

    let before = dir.join("before");
    if before.exists() {
        let before = before.to_string_lossy().to_string();
        let mut args = vec!["apply", before.as_str(), "--auto-approve"];
        args.extend(case.before_args.iter().map(String::as_str));
        // One at a time unless the case says otherwise, so that the seeded generator names
        // Workspaces in a fixed order.
        if !case.before_args.iter().any(|a| a.starts_with("--parallelism")) {
            args.extend(["--parallelism", "1"]);
        }
        let out = cordium(&args, &serve.url, &case.env);
        assert_eq!(
            out.status.code(),
            Some(case.before_exit),
            "{name}: seeding apply: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if !case.raw.is_empty() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            for op in &case.raw {
                raw(&serve, op).await;
            }
        });
    }

    let input = dir.join("in").to_string_lossy().to_string();
    let mut problems = Vec::new();

    // The saved plan holds no secret either, and `show` renders it exactly as plan did.
    let saved = tempfile::tempdir().expect("tempdir");
    let file = saved.path().join("plan.json");
    let file_arg = file.to_string_lossy().to_string();
    let mut args = vec!["plan", input.as_str(), "--output", "json", "--out", file_arg.as_str()];
    args.extend(case.plan.iter().map(String::as_str));
    let planned = cordium(&args, &serve.url, &case.env);
    if planned.status.success() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for bad in std::iter::once(SENTINEL).chain(case.forbid.iter().map(String::as_str)) {
            if text.contains(bad) {
                problems.push(format!("{name}: `{bad}` leaked into the saved plan file"));
            }
        }
        let shown = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args(["show", file_arg.as_str(), "--output", "json"])
            .output()
            .expect("cordium show runs");
        if shown.stdout != planned.stdout {
            problems.push(format!(
                "{name}: `cordium show --output json` differs from the plan it saved"
            ));
        }
    }
    for (format, file) in [("human", "plan.txt"), ("json", "plan.json"), ("markdown", "plan.md")] {
        let mut args = vec!["plan", input.as_str(), "--detailed-exitcode", "--output", format];
        args.extend(case.plan.iter().map(String::as_str));
        let out = cordium(&args, &serve.url, &case.env);
        if out.status.code() != Some(case.exit) {
            problems.push(format!(
                "{name} ({format}): exit {:?}, expected {}: {}",
                out.status.code(),
                case.exit,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            for bad in std::iter::once(SENTINEL).chain(case.forbid.iter().map(String::as_str)) {
                if text.contains(bad) {
                    problems.push(format!("{name} ({format}): `{bad}` leaked to {stream}"));
                }
            }
        }
        if format == "json" && out.status.code() != Some(1) {
            problems.extend(check_plan_schema(&name, &out.stdout));
        }
        let root = dir.to_string_lossy().to_string();
        let stdout =
            normalise(&String::from_utf8_lossy(&out.stdout), &serve.url).replace(&root, "<case>");
        let stderr =
            normalise(&String::from_utf8_lossy(&out.stderr), &serve.url).replace(&root, "<case>");
        let mut expected = vec![(file.to_string(), stdout)];
        if format == "human" {
            expected.push(("stderr.txt".into(), stderr));
        }
        for (file, got) in expected {
            let path = dir.join("out").join(&file);
            if bless {
                std::fs::create_dir_all(dir.join("out")).expect("out/");
                std::fs::write(&path, &got).expect("write golden");
            } else {
                let want = std::fs::read_to_string(&path).unwrap_or_default();
                if want != got {
                    problems.push(format!(
                        "{name}/out/{file} differs (BLESS=1 to accept):\n{}",
                        similar::TextDiff::from_lines(&want, &got).unified_diff()
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn plan_cases_match_their_goldens() {
    let bless = std::env::var_os("BLESS").is_some();
    let only = std::env::var("PLAN_CASE").ok();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("fixtures/cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .filter(|p| only.as_deref().is_none_or(|o| p.ends_with(o)))
        .collect();
    dirs.sort();
    assert!(
        only.is_some() || dirs.len() >= 25,
        "expected at least 25 plan cases, found {}",
        dirs.len()
    );
    // A few cases at a time: each runs its own server and several processes.
    let problems: Vec<String> = dirs
        .chunks(4)
        .flat_map(|chunk| {
            std::thread::scope(|s| {
                let handles: Vec<_> =
                    chunk.iter().map(|d| s.spawn(move || run_case(d, bless))).collect();
                handles.into_iter().flat_map(|h| h.join().expect("case thread")).collect::<Vec<_>>()
            })
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
