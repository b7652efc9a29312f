//! Apply records (`cordium apply --record FILE`): what one apply ran, as evidence for
//! `cordium promote`. A record names the stack, environment, target and identity, the config
//! digest and the git commit, and for every object of the plan its action, how its step ended
//! and the digest of the spec cordium applied (the config after environment values, masked);
//! for every Template its snapshot build: the input tag, what apply did and how it ended, and
//! the id of the build of that tag that is ready on the cluster afterwards.
//!
//! No secret value is written. Sensitive values (from `sensitive` variables, and Secret values)
//! appear only as keyed digests: HMAC-SHA256 under a key that is not in the file
//! (`CORDIUM_RECORD_KEY`, which CI keeps as a secret and gives to both environments' jobs), so
//! that two records made with the same key can be compared ("production gets the same value as
//! staging") while a reader of one record cannot test a guessed value. Without a key the
//! sensitive digests are left out (`key_id` is null). See docs/promotion.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::OpsError;
use crate::apply::{ApplyOutcome, SecretValues};
use crate::live::auth::{AuthEnv, Token};
use crate::live::convert::{BuildState, Naming};
use crate::live::{state, Cluster};
use crate::model::{Address, Body, Model};
use crate::plan::{BuildAction, Plan, StepKind, MASK};

/// Version of the record format (semver, as the JSON plan's).
pub const RECORD_FORMAT_VERSION: &str = "1.0";

/// What `--record` asks for.
#[derive(Clone)]
pub struct RecordRequest {
    /// Where the record is written (replaced).
    pub path: PathBuf,
    /// `CORDIUM_RECORD_KEY`: the HMAC key of sensitive digests; never written.
    pub key: Option<Token>,
}

impl std::fmt::Debug for RecordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordRequest").field("path", &self.path).finish_non_exhaustive()
    }
}

/// One apply, as evidence (`schemas/record.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyRecord {
    pub format_version: String,
    pub tool_version: String,
    pub stack: String,
    /// The `--env` the apply ran with (null: none).
    pub environment: Option<String>,
    /// The cluster, in display form (never a token).
    pub target: String,
    pub identity: IdentityDoc,
    /// The plan's config digest (SHA-256 of the configuration, sensitive values masked).
    pub config_digest: String,
    /// The git commit of the config directory, when it is in a repository.
    pub git: Option<GitDoc>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    /// Every step done, not interrupted, the lock held (an apply with nothing to do succeeds).
    pub success: bool,
    /// Which key the sensitive digests are keyed with: the first 16 hex digits of SHA-256 of
    /// `cordium-record-key-id` and the key (null: no key, no sensitive digests).
    pub key_id: Option<String>,
    /// Every object of the plan (no-ops included), in address order.
    pub objects: Vec<ObjectDoc>,
    /// Every Template's snapshot build decision and result.
    pub builds: Vec<BuildRecordDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IdentityDoc {
    /// The caller's username on the cluster.
    pub username: String,
    /// How the run authenticated: `assertion`, `auth-token`, `access-token` or `none`.
    pub credentials: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GitDoc {
    /// The commit HEAD points at (40 hex digits).
    pub commit: String,
    /// The branch HEAD names (null: a detached HEAD).
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectDoc {
    pub address: String,
    /// `create`, `update`, `replace`, `delete` or `no-op`.
    pub action: crate::plan::Action,
    /// `done` (every step of it done; a no-op is done), `failed`, `skipped`, `not_started`.
    pub status: String,
    /// SHA-256 of the spec cordium applied (the desired document after environment values,
    /// sensitive values masked), as `sha256:HEX`; null for a delete.
    pub spec_digest: Option<String>,
    /// That document itself, sensitive values masked: what `promote` compares field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// Keyed digests of the sensitive values, by path (`value` for a Secret's value), as
    /// `hmac-sha256:HEX`. Empty without a key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sensitive: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BuildRecordDoc {
    pub template: String,
    /// The input-hash tag (the same inputs give the same tag).
    pub tag: String,
    /// What the plan decided: `build`, `wait` or `up-to-date`.
    pub action: BuildAction,
    /// `succeeded` (the build step finished, or none was needed), `failed`, `skipped`,
    /// `not_started`.
    pub result: String,
    /// The ready build carrying the tag after the apply (null: none is ready).
    pub build_id: Option<String>,
}

/// What is known of an apply before it runs: the plan's objects and digests.
pub struct Draft {
    record: ApplyRecord,
}

/// The SHA-256 of a JSON value as `sha256:HEX` (serde_json keeps insertion order, and desired
/// documents are built deterministically).
pub fn digest(doc: &Value) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(serde_json::to_vec(doc).unwrap_or_default())))
}

