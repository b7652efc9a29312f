//! `cordium status`: what the stack manages on the cluster, one row per object: its kind,
//! address, live name, state (a Workspace's run state; a Template's last snapshot build and
//! whether the snapshot is ready) and when cordium last applied it. Reads only.

use std::time::{Duration, SystemTime};

use super::drift::{observe, Observed};
use super::plan::prepare;
use super::settings::Request;
use super::OpsError;
use crate::live::convert::{BuildState, LiveResource};
use crate::model::{Kind, APPLIED_ANNOTATION};
use crate::render::status::{BuildStatus, StatusDoc, StatusRow, STATUS_FORMAT_VERSION};

/// Runs `status` for a config directory.
pub async fn status(req: &Request) -> Result<StatusDoc, OpsError> {
    let o = observe(prepare(req).await?).await?;
    Ok(doc(&o))
}

fn doc(o: &Observed) -> StatusDoc {
    let stack = o.prepared.settings.stack.as_str();
    let mut objects: Vec<StatusRow> =
        o.live.objects.iter().filter(|l| l.stack() == Some(stack) && !l.system).map(row).collect();
    // Declared and missing: the stack would manage them, and they are not there.
    for r in &o.prepared.model.resources {
        let there = o.live.objects.iter().any(|l| {
            l.address == r.address
                && (r.kind().server_named()
                    || o.naming.stored_name(&r.address).as_deref() == Some(l.wire_name.as_str()))
        });
        if !there {
            objects.push(StatusRow {
                kind: r.kind().to_string(),
                address: r.address.to_string(),
                live_name: None,
                state: "not on the cluster".into(),
                build: None,
                last_applied: None,
            });
        }
    }
    let order = |k: &str| Kind::LISTED.iter().position(|x| x.keyword() == k).unwrap_or(usize::MAX);
    objects.sort_by(|a, b| {
        (order(&a.kind), &a.address, &a.live_name).cmp(&(order(&b.kind), &b.address, &b.live_name))
    });
    StatusDoc {
        format_version: STATUS_FORMAT_VERSION.to_string(),
        stack: stack.to_string(),
        target: o.prepared.settings.target.display(),
        username: o.username.clone(),
        objects,
    }
}

fn row(l: &LiveResource) -> StatusRow {
    let last_applied = l
        .metadata
        .annotations
        .get(APPLIED_ANNOTATION)
        .and_then(|v| crate::diff::parse_applied(v).1)
        .map(|secs| {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            humantime::format_rfc3339_seconds(at).to_string()
        });
    let (state, build) = match l.kind {
        Kind::Workspace => (
            l.run_state.as_deref().unwrap_or("UNKNOWN").to_ascii_lowercase().replace('_', " "),
            None,
        ),
        Kind::Template => template_state(l),
        _ => ("present".to_string(), None),
    };
    StatusRow {
        kind: l.kind.to_string(),
        address: l.address.to_string(),
        live_name: Some(l.wire_name.clone()),
        state,
        build,
        last_applied,
    }
}

/// A Template's last build, and whether the build Workspaces restore from is ready. Without
/// Kubernetes access the volume snapshot itself cannot be checked: said so.
fn template_state(l: &LiveResource) -> (String, Option<BuildStatus>) {
    let Some(info) = l.build_info.as_ref() else {
        return ("no snapshot build".into(), None);
    };
    let Some(last) = info.builds.first() else {
        return ("no snapshot build".into(), None);
    };
    let word = |s: BuildState| match s {
        BuildState::Ready => "ready",
        BuildState::Running => "running",
        BuildState::Failed => "failed",
        BuildState::Unknown => "unknown",
    };
    let ready = info.current_ready();
    let snapshot = match ready {
        Some(b) => format!("snapshot of build {}: ready on the API, not verified", b.id),
        None => "no snapshot ready".to_string(),
    };
    let state = format!("last build {} {}; {snapshot}", last.id, word(last.state));
    let build = BuildStatus {
        id: last.id.clone(),
        state: word(last.state).to_string(),
        snapshot_ready: ready.is_some(),
        snapshot_verified: false,
    };
    (state, Some(build))
}
