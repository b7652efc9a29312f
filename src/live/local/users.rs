//! core.v1 RPCs of the local cluster: Users, Groups and Policies (create, get, list, update,
//! delete) with Octelium's single-segment name rule and metadata rules. Users get the checks of
//! octelium `cluster/apiserver/apiserver/admin/user.go` @ 2918ec0e (`validateUser`,
//! `checkAndSetUser`, `CheckIsSystem`, no deleting oneself); `attrs` keys camelCase
//! (`cluster/common/apivalidation/apivalidation.go`, `ValidateAttrs`). Any authenticated caller
//! may manage them here (the core-API admin gate is the server's, `src/server`).

use rusqlite::Connection;

use super::engine::{load, name_of, require, uid_of, Engine};
use super::error::{ApiError, ApiResult, Code};
use super::names::{self, MetaRules};
use super::policies;
use super::spaces::go_status;
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
    /// Kind-specific request checks (after the metadata rules, before any lookup).
    fn validate_request(&self) -> ApiResult<()> {
        Ok(())
    }
    /// How a failed [`CoreKind::validate_request`] (or metadata rule) is answered.
    fn wrap_invalid(e: ApiError) -> ApiError {
        e
    }
    /// The answer to a create whose name is taken.
    fn taken(name: &str) -> ApiError {
        ApiError::new(Code::AlreadyExists, format!("{} {name} already exists", Self::KIND))
    }
    /// Checks against other stored objects (references that must exist, uniqueness).
    fn check_refs(&self, _c: &Connection) -> ApiResult<()> {
        Ok(())
    }
    /// Checks before a delete against other stored objects (a Group Users belong to).
    fn check_delete(&self, _c: &Connection) -> ApiResult<()> {
        Ok(())
    }
    /// Whether this is a User with `spec.isDisabled`.
    fn is_disabled_user(&self) -> bool {
        false
    }
}

