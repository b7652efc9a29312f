//! Space, Template (with pre-builds) and Secret RPCs of the local cluster, after upstream
//! `mains/{space,template,build,secret}.go` (octelium/cordium): names, checks, error codes and
//! their order. Membership is modelled as "the creator of a Space is its only (OWNER) member".
//! Deviations, all for lack of the upstream machinery: Space ownership rules of the
//! ClusterConfig allow everything; `spec.gitProvider` is not resolved (there are no
//! GitProviders here); Template specs get no deep validation.

use std::time::SystemTime;

use rusqlite::Connection;

use super::builds;
use super::engine::{load, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult, Code};
use super::names::{self, MetaRules};
use super::store::{self, Filter, Stored};
use crate::live::wire::{cordium, core, meta};

use cordium::space::status::Type as SpaceType;

/// Per-user cap on created Spaces (upstream `maxSpacesPerUser`).
pub const MAX_SPACES_PER_USER: u64 = 150;
/// Per-Space cap on Templates (upstream `maxTemplatesPerEnvironment`).
pub const MAX_TEMPLATES_PER_SPACE: u64 = 1000;
/// Per-Space cap on Secrets (upstream `maxSecretsPerSpace`).
pub const MAX_SECRETS_PER_SPACE: u64 = 1000;
/// Largest Secret value (upstream `checkSecretData`).
pub const MAX_SECRET_BYTES: usize = 1500;

