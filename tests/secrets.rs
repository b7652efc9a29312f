//! Secrets never appear in what cordium prints or writes. Every case of [`CASES`] is a config
//! directory holding a sentinel secret (`@S@` in the table) in a sensitive place: a sensitive
//! variable's value from `--var`, `CORDIUM_VAR_*`, a var file or its default, used where it
//! fails validation or where the server needs plain text, or a `from_file` secret inside the
//! config root. Each case runs through the real binary: `validate` (human, `--format json`),
//! `plan --local` (human, `--output json`, `--output markdown`, `--out FILE`), `show`, the saved
//! plan applied alone from `/`, and
//! `apply` of that file, `apply --local` (human and JSON) and `apply` against `cordium serve`.
//! Stdout, stderr and every file the runs wrote (saved plans, lock files) are searched for the
//! sentinel in plain, upper case, base64 (each alignment) and hex form. The local cluster's
//! database is not: it is the cluster, which is given sensitive label values on purpose (what it
//! keeps at rest is the server's business). Each
//! case gets its own `cordium serve`: a sensitive value one case applied would otherwise come back
//! as the live (old) value in the next case's plan, which no config marks sensitive any more.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

use crate::support::{Serve, ADMIN_TOKEN};

/// The secret. Lowercase letters only, so that it is also a valid label key and env var name:
/// the cases that are not refused for other reasons reach the plan.
const SENTINEL: &str = "sentinelzqxkwvj";

/// One directory of files, its environment and flags. `@S@` stands for the sentinel everywhere.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    env: &'static [(&'static str, &'static str)],
    /// Flags for validate, plan and apply (`--var`, `--var-file`, `--env`).
    args: &'static [&'static str],
    /// Whether the config is valid (validate exits 0, plan and apply go through).
    valid: bool,
}

/// Cases that `validate` accepts but `plan` refuses, because only the cluster can tell: a
/// `fromSecret` naming a Secret that exists nowhere is a plan error (the server would refuse the
/// write). They must still leak nothing.
const PLAN_ERRORS: &[&str] = &["env-var-from-an-unknown-secret"];

const PW_NUMBER: &str = "variable \"pw\" {\n  type      = number\n  sensitive = true\n}\n";

/// A variable `pw` of `type` and a Space; `body` goes after.
macro_rules! with_pw {
    ($ty:literal, $body:literal) => {
        concat!(
            "variable \"pw\" {\n  type      = ",
            $ty,
            "\n  sensitive = true\n}\n\nspace \"ml\" {}\n\n",
            $body
        )
    };
}

