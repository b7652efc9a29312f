//! `cordium serve`: the local cluster exposed over the same gRPC services as a real cluster
//! (cordium.v1, core.v1, user.v1 and auth.v1 MainService), with auth and seedable fault injection. Used by
//! the stages above only through `live`. Never prints: [`start`] returns the bound address and the
//! CLI reports it.

pub mod auth;
pub mod faults;
pub mod kube;
pub mod oidc;
pub mod services;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::live::local::{
    create_private_dir, is_segment, ApiError, BuildSettings, Engine, EngineOptions,
};
use crate::live::wire::{auth as authpb, cordium, core, user as userpb};
use auth::{AuthService, AuthState, Role, TokenTtl, TokenUser, UserService, UserType};
use faults::{FaultOptions, Faults};
use services::{Backend, CordiumService, CoreService};

/// The username of the generated token when no `--auth-token` is given.
pub const DEFAULT_USER: &str = "admin";
/// The file the generated token is written to, inside the data directory.
pub const TOKEN_FILE: &str = "admin.token";
/// The store file inside the data directory.
pub const DB_FILE: &str = "local.db";

/// Certificate and key (PEM) for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `cordium serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Keep the store in memory (nothing but a generated token file touches `data_dir`).
    pub in_memory: bool,
    /// (username, authentication token) pairs of HUMAN cluster admins. With no
    /// [`token_users`](Self::token_users) either, one is generated for [`DEFAULT_USER`].
    pub auth_tokens: Vec<(String, String)>,
    /// Token users with their role and User type (`--auth-token`, `--workload-token`).
    pub token_users: Vec<TokenUser>,
    /// Users granted full core API access although their role is `user` (`--grant-api-access`,
    /// the `octelium-api-full-access` policy of a real cluster).
    pub api_access: Vec<String>,
    /// Who may create Spaces (`--space-ownership`).
    pub space_ownership: crate::live::local::SpaceOwnership,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub faults: FaultOptions,
    pub build_duration: Duration,
    pub build_fail_rate: f64,
    /// Seeds faults, build outcomes and server-chosen names.
    pub seed: Option<u64>,
    pub tls: Option<TlsFiles>,
    /// The key sealing Secret values; `None` = `<data_dir>/local.db.key`. Unused in memory.
    pub secret_key_file: Option<PathBuf>,
    /// Also serve the simulated Kubernetes API (`--kube-listen`).
    pub kube: Option<kube::KubeOptions>,
    /// Identity providers whose OIDC assertions are accepted (`--oidc-issuer`).
    pub oidc_issuers: Vec<oidc::Issuer>,
    /// The WORKLOAD users those assertions authenticate as (`--oidc-user`).
    pub oidc_identities: Vec<oidc::Identity>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: PathBuf::from(".cordium"),
            in_memory: false,
            auth_tokens: Vec::new(),
            token_users: Vec::new(),
            api_access: Vec::new(),
            space_ownership: Default::default(),
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            faults: FaultOptions::default(),
            oidc_issuers: Vec::new(),
            oidc_identities: Vec::new(),
            build_duration: Duration::from_secs(5),
            build_fail_rate: 0.0,
            seed: None,
            tls: None,
            secret_key_file: None,
            kube: None,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the local cluster store")]
    Store(#[source] ApiError),
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid --auth-token username {0:?}: it must be a lowercase name like `alice`")]
    Username(String),
    #[error("user {0:?} is given both as a HUMAN (--auth-token) and a WORKLOAD (--workload-token) user; a User has one type")]
    UserType(String),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
    #[error("the server task ended abnormally: {0}")]
    Task(String),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    tls: bool,
    token_file: Option<PathBuf>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
    engine: Arc<Engine>,
    kube: Option<kube::KubeServer>,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (https with TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Where the generated token was written, if one was generated.
    pub fn token_file(&self) -> Option<&Path> {
        self.token_file.as_deref()
    }

    /// The simulated Kubernetes API, when `--kube-listen` asked for it.
    pub fn kube(&self) -> Option<&kube::KubeServer> {
        self.kube.as_ref()
    }

    /// The engine behind the services.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops accepting calls, lets running ones finish, and waits.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(k) = self.kube.take() {
            k.stop();
        }
        self.wait().await
    }

    /// Waits until the server ends on its own (an error) or is stopped.
    pub async fn wait(&mut self) -> Result<(), ServeError> {
        match (&mut self.task).await {
            Ok(r) => r.map_err(ServeError::Transport),
            Err(e) => Err(ServeError::Task(e.to_string())),
        }
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ServeError + 'a {
    move |source| ServeError::Io { what, path: path.to_path_buf(), source }
}

