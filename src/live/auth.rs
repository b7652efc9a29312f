//! Authentication to a cluster (API reference §10): exchanging `OCTELIUM_AUTH_TOKEN` for a
//! session (AuthenticateWithAuthenticationToken), or using a static `OCTELIUM_ACCESS_TOKEN` as
//! is; reusing a cached session ([`super::cache`]) while it is valid; renewing the session before
//! it expires (AuthenticateWithRefreshToken with the refresh token in
//! `x-octelium-refresh-token`), and starting over when the server says UNAUTHENTICATED; ending
//! it on request (Logout).
//!
//! Tokens are secrets: they live in [`Token`], whose `Debug` and `Display` print `<redacted>`;
//! they never enter an error message or a log line. Owns no decision about what to change.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::cache;
use super::grpc::Transport;
use super::wire::auth::main_service_client::MainServiceClient as AuthClient;
use super::wire::auth::{self, SessionToken};
use super::{ErrorCode, LiveError};

/// The metadata key carrying the access token on every call.
pub const AUTH_HEADER: &str = "x-octelium-auth";
/// What `cordium serve` answers (UNAUTHENTICATED) for an access token past its lifetime. The
/// client reads any UNAUTHENTICATED message containing "expired" as an expired token.
pub const EXPIRED_ACCESS_TOKEN: &str = "Access token expired";
/// The metadata key carrying the refresh token on AuthenticateWithRefreshToken.
pub const REFRESH_HEADER: &str = "x-octelium-refresh-token";

/// A secret string (a token). Prints as `<redacted>`; [`Token::expose`] is the only way in.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The secret itself: only for putting it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the CLI read from the environment for auth (only `cli` reads the environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthEnv {
    /// `OCTELIUM_AUTH_TOKEN`: exchanged for a session, renewed as needed.
    pub auth_token: Option<Token>,
    /// `OCTELIUM_ACCESS_TOKEN`: sent as is; never exchanged or refreshed.
    pub access_token: Option<Token>,
    /// `CORDIUM_USERNAME`: the caller's username, overriding what the cluster says (GetStatus).
    pub username: Option<String>,
    /// Where sessions are cached (`CORDIUM_CACHE_DIR`, else `$XDG_CACHE_HOME/cordium`, else
    /// `~/.cache/cordium`); `None`: no cache, every run opens a session.
    pub cache_dir: Option<PathBuf>,
    /// `--logout` / `CORDIUM_LOGOUT=true`: end the session after the command.
    pub logout: bool,
    /// `OCTELIUM_AUTH_ASSERTION` / `--auth-assertion`: log in with an OIDC assertion
    /// (AuthenticateWithAssertion) when no token is set.
    pub assertion: Option<Assertion>,
}

/// Where the Kubernetes service-account token is mounted (upstream's `k8s` assertion type).
pub const K8S_TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// An OIDC assertion to log in with (API reference §10, `OCTELIUM_AUTH_ASSERTION`
/// `[<idp name or uid>:]<type>[:k=v,...]`): which identity provider, and where the JWT comes
/// from. Resolved to a JWT at login, never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The IdentityProvider's name (or uid); none: the server picks it by the token's issuer.
    pub provider: Option<String>,
    pub source: AssertionSource,
}

/// Where an assertion's JWT comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionSource {
    /// Read from this file at login: a Kubernetes service-account token (`k8s`, `kubernetes`;
    /// `file=PATH` overrides the mount path) or `jwt:file=PATH`.
    File(PathBuf),
    /// `jwt:env=VAR`: the variable's value, read by `cli`.
    Jwt(Token),
    /// `github-actions[:audience=AUD]`: asked of the runner (`ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// with `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as bearer); the audience defaults to
    /// `https://<cluster host>`, as upstream's does to `https://<domain>`.
    GitHubActions { url: Option<String>, request_token: Option<Token>, audience: Option<String> },
    /// The spec cannot be used, and why (said at login, so that a typo is not a silent
    /// fall-back to no credentials).
    Invalid(String),
}

