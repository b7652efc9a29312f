//! Golden cases: every `fixtures/invalid/<case>/` is a config directory plus `expected.txt`, the
//! `--format json` output of `cordium validate` run in it. `BLESS=1 cargo test invalid` rewrites
//! the goldens; read each one you bless.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/invalid is readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

#[allow(clippy::disallowed_methods)] // tests pin the environment the binary sees
fn run(case: &Path) -> (String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordium"));
    cmd.args(["validate", ".", "--format", "json"]).current_dir(case).env("NO_COLOR", "1");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CORDIUM_VAR_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("cordium runs");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
#[allow(clippy::disallowed_methods)] // BLESS is read by tests only
fn invalid_fixtures_match_their_goldens() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = cases();
    assert!(cases.len() >= 40, "expected at least 40 cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (stdout, code) = run(case);
        let doc: serde_json::Value = match serde_json::from_str(&stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{name}: output is not JSON ({e}):\n{stdout}"));
                continue;
            }
        };
        let errors = doc["errors"].as_u64().unwrap_or(0);
        let want_code = if errors > 0 { 1 } else { 0 };
        if code != want_code {
            failures.push(format!("{name}: exit code {code}, expected {want_code}"));
        }
        if doc["diagnostics"].as_array().is_none_or(|d| d.is_empty()) {
            failures.push(format!("{name}: no diagnostics at all"));
        }
        let golden = case.join("expected.txt");
        if bless {
            std::fs::write(&golden, &stdout).expect("golden is writable");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != stdout {
            failures.push(format!(
                "{name}: output differs from expected.txt (BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{stdout}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
