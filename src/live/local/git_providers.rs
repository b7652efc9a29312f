//! GitProvider RPCs of the local cluster, after upstream `mains/gitprovider.go` (octelium/cordium
//! @ 2928300): named `<provider>.<space>.<owner>`, at most 100 per Space, one of github, gitlab
//! or oauth2 with a client secret naming a Secret of the same Space by its exact stored name;
//! Create needs Space ADMIN or OWNER, Update and Delete the resource's creator or the Space's
//! OWNER (`checkIsResourceOwnerOrSpaceOwner`).

use rusqlite::Connection;

use super::access;
use super::engine::{load, reference, uid_of, Engine};
use super::error::{ApiError, ApiResult};
use super::names::{self, MetaRules};
use super::spaces::{new_space_child, space_of, space_uid_of};
use super::store::{self, Filter, Stored};
use crate::live::wire::{cordium, meta};

use cordium::git_provider::spec::{client_secret, ClientSecret, Type};

/// Per-Space cap on GitProviders (upstream `maxGitProviderPerSpace`).
pub const MAX_GIT_PROVIDERS_PER_SPACE: u64 = 100;

/// Upstream `validateSecretOwner`: the client secret names a Secret of this Space, by its exact
/// stored name.
fn check_client_secret(
    c: &Connection,
    secret: Option<&ClientSecret>,
    space_uid: &str,
) -> ApiResult<()> {
    let Some(secret) = secret else {
        return Err(ApiError::invalid("You must set fromSecret"));
    };
    let name = match &secret.r#type {
        Some(client_secret::Type::FromSecret(s)) => s.as_str(),
        None => "",
    };
    if name.is_empty() {
        return Err(ApiError::invalid("Empty Secret name"));
    }
    match store::get_by_name::<cordium::Secret>(c, name)? {
        Some(s) => {
            let in_space = s.status.as_ref().and_then(|st| st.space_ref.as_ref());
            if in_space.is_some_and(|r| r.uid == space_uid) {
                Ok(())
            } else {
                Err(ApiError::invalid(format!("Secret does not exist: {name}")))
            }
        }
        None => Err(ApiError::invalid(format!("The Secret {name} is not found"))),
    }
}

fn check_scopes(scopes: &[String]) -> ApiResult<()> {
    if scopes.len() > 10 {
        return Err(ApiError::invalid("Too many scopes"));
    }
    for s in scopes {
        if s.is_empty() || !s.is_ascii() {
            return Err(ApiError::invalid(format!("Invalid scope {s}: invalid ASCII string")));
        }
    }
    Ok(())
}

fn check_client_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || !id.is_ascii() {
        return Err(ApiError::invalid("Invalid clientID. invalid ASCII string"));
    }
    Ok(())
}

fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https") && !rest.is_empty() && !rest.starts_with('/')
    })
}

/// Upstream `validateGitProvider`.
fn validate(c: &Connection, spec: &cordium::git_provider::Spec, space_uid: &str) -> ApiResult<()> {
    match &spec.r#type {
        Some(Type::Github(g)) => {
            check_client_id(&g.client_id)?;
            check_client_secret(c, g.client_secret.as_ref(), space_uid)?;
            check_scopes(&g.scopes)
        }
        Some(Type::Gitlab(g)) => {
            check_client_id(&g.client_id)?;
            check_client_secret(c, g.client_secret.as_ref(), space_uid)?;
            check_scopes(&g.scopes)
        }
        Some(Type::Oauth2(o)) => {
            check_client_id(&o.client_id)?;
            if !is_url(&o.auth_url) {
                return Err(ApiError::invalid("Invalid auth URL"));
            }
            if !is_url(&o.token_url) {
                return Err(ApiError::invalid("Invalid token URL"));
            }
            check_client_secret(c, o.client_secret.as_ref(), space_uid)?;
            if o.scopes.is_empty() {
                return Err(ApiError::invalid("You must provide at least one scope"));
            }
            check_scopes(&o.scopes)
        }
        None => Err(ApiError::invalid("You must provide a GitProvider type")),
    }
}

impl Engine {
    // ---- GitProvider -------------------------------------------------------------------

