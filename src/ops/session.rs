//! `cordium login` and `cordium logout`, and ending the session after a command (`--logout`,
//! `CORDIUM_LOGOUT=true`): opening (or reusing) a cached session, and ending it with auth.v1
//! Logout. The target is resolved as for plan (flags, environment, the stack file's environment
//! of the directory); only a cluster reached over gRPC has sessions. Never prints.

use super::settings::{Request, Settings};
use super::OpsError;
use crate::config::Loaded;
use crate::live::target::{self, Target};
use crate::live::wire::user::get_status_response::user::spec::Type as UserType;

/// Who `login` signed in as, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginInfo {
    /// How the target is shown (`http://127.0.0.1:4000`, `octelium-api.example.com:443`).
    pub target: String,
    pub username: String,
    /// `HUMAN`, `WORKLOAD`, or empty when the cluster did not say.
    pub user_type: String,
    /// The cached session was reused (no new Session was opened).
    pub reused: bool,
    /// Unix seconds after which the session cannot be renewed; a new exchange is needed then.
    pub renewable_until: u64,
}

/// The remote endpoint `req` means (the stack file of `req.dir`, if any, may choose it).
fn endpoint(req: &Request) -> Result<(String, Target), OpsError> {
    // Only the stack file can choose the target: the rest of the config is not read.
    let mut loaded = Loaded { root: req.dir.clone(), ..Loaded::default() };
    loaded.stack =
        crate::config::stack::load(&req.dir, &mut loaded.sources, &mut loaded.diagnostics);
    let settings = Settings::resolve(req, &loaded)?;
    match &settings.target {
        Target::Remote { endpoint, .. } => Ok((endpoint.clone(), settings.target.clone())),
        t @ Target::Local { .. } => Err(OpsError::NoSessions { target: t.display() }),
    }
}

/// Exchanges the authentication token for a session, or reuses the cached one, and asks the
/// cluster who we are (user.v1 GetStatus).
pub async fn login(req: &Request) -> Result<LoginInfo, OpsError> {
    let (endpoint, target) = endpoint(req)?;
    if req.env.auth.auth_token.as_ref().is_none_or(|t| t.is_empty())
        && req.env.auth.assertion.is_none()
    {
        return Err(OpsError::NoAuthToken);
    }
    let mut auth = req.env.auth.clone();
    // Login uses the authentication token: a static access token is no session to cache.
    auth.access_token = None;
    let cluster = target::connect_remote(&endpoint, &auth).await?;
    let info = cluster.session_info().await?.ok_or(OpsError::NoAuthToken)?;
    let status = cluster.status().await?;
    let user = status.user.unwrap_or_default();
    let user_type = match user.spec.map(|s| s.r#type) {
        Some(t) if t == UserType::Human as i32 => "HUMAN",
        Some(t) if t == UserType::Workload as i32 => "WORKLOAD",
        _ => "",
    };
    Ok(LoginInfo {
        target: target.display(),
        username: user.metadata.map(|m| m.name).unwrap_or_default(),
        user_type: user_type.to_string(),
        reused: info.reused,
        renewable_until: info.renewable_until,
    })
}

/// Ends the cached session of the target (auth.v1 Logout) and removes it from the cache.
/// Whether there was one to end.
pub async fn logout(req: &Request) -> Result<bool, OpsError> {
    let (endpoint, _) = endpoint(req)?;
    let mut auth = req.env.auth.clone();
    auth.access_token = None;
    if auth.auth_token.as_ref().is_none_or(|t| t.is_empty()) {
        return Err(OpsError::NoAuthToken);
    }
    let cluster = target::connect_remote(&endpoint, &auth).await?;
    Ok(cluster.logout().await?)
}

/// After a command run with `--logout`: ends its session; nothing for a local target.
pub async fn end_after(req: &Request) -> Result<bool, OpsError> {
    match logout(req).await {
        // A local target, or a static access token only: no session of ours to end.
        Err(OpsError::NoSessions { .. } | OpsError::NoAuthToken) => Ok(false),
        other => other,
    }
}
