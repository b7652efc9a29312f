//! `cordium serve`: runs the local cluster over gRPC until SIGINT/SIGTERM. The first line on
//! stdout is exactly `listening on http://127.0.0.1:PORT` (https with TLS): scripts parse it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::exit::Exit;
use crate::live::local::{OwnershipRule, SpaceOwnership};
use crate::server::auth::{Role, TokenUser, UserType};
use crate::server::faults::{ErrorMode, FaultCode, FaultOptions};
use crate::server::{self, ServeOptions, TlsFiles};

/// Arguments of `cordium serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Directory of the store (`local.db`, its key `local.db.key`) and of a generated
    /// `admin.token`; created readable by its owner only (0700), its files 0600.
    #[arg(long, default_value = ".cordium")]
    pub data: PathBuf,
    /// Keep the store in memory; it is gone when the server stops.
    #[arg(long)]
    pub in_memory: bool,
    /// Provision an authentication token of a HUMAN user (at most 16 Sessions at once, each
    /// lasting 21 h), as USERNAME:TOKEN[:ROLE] (repeatable). ROLE is `admin` (the default: a
    /// cluster admin, with the core API) or `user` (an ordinary Octelium user: no core API).
    /// Without any token flag, a token for `admin` is generated and written to
    /// `<data>/admin.token`.
    #[arg(long = "auth-token", value_name = "USERNAME:TOKEN[:ROLE]")]
    pub auth_tokens: Vec<String>,
    /// Provision an authentication token of a WORKLOAD user (at most 128 Sessions, each lasting
    /// 90 days), as USERNAME:TOKEN[:ROLE] (repeatable; ROLE as for --auth-token).
    #[arg(long = "workload-token", value_name = "USERNAME:TOKEN[:ROLE]")]
    pub workload_tokens: Vec<String>,
    /// Grant this user full core API access although its role is `user`, as the
    /// `octelium-api-full-access` policy does on a real cluster (repeatable).
    #[arg(long = "grant-api-access", value_name = "USERNAME")]
    pub grant_api_access: Vec<String>,
    /// A ClusterConfig Space ownership rule (`spec.space.ownership.rules`): who may create
    /// Spaces. `allow:any` (what a fresh Cordium installation sets; the default), `deny:...`,
    /// with the condition `any`, `user=NAME`, `type=human|workload` or
    /// `space=user|organization`. DENY rules are checked first, then ALLOW; `--space-ownership
    /// none` leaves no rule, so every CreateSpace is refused, as upstream with no rules.
    /// Repeatable.
    #[arg(long = "space-ownership", value_name = "EFFECT:CONDITION")]
    pub space_ownership: Vec<String>,
    /// Lifetime of access tokens.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens.
    #[arg(long, default_value = "30days", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Duration,
    /// Added latency of every cordium/core call.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// Random extra latency, up to this much.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub jitter: Duration,
    /// Probability (0 to 1) that a cordium/core call answers an injected error.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub error_rate: f64,
    /// The code of injected errors: `unavailable`, `out-of-range`, `internal`, or `mixed` (each
    /// a third of the time).
    #[arg(long, default_value = "unavailable", value_parser = ["unavailable", "out-of-range", "internal", "mixed"])]
    pub error_code: String,
    /// When injected errors happen: `before` the operation (nothing written), `after` it
    /// committed, or `both`.
    #[arg(long, default_value = "before", value_parser = ["before", "after", "both"])]
    pub error_mode: String,
    /// How long a simulated Template build runs.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub build_duration: Duration,
    /// Probability (0 to 1) that a simulated build fails.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub build_fail_rate: f64,
    /// Seed for faults, build outcomes and server-chosen names (reproducible runs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// TLS certificate (PEM); serve https with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// File of the key that encrypts Secret values at rest (created, mode 0600, when missing).
    /// Default: `<data>/local.db.key`, beside the store. Keep it out of the store's backups.
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// Accept OIDC assertions (AuthenticateWithAssertion) signed by a key of this identity
    /// provider, as NAME=JWKS_FILE (a JSON Web Key Set; RS256, ES256, ES384), optionally
    /// followed by `,issuer=ISS` (the `iss` tokens must carry) and `,audience=AUD` (default
    /// `https://<listen host>`, what `cordium` asks for by default). Repeatable. Tokens must be
    /// unexpired and name a WORKLOAD user of --oidc-user.
    #[arg(long = "oidc-issuer", value_name = "NAME=JWKS_FILE")]
    pub oidc_issuers: Vec<String>,
    /// The WORKLOAD user an assertion of provider ISSUER with `sub` SUBJECT authenticates as,
    /// as USERNAME[:ROLE]=ISSUER:SUBJECT (ROLE as for --auth-token). Repeatable.
    #[arg(long = "oidc-user", value_name = "USERNAME[:ROLE]=ISSUER:SUBJECT")]
    pub oidc_users: Vec<String>,
    /// Also serve the Kubernetes API subset cordium uses (VolumeSnapshots, Leases, discovery)
    /// over HTTP on this address (port 0 picks a free one), and write `<data>/kubeconfig`
    /// pointing at it. Its simulated controller creates a VolumeSnapshot
    /// `<templateUID>-<buildID>` when a build finishes and logs what it did to
    /// `<data>/kube.log` (docs/serve.md).
    #[arg(long, value_name = "ADDR")]
    pub kube_listen: Option<SocketAddr>,
    /// The namespace the simulated controller creates VolumeSnapshots in.
    #[arg(long, value_name = "NAME", default_value = crate::live::kube::DEFAULT_NAMESPACE, requires = "kube_listen")]
    pub kube_namespace: String,
    /// How long after its creation a simulated VolumeSnapshot turns `readyToUse`.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, requires = "kube_listen")]
    pub kube_snapshot_delay: Duration,
    /// Fail the snapshots (`status.error`) of Templates whose stored name contains this
    /// (repeatable).
    #[arg(long, value_name = "TEXT", requires = "kube_listen")]
    pub kube_snapshot_fail: Vec<String>,
    /// Never create the snapshots of Templates whose stored name contains this (repeatable).
    #[arg(long, value_name = "TEXT", requires = "kube_listen")]
    pub kube_snapshot_skip: Vec<String>,
    /// Refuse this call with 403 Forbidden, as RBAC does: `VERB/RESOURCE` with VERB one of get,
    /// list, watch, create, update, delete or `*`, and RESOURCE `volumesnapshots` or `leases`
    /// (repeatable).
    #[arg(long, value_name = "VERB/RESOURCE", requires = "kube_listen", value_parser = forbid)]
    pub kube_forbid: Vec<String>,
    /// Serve no VolumeSnapshot CRD (`snapshot.storage.k8s.io` answers 404), as a cluster
    /// without the CSI snapshotter.
    #[arg(long, requires = "kube_listen")]
    pub kube_without_snapshot_crd: bool,
}

