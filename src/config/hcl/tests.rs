//! Loader tests: whole directories through [`super::load`].

use std::path::{Path, PathBuf};

use super::load;
use crate::config::stack::{self, Stack};
use crate::config::tree::{Node, Value};
use crate::config::{LoadOptions, RawDoc, VarArg};
use crate::diag::{Diagnostics, Severity, Sources};

struct Out {
    docs: Vec<RawDoc>,
    diags: Diagnostics,
    sources: Sources,
    _dir: tempfile::TempDir,
}

impl Out {
    fn doc(&self, kind: &str, name: &str) -> &Node {
        &self
            .docs
            .iter()
            .find(|d| {
                d.node.get("@kind").and_then(Node::as_str) == Some(kind)
                    && d.node.get("@name").and_then(Node::as_str) == Some(name)
            })
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .node
    }

    fn json(&self, kind: &str, name: &str) -> serde_json::Value {
        self.doc(kind, name).to_json()
    }

    fn errors(&self) -> Vec<String> {
        self.diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect()
    }

    fn only(&self, code: &str) -> &crate::diag::Diagnostic {
        let found: Vec<_> = self.diags.iter().filter(|d| d.code == code).collect();
        assert_eq!(found.len(), 1, "{code}: {:?}", self.diags);
        found[0]
    }

    fn snippet(&self, d: &crate::diag::Diagnostic) -> &str {
        self.sources.snippet(d.span.expect("a span"))
    }
}

fn run(files: &[(&str, &str)], opts: LoadOptions) -> Out {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hcl = Vec::new();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        if name.ends_with(".hcl") && !name.contains('/') && *name != "cordium.hcl" {
            hcl.push(PathBuf::from(name));
        }
    }
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let st: Option<Stack> = stack::load(dir.path(), &mut sources, &mut diags);
    let docs = load(dir.path(), &hcl, st.as_ref(), &opts, &mut sources, &mut diags);
    Out { docs, diags, sources, _dir: dir }
}

fn one(text: &str) -> Out {
    run(&[("main.hcl", text)], LoadOptions::default())
}

#[test]
fn the_architecture_example_loads_into_the_raw_shape() {
    let out = one(r#"
variable "branch" { default = "main" }

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
      run  = "pip install -r requirements.txt"
    }
  }
  repository {
    url = "https://github.com/example/ml"
    clone_options {
      branch = var.branch
      depth  = 1
    }
  }
  var "TASK" { value = "Fix the tests on $${{ vars.BRANCH }}" }
  lifecycle { prevent_destroy = true }
}

workspace "agent-box" {
  space    = space.ml
  template = template.gpu
}
"#);
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    assert_eq!(out.docs.len(), 4);
    assert_eq!(
        out.json("template", "gpu"),
        serde_json::json!({
            "@kind": "template",
            "@name": "gpu",
            "space": "ml",
            "image": [{"registry": [{"url": "python:3.12-bookworm"}]}],
            "runtime": [{
                "env_var": [{"key": "WANDB_API_KEY", "from_secret": "wandb"}],
                "task": [{"@labels": ["install"], "type": "ON_CREATE", "run": "pip install -r requirements.txt"}]
            }],
            "repository": [{
                "url": "https://github.com/example/ml",
                "clone_options": [{"branch": "main", "depth": 1}]
            }],
            "var": [{"@labels": ["TASK"], "value": "Fix the tests on ${{ vars.BRANCH }}"}],
            "lifecycle": [{"prevent_destroy": true}]
        })
    );
    assert_eq!(out.json("workspace", "agent-box")["template"], "gpu");
    // Spans: the @name spans the label, a value spans its expression.
    let gpu = out.doc("template", "gpu");
    assert_eq!(out.sources.snippet(gpu.get("@name").expect("name").span), "\"gpu\"");
    assert_eq!(out.sources.snippet(gpu.get("space").expect("space").span), "space.ml");
    let loc = out.sources.locate(gpu.get("space").expect("space").span);
    assert_eq!((loc.line, loc.column), (15, 11));
}

