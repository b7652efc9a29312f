//! Authentication to a cluster (API reference §10): exchanging `OCTELIUM_AUTH_TOKEN` for a
//! session (AuthenticateWithAuthenticationToken), or using a static `OCTELIUM_ACCESS_TOKEN` as
//! is; renewing the session before it expires (AuthenticateWithRefreshToken with the refresh
//! token in `x-octelium-refresh-token`), and starting over when the server says UNAUTHENTICATED.
//!
//! Tokens are secrets: they live in [`Token`], whose `Debug` and `Display` print `<redacted>`;
//! they never enter an error message or a log line. Owns no decision about what to change.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

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
    /// `CORDIUM_USERNAME`: the caller's username, when it cannot be learned from the cluster.
    pub username: Option<String>,
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
            (None, None) => Credentials::None,
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

/// A live session.
struct Session {
    access: Token,
    refresh: Token,
    /// Renew from this moment on.
    renew_at: Instant,
    /// The refresh token is no good after this.
    refresh_until: Instant,
}

impl Session {
    fn from_wire(t: SessionToken, now: Instant) -> Self {
        let secs = |s: i64| Duration::from_secs(s.max(0) as u64);
        let expires_in = secs(t.expires_in);
        Session {
            access: Token::new(t.access_token),
            refresh: Token::new(t.refresh_token),
            renew_at: now + expires_in.saturating_sub(renewal_margin(expires_in)),
            refresh_until: now + secs(t.refresh_token_expires_in),
        }
    }
}

/// The auth state of one client: which credentials, and the current session.
pub struct Auth {
    credentials: Credentials,
    session: Mutex<Option<Session>>,
    /// The static access token was refused and the authentication token is used instead.
    fell_back: AtomicBool,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(credentials: Credentials) -> Self {
        Auth { credentials, session: Mutex::new(None), fell_back: AtomicBool::new(false) }
    }

    /// Whether a rejected access token can be replaced by authenticating again.
    pub fn can_reauthenticate(&self) -> bool {
        match self.credentials {
            Credentials::AuthToken(_) => true,
            Credentials::AccessTokenThenAuthToken { .. } => self.fell_back.load(Ordering::SeqCst),
            Credentials::None | Credentials::AccessToken(_) => false,
        }
    }

    /// Whether the calls use a static access token (`OCTELIUM_ACCESS_TOKEN`) right now.
    pub fn uses_access_token(&self) -> bool {
        match self.credentials {
            Credentials::AccessToken(_) => true,
            Credentials::AccessTokenThenAuthToken { .. } => !self.fell_back.load(Ordering::SeqCst),
            Credentials::None | Credentials::AuthToken(_) => false,
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
            Credentials::None => {}
        }
        if let Some(s) = self.session.lock().await.as_ref() {
            out.push(s.access.clone());
            out.push(s.refresh.clone());
        }
        out
    }

    /// Forgets the session (after the server said UNAUTHENTICATED): the next call starts over.
    pub async fn invalidate(&self) {
        *self.session.lock().await = None;
    }

    /// The access token for the next call: exchanging or renewing first when needed. `None`
    /// when there are no credentials.
    pub(crate) async fn access_token(
        &self,
        transport: &Transport,
    ) -> Result<Option<Token>, LiveError> {
        let auth_token = match &self.credentials {
            Credentials::None => return Ok(None),
            Credentials::AccessToken(t) => return Ok(Some(t.clone())),
            Credentials::AccessTokenThenAuthToken { access, auth } => {
                if !self.fell_back.load(Ordering::SeqCst) {
                    return Ok(Some(access.clone()));
                }
                auth
            }
            Credentials::AuthToken(t) => t,
        };
        // Held across the exchange, so concurrent calls wait for one renewal.
        let mut guard = self.session.lock().await;
        let now = Instant::now();
        if let Some(s) = guard.as_ref() {
            if now < s.renew_at {
                return Ok(Some(s.access.clone()));
            }
            if now < s.refresh_until && !s.refresh.is_empty() {
                match self.refresh(transport, &s.refresh).await {
                    Ok(t) => {
                        let session = Session::from_wire(t, Instant::now());
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
        let t = self.authenticate(transport, auth_token).await?;
        let session = Session::from_wire(t, Instant::now());
        let access = session.access.clone();
        *guard = Some(session);
        Ok(Some(access))
    }

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
        transport
            .unary(op, true, &[], std::slice::from_ref(token), req, |ch, r| async move {
                AuthClient::new(ch).authenticate_with_authentication_token(r).await
            })
            .await
            .map_err(|e| match e.code {
                ErrorCode::Unauthenticated | ErrorCode::PermissionDenied => LiveError::new(
                    ErrorCode::Unauthenticated,
                    op,
                    "the cluster refused the authentication token: check OCTELIUM_AUTH_TOKEN \
                     (it may be wrong, expired or revoked)",
                ),
                _ => e,
            })
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
                &[],
                auth::AuthenticateWithRefreshTokenRequest {},
                |ch, r| async move { AuthClient::new(ch).authenticate_with_refresh_token(r).await },
            )
            .await
    }
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
            username: None,
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
    fn redaction_scrubs_every_secret() {
        let s = [Token::new("abcdef"), Token::new("xyz123")];
        assert_eq!(redact("bad abcdef and xyz123", &s), "bad <redacted> and <redacted>");
    }
}
