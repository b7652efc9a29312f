//! `cordium drift`: a refresh-only comparison. Reads the live state of the stack and reports,
//! without planning anything to change: objects changed outside cordium since it last applied
//! them (field by field, masked as in a plan), managed objects deleted out of band, and objects
//! in the stack's Spaces that no stack manages. What cordium last applied is the digest apply
//! records on each object (docs/drift.md); an object applied before digests were recorded is
//! compared with the configuration and reported as such.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{prepare, Prepared};
use super::settings::Request;
use super::OpsError;
use crate::config::Loaded;
use crate::diag::Diagnostics;
use crate::diff::{self, Action, ChangedBy, DiffOptions, LiveDoc};
use crate::live::convert::Naming;
use crate::live::state::{self, LiveState};
use crate::model::{Address, Kind};
use crate::plan::{self, PlanInputs};
use crate::render::drift::{DriftField, DriftKind, DriftReport, Drifted, DRIFT_FORMAT_VERSION};

/// The drift report and what the person should see besides it.
pub struct Drift {
    pub report: DriftReport,
    pub warnings: Diagnostics,
    pub loaded: Loaded,
}

/// The live state of a prepared target read for a config, with its model qualified to the
/// stored names the server resolves: what drift, status and import start from.
pub(crate) struct Observed {
    pub prepared: Prepared,
    pub naming: Naming,
    pub username: String,
    pub live: LiveState,
    pub docs: Vec<LiveDoc>,
}

/// Reads the live state of the stack a prepared config describes.
pub(crate) async fn observe(prepared: Prepared) -> Result<Observed, OpsError> {
    let identity = prepared.cluster.identity().await?;
    let naming = Naming::for_model(identity.username.clone(), &prepared.model);
    let live =
        state::read(&prepared.cluster, &prepared.model, &naming, &prepared.settings.stack).await?;
    let mut prepared = prepared;
    let space_stored = |s: &str| naming.space_name(s);
    crate::model::qualify::references(&mut prepared.model, &space_stored);
    let docs: Vec<LiveDoc> = live.objects.iter().map(LiveDoc::from_live).collect();
    Ok(Observed { prepared, naming, username: identity.username, live, docs })
}

/// Runs `drift` for a config directory.
pub async fn drift(req: &Request) -> Result<Drift, OpsError> {
    let observed = observe(prepare(req).await?).await?;
    let report = report(&observed);
    let Observed { prepared, .. } = observed;
    match report {
        Ok(report) => Ok(Drift { report, warnings: prepared.warnings, loaded: prepared.loaded }),
        Err(problems) => {
            let mut diags = prepared.warnings;
            problems.into_iter().for_each(|p| diags.push(p));
            diags.sort();
            Err(OpsError::Invalid { diags, loaded: Box::new(prepared.loaded) })
        }
    }
}

