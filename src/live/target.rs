//! Which cluster to talk to: resolving the target from flags, then the environment, then the
//! stack file's environment, else the embedded local default (never silently under CI); checking
//! endpoints (TLS, or plaintext to loopback only); and connecting.
//!
//! The CLI reads flags and the environment and hands them over as plain values
//! ([`TargetFlags`], [`TargetEnv`]); nothing here reads the environment. Decides nothing about
//! what to change.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::auth::{AuthEnv, Credentials};
use super::grpc::{GrpcCluster, GrpcOptions};
use super::{Cluster, ErrorCode, LiveError};
use crate::config::stack::Environment;

/// Where the embedded local cluster lives when nothing else is chosen (relative to the root).
pub const DEFAULT_LOCAL_PATH: &str = ".cordium/local.db";

/// The target flags as typed (`--local`, `--endpoint`, `--domain`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFlags {
    pub local: Option<PathBuf>,
    pub endpoint: Option<String>,
    pub domain: Option<String>,
}

/// The target settings the CLI read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetEnv {
    /// `CORDIUM_ENDPOINT`
    pub endpoint: Option<String>,
    /// `OCTELIUM_DOMAIN`
    pub domain: Option<String>,
}

/// Where a target choice came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    Flag,
    Env,
    /// The stack file's environment.
    Stack,
    /// Nothing chose: the embedded default.
    Default,
}

/// The cluster to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded local cluster in a SQLite file (relative paths: to the config root).
    Local { path: PathBuf, source: TargetSource },
    /// A cluster over gRPC: a real one (`https://octelium-api.<domain>:443`) or `cordium serve`.
    Remote { endpoint: String, source: TargetSource },
}

impl Target {
    /// How outputs name the target: `local:.cordium/local.db`, `http://127.0.0.1:4000`,
    /// `octelium-api.example.com:443`.
    pub fn display(&self) -> String {
        match self {
            Target::Local { path, .. } => format!("local:{}", path.display()),
            Target::Remote { endpoint, .. } => match parse_endpoint(endpoint) {
                Ok(url) => url.display(),
                Err(_) => endpoint.clone(),
            },
        }
    }

    /// Nothing chose this target: plan says so.
    pub fn is_implicit(&self) -> bool {
        matches!(self, Target::Local { source: TargetSource::Default, .. })
    }

    pub fn source(&self) -> TargetSource {
        match self {
            Target::Local { source, .. } | Target::Remote { source, .. } => *source,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Why no target could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{0} choose different targets; give only one of --local, --endpoint and --domain")]
    ConflictingFlags(String),
    #[error("environment `{0}` in the stack file sets more than one of local, endpoint and domain; keep one")]
    ConflictingEnvironment(String),
    #[error(
        "no target cluster was chosen and CI=true: pass --endpoint, --domain or --local, set \
         CORDIUM_ENDPOINT or OCTELIUM_DOMAIN, or select a stack environment with --env"
    )]
    ImplicitInCi,
    #[error("`{0}` is not a cluster domain (expected a host name such as example.com)")]
    BadDomain(String),
    #[error("`{url}` is not a usable endpoint: {reason}")]
    BadEndpoint { url: String, reason: String },
    #[error(
        "refusing plaintext http to `{0}`: only loopback addresses (127.0.0.1, ::1, localhost) may \
         be reached without TLS; use https://"
    )]
    InsecureRemote(String),
}

/// Chooses the target: flags, then `CORDIUM_ENDPOINT`, then `OCTELIUM_DOMAIN`, then the stack
/// environment, else the local default (refused when `ci`). Endpoints are checked here, so a
/// plaintext remote is refused before anything is read.
pub fn resolve(
    flags: &TargetFlags,
    env: &TargetEnv,
    environment: Option<&Environment>,
    ci: bool,
) -> Result<Target, TargetError> {
    let given = [flags.local.is_some(), flags.endpoint.is_some(), flags.domain.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        let names: Vec<&str> = ["--local", "--endpoint", "--domain"]
            .into_iter()
            .zip(given)
            .filter_map(|(n, g)| g.then_some(n))
            .collect();
        return Err(TargetError::ConflictingFlags(names.join(" and ")));
    }
    if let Some(t) = pick(&flags.local, &flags.endpoint, &flags.domain, TargetSource::Flag)? {
        return Ok(t);
    }
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    if let Some(t) = pick(&None, &nonempty(&env.endpoint), &None, TargetSource::Env)? {
        return Ok(t);
    }
    if let Some(t) = pick(&None, &None, &nonempty(&env.domain), TargetSource::Env)? {
        return Ok(t);
    }
    if let Some(e) = environment {
        let set = [e.local.is_some(), e.endpoint.is_some(), e.domain.is_some()];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(TargetError::ConflictingEnvironment(e.name.clone()));
        }
        if let Some(t) = pick(&e.local, &e.endpoint, &e.domain, TargetSource::Stack)? {
            return Ok(t);
        }
    }
    if ci {
        return Err(TargetError::ImplicitInCi);
    }
    Ok(Target::Local { path: PathBuf::from(DEFAULT_LOCAL_PATH), source: TargetSource::Default })
}

