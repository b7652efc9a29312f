//! Authentication of `cordium serve`, like a real cluster's (API reference §10): authentication
//! tokens are exchanged with auth.v1 for a Session; every cordium/core/user call must carry a
//! live access token in `x-octelium-auth`; refresh tokens travel in `x-octelium-refresh-token`.
//! Sessions are capped per User and expire as upstream's do; the core API is for cluster admins
//! only. Tokens are random, kept in memory only, and never logged.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use tonic::{Request, Response, Status};

use crate::live::auth::EXPIRED_ACCESS_TOKEN;
use crate::live::wire::{auth, meta, user};

/// Metadata key of the per-call access token.
pub const AUTH_HEADER: &str = "x-octelium-auth";
/// Metadata key of the refresh token on AuthenticateWithRefreshToken and Logout.
pub const REFRESH_HEADER: &str = "x-octelium-refresh-token";

/// What the Octelium proxy answers (PERMISSION_DENIED) for a call its Service's policies do not
/// allow: octelium `cluster/vigil/vigil/modes/httpg/middlewares/auth/denied.go` (the gRPC
/// branch sets `Grpc-Message: Octelium: Unauthorized`).
pub const PROXY_DENIED: &str = "Octelium: Unauthorized";

/// What a provisioned token user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// A cluster admin: the core API too (as with the `octelium-api-full-access` policy).
    #[default]
    Admin,
    /// An ordinary Octelium user: cordium.v1 and user.v1 only.
    User,
}

/// The User's `spec.type`, which sets its session cap and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserType {
    #[default]
    Human,
    Workload,
}

impl UserType {
    /// Sessions one User may hold at once: octelium `cluster/authserver/authserver/server.go`
    /// checkMaxSessionsPerUser (16 HUMAN, 128 WORKLOAD when neither the User nor the
    /// ClusterConfig sets `maxPerUser`).
    pub fn session_cap(self) -> usize {
        match self {
            UserType::Human => 16,
            UserType::Workload => 128,
        }
    }

    /// How long a Session lives: octelium `cluster/common/sessionc/sessionc.go` CreateSession's
    /// default duration (21 h HUMAN, 90 days WORKLOAD, client and clientless alike).
    pub fn session_lifetime(self) -> Duration {
        match self {
            UserType::Human => Duration::from_secs(21 * 3600),
            UserType::Workload => Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// A provisioned authentication token and the User it authenticates.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenUser {
    pub username: String,
    pub token: String,
    pub role: Role,
    pub user_type: UserType,
}

impl std::fmt::Debug for TokenUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("user_type", &self.user_type)
            .finish_non_exhaustive()
    }
}

/// Who is calling: put into request extensions by [`AuthState::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub username: String,
    pub user_type: UserType,
    /// May call the core API (admin, or granted the full-access policy).
    pub core_access: bool,
    /// The Session's uid.
    pub session: String,
}

#[derive(Debug, Clone)]
struct Grant {
    session: String,
    expires: Instant,
}

#[derive(Debug, Clone)]
struct Session {
    caller: Caller,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Tables {
    access: HashMap<String, Grant>,
    refresh: HashMap<String, Grant>,
    sessions: HashMap<String, Session>,
}

/// Token lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct TokenTtl {
    pub access: Duration,
    pub refresh: Duration,
}

/// Issued tokens, Sessions, and the provisioned authentication tokens.
#[derive(Debug)]
pub struct AuthState {
    /// authentication token → its User.
    credentials: HashMap<String, TokenUser>,
    /// Users granted full core API access besides the admins.
    api_access: BTreeSet<String>,
    tables: Mutex<Tables>,
    ttl: TokenTtl,
    /// Identity providers whose assertions are accepted (`--oidc-issuer`).
    issuers: Vec<super::oidc::Issuer>,
    /// The WORKLOAD users assertions authenticate as (`--oidc-user`).
    identities: Vec<super::oidc::Identity>,
}

/// A fresh unguessable token.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// How long an expired access token is still recognised (and answered as expired).
const EXPIRED_KEPT: Duration = Duration::from_secs(3600);

fn unauthenticated() -> Status {
    Status::unauthenticated("Unauthenticated User")
}

fn whole_seconds(d: Duration) -> i64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i64::try_from(s.max(1)).unwrap_or(i64::MAX)
}