    pub fn create_git_provider(
        &self,
        caller: &str,
        mut req: cordium::GitProvider,
    ) -> ApiResult<cordium::GitProvider> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            let (m, spec, space) =
                new_space_child(c, caller, req.metadata.take(), req.spec.take())?;
            let in_space = Filter { space_uid: Some(uid_of(&space)), ..Default::default() };
            if store::count::<cordium::GitProvider>(c, &in_space)? >= MAX_GIT_PROVIDERS_PER_SPACE {
                return Err(ApiError::denied("Number of Git Provider per Space has been exceeded"));
            }
            if store::name_taken(c, "GitProvider", &m.name)? {
                return Err(ApiError::invalid("This GitProvider name already exists"));
            }
            validate(c, &spec, &uid_of(&space))?;
            access::check_admin(c, &uid_of(&space), &user)?;
            let mut g = cordium::GitProvider {
                metadata: Some(names::metadata_from(&m)),
                spec: Some(spec),
                status: Some(cordium::git_provider::Status {
                    user_ref: Some(reference(&user)),
                    space_ref: Some(reference(&space)),
                }),
                ..Default::default()
            };
            self.save_new(c, now, &mut g)?;
            Ok(g)
        })
    }

    /// UpdateGitProvider: `status` must be present (upstream `RequireStatus`); spec and
    /// mutable metadata replaced.
    pub fn update_git_provider(
        &self,
        caller: &str,
        mut req: cordium::GitProvider,
    ) -> ApiResult<cordium::GitProvider> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            if let Some(m) = req.metadata.as_mut() {
                m.name = names::expand_space_child(&m.name, caller);
            }
            names::validate_metadata(
                req.metadata.as_ref(),
                MetaRules { require_name: false, parents: 2 },
            )?;
            if req.status.is_none() {
                return Err(ApiError::invalid("Resource status must be set"));
            }
            let m = req.metadata.unwrap_or_default();
            let mut g: cordium::GitProvider = load(c, &m.uid, &m.name)?;
            let status = g.status.clone().unwrap_or_default();
            let space = space_of(c, status.space_ref.as_ref())?;
            access::check_admin(c, &uid_of(&space), &user)?;
            access::check_resource_or_space_owner(
                c,
                status.user_ref.as_ref(),
                &uid_of(&space),
                &user,
            )?;
            names::metadata_update(g.meta_mut(), &m);
            let spec = req.spec.unwrap_or_default();
            validate(c, &spec, &uid_of(&space))?;
            g.spec = Some(spec);
            self.save(c, now, &mut g)?;
            Ok(g)
        })
    }

    pub fn delete_git_provider(&self, caller: &str, mut req: meta::DeleteOptions) -> ApiResult<()> {
        self.tx(|c, now| {
            let user = self.caller(c, now, caller)?;
            req.name = names::expand_space_child(&req.name, caller);
            names::check_key(&req.uid, &req.name, Some(2))?;
            let g: cordium::GitProvider = load(c, &req.uid, &req.name)?;
            let status = g.status.clone().unwrap_or_default();
            let space_uid = space_uid_of(status.space_ref.as_ref());
            access::check_resource_or_space_owner(c, status.user_ref.as_ref(), &space_uid, &user)?;
            store::delete(c, &uid_of(&g))?;
            Ok(())
        })
    }

    pub fn get_git_provider(
        &self,
        caller: &str,
        req: meta::GetOptions,
    ) -> ApiResult<cordium::GitProvider> {
        self.get_member_readable(caller, req)
    }

    /// ListGitProvider: `spaceRef` is required (upstream passes it unexpanded).
    pub fn list_git_provider(
        &self,
        caller: &str,
        req: cordium::ListGitProviderOptions,
    ) -> ApiResult<cordium::GitProviderList> {
        let (items, meta) =
            self.list_member_readable(caller, req.space_ref.as_ref(), req.common.as_ref())?;
        Ok(cordium::GitProviderList {
            api_version: "cordium/v1".into(),
            kind: "GitProviderList".into(),
            items,
            list_response_meta: Some(meta),
        })
    }
}

/// Whether the Space with this uid has a GitProvider stored as `name` (a Template's
/// `spec.gitProvider`, by exact stored name).
pub(super) fn git_provider_in_space(
    c: &Connection,
    name: &str,
    space_uid: &str,
) -> ApiResult<bool> {
    Ok(store::get_by_name::<cordium::GitProvider>(c, name)?.is_some_and(|g| {
        g.status.as_ref().and_then(|s| s.space_ref.as_ref()).is_some_and(|r| r.uid == space_uid)
    }))
}