const CASES: &[Case] = &[
    // ---- A sensitive value that does not fit its type, from each source.
    Case {
        name: "env-not-a-number",
        files: &[("main.hcl", PW_NUMBER)],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "cli-not-a-number",
        files: &[("main.hcl", PW_NUMBER)],
        env: &[],
        args: &["--var", "pw=@S@"],
        valid: false,
    },
    Case {
        name: "env-not-a-bool",
        files: &[("main.hcl", with_pw!("bool", ""))],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "cli-not-an-expression",
        files: &[("main.hcl", with_pw!("list(string)", ""))],
        env: &[],
        args: &["--var", "pw=[\"@S@\""],
        valid: false,
    },
    Case {
        name: "env-reference-in-a-value",
        files: &[("main.hcl", with_pw!("list(string)", ""))],
        env: &[("CORDIUM_VAR_pw", "[var.@S@]")],
        args: &[],
        valid: false,
    },
    Case {
        name: "cli-function-error",
        files: &[("main.hcl", PW_NUMBER)],
        env: &[],
        args: &["--var", "pw=tonumber(\"@S@\")"],
        valid: false,
    },
    Case {
        name: "cli-map-key-does-not-fit",
        files: &[("main.hcl", with_pw!("map(number)", ""))],
        env: &[],
        args: &["--var", "pw={ \"@S@\" = \"x\" }"],
        valid: false,
    },
    Case {
        name: "env-object-extra-attribute",
        files: &[("main.hcl", with_pw!("object({ a = string })", ""))],
        env: &[("CORDIUM_VAR_pw", "{ a = \"x\", @S@ = \"y\" }")],
        args: &[],
        valid: false,
    },
    Case {
        name: "cli-tuple-length",
        files: &[("main.hcl", with_pw!("tuple([string])", ""))],
        env: &[],
        args: &["--var", "pw=[\"@S@\", \"@S@\"]"],
        valid: false,
    },
    // ---- Sensitive defaults.
    Case {
        name: "default-not-a-number",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  type      = number\n  default   = \"@S@\"\n  sensitive = true\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    Case {
        name: "default-list-for-number",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  type = number\n  sensitive = true\n  default = [\"@S@\"]\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    Case {
        name: "default-object-attribute",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  type = object({ a = number })\n  default = { a = \"@S@\" }\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    Case {
        name: "default-map-key",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  type = map(number)\n  default = { \"@S@\" = \"x\" }\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    Case {
        name: "default-function-error",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  default = jsondecode(\"{@S@\")\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    Case {
        name: "default-reference",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  default = \"@S@${var.x}\"\n}\n",
        )],
        env: &[],
        args: &[],
        valid: false,
    },
    // ---- Var files.
    Case {
        name: "varfile-hcl-not-a-number",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.tfvars", "pw = \"@S@\"\n")],
        env: &[],
        args: &["--var-file", "vars/pw.tfvars"],
        valid: false,
    },
    Case {
        name: "varfile-hcl-syntax-error",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.tfvars", "pw = \"@S@\n")],
        env: &[],
        args: &["--var-file", "vars/pw.tfvars"],
        valid: false,
    },
    Case {
        name: "varfile-hcl-reference",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.tfvars", "pw = \"@S@${x}\"\n")],
        env: &[],
        args: &["--var-file", "vars/pw.tfvars"],
        valid: false,
    },
    Case {
        name: "varfile-json-not-a-number",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.json", "{\"pw\": \"@S@\"}\n")],
        env: &[],
        args: &["--var-file", "vars/pw.json"],
        valid: false,
    },
    Case {
        name: "varfile-json-syntax-error",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.json", "{\"pw\": \"@S@\",,}\n")],
        env: &[],
        args: &["--var-file", "vars/pw.json"],
        valid: false,
    },
    Case {
        name: "varfile-yaml-not-a-number",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.yml", "pw: @S@\n")],
        env: &[],
        args: &["--var-file", "vars/pw.yml"],
        valid: false,
    },
    Case {
        name: "varfile-yaml-syntax-error",
        files: &[("main.hcl", PW_NUMBER), ("vars/pw.yml", "pw: [@S@\n")],
        env: &[],
        args: &["--var-file", "vars/pw.yml"],
        valid: false,
    },
    Case {
        name: "varfile-of-the-environment",
        files: &[
            ("main.hcl", PW_NUMBER),
            (
                "cordium.hcl",
                "stack \"s\" {}\nenvironment \"dev\" {\n  local     = \".store/env.db\"\n  var_files = [\"env/dev.tfvars\"]\n}\n",
            ),
            ("env/dev.tfvars", "pw = \"@S@\"\n"),
        ],
        env: &[],
        args: &["--env", "dev"],
        valid: false,
    },
    // ---- Validation rules and conditions.
    Case {
        name: "validation-fails-env",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  validation {\n    condition     = length(var.pw) > 100\n    error_message = \"The password is too short.\"\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "validation-fails-cli",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  validation {\n    condition     = startswith(var.pw, \"x\")\n    error_message = \"It must start with x.\"\n  }\n}\n",
        )],
        env: &[],
        args: &["--var", "pw=@S@"],
        valid: false,
    },
    Case {
        name: "validation-condition-error",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  validation {\n    condition     = var.pw + 1 > 0\n    error_message = \"x\"\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    // ---- Expressions over a sensitive value that fail.
    Case {
        name: "expr-tonumber",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = tonumber(var.pw)\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-jsondecode",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = jsondecode(var.pw)\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "{@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-file",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = file(var.pw)\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "@S@.txt")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-lookup-missing",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = lookup({}, var.pw)\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-conditional-not-bool",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = var.pw ? 1 : 2\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-bad-regex",
        files: &[(
            "main.hcl",
            with_pw!("string", "locals {\n  n = replace(\"abc\", \"/${var.pw}(/\", \"x\")\n}\n"),
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "expr-index-a-string",
        files: &[("main.hcl", with_pw!("string", "locals {\n  n = var.pw[3]\n}\n"))],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    // ---- Where the server needs plain text.
    Case {
        name: "label-key-in-an-object",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { (var.pw) = \"x\" }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "label-key-through-a-local",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nlocals {\n  k = var.pw\n}\nspace \"ml\" {\n  labels = { (local.k) = \"x\" }\n}\n",
        )],
        env: &[],
        args: &["--var", "pw=@S@"],
        valid: false,
    },
    Case {
        name: "label-key-from-a-for",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { for k in [var.pw] : k => \"x\" }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "label-key-from-merge",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = merge({ team = \"a\" }, { (var.pw) = \"b\" })\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "label-keys-of-a-sensitive-map",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  type      = map(string)\n  sensitive = true\n}\nspace \"ml\" {\n  labels = var.pw\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "{ @S@ = \"x\" }")],
        args: &[],
        valid: false,
    },
    Case {
        name: "label-key-base64",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { (lower(base64encode(var.pw))) = \"x\" }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "space-env-var-key",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  runtime {\n    env_vars = [{ key = var.pw, value = \"x\" }]\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "template-env-var-key",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\ntemplate \"gpu\" {\n  space = space.ml\n  image {\n    registry {\n      url = \"python:3.12\"\n    }\n  }\n  runtime {\n    env_vars = [{ key = upper(var.pw), value = \"x\" }]\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "template-env-vars-of-a-sensitive-list",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  type      = any\n  sensitive = true\n}\nspace \"ml\" {}\ntemplate \"gpu\" {\n  space = space.ml\n  image {\n    registry {\n      url = \"python:3.12\"\n    }\n  }\n  runtime {\n    env_vars = var.pw\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "[{ key = \"@S@\", value = \"x\" }]")],
        args: &[],
        valid: false,
    },
    Case {
        name: "template-task-name",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\ntemplate \"gpu\" {\n  space = space.ml\n  image {\n    registry {\n      url = \"python:3.12\"\n    }\n  }\n  runtime {\n    tasks = [{ name = var.pw, type = \"ON_CREATE\", run = \"true\" }]\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "from-env-name",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\nsecret \"wandb\" {\n  space    = space.ml\n  from_env = var.pw\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "from-env-name-interpolated",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\nsecret \"wandb\" {\n  space    = space.ml\n  from_env = \"X_${upper(var.pw)}\"\n}\n",
        )],
        env: &[],
        args: &["--var", "pw=@S@"],
        valid: false,
    },
    Case {
        name: "from-file-path",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\nsecret \"wandb\" {\n  space     = space.ml\n  from_file = var.pw\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@.txt")],
        args: &[],
        valid: false,
    },
    Case {
        name: "template-space-from-a-sensitive-value",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\ntemplate \"gpu\" {\n  space = var.pw\n  image {\n    registry {\n      url = \"python:3.12\"\n    }\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "workspace-template-unknown",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\nworkspace \"box\" {\n  space    = space.ml\n  template = var.pw\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "env-var-from-an-unknown-secret",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {}\ntemplate \"gpu\" {\n  space = space.ml\n  image {\n    registry {\n      url = \"python:3.12\"\n    }\n  }\n  runtime {\n    env_var \"TOKEN\" { from_secret = var.pw }\n  }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: true,
    },
    // ---- Files named by from_file are secrets, never config.
    Case {
        name: "from-file-yaml-that-does-not-parse",
        files: &[
            ("main.hcl", "space \"ml\" {}\nsecret \"wandb\" {\n  space     = space.ml\n  from_file = \"token.yaml\"\n}\n"),
            ("token.yaml", "@S@: [oops\n"),
        ],
        env: &[],
        args: &[],
        valid: true,
    },
    Case {
        name: "from-file-hcl-that-does-not-parse",
        files: &[
            ("main.hcl", "space \"ml\" {}\nsecret \"wandb\" {\n  space     = space.ml\n  from_file = \"secrets/token.hcl\"\n}\n"),
            ("secrets/token.hcl", "@S@ {{\n"),
        ],
        env: &[],
        args: &[],
        valid: true,
    },
    Case {
        name: "from-file-that-looks-like-a-document",
        files: &[
            ("main.hcl", "space \"ml\" {}\nsecret \"wandb\" {\n  space     = space.ml\n  from_file = \"./token.yml\"\n}\n"),
            ("token.yml", "kind: Space\nmetadata:\n  name: @S@\n  nmae: @S@\n"),
        ],
        env: &[],
        args: &[],
        valid: true,
    },
    Case {
        name: "from-file-named-by-a-yaml-secret",
        files: &[
            ("ml.yaml", "kind: Space\nmetadata: {name: ml}\n---\nkind: Secret\nmetadata: {name: wandb.ml}\nfromFile: keys/wandb.yaml\n"),
            ("keys/wandb.yaml", "- @S@\n  bad: [\n"),
        ],
        env: &[],
        args: &[],
        valid: true,
    },
    // ---- Valid uses: the value reaches the plan masked, and apply succeeds.
    Case {
        name: "valid-sensitive-label-value",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { team = var.pw }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: true,
    },
    Case {
        name: "valid-sensitive-env-var-value",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  runtime {\n    env_var \"TOKEN\" { value = var.pw }\n  }\n}\n",
        )],
        env: &[],
        args: &["--var", "pw=@S@"],
        valid: true,
    },
    Case {
        name: "valid-sensitive-default-in-a-description",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n  default   = \"@S@\"\n}\nspace \"ml\" {\n  description = \"for ${var.pw}\"\n}\n",
        )],
        env: &[],
        args: &[],
        valid: true,
    },
    Case {
        name: "invalid-label-value-quoted",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { team = \"${var.pw} !\" }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "invalid-label-value-base64",
        files: &[(
            "main.hcl",
            "variable \"pw\" {\n  sensitive = true\n}\nspace \"ml\" {\n  labels = { team = base64encode(var.pw) }\n}\n",
        )],
        env: &[("CORDIUM_VAR_pw", "@S@")],
        args: &[],
        valid: false,
    },
    Case {
        name: "undeclared-variable-value",
        files: &[("main.hcl", "space \"ml\" {}\n")],
        env: &[("CORDIUM_VAR_other", "@S@")],
        args: &["--var", "pw=@S@"],
        valid: true,
    },
];

