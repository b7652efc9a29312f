//! Space RPCs of the local cluster, after upstream `mains/space.go` (octelium/cordium @
//! 54d80f2b): names, checks, error codes and their order, the ownership rules, the OWNER
//! Membership and default Template of CreateSpace, the DeleteSpace cascade; and what Space
//! children (`templates`, `secrets`) share: the start of a child's create, Secret lookup.

use std::time::SystemTime;

use rusqlite::Connection;

use super::access::{self, Role};
use super::engine::{load, missing, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult, Code};
use super::names::{self, MetaRules};
use super::store::{self, Filter, Stored};
use super::validate::{self, SecretAt, Secrets};
use crate::live::wire::{cordium, core, meta};

use cordium::space::status::Type as SpaceType;

/// Per-user cap on created Spaces (upstream `maxSpacesPerUser`).
pub const MAX_SPACES_PER_USER: u64 = 150;

/// The common start of creating a Space child (Template, Secret): the name expanded to
/// `<name>.<space>.<owner>` and checked, the spec present, and the parent Space loaded.
pub(super) fn new_space_child<S>(
    c: &Connection,
    caller: &str,
    metadata: Option<meta::Metadata>,
    spec: Option<S>,
) -> ApiResult<(meta::Metadata, S, cordium::Space)> {
    let mut metadata = metadata;
    if let Some(m) = metadata.as_mut() {
        m.name = names::expand_space_child(&m.name, caller);
    }
    names::validate_metadata(metadata.as_ref(), MetaRules { require_name: true, parents: 2 })?;
    let spec = require(spec, "spec")?;
    let m = metadata.unwrap_or_default();
    let space_name = m.name.split_once('.').map(|x| x.1).unwrap_or_default().to_string();
    let space: cordium::Space = load(c, "", &space_name)?;
    Ok((m, spec, space))
}

pub(super) fn space_owner(s: &cordium::Space) -> Option<&meta::ObjectReference> {
    s.status.as_ref().and_then(|st| st.user_ref.as_ref())
}

/// The Space a stored child's `status.spaceRef` points at.
pub(super) fn space_of(
    c: &Connection,
    r: Option<&meta::ObjectReference>,
) -> ApiResult<cordium::Space> {
    let uid = r.map(|r| r.uid.as_str()).unwrap_or_default();
    store::get_by_uid::<cordium::Space>(c, uid)?.ok_or_else(|| missing::<cordium::Space>(uid))
}

/// The uid of a stored child's Space (its `status.spaceRef`).
pub(super) fn space_uid_of(r: Option<&meta::ObjectReference>) -> String {
    r.map(|r| r.uid.clone()).unwrap_or_default()
}

/// Secrets as the store holds them, seen from one Space: found by exact stored name.
pub(super) struct StoreSecrets<'a> {
    pub c: &'a Connection,
    pub space_uid: &'a str,
}

impl Secrets for StoreSecrets<'_> {
    fn at(&self, name: &str) -> ApiResult<SecretAt> {
        Ok(match store::get_by_name::<cordium::Secret>(self.c, name)? {
            None => SecretAt::Missing,
            Some(s) => {
                let space = s.status.as_ref().and_then(|st| st.space_ref.as_ref());
                if space.is_some_and(|r| r.uid == self.space_uid) {
                    SecretAt::ThisSpace
                } else {
                    SecretAt::OtherSpace
                }
            }
        })
    }
}

/// How Go prints a gRPC status error with `%+v`, as upstream embeds one in some messages.
pub(super) fn go_status(e: &ApiError) -> String {
    let code = match e.code {
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::InvalidArgument => "InvalidArgument",
        Code::PermissionDenied => "PermissionDenied",
        Code::Unauthenticated => "Unauthenticated",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Internal => "Internal",
    };
    format!("rpc error: code = {code} desc = {}", e.message)
}

/// The Space name upstream reserves for a user's agent Space (`mains/space.go` CreateSpace,
/// `agentSpaceBaseName`).
pub const RESERVED_SPACE_NAME: &str = "octelium";

impl Engine {
    // ---- Space -------------------------------------------------------------------------

