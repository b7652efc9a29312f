//! Template ↔ wire: `Template.Spec` field by field, the object sent, and the live view with its
//! pre-builds (address from the stored name `<template>.<space>.<owner>`). Pure.

use std::time::SystemTime;

use super::{from_opt, from_vec, json, segment, to_opt, to_vec, LiveResource, Wire};
use super::{Build, BuildInfo, BuildState};
use crate::live::wire::cordium::template;
use crate::live::wire::cordium::workspace::status::{failure, Failure};
use crate::live::wire::{cordium, meta};
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<template::Spec> for m::TemplateSpec {
    fn to_wire(&self) -> template::Spec {
        template::Spec {
            image: to_opt(&self.image),
            runtime: to_opt(&self.runtime),
            repository: to_opt(&self.repository),
            additional_repositories: to_vec(&self.additional_repositories),
            limit: to_opt(&self.limit),
            git_provider: self.git_provider.clone(),
            vars: to_vec(&self.vars),
        }
    }

    fn from_wire(w: &template::Spec) -> Self {
        m::TemplateSpec {
            image: from_opt(&w.image),
            runtime: from_opt(&w.runtime),
            repository: from_opt(&w.repository),
            additional_repositories: from_vec(&w.additional_repositories),
            limit: from_opt(&w.limit),
            git_provider: w.git_provider.clone(),
            vars: from_vec(&w.vars),
        }
    }
}

pub(super) fn object(metadata: meta::Metadata, spec: &m::TemplateSpec) -> cordium::Template {
    cordium::Template {
        api_version: Kind::Template.api_version().to_string(),
        kind: Kind::Template.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        // UpdateTemplate validation wants a status; its content is ignored (API reference §7).
        status: Some(template::Status::default()),
    }
}

pub(super) fn read(o: &cordium::Template, live: &mut LiveResource) {
    let name = live.wire_name.clone();
    let none = template::Status::default();
    let status = o.status.as_ref().unwrap_or(&none);
    let space_ref = status.space_ref.as_ref().map(|r| r.name.clone()).filter(|s| !s.is_empty());
    // `<template>.<space>.<owner>`: the Space's stored name is the last two parts.
    live.space = match name.split_once('.') {
        Some((_, space)) if space.contains('.') => Some(space.to_string()),
        _ => space_ref,
    };
    let space = live.space.as_deref().and_then(|s| segment(s, 0)).unwrap_or_default();
    live.address = Address::in_space(Kind::Template, space, segment(&name, 0).unwrap_or(&name));
    let mut spec: m::TemplateSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    super::cordium::short_volume_refs(&mut spec.runtime);
    live.spec_json = json(&spec);
    let info = status.build_info.as_ref();
    live.build_info = Some(BuildInfo {
        builds: info.map(|i| i.builds.iter().map(build).collect()).unwrap_or_default(),
        current_ready_build_id: info.map(|i| i.current_ready_build_id.clone()).unwrap_or_default(),
        current_running_build_id: info
            .map(|i| i.current_running_build_id.clone())
            .unwrap_or_default(),
    });
}

fn build(b: &template::status::build_info::Build) -> Build {
    let time = |t: &Option<prost_types::Timestamp>| (*t).and_then(|t| SystemTime::try_from(t).ok());
    Build {
        id: b.id.clone(),
        tags: b.tags.clone(),
        state: BuildState::from_number(b.state),
        started_at: time(&b.started_at),
        done_at: time(&b.done_at),
        is_canceled: b.is_canceled,
        failure: b.failure.as_ref().map(failure_text),
    }
}

/// A one-line description of a Workspace failure: the server's message, else the failure kind.
pub(crate) fn failure_text(f: &Failure) -> String {
    use failure::Type;
    let kind = match &f.r#type {
        None => "failed".to_string(),
        Some(Type::ImageBuild(_)) => "image build failed".to_string(),
        Some(Type::ImagePull(_)) => "image pull failed".to_string(),
        Some(Type::RepoClone(_)) => "repository clone failed".to_string(),
        Some(Type::BuildTimeoutExceeded(_)) => "build timeout exceeded".to_string(),
        Some(Type::Task(t)) => format!("task `{}` failed (exit code {})", t.name, t.exit_code),
        Some(Type::StartupUnknown(_)) => "startup failed".to_string(),
        Some(Type::StartupTimeoutExceeded(_)) => "startup timeout exceeded".to_string(),
        Some(Type::LoadStorage(_)) => "loading storage failed".to_string(),
        Some(Type::SaveStorage(_)) => "saving storage failed".to_string(),
        Some(Type::StoppageTimeoutExceeded(_)) => "stop timeout exceeded".to_string(),
        Some(Type::RunContainer(_)) => "running the container failed".to_string(),
        Some(Type::HealthCheck(_)) => "health check failed".to_string(),
        Some(Type::Unknown(_)) => "unknown failure".to_string(),
        Some(Type::AdditionalRepoClone(r)) => format!("cloning repository `{}` failed", r.name),
        Some(Type::NetworkPolicy(_)) => "network policy failed".to_string(),
        Some(Type::Volume(v)) => format!("volume `{}` failed", v.name),
    };
    if f.message.is_empty() {
        kind
    } else {
        format!("{kind}: {}", f.message)
    }
}
