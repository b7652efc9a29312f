//! Promotion with evidence (issue 15), through the real binary against two `cordium serve`
//! instances, staging and production, named by the stack file's environments: `apply --record`
//! writes a record that matches its schema and holds no secret, and `promote` says exactly which
//! changes production gets as staging ran them (a Template's build carrying over) and which are
//! untested, from the record and from the staging cluster alike; `--require-tested` gates.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::apply::text;
use crate::support::{cordium_as_admin, Serve};

/// A value no record or report may contain.
const SENTINEL: &str = "promote-sentinel-value-7hq2";

fn run(dir: &Path, args: &[&str]) -> Output {
    cordium_as_admin()
        .current_dir(dir)
        .args(args)
        .env_remove("CORDIUM_STACK")
        .env("SHOP_TOKEN", SENTINEL)
        .env("CORDIUM_RECORD_KEY", "record-key-for-tests")
        .output()
        .expect("cordium runs")
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// The config: a Space, two pre-built Templates (one reads `greeting`), a Secret.
fn config(dir: &Path, staging: &str, production: &str, image: &str) {
    write(
        dir,
        "cordium.hcl",
        &format!(
            "stack \"shop\" {{}}\n\n\
             environment \"staging\" {{\n  endpoint  = \"{staging}\"\n  var_files = [\"env/staging.tfvars\"]\n}}\n\n\
             environment \"production\" {{\n  endpoint  = \"{production}\"\n  var_files = [\"env/production.tfvars\"]\n}}\n"
        ),
    );
    write(
        dir,
        "main.hcl",
        &format!(
            "variable \"greeting\" {{\n  default = \"hi\"\n}}\n\n\
             space \"shop\" {{}}\n\n\
             template \"api\" {{\n  space = space.shop\n  image {{\n    registry {{\n      url = \"{image}\"\n    }}\n  }}\n  prebuild {{\n    timeout = \"5m\"\n  }}\n}}\n\n\
             template \"worker\" {{\n  space = space.shop\n  image {{\n    registry {{\n      url = \"node:22\"\n    }}\n  }}\n  var \"GREETING\" {{\n    value = var.greeting\n  }}\n  prebuild {{\n    timeout = \"5m\"\n  }}\n}}\n\n\
             template \"docs\" {{\n  space = space.shop\n  image {{\n    registry {{\n      url = \"{image}\"\n    }}\n  }}\n}}\n\n\
             secret \"token\" {{\n  space    = space.shop\n  from_env = \"SHOP_TOKEN\"\n}}\n"
        ),
    );
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// `(address, action, verdict, reason)` of every object of a report.
fn verdicts(report: &Value) -> Vec<(String, String, String, String)> {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            let s = |k: &str| o[k].as_str().unwrap_or("").to_string();
            (s("address"), s("action"), s("verdict"), s("reason"))
        })
        .collect()
}

fn schema_check(schema: &Value, doc: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what} does not match its schema: {errors:?}");
}

fn build_of<'a>(record: &'a Value, template: &str) -> &'a Value {
    record["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .find(|b| b["template"] == template)
        .unwrap_or_else(|| panic!("no build of {template} in {record}"))
}