    pub fn create_space(&self, caller: &str, req: cordium::Space) -> ApiResult<cordium::Space> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            self.do_create_space(c, now, &user, req)
        })
    }

    /// CreateSpace, in upstream's order: quota, name, taken name, type from the owner part,
    /// ownership rules, spec; then the OWNER Membership and the default Template.
    pub(super) fn do_create_space(
        &self,
        c: &Connection,
        now: SystemTime,
        user: &core::User,
        mut req: cordium::Space,
    ) -> ApiResult<cordium::Space> {
        let username = name_of(user);
        let owned = store::count::<cordium::Space>(
            c,
            &Filter { owner_uid: Some(uid_of(user)), ..Default::default() },
        )?;
        if owned >= MAX_SPACES_PER_USER {
            return Err(ApiError::denied("Number of Spaces per User has been exceeded"));
        }
        if let Some(m) = req.metadata.as_mut() {
            m.name = names::expand_space(&m.name, &username);
        }
        names::validate_metadata(
            req.metadata.as_ref(),
            MetaRules { require_name: true, parents: 1 },
        )
        .map_err(|e| ApiError::invalid(format!("Invalid Space name: {}", go_status(&e))))?;
        let spec = require(req.spec.take(), "spec")?;
        let m = req.metadata.unwrap_or_default();
        let Some((base, owner)) = m.name.split_once('.') else {
            return Err(ApiError::invalid("Invalid Space name"));
        };
        if store::name_taken(c, "Space", &m.name)? {
            return Err(ApiError::new(Code::AlreadyExists, "Space name already exists"));
        }
        let ty = if owner == username {
            if base == RESERVED_SPACE_NAME {
                return Err(ApiError::invalid(format!(
                    "The Space name {RESERVED_SPACE_NAME} is reserved"
                )));
            }
            SpaceType::User
        } else if owner == "cordium" {
            SpaceType::Organization
        } else {
            return Err(ApiError::invalid("Invalid Space name"));
        };
        // Upstream `canOwnSpace`: the ClusterConfig ownership rules (no rules: refused).
        if !self.space_ownership.allows(user, ty) {
            return Err(ApiError::denied("You are not allowed to create this Space"));
        }
        validate::space_spec(&spec, ty, None)?;
        let mut space = cordium::Space {
            metadata: Some(names::metadata_from(&m)),
            spec: Some(spec),
            status: Some(cordium::space::Status {
                user_ref: Some(reference(user)),
                r#type: ty as i32,
            }),
            ..Default::default()
        };
        let label = if ty == SpaceType::User { "user" } else { "organization" };
        space.meta_mut().system_labels.insert("type".into(), label.into());
        self.save_new(c, now, &mut space)?;
        self.put_membership(c, now, &space, user, Role::Owner)?;
        let mut default = cordium::Template {
            metadata: Some(meta::Metadata {
                name: format!("default.{}", m.name),
                ..Default::default()
            }),
            spec: Some(Default::default()),
            status: Some(cordium::template::Status {
                space_ref: Some(reference(&space)),
                user_ref: Some(reference(user)),
                build_info: Some(Default::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.save_new(c, now, &mut default)?;
        Ok(space)
    }

    /// UpdateSpace: found by name; the resource owner or the Space's OWNER; on update a
    /// `fromSecret` must name a Secret of this Space by its exact stored name.
    pub fn update_space(&self, caller: &str, mut req: cordium::Space) -> ApiResult<cordium::Space> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            if let Some(m) = req.metadata.as_mut() {
                m.name = names::expand_space(&m.name, caller);
            }
            names::validate_metadata(
                req.metadata.as_ref(),
                MetaRules { require_name: true, parents: 1 },
            )
            .map_err(|e| ApiError::invalid(format!("Invalid Space name: {}", go_status(&e))))?;
            let spec = require(req.spec.take(), "spec")?;
            let m = req.metadata.unwrap_or_default();
            let mut space: cordium::Space = load(c, "", &m.name)?;
            let space_uid = uid_of(&space);
            access::check_resource_or_space_owner(c, space_owner(&space), &space_uid, &user)?;
            names::metadata_update(space.meta_mut(), &m);
            let ty = space.status.as_ref().map(|s| s.r#type()).unwrap_or_default();
            let secrets = StoreSecrets { c, space_uid: &space_uid };
            validate::space_spec(&spec, ty, Some(&secrets))?;
            space.spec = Some(spec);
            self.save(c, now, &mut space)?;
            Ok(space)
        })
    }

    /// DeleteSpace: by uid only (upstream `HasUID: true`); the resource owner or the Space's
    /// OWNER. Cascades as upstream: every Workspace in the Space whoever owns it, then the
    /// Templates, Secrets, Volumes, GitProviders and Memberships. (Upstream also deletes the
    /// Space's WorkspaceSnapshots and the Sessions of its Workspaces: neither is stored here.)
    pub fn delete_space(&self, caller: &str, req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, Some(1))?;
            if req.uid.is_empty() {
                return Err(ApiError::invalid("A UID must be set"));
            }
            let space: cordium::Space = load(c, &req.uid, "")?;
            access::check_resource_or_space_owner(c, space_owner(&space), &req.uid, &user)?;
            let children = Filter { space_uid: Some(req.uid.clone()), ..Default::default() };
            for w in store::all::<cordium::Workspace>(c, &children)? {
                store::delete(c, &uid_of(&w))?;
            }
            for t in store::all::<cordium::Template>(c, &children)? {
                store::delete(c, &uid_of(&t))?;
            }
            for s in store::all::<cordium::Secret>(c, &children)? {
                store::delete(c, &uid_of(&s))?;
            }
            for v in store::all::<cordium::Volume>(c, &children)? {
                store::delete(c, &uid_of(&v))?;
            }
            for g in store::all::<cordium::GitProvider>(c, &children)? {
                store::delete(c, &uid_of(&g))?;
            }
            store::delete_memberships(c, &req.uid)?;
            store::delete(c, &req.uid)?;
            Ok(())
        })?;
        self.forget_deleted();
        Ok(())
    }

    /// GetSpace: members only (upstream `CheckIsMember`).
    pub fn get_space(&self, caller: &str, mut req: meta::GetOptions) -> ApiResult<cordium::Space> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(1))?;
            let space: cordium::Space = load(c, &req.uid, &req.name)?;
            access::check_member(c, &uid_of(&space), &user)?;
            Ok(space)
        })
    }

    /// ListSpace: mode CREATED_BY (or unset) lists the Spaces the caller created, MEMBER those
    /// it has a Membership in; the type filter compares `status.type` with `USER` or
    /// `ORGANIZATION`.
    pub fn list_space(
        &self,
        caller: &str,
        req: cordium::ListSpaceOptions,
    ) -> ApiResult<cordium::SpaceList> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let mut filter = Filter::default();
            match req.mode {
                0 | 1 => filter.owner_uid = Some(uid_of(&user)),
                2 => filter.member_uid = Some(uid_of(&user)),
                _ => return Err(ApiError::invalid("Invalid Mode")),
            }
            filter.subtype = match SpaceType::try_from(req.r#type) {
                Ok(SpaceType::User) => Some("user".to_string()),
                Ok(SpaceType::Organization) => Some("organization".to_string()),
                _ => None,
            };
            let (items, meta) = self.page(c, &filter, req.common.as_ref())?;
            Ok(cordium::SpaceList {
                api_version: "cordium/v1".into(),
                kind: "SpaceList".into(),
                items,
                list_response_meta: Some(meta),
            })
        })
    }

    /// Resolves the Space reference of a List request as upstream `getMemberSpaceFromSpaceRef`
    /// does: a one-part name gets the caller appended, and membership is checked before the
    /// Space is read, so a Space that does not exist is PERMISSION_DENIED too, and so is a
    /// reference by uid alone (the Membership is looked up by the reference's name). The name
    /// wins over the uid.
    pub(super) fn member_space(
        &self,
        c: &Connection,
        user: &core::User,
        caller: &str,
        space_ref: Option<&meta::ObjectReference>,
    ) -> ApiResult<cordium::Space> {
        let Some(r) = space_ref else {
            return Err(ApiError::invalid("SpaceRef is not provided"));
        };
        let name = names::expand_space(&r.name, caller);
        names::check_ref(&r.uid, &name, 1)?;
        // The Membership is found by name (`<user>.<space name>`, `GetMembershipName`): a
        // reference by uid alone names no Membership, and a Space that does not exist has none.
        let found = store::get_by_name::<cordium::Space>(c, &name)?;
        let Some(space) = found.filter(|_| !name.is_empty()) else {
            return Err(ApiError::denied("The User is not authorized to operation"));
        };
        access::check_member(c, &uid_of(&space), user)?;
        Ok(space)
    }

    /// Get of a Space child any member of its Space may read (GetMembership, GetGitProvider,
    /// GetVolume in cordium `mains/*.go`): a one-part name gets the caller appended, the key
    /// is checked, then the caller must be a member of the object's Space.
    pub(super) fn get_member_readable<T: Stored>(
        &self,
        caller: &str,
        mut req: meta::GetOptions,
    ) -> ApiResult<T> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let item: T = super::engine::load(c, &req.uid, &req.name)?;
            access::check_member(c, &item.index().space_uid, &user)?;
            Ok(item)
        })
    }

    /// List of one Space's children of a kind for any member (ListMembership,
    /// ListGitProvider, ListVolume): `spaceRef` is required and resolved by [`member_space`].
    ///
    /// [`member_space`]: Engine::member_space
    pub(super) fn list_member_readable<T: Stored>(
        &self,
        caller: &str,
        space_ref: Option<&meta::ObjectReference>,
        common: Option<&meta::CommonListOptions>,
    ) -> ApiResult<(Vec<T>, meta::ListResponseMeta)> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let space = self.member_space(c, &user, caller, space_ref)?;
            let filter = store::Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            self.page::<T>(c, &filter, common)
        })
    }
}
