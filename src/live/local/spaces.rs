//! Space RPCs of the local cluster, after upstream `mains/space.go` (octelium/cordium): names,
//! checks, error codes and their order, and what Space children (`templates`, `secrets`) share:
//! membership and the start of a child's create. Membership is modelled as "the creator of a
//! Space is its only (OWNER) member". Deviation, for lack of the upstream machinery: Space
//! ownership rules of the ClusterConfig allow everything.

use std::time::SystemTime;

use rusqlite::Connection;

use super::engine::{load, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult, Code};
use super::names::{self, MetaRules};
use super::store::{self, Filter, Stored};
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

/// Only the creator of a Space is its member (and OWNER).
pub(super) fn require_member(
    space_owner: Option<&meta::ObjectReference>,
    user: &core::User,
) -> ApiResult<()> {
    match space_owner {
        Some(r) if r.uid == uid_of(user) => Ok(()),
        _ => Err(ApiError::denied("The User is not a Member in this Space")),
    }
}

pub(super) fn space_owner(s: &cordium::Space) -> Option<&meta::ObjectReference> {
    s.status.as_ref().and_then(|st| st.user_ref.as_ref())
}

pub(super) fn space_of(
    c: &Connection,
    r: Option<&meta::ObjectReference>,
) -> ApiResult<cordium::Space> {
    let uid = r.map(|r| r.uid.as_str()).unwrap_or_default();
    store::get_by_uid::<cordium::Space>(c, uid)?.ok_or_else(|| ApiError::not_found("Not Found"))
}

fn validate_space_spec(spec: &cordium::space::Spec, ty: SpaceType) -> ApiResult<()> {
    if spec.limit.is_some() && ty == SpaceType::User {
        return Err(ApiError::denied("Cannot set Limits for PERSONAL Spaces"));
    }
    if let Some(rt) = &spec.runtime {
        if rt.env_vars.len() > 128 {
            return Err(ApiError::invalid("Too many container env vars"));
        }
        for e in &rt.env_vars {
            if e.key.is_empty() {
                return Err(ApiError::invalid("Env variable cannot have an empty key"));
            }
            if !e.key.is_ascii() {
                return Err(ApiError::invalid("Invalid env var key"));
            }
            if e.key.len() > 64 {
                return Err(ApiError::invalid("Too long env var key"));
            }
            if matches!(
                e.r#type,
                Some(cordium::workspace::spec::runtime::env_var::Type::FromSecret(_))
            ) && ty != SpaceType::Organization
            {
                return Err(ApiError::denied("Secrets can only be used for ORGANIZATION Spaces"));
            }
        }
    }
    Ok(())
}

impl Engine {
    // ---- Space -------------------------------------------------------------------------

    pub fn create_space(&self, caller: &str, req: cordium::Space) -> ApiResult<cordium::Space> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            self.do_create_space(c, now, &user, req)
        })
    }

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
        .map_err(|e| ApiError::invalid(format!("Invalid Space name: {}", e.message)))?;
        let spec = require(req.spec.take(), "spec")?;
        let m = req.metadata.unwrap_or_default();
        if store::name_taken(c, "Space", &m.name)? {
            return Err(ApiError::new(Code::AlreadyExists, "Space name already exists"));
        }
        let owner = m.name.split('.').nth(1).unwrap_or_default();
        let ty = if owner == username {
            SpaceType::User
        } else if owner == "cordium" {
            SpaceType::Organization
        } else {
            return Err(ApiError::invalid("Invalid Space name"));
        };
        validate_space_spec(&spec, ty)?;
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
            .map_err(|e| ApiError::invalid(format!("Invalid Space name: {}", e.message)))?;
            let spec = require(req.spec.take(), "spec")?;
            let m = req.metadata.unwrap_or_default();
            let mut space: cordium::Space = load(c, "", &m.name)?;
            require_member(space_owner(&space), &user)?;
            names::metadata_update(space.meta_mut(), &m);
            let ty = space.status.as_ref().map(|s| s.r#type()).unwrap_or_default();
            validate_space_spec(&spec, ty)?;
            space.spec = Some(spec);
            self.save(c, now, &mut space)?;
            Ok(space)
        })
    }

    /// DeleteSpace: by uid only (upstream `HasUID: true`); cascades to the Space's Templates
    /// and Secrets. Like upstream, Workspaces of the Space are NOT deleted.
    pub fn delete_space(&self, caller: &str, req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, Some(1))?;
            if req.uid.is_empty() {
                return Err(ApiError::invalid("A UID must be set"));
            }
            let space: cordium::Space = load(c, &req.uid, "")?;
            require_member(space_owner(&space), &user)?;
            let children = Filter { space_uid: Some(req.uid.clone()), ..Default::default() };
            for t in store::all::<cordium::Template>(c, &children)? {
                store::delete(c, &uid_of(&t))?;
            }
            for s in store::all::<cordium::Secret>(c, &children)? {
                store::delete(c, &uid_of(&s))?;
            }
            store::delete(c, &req.uid)?;
            Ok(())
        })?;
        self.forget_deleted();
        Ok(())
    }

    pub fn get_space(&self, caller: &str, mut req: meta::GetOptions) -> ApiResult<cordium::Space> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(1))?;
            let space: cordium::Space = load(c, &req.uid, &req.name)?;
            require_member(space_owner(&space), &user)?;
            Ok(space)
        })
    }

    /// ListSpace: Spaces the caller created. Upstream quirk kept: the `type: USER` filter
    /// compares against the string `PERSONAL`, which no Space has, so it lists nothing.
    pub fn list_space(
        &self,
        caller: &str,
        req: cordium::ListSpaceOptions,
    ) -> ApiResult<cordium::SpaceList> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            if !(0..=2).contains(&req.mode) {
                return Err(ApiError::invalid("Invalid Mode"));
            }
            let subtype = match SpaceType::try_from(req.r#type) {
                Ok(SpaceType::User) => Some("personal".to_string()),
                Ok(SpaceType::Organization) => Some("organization".to_string()),
                _ => None,
            };
            let filter = Filter { owner_uid: Some(uid_of(&user)), subtype, ..Default::default() };
            let (items, meta) = self.page(c, &filter, req.common.as_ref())?;
            Ok(cordium::SpaceList {
                api_version: "cordium/v1".into(),
                kind: "SpaceList".into(),
                items,
                list_response_meta: Some(meta),
            })
        })
    }

    /// Resolves a Space reference of a List request (a one-part name gets the caller appended).
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
        let space: cordium::Space = load(c, &r.uid, &name)?;
        require_member(space_owner(&space), user)?;
        Ok(space)
    }
}
