//! The plan file: a [`Plan`] as versioned JSON. Written by `plan --out`, read by `apply FILE` and
//! `show FILE`. Holds no secret value: the plan is masked when it is made, and its [`Origin`]
//! keeps a sensitive variable only as a keyed digest.
//!
//! A saved plan is self-contained: its [`Origin`] records what it was made from (the config
//! root, the environment, the target, `--target`/`--exclude`/`--replace`, prune, and every
//! variable), so `cordium apply FILE` from any directory, with no other flag, loads the same
//! config the same way and applies exactly the plan (docs/plan.md, "Saved plans").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::config::{LoadOptions, VarArg, Variable};
use crate::model::Address;

/// Largest plan file read (a plan of thousands of changes is a few MiB).
pub const MAX_PLAN_FILE_BYTES: u64 = 256 << 20;

/// Bumped on any incompatible change to the plan file. 2: the plan records its [`Origin`].
pub const FILE_FORMAT_VERSION: u32 = 2;

/// What a plan was made from, so that applying it needs nothing else.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// The config root, absolute.
    pub config_root: String,
    /// The config root relative to the plan file's folder, when the plan was saved under the
    /// same tree (a checkout moved whole, with its plan, still applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_root_from_plan: Option<String>,
    /// `--env`: the stack file's environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The cluster, as apply connects to it again.
    #[serde(default)]
    pub target: SavedTarget,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<Address>,
    /// `--prune` (or the stack file's `prune`).
    #[serde(default)]
    pub prune: bool,
    /// `plan --destroy`.
    #[serde(default)]
    pub destroy: bool,
    /// `--stack` (or `CORDIUM_STACK`), for a config without a stack file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_flag: Option<String>,
    #[serde(default)]
    pub allow_outside_files: bool,
    /// `--var-file` and `--var`, in the order given; a sensitive variable's `--var` only as its
    /// digest (apply then needs it from `CORDIUM_VAR_<name>` or a var file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<SavedArg>,
    /// Every declared variable's value when the plan was made (a sensitive one as its digest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<SavedVariable>,
    /// The warnings shown when the plan was made (as the JSON plan's `warnings`), so that
    /// `show FILE` shows them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<serde_json::Value>,
    /// The key of the digests (hex, random per plan). Empty when `CORDIUM_PLAN_KEY` keyed them:
    /// then apply needs the same `CORDIUM_PLAN_KEY`.
    #[serde(default)]
    pub digest_key: String,
}

/// How apply reaches the cluster a plan was made against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedTarget {
    /// Not recorded (a plan made by a library caller).
    #[default]
    Unknown,
    /// The embedded local cluster in this store (absolute path).
    Local { path: String },
    /// A cluster over gRPC at this endpoint.
    Endpoint { url: String },
}

/// A `--var-file` or `--var` of the plan's command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedArg {
    VarFile {
        /// Absolute.
        path: String,
    },
    Var {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        /// For a sensitive variable: the keyed digest of the text given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
}

/// A variable's value when the plan was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedVariable {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A sensitive variable: HMAC-SHA256 of its value under the plan's key, never the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// HMAC-SHA256 of a variable's value (its canonical JSON) under `key`, with its name bound in.
pub fn keyed_digest(key: &[u8], name: &str, value: &serde_json::Value) -> String {
    let value = serde_json::to_vec(value).unwrap_or_default();
    super::digest::keyed_hex(key, &[name.as_bytes(), &value])
}

impl Origin {
    /// The variables and var arguments of a load, sensitive ones digested under `key`.
    pub fn record_variables(&mut self, load: &LoadOptions, variables: &[Variable], key: &[u8]) {
        // An undeclared variable's value is kept as a digest too: nothing says it is not a
        // secret given to a misspelt name.
        let sensitive = |name: &str| !variables.iter().any(|v| v.name == name && !v.sensitive);
        self.args = load
            .vars
            .iter()
            .map(|a| match a {
                VarArg::File(p) => SavedArg::VarFile { path: absolute(p).display().to_string() },
                VarArg::Var { name, value } if sensitive(name) => SavedArg::Var {
                    name: name.clone(),
                    value: None,
                    digest: Some(keyed_digest(key, name, &value.clone().into())),
                },
                VarArg::Var { name, value } => {
                    SavedArg::Var { name: name.clone(), value: Some(value.clone()), digest: None }
                }
            })
            .collect();
        self.variables = variables
            .iter()
            .map(|v| SavedVariable {
                name: v.name.clone(),
                value: (!v.sensitive).then(|| v.value.clone()),
                digest: v.sensitive.then(|| keyed_digest(key, &v.name, &v.value)),
            })
            .collect();
    }

