//! Secret RPCs of the local cluster, after upstream `mains/secret.go` (octelium/cordium @
//! 619792c): the data is stored and never returned; there is no update; Create, Get and Delete
//! need Space ADMIN or OWNER (`CheckIsMemberAdmin`), List any member.

use super::access;
use super::engine::{load, reference, require, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names;
use super::spaces::{new_space_child, space_uid_of};
use super::store::{self, Filter};
use crate::live::wire::{cordium, meta};

/// Per-Space cap on Secrets (upstream `maxSecretsPerSpace`).
pub const MAX_SECRETS_PER_SPACE: u64 = 1000;
/// Largest Secret value (upstream `checkSecretData`).
pub const MAX_SECRET_BYTES: usize = 1500;

impl Engine {
    // ---- Secret ------------------------------------------------------------------------

    /// CreateSecret: the data is stored (sealed, apart from the body), never returned.
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
            access::check_admin(c, &uid_of(&space), &user)?;
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
            let space_uid = space_uid_of(s.status.as_ref().and_then(|st| st.space_ref.as_ref()));
            access::check_admin(c, &space_uid, &user)?;
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
            let space_uid = space_uid_of(s.status.as_ref().and_then(|st| st.space_ref.as_ref()));
            access::check_admin(c, &space_uid, &user)?;
            store::delete(c, &uid_of(&s))?;
            Ok(())
        })?;
        self.forget_deleted();
        Ok(())
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
