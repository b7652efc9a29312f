//! Group and Policy (Octelium `core/v1`) ↔ wire: the objects sent and the live views. The spec
//! pieces they share with Users (authorization, inline Policies, `Policy.Spec`, conditions)
//! convert in `user`. Pure.

use super::{from_struct, from_vec, json, to_struct, to_vec, LiveResource, Wire};
use crate::live::wire::core::{self as wcore, group};
use crate::live::wire::meta;
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<group::Spec> for m::GroupSpec {
    fn to_wire(&self) -> group::Spec {
        group::Spec {
            authorization: self.authorization.as_ref().map(|a| group::spec::Authorization {
                policies: a.policies.clone(),
                inline_policies: to_vec(&a.inline_policies),
            }),
            attrs: self.attrs.as_ref().map(to_struct),
        }
    }

    fn from_wire(w: &group::Spec) -> Self {
        m::GroupSpec {
            authorization: w.authorization.as_ref().map(|a| m::Authorization {
                policies: a.policies.clone(),
                inline_policies: from_vec(&a.inline_policies),
            }),
            attrs: w.attrs.as_ref().map(from_struct),
        }
    }
}

pub(super) fn group_object(metadata: meta::Metadata, spec: &m::GroupSpec) -> wcore::Group {
    wcore::Group {
        api_version: Kind::Group.api_version().to_string(),
        kind: Kind::Group.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: None,
    }
}

pub(super) fn policy_object(metadata: meta::Metadata, spec: &m::PolicySpec) -> wcore::Policy {
    wcore::Policy {
        api_version: Kind::Policy.api_version().to_string(),
        kind: Kind::Policy.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: None,
    }
}

fn cluster_address(kind: Kind, name: &str) -> Address {
    Address { kind, space: None, name: name.to_string() }
}

pub(super) fn read_group(o: &wcore::Group, live: &mut LiveResource) {
    live.address = cluster_address(Kind::Group, &live.wire_name);
    let spec: m::GroupSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}

pub(super) fn read_policy(o: &wcore::Policy, live: &mut LiveResource) {
    live.address = cluster_address(Kind::Policy, &live.wire_name);
    let spec: m::PolicySpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}
