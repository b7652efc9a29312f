//! `cordium promote --from staging --to production [--record FILE] [DIR]`: plans the `to`
//! environment and says, per object of that plan, whether it gets exactly what the `from`
//! environment ran: the same spec once each environment's values are applied, and for
//! Templates the same snapshot build inputs as a build that succeeded there ("carries over").
//! Everything else in the plan is **untested**.
//!
//! What the `from` environment ran comes from an apply record (`apply --record`, ops/record.rs)
//! when one is given; without one, from the `from` cluster itself: its plan must have no
//! change for an object for that object to count as run there (its spec is then the live one),
//! and a Template's ready build is the build its inputs ran as.
//!
//! Pure comparison on top of two plans; prints nothing. Render: render/promote.rs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::plan::{self as ops_plan, Planned};
use super::record::{self, ApplyRecord, DraftContext};
use super::settings::Request;
use super::OpsError;
use crate::live::auth::Token;
use crate::model::Kind;
use crate::plan::{prebuild, Action, BuildAction};
pub use crate::render::promote::{
    EvidenceDoc, PromoteBuild, PromoteDoc, PromoteObject, PromoteSummary, Verdict,
    PROMOTE_FORMAT_VERSION,
};
use crate::render::PlanDoc;

/// What `promote` was asked.
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    /// The config and its flags; `load.env` is set to each environment in turn, and the target
    /// is each environment's own (flags and `CORDIUM_ENDPOINT`/`OCTELIUM_DOMAIN` are ignored).
    pub plan: Request,
    pub from: String,
    pub to: String,
    /// An apply record of the `from` environment.
    pub record: Option<PathBuf>,
    /// `CORDIUM_RECORD_KEY`: to compare sensitive values with the record's keyed digests.
    pub key: Option<Token>,
}

/// The production plan and the report about it.
pub struct Promotion {
    pub planned: Planned,
    pub report: PromoteDoc,
}

fn env_request(req: &PromoteRequest, env: &str) -> Request {
    let mut r = req.plan.clone();
    r.load.env = Some(env.to_string());
    // Each environment's own target, from the stack file.
    r.target = Default::default();
    r.env.target = Default::default();
    r
}

/// Plans the `to` environment and compares it with what the `from` environment ran.
pub async fn promote(req: &PromoteRequest) -> Result<Promotion, OpsError> {
    let evidence = match &req.record {
        Some(path) => {
            let r = record::read(path)?;
            let shown = path.display().to_string();
            if r.environment.as_deref() != Some(req.from.as_str()) {
                return Err(OpsError::RecordMismatch {
                    record: shown,
                    got: format!("environment `{}`", r.environment.as_deref().unwrap_or("(none)")),
                    want: format!("`{}`", req.from),
                });
            }
            (r, Some(shown))
        }
        None => (from_cluster(req).await?, None),
    };
    let planned = ops_plan::plan(&env_request(req, &req.to)).await?;
    let (evidence, record_path) = evidence;
    if evidence.stack != planned.plan.stack {
        return Err(OpsError::RecordMismatch {
            record: record_path.unwrap_or_else(|| req.from.clone()),
            got: format!("stack `{}`", evidence.stack),
            want: format!("stack `{}`", planned.plan.stack),
        });
    }
    let report = compare(req, &planned, &evidence, record_path);
    Ok(Promotion { planned, report })
}

/// What the `from` cluster runs, as a record: its plan's objects, each `done` only when the
/// plan leaves it as it is, and each Template's ready build when it has the desired inputs.
async fn from_cluster(req: &PromoteRequest) -> Result<ApplyRecord, OpsError> {
    let planned = ops_plan::plan(&env_request(req, &req.from)).await?;
    let cx = DraftContext {
        environment: Some(req.from.clone()),
        auth: &req.plan.env.auth,
        dir: &req.plan.dir,
        key: req.key.as_ref(),
        secrets: req.plan.secrets.as_ref().map(|s| s.0.as_ref()),
    };
    let mut r = record::draft(&planned.plan, &planned.model, cx).into_record();
    for o in &mut r.objects {
        if o.action != Action::NoOp {
            o.status = "not_applied".to_string();
        }
    }
    for b in &mut r.builds {
        if b.action != BuildAction::UpToDate || b.build_id.is_none() {
            b.result = "not_built".to_string();
            b.build_id = None;
        }
    }
    Ok(r)
}