#[test]
fn variable_precedence_follows_terraform() {
    let files = [
        ("main.hcl", "variable \"a\" { default = \"default\" }\nvariable \"b\" { default = \"default\" }\nvariable \"c\" { default = \"default\" }\nvariable \"d\" { default = \"default\" }\nvariable \"e\" { default = \"default\" }\nuser \"u\" { email = join(\",\", [var.a, var.b, var.c, var.d, var.e]) }\n"),
        ("cordium.hcl", "stack \"s\" {}\nenvironment \"staging\" {\n  domain    = \"x\"\n  var_files = [\"env/staging.hcl\"]\n}\n"),
        ("env/staging.hcl", "c = \"envfile\"\nd = \"envfile\"\ne = \"envfile\"\n"),
        ("cli.yaml", "d: cli-file\ne: cli-file\n"),
    ];
    let dir_files: Vec<(&str, &str)> = files.to_vec();
    // --var-file paths are as given (relative to the working directory), so make it absolute.
    let out = {
        let dir = tempfile::tempdir().expect("tempdir");
        for (n, t) in &dir_files {
            let p = dir.path().join(n);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, t).expect("write");
        }
        let opts = LoadOptions {
            env: Some("staging".into()),
            env_vars: vec![("CORDIUM_VAR_b".into(), "env".into()), ("c".into(), "env".into())],
            vars: vec![
                VarArg::Var { name: "e".into(), value: "flag-early".into() },
                VarArg::File(dir.path().join("cli.yaml")),
            ],
            ..LoadOptions::default()
        };
        let mut sources = Sources::new();
        let mut diags = Diagnostics::new();
        let st = stack::load(dir.path(), &mut sources, &mut diags);
        let docs = load(
            dir.path(),
            &[PathBuf::from("main.hcl")],
            st.as_ref(),
            &opts,
            &mut sources,
            &mut diags,
        );
        Out { docs, diags, sources, _dir: dir }
    };
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    assert_eq!(out.json("user", "u")["email"], "default,env,envfile,cli-file,cli-file");
}

#[test]
fn typed_variables_parse_text_values() {
    let opts = LoadOptions {
        vars: vec![
            VarArg::Var { name: "n".into(), value: "3".into() },
            VarArg::Var { name: "l".into(), value: "[\"a\", \"b\"]".into() },
            VarArg::Var { name: "s".into(), value: "[not parsed]".into() },
        ],
        ..LoadOptions::default()
    };
    let out = run(
        &[(
            "main.hcl",
            "variable \"n\" { type = number }\nvariable \"l\" { type = list(string) }\nvariable \"s\" { type = string }\nuser \"u\" { attrs = { n = var.n + 1, l = var.l, s = var.s } }\n",
        )],
        opts,
    );
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    assert_eq!(
        out.json("user", "u")["attrs"],
        serde_json::json!({"n": 4, "l": ["a", "b"], "s": "[not parsed]"})
    );
}

#[test]
fn missing_values_wrong_types_and_undeclared_variables() {
    let opts = LoadOptions {
        vars: vec![
            VarArg::Var { name: "nope".into(), value: "x".into() },
            VarArg::Var { name: "n".into(), value: "\"abc\"".into() },
        ],
        ..LoadOptions::default()
    };
    let out = run(
        &[("main.hcl", "variable \"needed\" {}\nvariable \"n\" { type = number }\nuser \"u\" { email = var.needed }\n")],
        opts,
    );
    let missing = out.only("missing-variable");
    assert!(out.snippet(missing).starts_with("variable \"needed\""));
    assert!(missing.help.as_deref().unwrap_or("").contains("CORDIUM_VAR_needed"));
    let warning = out.only("undeclared-variable");
    assert_eq!(warning.severity, Severity::Warning);
    let bad = out.only("invalid-variable-value");
    assert!(bad.message.contains("does not fit its type number"), "{}", bad.message);
    // The user's email depends on a failed variable: no cascade of errors.
    assert_eq!(out.errors().len(), 2, "{:?}", out.errors());
}