impl AuthState {
    /// `users`: the provisioned tokens; `api_access`: users granted the core API as well.
    pub fn new(users: &[TokenUser], api_access: &[String], ttl: TokenTtl) -> Self {
        AuthState {
            credentials: users.iter().map(|u| (u.token.clone(), u.clone())).collect(),
            api_access: api_access.iter().cloned().collect(),
            tables: Mutex::new(Tables::default()),
            ttl,
            issuers: Vec::new(),
            identities: Vec::new(),
        }
    }

    /// Accepts assertions of these identity providers, for these users.
    pub fn with_oidc(
        mut self,
        issuers: Vec<super::oidc::Issuer>,
        identities: Vec<super::oidc::Identity>,
    ) -> Self {
        self.issuers = issuers;
        self.identities = identities;
        self
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a new Session for `user`, or PERMISSION_DENIED (empty message, as upstream's
    /// `errPermissionDenied` sends) when the User already holds its cap of live Sessions:
    /// octelium `cluster/authserver/authserver/sessiontoken.go` doAuthenticateWithAuthenticationToken
    /// calls checkMaxSessionsPerUser (`server.go`) before every CreateSession.
    fn open_session(&self, user: &TokenUser) -> Result<auth::SessionToken, Status> {
        let now = Instant::now();
        let mut t = self.tables();
        t.sessions.retain(|_, s| s.expires > now);
        let live = t.sessions.values().filter(|s| s.caller.username == user.username).count();
        if live >= user.user_type.session_cap() {
            return Err(Status::permission_denied(""));
        }
        let lifetime = user.user_type.session_lifetime();
        let id = uuid_like();
        let caller = Caller {
            username: user.username.clone(),
            user_type: user.user_type,
            core_access: user.role == Role::Admin || self.api_access.contains(&user.username),
            session: id.clone(),
        };
        t.sessions.insert(id.clone(), Session { caller, expires: now + lifetime });
        Ok(self.issue(&mut t, &id, now))
    }

    /// New access and refresh tokens for a Session, neither outliving it.
    fn issue(&self, t: &mut Tables, session: &str, now: Instant) -> auth::SessionToken {
        let ends = t.sessions.get(session).map(|s| s.expires).unwrap_or(now);
        let left = ends.saturating_duration_since(now);
        let access_ttl = self.ttl.access.min(left);
        let refresh_ttl = self.ttl.refresh.min(left);
        let access = random_token();
        let refresh = random_token();
        let grant = |ttl| Grant { session: session.to_string(), expires: now + ttl };
        // Expired access tokens are kept a while, to be answered as expired rather than unknown.
        t.access.retain(|_, g| g.expires + EXPIRED_KEPT > now);
        t.access.insert(access.clone(), grant(access_ttl));
        t.refresh.retain(|_, g| g.expires > now);
        t.refresh.insert(refresh.clone(), grant(refresh_ttl));
        auth::SessionToken {
            access_token: access,
            refresh_token: refresh,
            expires_in: whole_seconds(access_ttl),
            refresh_token_expires_in: whole_seconds(refresh_ttl),
        }
    }

    /// The interceptor of cordium/user services: a live access token of a live Session, or
    /// UNAUTHENTICATED.
    pub fn check(&self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let token = req
            .metadata()
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let caller = {
            let t = self.tables();
            let now = Instant::now();
            let grant = match t.access.get(token) {
                Some(g) if g.expires > now => g,
                Some(_) => return Err(Status::unauthenticated(EXPIRED_ACCESS_TOKEN)),
                None => return Err(unauthenticated()),
            };
            match t.sessions.get(&grant.session) {
                Some(s) if s.expires > now => s.caller.clone(),
                // Logged out, or past the Session's lifetime.
                _ => return Err(unauthenticated()),
            }
        };
        req.extensions_mut().insert(caller);
        Ok(req)
    }

    /// The interceptor of the core API: [`check`](Self::check), then PERMISSION_DENIED
    /// `Octelium: Unauthorized` for callers without core access. A fresh install's
    /// `default.octelium-api` Service allows only `octelium.api.main.user.v1.MainService` to
    /// everyone (octelium `cluster/genesis/genesis/cmd_init.go`, the Service's inline policy);
    /// the rest needs a policy such as `octelium-api-full-access` (`builtin_policies.go`).
    pub fn check_core(&self, req: Request<()>) -> Result<Request<()>, Status> {
        let req = self.check(req)?;
        match req.extensions().get::<Caller>() {
            Some(c) if c.core_access => Ok(req),
            _ => Err(Status::permission_denied(PROXY_DENIED)),
        }
    }

    /// How many live Sessions `username` holds (tests, logs).
    pub fn sessions_of(&self, username: &str) -> usize {
        let now = Instant::now();
        self.tables()
            .sessions
            .values()
            .filter(|s| s.caller.username == username && s.expires > now)
            .count()
    }
}

/// A random uid, as upstream's object uids.
fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn refresh_token_of<T>(request: &Request<T>) -> Result<String, Status> {
    request
        .metadata()
        .get(REFRESH_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(unauthenticated)
}

/// auth.v1 MainService.
#[derive(Debug)]
pub struct AuthService(pub std::sync::Arc<AuthState>);

#[tonic::async_trait]
impl auth::main_service_server::MainService for AuthService {
    async fn authenticate_with_authentication_token(
        &self,
        request: Request<auth::AuthenticateWithAuthenticationTokenRequest>,
    ) -> Result<Response<auth::SessionToken>, Status> {
        let token = &request.get_ref().authentication_token;
        let Some(user) = self.0.credentials.get(token) else {
            return Err(unauthenticated());
        };
        self.0.open_session(user).map(Response::new)
    }

    /// An OIDC assertion of an `--oidc-issuer` provider (server/oidc.rs), for a new Session of
    /// the WORKLOAD user with that identity (capped as any Session).
    async fn authenticate_with_assertion(
        &self,
        request: Request<auth::AuthenticateWithAssertionRequest>,
    ) -> Result<Response<auth::SessionToken>, Status> {
        if self.0.issuers.is_empty() {
            return Err(Status::unauthenticated(
                "cordium serve has no identity providers (--oidc-issuer): authenticate with an \
                 authentication token",
            ));
        }
        let r = request.get_ref();
        let provider = r.identity_provider_ref.as_ref().map(|p| p.name.as_str());
        let user =
            super::oidc::authenticate(&self.0.issuers, &self.0.identities, provider, &r.assertion)?;
        self.0.open_session(&user).map(Response::new)
    }

    /// New tokens for the same Session (octelium `sessiontoken.go`
    /// doAuthenticateWithRefreshToken finds the Session by its refresh token and updates it; no
    /// new Session, so no cap check). The refresh token is used once here.
    async fn authenticate_with_refresh_token(
        &self,
        request: Request<auth::AuthenticateWithRefreshTokenRequest>,
    ) -> Result<Response<auth::SessionToken>, Status> {
        let token = refresh_token_of(&request)?;
        let now = Instant::now();
        let mut t = self.0.tables();
        match t.refresh.remove(&token) {
            Some(g)
                if g.expires > now
                    && t.sessions.get(&g.session).is_some_and(|s| s.expires > now) =>
            {
                Ok(Response::new(self.0.issue(&mut t, &g.session, now)))
            }
            _ => Err(unauthenticated()),
        }
    }

    /// Ends the Session of the refresh token in `x-octelium-refresh-token` (octelium
    /// `cluster/authserver/authserver/logout.go` doLogout: getSessionFromGRPCCtx reads the
    /// refresh token, then DeleteSession). Its access tokens stop working at once.
    async fn logout(
        &self,
        request: Request<auth::LogoutRequest>,
    ) -> Result<Response<auth::LogoutResponse>, Status> {
        let token = refresh_token_of(&request)?;
        let mut t = self.0.tables();
        let Some(g) = t.refresh.get(&token).cloned() else {
            return Err(unauthenticated());
        };
        t.sessions.remove(&g.session);
        t.access.retain(|_, a| a.session != g.session);
        t.refresh.retain(|_, r| r.session != g.session);
        Ok(Response::new(auth::LogoutResponse {}))
    }
}

/// user.v1 MainService: GetStatus, for every authenticated User (who am I).
#[derive(Debug)]
pub struct UserService;

#[tonic::async_trait]
impl user::main_service_server::MainService for UserService {
    async fn get_status(
        &self,
        request: Request<user::GetStatusRequest>,
    ) -> Result<Response<user::GetStatusResponse>, Status> {
        let Some(c) = request.extensions().get::<Caller>().cloned() else {
            return Err(unauthenticated());
        };
        use user::get_status_response as r;
        let user_type = match c.user_type {
            UserType::Human => r::user::spec::Type::Human,
            UserType::Workload => r::user::spec::Type::Workload,
        };
        Ok(Response::new(user::GetStatusResponse {
            domain: "localhost".into(),
            cluster: Some(r::Cluster {
                metadata: Some(meta::Metadata { name: "default".into(), ..Default::default() }),
            }),
            user: Some(r::User {
                metadata: Some(meta::Metadata { name: c.username.clone(), ..Default::default() }),
                spec: Some(r::user::Spec { email: String::new(), r#type: user_type as i32 }),
                status: Some(r::user::Status {}),
            }),
            session: Some(r::Session {
                metadata: Some(meta::Metadata {
                    uid: c.session.clone(),
                    name: format!("{}-{}", c.username, &c.session[..8.min(c.session.len())]),
                    ..Default::default()
                }),
                spec: Some(r::session::Spec {}),
                status: Some(r::session::Status {
                    r#type: r::session::status::Type::Clientless as i32,
                    is_connected: false,
                }),
            }),
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(name: &str, token: &str, role: Role, user_type: UserType) -> TokenUser {
        TokenUser { username: name.into(), token: token.into(), role, user_type }
    }

    fn state(access: Duration) -> AuthState {
        let ttl = TokenTtl { access, refresh: Duration::from_secs(60) };
        AuthState::new(
            &[
                user("alice", "T", Role::Admin, UserType::Human),
                user("bob", "B", Role::User, UserType::Human),
                user("ci", "W", Role::User, UserType::Workload),
            ],
            &[],
            ttl,
        )
    }

    fn with_token(t: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert(AUTH_HEADER, t.parse().unwrap());
        r
    }

    fn open(s: &AuthState, token: &str) -> Result<auth::SessionToken, Status> {
        let u = s.credentials.get(token).unwrap().clone();
        s.open_session(&u)
    }

    #[test]
    fn access_tokens_authenticate_until_they_expire() {
        let s = state(Duration::from_millis(50));
        let st = open(&s, "T").unwrap();
        assert_eq!(st.expires_in, 1);
        let r = s.check(with_token(&st.access_token)).unwrap();
        assert_eq!(r.extensions().get::<Caller>().unwrap().username, "alice");
        assert!(s.check(Request::new(())).is_err());
        assert!(s.check(with_token("nope")).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.check(with_token(&st.access_token)).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn sessions_are_capped_per_user_type() {
        let s = state(Duration::from_secs(60));
        for _ in 0..16 {
            open(&s, "B").unwrap();
        }
        let e = open(&s, "B").unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert_eq!(e.message(), "");
        // Another user is not affected; a WORKLOAD user has 128.
        open(&s, "T").unwrap();
        for _ in 0..128 {
            open(&s, "W").unwrap();
        }
        assert_eq!(open(&s, "W").unwrap_err().code(), tonic::Code::PermissionDenied);
        assert_eq!(s.sessions_of("bob"), 16);
    }

    #[test]
    fn the_core_api_is_for_admins_and_granted_users() {
        let s = state(Duration::from_secs(60));
        let admin = open(&s, "T").unwrap();
        let bob = open(&s, "B").unwrap();
        assert!(s.check_core(with_token(&admin.access_token)).is_ok());
        let e = s.check_core(with_token(&bob.access_token)).unwrap_err();
        assert_eq!((e.code(), e.message()), (tonic::Code::PermissionDenied, PROXY_DENIED));
        assert!(s.check(with_token(&bob.access_token)).is_ok());
        let granted = AuthState::new(
            &[user("bob", "B", Role::User, UserType::Human)],
            &["bob".to_string()],
            TokenTtl { access: Duration::from_secs(9), refresh: Duration::from_secs(9) },
        );
        let bob = open(&granted, "B").unwrap();
        assert!(granted.check_core(with_token(&bob.access_token)).is_ok());
    }

    #[test]
    fn tokens_never_outlive_the_session() {
        let ttl = TokenTtl { access: Duration::from_secs(1 << 30), refresh: Duration::MAX };
        let s = AuthState::new(&[user("a", "s3cret", Role::Admin, UserType::Human)], &[], ttl);
        let st = open(&s, "s3cret").unwrap();
        assert_eq!(st.expires_in, 21 * 3600);
        assert_eq!(st.refresh_token_expires_in, 21 * 3600);
        assert!(!format!("{:?}", s.credentials.values().next()).contains("s3cret"));
    }
}
