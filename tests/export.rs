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
