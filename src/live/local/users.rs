//! core.v1 RPCs of the local cluster: Users, Groups and Policies (create, get, list, update,
//! delete) with Octelium's single-segment name rule and metadata rules. Any authenticated caller
//! may manage them (a real cluster asks its policies; the local one has none). A caller may not
//! delete its own User (local rule: the local cluster keys ownership on the caller's User).

use super::engine::{load, name_of, require, uid_of, Engine};
use super::error::{ApiError, ApiResult, Code};
use super::names::{self, MetaRules};
use super::store::{self, Filter, Stored};
use crate::live::wire::{core, meta};

/// A core.v1 kind handled generically: envelope + spec, server-owned status.
pub trait CoreKind: Stored {
    type Spec: Clone;
    type List;
    fn take_spec(&mut self) -> Option<Self::Spec>;
    fn build(metadata: meta::Metadata, spec: Self::Spec) -> Self;
    fn set_spec(&mut self, spec: Self::Spec);
    fn list(items: Vec<Self>, meta: meta::ListResponseMeta) -> Self::List;
}

macro_rules! core_kind {
    ($ty:ty, $spec:ty, $list:ident, $list_kind:literal) => {
        impl CoreKind for $ty {
            type Spec = $spec;
            type List = core::$list;
            fn take_spec(&mut self) -> Option<$spec> {
                self.spec.take()
            }
            fn build(metadata: meta::Metadata, spec: $spec) -> Self {
                Self {
                    metadata: Some(metadata),
                    spec: Some(spec),
                    status: Some(Default::default()),
                    ..Default::default()
                }
            }
            fn set_spec(&mut self, spec: $spec) {
                self.spec = Some(spec);
            }
            fn list(items: Vec<Self>, meta: meta::ListResponseMeta) -> core::$list {
                core::$list {
                    api_version: "core/v1".into(),
                    kind: $list_kind.into(),
                    items,
                    list_response_meta: Some(meta),
                }
            }
        }
    };
}

core_kind!(core::User, core::user::Spec, UserList, "UserList");
core_kind!(core::Group, core::group::Spec, GroupList, "GroupList");
core_kind!(core::Policy, core::policy::Spec, PolicyList, "PolicyList");

impl Engine {
    /// Create{User,Group,Policy}: a one-segment name; a taken name is ALREADY_EXISTS.
    pub fn create_core<T: CoreKind>(&self, caller: &str, mut req: T) -> ApiResult<T> {
        self.tx(|c, now| {
            self.caller(c, now, caller)?;
            names::validate_metadata(req.meta(), MetaRules { require_name: true, parents: 0 })?;
            let spec = require(req.take_spec(), "spec")?;
            let m = req.meta().cloned().unwrap_or_default();
            if store::name_taken(c, T::KIND, &m.name)? {
                return Err(ApiError::new(
                    Code::AlreadyExists,
                    format!("{} {} already exists", T::KIND, m.name),
                ));
            }
            let mut object = T::build(names::metadata_from(&m), spec);
            self.save_new(c, now, &mut object)?;
            Ok(object)
        })
    }

    /// Update{User,Group,Policy}: found by name (or uid); spec and mutable metadata replaced.
    pub fn update_core<T: CoreKind>(&self, caller: &str, mut req: T) -> ApiResult<T> {
        self.tx(|c, now| {
            self.caller(c, now, caller)?;
            names::validate_metadata(req.meta(), MetaRules { require_name: false, parents: 0 })?;
            let spec = require(req.take_spec(), "spec")?;
            let m = req.meta().cloned().unwrap_or_default();
            let mut object: T = load(c, &m.uid, &m.name)?;
            names::metadata_update(object.meta_mut(), &m);
            object.set_spec(spec);
            self.save(c, now, &mut object)?;
            Ok(object)
        })
    }

    pub fn get_core<T: CoreKind>(&self, caller: &str, req: meta::GetOptions) -> ApiResult<T> {
        self.tx(|c, now| {
            self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, None)?;
            load(c, &req.uid, &req.name)
        })
    }

    pub fn delete_core<T: CoreKind>(
        &self,
        caller: &str,
        req: meta::DeleteOptions,
    ) -> ApiResult<()> {
        self.tx(|c, now| {
            let me = self.caller(c, now, caller)?;
            names::check_key(&req.uid, &req.name, None)?;
            let object: T = load(c, &req.uid, &req.name)?;
            if T::KIND == "User" && uid_of(&object) == uid_of(&me) {
                return Err(ApiError::denied(format!(
                    "User {} cannot delete itself",
                    name_of(&me)
                )));
            }
            store::delete(c, &uid_of(&object))?;
            Ok(())
        })
    }

    pub fn list_core<T: CoreKind>(
        &self,
        caller: &str,
        common: Option<meta::CommonListOptions>,
    ) -> ApiResult<T::List> {
        self.tx(|c, now| {
            self.caller(c, now, caller)?;
            let (items, meta) = self.page::<T>(c, &Filter::default(), common.as_ref())?;
            Ok(T::list(items, meta))
        })
    }

    /// Makes sure the User `username` exists (serve provisions its token users with it).
    pub fn ensure_user(&self, username: &str) -> ApiResult<core::User> {
        self.tx(|c, now| self.caller(c, now, username))
    }

    /// Makes sure the User `username` exists with `spec.type` HUMAN, or WORKLOAD when
    /// `workload` (serve's `--auth-token` / `--workload-token` users); an existing User of the
    /// other type is switched.
    pub fn provision_user(&self, username: &str, workload: bool) -> ApiResult<core::User> {
        use core::user::spec::Type;
        let want = if workload { Type::Workload } else { Type::Human } as i32;
        self.tx(|c, now| {
            let mut user = self.caller(c, now, username)?;
            let spec = user.spec.get_or_insert_with(Default::default);
            if spec.r#type != want {
                spec.r#type = want;
                self.save(c, now, &mut user)?;
            }
            Ok(user)
        })
    }
}
