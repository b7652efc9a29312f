//! Template RPCs of the local cluster, pre-builds included, after upstream
//! `mains/{template,build}.go` (octelium/cordium @ 1b2a84c7, 2928300): names, checks, error
//! codes and their order; Space roles (Create/Update/Build need Space ADMIN or OWNER); the spec
//! validated as a Workspace spec (`validateAndSetTemplate`), its mounts resolved and its
//! GitProvider looked up.

use std::time::SystemTime;

use rusqlite::Connection;

use super::access;
use super::builds;
use super::engine::{load, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::{new_space_child, space_of, space_uid_of, StoreSecrets};
use super::store::{self, Filter, Stored};
use super::validate;
use super::workspaces::MAX_ACTIVE_WORKSPACES_PER_USER;
use crate::live::wire::{cordium, core, meta};

/// Upstream `validateAndSetTemplate`: the spec validated as a Workspace spec in the Template's
/// Space (Secrets by exact name), its volume mounts resolved (`setWorkspaceVolumeMounts`), then
/// `spec.gitProvider`, read by its exact stored name and in the same Space (server-rules.md:
/// `mains/template.go` ~L261-273, NOT_FOUND).
fn validate_template(
    c: &Connection,
    space: &cordium::Space,
    spec: &mut cordium::template::Spec,
) -> ApiResult<()> {
    let space_uid = uid_of(space);
    let secrets = StoreSecrets { c, space_uid: &space_uid };
    validate::workspace_spec(&validate::template_as_workspace(spec), &secrets)?;
    super::volumes::set_volume_mounts(c, spec.runtime.as_mut(), space)?;
    if !spec.git_provider.is_empty()
        && !super::git_providers::git_provider_in_space(c, &spec.git_provider, &space_uid)?
    {
        return Err(ApiError::not_found(format!(
            "cordium.v1.GitProvider {} does not exist",
            spec.git_provider
        )));
    }
    Ok(())
}

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
            access::check_admin(c, &uid_of(&space), &user)?;
            let in_space = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            if store::count::<cordium::Template>(c, &in_space)? >= MAX_TEMPLATES_PER_SPACE {
                return Err(ApiError::denied(
                    "Number of Templates per Environment has been exceeded",
                ));
            }
            if store::name_taken(c, "Template", &m.name)? {
                return Err(ApiError::invalid("Template name already exists for this Environment"));
            }
            let mut spec = spec;
            validate_template(c, &space, &mut spec)?;
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
            let space_uid = space_uid_of(t.status.as_ref().and_then(|s| s.space_ref.as_ref()));
            let space = space_of(c, t.status.as_ref().and_then(|s| s.space_ref.as_ref()))?;
            let mut spec = spec;
            validate_template(c, &space, &mut spec)?;
            t.spec = Some(spec);
            access::check_admin(c, &space_uid, &user)?;
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
            let space_uid = space_uid_of(status.space_ref.as_ref());
            access::check_resource_or_space_owner(c, status.user_ref.as_ref(), &space_uid, &user)?;
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
        let space_uid = space_uid_of(t.status.as_ref().and_then(|s| s.space_ref.as_ref()));
        access::check_member(c, &space_uid, user)?;
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
            access::check_admin(c, &uid_of(&space), &user)?;
            let mut t = self.settled(c, now, t)?;
            // Upstream `createBuildRun` → `checkIfCanStartWorkspace`: the caller's Workspaces
            // that are not STOPPED count against the active quota.
            let active = store::all::<cordium::Workspace>(
                c,
                &Filter { owner_uid: Some(uid_of(&user)), ..Default::default() },
            )?
            .iter()
            .filter(|w| {
                w.status.as_ref().map(|s| s.state())
                    != Some(cordium::workspace::status::State::Stopped)
            })
            .count();
            if active >= MAX_ACTIVE_WORKSPACES_PER_USER {
                return Err(ApiError::denied("Maximum limit of active Workspaces exceeded"));
            }
            builds::start(&mut t, self.random_name(6), tags, now);
            self.save(c, now, &mut t)?;
            Ok(t)
        })
    }

    /// CancelBuildTemplate: any member (upstream reads the Template through GetTemplate); with
    /// no running build, returns the Template unchanged and writes nothing. Upstream also
    /// answers OK, changing nothing, when the build's Workspace is gone; here a running build
    /// always has its (simulated) Workspace, so that case cannot arise.
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