/// Only the creator of a Space is its member (and OWNER).
/// The common start of creating a Space child (Template, Secret): the name expanded to
/// `<name>.<space>.<owner>` and checked, the spec present, and the parent Space loaded.
fn new_space_child<S>(
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

pub(super) fn require_member(
    space_owner: Option<&meta::ObjectReference>,
    user: &core::User,
) -> ApiResult<()> {
    match space_owner {
        Some(r) if r.uid == uid_of(user) => Ok(()),
        _ => Err(ApiError::denied("The User is not a Member in this Space")),
    }
}

fn space_owner(s: &cordium::Space) -> Option<&meta::ObjectReference> {
    s.status.as_ref().and_then(|st| st.user_ref.as_ref())
}

fn space_of(c: &Connection, r: Option<&meta::ObjectReference>) -> ApiResult<cordium::Space> {
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
        })
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

    // ---- Template ----------------------------------------------------------------------

    pub fn create_template(
        &self,
        caller: &str,
        mut req: cordium::Template,
    ) -> ApiResult<cordium::Template> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let (m, spec, space) =
                new_space_child(c, caller, req.metadata.take(), req.spec.take())?;
            require_member(space_owner(&space), &user)?;
            let in_space = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            if store::count::<cordium::Template>(c, &in_space)? >= MAX_TEMPLATES_PER_SPACE {
                return Err(ApiError::denied(
                    "Number of Templates per Environment has been exceeded",
                ));
            }
            if store::name_taken(c, "Template", &m.name)? {
                return Err(ApiError::invalid("Template name already exists for this Environment"));
            }
            let mut t = cordium::Template {
                metadata: Some(names::metadata_from(&m)),
                spec: Some(spec),
                status: Some(cordium::template::Status {
                    space_ref: Some(reference(&space)),
                    user_ref: Some(reference(&user)),
                    build_info: Some(Default::default()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            self.save_new(c, now, &mut t)?;
            Ok(t)
        })
    }

    /// UpdateTemplate: spec and mutable metadata replaced wholesale; `status` must be present
    /// in the request (upstream `RequireStatus`) but is otherwise ignored.
    pub fn update_template(
        &self,
        caller: &str,
        mut req: cordium::Template,
    ) -> ApiResult<cordium::Template> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            if let Some(m) = req.metadata.as_mut() {
                m.name = names::expand_space_child(&m.name, caller);
            }
            names::validate_metadata(
                req.metadata.as_ref(),
                MetaRules { require_name: false, parents: 2 },
            )?;
            let spec = require(req.spec.take(), "spec")?;
            require(req.status.take(), "status")?;
            let m = req.metadata.unwrap_or_default();
            let t: cordium::Template = load(c, &m.uid, &m.name)?;
            let mut t = self.settled(c, now, t)?;
            names::metadata_update(t.meta_mut(), &m);
            t.spec = Some(spec);
            let space = space_of(c, t.status.as_ref().and_then(|s| s.space_ref.as_ref()))?;
            require_member(space_owner(&space), &user)?;
            self.save(c, now, &mut t)?;
            Ok(t)
        })
    }

    pub fn delete_template(&self, caller: &str, mut req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let t: cordium::Template = load(c, &req.uid, &req.name)?;
            let name = name_of(&t);
            if name.starts_with("default.") {
                return Err(ApiError::invalid(format!(
                    "You cannot delete the default Template: {name}"
                )));
            }
            let status = t.status.clone().unwrap_or_default();
            let is_owner = status.user_ref.as_ref().is_some_and(|r| r.uid == uid_of(&user));
            if !is_owner {
                let space = space_of(c, status.space_ref.as_ref())?;
                require_member(space_owner(&space), &user)?;
            }
            store::delete(c, &uid_of(&t))?;
            Ok(())
        })
    }

    pub fn get_template(
        &self,
        caller: &str,
        req: meta::GetOptions,
    ) -> ApiResult<cordium::Template> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            self.do_get_template(c, now, &user, caller, req)
        })
    }

    fn do_get_template(
        &self,
        c: &Connection,
        now: SystemTime,
        user: &core::User,
        caller: &str,
        mut req: meta::GetOptions,
    ) -> ApiResult<cordium::Template> {
        req.name = names::expand_space_child(&req.name, caller);
        names::check_key(&req.uid, &req.name, Some(2))?;
        let t: cordium::Template = load(c, &req.uid, &req.name)?;
        let space = space_of(c, t.status.as_ref().and_then(|s| s.space_ref.as_ref()))?;
        require_member(space_owner(&space), user)?;
        self.settled(c, now, t)
    }

    /// Resolves a Space reference of a List request (a one-part name gets the caller appended).
    fn member_space(
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

    /// ListTemplate: `spaceRef` is required.
    pub fn list_template(
        &self,
        caller: &str,
        req: cordium::ListTemplateOptions,
    ) -> ApiResult<cordium::TemplateList> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let space = self.member_space(c, &user, caller, req.space_ref.as_ref())?;
            let filter = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            let (items, meta) = self.page::<cordium::Template>(c, &filter, req.common.as_ref())?;
            let items = items
                .into_iter()
                .map(|t| self.settled(c, now, t))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(cordium::TemplateList {
                api_version: "cordium/v1".into(),
                kind: "TemplateList".into(),
                items,
                list_response_meta: Some(meta),
            })
        })
    }

    // ---- Builds ------------------------------------------------------------------------

    /// BuildTemplate: cancels a running build, prepends a RUNNING one (tags default `latest`).
    /// The name in `templateRef` is expanded like a Template name.
    pub fn build_template(
        &self,
        caller: &str,
        req: cordium::BuildTemplateRequest,
    ) -> ApiResult<cordium::Template> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let Some(r) = req.template_ref else {
                return Err(ApiError::invalid("TemplateRef not defined"));
            };
            let name = names::expand_space_child(&r.name, caller);
            names::check_ref(&r.uid, &name, 2)?;
            let mut tags = req.tags;
            if tags.is_empty() {
                tags = vec!["latest".to_string()];
            } else {
                if tags.len() > 10 {
                    return Err(ApiError::invalid("Too many tags"));
                }
                for t in &tags {
                    if !t.is_ascii() || t.len() < 2 || t.len() > 16 {
                        return Err(ApiError::invalid("Invalid Tag"));
                    }
                }
            }
            let t: cordium::Template = load(c, &r.uid, &name)?;
            let space = space_of(c, t.status.as_ref().and_then(|s| s.space_ref.as_ref()))?;
            require_member(space_owner(&space), &user)?;
            let mut t = self.settled(c, now, t)?;
            builds::start(&mut t, self.random_name(6), tags, now);
            self.save(c, now, &mut t)?;
            Ok(t)
        })
    }

    /// CancelBuildTemplate: with no running build, returns the Template unchanged.
    pub fn cancel_build_template(
        &self,
        caller: &str,
        req: cordium::CancelBuildTemplateRequest,
    ) -> ApiResult<cordium::Template> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let Some(r) = req.template_ref else {
                return Err(ApiError::invalid("TemplateRef not defined"));
            };
            let get = meta::GetOptions { uid: r.uid, name: r.name };
            let mut t = self.do_get_template(c, now, &user, caller, get)?;
            if builds::cancel(&mut t, now) {
                self.save(c, now, &mut t)?;
            }
            Ok(t)
        })
    }

    // ---- Secret ------------------------------------------------------------------------

    /// CreateSecret: the data is stored, never returned.
    pub fn create_secret(
        &self,
        caller: &str,
        mut req: cordium::Secret,
    ) -> ApiResult<cordium::Secret> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let data = require(req.data.take(), "data")?;
            let (m, spec, space) =
                new_space_child(c, caller, req.metadata.take(), req.spec.take())?;
            let in_space = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            if store::count::<cordium::Secret>(c, &in_space)? >= MAX_SECRETS_PER_SPACE {
                return Err(ApiError::denied("Number of Secrets per Space has been exceeded"));
            }
            if store::name_taken(c, "Secret", &m.name)? {
                return Err(ApiError::invalid("This Secret name already exists"));
            }
            check_secret_data(&data)?;
            require_member(space_owner(&space), &user)?;
            let mut s = cordium::Secret {
                metadata: Some(names::metadata_from(&m)),
                spec: Some(spec),
                status: Some(cordium::secret::Status {
                    space_ref: Some(reference(&space)),
                    user_ref: Some(reference(&user)),
                }),
                data: Some(data),
                ..Default::default()
            };
            self.save_new(c, now, &mut s)?;
            s.data = None;
            Ok(s)
        })
    }

    pub fn get_secret(
        &self,
        caller: &str,
        mut req: meta::GetOptions,
    ) -> ApiResult<cordium::Secret> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let mut s: cordium::Secret = load(c, &req.uid, &req.name)?;
            let space = space_of(c, s.status.as_ref().and_then(|st| st.space_ref.as_ref()))?;
            require_member(space_owner(&space), &user)?;
            s.data = None;
            Ok(s)
        })
    }

    pub fn delete_secret(&self, caller: &str, mut req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let s: cordium::Secret = load(c, &req.uid, &req.name)?;
            let space = space_of(c, s.status.as_ref().and_then(|st| st.space_ref.as_ref()))?;
            require_member(space_owner(&space), &user)?;
            store::delete(c, &uid_of(&s))?;
            Ok(())
        })
    }

    /// ListSecret: `spaceRef` is required; data is never returned.
    pub fn list_secret(
        &self,
        caller: &str,
        req: cordium::ListSecretOptions,
    ) -> ApiResult<cordium::SecretList> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let space = self.member_space(c, &user, caller, req.space_ref.as_ref())?;
            let filter = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            let (mut items, meta) =
                self.page::<cordium::Secret>(c, &filter, req.common.as_ref())?;
            for s in &mut items {
                s.data = None;
            }
            Ok(cordium::SecretList {
                api_version: "cordium/v1".into(),
                kind: "SecretList".into(),
                items,
                list_response_meta: Some(meta),
            })
        })
    }
}

fn check_secret_data(data: &cordium::secret::Data) -> ApiResult<()> {
    use cordium::secret::data::Type;
    let len = match &data.r#type {
        Some(Type::Value(v)) => v.len(),
        Some(Type::ValueBytes(v)) => v.len(),
        _ => return Err(ApiError::invalid("Invalid Secret data type")),
    };
    if len == 0 {
        return Err(ApiError::invalid("Empty value"));
    }
    if len > MAX_SECRET_BYTES {
        return Err(ApiError::invalid("Secret data is too large"));
    }
    Ok(())
}