/// The desired document of a resource with its sensitive values masked, and its digest.
pub fn masked_doc(r: &crate::model::Resource, stack: &str) -> Value {
    let mut doc = crate::diff::desired_doc(r, stack);
    for path in &r.origin.sensitive {
        crate::config::tree::mask_path(&mut doc, path, MASK);
    }
    doc
}

/// The key's id as records carry it (never the key).
pub fn key_id(key: &Token) -> String {
    let mut h = Sha256::new();
    h.update(b"cordium-record-key-id\0");
    h.update(key.expose().as_bytes());
    hex::encode(h.finalize())[..16].to_string()
}

fn keyed(key: &Token, address: &Address, path: &str, value: &[u8]) -> String {
    let address = address.to_string();
    let parts: [&[u8]; 3] = [address.as_bytes(), path.as_bytes(), value];
    format!("hmac-sha256:{}", crate::plan::digest::keyed_hex(key.expose().as_bytes(), &parts))
}

/// Keyed digests of a resource's sensitive values (and a Secret's value, read through
/// `secrets`; an unreadable value is left out).
pub fn sensitive_digests(
    r: &crate::model::Resource,
    stack: &str,
    key: Option<&Token>,
    secrets: Option<&dyn SecretValues>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(key) = key else { return out };
    let doc = crate::diff::desired_doc(r, stack);
    for path in &r.origin.sensitive {
        let mut node = &doc;
        for seg in crate::config::tree::parse_path(path) {
            let next = match seg {
                crate::config::tree::PathSeg::Key(k) => node.get(&k),
                crate::config::tree::PathSeg::Index(i) => node.get(i),
            };
            node = next.unwrap_or(&Value::Null);
        }
        let bytes = serde_json::to_vec(node).unwrap_or_default();
        out.insert(path.clone(), keyed(key, &r.address, path, &bytes));
    }
    if let (Body::Secret { source }, Some(secrets)) = (&r.body, secrets) {
        if let Ok(v) = secrets.read(&r.address, source) {
            out.insert("value".to_string(), keyed(key, &r.address, "value", v.as_bytes()));
        }
    }
    out
}

/// How the run authenticated, in one word.
pub fn credentials_kind(auth: &AuthEnv) -> &'static str {
    if auth.assertion.is_some() {
        return "assertion";
    }
    match crate::live::auth::Credentials::from_env(auth) {
        crate::live::auth::Credentials::None => "none",
        crate::live::auth::Credentials::AuthToken(_) => "auth-token",
        _ => "access-token",
    }
}

/// Context of a draft: who, where, with what key.
pub struct DraftContext<'a> {
    pub environment: Option<String>,
    pub auth: &'a AuthEnv,
    pub dir: &'a Path,
    pub key: Option<&'a Token>,
    pub secrets: Option<&'a dyn SecretValues>,
}