fn pick(
    local: &Option<PathBuf>,
    endpoint: &Option<String>,
    domain: &Option<String>,
    source: TargetSource,
) -> Result<Option<Target>, TargetError> {
    if let Some(path) = local {
        return Ok(Some(Target::Local { path: path.clone(), source }));
    }
    if let Some(e) = endpoint {
        let url = parse_endpoint(e)?;
        return Ok(Some(Target::Remote { endpoint: url.url, source }));
    }
    if let Some(d) = domain {
        return Ok(Some(Target::Remote { endpoint: domain_endpoint(d)?, source }));
    }
    Ok(None)
}

/// `example.com` → `https://octelium-api.example.com:443` (reference §10).
pub fn domain_endpoint(domain: &str) -> Result<String, TargetError> {
    let d = domain.trim().trim_end_matches('.');
    let ok = !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !ok {
        return Err(TargetError::BadDomain(domain.to_string()));
    }
    Ok(format!("https://octelium-api.{}:443", d.to_ascii_lowercase()))
}

/// A checked endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    /// `scheme://host:port`, normalised.
    pub url: String,
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl EndpointUrl {
    /// `http://127.0.0.1:4000` for plaintext; `host:port` for TLS.
    pub fn display(&self) -> String {
        if self.tls {
            format!("{}:{}", self.host, self.port)
        } else {
            self.url.clone()
        }
    }
}

/// Checks an endpoint: `https://host[:port]` (default 443), or `http://` to a loopback host.
pub fn parse_endpoint(s: &str) -> Result<EndpointUrl, TargetError> {
    let bad = |reason: &str| TargetError::BadEndpoint { url: s.to_string(), reason: reason.into() };
    let uri: tonic::transport::Uri = s.trim().parse().map_err(|_| bad("it is not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("it must start with https:// (or http:// for a local cordium serve)")),
    };
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(bad("it must not have a path"));
    }
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| bad("it has no host"))?;
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if !tls && !is_loopback(bare) {
        return Err(TargetError::InsecureRemote(s.to_string()));
    }
    let scheme = if tls { "https" } else { "http" };
    Ok(EndpointUrl { url: format!("{scheme}://{host}:{port}"), tls, host: bare.to_string(), port })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Connects to a gRPC target (dialing lazily). Local targets go through [`connect_local`].
pub async fn connect(target: &Target, auth: &AuthEnv) -> Result<Arc<dyn Cluster>, LiveError> {
    match target {
        Target::Local { path, .. } => connect_local(path),
        Target::Remote { endpoint, .. } => Ok(Arc::new(connect_remote(endpoint, auth).await?)),
    }
}

/// A gRPC client of `endpoint` with the credentials, username override and session cache of
/// `auth` (for `login`/`logout`, which need the client's own methods).
pub async fn connect_remote(endpoint: &str, auth: &AuthEnv) -> Result<GrpcCluster, LiveError> {
    let mut opts = GrpcOptions::new(endpoint.to_string(), Credentials::from_env(auth));
    opts.username = auth.username.clone().filter(|u| !u.is_empty());
    opts.cache_dir = auth.cache_dir.clone();
    GrpcCluster::connect(opts).await
}

