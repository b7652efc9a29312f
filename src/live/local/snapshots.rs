//! What `cordium serve --kube-listen` needs to simulate the controller's VolumeSnapshots
//! (API reference §8): every Template's current ready build, and every Workspace with the
//! Template it starts from. Not an RPC: read across Spaces, as the controller does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::engine::Engine;
use super::error::ApiResult;
use super::store::{self, Filter};
use crate::live::wire::cordium;

/// A Template whose current ready build has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyBuild {
    pub template_uid: String,
    /// The Template's stored name (`env.ml.cordium`).
    pub template: String,
    pub build_id: String,
    /// When the build finished.
    pub done_at: SystemTime,
}

/// A Workspace (not a build's) and the Template it was created from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWorkspace {
    pub uid: String,
    pub name: String,
    pub template_uid: String,
    pub created_at: SystemTime,
}

fn time(t: Option<&prost_types::Timestamp>) -> SystemTime {
    let Some(t) = t else { return UNIX_EPOCH };
    let secs = u64::try_from(t.seconds).unwrap_or(0);
    UNIX_EPOCH + Duration::new(secs, u32::try_from(t.nanos).unwrap_or(0))
}

impl Engine {
    /// Every Template's current ready build (settling builds whose time has come).
    pub fn ready_builds(&self) -> ApiResult<Vec<ReadyBuild>> {
        self.tx(|c, now| {
            let mut out = Vec::new();
            for t in store::all::<cordium::Template>(c, &Filter::default())? {
                let t = self.settled(c, now, t)?;
                let (uid, name) = t
                    .metadata
                    .as_ref()
                    .map(|m| (m.uid.clone(), m.name.clone()))
                    .unwrap_or_default();
                let Some(info) = t.status.as_ref().and_then(|s| s.build_info.as_ref()) else {
                    continue;
                };
                let id = &info.current_ready_build_id;
                if id.is_empty() {
                    continue;
                }
                let done =
                    info.builds.iter().find(|b| &b.id == id).and_then(|b| b.done_at.as_ref());
                out.push(ReadyBuild {
                    template_uid: uid,
                    template: name,
                    build_id: id.clone(),
                    done_at: time(done),
                });
            }
            Ok(out)
        })
    }

    /// Every Workspace that names a Template.
    pub fn created_workspaces(&self) -> ApiResult<Vec<CreatedWorkspace>> {
        self.tx(|c, _| {
            let mut out = Vec::new();
            for w in store::all::<cordium::Workspace>(c, &Filter::default())? {
                let Some(t) = w.status.as_ref().and_then(|s| s.template_ref.as_ref()) else {
                    continue;
                };
                let m = w.metadata.clone().unwrap_or_default();
                out.push(CreatedWorkspace {
                    uid: m.uid,
                    name: m.name,
                    template_uid: t.uid.clone(),
                    created_at: time(m.created_at.as_ref()),
                });
            }
            Ok(out)
        })
    }
}