#[test]
fn validation_blocks_run() {
    let out = one(
        "variable \"env\" {\n  default = \"prod\"\n  validation {\n    condition     = contains([\"dev\", \"staging\"], var.env)\n    error_message = \"env must be dev or staging.\"\n  }\n}\n",
    );
    let d = out.only("variable-validation");
    assert!(d.message.ends_with("env must be dev or staging."), "{}", d.message);
    assert_eq!(out.snippet(d), "\"prod\"");
}

#[test]
fn sensitive_variables_taint_what_they_reach() {
    let out = run(
        &[(
            "main.hcl",
            r#"
variable "token" {
  type      = string
  sensitive = true
}
locals {
  header = "Bearer ${var.token}"
  plain  = "x"
}
template "t" {
  space = "ml"
  runtime {
    env_var {
      key   = "AUTH"
      value = local.header
    }
    env_var {
      key   = "PLAIN"
      value = local.plain
    }
  }
}
"#,
        )],
        LoadOptions {
            env_vars: vec![("CORDIUM_VAR_token".into(), "s3cret".into())],
            ..LoadOptions::default()
        },
    );
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    let paths = out.doc("template", "t").sensitive_paths();
    assert_eq!(paths, vec!["runtime[0].env_var[0].value".to_string()]);
}

#[test]
fn locals_resolve_in_any_order_and_cycles_are_printed() {
    let out =
        one("locals {\n  b = \"${local.a}-b\"\n  a = \"a\"\n}\nuser \"u\" { email = local.b }\n");
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    assert_eq!(out.json("user", "u")["email"], "a-b");

    let out = one("locals {\n  x = local.y\n  y = local.z\n  z = local.x\n  ok = 1\n}\nuser \"u\" { email = local.x }\n");
    let d = out.only("local-cycle");
    assert!(d.message.contains("local.x → local.y → local.z → local.x"), "{}", d.message);
    assert_eq!(d.related.len(), 3);
    assert_eq!(out.errors().len(), 1, "{:?}", out.errors());
}

#[test]
fn references_to_undeclared_resources_are_errors() {
    let out = one("space \"ml\" {}\nworkspace \"w\" {\n  space    = space.mll\n  template = template.ml.gpu\n}\n");
    let errs: Vec<_> = out.diags.iter().filter(|d| d.code == "invalid-reference").collect();
    assert_eq!(errs.len(), 2, "{:?}", out.diags);
    assert_eq!(out.snippet(errs[0]), "mll");
    assert_eq!(errs[0].help.as_deref(), Some("Did you mean the space `ml`?"));
    assert_eq!(out.snippet(errs[1]), "gpu");
}

#[test]
fn templates_in_spaces_named_by_variables_are_referenceable() {
    let out = one(
        "variable \"s\" { default = \"ml\" }\nlocals { sp = var.s }\nspace \"ml\" {}\ntemplate \"a\" { space = var.s }\ntemplate \"b\" { space = local.sp }\nworkspace \"w\" {\n  space    = space.ml\n  template = template.ml.b\n  description = template.ml.a\n}\n",
    );
    assert!(out.diags.is_empty(), "{:?}", out.diags);
}

#[test]
fn runtime_substitution_must_be_escaped() {
    let out = one("template \"t\" {\n  var \"X\" { value = \"${{ vars.BRANCH }}\" }\n}\n");
    let d = out.only("hcl-syntax");
    assert_eq!(out.snippet(d), "${{");
    assert!(d.help.as_deref().unwrap_or("").contains("$${{ vars.NAME }}"));
    // Heredocs keep the escape too.
    let out = one("template \"t\" {\n  runtime {\n    cmd = <<-EOT\n      echo $${{ vars.X }}\n    EOT\n  }\n}\n");
    assert!(out.diags.is_empty(), "{:?}", out.diags);
    assert_eq!(out.json("template", "t")["runtime"][0]["cmd"], "echo ${{ vars.X }}\n");
}