/// Opens (creating it and its folder if needed) the embedded local cluster stored at `path`.
pub fn connect_local(path: &std::path::Path) -> Result<Arc<dyn Cluster>, LiveError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            LiveError::new(
                ErrorCode::Other,
                format!("open local:{}", path.display()),
                e.to_string(),
            )
        })?;
    }
    Ok(Arc::new(crate::live::local::LocalCluster::open(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(local: Option<&str>, endpoint: Option<&str>, domain: Option<&str>) -> TargetFlags {
        TargetFlags {
            local: local.map(PathBuf::from),
            endpoint: endpoint.map(String::from),
            domain: domain.map(String::from),
        }
    }

    #[test]
    fn flags_win_over_environment_and_stack() {
        let env = TargetEnv { endpoint: Some("http://127.0.0.1:9".into()), domain: None };
        let stack = Environment { domain: Some("example.com".into()), ..Environment::default() };
        let t = resolve(&flags(None, None, Some("flag.io")), &env, Some(&stack), true)
            .expect("resolves");
        assert_eq!(
            t,
            Target::Remote {
                endpoint: "https://octelium-api.flag.io:443".into(),
                source: TargetSource::Flag
            }
        );
        assert_eq!(t.display(), "octelium-api.flag.io:443");
        let t = resolve(&TargetFlags::default(), &env, Some(&stack), true).expect("resolves");
        assert_eq!(t.display(), "http://127.0.0.1:9");
        assert_eq!(t.source(), TargetSource::Env);
        let t = resolve(&TargetFlags::default(), &TargetEnv::default(), Some(&stack), true)
            .expect("resolves");
        assert_eq!(t.display(), "octelium-api.example.com:443");
        assert_eq!(t.source(), TargetSource::Stack);
    }

    #[test]
    fn endpoint_env_wins_over_domain_env() {
        let env = TargetEnv {
            endpoint: Some("https://x.example:8443".into()),
            domain: Some("example.com".into()),
        };
        let t = resolve(&TargetFlags::default(), &env, None, false).expect("resolves");
        assert_eq!(t.display(), "x.example:8443");
    }

    #[test]
    fn the_default_is_local_and_refused_under_ci() {
        let t =
            resolve(&TargetFlags::default(), &TargetEnv::default(), None, false).expect("resolves");
        assert!(t.is_implicit());
        assert_eq!(t.display(), "local:.cordium/local.db");
        let e = resolve(&TargetFlags::default(), &TargetEnv::default(), None, true);
        assert_eq!(e, Err(TargetError::ImplicitInCi));
        let explicit = resolve(&flags(Some("x.db"), None, None), &TargetEnv::default(), None, true);
        assert!(!explicit.expect("resolves").is_implicit());
    }

    #[test]
    fn two_flags_conflict() {
        let e = resolve(
            &flags(Some("a"), Some("http://[::1]:1"), None),
            &TargetEnv::default(),
            None,
            false,
        );
        assert!(
            matches!(e, Err(TargetError::ConflictingFlags(ref s)) if s == "--local and --endpoint")
        );
        let stack = Environment {
            name: "dev".into(),
            domain: Some("a.b".into()),
            local: Some("x".into()),
            ..Environment::default()
        };
        let e = resolve(&TargetFlags::default(), &TargetEnv::default(), Some(&stack), false);
        assert_eq!(e, Err(TargetError::ConflictingEnvironment("dev".into())));
    }

    #[test]
    fn plaintext_is_for_loopback_only() {
        for ok in ["http://127.0.0.1:4000", "http://localhost:1", "http://[::1]:80", "https://a.b"]
        {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        assert!(matches!(
            parse_endpoint("http://10.0.0.1:80"),
            Err(TargetError::InsecureRemote(_))
        ));
        assert!(matches!(
            parse_endpoint("http://example.com"),
            Err(TargetError::InsecureRemote(_))
        ));
        for bad in ["ftp://a", "example.com", "https://a.b/path", ""] {
            assert!(matches!(parse_endpoint(bad), Err(TargetError::BadEndpoint { .. })), "{bad}");
        }
        assert_eq!(parse_endpoint("https://a.b").expect("resolves").url, "https://a.b:443");
    }

    #[test]
    fn domains_are_checked() {
        assert_eq!(
            domain_endpoint("Example.com.").expect("resolves"),
            "https://octelium-api.example.com:443"
        );
        for bad in ["", "https://x", "a/b", "a..b", "a:443"] {
            assert!(domain_endpoint(bad).is_err(), "{bad}");
        }
    }
}