fn forbid(s: &str) -> Result<String, String> {
    let (verb, res) = s.split_once('/').ok_or("must be VERB/RESOURCE")?;
    let verbs = ["get", "list", "watch", "create", "update", "delete", "*"];
    if !verbs.contains(&verb) {
        return Err(format!("the verb must be one of {}", verbs.join(", ")));
    }
    if !["volumesnapshots", "leases"].contains(&res) {
        return Err("the resource must be volumesnapshots or leases".into());
    }
    Ok(s.to_string())
}

fn fraction(s: &str) -> Result<f64, String> {
    let f: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err("must be between 0 and 1".to_string())
    }
}

/// `USERNAME:TOKEN[:ROLE]`. A last part that is not a role belongs to the token.
fn token_user(spec: &str, user_type: UserType, flag: &str) -> Result<TokenUser, String> {
    // Never echo the value: it holds a token.
    let bad =
        || format!("{flag} must be USERNAME:TOKEN or USERNAME:TOKEN:ROLE (ROLE admin or user)");
    let (username, rest) = spec.split_once(':').ok_or_else(bad)?;
    let (token, role) = match rest.rsplit_once(':') {
        Some((t, "admin")) => (t, Role::Admin),
        Some((t, "user")) => (t, Role::User),
        _ => (rest, Role::Admin),
    };
    if username.is_empty() || token.is_empty() {
        return Err(bad());
    }
    Ok(TokenUser { username: username.to_string(), token: token.to_string(), role, user_type })
}