#[test]
fn structural_problems_are_reported_and_loading_goes_on() {
    let out = run(
        &[
            ("a.hcl", "spaec \"x\" {}\nspace {}\nname = 1\nvariable \"v\" { default = 1 }\n"),
            ("b.hcl", "variable \"v\" { default = 2 }\nuser \"u\" {\n  limit = 1\n  limit { cpu = 2 }\n}\nspace \"ok\" {}\n"),
            ("c.hcl", "this is not { hcl"),
        ],
        LoadOptions::default(),
    );
    let codes: Vec<&str> = out.diags.iter().map(|d| d.code).collect();
    for code in [
        "unknown-block",
        "invalid-labels",
        "unexpected-attribute",
        "duplicate-variable",
        "duplicate-attribute",
        "hcl-syntax",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let unknown = out.only("unknown-block");
    assert_eq!(unknown.help.as_deref(), Some("Did you mean `space`?"));
    assert!(out.docs.iter().any(|d| d.node.get("@name").and_then(Node::as_str) == Some("ok")));
}

#[test]
fn file_function_reads_relative_to_the_root_and_reports_missing_files() {
    let out = run(
        &[("main.hcl", "template \"t\" {\n  image {\n    dockerfile { inline = file(\"docker/Dockerfile\") }\n  }\n  runtime { cmd = file(\"missing.sh\") }\n}\n"), ("docker/Dockerfile", "FROM x\n")],
        LoadOptions::default(),
    );
    let d = out.only("function-failed");
    assert_eq!(out.snippet(d), "file(\"missing.sh\")");
    assert_eq!(out.json("template", "t")["image"][0]["dockerfile"][0]["inline"], "FROM x\n");
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let out = run(
        &[
            ("main.hcl", "space \"a\" {}\n"),
            ("cordium.hcl", "stack \"s\" {}\nenvironment \"dev\" { local = \"x.db\" }\n"),
        ],
        LoadOptions { env: Some("prod".into()), ..LoadOptions::default() },
    );
    let d = out.only("unknown-environment");
    assert!(d.help.as_deref().unwrap_or("").contains("Known environments: dev."));
}

#[test]
fn nested_block_lists_keep_spans_and_labels() {
    let out = one("user \"u\" {\n  authorization {\n    inline_policy \"p\" {\n      rule { effect = \"ALLOW\" }\n      rule { effect = \"DENY\" }\n    }\n  }\n}\n");
    let u = out.doc("user", "u");
    let rules = u.find(&crate::config::tree::parse_path("authorization[0].inline_policy[0].rule"));
    let Value::List(items) = &rules.value else { panic!("a list") };
    assert_eq!(items.len(), 2);
    assert_eq!(out.sources.snippet(items[1].span), "rule { effect = \"DENY\" }");
    assert_eq!(
        out.json("user", "u")["authorization"][0]["inline_policy"][0]["@labels"],
        serde_json::json!(["p"])
    );
}

#[test]
fn files_outside_utf8_are_diagnosed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("x.hcl"), [0xff, 0xfe, 0x00]).expect("write");
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let docs = load(
        dir.path(),
        &[PathBuf::from("x.hcl")],
        None,
        &LoadOptions::default(),
        &mut sources,
        &mut diags,
    );
    assert!(docs.is_empty());
    assert_eq!(diags.iter().next().map(|d| d.code), Some("unreadable-file"));
    let _ = Path::new("");
}

#[test]
fn a_sensitive_key_is_an_error_that_names_no_value() {
    let opts = || LoadOptions {
        env_vars: vec![("CORDIUM_VAR_k".into(), "s3cret-key".into())],
        ..LoadOptions::default()
    };
    let decl = "variable \"k\" {\n  sensitive = true\n}\n";
    // Written as an object key, and inside a function call (whose keys were once not tainted).
    for labels in ["{ (var.k) = \"x\" }", "merge({ a = \"b\" }, { (var.k) = \"c\" })"] {
        let text = format!("{decl}space \"ml\" {{\n  labels = {labels}\n}}\n");
        let out = run(&[("main.hcl", &text)], opts());
        if labels.starts_with('{') {
            let d = out.only("sensitive-key");
            assert_eq!(out.snippet(d), "(var.k)");
            assert!(!d.message.contains("s3cret"), "{}", d.message);
        } else {
            assert!(out.diags.is_empty(), "{:?}", out.diags);
            assert!(out.doc("space", "ml").get("labels").expect("labels").sensitive);
        }
    }
}

