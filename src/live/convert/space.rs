//! Space ↔ wire: `Space.Spec` field by field, the object sent, and the live view (address from
//! the stored name `<space>.<owner>`; organisation when the owner is `cordium`). Pure.

use super::ORGANIZATION_OWNER;
use super::{from_opt, from_vec, json, segment, to_opt, to_vec, LiveResource, Wire};
use crate::live::wire::cordium::space;
use crate::live::wire::{cordium, meta};
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<space::Spec> for m::SpaceSpec {
    fn to_wire(&self) -> space::Spec {
        space::Spec {
            limit: self.limit.as_ref().map(|l| space::spec::Limit {
                default_limit: to_opt(&l.default_limit),
                max_limit: to_opt(&l.max_limit),
            }),
            runtime: self.runtime.as_ref().map(|r| space::spec::Runtime {
                env_vars: to_vec(&r.env_vars),
                tasks: to_vec(&r.tasks),
                capabilities: to_opt(&r.capabilities),
            }),
            authorization: self
                .authorization
                .as_ref()
                .map(|a| space::spec::Authorization { disable_ssh: a.disable_ssh }),
        }
    }

    fn from_wire(w: &space::Spec) -> Self {
        m::SpaceSpec {
            limit: w.limit.as_ref().map(|l| m::SpaceLimit {
                default_limit: from_opt(&l.default_limit),
                max_limit: from_opt(&l.max_limit),
            }),
            runtime: w.runtime.as_ref().map(|r| m::SpaceRuntime {
                env_vars: from_vec(&r.env_vars),
                tasks: from_vec(&r.tasks),
                capabilities: from_opt(&r.capabilities),
            }),
            authorization: w
                .authorization
                .as_ref()
                .map(|a| m::SpaceAuthorization { disable_ssh: a.disable_ssh }),
        }
    }
}

pub(super) fn object(metadata: meta::Metadata, spec: &m::SpaceSpec) -> cordium::Space {
    cordium::Space {
        api_version: Kind::Space.api_version().to_string(),
        kind: Kind::Space.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: None,
    }
}

pub(super) fn read(o: &cordium::Space, live: &mut LiveResource) {
    let name = &live.wire_name;
    live.address = Address::space(segment(name, 0).unwrap_or(name));
    let by_type =
        o.status.as_ref().is_some_and(|s| s.r#type == space::status::Type::Organization as i32);
    live.organization = by_type || segment(name, 1) == Some(ORGANIZATION_OWNER);
    live.space = Some(name.clone());
    let spec: m::SpaceSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}