fn compare(
    req: &PromoteRequest,
    planned: &Planned,
    evidence: &ApplyRecord,
    record_path: Option<String>,
) -> PromoteDoc {
    let from = &req.from;
    let by_address: BTreeMap<&str, &record::ObjectDoc> =
        evidence.objects.iter().map(|o| (o.address.as_str(), o)).collect();
    let builds: BTreeMap<&str, &record::BuildRecordDoc> =
        evidence.builds.iter().map(|b| (b.template.as_str(), b)).collect();
    let key_matches = req.key.is_some()
        && evidence.key_id.is_some()
        && evidence.key_id == req.key.as_ref().map(record::key_id);
    let mut summary = PromoteSummary::default();
    let mut objects = Vec::new();
    for c in &planned.plan.changes {
        let address = c.address.to_string();
        let ran = by_address.get(address.as_str()).copied();
        let mut notes = Vec::new();
        let mut differences = Vec::new();
        let mut build = None;
        let (verdict, reason) = match c.action {
            Action::NoOp => (Verdict::Unchanged, format!("no change in {}", req.to)),
            Action::Delete => match ran {
                None => (Verdict::Tested, format!("not in {from} either")),
                Some(o) if o.action == Action::Delete && o.status == "done" => {
                    (Verdict::Tested, format!("deleted in {from} too"))
                }
                Some(_) => (Verdict::Untested, format!("{from} still has it")),
            },
            Action::Create | Action::Update | Action::Replace => {
                let resource = planned.model.get(&c.address);
                let doc = resource.map(|r| record::masked_doc(r, &planned.plan.stack));
                let digest = doc.as_ref().map(record::digest);
                let mut verdict = match ran {
                    None => (Verdict::Untested, format!("never applied in {from}")),
                    Some(o) if o.action == Action::Delete => {
                        (Verdict::Untested, format!("{from} deleted it"))
                    }
                    Some(o) if o.status != "done" => (
                        Verdict::Untested,
                        match o.status.as_str() {
                            "not_applied" => format!("{from} has not applied its config yet"),
                            s => format!("its apply in {from} did not finish ({s})"),
                        },
                    ),
                    Some(o) if o.spec_digest == digest => {
                        (Verdict::Tested, format!("same spec as {from}"))
                    }
                    Some(o) => {
                        differences = match (&o.spec, &doc) {
                            (Some(a), Some(b)) => paths_differing(a, b),
                            _ => Vec::new(),
                        };
                        let shown = if differences.is_empty() {
                            "the spec".to_string()
                        } else {
                            differences.join(", ")
                        };
                        (Verdict::Untested, format!("differs from {from}: {shown}"))
                    }
                };
                if let (Some(r), Some(o)) = (resource, ran) {
                    if key_matches {
                        let mine = record::sensitive_digests(
                            r,
                            &planned.plan.stack,
                            req.key.as_ref(),
                            req.plan.secrets.as_ref().map(|s| s.0.as_ref()),
                        );
                        for (path, d) in &mine {
                            if o.sensitive.get(path).is_some_and(|theirs| theirs != d) {
                                notes.push(format!("sensitive value {path} differs from {from}"));
                            }
                        }
                    } else if !o.sensitive.is_empty() || !r.origin.sensitive.is_empty() {
                        notes.push(
                            "sensitive values not compared (no CORDIUM_RECORD_KEY, or not the \
                             record's key)"
                                .to_string(),
                        );
                    }
                }
                if c.address.kind == Kind::Template {
                    if let Some(b) = template_build(planned, c, resource, ran, &builds, from) {
                        if !b.carries_over && verdict.0 == Verdict::Tested {
                            verdict = (Verdict::Untested, b.reason.clone());
                        }
                        build = Some(b);
                    }
                }
                verdict
            }
        };
        match verdict {
            Verdict::Tested => summary.tested += 1,
            Verdict::Untested => summary.untested += 1,
            Verdict::Unchanged => summary.unchanged += 1,
        }
        objects.push(PromoteObject {
            address,
            action: c.action,
            verdict,
            reason,
            differences,
            build,
            notes,
        });
    }
    PromoteDoc {
        format_version: PROMOTE_FORMAT_VERSION.to_string(),
        stack: planned.plan.stack.clone(),
        from: req.from.clone(),
        to: req.to.clone(),
        evidence: EvidenceDoc {
            source: if record_path.is_some() { "record" } else { "cluster" }.to_string(),
            applied_at: record_path.as_ref().map(|_| evidence.finished_at.clone()),
            record: record_path,
            config_digest: evidence.config_digest.clone(),
            git_commit: evidence.git.as_ref().map(|g| g.commit.clone()),
            success: evidence.success,
        },
        summary,
        objects,
        plan: PlanDoc::from_plan(&planned.plan),
    }
}

