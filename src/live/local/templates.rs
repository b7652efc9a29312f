//! Template RPCs of the local cluster, pre-builds included, after upstream
//! `mains/{template,build}.go` (octelium/cordium): names, checks, error codes and their order.
//! Deviations, for lack of the upstream machinery: `spec.gitProvider` is not resolved (there are
//! no GitProviders here); Template specs get no deep validation.

use std::time::SystemTime;

use rusqlite::Connection;

use super::builds;
use super::engine::{load, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::{new_space_child, require_member, space_of, space_owner};
use super::store::{self, Filter, Stored};
use crate::live::wire::{cordium, core, meta};

/// Per-Space cap on Templates (upstream `maxTemplatesPerEnvironment`).
pub const MAX_TEMPLATES_PER_SPACE: u64 = 1000;

impl Engine {
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
}