impl Assertion {
    /// Parses `[<idp>:]<type>[:k=v,...]`; `var` reads the environment (for `jwt:env=VAR` and
    /// GitHub's request URL and token).
    pub fn parse(spec: &str, var: &dyn Fn(&str) -> Option<String>) -> Assertion {
        const TYPES: &[&str] = &["k8s", "kubernetes", "github-actions", "jwt", "azure"];
        let spec = spec.trim();
        let parts: Vec<&str> = spec.splitn(3, ':').collect();
        let (provider, typ, args_text) = if parts.len() >= 2 && TYPES.contains(&parts[1]) {
            (Some(parts[0].to_string()), parts[1], parts.get(2).copied().unwrap_or(""))
        } else if TYPES.contains(&parts[0]) {
            (None, parts[0], spec.split_once(':').map(|(_, a)| a).unwrap_or(""))
        } else {
            return Assertion {
                provider: None,
                source: AssertionSource::Invalid(format!(
                    "OCTELIUM_AUTH_ASSERTION: no assertion type (one of {}) in it",
                    TYPES.join(", ")
                )),
            };
        };
        let args: std::collections::BTreeMap<&str, &str> =
            args_text.split(',').filter_map(|kv| kv.split_once('=')).collect();
        let provider = provider.filter(|p| !p.is_empty());
        let invalid = |m: String| AssertionSource::Invalid(format!("OCTELIUM_AUTH_ASSERTION: {m}"));
        let source = match typ {
            "k8s" | "kubernetes" => AssertionSource::File(PathBuf::from(
                args.get("file").copied().unwrap_or(K8S_TOKEN_FILE),
            )),
            "github-actions" => AssertionSource::GitHubActions {
                url: var("ACTIONS_ID_TOKEN_REQUEST_URL"),
                request_token: var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").map(|t| Token::new(t.trim())),
                audience: args.get("audience").map(|a| a.to_string()),
            },
            "jwt" => match (args.get("env"), args.get("file")) {
                (Some(v), _) => match var(v) {
                    Some(t) => AssertionSource::Jwt(Token::new(t.trim())),
                    None => invalid(format!("jwt:env={v}, but {v} is not set")),
                },
                (None, Some(f)) => AssertionSource::File(PathBuf::from(f)),
                (None, None) => invalid("jwt needs env=VAR or file=PATH".into()),
            },
            _ => invalid(format!("the `{typ}` assertion type is not supported by cordium")),
        };
        Assertion { provider, source }
    }
}

/// How this client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials (e.g. a local `cordium serve` without `--auth-token`).
    None,
    /// An authentication token, exchanged for a session.
    AuthToken(Token),
    /// A static access token.
    AccessToken(Token),
    /// A static access token, and an authentication token to fall back to once the cluster
    /// refuses the access token (e.g. it expired).
    AccessTokenThenAuthToken { access: Token, auth: Token },
    /// An OIDC assertion, exchanged for a session (AuthenticateWithAssertion) and again when
    /// the session cannot be renewed.
    Assertion(Assertion),
}

impl Credentials {
    /// From the environment: a static access token is used first (it is the more specific
    /// instruction), with the authentication token, when both are set, as the fallback once the
    /// access token is refused; empty values count as unset.
    pub fn from_env(env: &AuthEnv) -> Self {
        let set = |t: &Option<Token>| t.clone().filter(|t| !t.is_empty());
        match (set(&env.access_token), set(&env.auth_token)) {
            (Some(access), Some(auth)) => Credentials::AccessTokenThenAuthToken { access, auth },
            (Some(t), None) => Credentials::AccessToken(t),
            (None, Some(t)) => Credentials::AuthToken(t),
            (None, None) => match &env.assertion {
                Some(a) => Credentials::Assertion(a.clone()),
                None => Credentials::None,
            },
        }
    }
}

