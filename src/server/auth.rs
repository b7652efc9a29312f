//! Authentication of `cordium serve`, like a real cluster's (API reference §10): authentication
//! tokens are exchanged with auth.v1 for session tokens; every cordium/core call must carry a
//! live access token in `x-octelium-auth`; refresh tokens travel in `x-octelium-refresh-token`.
//! Tokens are random, kept in memory only, and never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use tonic::{Request, Response, Status};

use crate::live::auth::EXPIRED_ACCESS_TOKEN;
use crate::live::wire::auth;

/// Metadata key of the per-call access token.
pub const AUTH_HEADER: &str = "x-octelium-auth";
/// Metadata key of the refresh token on AuthenticateWithRefreshToken.
pub const REFRESH_HEADER: &str = "x-octelium-refresh-token";

/// Who is calling: put into request extensions by [`AuthState::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

#[derive(Debug, Clone)]
struct Grant {
    username: String,
    expires: Instant,
}

/// Token lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct TokenTtl {
    pub access: Duration,
    pub refresh: Duration,
}

/// Issued tokens and the provisioned authentication tokens.
#[derive(Debug)]
pub struct AuthState {
    /// authentication token → username.
    credentials: HashMap<String, String>,
    access: Mutex<HashMap<String, Grant>>,
    refresh: Mutex<HashMap<String, Grant>>,
    ttl: TokenTtl,
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
    /// `credentials`: (username, authentication token) pairs.
    pub fn new(credentials: &[(String, String)], ttl: TokenTtl) -> Self {
        AuthState {
            credentials: credentials.iter().map(|(u, t)| (t.clone(), u.clone())).collect(),
            access: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn issue(&self, username: &str) -> auth::SessionToken {
        let now = Instant::now();
        let access = random_token();
        let refresh = random_token();
        let grant = |ttl| Grant { username: username.to_string(), expires: now + ttl };
        let mut a = self.access.lock().unwrap_or_else(|e| e.into_inner());
        // Expired access tokens are kept a while, to be answered as expired rather than unknown.
        a.retain(|_, g| g.expires + EXPIRED_KEPT > now);
        a.insert(access.clone(), grant(self.ttl.access));
        let mut r = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        r.retain(|_, g| g.expires > now);
        r.insert(refresh.clone(), grant(self.ttl.refresh));
        auth::SessionToken {
            access_token: access,
            refresh_token: refresh,
            expires_in: whole_seconds(self.ttl.access),
            refresh_token_expires_in: whole_seconds(self.ttl.refresh),
        }
    }

    /// The interceptor of cordium/core services: a live access token or UNAUTHENTICATED.
    pub fn check(&self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let token = req
            .metadata()
            .get(AUTH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let username = {
            let a = self.access.lock().unwrap_or_else(|e| e.into_inner());
            match a.get(token) {
                Some(g) if g.expires > Instant::now() => g.username.clone(),
                Some(_) => return Err(Status::unauthenticated(EXPIRED_ACCESS_TOKEN)),
                None => return Err(unauthenticated()),
            }
        };
        req.extensions_mut().insert(Caller(username));
        Ok(req)
    }
}

/// A session answer that also tells the client who it is (`x-octelium-username`): our own
/// extension, so `cordium` needs no `CORDIUM_USERNAME` against `cordium serve`. A real cluster
/// does not send it and the client falls back to reading the objects it owns.
fn with_username(token: auth::SessionToken, username: &str) -> Response<auth::SessionToken> {
    let mut response = Response::new(token);
    if let Ok(value) = username.parse() {
        response.metadata_mut().insert(crate::live::grpc::USERNAME_HEADER, value);
    }
    response
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
        let Some(username) = self.0.credentials.get(token).cloned() else {
            return Err(unauthenticated());
        };
        Ok(with_username(self.0.issue(&username), &username))
    }

    async fn authenticate_with_assertion(
        &self,
        _request: Request<auth::AuthenticateWithAssertionRequest>,
    ) -> Result<Response<auth::SessionToken>, Status> {
        Err(Status::unimplemented(
            "cordium serve has no identity providers: authenticate with an authentication token",
        ))
    }

    async fn authenticate_with_refresh_token(
        &self,
        request: Request<auth::AuthenticateWithRefreshTokenRequest>,
    ) -> Result<Response<auth::SessionToken>, Status> {
        let token = request
            .metadata()
            .get(REFRESH_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthenticated)?;
        let grant = {
            let mut r = self.0.refresh.lock().unwrap_or_else(|e| e.into_inner());
            // A refresh token is used once: the exchange rotates it.
            r.remove(token)
        };
        match grant {
            Some(g) if g.expires > Instant::now() => {
                Ok(with_username(self.0.issue(&g.username), &g.username))
            }
            _ => Err(unauthenticated()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn state(access: Duration) -> AuthState {
        let ttl = TokenTtl { access, refresh: Duration::from_secs(60) };
        AuthState::new(&[("alice".into(), "T".into())], ttl)
    }

    fn with_token(t: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert(AUTH_HEADER, t.parse().unwrap());
        r
    }

    #[test]
    fn access_tokens_authenticate_until_they_expire() {
        let s = state(Duration::from_millis(50));
        let st = s.issue("alice");
        assert_eq!(st.expires_in, 1);
        let r = s.check(with_token(&st.access_token)).unwrap();
        assert_eq!(r.extensions().get::<Caller>(), Some(&Caller("alice".into())));
        assert!(s.check(Request::new(())).is_err());
        assert!(s.check(with_token("nope")).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            s.check(with_token(&st.access_token)).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }
}