macro_rules! core_kind {
    ($ty:ty, $spec:ty, $list:ident, $list_kind:literal $(, { $($extra:item)* })?) => {
        impl CoreKind for $ty {
            $($($extra)*)?
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

core_kind!(core::User, core::user::Spec, UserList, "UserList", {
    fn validate_request(&self) -> ApiResult<()> {
        validate_user(self)
    }
    // Upstream answers `serr.InvalidArgWithErr(err)`: the inner status printed whole.
    fn wrap_invalid(e: ApiError) -> ApiError {
        ApiError::invalid(go_status(&e))
    }
    fn taken(name: &str) -> ApiError {
        ApiError::new(Code::AlreadyExists, format!("The User {name} already exists"))
    }
    fn check_refs(&self, c: &Connection) -> ApiResult<()> {
        check_user_refs(c, self)
    }
    fn is_disabled_user(&self) -> bool {
        self.spec.as_ref().is_some_and(|s| s.is_disabled)
    }
});
core_kind!(core::Group, core::group::Spec, GroupList, "GroupList", {
    // octelium `cluster/apiserver/apiserver/admin/group.go`: errors returned as they are.
    fn validate_request(&self) -> ApiResult<()> {
        policies::validate_group(self)
    }
    fn taken(name: &str) -> ApiError {
        ApiError::new(Code::AlreadyExists, format!("The Group {name} already exists"))
    }
    fn check_refs(&self, c: &Connection) -> ApiResult<()> {
        let auth = self.spec.as_ref().and_then(|s| s.authorization.as_ref());
        policies::check_policy_owner_refs(
            c,
            auth.map(|a| a.policies.as_slice()).unwrap_or_default(),
        )
    }
    fn check_delete(&self, c: &Connection) -> ApiResult<()> {
        policies::check_group_delete(c, self)
    }
});
core_kind!(core::Policy, core::policy::Spec, PolicyList, "PolicyList", {
    // octelium `cluster/apiserver/apiserver/admin/policy.go`: Create/UpdatePolicy answer
    // `serr.InvalidArgWithErr(validatePolicy(...))`.
    fn validate_request(&self) -> ApiResult<()> {
        policies::validate_policy(self)
    }
    fn wrap_invalid(e: ApiError) -> ApiError {
        ApiError::invalid(go_status(&e))
    }
    fn taken(name: &str) -> ApiError {
        ApiError::new(Code::AlreadyExists, format!("The Policy {name} already exists"))
    }
});

impl Engine {
    /// Create{User,Group,Policy}: a one-segment name; a taken name is ALREADY_EXISTS.
    pub fn create_core<T: CoreKind>(&self, caller: &str, mut req: T) -> ApiResult<T> {
        self.tx(|c, now| {
            self.caller(c, now, caller)?;
            names::validate_metadata(req.meta(), MetaRules { require_name: true, parents: 0 })
                .and_then(|()| req.validate_request())
                .map_err(T::wrap_invalid)?;
            let spec = require(req.take_spec(), "spec")?;
            let m = req.meta().cloned().unwrap_or_default();
            if store::name_taken(c, T::KIND, &m.name)? {
                return Err(T::taken(&m.name));
            }
            let mut object = T::build(names::metadata_from(&m), spec);
            object.check_refs(c)?;
            self.save_new(c, now, &mut object)?;
            Ok(object)
        })
    }

    /// Update{User,Group,Policy}: found by name (or uid); spec and mutable metadata replaced.
    pub fn update_core<T: CoreKind>(&self, caller: &str, mut req: T) -> ApiResult<T> {
        self.tx(|c, now| {
            let me = self.caller(c, now, caller)?;
            names::validate_metadata(req.meta(), MetaRules { require_name: false, parents: 0 })
                .and_then(|()| req.validate_request())
                .map_err(T::wrap_invalid)?;
            let spec = require(req.take_spec(), "spec")?;
            let m = req.meta().cloned().unwrap_or_default();
            let mut object: T = load(c, &m.uid, &m.name)?;
            check_not_system(&object)?;
            names::metadata_update(object.meta_mut(), &m);
            object.set_spec(spec);
            object.check_refs(c)?;
            if uid_of(&object) == uid_of(&me) && object.is_disabled_user() {
                return Err(ApiError::denied("You cannot disable yourself"));
            }
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
            check_not_system(&object)?;
            object.check_delete(c)?;
            if T::KIND == "User" && uid_of(&object) == uid_of(&me) {
                return Err(ApiError::denied("You cannot delete your own User account"));
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

/// Upstream `apivalidation.CheckIsSystem`: system objects (the genesis User `octelium`) cannot
/// be updated or deleted.
fn check_not_system<T: Stored>(o: &T) -> ApiResult<()> {
    if o.meta().is_some_and(|m| m.is_system) {
        return Err(ApiError::denied("This is a System Resource"));
    }
    Ok(())
}

/// Upstream `isCamelCase`: a lowercase first letter, then letters and digits only.
fn is_camel_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(char::is_lowercase) && chars.all(char::is_alphanumeric)
}

/// Upstream `isMapCamelCase`: every key (at most 100 bytes), nested objects included.
fn struct_is_camel_case(s: &prost_types::Struct) -> bool {
    s.fields.iter().all(|(k, v)| {
        k.len() <= 100
            && is_camel_case(k)
            && match &v.kind {
                Some(prost_types::value::Kind::StructValue(inner)) => struct_is_camel_case(inner),
                _ => true,
            }
    })
}

/// Upstream `apivalidation.ValidateAttrs`.
pub(super) fn validate_attrs(attrs: Option<&prost_types::Struct>) -> ApiResult<()> {
    let Some(attrs) = attrs else { return Ok(()) };
    if prost::Message::encoded_len(attrs) > 20_000 {
        return Err(ApiError::invalid("Attrs field is too large"));
    }
    if !struct_is_camel_case(attrs) {
        return Err(ApiError::invalid("attrs map keys must be in camelCase"));
    }
    Ok(())
}

/// govalidator `IsEmail`, approximated: one `@`, a non-empty local part without spaces, and a
/// dotted domain of letters, digits and hyphens.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && !local.contains(['@', ' '])
        && labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
}

/// Upstream `validateUser` (after the metadata rules).
fn validate_user(u: &core::User) -> ApiResult<()> {
    use core::user::spec::Type;
    let Some(spec) = &u.spec else { return Err(ApiError::invalid("Nil Spec")) };
    validate_attrs(spec.attrs.as_ref())?;
    match Type::try_from(spec.r#type) {
        Ok(Type::Human | Type::Workload) => {}
        Ok(Type::Unknown) => {
            return Err(ApiError::invalid(
                "You must set the User type (i.e. either `HUMAN` or `WORKLOAD`)",
            ))
        }
        Err(_) => return Err(ApiError::invalid("Invalid User type")),
    }
    let email = &spec.email;
    if !email.is_empty() {
        if spec.r#type() != Type::Human {
            return Err(ApiError::invalid("Email is only allowed for HUMAN Users"));
        }
        if !is_email(email) {
            return Err(ApiError::invalid(format!("Invalid email: {email}")));
        }
        if !email.is_ascii() {
            return Err(ApiError::invalid(format!("Invalid email. Must be ascii: {email}")));
        }
        if email.chars().any(char::is_uppercase) {
            return Err(ApiError::invalid(format!("Email must be lowercase: {email}")));
        }
        if email.len() > 150 {
            return Err(ApiError::invalid(format!("Email is too long: {email}")));
        }
    }
    if let Some(i) = &spec.info {
        let fields = [
            &i.locale,
            &i.phone,
            &i.first_name,
            &i.middle_name,
            &i.last_name,
            &i.website,
            &i.country,
        ];
        if fields.iter().any(|f| f.len() > 256) {
            return Err(ApiError::invalid("User info field is too long"));
        }
    }
    if let Some(a) = &spec.authentication {
        if a.identities.len() > 100 {
            return Err(ApiError::invalid("Too many identities"));
        }
        for id in &a.identities {
            if id.identifier.is_empty() {
                return Err(ApiError::invalid("Empty identifier"));
            }
            if id.identity_provider.is_empty() {
                return Err(ApiError::invalid("Empty Identity Provider"));
            }
            if id.identifier.len() > 256 {
                return Err(ApiError::invalid("Identifier is too long"));
            }
            if id.identity_provider.len() > 256 {
                return Err(ApiError::invalid("Identity Provider is too long"));
            }
        }
    }
    for g in &spec.groups {
        if !names::is_segment(g) {
            return Err(ApiError::invalid(format!("Invalid Group name: {g}")));
        }
    }
    Ok(())
}

/// Upstream `checkAndSetUser`: the Policies and Groups named must exist, the email must be no
/// other User's, and the IdentityProviders must exist (there is no IdentityProvider kind here,
/// so any identity is refused).
fn check_user_refs(c: &Connection, u: &core::User) -> ApiResult<()> {
    let Some(spec) = &u.spec else { return Ok(()) };
    if let Some(a) = &spec.authorization {
        for p in &a.policies {
            if !store::name_taken(c, "Policy", p)? {
                return Err(ApiError::invalid(format!("The Policy {p} is not found")));
            }
        }
    }
    for g in &spec.groups {
        if !store::name_taken(c, "Group", g)? {
            return Err(ApiError::invalid(format!("The Group {g} does not exist")));
        }
    }
    if !spec.email.is_empty() {
        let me = name_of(u);
        let same_email = Filter { subtype: Some(spec.email.clone()), ..Default::default() };
        for other in store::all::<core::User>(c, &same_email)? {
            if name_of(&other) != me {
                return Err(ApiError::invalid(format!(
                    "The email `{}` already exists for another User",
                    spec.email
                )));
            }
        }
    }
    if let Some(id) = spec.authentication.as_ref().and_then(|a| a.identities.first()) {
        return Err(ApiError::invalid(format!(
            "The Identity Provider {} does not exist",
            id.identity_provider
        )));
    }
    Ok(())
}