/// How long before expiry a session is renewed (reference §10: 600 s when `expiresIn` < 1 h,
/// else half of it). Ours is capped at half of `expiresIn`, so a short-lived token (a test
/// server's `--access-token-ttl 5s`) is renewed halfway rather than before every call.
pub fn renewal_margin(expires_in: Duration) -> Duration {
    let half = expires_in / 2;
    if expires_in < Duration::from_secs(3600) {
        Duration::from_secs(600).min(half)
    } else {
        half
    }
}

/// How long a run waits for another run renewing or exchanging the same cached session.
const SLOT_LOCK_WAIT: Duration = Duration::from_secs(30);

/// A live session.
struct Session {
    access: Token,
    refresh: Token,
    /// Renew from this moment on.
    renew_at: Instant,
    /// The refresh token is no good after this.
    refresh_until: Instant,
    /// The same, in wall-clock terms, for the cache and for `cordium login`.
    entry: cache::Entry,
}

impl Session {
    fn from_wire(t: SessionToken, endpoint: &str) -> Self {
        let secs = |s: i64| Duration::from_secs(s.max(0) as u64);
        let now = SystemTime::now();
        let entry = cache::Entry {
            endpoint: endpoint.to_string(),
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: secs(t.expires_in).as_secs(),
            access_expires_at: cache::unix_secs(now + secs(t.expires_in)),
            refresh_expires_at: cache::unix_secs(now + secs(t.refresh_token_expires_in)),
        };
        Session::from_entry(entry)
    }

    /// A session from a cache entry: its deadlines measured from now.
    fn from_entry(entry: cache::Entry) -> Self {
        let now = Instant::now();
        let expires_in = Duration::from_secs(entry.expires_in);
        let access_left = cache::until(entry.access_expires_at);
        Session {
            access: Token::new(entry.access_token.clone()),
            refresh: Token::new(entry.refresh_token.clone()),
            renew_at: now + access_left.saturating_sub(renewal_margin(expires_in)),
            refresh_until: now + cache::until(entry.refresh_expires_at),
            entry,
        }
    }
}

/// What `cordium login` reports about the session in use (never a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session came from the cache (no new Session was opened).
    pub reused: bool,
    /// Unix seconds when the access token expires (renewed automatically).
    pub access_expires_at: u64,
    /// Unix seconds after which the session cannot be renewed.
    pub renewable_until: u64,
}

/// The auth state of one client: which credentials, and the current session.
pub struct Auth {
    credentials: Credentials,
    /// `scheme://host:port` of the cluster (the cache key's first half).
    endpoint: String,
    /// Where this client's session is cached (exchanged sessions only).
    slot: Option<cache::Slot>,
    session: Mutex<Option<Session>>,
    /// The static access token was refused and the authentication token is used instead.
    fell_back: AtomicBool,
    /// The access token of a session the cluster refused: never adopted from the cache again.
    refused: std::sync::Mutex<Option<Token>>,
    /// The current session was read from the cache.
    reused: AtomicBool,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

impl Auth {
    /// No session cache: every client opens its own session.
    pub fn new(credentials: Credentials) -> Self {
        Auth::with_cache(credentials, "", None)
    }

    /// Sessions exchanged for the authentication token are cached under `cache_dir` (keyed by
    /// `endpoint` and the token) and reused while valid.
    pub fn with_cache(credentials: Credentials, endpoint: &str, cache_dir: Option<&Path>) -> Self {
        let auth_token = match &credentials {
            Credentials::AuthToken(t) | Credentials::AccessTokenThenAuthToken { auth: t, .. } => {
                Some(t)
            }
            Credentials::None | Credentials::AccessToken(_) | Credentials::Assertion(_) => None,
        };
        let slot = cache_dir.zip(auth_token).map(|(d, t)| cache::Slot::new(d, endpoint, t));
        Auth {
            credentials,
            endpoint: endpoint.to_string(),
            slot,
            session: Mutex::new(None),
            fell_back: AtomicBool::new(false),
            refused: std::sync::Mutex::new(None),
            reused: AtomicBool::new(false),
        }
    }