/// The record of `plan` before it is applied.
pub fn draft(plan: &Plan, model: &Model, cx: DraftContext<'_>) -> Draft {
    let objects = plan
        .changes
        .iter()
        .map(|c| {
            let resource =
                model.get(&c.address).filter(|_| c.action != crate::plan::Action::Delete);
            let spec = resource.map(|r| masked_doc(r, &plan.stack));
            ObjectDoc {
                address: c.address.to_string(),
                action: c.action,
                status: "done".to_string(),
                spec_digest: spec.as_ref().map(digest),
                spec,
                sensitive: resource
                    .map(|r| sensitive_digests(r, &plan.stack, cx.key, cx.secrets))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let builds = plan
        .builds
        .iter()
        .map(|b| BuildRecordDoc {
            template: b.template.to_string(),
            tag: b.tag.clone(),
            action: b.action,
            result: "succeeded".to_string(),
            build_id: (b.action == BuildAction::UpToDate).then(|| b.build_id.clone()).flatten(),
        })
        .collect();
    let now = now_rfc3339();
    Draft {
        record: ApplyRecord {
            format_version: RECORD_FORMAT_VERSION.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: plan.stack.clone(),
            environment: cx.environment,
            target: plan.target.display.clone(),
            identity: IdentityDoc {
                username: plan.target.username.clone(),
                credentials: credentials_kind(cx.auth).to_string(),
            },
            config_digest: plan.config_digest.clone(),
            git: git_commit(cx.dir),
            started_at: now.clone(),
            finished_at: now,
            success: true,
            key_id: cx.key.map(key_id),
            objects,
            builds,
        },
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Draft {
    /// The record as drafted (every object `done`, every build `succeeded`).
    pub fn into_record(self) -> ApplyRecord {
        self.record
    }

    /// The record once the apply ran (`None`: it had nothing to do): each object's and build's
    /// result from the outcome, and the ready build of each Template's tag read back from the
    /// cluster.
    pub async fn finish(
        mut self,
        outcome: Option<&ApplyOutcome>,
        cluster: &Arc<dyn Cluster>,
        model: &Model,
        naming: &Naming,
    ) -> ApplyRecord {
        let r = &mut self.record;
        r.finished_at = now_rfc3339();
        if let Some(outcome) = outcome {
            r.success = outcome.success();
            let mut worst: BTreeMap<(String, bool), &'static str> = BTreeMap::new();
            for s in &outcome.steps {
                let build = matches!(s.step.kind, StepKind::Build | StepKind::WaitBuild);
                let key = (s.step.address.to_string(), build);
                let status = s.status.name();
                let rank = |n: &str| match n {
                    "done" => 0,
                    "not_started" => 1,
                    "skipped" => 2,
                    _ => 3,
                };
                let e = worst.entry(key).or_insert("done");
                if rank(status) > rank(e) {
                    *e = status;
                }
            }
            for o in &mut r.objects {
                if let Some(s) = worst.get(&(o.address.clone(), false)) {
                    o.status = (*s).to_string();
                }
            }
            for b in &mut r.builds {
                if let Some(s) = worst.get(&(b.template.clone(), true)) {
                    b.result = if *s == "done" { "succeeded" } else { s }.to_string();
                }
            }
        }
        // The ready build of each tag, read back.
        if !r.builds.is_empty() {
            let read = state::ReadOptions { prune: false };
            if let Ok(live) = state::read_with(cluster, model, naming, &r.stack, read).await {
                for b in &mut r.builds {
                    let info = live
                        .objects
                        .iter()
                        .filter(|l| l.address.to_string() == b.template)
                        .find_map(|l| l.build_info.as_ref());
                    let Some(info) = info else { continue };
                    let ready = info
                        .builds
                        .iter()
                        .find(|x| x.state == BuildState::Ready && x.tags.contains(&b.tag));
                    b.build_id = ready.map(|x| x.id.clone());
                    if b.result == "succeeded" && b.build_id.is_none() {
                        b.result = "failed".to_string();
                    }
                }
            }
        }
        self.record
    }
}

/// Writes a record (pretty JSON, trailing newline), replacing the file.
pub fn write(record: &ApplyRecord, path: &Path) -> Result<(), OpsError> {
    let mut text = serde_json::to_string_pretty(record).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|e| OpsError::Record { path: path.display().to_string(), message: e.to_string() })
}

/// Reads a record written by [`write`].
pub fn read(path: &Path) -> Result<ApplyRecord, OpsError> {
    let bad = |message: String| OpsError::Record { path: path.display().to_string(), message };
    let text = crate::config::read::regular_text(path, 64 << 20).map_err(|e| bad(e.to_string()))?;
    let record: ApplyRecord =
        serde_json::from_str(&text).map_err(|e| bad(format!("not an apply record: {e}")))?;
    if !record.format_version.starts_with("1.") {
        return Err(bad(format!(
            "record format {} is not one this cordium reads (1.x)",
            record.format_version
        )));
    }
    Ok(record)
}

/// The JSON Schema of [`ApplyRecord`] (`schemas/record.v1.json`).
pub fn schema() -> Value {
    schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<ApplyRecord>()
        .to_value()
}

/// The commit HEAD of the repository holding `dir` points at, read from `.git` itself (no git
/// binary): `HEAD`, then the loose ref or `packed-refs`; a worktree's `.git` file
/// (`gitdir: ...`) and its `commondir` are followed. `None` outside a repository or when HEAD
/// cannot be resolved. Whether the work tree is dirty is not known from this.
pub fn git_commit(dir: &Path) -> Option<GitDoc> {
    let start = dir.canonicalize().ok()?;
    let mut at = Some(start.as_path());
    let git = loop {
        let d = at?;
        let candidate = d.join(".git");
        if candidate.exists() {
            break candidate;
        }
        at = d.parent();
    };
    let small = |p: &Path| crate::config::read::regular_text(p, 1 << 20).ok();
    let git_dir = if git.is_file() {
        let text = small(&git)?;
        let target = text.trim().strip_prefix("gitdir:")?.trim().to_string();
        let p = PathBuf::from(target);
        if p.is_absolute() {
            p
        } else {
            git.parent()?.join(p)
        }
    } else {
        git
    };
    let common = match small(&git_dir.join("commondir")) {
        Some(c) => {
            let p = PathBuf::from(c.trim());
            if p.is_absolute() {
                p
            } else {
                git_dir.join(p)
            }
        }
        None => git_dir.clone(),
    };
    let head = small(&git_dir.join("HEAD"))?;
    let head = head.trim();
    let is_commit = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| GitDoc { commit: head.to_string(), branch: None });
    };
    if name.contains("..") {
        return None;
    }
    let branch = name.strip_prefix("refs/heads/").map(str::to_string);
    for base in [&git_dir, &common] {
        if let Some(c) = small(&base.join(name)) {
            let c = c.trim();
            if is_commit(c) {
                return Some(GitDoc { commit: c.to_string(), branch });
            }
        }
    }
    let packed = small(&common.join("packed-refs"))?;
    packed.lines().find_map(|l| {
        let (commit, r) = l.split_once(' ')?;
        (r.trim() == name && is_commit(commit))
            .then(|| GitDoc { commit: commit.to_string(), branch: branch.clone() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_digests_depend_on_the_key_and_never_show_the_value() {
        let a: Address = "secret.ml.token".parse().expect("address");
        let k1 = Token::new("key-one");
        let k2 = Token::new("key-two");
        let d1 = keyed(&k1, &a, "value", b"hunter2");
        assert_eq!(d1, keyed(&k1, &a, "value", b"hunter2"));
        assert_ne!(d1, keyed(&k2, &a, "value", b"hunter2"));
        assert_ne!(d1, keyed(&k1, &a, "value", b"hunter3"));
        assert!(!d1.contains("hunter2"));
        assert_eq!(key_id(&k1).len(), 16);
        assert!(!key_id(&k1).contains("key-one"));
    }

    #[test]
    fn git_commit_reads_loose_and_packed_refs_and_worktrees() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let c1 = "1111111111111111111111111111111111111111";
        let c2 = "2222222222222222222222222222222222222222";
        std::fs::create_dir_all(root.join("repo/.git/refs/heads")).expect("mkdir");
        std::fs::create_dir_all(root.join("repo/config/sub")).expect("mkdir");
        std::fs::write(root.join("repo/.git/HEAD"), "ref: refs/heads/main\n").expect("w");
        std::fs::write(root.join("repo/.git/refs/heads/main"), format!("{c1}\n")).expect("w");
        let g = git_commit(&root.join("repo/config/sub")).expect("found");
        assert_eq!(g, GitDoc { commit: c1.into(), branch: Some("main".into()) });
        // Packed.
        std::fs::remove_file(root.join("repo/.git/refs/heads/main")).expect("rm");
        std::fs::write(
            root.join("repo/.git/packed-refs"),
            format!("# pack-refs with: peeled\n{c2} refs/heads/main\n"),
        )
        .expect("w");
        assert_eq!(git_commit(&root.join("repo")).map(|g| g.commit), Some(c2.to_string()));
        // A worktree: `.git` is a file; its refs are in the common dir.
        std::fs::create_dir_all(root.join("repo/.git/worktrees/wt")).expect("mkdir");
        std::fs::write(root.join("repo/.git/worktrees/wt/HEAD"), "ref: refs/heads/main\n")
            .expect("w");
        std::fs::write(root.join("repo/.git/worktrees/wt/commondir"), "../..\n").expect("w");
        std::fs::create_dir_all(root.join("wt")).expect("mkdir");
        std::fs::write(
            root.join("wt/.git"),
            format!("gitdir: {}\n", root.join("repo/.git/worktrees/wt").display()),
        )
        .expect("w");
        assert_eq!(git_commit(&root.join("wt")).map(|g| g.commit), Some(c2.to_string()));
        // Detached.
        std::fs::write(root.join("repo/.git/HEAD"), format!("{c1}\n")).expect("w");
        assert_eq!(
            git_commit(&root.join("repo")),
            Some(GitDoc { commit: c1.into(), branch: None })
        );
    }
}
