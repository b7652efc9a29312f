//! `cordium export` round trips through the real binary against `cordium serve`: every example
//! applied, exported in both formats, plans with no changes against the same cluster, with
//! Secrets declared from placeholder variables and no value written.

use std::path::Path;

use crate::apply::{cordium, example, text};
use crate::support::Serve;

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_exports_in_both_formats_and_plans_with_no_changes() {
    for name in ["quickstart", "platform", "platform-yaml"] {
        let serve = Serve::start(&["--build-duration", "100ms"]);
        let url = serve.url.as_str();
        let dir = example(name);
        let d = dir.path().to_str().expect("utf-8");
        let applied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{name}: apply\n{}", text(&applied));
        for format in ["hcl", "yaml"] {
            let out = tempfile::tempdir().expect("tempdir");
            let o = out.path().join("exported");
            let o = o.to_str().expect("utf-8");
            let exported = cordium(&["export", o, "--endpoint", url, "--format", format]);
            assert_eq!(exported.status.code(), Some(0), "{name} {format}\n{}", text(&exported));
            let written = files(Path::new(o));
            let all: String = written.iter().map(|(n, t)| format!("--- {n}\n{t}")).collect();
            for value in ["wandb-value", "anthropic-value", "git-value", "ghp-value"] {
                assert!(!all.contains(value), "{name} {format}: a secret value was written\n{all}");
            }
            assert!(written.iter().any(|(n, _)| n.starts_with("cordium.")), "{all}");
            if name != "quickstart" {
                assert!(all.contains("CORDIUM_SECRET_ML_WANDB"), "{name} {format}\n{all}");
            }
            let plan = cordium(&["plan", o, "--endpoint", url, "--detailed-exitcode"]);
            assert_eq!(
                plan.status.code(),
                Some(0),
                "{name} {format}: plan\n{}\n{all}",
                text(&plan)
            );
            assert!(
                String::from_utf8_lossy(&plan.stdout).contains("No changes."),
                "{name} {format}\n{}",
                text(&plan)
            );
        }
    }
}

/// `--adopt` writes what no stack manages with import blocks (HCL) or documents (YAML): the
/// plan imports exactly those, and once applied the directory plans with no changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopt_imports_what_no_stack_manages_in_both_formats() {
    for format in ["hcl", "yaml"] {
        let serve = Serve::start(&[]);
        let url = serve.url.as_str();
        let dir = example("quickstart");
        let d = dir.path().to_str().expect("utf-8");
        let applied = cordium(&["apply", d, "--endpoint", url, "--auto-approve"]);
        assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path().to_str().expect("utf-8");
        let plain = cordium(&["export", o, "--endpoint", url, "--format", format]);
        assert!(
            String::from_utf8_lossy(&plain.stdout)
                .contains("Left out: user.admin `admin`: managed by no stack (--adopt writes it"),
            "{}",
            text(&plain)
        );
        let out = tempfile::tempdir().expect("tempdir");
        let o = out.path().to_str().expect("utf-8");
        let exported = cordium(&["export", o, "--endpoint", url, "--format", format, "--adopt"]);
        assert_eq!(exported.status.code(), Some(0), "{}", text(&exported));
        let imports = std::fs::read_to_string(out.path().join(format!("imports.{format}")))
            .expect("an imports file");
        assert!(imports.contains("user.admin"), "{imports}");
        let plan = cordium(&["plan", o, "--endpoint", url, "--output", "json"]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
        let doc: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
        // Every import the file declares (the Users and, since Policies are a kind, the
        // cluster's genesis Policies, which no stack manages), and nothing else.
        let declared = imports.matches("user.").count() + imports.matches("policy.").count();
        assert!(declared >= 2, "{imports}");
        assert_eq!(doc["summary"]["import"], declared, "{format}: {doc}");
        assert_eq!(doc["summary"]["update"], declared, "{format}: only the imports: {doc}");
        assert_eq!(doc["summary"]["create"], 0, "{format}: {doc}");
        let adopted = cordium(&["apply", o, "--endpoint", url, "--auto-approve"]);
        assert_eq!(adopted.status.code(), Some(0), "{}", text(&adopted));
        let again = cordium(&["plan", o, "--endpoint", url, "--detailed-exitcode"]);
        assert_eq!(again.status.code(), Some(0), "{format}: {}", text(&again));
    }
}