#[test]
fn sensitive_sources_are_hidden_from_snippets_and_messages() {
    let dir_text = "variable \"pw\" {\n  type      = number\n  sensitive = true\n  default   = \"s3cret-default\"\n}\nvariable \"open\" {\n  type = number\n}\n";
    let out = run(
        &[("main.hcl", dir_text)],
        LoadOptions {
            env_vars: vec![("CORDIUM_VAR_open".into(), "not-secret".into())],
            ..LoadOptions::default()
        },
    );
    // What renderers show of every file (`SourceFile::shown_text`) and every message.
    let mut shown: Vec<String> = (0..out.sources.len())
        .filter_map(|i| out.sources.get(crate::diag::FileId(i as u32)))
        .map(|f| f.shown_text().to_string())
        .collect();
    shown.extend(out.diags.iter().map(|d| out.sources.scrub(&d.message)));
    let shown = shown.join("\n");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("not-secret"), "a plain variable's value is still shown: {shown}");
    assert!(shown.contains("default   = ****************"), "{shown}");

    let out = run(
        &[("main.hcl", "variable \"pw\" {\n  type      = number\n  sensitive = true\n}\n")],
        LoadOptions {
            vars: vec![VarArg::Var { name: "pw".into(), value: "s3cret-cli".into() }],
            ..LoadOptions::default()
        },
    );
    // `s3cret-cli` parses as a subtraction of two references.
    let d = out.only("invalid-reference");
    assert!(!d.message.contains("s3cret"), "{}", d.message);
    let span = d.span.expect("span");
    assert!(out.sources.is_hidden(span));
    assert_eq!(out.sources.get(span.file).expect("file").shown_line(0), "**********");
}

#[test]
fn a_byte_order_mark_is_accepted_as_in_yaml() {
    let out = run(&[("a.hcl", "\u{feff}space \"ml\" {}\n")], LoadOptions::default());
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    assert_eq!(out.json("space", "ml")["@name"], "ml");
}

#[test]
fn the_evaluation_budget_is_shared_and_reported_once_where_it_runs_out() {
    // Each local alone is within any per-call cap; together they are not.
    let text = "locals {\n  a = [for i in range(100000): [for j in range(100): j]]\n  b = \
                [for i in range(100000): [for j in range(100): j]]\n}\nspace \"ml\" {\n  \
                description = tostring(length(local.a) + length(local.b))\n}\n";
    let out = run(&[("a.hcl", text)], LoadOptions::default());
    let d = out.only("evaluation-budget");
    assert!(d.message.contains("2,000,000 values"), "{}", d.message);
    assert!(d.help.as_deref().unwrap_or("").contains("docs/hcl.md"));
    assert!(out.snippet(d).starts_with("[for i"), "{}", out.snippet(d));
}

#[test]
fn locals_see_only_what_they_refer_to_and_keep_their_values() {
    let text = "locals {\n  a = \"x\"\n  b = \"${local.a}y\"\n  c = [local.b, local.a]\n}\n\
                space \"ml\" {\n  description = join(\",\", local.c)\n}\n";
    let out = run(&[("a.hcl", text)], LoadOptions::default());
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    assert_eq!(out.json("space", "ml")["description"], "xy,x");
}

#[test]
fn for_nesting_past_the_limit_is_an_error_at_the_innermost_for() {
    let deep = (0..9).map(|i| format!("[for v{i} in [1]: ")).collect::<String>();
    let text = format!("locals {{\n  x = {deep}v8{}\n}}\n", "]".repeat(9));
    let out = run(&[("a.hcl", &text)], LoadOptions::default());
    let d = out.only("evaluation-budget");
    assert!(d.message.contains("at most 8"), "{}", d.message);
}