    /// The load options that reproduce the plan's variables: its environment and its var
    /// arguments (a sensitive `--var` left out: its value must come from elsewhere), with
    /// `CORDIUM_VAR_*` as the environment has them now.
    pub fn load_options(&self, env_vars: Vec<(String, String)>) -> LoadOptions {
        LoadOptions {
            env: self.environment.clone(),
            env_vars,
            vars: self
                .args
                .iter()
                .filter_map(|a| match a {
                    SavedArg::VarFile { path } => Some(VarArg::File(PathBuf::from(path))),
                    SavedArg::Var { name, value: Some(value), .. } => {
                        Some(VarArg::Var { name: name.clone(), value: value.clone() })
                    }
                    SavedArg::Var { .. } => None,
                })
                .collect(),
            // A plan made under `--strict-kinds` had no foreign document; without it the same
            // files give the same model (foreign documents are only warnings).
            strict_kinds: false,
            allow_outside_files: self.allow_outside_files,
        }
    }

    /// One sentence per variable whose value now differs from the plan's (a sensitive one
    /// named, never shown).
    pub fn variable_differences(&self, now: &[Variable], key: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for saved in &self.variables {
            let Some(current) = now.iter().find(|v| v.name == saved.name) else {
                out.push(format!("variable {} is no longer declared", saved.name));
                continue;
            };
            match (&saved.value, &saved.digest) {
                (_, Some(digest))
                    if keyed_digest(key, &current.name, &current.value) != *digest =>
                {
                    out.push(format!(
                        "sensitive variable {} has another value than when the plan was made \
                         (compared by keyed digest; give it as then, e.g. CORDIUM_VAR_{})",
                        saved.name, saved.name
                    ));
                }
                (_, Some(_)) => {}
                (Some(value), None) if *value != current.value && !current.sensitive => {
                    out.push(format!(
                        "variable {} is {}, and was {} when the plan was made",
                        saved.name, current.value, value
                    ));
                }
                (Some(_), None) if current.sensitive => {
                    out.push(format!("variable {} is sensitive now, and was not", saved.name));
                }
                _ => {}
            }
        }
        for v in now.iter().filter(|v| !self.variables.iter().any(|s| s.name == v.name)) {
            out.push(format!("variable {} was not declared when the plan was made", v.name));
        }
        out
    }

    /// Where the config root is: the recorded absolute root when it is a directory here, else
    /// the root relative to the plan file's folder. `None` when neither is.
    pub fn config_root(&self, plan_file: &Path) -> Option<PathBuf> {
        let abs = PathBuf::from(&self.config_root);
        if !self.config_root.is_empty() && abs.is_dir() {
            return Some(abs);
        }
        let beside = plan_file.parent().unwrap_or(Path::new("."));
        let rel = beside.join(self.config_root_from_plan.as_ref()?);
        rel.is_dir().then_some(rel)
    }

    /// Records where the plan file is going, so the root can be found beside it too.
    pub fn set_plan_file(&mut self, plan_file: &Path) {
        let folder = absolute(plan_file.parent().unwrap_or(Path::new(".")));
        let folder = folder.canonicalize().unwrap_or(folder);
        self.config_root_from_plan =
            relative_path(&folder, Path::new(&self.config_root)).map(|p| p.display().to_string());
    }
}

/// `path` made absolute against the working directory (not resolved: symlinks stay).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
}