    /// Whether a rejected access token can be replaced by authenticating again.
    pub fn can_reauthenticate(&self) -> bool {
        match self.credentials {
            Credentials::AuthToken(_) | Credentials::Assertion(_) => true,
            Credentials::AccessTokenThenAuthToken { .. } => self.fell_back.load(Ordering::SeqCst),
            Credentials::None | Credentials::AccessToken(_) => false,
        }
    }

    /// Whether the calls use a static access token (`OCTELIUM_ACCESS_TOKEN`) right now.
    pub fn uses_access_token(&self) -> bool {
        match self.credentials {
            Credentials::AccessToken(_) => true,
            Credentials::AccessTokenThenAuthToken { .. } => !self.fell_back.load(Ordering::SeqCst),
            Credentials::None | Credentials::AuthToken(_) | Credentials::Assertion(_) => false,
        }
    }

    /// After the cluster refused the static access token: switches to the authentication
    /// token when there is one (true), so the call can be repeated.
    pub fn fall_back_to_auth_token(&self) -> bool {
        matches!(self.credentials, Credentials::AccessTokenThenAuthToken { .. })
            && !self.fell_back.swap(true, Ordering::SeqCst)
    }

    /// Every secret this client holds, for scrubbing server messages.
    pub(crate) async fn secrets(&self) -> Vec<Token> {
        let mut out = Vec::new();
        match &self.credentials {
            Credentials::AuthToken(t) | Credentials::AccessToken(t) => out.push(t.clone()),
            Credentials::AccessTokenThenAuthToken { access, auth } => {
                out.push(access.clone());
                out.push(auth.clone());
            }
            Credentials::Assertion(a) => {
                if let AssertionSource::Jwt(t) = &a.source {
                    out.push(t.clone());
                }
                if let AssertionSource::GitHubActions { request_token: Some(t), .. } = &a.source {
                    out.push(t.clone());
                }
            }
            Credentials::None => {}
        }
        if let Some(s) = self.session.lock().await.as_ref() {
            out.push(s.access.clone());
            out.push(s.refresh.clone());
        }
        out
    }

    /// Forgets the session (after the server said UNAUTHENTICATED): the next call starts over
    /// with a new exchange, not with the cached session (which is dropped).
    pub async fn invalidate(&self) {
        let old = self.session.lock().await.take();
        self.refuse(old.map(|s| s.access));
        if let Some(slot) = &self.slot {
            let _ = slot.remove();
        }
    }

    fn refuse(&self, access: Option<Token>) {
        if let Ok(mut r) = self.refused.lock() {
            *r = access.or(r.take());
        }
    }

    /// The cached session, unless it is one the cluster refused.
    fn load_cached(&self) -> Option<Session> {
        let entry = self.slot.as_ref()?.load()?;
        let refused = self.refused.lock().ok()?.clone();
        if refused.is_some_and(|r| r.expose() == entry.access_token) {
            return None;
        }
        Some(Session::from_entry(entry))
    }

    fn save(&self, session: &Session) {
        if let Some(slot) = &self.slot {
            if let Err(e) = slot.store(&session.entry) {
                // The run goes on; the next one exchanges again.
                tracing::debug!(path = %slot.path().display(), error = %e, "cannot cache the session");
            }
        }
    }

