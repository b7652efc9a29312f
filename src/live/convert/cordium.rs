//! Membership, GitProvider and Volume ↔ wire: their specs field by field, the objects sent (a
//! Membership is created through a `CreateMembershipRequest`), and the live views (addresses
//! from the stored names `<name>.<space>.<owner>`). Pure.

use super::{from_opt, json, segment, to_opt, LiveResource, Wire};
use crate::live::wire::cordium::{git_provider, membership, volume};
use crate::live::wire::{cordium, meta};
use crate::model::spec as m;
use crate::model::{Address, Kind};

impl Wire<membership::Spec> for m::MembershipSpec {
    fn to_wire(&self) -> membership::Spec {
        membership::Spec { role: self.role.number() }
    }

    fn from_wire(w: &membership::Spec) -> Self {
        m::MembershipSpec { role: m::MembershipRole::from_number(w.role) }
    }
}

impl Wire<git_provider::Spec> for m::GitProviderSpec {
    fn to_wire(&self) -> git_provider::Spec {
        use git_provider::spec::Type;
        let r#type = if let Some(g) = &self.github {
            Some(Type::Github(git_provider::spec::Github {
                client_id: g.client_id.clone(),
                client_secret: to_opt(&g.client_secret),
                scopes: g.scopes.clone(),
            }))
        } else if let Some(g) = &self.gitlab {
            Some(Type::Gitlab(git_provider::spec::Gitlab {
                client_id: g.client_id.clone(),
                client_secret: to_opt(&g.client_secret),
                scopes: g.scopes.clone(),
            }))
        } else {
            self.oauth2.as_ref().map(|o| {
                Type::Oauth2(git_provider::spec::OAuth2 {
                    client_id: o.client_id.clone(),
                    client_secret: to_opt(&o.client_secret),
                    auth_url: o.auth_url.clone(),
                    token_url: o.token_url.clone(),
                    scopes: o.scopes.clone(),
                })
            })
        };
        git_provider::Spec { r#type }
    }

    fn from_wire(w: &git_provider::Spec) -> Self {
        use git_provider::spec::Type;
        let mut spec = m::GitProviderSpec::default();
        match &w.r#type {
            Some(Type::Github(g)) => {
                spec.github = Some(m::GitProviderApp {
                    client_id: g.client_id.clone(),
                    client_secret: from_opt(&g.client_secret),
                    scopes: g.scopes.clone(),
                })
            }
            Some(Type::Gitlab(g)) => {
                spec.gitlab = Some(m::GitProviderApp {
                    client_id: g.client_id.clone(),
                    client_secret: from_opt(&g.client_secret),
                    scopes: g.scopes.clone(),
                })
            }
            Some(Type::Oauth2(o)) => {
                spec.oauth2 = Some(m::GitProviderOAuth2 {
                    client_id: o.client_id.clone(),
                    client_secret: from_opt(&o.client_secret),
                    auth_url: o.auth_url.clone(),
                    token_url: o.token_url.clone(),
                    scopes: o.scopes.clone(),
                })
            }
            None => {}
        }
        spec
    }
}

impl Wire<git_provider::spec::ClientSecret> for m::ClientSecret {
    fn to_wire(&self) -> git_provider::spec::ClientSecret {
        use git_provider::spec::client_secret::Type;
        let r#type =
            (!self.from_secret.is_empty()).then(|| Type::FromSecret(self.from_secret.clone()));
        git_provider::spec::ClientSecret { r#type }
    }

    fn from_wire(w: &git_provider::spec::ClientSecret) -> Self {
        use git_provider::spec::client_secret::Type;
        match &w.r#type {
            Some(Type::FromSecret(s)) => m::ClientSecret { from_secret: s.clone() },
            None => m::ClientSecret::default(),
        }
    }
}

impl Wire<volume::Spec> for m::VolumeSpec {
    fn to_wire(&self) -> volume::Spec {
        volume::Spec {
            size: self.size.as_ref().map(|s| volume::spec::Size { megabytes: s.megabytes }),
            access_mode: self.access_mode.number(),
        }
    }

    fn from_wire(w: &volume::Spec) -> Self {
        m::VolumeSpec {
            size: w.size.as_ref().map(|s| m::VolumeSize { megabytes: s.megabytes }),
            access_mode: m::VolumeAccessMode::from_number(w.access_mode),
        }
    }
}