/// Every form the sentinel could be written in: plain, upper case (`upper()` of it), hex, and
/// base64 at each of the three alignments (the characters that depend on the sentinel alone).
fn forms() -> Vec<(String, String)> {
    let mut out = vec![
        ("plain".to_string(), SENTINEL.to_string()),
        ("upper".to_string(), SENTINEL.to_uppercase()),
        ("hex".to_string(), hex::encode(SENTINEL)),
        ("HEX".to_string(), hex::encode_upper(SENTINEL)),
    ];
    let b64 = base64::engine::general_purpose::STANDARD;
    for pad in 0..3 {
        let text = format!("{}{SENTINEL}", "\u{1}".repeat(pad));
        let enc = b64.encode(text);
        // The first group may mix in padding bytes; the last may be cut by what follows.
        let core = &enc[4..enc.len() - 4];
        out.push((format!("base64+{pad}"), core.to_string()));
    }
    out
}

fn fill(s: &str) -> String {
    s.replace("@S@", SENTINEL)
}

/// The binary under test: this build's, or `CORDIUM_SECRETS_BIN` (to measure another build,
/// e.g. one from before a fix, with the same corpus).
fn binary() -> PathBuf {
    std::env::var_os("CORDIUM_SECRETS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cordium")))
}

/// Runs the binary in `dir` with the case's environment (and nothing else of ours).
fn run(dir: &Path, case: &Case, args: &[String]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.args(args).current_dir(dir).env("NO_COLOR", "1");
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("CORDIUM_") || k.starts_with("OCTELIUM_") || k == "CI" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN).env("CORDIUM_USERNAME", "admin");
    // The stack of a config without a stack file (docs/stack.md).
    cmd.env("CORDIUM_STACK", "default");
    for (k, v) in case.env {
        cmd.env(k, fill(v));
    }
    cmd.output().expect("cordium runs")
}