    /// The access token for the next call: exchanging or renewing first when needed. `None`
    /// when there are no credentials.
    pub(crate) async fn access_token(
        &self,
        transport: &Transport,
    ) -> Result<Option<Token>, LiveError> {
        let exchange = match &self.credentials {
            Credentials::None => return Ok(None),
            Credentials::AccessToken(t) => return Ok(Some(t.clone())),
            Credentials::AccessTokenThenAuthToken { access, auth } => {
                if !self.fell_back.load(Ordering::SeqCst) {
                    return Ok(Some(access.clone()));
                }
                Exchange::Token(auth)
            }
            Credentials::AuthToken(t) => Exchange::Token(t),
            Credentials::Assertion(a) => Exchange::Assertion(a),
        };
        // Held across the exchange, so concurrent calls wait for one renewal.
        let mut guard = self.session.lock().await;
        if guard.is_none() {
            if let Some(s) = self.load_cached() {
                *guard = Some(s);
                self.reused.store(true, Ordering::SeqCst);
            }
        }
        if let Some(s) = guard.as_ref().filter(|s| Instant::now() < s.renew_at) {
            return Ok(Some(s.access.clone()));
        }
        // A renewal or an exchange: one run at a time among those sharing the cache entry
        // (parallel CI jobs with one token), and what another run stored meanwhile is used.
        let _held = match &self.slot {
            Some(slot) => slot.lock(SLOT_LOCK_WAIT).await,
            None => None,
        };
        if let Some(s) = self.load_cached() {
            let fresh = Instant::now() < s.renew_at;
            *guard = Some(s);
            if fresh {
                self.reused.store(true, Ordering::SeqCst);
                return Ok(guard.as_ref().map(|s| s.access.clone()));
            }
        }
        let now = Instant::now();
        if let Some(s) = guard.as_ref() {
            if now < s.refresh_until && !s.refresh.is_empty() {
                match self.refresh(transport, &s.refresh).await {
                    Ok(t) => {
                        let session = Session::from_wire(t, &self.endpoint);
                        self.save(&session);
                        let access = session.access.clone();
                        *guard = Some(session);
                        return Ok(Some(access));
                    }
                    // A refused refresh falls back to full authentication; anything else is
                    // reported.
                    Err(e) if e.code == ErrorCode::Unauthenticated => {}
                    Err(e) => return Err(e),
                }
            }
        }
        *guard = None;
        self.reused.store(false, Ordering::SeqCst);
        let t = match exchange {
            Exchange::Token(token) => self.authenticate(transport, token).await?,
            Exchange::Assertion(a) => self.authenticate_with_assertion(transport, a).await?,
        };
        let session = Session::from_wire(t, &self.endpoint);
        self.save(&session);
        let access = session.access.clone();
        *guard = Some(session);
        Ok(Some(access))
    }

    /// The session in use (authenticating first if needed): for `cordium login`.
    pub(crate) async fn session_info(
        &self,
        transport: &Transport,
    ) -> Result<Option<SessionInfo>, LiveError> {
        self.access_token(transport).await?;
        Ok(self.session.lock().await.as_ref().map(|s| SessionInfo {
            reused: self.reused.load(Ordering::SeqCst),
            access_expires_at: s.entry.access_expires_at,
            renewable_until: s.entry.refresh_expires_at,
        }))
    }