/// The Membership sent: its name `<username>.<space>`, role, and the User and Space it joins
/// (by name; the client adds the Space's uid, which CreateMembership wants).
pub(super) fn membership(
    metadata: meta::Metadata,
    spec: &m::MembershipSpec,
    username: &str,
    space_stored: String,
) -> cordium::Membership {
    // The server keeps no other metadata of a Membership.
    let metadata = meta::Metadata { name: metadata.name, ..Default::default() };
    cordium::Membership {
        api_version: Kind::Membership.api_version().to_string(),
        kind: Kind::Membership.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: Some(membership::Status {
            user_ref: Some(meta::ObjectReference {
                name: username.to_string(),
                ..Default::default()
            }),
            space_ref: Some(meta::ObjectReference { name: space_stored, ..Default::default() }),
            user_info: None,
        }),
    }
}

/// CreateMembership's request for a Membership object (cordium `mains/membership.go`: the role,
/// the Space, and the User by reference). `space_uid` is the Space's uid: the server looks the
/// Space up by uid.
pub fn membership_request(
    m: &cordium::Membership,
    space_uid: &str,
) -> cordium::CreateMembershipRequest {
    let status = m.status.clone().unwrap_or_default();
    let mut space_ref = status.space_ref.unwrap_or_default();
    space_ref.uid = space_uid.to_string();
    cordium::CreateMembershipRequest {
        role: m.spec.as_ref().map(|s| s.role).unwrap_or_default(),
        space_ref: Some(space_ref),
        user_type: Some(cordium::create_membership_request::UserType::UserRef(
            status.user_ref.unwrap_or_default(),
        )),
    }
}

pub(super) fn git_provider(
    metadata: meta::Metadata,
    spec: &m::GitProviderSpec,
) -> cordium::GitProvider {
    cordium::GitProvider {
        api_version: Kind::GitProvider.api_version().to_string(),
        kind: Kind::GitProvider.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        // UpdateGitProvider wants a status (`RequireStatus`); its content is the server's.
        status: Some(git_provider::Status::default()),
    }
}

pub(super) fn volume(metadata: meta::Metadata, spec: &m::VolumeSpec) -> cordium::Volume {
    cordium::Volume {
        api_version: Kind::Volume.api_version().to_string(),
        kind: Kind::Volume.api_kind().to_string(),
        metadata: Some(metadata),
        spec: Some(spec.to_wire()),
        status: None,
    }
}

/// The Space (stored name) and address of a Space child stored as `<name>.<space>.<owner>`.
fn place(kind: Kind, live: &mut LiveResource, space_ref: Option<&meta::ObjectReference>) {
    let name = live.wire_name.clone();
    let space_ref = space_ref.map(|r| r.name.clone()).filter(|s| !s.is_empty());
    live.space = match name.split_once('.') {
        Some((_, space)) if space.contains('.') => Some(space.to_string()),
        _ => space_ref,
    };
    let space = live.space.as_deref().and_then(|s| segment(s, 0)).unwrap_or_default();
    live.address = Address::in_space(kind, space, segment(&name, 0).unwrap_or(&name));
}

pub(super) fn read_membership(o: &cordium::Membership, live: &mut LiveResource) {
    let status = o.status.clone().unwrap_or_default();
    place(Kind::Membership, live, status.space_ref.as_ref());
    // Nothing but the name is kept: what the server fills in (userInfo) is not ours.
    live.metadata = Default::default();
    let spec: m::MembershipSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}

pub(super) fn read_git_provider(o: &cordium::GitProvider, live: &mut LiveResource) {
    let status = o.status.clone().unwrap_or_default();
    place(Kind::GitProvider, live, status.space_ref.as_ref());
    let spec: m::GitProviderSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}

pub(super) fn read_volume(o: &cordium::Volume, live: &mut LiveResource) {
    let status = o.status.clone().unwrap_or_default();
    place(Kind::Volume, live, status.space_ref.as_ref());
    let spec: m::VolumeSpec = o.spec.as_ref().map(Wire::from_wire).unwrap_or_default();
    live.spec_json = json(&spec);
}

/// The server stores a mount's `volumeRef` as the Volume's full reference (cordium
/// `mains/workspacevalidation.go` `setWorkspaceVolumeMounts`: `umetav1.GetObjectReference(vol)`)
/// where the config names it by its short name in the same Space: the live view keeps the name
/// as written, so a converged stack plans clean.
pub(super) fn short_volume_refs(runtime: &mut Option<m::Runtime>) {
    for mount in runtime.iter_mut().flat_map(|r| r.volume_mounts.iter_mut()) {
        if let Some(r) = mount.volume_ref.as_mut().filter(|r| !r.name.is_empty()) {
            let short = segment(&r.name, 0).unwrap_or_default().to_string();
            *r = m::ObjectRef { name: short, ..Default::default() };
        }
    }
}