/// A Template's build: production's tag against the `from` environment's build.
fn template_build(
    planned: &Planned,
    c: &crate::plan::PlannedChange,
    resource: Option<&crate::model::Resource>,
    ran: Option<&record::ObjectDoc>,
    builds: &BTreeMap<&str, &record::BuildRecordDoc>,
    from: &str,
) -> Option<PromoteBuild> {
    // A Template without a pre-build has no snapshot in either environment: nothing to carry.
    let tag = planned.plan.builds.iter().find(|b| b.template == c.address)?.tag.clone();
    let theirs = builds.get(c.address.to_string().as_str()).copied();
    let from_tag = theirs.map(|b| b.tag.clone());
    let from_build =
        theirs.filter(|b| b.tag == tag && b.result == "succeeded").and_then(|b| b.build_id.clone());
    let (carries_over, reason, differences) = match (theirs, &from_build) {
        (Some(_), Some(id)) => {
            (true, format!("carries over: same inputs as {from} build {id}"), Vec::new())
        }
        (None, _) => (false, format!("no snapshot build of it in {from}"), Vec::new()),
        (Some(b), None) if b.tag == tag => (
            false,
            format!("{from}'s build of these inputs did not succeed ({})", b.result),
            Vec::new(),
        ),
        (Some(_), None) => {
            let mine = resource.map(|r| record::masked_doc(r, &planned.plan.stack));
            let differences: Vec<String> = match (ran.and_then(|o| o.spec.as_ref()), &mine) {
                (Some(a), Some(b)) => paths_differing(a, b)
                    .into_iter()
                    .filter(|p| prebuild::INPUT_PATHS.iter().any(|i| p.starts_with(i)))
                    .collect(),
                _ => Vec::new(),
            };
            let why = if differences.is_empty() {
                "build inputs differ from".to_string()
            } else {
                format!("build inputs differ ({}) from", differences.join(", "))
            };
            (false, format!("{why} {from}'s build"), differences)
        }
    };
    Some(PromoteBuild { tag, from_tag, from_build, carries_over, reason, differences })
}

/// The paths (`spec.image.registry.url`, `spec.vars[0].value`) where two documents differ,
/// in document order.
pub fn paths_differing(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: Option<&Value>, b: Option<&Value>, path: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                let mut keys: Vec<&String> = x.keys().collect();
                keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
                for k in keys {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(x.get(k), y.get(k), &p, out);
                }
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(Some(p), Some(q), &format!("{path}[{i}]"), out);
                }
            }
            (x, y) if x == y => {}
            _ => out.push(path.to_string()),
        }
    }
    let mut out = Vec::new();
    walk(Some(a), Some(b), "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_paths_are_found_at_the_leaves() {
        let a = serde_json::json!({"spec": {"image": "a", "vars": [1, 2], "x": {"y": 1}}});
        let b = serde_json::json!({"spec": {"image": "b", "vars": [1, 3], "x": {"y": 1}, "n": 1}});
        assert_eq!(paths_differing(&a, &b), vec!["spec.image", "spec.vars[1]", "spec.n"]);
        assert!(paths_differing(&a, &a).is_empty());
        let c = serde_json::json!({"spec": {"image": "a", "vars": [1], "x": {"y": 1}}});
        assert_eq!(paths_differing(&a, &c), vec!["spec.vars"]);
    }
}