fn options(args: Args) -> Result<ServeOptions, String> {
    let mut token_users = Vec::new();
    for spec in &args.auth_tokens {
        token_users.push(token_user(spec, UserType::Human, "--auth-token")?);
    }
    for spec in &args.workload_tokens {
        token_users.push(token_user(spec, UserType::Workload, "--workload-token")?);
    }
    let error_code = match args.error_code.as_str() {
        "out-of-range" => FaultCode::OutOfRange,
        "internal" => FaultCode::Internal,
        "mixed" => FaultCode::Mixed,
        _ => FaultCode::Unavailable,
    };
    let error_mode = match args.error_mode.as_str() {
        "after" => ErrorMode::After,
        "both" => ErrorMode::Both,
        _ => ErrorMode::Before,
    };
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let audience = format!("https://{}", args.listen.ip());
    let oidc_issuers = args
        .oidc_issuers
        .iter()
        .map(|spec| crate::server::oidc::parse_issuer(spec, &audience))
        .collect::<Result<Vec<_>, _>>()?;
    let oidc_identities = args
        .oidc_users
        .iter()
        .map(|spec| crate::server::oidc::parse_identity(spec))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(id) =
        oidc_identities.iter().find(|i| !oidc_issuers.iter().any(|x| x.name == i.issuer))
    {
        return Err(format!(
            "--oidc-user {}: no --oidc-issuer is named {}",
            id.username, id.issuer
        ));
    }
    let kube = args.kube_listen.map(|listen| crate::server::kube::KubeOptions {
        listen,
        namespace: args.kube_namespace.clone(),
        snapshot_delay: args.kube_snapshot_delay,
        fail: args.kube_snapshot_fail.clone(),
        skip: args.kube_snapshot_skip.clone(),
        forbid: args.kube_forbid.clone(),
        without_snapshot_crd: args.kube_without_snapshot_crd,
    });
    Ok(ServeOptions {
        kube,
        oidc_issuers,
        oidc_identities,
        listen: args.listen,
        data_dir: args.data,
        in_memory: args.in_memory,
        auth_tokens: Vec::new(),
        token_users,
        api_access: args.grant_api_access,
        space_ownership: space_ownership(&args.space_ownership)?,
        access_token_ttl: args.access_token_ttl,
        refresh_token_ttl: args.refresh_token_ttl,
        faults: FaultOptions {
            latency: args.latency,
            jitter: args.jitter,
            error_rate: args.error_rate,
            error_mode,
            error_code,
        },
        build_duration: args.build_duration,
        build_fail_rate: args.build_fail_rate,
        seed: args.seed,
        tls,
        secret_key_file: args.secret_key_file,
    })
}

/// The `--space-ownership` rules; none given: the fresh-install default.
fn space_ownership(rules: &[String]) -> Result<SpaceOwnership, String> {
    if rules.is_empty() {
        return Ok(SpaceOwnership::default());
    }
    if rules.iter().any(|r| r == "none") {
        if rules.len() > 1 {
            return Err("--space-ownership none cannot be combined with rules".into());
        }
        return Ok(SpaceOwnership::none());
    }
    let rules = rules
        .iter()
        .map(|r| r.parse::<OwnershipRule>().map_err(|e| format!("--space-ownership {r}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SpaceOwnership { rules })
}

#[allow(clippy::print_stdout, clippy::print_stderr)] // cli reports; the server never prints
fn report_error(e: &dyn std::error::Error) {
    let mut msg = format!("error: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    eprintln!("{msg}");
}

/// SIGINT and SIGTERM, registered before the server starts: a signal that arrives between
/// `listening on …` and the wait must stop the server cleanly, not kill the process with the
/// default action (a test and a supervisor both send SIGTERM as soon as they read that line).
struct Termination {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Termination {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = signal(SignalKind::terminate())
                .and_then(|t| signal(SignalKind::interrupt()).map(|i| (t, i)))
                .ok();
            Termination { signals }
        }
        #[cfg(not(unix))]
        {
            Termination {}
        }
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[allow(clippy::print_stdout, clippy::print_stderr)] // cli reports; the server never prints
pub fn run(args: Args) -> Exit {
    crate::ops::keep_freed_memory();
    let options = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            report_error(&e);
            return Exit::Error;
        }
    };
    runtime.block_on(async move {
        let mut termination = Termination::register();
        let mut server = match server::start(options).await {
            Ok(s) => s,
            Err(e) => {
                report_error(&e);
                return Exit::Error;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.url());
        let _ = out.flush();
        drop(out);
        if let Some(k) = server.kube() {
            let config = k.kubeconfig.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            eprintln!("Kubernetes API on {} (kubeconfig {config})", k.url());
        }
        if let Some(path) = server.token_file() {
            eprintln!("wrote an authentication token for user admin to {}", path.display());
        }
        tokio::select! {
            _ = termination.wait() => {}
            r = server.wait() => {
                if let Err(e) = r {
                    report_error(&e);
                    return Exit::Error;
                }
                return Exit::Ok;
            }
        }
        match server.stop().await {
            Ok(()) => Exit::Ok,
            Err(e) => {
                report_error(&e);
                Exit::Error
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_specs_parse_with_an_optional_role() {
        let h = UserType::Human;
        let u = token_user("bob:s3:user", h, "--auth-token").expect("parses");
        assert_eq!((u.username.as_str(), u.token.as_str(), u.role), ("bob", "s3", Role::User));
        let u = token_user("ann:a:b", UserType::Workload, "--workload-token").expect("parses");
        assert_eq!(
            (u.token.as_str(), u.role, u.user_type),
            ("a:b", Role::Admin, UserType::Workload)
        );
        assert_eq!(token_user("ann:t:admin", h, "f").expect("parses").role, Role::Admin);
        for bad in ["", "s3cret", ":s3cret", "bob:", "bob::user"] {
            let e = token_user(bad, h, "--auth-token").expect_err(bad);
            assert!(!e.contains("s3cret"), "{e}");
        }
    }
}
