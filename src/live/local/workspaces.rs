//! Workspace RPCs of the local cluster, after upstream `mains/workspace.go` (octelium/cordium):
//! server-chosen random names (3–6 lowercase alphanumerics), only `displayName` kept from the
//! request metadata, created STOPPED with template/space resolved from `status.templateRef`
//! (3-part name or uid, not expanded; absent → `default.default.<caller>`, auto-creating Space
//! `default.<caller>`), owner-only access (each RPC with its own upstream message), the spec
//! validated against the Space (`validate.rs`), effective limits in `status.limit`. Read at
//! octelium/cordium @ c39da7b4.

use std::time::SystemTime;

use rusqlite::Connection;

use super::access;
use super::engine::{load, name_of, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::StoreSecrets;
use super::store::{self, Filter, Stored};
use super::validate;
use crate::live::wire::{cordium, core, meta};

use cordium::workspace::spec::{limit, Limit};

/// Per-user cap on Workspaces (upstream `getMaxWorkspacesPerUser` default).
pub const MAX_WORKSPACES_PER_USER: u64 = 1000;
/// Per-user cap on Workspaces that are not STOPPED (upstream `getMaxActiveWorkspacesPerUser`,
/// as `server-rules.md` gives it; the c39da7b4 handler defaults to 32).
pub const MAX_ACTIVE_WORKSPACES_PER_USER: usize = 128;

/// Upstream hard defaults of the effective limit.
const DEFAULT_MILLICORES: u32 = 2000;
const DEFAULT_MEMORY_MB: u32 = 6000;
const DEFAULT_STORAGE_MB: u32 = 20000;

/// Whether the caller owns the Workspace; `None` when it has no owner at all.
fn owner_is(ws: &cordium::Workspace, user: &core::User) -> Option<bool> {
    let owner = ws.status.as_ref().and_then(|s| s.user_ref.as_ref())?;
    Some(owner.uid == uid_of(user))
}

/// The effective limit (reference §7): the Workspace's non-zero fields, else the Template's,
/// else (ORGANIZATION) the Space's default; then hard defaults; then the Space's cap.
fn effective_limit(ws: Option<&Limit>, template: Option<&Limit>, space: &cordium::Space) -> Limit {
    let space_limit = space.spec.as_ref().and_then(|s| s.limit.as_ref());
    let is_org = space.status.as_ref().map(|s| s.r#type())
        == Some(cordium::space::status::Type::Organization);
    let default = if is_org { space_limit.and_then(|l| l.default_limit.as_ref()) } else { None };
    let max = space_limit.and_then(|l| l.max_limit.as_ref());
    let pick = |f: &dyn Fn(&Limit) -> u32, hard: u32| -> u32 {
        let v =
            [ws, template, default].into_iter().flatten().map(f).find(|v| *v != 0).unwrap_or(hard);
        match max.map(f) {
            Some(m) if m != 0 && v > m => m,
            _ => v,
        }
    };
    Limit {
        cpu: Some(limit::Cpu {
            millicores: pick(&|l| l.cpu.as_ref().map_or(0, |x| x.millicores), DEFAULT_MILLICORES),
        }),
        memory: Some(limit::Memory {
            megabytes: pick(&|l| l.memory.as_ref().map_or(0, |x| x.megabytes), DEFAULT_MEMORY_MB),
        }),
        storage: Some(limit::Storage {
            megabytes: pick(&|l| l.storage.as_ref().map_or(0, |x| x.megabytes), DEFAULT_STORAGE_MB),
        }),
    }
}

impl Engine {
    /// A free random Workspace name: 3 characters first, longer as names run out (upstream).
    fn workspace_name(&self, c: &Connection) -> ApiResult<String> {
        for i in 0..10_000 {
            let len = match i {
                0..50 => 3,
                50..500 => 4,
                500..1000 => 5,
                _ => 6,
            };
            let name = self.random_name(len);
            if !store::name_taken(c, "Workspace", &name)? {
                return Ok(name);
            }
        }
        Err(ApiError::internal("Could not generate Workspace name"))
    }

    pub fn create_workspace(
        &self,
        caller: &str,
        req: cordium::Workspace,
    ) -> ApiResult<cordium::Workspace> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            self.do_create_workspace(c, now, &user, req)
        })
    }

    fn do_create_workspace(
        &self,
        c: &Connection,
        now: SystemTime,
        user: &core::User,
        mut req: cordium::Workspace,
    ) -> ApiResult<cordium::Workspace> {
        names::validate_metadata(req.metadata.as_ref(), MetaRules::default())?;
        let spec = require(req.spec.take(), "spec")?;
        let owned = store::count::<cordium::Workspace>(
            c,
            &Filter { owner_uid: Some(uid_of(user)), ..Default::default() },
        )?;
        if owned >= MAX_WORKSPACES_PER_USER {
            return Err(ApiError::invalid("Number of Workspaces per User has been exceeded"));
        }
        let name = self.workspace_name(c)?;
        let template_ref = req.status.as_ref().and_then(|s| s.template_ref.clone());
        let template: cordium::Template = match template_ref {
            None => {
                let username = name_of(user);
                let default = format!("default.default.{username}");
                match store::get_by_name::<cordium::Template>(c, &default)? {
                    Some(t) => t,
                    None => {
                        let space = cordium::Space {
                            metadata: Some(meta::Metadata {
                                name: format!("default.{username}"),
                                display_name: "Default Space".to_string(),
                                ..Default::default()
                            }),
                            spec: Some(Default::default()),
                            ..Default::default()
                        };
                        self.do_create_space(c, now, user, space)?;
                        load(c, "", &default)?
                    }
                }
            }
            Some(r) => {
                names::check_ref(&r.uid, &r.name, 2)?;
                load(c, &r.uid, &r.name)?
            }
        };
        let space_ref = template.status.as_ref().and_then(|s| s.space_ref.clone());
        let Some(space_ref) = space_ref else {
            return Err(ApiError::invalid("Workspace must belong to a Space"));
        };
        let space: cordium::Space = load(c, &space_ref.uid, "")?;
        let space_uid = uid_of(&space);
        validate::workspace_spec(&spec, &StoreSecrets { c, space_uid: &space_uid })?;
        let mut spec = spec;
        super::volumes::set_volume_mounts(c, spec.runtime.as_mut(), &space)?;
        access::check_member(c, &space_uid, user)?;
        let limit = effective_limit(
            spec.limit.as_ref(),
            template.spec.as_ref().and_then(|s| s.limit.as_ref()),
            &space,
        );
        let mut status = cordium::workspace::Status {
            user_ref: Some(reference(user)),
            template_ref: Some(reference(&template)),
            space_ref: Some(reference(&space)),
            limit: Some(limit),
            ..Default::default()
        };
        status.set_state(cordium::workspace::status::State::Stopped);
        status.space_type = space.status.as_ref().map(|s| s.r#type).unwrap_or_default();
        let display_name = req.metadata.map(|m| m.display_name).unwrap_or_default();
        let mut ws = cordium::Workspace {
            metadata: Some(meta::Metadata { name, display_name, ..Default::default() }),
            spec: Some(spec),
            status: Some(status),
            ..Default::default()
        };
        self.save_new(c, now, &mut ws)?;
        Ok(ws)
    }

    /// UpdateWorkspace: found by `metadata.uid` only; replaces displayName and spec.
    pub fn update_workspace(
        &self,
        caller: &str,
        mut req: cordium::Workspace,
    ) -> ApiResult<cordium::Workspace> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            names::validate_metadata(req.metadata.as_ref(), MetaRules::default())?;
            let spec = require(req.spec.take(), "spec")?;
            let m = req.metadata.unwrap_or_default();
            let mut ws: cordium::Workspace = load(c, &m.uid, "")?;
            match owner_is(&ws, &user) {
                None => return Err(ApiError::denied("Workspace does not belong to a User")),
                Some(false) => return Err(ApiError::denied("Workspace not owned by the User")),
                Some(true) => {}
            }
            let space_uid =
                ws.status.as_ref().and_then(|s| s.space_ref.as_ref()).map(|r| r.uid.clone());
            let space_uid = space_uid.unwrap_or_default();
            validate::workspace_spec(&spec, &StoreSecrets { c, space_uid: &space_uid })?;
            let mut spec = spec;
            let space: cordium::Space = load(c, &space_uid, "")?;
            super::volumes::set_volume_mounts(c, spec.runtime.as_mut(), &space)?;
            ws.meta_mut().display_name = m.display_name;
            ws.spec = Some(spec);
            self.save(c, now, &mut ws)?;
            Ok(ws)
        })
    }

    pub fn delete_workspace(&self, caller: &str, req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, None)?;
            let ws: cordium::Workspace = load(c, &req.uid, &req.name)?;
            match owner_is(&ws, &user) {
                None => return Err(ApiError::invalid("Workspace not owned by the User")),
                Some(false) => return Err(ApiError::denied("Workspace is not owned by this User")),
                Some(true) => {}
            }
            store::delete(c, &uid_of(&ws))?;
            Ok(())
        })
    }

    pub fn get_workspace(
        &self,
        caller: &str,
        req: meta::GetOptions,
    ) -> ApiResult<cordium::Workspace> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, None)?;
            let ws: cordium::Workspace = load(c, &req.uid, &req.name)?;
            if owner_is(&ws, &user) == Some(true) {
                return Ok(ws);
            }
            Err(ApiError::denied("This Workspace is not owned by the User"))
        })
    }

    /// ListWorkspace: only the caller's; a `spaceRef` or `templateRef` filter is resolved (by
    /// uid or name) and filters by the found object's uid.
    pub fn list_workspace(
        &self,
        caller: &str,
        req: cordium::ListWorkspaceOptions,
    ) -> ApiResult<cordium::WorkspaceList> {
        use cordium::list_workspace_options::Filter as F;
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let mut filter = Filter { owner_uid: Some(uid_of(&user)), ..Default::default() };
            match &req.filter {
                Some(F::TemplateRef(r)) => {
                    names::check_ref(&r.uid, &r.name, 2)?;
                    let t: cordium::Template = load(c, &r.uid, &r.name)?;
                    filter.template_uid = Some(uid_of(&t));
                }
                Some(F::SpaceRef(r)) => {
                    names::check_ref(&r.uid, &r.name, 1)?;
                    let space: cordium::Space = load(c, &r.uid, &r.name)?;
                    filter.space_uid = Some(uid_of(&space));
                }
                None => {}
            }
            let (items, meta) = self.page(c, &filter, req.common.as_ref())?;
            Ok(cordium::WorkspaceList {
                api_version: "cordium/v1".into(),
                kind: "WorkspaceList".into(),
                items,
                list_response_meta: Some(meta),
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lim(cpu: u32, mem: u32, sto: u32) -> Limit {
        Limit {
            cpu: Some(limit::Cpu { millicores: cpu }),
            memory: Some(limit::Memory { megabytes: mem }),
            storage: Some(limit::Storage { megabytes: sto }),
        }
    }

    #[test]
    fn limits_fall_back_field_by_field() {
        let space = cordium::Space::default();
        let l = effective_limit(Some(&lim(100, 0, 0)), Some(&lim(0, 200, 0)), &space);
        assert_eq!(l, lim(100, 200, DEFAULT_STORAGE_MB));
        let l = effective_limit(None, None, &space);
        assert_eq!(l, lim(DEFAULT_MILLICORES, DEFAULT_MEMORY_MB, DEFAULT_STORAGE_MB));
    }

    #[test]
    fn space_max_caps() {
        let space = cordium::Space {
            spec: Some(cordium::space::Spec {
                limit: Some(cordium::space::spec::Limit {
                    default_limit: None,
                    max_limit: Some(lim(1000, 0, 0)),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let l = effective_limit(None, None, &space);
        assert_eq!(l.cpu.unwrap().millicores, 1000);
    }
}