/// Every file under `dir`, but the inputs and the local cluster's database.
fn written_files(dir: &Path, inputs: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.retain(|p| {
        // The SQLite files of the local cluster (`.store/*.db`, its journal and WAL); lock files
        // and anything else written beside them are searched.
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let store = [".db", ".db-wal", ".db-shm", ".db-journal"].iter().any(|e| name.ends_with(e));
        !store && !inputs.contains(p)
    });
    out.sort();
    out
}

/// The sentinel forms found in `bytes`.
fn leaks(bytes: &[u8], forms: &[(String, String)]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    forms.iter().filter(|(_, f)| text.contains(f.as_str())).map(|(n, _)| n.clone()).collect()
}

#[derive(Default)]
struct Report {
    runs: usize,
    leaks: Vec<String>,
    failures: Vec<String>,
}

fn run_case(case: &Case, serve_url: &str, forms: &[(String, String)], report: &mut Report) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let mut inputs = Vec::new();
    for (rel, text) in case.files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, fill(text)).expect("write");
        inputs.push(p);
    }
    std::fs::create_dir_all(dir.join(".store")).expect("mkdir");
    let flags: Vec<String> = case.args.iter().map(|a| fill(a)).collect();
    let local = ["--local".to_string(), ".store/l.db".to_string()];
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(tail.iter().cloned())
            .chain(flags.clone())
            .collect()
    };
    let uses_env = flags.iter().any(|f| f == "--env");
    let target: Vec<String> = if uses_env { Vec::new() } else { local.to_vec() };
    let mut runs: Vec<(String, Vec<String>)> = vec![
        ("validate".into(), with(&["validate", "."], &[])),
        ("validate json".into(), with(&["validate", ".", "--format", "json"], &[])),
        ("plan".into(), with(&["plan", "."], &target)),
        ("plan json".into(), with(&["plan", ".", "--output", "json"], &target)),
        ("plan markdown".into(), with(&["plan", ".", "--output", "markdown"], &target)),
        ("plan --out".into(), with(&["plan", ".", "--out", "saved.plan"], &target)),
    ];
    let step = |label: &str, args: &[String], report: &mut Report| -> Output {
        let out = run(dir, case, args);
        report.runs += 1;
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for form in leaks(bytes, forms) {
                report.leaks.push(format!("{}: {label}: {stream} ({form})", case.name));
            }
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(101) || stderr.contains("panicked") {
            report.failures.push(format!("{}: {label}: panicked:\n{stderr}", case.name));
        }
        out
    };
    for (label, args) in runs.drain(..) {
        let out = step(&label, &args, report);
        if label.starts_with("validate") {
            let want = if case.valid { 0 } else { 1 };
            if out.status.code() != Some(want) {
                report.failures.push(format!(
                    "{}: {label}: exit {:?}, expected {want}\n{}{}",
                    case.name,
                    out.status.code(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            if label == "validate json" {
                if let Err(e) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
                    report.failures.push(format!("{}: {label}: not JSON: {e}", case.name));
                }
            }
        }
    }
    if dir.join("saved.plan").is_file() {
        step("show", &["show".into(), "saved.plan".into()], report);
        step(
            "show json",
            &["show".into(), "saved.plan".into(), "--output".into(), "json".into()],
            report,
        );
        // Alone, from `/`: the plan carries its root, target, environment and variables (a
        // sensitive one as a digest); its messages must not quote the value either.
        let plan = dir.join("saved.plan").display().to_string();
        let alone = run(Path::new("/"), case, &["apply".into(), plan]);
        report.runs += 1;
        for (stream, bytes) in [("stdout", &alone.stdout), ("stderr", &alone.stderr)] {
            for form in leaks(bytes, forms) {
                report.leaks.push(format!("{}: apply saved from /: {stream} ({form})", case.name));
            }
        }
        if String::from_utf8_lossy(&alone.stderr).contains("panicked") {
            report.failures.push(format!("{}: apply saved from /: panicked", case.name));
        }
        step("apply saved", &with(&["apply", "saved.plan", "--auto-approve"], &[]), report);
    }
    let applied = step("apply", &with(&["apply", ".", "--auto-approve"], &target), report);
    if case.valid && !PLAN_ERRORS.contains(&case.name) && applied.status.code() != Some(0) {
        report.failures.push(format!(
            "{}: apply: exit {:?}\n{}",
            case.name,
            applied.status.code(),
            String::from_utf8_lossy(&applied.stderr)
        ));
    }
    step(
        "apply json",
        &with(&["apply", ".", "--auto-approve", "--output", "json"], &target),
        report,
    );
    if !uses_env {
        let endpoint = ["--endpoint".to_string(), serve_url.to_string()];
        step("apply serve", &with(&["apply", ".", "--auto-approve"], &endpoint), report);
    }
    for file in written_files(dir, &inputs) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let shown = file.strip_prefix(dir).unwrap_or(&file).display().to_string();
        for form in leaks(&bytes, forms) {
            report.leaks.push(format!("{}: written file {shown} ({form})", case.name));
        }
    }
}

#[test]
#[allow(clippy::print_stderr)] // the corpus's figures, shown with --nocapture
fn no_sentinel_secret_in_any_output_or_written_file() {
    assert!(CASES.len() >= 40, "the corpus has {} cases; at least 40 are promised", CASES.len());
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names are unique");
    let forms = forms();
    let mut report = Report::default();
    for case in CASES {
        // A cluster per case: a value one case applies must not show up as another's old value.
        let serve = Serve::start(&[]);
        run_case(case, &serve.url, &forms, &mut report);
    }
    let mut leaking: Vec<&str> = report.leaks.iter().filter_map(|l| l.split(':').next()).collect();
    leaking.dedup();
    eprintln!(
        "secrets corpus: {} cases, {} runs, {} leaks in {} cases, {} other failures",
        CASES.len(),
        report.runs,
        report.leaks.len(),
        leaking.len(),
        report.failures.len()
    );
    assert!(
        report.leaks.is_empty() && report.failures.is_empty(),
        "{} leaks:\n{}\n\n{} failures:\n{}",
        report.leaks.len(),
        report.leaks.join("\n"),
        report.failures.len(),
        report.failures.join("\n\n")
    );
}