    /// Ends the session (auth.v1 Logout, with the refresh token as upstream's doLogout reads
    /// it) and removes the cache entry. Uses the session in memory, else the cached one; opens
    /// none. Whether there was a session to end.
    pub(crate) async fn logout(&self, transport: &Transport) -> Result<bool, LiveError> {
        let mut guard = self.session.lock().await;
        let Some(session) = guard.take().or_else(|| self.load_cached()) else {
            return Ok(false);
        };
        // Ended: never to be adopted from the cache again by this client.
        self.refuse(Some(session.access.clone()));
        let refresh = Some(session.refresh);
        let Some(refresh) = refresh.filter(|t| !t.is_empty()) else {
            return Ok(false);
        };
        let result: Result<auth::LogoutResponse, LiveError> = transport
            .unary(
                "Logout",
                false,
                &[(REFRESH_HEADER, refresh.clone())],
                std::slice::from_ref(&refresh),
                auth::LogoutRequest {},
                |ch, r| async move { AuthClient::new(ch).logout(r).await },
            )
            .await;
        if let Some(slot) = &self.slot {
            let _ = slot.remove();
        }
        match result {
            Ok(_) => Ok(true),
            // The session had already ended (expired, or the server forgot it).
            Err(e) if e.code == ErrorCode::Unauthenticated => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The token exchange. Never repeated once the request may have reached the server:
    /// upstream opens a Session for every exchange and has no idempotency key, so a retry after
    /// a lost answer would open a second Session for one run (and a few lost answers would use
    /// up a HUMAN user's 16). Only a failure to connect at all (no byte was sent) is retried,
    /// with the read backoff; any other failure is reported and the run stops.
    async fn authenticate(
        &self,
        transport: &Transport,
        token: &Token,
    ) -> Result<SessionToken, LiveError> {
        let req = auth::AuthenticateWithAuthenticationTokenRequest {
            authentication_token: token.expose().to_string(),
            ..Default::default()
        };
        let op = "AuthenticateWithAuthenticationToken";
        let policy = transport.retry_policy();
        let started = tokio::time::Instant::now();
        let mut attempts = 0u32;
        let result = loop {
            attempts += 1;
            let r = transport
                .unary(
                    op,
                    false,
                    &[],
                    std::slice::from_ref(token),
                    req.clone(),
                    |ch, r| async move {
                        AuthClient::new(ch).authenticate_with_authentication_token(r).await
                    },
                )
                .await;
            match r {
                Err(e) if never_sent(&e) => {
                    let delay = policy.delay(attempts - 1);
                    if !policy.may_retry(e.code, attempts, started.elapsed(), delay) {
                        break Err(e);
                    }
                    tokio::time::sleep(delay).await;
                }
                other => break other,
            }
        };
        result.map_err(|e| match e.code {
            ErrorCode::Unauthenticated => LiveError::new(
                ErrorCode::Unauthenticated,
                op,
                "the cluster refused the authentication token: check OCTELIUM_AUTH_TOKEN \
                     (it may be wrong, expired or revoked)",
            ),
            // Upstream answers a valid token PERMISSION_DENIED with no message when its
            // User may not open another Session (the per-User cap, or a disabled or
            // locked User).
            ErrorCode::PermissionDenied => LiveError::new(
                ErrorCode::PermissionDenied,
                op,
                format!(
                    "the cluster accepted the authentication token but refused to open a \
                         new session{}: its User most likely holds the most Sessions it may \
                         (16 for a HUMAN user, 128 for a WORKLOAD user), or is disabled or \
                         locked; end unused sessions (`cordium logout`, or delete them on the \
                         cluster) or wait for them to expire, and use a WORKLOAD user's token \
                         for CI",
                    if e.message.is_empty() || e.message == "PermissionDenied" {
                        String::new()
                    } else {
                        format!(" ({})", e.message)
                    }
                ),
            ),
            _ => e,
        })
    }

    /// The assertion exchange: the JWT fetched or read now, sent once (like the token
    /// exchange, never repeated once it may have reached the server).
    async fn authenticate_with_assertion(
        &self,
        transport: &Transport,
        a: &Assertion,
    ) -> Result<SessionToken, LiveError> {
        let op = "AuthenticateWithAssertion";
        let jwt = self
            .assertion_jwt(a)
            .await
            .map_err(|m| LiveError::new(ErrorCode::Unauthenticated, op, m))?;
        let req = auth::AuthenticateWithAssertionRequest {
            identity_provider_ref: a.provider.as_ref().map(|p| {
                let uid = uuid::Uuid::parse_str(p).is_ok();
                super::wire::meta::ObjectReference {
                    name: if uid { String::new() } else { p.clone() },
                    uid: if uid { p.clone() } else { String::new() },
                    ..Default::default()
                }
            }),
            assertion: jwt.expose().to_string(),
            ..Default::default()
        };
        // Not `self.secrets()`: the session lock is held by the caller.
        let mut secrets = vec![jwt.clone()];
        if let AssertionSource::GitHubActions { request_token: Some(t), .. } = &a.source {
            secrets.push(t.clone());
        }
        transport
            .unary(op, false, &[], &secrets, req, |ch, r| async move {
                AuthClient::new(ch).authenticate_with_assertion(r).await
            })
            .await
            .map_err(|e| match e.code {
                ErrorCode::Unauthenticated => LiveError::new(
                    ErrorCode::Unauthenticated,
                    op,
                    format!(
                        "the cluster refused the assertion ({}): check OCTELIUM_AUTH_ASSERTION, \
                         the identity provider, the audience and the user mapped to the token's \
                         subject",
                        e.message
                    ),
                ),
                _ => e,
            })
    }

    /// The JWT of an assertion: read from its file, taken as given, or asked of the GitHub
    /// Actions runner. Errors never hold a token.
    async fn assertion_jwt(&self, a: &Assertion) -> Result<Token, String> {
        let jwt = match &a.source {
            AssertionSource::Invalid(why) => return Err(why.clone()),
            AssertionSource::Jwt(t) => t.clone(),
            AssertionSource::File(path) => {
                let text = crate::config::read::regular_text(path, 64 << 10).map_err(|e| {
                    format!("cannot read the assertion from {}: {e}", path.display())
                })?;
                Token::new(text.trim())
            }
            AssertionSource::GitHubActions { url, request_token, audience } => {
                let (Some(url), Some(bearer)) = (url, request_token) else {
                    return Err("github-actions assertion: ACTIONS_ID_TOKEN_REQUEST_URL and \
                                ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (the job needs \
                                `permissions: id-token: write`)"
                        .to_string());
                };
                let audience = audience.clone().unwrap_or_else(|| default_audience(&self.endpoint));
                let url = super::http::with_query(url, "audience", &audience);
                let answer = super::http::get_json(&url, bearer, Duration::from_secs(10))
                    .await
                    .map_err(|e| format!("cannot get the GitHub Actions OIDC token: {e}"))?;
                match answer.get("value").and_then(|v| v.as_str()) {
                    Some(v) if !v.is_empty() => Token::new(v),
                    _ => return Err("the GitHub Actions OIDC answer holds no `value`".into()),
                }
            }
        };
        if jwt.is_empty() {
            return Err("the assertion is empty".into());
        }
        Ok(jwt)
    }

    async fn refresh(
        &self,
        transport: &Transport,
        refresh: &Token,
    ) -> Result<SessionToken, LiveError> {
        transport
            .unary(
                "AuthenticateWithRefreshToken",
                true,
                &[(REFRESH_HEADER, refresh.clone())],
                std::slice::from_ref(refresh),
                auth::AuthenticateWithRefreshTokenRequest {},
                |ch, r| async move { AuthClient::new(ch).authenticate_with_refresh_token(r).await },
            )
            .await
    }
}

/// What a session is opened with.
enum Exchange<'a> {
    Token(&'a Token),
    Assertion(&'a Assertion),
}

/// The audience asked for by default: `https://<host of the endpoint>` (upstream's
/// `https://<domain>`).
pub fn default_audience(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map(|(_, r)| r).unwrap_or(endpoint);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.strip_prefix("octelium-api.").unwrap_or(host);
    format!("https://{host}")
}

/// Whether a failed call certainly never reached the server: the connection could not be
/// made (tonic answers UNAVAILABLE `tcp connect error`, before any request byte is written).
fn never_sent(e: &LiveError) -> bool {
    e.code == ErrorCode::Transient && e.message.starts_with("tcp connect error")
}

/// Replaces every occurrence of a secret in `text` with `<redacted>`.
pub(crate) fn redact(text: &str, secrets: &[Token]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.expose().len() >= 4) {
        out = out.replace(s.expose(), "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print() {
        let t = Token::new("s3cr3t-value");
        assert_eq!(format!("{t:?} {t}"), "<redacted> <redacted>");
        let env = AuthEnv { auth_token: Some(t.clone()), ..AuthEnv::default() };
        let c = Credentials::from_env(&env);
        assert!(!format!("{env:?} {c:?}").contains("s3cr3t"));
        assert_eq!(t.expose(), "s3cr3t-value");
    }

    #[test]
    fn renewal_follows_the_reference_rule() {
        let s = Duration::from_secs;
        assert_eq!(renewal_margin(s(7200)), s(3600));
        assert_eq!(renewal_margin(s(3600)), s(1800));
        assert_eq!(renewal_margin(s(1800)), s(600));
        // Capped at half for short tokens.
        assert_eq!(renewal_margin(s(10)), s(5));
    }

    #[test]
    fn credentials_prefer_a_static_access_token_with_the_auth_token_as_fallback() {
        let env = AuthEnv {
            auth_token: Some(Token::new("a")),
            access_token: Some(Token::new("b")),
            ..AuthEnv::default()
        };
        assert_eq!(
            Credentials::from_env(&env),
            Credentials::AccessTokenThenAuthToken {
                access: Token::new("b"),
                auth: Token::new("a")
            }
        );
        let alone = AuthEnv { auth_token: None, ..env.clone() };
        assert_eq!(Credentials::from_env(&alone), Credentials::AccessToken(Token::new("b")));
        let env = AuthEnv { access_token: Some(Token::new("")), ..env };
        assert_eq!(Credentials::from_env(&env), Credentials::AuthToken(Token::new("a")));
        assert_eq!(Credentials::from_env(&AuthEnv::default()), Credentials::None);
    }

    #[test]
    fn only_a_failed_connect_counts_as_never_sent() {
        let e = |code, m: &str| LiveError::new(code, "x", m);
        assert!(never_sent(&e(ErrorCode::Transient, "tcp connect error")));
        assert!(!never_sent(&e(ErrorCode::Transient, "no answer within 30s")));
        assert!(!never_sent(&e(ErrorCode::Transient, "connection reset")));
        assert!(!never_sent(&e(ErrorCode::Unauthenticated, "tcp connect error")));
    }

    #[test]
    fn assertion_specs_parse_as_upstream_s() {
        let var = |n: &str| match n {
            "CI_JWT" => Some("a.b.c".to_string()),
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("https://runner/t?v=2".to_string()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("rt".to_string()),
            _ => None,
        };
        let a = Assertion::parse("gh:jwt:env=CI_JWT", &var);
        assert_eq!(a.provider.as_deref(), Some("gh"));
        assert_eq!(a.source, AssertionSource::Jwt(Token::new("a.b.c")));
        let a = Assertion::parse("github-actions:audience=https://x.example", &var);
        assert_eq!(a.provider, None);
        assert_eq!(
            a.source,
            AssertionSource::GitHubActions {
                url: Some("https://runner/t?v=2".into()),
                request_token: Some(Token::new("rt")),
                audience: Some("https://x.example".into()),
            }
        );
        let a = Assertion::parse("k8s", &var);
        assert_eq!(a.source, AssertionSource::File(PathBuf::from(K8S_TOKEN_FILE)));
        let a = Assertion::parse("idp:jwt:file=/t", &var);
        assert_eq!(a.source, AssertionSource::File(PathBuf::from("/t")));
        for bad in ["nonsense", "jwt", "jwt:env=UNSET", "azure"] {
            assert!(
                matches!(Assertion::parse(bad, &var).source, AssertionSource::Invalid(_)),
                "{bad}"
            );
        }
        // The value of a variable never appears in a Debug.
        assert!(!format!("{:?}", Assertion::parse("jwt:env=CI_JWT", &var)).contains("a.b.c"));
    }

    #[test]
    fn the_default_audience_is_the_cluster_host() {
        assert_eq!(default_audience("https://octelium-api.example.com:443"), "https://example.com");
        assert_eq!(default_audience("http://127.0.0.1:4000"), "https://127.0.0.1");
    }

    #[test]
    fn redaction_scrubs_every_secret() {
        let s = [Token::new("abcdef"), Token::new("xyz123")];
        assert_eq!(redact("bad abcdef and xyz123", &s), "bad <redacted> and <redacted>");
    }
}