/// `to` relative to the folder `from` (both absolute), with `..` where needed.
fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    use std::path::Component;
    if !from.is_absolute() || !to.is_absolute() {
        return None;
    }
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}")]
    Read {
        path: String,
        #[source]
        source: crate::config::read::ReadError,
    },
    #[error("cannot write plan file {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a cordium plan file")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{path} has plan format {found}, written by a newer cordium; this cordium reads format \
         {FILE_FORMAT_VERSION}: upgrade cordium, or plan again with this one"
    )]
    Newer { path: String, found: u64 },
    #[error(
        "{path} has plan format {found}, written by an older cordium; this cordium reads format \
         {FILE_FORMAT_VERSION}: plan again"
    )]
    Older { path: String, found: u64 },
}

pub fn write(plan: &Plan, path: &Path) -> Result<(), PlanFileError> {
    let mut plan = plan.clone();
    plan.origin.set_plan_file(path);
    let text = serde_json::to_string_pretty(&plan)
        .map_err(|source| PlanFileError::Parse { path: path.display().to_string(), source })?;
    std::fs::write(path, text + "\n")
        .map_err(|source| PlanFileError::Write { path: path.display().to_string(), source })
}

pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    let p = path.display().to_string();
    let text = crate::config::read::regular_text(path, MAX_PLAN_FILE_BYTES)
        .map_err(|source| PlanFileError::Read { path: p.clone(), source })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|source| PlanFileError::Parse { path: p.clone(), source })?;
    let found = value.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(0);
    match found.cmp(&u64::from(FILE_FORMAT_VERSION)) {
        std::cmp::Ordering::Greater => return Err(PlanFileError::Newer { path: p, found }),
        std::cmp::Ordering::Less => return Err(PlanFileError::Older { path: p, found }),
        std::cmp::Ordering::Equal => {}
    }
    serde_json::from_value(value).map_err(|source| PlanFileError::Parse { path: p, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str, sensitive: bool) -> Variable {
        Variable { name: name.into(), value: value.into(), sensitive }
    }

    #[test]
    fn a_sensitive_variable_is_kept_as_a_keyed_digest_and_its_change_is_named() {
        let key = [7u8; 32];
        let mut o = Origin::default();
        let load = LoadOptions {
            vars: vec![VarArg::Var { name: "pw".into(), value: "hunter22".into() }],
            ..LoadOptions::default()
        };
        o.record_variables(&load, &[var("pw", "hunter22", true), var("br", "main", false)], &key);
        let text = serde_json::to_string(&o).expect("json");
        assert!(!text.contains("hunter22"), "{text}");
        assert!(text.contains("main"));
        assert!(o.load_options(vec![]).vars.is_empty(), "a sensitive --var is not replayed");
        let same = [var("pw", "hunter22", true), var("br", "main", false)];
        assert!(o.variable_differences(&same, &key).is_empty());
        let changed = [var("pw", "hunter23", true), var("br", "dev", false)];
        let d = o.variable_differences(&changed, &key);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("sensitive variable pw") && !d[0].contains("hunter"), "{d:?}");
        assert!(d[1].contains("\"dev\"") && d[1].contains("\"main\""), "{d:?}");
        // Another key gives another digest: the digest depends on the key.
        assert!(!o.variable_differences(&same, &[8u8; 32]).is_empty());
    }

    #[test]
    fn the_root_is_found_beside_the_plan_when_the_tree_moved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repo/config");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("repo/out")).expect("mkdir");
        let mut o = Origin {
            config_root: root.canonicalize().expect("root").display().to_string(),
            ..Origin::default()
        };
        o.set_plan_file(&dir.path().canonicalize().expect("dir").join("repo/out/p.plan"));
        assert_eq!(o.config_root_from_plan.as_deref(), Some("../config"));
        o.config_root = "/no/such/root".into();
        let found = o.config_root(&dir.path().join("repo/out/p.plan")).expect("found");
        assert!(found.ends_with("out/../config"), "{found:?}");
    }

    #[test]
    fn other_format_versions_are_refused_with_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("p.plan");
        std::fs::write(&f, r#"{"format_version": 99}"#).expect("write");
        let e = read(&f).expect_err("newer");
        assert!(e.to_string().contains("newer cordium"), "{e}");
        std::fs::write(&f, r#"{"format_version": 1}"#).expect("write");
        let e = read(&f).expect_err("older");
        assert!(e.to_string().contains("plan again"), "{e}");
    }
}
