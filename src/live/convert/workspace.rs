//! Workspace ↔ wire: `Workspace.Spec` field by field, the object sent (displayName = config
//! name, `status.templateRef.name` = the Template's full 3-part name, which the server does not
//! expand), and the live view (address from `displayName` and the Space). Pure.

use super::CORDIUM_API_VERSION;
use super::{from_opt, from_vec, json, segment, to_opt, to_vec, LiveResource, Wire};
use crate::live::wire::cordium::workspace;
use crate::live::wire::{cordium, meta};
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<workspace::Spec> for m::WorkspaceSpec {
    fn to_wire(&self) -> workspace::Spec {
        workspace::Spec {
            image: to_opt(&self.image),
            runtime: to_opt(&self.runtime),
            repository: to_opt(&self.repository),
            additional_repositories: to_vec(&self.additional_repositories),
            applications: to_vec(&self.applications),
            limit: to_opt(&self.limit),
            vars: to_vec(&self.vars),
            is_ephemeral: self.is_ephemeral,
        }
    }

    fn from_wire(w: &workspace::Spec) -> Self {
        m::WorkspaceSpec {
            image: from_opt(&w.image),
            runtime: from_opt(&w.runtime),
            repository: from_opt(&w.repository),
            additional_repositories: from_vec(&w.additional_repositories),
            applications: from_vec(&w.applications),
            limit: from_opt(&w.limit),
            vars: from_vec(&w.vars),
            is_ephemeral: w.is_ephemeral,
        }
    }
}

pub(super) fn object(
    metadata: meta::Metadata,
    spec: &m::WorkspaceSpec,
    space_name: String,
    template_name: String,
) -> cordium::Workspace {
    let reference = |kind: &str, name: String| meta::ObjectReference {
        api_version: CORDIUM_API_VERSION.to_string(),
        kind: kind.to_string(),
        name,
        ..meta::ObjectReference::default()
    };
    cordium::Workspace {
        api_version: Kind::Workspace.api_version().to_string(),
        kind: Kind::Workspace.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: Some(workspace::Status {
            template_ref: Some(reference("Template", template_name)),
            space_ref: Some(reference("Space", space_name)),
            ..workspace::Status::default()
        }),
    }
}

pub(super) fn read(o: &cordium::Workspace, live: &mut LiveResource) {
    let status = o.status.clone().unwrap_or_default();
    let nonempty = |r: &Option<meta::ObjectReference>| {
        r.as_ref().map(|r| r.name.clone()).filter(|n| !n.is_empty())
    };
    live.template_ref = nonempty(&status.template_ref);
    // The Space: its reference, else the last two parts of the Template's name.
    live.space = nonempty(&status.space_ref).or_else(|| {
        live.template_ref.as_deref().and_then(|t| t.split_once('.')).map(|(_, s)| s.to_string())
    });
    let space = live.space.as_deref().and_then(|s| segment(s, 0)).unwrap_or_default();
    let name =
        crate::live::identity::display_identity(&live.metadata.display_name, &live.wire_name);
    live.address = Address::in_space(Kind::Workspace, space, name);
    live.system |= status.is_build;
    live.run_state = Some(
        cordium::workspace::status::State::try_from(status.state)
            .map(|s| s.as_str_name().to_string())
            .unwrap_or_else(|_| format!("STATE_{}", status.state)),
    );
    let mut spec: m::WorkspaceSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    super::cordium::short_volume_refs(&mut spec.runtime);
    live.spec_json = json(&spec);
}
