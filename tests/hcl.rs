//! The HCL loader under hostile input (random bytes, mutated valid files: never a panic, always
//! an answer) and `cordium fmt` end to end.

use std::path::PathBuf;

use cordium::config::hcl::{fmt::format, load};
use cordium::config::LoadOptions;
use cordium::diag::{Diagnostics, FileId, Sources};
use proptest::prelude::*;

const VALID: &str = r#"
variable "branch" {
  type    = string
  default = "main"
}

variable "token" {
  default   = "t"
  sensitive = true
}

locals {
  name  = "ml-${var.branch}"
  tags  = [for t in ["a", "b"] : upper(t)]
  blob  = jsonencode({ a = [1, 2], b = var.token })
}

space "ml" {
  display_name = "ML platform"
  organization = true
}

secret "wandb" {
  space    = space.ml
  from_env = "WANDB_API_KEY"
}

template "gpu" {
  space = space.ml
  image {
    registry { url = "python:3.12-bookworm" }
  }
  runtime {
    env_var {
      key         = "WANDB_API_KEY"
      from_secret = secret.wandb
    }
    task "install" {
      type = "ON_CREATE"
      run  = <<-EOT
        pip install -r requirements.txt
        echo $${{ vars.BRANCH }}
      EOT
    }
  }
  limit {
    cpu_millicores = 8000
  }
  var "TASK" { value = "Fix the tests on $${{ vars.BRANCH }}" }
}

workspace "agent-box" {
  space    = space.ml
  template = template.ml.gpu
}
"#;

fn load_text(bytes: &[u8]) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.hcl"), bytes).expect("write");
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let docs = load(
        dir.path(),
        &[PathBuf::from("main.hcl")],
        None,
        &LoadOptions::default(),
        &mut sources,
        &mut diags,
    );
    // Every diagnostic span must resolve inside its file.
    for d in diags.iter() {
        if let Some(s) = d.span {
            assert!(s.start <= s.end && s.end <= sources.text(s.file).len(), "{d:?}");
        }
    }
    docs.len()
}

#[test]
fn the_valid_file_loads_cleanly() {
    assert_eq!(load_text(VALID.as_bytes()), 4);
}

/// The diagnostics of loading `text` as `main.hcl`: (code, message, line of the span).
fn load_diags(text: &str) -> Vec<(String, String, usize)> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.hcl"), text).expect("write");
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    load(
        dir.path(),
        &[PathBuf::from("main.hcl")],
        None,
        &LoadOptions::default(),
        &mut sources,
        &mut diags,
    );
    diags
        .iter()
        .map(|d| {
            let line = d
                .span
                .and_then(|s| sources.get(s.file).map(|f| f.line_col(s.start).0))
                .unwrap_or(0);
            (d.code.to_string(), d.message.clone(), line)
        })
        .collect()
}

/// Object literals are built in linear time by the vendored hcl-edit/hcl-rs (vendor/README.md);
/// what counts as a repeated key, and where it is reported, is what the published parser did.
#[test]
fn object_keys_keep_the_parsers_duplicate_rules() {
    let labels = |a: &str, b: &str| {
        format!("locals {{ k = \"x\" }}\nspace \"ml\" {{\n  labels = {{\n    {a} = \"1\"\n    {b} = \"2\"\n  }}\n}}\n")
    };
    // The same key written the same way is the parser's error, at the second one (line 5).
    for key in ["a", "\"a\"", "\"${local.k}\"", "(local.k)", "\"a-${local.k}\""] {
        let got = load_diags(&labels(key, key));
        assert!(
            got.iter().any(|(code, message, line)| code == "hcl-syntax"
                && message.contains("redefined object key")
                && *line == 5),
            "{key}: {got:?}"
        );
    }
    // An identifier and a string are two keys to the parser; evaluation finds them equal.
    for (a, b) in [("a", "\"a\""), ("\"x\"", "(local.k)"), ("\"a-x\"", "\"a-${local.k}\"")] {
        let got = load_diags(&labels(a, b));
        assert!(!got.iter().any(|(code, ..)| code == "hcl-syntax"), "{a} {b}: {got:?}");
        assert!(
            got.iter().any(|(code, message, line)| code == "duplicate-key"
                && message.contains("set twice")
                && *line == 5),
            "{a} {b}: {got:?}"
        );
    }
    // Different keys of every form are not mistaken for each other.
    let distinct = labels("\"${local.k}-a\"", "\"${local.k}-b\"");
    assert!(load_diags(&distinct).is_empty(), "{:?}", load_diags(&distinct));
    let many: String =
        (0..20_000).map(|i| format!("    k{i} = \"v\"\n    \"s{i}\" = \"v\"\n")).collect();
    let text = format!("space \"ml\" {{\n  labels = {{\n{many}    k7 = \"again\"\n  }}\n}}\n");
    let got = load_diags(&text);
    assert!(
        got.iter().any(|(code, message, line)| code == "hcl-syntax"
            && message.contains("redefined object key")
            && *line == 40_003),
        "{:?}",
        got.first()
    );
}

