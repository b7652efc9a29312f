//! Shared integration-test support: starts the real `cordium serve` binary on an ephemeral
//! loopback port and hands out gRPC clients built from the generated (upstream-shaped)
//! definitions, authenticated the way a real client is: exchange the authentication token with
//! auth.v1, then send `x-octelium-auth` on every call.
//!
//! ```ignore
//! let serve = Serve::start(&["--build-duration", "1s"]);   // as admin:T, in memory
//! let mut cordium = serve.cordium().await;                   // authenticated as admin
//! let mut bob = serve.cordium_with("B").await;               // another provisioned token
//! ```

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

use cordium::live::wire::{auth, cordium as cpb, core as corepb};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The authentication token `Serve::start` provisions for `admin`.
pub const ADMIN_TOKEN: &str = "T";

/// The `cordium` binary as `admin` with `ADMIN_TOKEN`, with no target or token inherited from
/// the test's own environment (`CORDIUM_ENDPOINT`, `OCTELIUM_DOMAIN`, `OCTELIUM_ACCESS_TOKEN`,
/// `CI`), and `CORDIUM_STACK=default` for the configs that have no stack file.
pub fn cordium_as_admin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cordium"));
    c.env_remove("CORDIUM_ENDPOINT")
        .env_remove("OCTELIUM_DOMAIN")
        .env_remove("OCTELIUM_ACCESS_TOKEN")
        .env_remove("CI")
        // No Kubernetes access unless a test names it (docs/kubernetes.md).
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("OCTELIUM_AUTH_TOKEN", ADMIN_TOKEN)
        .env("CORDIUM_USERNAME", "admin")
        .env("CORDIUM_CACHE_DIR", test_cache_dir())
        // The stack of a config without a stack file (a remote target needs one; docs/stack.md).
        .env("CORDIUM_STACK", "default")
        .env_remove("CORDIUM_LOGOUT");
    c
}

/// The session cache of the tests' `cordium` runs: one per test binary run, under the system
/// temporary directory (never the home of whoever runs the tests).
pub fn test_cache_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cordium-test-cache-{}", std::process::id()))
}

/// Sends the signal `sig` (`-STOP`, `-CONT`, `-TERM`, `-INT`, `-KILL`) to `pid` with `kill`.
pub fn send(sig: &str, pid: u32) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status();
    assert!(ok.is_ok_and(|s| s.success()), "kill {sig} {pid}");
}

/// Adds `x-octelium-auth: <access token>` to every call.
#[derive(Clone)]
pub struct Auth(pub Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("x-octelium-auth", v.clone());
        }
        Ok(req)
    }
}

pub type CordiumClient =
    cpb::main_service_client::MainServiceClient<InterceptedService<Channel, Auth>>;
pub type CoreClient =
    corepb::main_service_client::MainServiceClient<InterceptedService<Channel, Auth>>;
pub type AuthClient = auth::main_service_client::MainServiceClient<Channel>;

/// A running `cordium serve` child process; stopped (killed) on drop.
pub struct Serve {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The exact first line of stdout.
    pub first_line: String,
}

impl Serve {
    /// `serve --listen 127.0.0.1:0 --in-memory --auth-token admin:T` plus `extra`.
    pub fn start(extra: &[&str]) -> Serve {
        let mut args = vec!["--listen", "127.0.0.1:0", "--in-memory", "--auth-token", "admin:T"];
        args.extend_from_slice(extra);
        Self::start_raw(&args)
    }

    /// `serve` with exactly these arguments.
    pub fn start_raw(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cordium serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        if line.is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("cordium serve exited before listening: {err}");
        }
        let first_line = line.trim_end_matches('\n').to_string();
        let url = first_line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
            .to_string();
        Serve { child, _stdout: stdout, url, first_line }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits; whether the process exited successfully.
    pub fn terminate(mut self) -> bool {
        send("-TERM", self.pid());
        self.child.wait().is_ok_and(|s| s.success())
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone()).unwrap().connect().await.expect("connect")
    }

    pub async fn auth(&self) -> AuthClient {
        AuthClient::new(self.channel().await)
    }

    /// Exchanges an authentication token for a session.
    pub async fn login(&self, auth_token: &str) -> Result<auth::SessionToken, tonic::Status> {
        let req = auth::AuthenticateWithAuthenticationTokenRequest {
            authentication_token: auth_token.to_string(),
            ..Default::default()
        };
        self.auth().await.authenticate_with_authentication_token(req).await.map(|r| r.into_inner())
    }

    /// A cordium client sending this access token (`None`: no header at all).
    pub async fn cordium_raw(&self, access_token: Option<&str>) -> CordiumClient {
        let v = access_token.map(|t| t.parse().unwrap());
        cpb::main_service_client::MainServiceClient::with_interceptor(self.channel().await, Auth(v))
    }

    pub async fn core_raw(&self, access_token: Option<&str>) -> CoreClient {
        let v = access_token.map(|t| t.parse().unwrap());
        corepb::main_service_client::MainServiceClient::with_interceptor(
            self.channel().await,
            Auth(v),
        )
    }

    /// A cordium client authenticated with this authentication token.
    pub async fn cordium_with(&self, auth_token: &str) -> CordiumClient {
        let s = self.login(auth_token).await.expect("login");
        self.cordium_raw(Some(&s.access_token)).await
    }

    /// A cordium client authenticated as `admin`.
    pub async fn cordium(&self) -> CordiumClient {
        self.cordium_with(ADMIN_TOKEN).await
    }

    /// A core client authenticated as `admin`.
    pub async fn core(&self) -> CoreClient {
        let s = self.login(ADMIN_TOKEN).await.expect("login");
        self.core_raw(Some(&s.access_token)).await
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