/// Writes the generated token readable by the owner only (in a directory that is too).
fn write_token(dir: &Path, token: &str) -> Result<PathBuf, ServeError> {
    create_private_dir(dir).map_err(ServeError::Store)?;
    let path = dir.join(TOKEN_FILE);
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let mut file = open.open(&path).map_err(io("write", &path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io("restrict", &path))?;
    }
    std::io::Write::write_all(&mut file, format!("{token}\n").as_bytes())
        .map_err(io("write", &path))?;
    Ok(path)
}

/// Opens the store, binds, and serves in a background task.
pub async fn start(options: ServeOptions) -> Result<Server, ServeError> {
    let engine_options = EngineOptions {
        builds: BuildSettings {
            duration: options.build_duration,
            fail_rate: options.build_fail_rate,
            seed: options.seed.unwrap_or(0),
        },
        seed: options.seed,
        secret_key_file: options.secret_key_file.clone(),
        space_ownership: options.space_ownership.clone(),
        ..Default::default()
    };
    let engine = if options.in_memory {
        Engine::in_memory(engine_options)
    } else {
        Engine::open(&options.data_dir.join(DB_FILE), engine_options)
    }
    .map_err(ServeError::Store)?;
    start_with_engine(Arc::new(engine), options).await
}

/// Serves an existing engine (benchmarks share one with an in-process cluster).
pub async fn start_with_engine(
    engine: Arc<Engine>,
    options: ServeOptions,
) -> Result<Server, ServeError> {
    let admin = |(username, token): &(String, String)| TokenUser {
        username: username.clone(),
        token: token.clone(),
        role: Role::Admin,
        user_type: UserType::Human,
    };
    let mut credentials: Vec<TokenUser> = options.auth_tokens.iter().map(admin).collect();
    credentials.extend(options.token_users.iter().cloned());
    let mut token_file = None;
    if credentials.is_empty() {
        let token = auth::random_token();
        token_file = Some(write_token(&options.data_dir, &token)?);
        credentials.push(admin(&(DEFAULT_USER.to_string(), token)));
    }
    let mut types: std::collections::BTreeMap<&str, UserType> = Default::default();
    for u in &credentials {
        if !is_segment(&u.username) {
            return Err(ServeError::Username(u.username.clone()));
        }
        // One User has one type: a name given as both HUMAN and WORKLOAD is refused.
        if types.insert(&u.username, u.user_type).is_some_and(|t| t != u.user_type) {
            return Err(ServeError::UserType(u.username.clone()));
        }
    }
    for id in &options.oidc_identities {
        if !is_segment(&id.username) {
            return Err(ServeError::Username(id.username.clone()));
        }
        if types.insert(&id.username, UserType::Workload).is_some_and(|t| t != UserType::Workload) {
            return Err(ServeError::UserType(id.username.clone()));
        }
    }
    for (user, user_type) in types {
        let e = engine.clone();
        let u = user.to_string();
        let workload = user_type == UserType::Workload;
        tokio::task::spawn_blocking(move || e.provision_user(&u, workload))
            .await
            .map_err(|e| ServeError::Task(e.to_string()))?
            .map_err(ServeError::Store)?;
    }
    let ttl = TokenTtl { access: options.access_token_ttl, refresh: options.refresh_token_ttl };
    let auth_state = Arc::new(
        AuthState::new(&credentials, &options.api_access, ttl)
            .with_oidc(options.oidc_issuers.clone(), options.oidc_identities.clone()),
    );
    let backend = Backend {
        engine: engine.clone(),
        faults: Arc::new(Faults::new(options.faults, options.seed)),
    };

    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = &options.tls {
        let cert = std::fs::read(&tls.cert).map_err(io("read", &tls.cert))?;
        let key = std::fs::read(&tls.key).map_err(io("read", &tls.key))?;
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(ServeError::Transport)?;
    }
    let check = {
        let s = auth_state.clone();
        move |req| s.check(req)
    };
    let check_core = {
        let s = auth_state.clone();
        move |req| s.check_core(req)
    };
    let check_user = {
        let s = auth_state.clone();
        move |req| s.check(req)
    };
    let router = builder
        .add_service(cordium::main_service_server::MainServiceServer::with_interceptor(
            CordiumService(backend.clone()),
            check,
        ))
        .add_service(core::main_service_server::MainServiceServer::with_interceptor(
            CoreService(backend),
            check_core,
        ))
        .add_service(userpb::main_service_server::MainServiceServer::with_interceptor(
            UserService,
            check_user,
        ))
        .add_service(authpb::main_service_server::MainServiceServer::new(AuthService(auth_state)));

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
    // Every accepted connection gets TCP_NODELAY: without it a small response waits for the
    // client's delayed ACK (~40 ms per unary call on Linux).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = rx.await;
    }));
    let kube = match options.kube.clone() {
        Some(k) => Some(kube::start(k, engine.clone(), &options.data_dir).await?),
        None => None,
    };
    Ok(Server {
        addr,
        tls: options.tls.is_some(),
        token_file,
        shutdown: Some(tx),
        task,
        engine,
        kube,
    })
}