#[test]
fn deep_nesting_long_lines_and_big_files_terminate() {
    let deep = format!("locals {{ a = {}1{} }}\n", "[".repeat(5000), "]".repeat(5000));
    load_text(deep.as_bytes());
    let ops = format!("locals {{ a = {} }}\n", vec!["1"; 5000].join(" + "));
    load_text(ops.as_bytes());
    let long = format!("locals {{ a = \"{}\" }}\n", "x".repeat(1 << 20));
    load_text(long.as_bytes());
    let many: String = (0..5000).map(|i| format!("user \"u{i}\" {{}}\n")).collect();
    assert_eq!(load_text(many.as_bytes()), 5000);
    for expr in [
        "9223372036854775807 + 1",
        "-9223372036854775807 - 10",
        "9223372036854775807 * 9223372036854775807",
        "1 / 0",
        "1 % 0",
        "-9223372036854775807 / -1",
        "18446744073709551615 + 18446744073709551615",
        "[1][9999999999999]",
        "\"é\"[0]",
        "format(\"%99999999999999999999d\", 1)",
        "substr(\"é\", -9223372036854775807, 1)",
        "range(-1e308, 1e308, 1e300)",
        "pow(-8, 0.3333)",
        "parseint(\"zzzzzzzzzzzzzzzzzzzz\", 36)",
    ] {
        load_text(
            format!("locals {{ a = {expr} }}\nuser \"u\" {{ email = local.a }}\n").as_bytes(),
        );
    }
    let braces = "{".repeat(100_000);
    load_text(braces.as_bytes());
}

fn mutate(base: &str, ops: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = base.as_bytes().to_vec();
    for &(pos, kind, byte) in ops {
        if bytes.is_empty() {
            break;
        }
        let i = pos % bytes.len();
        match kind % 4 {
            0 => {
                bytes.remove(i);
            }
            1 => bytes.insert(i, byte),
            2 => bytes[i] = byte,
            _ => {
                let end = (i + (byte as usize % 40)).min(bytes.len());
                let chunk: Vec<u8> = bytes[i..end].to_vec();
                bytes.splice(i..i, chunk);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load_text(&bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(ops in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..12)) {
        let bytes = mutate(VALID, &ops);
        load_text(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(once) = format(text, FileId(0)) {
                prop_assert_eq!(format(&once, FileId(0)).ok(), Some(once.clone()));
            }
        }
    }

    #[test]
    fn hcl_like_tokens_never_panic(tokens in proptest::collection::vec(
        prop::sample::select(vec![
            "space", "template", "\"a\"", "{", "}", "[", "]", "(", ")", "=", "\n", "var.x", "local.y",
            "space.a", "template.a.b", "${", "$${{", "%{", "for", "in", ":", "?", ",", "upper(", "file(\"x\")",
            "<<EOT\n", "EOT\n", "1", "true", "null", "#", "/*", "*/", "locals", "variable", "\"${var.x}\"",
        ]), 0..80)) {
        load_text(tokens.concat().as_bytes());
    }
}

#[test]
fn fmt_check_and_diff_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.hcl"), "space \"ml\" {\ndisplay_name=\"x\"\n}\n")
        .expect("write");
    std::fs::write(dir.path().join("b.hcl"), "user \"u\" {}\n").expect("write");
    std::fs::create_dir_all(dir.path().join(".cordium")).expect("mkdir");
    std::fs::write(dir.path().join(".cordium/skip.hcl"), "x=1").expect("write");

    let check = assert_cmd::Command::cargo_bin("cordium")
        .expect("binary")
        .args(["fmt", "--check"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&check.stdout), "a.hcl\n");

    let diff = assert_cmd::Command::cargo_bin("cordium")
        .expect("binary")
        .args(["fmt", "--check", "--diff"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&diff.stdout).contains("+  display_name = \"x\""));

    let write = assert_cmd::Command::cargo_bin("cordium")
        .expect("binary")
        .arg("fmt")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(write.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.hcl")).expect("read"),
        "space \"ml\" {\n  display_name = \"x\"\n}\n"
    );
    let again = assert_cmd::Command::cargo_bin("cordium")
        .expect("binary")
        .args(["fmt", "--check"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(0));
}

/// The example in docs/hcl.md loads, lowers, and every document fits its kind's shape.
#[test]
fn the_documented_example_is_valid() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hcl.md"),
    )
    .expect("docs/hcl.md");
    let start = doc.find("```hcl\n").expect("an hcl block") + 7;
    let end = start + doc[start..].find("```").expect("closed");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.hcl"), &doc[start..end]).expect("write");
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let raw = load(
        dir.path(),
        &[PathBuf::from("main.hcl")],
        None,
        &LoadOptions::default(),
        &mut sources,
        &mut diags,
    );
    let lowered: Vec<_> =
        raw.iter().filter_map(|d| cordium::model::lower::lower(d, &mut diags)).collect();
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(lowered.len(), 11);
    use cordium::model::document::*;
    for d in lowered {
        let json = d.to_json();
        let ok = match json["kind"].as_str() {
            Some("Space") => serde_json::from_value::<SpaceDoc>(json.clone()).is_ok(),
            Some("Template") => serde_json::from_value::<TemplateDoc>(json.clone()).is_ok(),
            Some("User") => serde_json::from_value::<UserDoc>(json.clone()).is_ok(),
            Some("Workspace") => serde_json::from_value::<WorkspaceDoc>(json.clone()).is_ok(),
            Some("Secret") => serde_json::from_value::<SecretDoc>(json.clone()).is_ok(),
            Some("Group") => serde_json::from_value::<GroupDoc>(json.clone()).is_ok(),
            Some("Policy") => serde_json::from_value::<PolicyDoc>(json.clone()).is_ok(),
            Some("Membership") => serde_json::from_value::<MembershipDoc>(json.clone()).is_ok(),
            Some("GitProvider") => serde_json::from_value::<GitProviderDoc>(json.clone()).is_ok(),
            Some("Volume") => serde_json::from_value::<VolumeDoc>(json.clone()).is_ok(),
            _ => false,
        };
        assert!(ok, "{json:#}");
    }
}