#[test]
fn a_change_is_promoted_from_staging_to_production_with_evidence() {
    let staging = Serve::start(&["--build-duration", "1s"]);
    let production = Serve::start(&["--build-duration", "1s"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A repository, so the record names a commit (read from .git; no git binary needed).
    let commit = "0123456789abcdef0123456789abcdef01234567";
    write(d, ".git/HEAD", "ref: refs/heads/main\n");
    write(d, ".git/refs/heads/main", &format!("{commit}\n"));
    write(d, "env/staging.tfvars", "greeting = \"hi\"\n");
    write(d, "env/production.tfvars", "greeting = \"hi\"\n");
    config(d, &staging.url, &production.url, "python:3.12");
    for env in ["staging", "production"] {
        let o = run(d, &["apply", "--env", env, "--auto-approve"]);
        assert!(o.status.success(), "{}", text(&o));
    }

    // The change: a new image for both, and a greeting only production gets.
    config(d, &staging.url, &production.url, "python:3.13");
    write(d, "env/production.tfvars", "greeting = \"hello from production\"\n");
    let o = run(d, &["apply", "--env", "staging", "--auto-approve", "--record", "staging.json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Wrote the apply record staging.json"));
    let record_text = std::fs::read_to_string(d.join("staging.json")).expect("record");
    assert!(!record_text.contains(SENTINEL), "the record holds the secret: {record_text}");
    let record = read(&d.join("staging.json"));
    schema_check(&read(&root().join("schemas/record.v1.json")), &record, "the record");
    assert_eq!(record["stack"], "shop");
    assert_eq!(record["environment"], "staging");
    assert_eq!(record["target"], staging.url.as_str());
    assert_eq!(record["identity"]["username"], "admin");
    assert_eq!(record["identity"]["credentials"], "auth-token");
    assert_eq!(record["git"]["commit"], commit);
    assert_eq!(record["git"]["branch"], "main");
    assert_eq!(record["success"], true);
    assert!(record["key_id"].as_str().is_some_and(|k| k.len() == 16));
    let object = |a: &str| {
        record["objects"].as_array().expect("objects").iter().find(|o| o["address"] == a).cloned()
    };
    let api = object("template.shop.api").expect("api recorded");
    assert_eq!((api["action"].as_str(), api["status"].as_str()), (Some("update"), Some("done")));
    assert!(api["spec_digest"].as_str().is_some_and(|d| d.starts_with("sha256:")));
    let token = object("secret.shop.token").expect("secret recorded");
    assert!(
        token["sensitive"]["value"].as_str().is_some_and(|d| d.starts_with("hmac-sha256:")),
        "{token}"
    );
    let api_build = build_of(&record, "template.shop.api");
    assert_eq!(
        (api_build["action"].as_str(), api_build["result"].as_str()),
        (Some("build"), Some("succeeded"))
    );
    let api_build_id = api_build["build_id"].as_str().expect("a ready build id").to_string();

    // Promote from the record.
    let o = run(
        d,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--record",
            "staging.json",
            "--output",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let report = json(&o);
    schema_check(&read(&root().join("schemas/promote.v1.json")), &report, "the report");
    assert!(!String::from_utf8_lossy(&o.stdout).contains(SENTINEL));
    let expected = || {
        vec![
            (
                "space.shop".into(),
                "no-op".into(),
                "unchanged".into(),
                "no change in production".into(),
            ),
            (
                "secret.shop.token".into(),
                "no-op".into(),
                "unchanged".into(),
                "no change in production".into(),
            ),
            (
                "template.shop.api".into(),
                "update".into(),
                "tested".into(),
                "same spec as staging".into(),
            ),
            (
                "template.shop.docs".into(),
                "update".into(),
                "tested".into(),
                "same spec as staging".into(),
            ),
            (
                "template.shop.worker".into(),
                "update".into(),
                "untested".into(),
                "differs from staging: spec.vars[0].value".into(),
            ),
        ]
    };
    assert_eq!(verdicts(&report), expected(), "{report:#}");
    assert_eq!(report["summary"]["tested"], 2);
    assert_eq!(report["summary"]["untested"], 1);
    assert_eq!(report["evidence"]["source"], "record");
    assert_eq!(report["evidence"]["git_commit"], commit);
    let objects = report["objects"].as_array().expect("objects");
    let api = objects.iter().find(|o| o["address"] == "template.shop.api").expect("api");
    assert_eq!(api["build"]["carries_over"], true);
    assert_eq!(
        api["build"]["reason"].as_str(),
        Some(format!("carries over: same inputs as staging build {api_build_id}").as_str())
    );
    let worker = objects.iter().find(|o| o["address"] == "template.shop.worker").expect("worker");
    assert_eq!(worker["build"]["carries_over"], false);
    assert_eq!(
        worker["build"]["reason"],
        "build inputs differ (spec.vars[0].value) from staging's build"
    );
    // The plan inside is production's.
    assert_eq!(report["plan"]["target"]["display"], production.url.as_str());
    assert_eq!(report["plan"]["summary"]["update"], 3);
    // A Template without a pre-build has no snapshot to carry over.
    let docs = objects.iter().find(|o| o["address"] == "template.shop.docs").expect("docs");
    assert!(docs["build"].is_null(), "{docs}");

    // The same from the staging cluster itself.
    let o = run(d, &["promote", "--from", "staging", "--to", "production", "--output", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let live = json(&o);
    assert_eq!(verdicts(&live), expected(), "{live:#}");
    assert_eq!(live["evidence"]["source"], "cluster");

    // Gated, with the human and Markdown views naming the untested change.
    let o = run(
        d,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--record",
            "staging.json",
            "--require-tested",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let human = String::from_utf8_lossy(&o.stdout);
    assert!(
        human.contains(
            "x untested template.shop.worker (update): differs from staging: spec.vars[0].value"
        ),
        "{human}"
    );
    assert!(
        human.contains(&format!(
            "snapshot {}: carries over: same inputs as staging build {api_build_id}",
            api["build"]["tag"].as_str().unwrap_or("")
        )),
        "{human}"
    );
    assert!(human.contains("Promotion: 2 tested, 1 untested, 2 unchanged."), "{human}");
    let o = run(
        d,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--output",
            "markdown",
            "--html",
            "promote.html",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("| ❌ **untested** | `template.shop.worker` | update |"), "{md}");
    let page = std::fs::read_to_string(d.join("promote.html")).expect("page");
    assert!(page.contains("badge untested") && !page.contains(SENTINEL));

    // Production takes the plan the report was about; then nothing is left to promote.
    let o = run(d, &["promote", "--from", "staging", "--to", "production", "--out", "prod.plan"]);
    assert!(o.status.success(), "{}", text(&o));
    // Applied alone (no --env): the saved plan's own environment is the one locked and recorded.
    let o = run(d, &["apply", "prod.plan", "--record", "prod.json"]);
    assert!(o.status.success(), "{}", text(&o));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("prod.json")).expect("record"))
            .expect("record JSON");
    assert_eq!(record["environment"], "production", "{record}");
    let o = run(
        d,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--record",
            "staging.json",
            "--require-tested",
            "--output",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let after = json(&o);
    assert_eq!(after["summary"]["untested"], 0, "{after:#}");
    assert_eq!(after["summary"]["tested"], 0, "{after:#}");

    // With the JSON event stream, the record is a notice that matches the events schema.
    let o = run(
        d,
        &[
            "apply",
            "--env",
            "staging",
            "--auto-approve",
            "--record",
            "again.json",
            "--output",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let events = read(&root().join("schemas/events.v1.json"));
    let recorded: Vec<Value> =
        crate::apply::lines(&o).into_iter().filter(|l| l["notice"] == "recorded").collect();
    assert_eq!(recorded.len(), 1, "{}", text(&o));
    schema_check(&events, &recorded[0], "the recorded notice");
    assert!(read(&d.join("again.json"))["objects"]
        .as_array()
        .is_some_and(|a| a.iter().all(|o| o["action"] == "no-op")));

    // A record of another environment is refused.
    let o =
        run(d, &["promote", "--from", "production", "--to", "staging", "--record", "staging.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("is a record of environment `staging`, not of `production`"),
        "{}",
        text(&o)
    );
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn record_and_promote_schemas_are_up_to_date() {
    for (file, schema) in [
        ("schemas/record.v1.json", cordium::ops::record::schema()),
        ("schemas/promote.v1.json", cordium::render::promote::schema()),
    ] {
        let path = root().join(file);
        let mut want = serde_json::to_string_pretty(&schema).expect("json");
        want.push('\n');
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &want).expect("write schema");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "stale {file} (run `BLESS=1 cargo test --test main promote`)");
    }
}