fn report(o: &Observed) -> Result<DriftReport, Vec<crate::diag::Diagnostic>> {
    let stack = o.prepared.settings.stack.clone();
    let model = &o.prepared.model;
    let mut d = diff::diff(model, &o.docs, &DiffOptions { stack: stack.clone(), prune: false });
    let mut drifted = Vec::new();
    // A declared resource whose live object is not ours is not a plan problem here: it is an
    // unmanaged object, reported as found. Anything else (an ambiguous match) stops.
    let problems = std::mem::take(&mut d.problems);
    let (unmanaged, other): (Vec<_>, Vec<_>) =
        problems.into_iter().partition(|p| p.code == "unmanaged-object");
    if !other.is_empty() {
        return Err(other);
    }
    let foreign: BTreeSet<String> = unmanaged.iter().filter_map(|p| p.address.clone()).collect();
    for p in &unmanaged {
        let Some(address) = p.address.as_ref() else { continue };
        let kind = address.split('.').next().unwrap_or_default().to_string();
        drifted.push(Drifted {
            address: address.clone(),
            kind,
            drift: DriftKind::Unmanaged,
            reason: p.message.clone(),
            live_name: None,
            fields: Vec::new(),
        });
    }
    // Who changed each compared object, by address (before the plan masks the changes).
    let by: BTreeMap<Address, Option<ChangedBy>> =
        d.changes.iter().map(|c| (c.address.clone(), c.changed_by)).collect();
    let inputs = PlanInputs {
        stack: stack.clone(),
        children: o.live.children.clone(),
        ..PlanInputs::default()
    };
    // Masked exactly as a plan is; its problems (prevent_destroy, ...) are the plan's business.
    let (plan, _) = plan::make(model, d, inputs);
    let ours: BTreeSet<&str> = o
        .live
        .objects
        .iter()
        .filter(|l| l.stack() == Some(stack.as_str()))
        .map(|l| l.wire_name.as_str())
        .collect();
    let our_spaces: BTreeSet<&str> = o
        .live
        .objects
        .iter()
        .filter(|l| l.kind == Kind::Space && l.stack() == Some(stack.as_str()))
        .map(|l| l.wire_name.as_str())
        .collect();
    let stack_applied = !ours.is_empty();
    let dangling = dangling_records(o, &stack);
    let mut config_changes = Vec::new();
    for c in &plan.changes {
        let address = c.address.to_string();
        let kind = c.address.kind.to_string();
        let live_name = c.live.as_ref().map(|l| l.name.clone());
        let fields: Vec<DriftField> = c.fields.iter().map(DriftField::from).collect();
        match c.action {
            Action::NoOp | Action::Delete => {}
            Action::Create => {
                // Declared and absent: deleted out of band when the stack was applied and its
                // Space is there (else it is new, or the Space's own deletion is the finding).
                let space_there = match c.address.space_address() {
                    Some(space) if c.address.kind != Kind::Space => {
                        our_spaces.contains(o.naming.space_name(&space.name).as_str())
                    }
                    _ => true,
                };
                if !stack_applied || !space_there {
                    continue;
                }
                let recorded = c.address.kind == Kind::Workspace
                    && c.address
                        .space
                        .as_ref()
                        .is_some_and(|s| dangling.contains(&o.naming.space_name(s)));
                let reason = if recorded {
                    "not on the cluster: a Workspace its Space's ownership record names is gone \
                     (deleted outside cordium)"
                        .to_string()
                } else if c.address.kind.server_named() {
                    "declared, but not on the cluster: deleted outside cordium, or not applied yet"
                        .to_string()
                } else {
                    format!(
                        "declared, but `{}` is not on the cluster: deleted outside cordium, or not \
                         applied yet",
                        o.naming.stored_name(&c.address).unwrap_or_default()
                    )
                };
                drifted.push(Drifted {
                    address,
                    kind,
                    drift: DriftKind::Deleted,
                    reason,
                    live_name: None,
                    fields: Vec::new(),
                });
            }
            Action::Update | Action::Replace => match by.get(&c.address).copied().flatten() {
                Some(ChangedBy::Config) => config_changes.push(address),
                Some(by) => drifted.push(Drifted {
                    address,
                    kind,
                    drift: DriftKind::Changed,
                    reason: format!("{} ({} field(s))", by.describe(), fields.len()),
                    live_name,
                    fields,
                }),
                None => drifted.push(Drifted {
                    address,
                    kind,
                    drift: DriftKind::Unrecorded,
                    reason: format!(
                        "{} field(s) differ from the config; it carries no record of what cordium \
                         last applied (applied by an older cordium), so the cause is unknown",
                        fields.len()
                    ),
                    live_name,
                    fields,
                }),
            },
        }
    }
    // Objects in the stack's Spaces that no stack manages.
    let declared_names: BTreeSet<String> =
        model.resources.iter().filter_map(|r| o.naming.stored_name(&r.address)).collect();
    for (space, children) in &o.live.children {
        if !our_spaces.contains(space.as_str()) {
            continue;
        }
        for child in children.iter().filter(|c| !c.system) {
            let name = child.wire_name.as_str();
            if ours.contains(name)
                || declared_names.contains(name)
                || foreign.contains(&child.address.to_string())
                || is_lock(child)
            {
                continue;
            }
            // Another stack's object is managed; only cordium-less objects are reported.
            let labelled = o
                .live
                .objects
                .iter()
                .any(|l| l.wire_name == name && l.stack().is_some_and(|s| s != stack));
            if labelled {
                continue;
            }
            drifted.push(Drifted {
                address: child.address.to_string(),
                kind: child.kind.to_string(),
                drift: DriftKind::Unmanaged,
                reason: format!("in the stack's Space `{space}`, but managed by no stack"),
                live_name: Some(name.to_string()),
                fields: Vec::new(),
            });
        }
    }
    drifted.sort_by(|a, b| (&a.address, &a.live_name).cmp(&(&b.address, &b.live_name)));
    let target = o.prepared.settings.target.display();
    Ok(DriftReport {
        format_version: DRIFT_FORMAT_VERSION.to_string(),
        stack,
        target,
        username: o.username.clone(),
        checked: model.resources.len(),
        has_drift: !drifted.is_empty(),
        drifted,
        config_changes,
    })
}

/// The apply lock's Template is cordium's own, and the Space's `default` Template the
/// server's (it comes with every Space).
fn is_lock(child: &state::LiveChild) -> bool {
    child.kind == Kind::Template
        && (child.wire_name.starts_with(state::APPLY_LOCK_PREFIX)
            || child.address.name == crate::live::convert::DEFAULT_TEMPLATE)
}

/// Stored names of the stack's Spaces whose Workspace ownership record names a Workspace that
/// is not on the cluster (deleted out of band: apply removes the entry when it deletes one).
fn dangling_records(o: &Observed, stack: &str) -> BTreeSet<String> {
    use crate::live::record;
    let live_keys: BTreeSet<String> = o
        .live
        .objects
        .iter()
        .filter(|l| l.kind == Kind::Workspace)
        .filter_map(|l| record::key(&l.uid))
        .collect();
    o.live
        .objects
        .iter()
        .filter(|l| l.kind == Kind::Space)
        .filter(|s| {
            s.metadata.annotations.iter().any(|(k, v)| {
                record::is_record_key(k)
                    && record::parse(v) == (stack, false)
                    && !live_keys.contains(k)
            })
        })
        .map(|s| s.wire_name.clone())
        .collect()
}
