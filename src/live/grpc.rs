//! [`GrpcCluster`]: the [`Cluster`] trait over tonic, for a real cluster (TLS) or `cordium serve`
//! (plaintext, loopback only). Lists read the first page of `common.page`, then the rest that its
//! `totalCount` promises concurrently (bounded), then on while `hasMore`; every call has a
//! deadline; reads retry transient failures with bounded, jittered backoff; writes are never
//! retried here (a transient error leaves their outcome unknown; the apply executor decides).
//! A call refused as UNAUTHENTICATED is repeated once after authenticating again (the server
//! did not run it).
//!
//! Owns the transport and the mapping of gRPC statuses to [`LiveError`]; decides nothing about
//! what to change.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::auth::{redact, Auth, Credentials, SessionInfo, Token, AUTH_HEADER};
use super::retry::{classify, retryable_read, RetryPolicy};
use super::target::{parse_endpoint, EndpointUrl};
use super::wire::cordium::main_service_client::MainServiceClient as CordiumClient;
use super::wire::core::main_service_client::MainServiceClient as CoreClient;
use super::wire::user::main_service_client::MainServiceClient as UserClient;
use super::wire::{cordium, core, meta, user};
use super::{Cluster, ErrorCode, Identity, LiveError, Object, ObjectKey, Scope};
use crate::model::Kind;

/// The largest response we accept (lists of large Templates).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// A bound on pages, against a server that always says `hasMore`.
const MAX_PAGES: u32 = 100_000;
/// Pages of one list fetched at once, once the first page has said how many there are.
const PAGES_IN_FLIGHT: usize = 8;

/// How to reach and talk to a cluster.
#[derive(Debug, Clone)]
pub struct GrpcOptions {
    /// `https://octelium-api.example.com:443`, or `http://127.0.0.1:PORT` (loopback only).
    pub endpoint: String,
    pub credentials: Credentials,
    /// The caller's username, when known beforehand (`CORDIUM_USERNAME`).
    pub username: Option<String>,
    /// Where exchanged sessions are cached and looked up (`None`: not cached).
    pub cache_dir: Option<PathBuf>,
    /// The deadline of one call.
    pub call_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries of reads.
    pub retry: RetryPolicy,
    /// `itemsPerPage` asked for; the server may send fewer.
    pub page_size: u32,
}

impl GrpcOptions {
    pub fn new(endpoint: impl Into<String>, credentials: Credentials) -> Self {
        GrpcOptions {
            endpoint: endpoint.into(),
            credentials,
            username: None,
            cache_dir: None,
            call_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            page_size: 1000,
        }
    }
}

/// One channel, the call counter and the deadline/retry rules every RPC goes through.
pub(crate) struct Transport {
    channel: Channel,
    /// `scheme://host:port`, named in errors that never reached the server.
    endpoint: String,
    calls: AtomicU64,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Transport {
    /// Runs one unary RPC: with `headers`, a deadline, and (for `read`s) retries of transient
    /// failures. Server messages are scrubbed of `secrets`.
    pub(crate) async fn unary<Req, Resp, F, Fut>(
        &self,
        op: &str,
        read: bool,
        headers: &[(&'static str, Token)],
        secrets: &[Token],
        req: Req,
        f: F,
    ) -> Result<Resp, LiveError>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let started = Instant::now();
        let policy = if read { self.retry } else { RetryPolicy::none() };
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut request = tonic::Request::new(req.clone());
            request.set_timeout(self.timeout);
            for (key, token) in headers {
                let value = MetadataValue::try_from(token.expose()).map_err(|_| {
                    LiveError::new(
                        ErrorCode::InvalidArgument,
                        op,
                        "a token holds characters that cannot be sent in a gRPC header",
                    )
                })?;
                request.metadata_mut().insert(*key, value);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            // The channel enforces the deadline too; this bounds a stuck connect as well.
            let outcome = tokio::time::timeout(
                self.timeout + Duration::from_secs(1),
                f(self.channel.clone(), request),
            )
            .await;
            let (err, retryable) = match outcome {
                Ok(Ok(response)) => return Ok(response.into_inner()),
                Ok(Err(status)) => {
                    let mut err = status_error(op, &status, secrets);
                    if let Some(reason) = transport_reason(&status) {
                        // It never reached the server: say where it went and why, to the OS
                        // error ("dns error" alone names neither the host nor the cause).
                        err.message = format!("{} ({reason})", self.endpoint);
                    }
                    (err, retryable_read(status.code()))
                }
                Err(_) => (
                    LiveError::new(
                        ErrorCode::Transient,
                        op,
                        format!("no answer within {}", humantime::format_duration(self.timeout)),
                    ),
                    true,
                ),
            };
            let delay = policy.delay(attempts - 1);
            let class = if retryable { ErrorCode::Transient } else { err.code };
            if !policy.may_retry(class, attempts, started.elapsed(), delay) {
                return Err(err);
            }
            tracing::debug!(operation = op, attempt = attempts, error = %err.message, "retrying read");
            tokio::time::sleep(delay).await;
        }
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The retry policy of reads.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }
}

/// For a call that failed before any server answered (a transport error under the status):
/// the whole chain of causes, down to the OS's own reason.
fn transport_reason(status: &tonic::Status) -> Option<String> {
    let mut cause = std::error::Error::source(status)?;
    let mut parts = vec![status.message().to_string()];
    loop {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        match cause.source() {
            Some(next) => cause = next,
            None => break,
        }
    }
    parts.retain(|p| !p.is_empty());
    Some(parts.join(": "))
}

fn status_error(op: &str, status: &tonic::Status, secrets: &[Token]) -> LiveError {
    let message = redact(status.message(), secrets);
    let message = if message.is_empty() { format!("{:?}", status.code()) } else { message };
    LiveError::new(classify(status.code()), op, message)
}

fn cordium_client(ch: Channel) -> CordiumClient<Channel> {
    CordiumClient::new(ch).max_decoding_message_size(MAX_MESSAGE_BYTES)
}

fn core_client(ch: Channel) -> CoreClient<Channel> {
    CoreClient::new(ch).max_decoding_message_size(MAX_MESSAGE_BYTES)
}

/// A cluster reached over gRPC.
pub struct GrpcCluster {
    transport: Transport,
    auth: Auth,
    target: String,
    username: Option<String>,
    identity: OnceCell<Identity>,
    page_size: u32,
}

impl std::fmt::Debug for GrpcCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcCluster").field("target", &self.target).finish_non_exhaustive()
    }
}

impl GrpcCluster {
    /// Prepares a client. Dials lazily: an unreachable cluster shows up as a transient error on
    /// the first call. Refuses plaintext to anything but a loopback address.
    pub async fn connect(opts: GrpcOptions) -> Result<Self, LiveError> {
        let op = "connect";
        let url: EndpointUrl = parse_endpoint(&opts.endpoint)
            .map_err(|e| LiveError::new(ErrorCode::InvalidArgument, op, e.to_string()))?;
        let bad = |what: &str, e: tonic::transport::Error| {
            LiveError::new(ErrorCode::InvalidArgument, op, format!("{what} `{}`: {e}", url.url))
        };
        let mut endpoint = Endpoint::from_shared(url.url.clone())
            .map_err(|e| bad("cannot use the endpoint", e))?
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.call_timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Some(Duration::from_secs(45)))
            .http2_keep_alive_interval(Duration::from_secs(45))
            .keep_alive_timeout(Duration::from_secs(15))
            .user_agent(concat!("cordium/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| bad("cannot use the endpoint", e))?;
        if url.tls {
            let tls = ClientTlsConfig::new().with_native_roots().domain_name(url.host.clone());
            endpoint = endpoint.tls_config(tls).map_err(|e| bad("cannot set up TLS for", e))?;
        }
        Ok(GrpcCluster {
            transport: Transport {
                channel: endpoint.connect_lazy(),
                endpoint: url.url.clone(),
                calls: AtomicU64::new(0),
                timeout: opts.call_timeout,
                retry: opts.retry,
            },
            auth: Auth::with_cache(opts.credentials, &url.url, opts.cache_dir.as_deref()),
            target: url.display(),
            username: opts.username,
            identity: OnceCell::new(),
            page_size: opts.page_size.max(1),
        })
    }

    /// Runs an authenticated RPC; on UNAUTHENTICATED, authenticates again and repeats it once.
    async fn call<Req, Resp, F, Fut>(
        &self,
        op: &str,
        read: bool,
        req: Req,
        f: F,
    ) -> Result<Resp, LiveError>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let mut reauthenticated = false;
        loop {
            let token = self.auth.access_token(&self.transport).await?;
            let headers: Vec<_> = token.iter().map(|t| (AUTH_HEADER, t.clone())).collect();
            let secrets = self.auth.secrets().await;
            let result = self.transport.unary(op, read, &headers, &secrets, req.clone(), &f).await;
            match result {
                Err(e) if e.code == ErrorCode::Unauthenticated => {
                    let expired = e.message.to_ascii_lowercase().contains("expired");
                    if self.auth.uses_access_token() {
                        // A static access token is never renewed: fall back to
                        // OCTELIUM_AUTH_TOKEN when it is set, else say what to do.
                        if self.auth.fall_back_to_auth_token() {
                            self.auth.invalidate().await;
                            continue;
                        }
                        let message = if expired {
                            "OCTELIUM_ACCESS_TOKEN has expired: set a fresh one, or set \
                             OCTELIUM_AUTH_TOKEN so that cordium can authenticate by itself"
                        } else {
                            "the cluster refused OCTELIUM_ACCESS_TOKEN (it may be wrong, expired \
                             or revoked): set a valid one, or set OCTELIUM_AUTH_TOKEN so that \
                             cordium can authenticate by itself"
                        };
                        return Err(LiveError::new(ErrorCode::Unauthenticated, op, message));
                    }
                    if reauthenticated || !self.auth.can_reauthenticate() {
                        return Err(LiveError::new(
                            ErrorCode::Unauthenticated,
                            op,
                            format!(
                                "the cluster refused our credentials ({}); check \
                                 OCTELIUM_AUTH_TOKEN or OCTELIUM_ACCESS_TOKEN",
                                e.message
                            ),
                        ));
                    }
                    reauthenticated = true;
                    self.auth.invalidate().await;
                }
                Err(e) if e.code == ErrorCode::PermissionDenied => {
                    return Err(self.denied(e).await);
                }
                other => return other,
            }
        }
    }

    /// A PERMISSION_DENIED as a sentence about permission: who was refused which call on
    /// which object (the operation names both), and the server's words.
    async fn denied(&self, e: LiveError) -> LiveError {
        // Who we are: known, or asked (GetStatus is allowed to every User; not when it is
        // GetStatus itself that was refused).
        let name = match self.identity.get() {
            Some(i) => Some(i.username.clone()),
            None if e.operation != "GetStatus" => Box::pin(self.learn_username()).await.ok(),
            None => None,
        };
        let who = match name {
            Some(n) => format!("user `{n}`"),
            None => "the signed-in user".to_string(),
        };
        let said = if e.message.is_empty() || e.message == "PermissionDenied" {
            String::new()
        } else {
            format!(" (the cluster said: {})", e.message)
        };
        let core = e.operation.ends_with("User")
            || e.operation.contains("User ")
            || e.operation.contains("Group")
            || e.operation.contains("Policy");
        let hint = if core {
            "; Users, Groups and Policies are Octelium core API objects, which only cluster \
             admins (or users granted the `octelium-api-full-access` policy) may read or change"
        } else {
            ""
        };
        let message = format!("{who} is not allowed to {}{said}{hint}", e.operation);
        LiveError::new(ErrorCode::PermissionDenied, e.operation, message)
    }

    /// Reads every page of a list, handing each to `sink` in page order as it arrives. The
    /// first page says how many objects there are (`totalCount`, `itemsPerPage`); the
    /// remaining pages are then fetched concurrently, at most [`PAGES_IN_FLIGHT`] at a time. A
    /// list that grew meanwhile (the last page still says `hasMore`) is read on page by page;
    /// one that shrank ends at the first empty (or NOT_FOUND) page. A server that gives no
    /// count is read page by page.
    async fn list_pages<Req, Resp, T, F, Fut>(
        &self,
        op: &str,
        make: impl Fn(meta::CommonListOptions) -> Req,
        split: impl Fn(Resp) -> (Vec<T>, Option<meta::ListResponseMeta>),
        f: F,
        sink: &mut (dyn FnMut(Vec<T>) + Send),
    ) -> Result<(), LiveError>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        use futures_util::stream::{self, StreamExt};
        let fetch = |page: u32| {
            let common =
                meta::CommonListOptions { page, items_per_page: self.page_size, order_by: None };
            let req = make(common);
            let (f, split) = (&f, &split);
            async move { self.call(op, true, req, f).await.map(split) }
        };
        let empty = |page: u32| {
            LiveError::new(
                ErrorCode::Other,
                op,
                format!("page {page} was empty although the server said more would follow"),
            )
        };
        let (items, first) = fetch(0).await?;
        let Some(first) = first.filter(|m| m.has_more) else {
            sink(items);
            return Ok(());
        };
        if items.is_empty() {
            return Err(empty(0));
        }
        let got = items.len() as u64;
        sink(items);
        let mut next: u32 = 1;
        let per =
            u64::from(if first.items_per_page > 0 { first.items_per_page } else { self.page_size });
        let total = u64::from(first.total_count);
        if total > got && per > 0 {
            let pages = u32::try_from(total.div_ceil(per)).unwrap_or(MAX_PAGES).min(MAX_PAGES);
            let mut results = stream::iter(1..pages)
                .map(|page| async move {
                    match fetch(page).await {
                        Ok((items, meta)) => Ok(Some((items, meta.is_some_and(|m| m.has_more)))),
                        // The list shrank since the first page: nothing there any more.
                        Err(e) if e.code == ErrorCode::NotFound => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .buffered(PAGES_IN_FLIGHT);
            let mut more = true;
            while let Some(got) = results.next().await {
                next += 1;
                match got? {
                    Some((items, has_more)) if !items.is_empty() => {
                        sink(items);
                        more = has_more;
                    }
                    _ => {
                        more = false;
                        break;
                    }
                }
            }
            if !more {
                return Ok(());
            }
        }
        // Page by page: no count, or the list grew past the counted pages.
        for page in next..MAX_PAGES {
            let (items, meta) = fetch(page).await?;
            let got = items.len();
            sink(items);
            if !meta.is_some_and(|m| m.has_more) {
                return Ok(());
            }
            if got == 0 {
                return Err(empty(page));
            }
        }
        Err(LiveError::new(ErrorCode::Other, op, format!("more than {MAX_PAGES} pages")))
    }

    async fn learn_username(&self) -> Result<String, LiveError> {
        if let Some(u) = &self.username {
            return Ok(u.clone());
        }
        let status = self.status().await?;
        status.user.and_then(|u| u.metadata).map(|m| m.name).filter(|n| !n.is_empty()).ok_or_else(
            || {
                LiveError::new(
                    ErrorCode::Other,
                    "GetStatus",
                    "the cluster's answer names no User; set CORDIUM_USERNAME to your Octelium \
                     username",
                )
            },
        )
    }

    /// Who the cluster says we are: user.v1 GetStatus, which every authenticated User may
    /// call (a fresh install's `default.octelium-api` Service allows
    /// `octelium.api.main.user.v1.MainService` to all).
    pub async fn status(&self) -> Result<user::GetStatusResponse, LiveError> {
        self.call("GetStatus", true, user::GetStatusRequest {}, |ch, r| async move {
            UserClient::new(ch).get_status(r).await
        })
        .await
    }

    /// The session in use, authenticating (or reusing the cached session) first.
    pub async fn session_info(&self) -> Result<Option<SessionInfo>, LiveError> {
        self.auth.session_info(&self.transport).await
    }

    /// Ends the session this client holds or has cached (auth.v1 Logout) and drops the cache
    /// entry. Whether there was one to end.
    pub async fn logout(&self) -> Result<bool, LiveError> {
        self.auth.logout(&self.transport).await
    }

    /// CreateMembership's request for a Membership: the Space's uid is looked up by its name
    /// (the server finds the Space by uid).
    async fn membership_request(
        &self,
        _op: &str,
        m: cordium::Membership,
    ) -> Result<cordium::CreateMembershipRequest, LiveError> {
        let space = m
            .status
            .as_ref()
            .and_then(|s| s.space_ref.as_ref())
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let uid = self.uid_of(Kind::Space, &ObjectKey::Name(space)).await?;
        Ok(crate::live::convert::membership_request(&m, &uid))
    }

    /// The uid of the object `key` names (for Deletes that take a uid only).
    async fn uid_of(&self, kind: Kind, key: &ObjectKey) -> Result<String, LiveError> {
        match key {
            ObjectKey::Uid(uid) => Ok(uid.clone()),
            ObjectKey::Name(_) => Ok(self.get(kind, key).await?.uid().to_string()),
        }
    }
}

/// The refusal of an Update for a kind the API cannot update ([`Kind::updatable`]).
fn not_updatable(op: String) -> LiveError {
    LiveError::new(
        ErrorCode::InvalidArgument,
        op,
        "Secrets cannot be updated (the API has no UpdateSecret); replace it: delete, then create",
    )
}

/// The RPCs of every kind, one table row per kind: the client, one method per RPC (a kind
/// without `update` has no Update RPC), and for List the response type, the request for one
/// page of a scope, and what to keep of the answer (where the server cannot filter by scope).
/// Generates the per-kind dispatch of [`GrpcCluster`]; adding a kind is one row.
macro_rules! kinds {
    ($( $kind:ident => $client:ident {
        get: $get:ident,
        create: $create:ident $( via $via:ident )?,
        $( update: $update:ident, )?
        delete: $delete:ident,
        list: $list:ident($list_ty:ty, $options:expr, $keep:expr),
    } )*) => {
        impl GrpcCluster {
            async fn list_kind(
                &self,
                kind: Kind,
                scope: &Scope,
                each: &mut (dyn FnMut(Vec<Object>) + Send),
            ) -> Result<(), LiveError> {
                match kind {
                    $( Kind::$kind => {
                        self.list_pages(
                            concat!("List", stringify!($kind)),
                            |c| $options(c, scope),
                            |r: $list_ty| (r.items, r.list_response_meta),
                            |ch, r| async move { $client(ch).$list(r).await },
                            &mut |items| {
                                each(
                                    items
                                        .into_iter()
                                        .filter(|o| $keep(o, scope))
                                        .map(Object::$kind)
                                        .collect(),
                                )
                            },
                        )
                        .await
                    } )*
                }
            }

            async fn get_kind(
                &self,
                kind: Kind,
                op: &str,
                req: meta::GetOptions,
            ) -> Result<Object, LiveError> {
                Ok(match kind {
                    $( Kind::$kind => Object::$kind(
                        self.call(op, true, req, |ch, r| async move { $client(ch).$get(r).await })
                            .await?,
                    ), )*
                })
            }

            async fn create_kind(&self, op: &str, object: Object) -> Result<Object, LiveError> {
                Ok(match object {
                    $( Object::$kind(o) => {
                        kinds!(@create self, op, o, $kind, $client, $create $(, $via)?)
                    } )*
                })
            }

            async fn update_kind(&self, op: &str, object: Object) -> Result<Object, LiveError> {
                Ok(match object {
                    $( Object::$kind(o) => kinds!(@update self, op, o, $kind, $client $(, $update)?), )*
                })
            }

            async fn delete_kind(
                &self,
                kind: Kind,
                op: &str,
                req: meta::DeleteOptions,
            ) -> Result<(), LiveError> {
                let _: meta::OperationResult = match kind {
                    $( Kind::$kind => {
                        self.call(op, false, req, |ch, r| async move { $client(ch).$delete(r).await })
                            .await?
                    } )*
                };
                Ok(())
            }
        }
    };
    (@create $s:ident, $op:ident, $o:ident, $kind:ident, $client:ident, $create:ident) => {
        Object::$kind(
            $s.call($op, false, $o, |ch, r| async move { $client(ch).$create(r).await }).await?,
        )
    };
    // The request is not the object (CreateMembership): `$via` builds it.
    (@create $s:ident, $op:ident, $o:ident, $kind:ident, $client:ident, $create:ident, $via:ident) => {{
        let req = $s.$via($op, $o).await?;
        Object::$kind(
            $s.call($op, false, req, |ch, r| async move { $client(ch).$create(r).await }).await?,
        )
    }};
    (@update $s:ident, $op:ident, $o:ident, $kind:ident, $client:ident, $update:ident) => {
        Object::$kind(
            $s.call($op, false, $o, |ch, r| async move { $client(ch).$update(r).await }).await?,
        )
    };
    (@update $s:ident, $op:ident, $o:ident, $kind:ident, $client:ident) => {{
        let _ = $o;
        return Err(not_updatable($op.to_string()));
    }};
}

kinds! {
    Space => cordium_client {
        get: get_space,
        create: create_space,
        update: update_space,
        delete: delete_space,
        // MODE_MEMBER: every Space the caller belongs to, not only its own. No type filter
        // (type 0): upstream's ListSpace (cordium `mains/space.go`) filters a USER type by
        // comparing `status.type` with the string "PERSONAL", which is not how the enum is
        // stored, so a typed list may miss Spaces; cordium wants every type anyway.
        list: list_space(
            cordium::SpaceList,
            |c, _| cordium::ListSpaceOptions { common: Some(c), r#type: 0, mode: 2 },
            |s: &cordium::Space, scope: &Scope| match scope {
                Scope::All => true,
                Scope::Space(n) => s.metadata.as_ref().is_some_and(|m| &m.name == n),
            }
        ),
    }
    Template => cordium_client {
        get: get_template,
        create: create_template,
        update: update_template,
        delete: delete_template,
        list: list_template(
            cordium::TemplateList,
            |c, scope| cordium::ListTemplateOptions { common: Some(c), space_ref: space_ref(scope) },
            keep_all
        ),
    }
    Secret => cordium_client {
        get: get_secret,
        create: create_secret,
        delete: delete_secret,
        list: list_secret(
            cordium::SecretList,
            |c, scope| cordium::ListSecretOptions { common: Some(c), space_ref: space_ref(scope) },
            keep_all
        ),
    }
    // ListWorkspace's spaceRef (cordium `mains/workspace.go` ListWorkspace) looks the Space up by
    // uid or name, but then filters by the uid given in the request only, so a name-only ref
    // lists nothing; and a Workspace list is only ever the caller's own: list them all in one
    // pass (no spaceRef sent) and filter by the Space's name here.
    Workspace => cordium_client {
        get: get_workspace,
        create: create_workspace,
        update: update_workspace,
        delete: delete_workspace,
        list: list_workspace(
            cordium::WorkspaceList,
            |c, _| cordium::ListWorkspaceOptions { common: Some(c), filter: None },
            |w: &cordium::Workspace, scope: &Scope| match scope {
                Scope::All => true,
                Scope::Space(n) => w
                    .status
                    .as_ref()
                    .and_then(|s| s.space_ref.as_ref())
                    .is_some_and(|r| &r.name == n),
            }
        ),
    }
    // CreateMembership takes a CreateMembershipRequest naming the Space by uid (cordium
    // `mains/membership.go`); the rest take the object.
    Membership => cordium_client {
        get: get_membership,
        create: create_membership via membership_request,
        update: update_membership,
        delete: delete_membership,
        list: list_membership(
            cordium::MembershipList,
            |c, scope| cordium::ListMembershipOptions { common: Some(c), space_ref: space_ref(scope) },
            keep_all
        ),
    }
    GitProvider => cordium_client {
        get: get_git_provider,
        create: create_git_provider,
        update: update_git_provider,
        delete: delete_git_provider,
        list: list_git_provider(
            cordium::GitProviderList,
            |c, scope| cordium::ListGitProviderOptions { common: Some(c), space_ref: space_ref(scope) },
            keep_all
        ),
    }
    Volume => cordium_client {
        get: get_volume,
        create: create_volume,
        update: update_volume,
        delete: delete_volume,
        list: list_volume(
            cordium::VolumeList,
            |c, scope| cordium::ListVolumeOptions { common: Some(c), space_ref: space_ref(scope) },
            keep_all
        ),
    }
    User => core_client {
        get: get_user,
        create: create_user,
        update: update_user,
        delete: delete_user,
        list: list_user(core::UserList, |c, _| core::ListUserOptions { common: Some(c) }, keep_all),
    }
    Group => core_client {
        get: get_group,
        create: create_group,
        update: update_group,
        delete: delete_group,
        list: list_group(core::GroupList, |c, _| core::ListGroupOptions { common: Some(c) }, keep_all),
    }
    Policy => core_client {
        get: get_policy,
        create: create_policy,
        update: update_policy,
        delete: delete_policy,
        list: list_policy(core::PolicyList, |c, _| core::ListPolicyOptions { common: Some(c) }, keep_all),
    }
}

/// A List `keep` for kinds the server filters by scope itself.
fn keep_all<T>(_: &T, _: &Scope) -> bool {
    true
}

fn get_options(key: &ObjectKey) -> meta::GetOptions {
    match key {
        ObjectKey::Uid(uid) => meta::GetOptions { uid: uid.clone(), name: String::new() },
        ObjectKey::Name(name) => meta::GetOptions { uid: String::new(), name: name.clone() },
    }
}

fn delete_options(key: &ObjectKey) -> meta::DeleteOptions {
    let g = get_options(key);
    meta::DeleteOptions { uid: g.uid, name: g.name }
}

fn key_text(key: &ObjectKey) -> &str {
    match key {
        ObjectKey::Uid(s) | ObjectKey::Name(s) => s,
    }
}

fn reference(key: &ObjectKey) -> meta::ObjectReference {
    let g = get_options(key);
    meta::ObjectReference { uid: g.uid, name: g.name, ..Default::default() }
}

fn space_ref(scope: &Scope) -> Option<meta::ObjectReference> {
    match scope {
        Scope::All => None,
        Scope::Space(name) => {
            Some(meta::ObjectReference { name: name.clone(), ..Default::default() })
        }
    }
}

/// `CreateTemplate gpu.ml` (Workspaces by displayName).
fn op_for(verb: &str, object: &Object) -> String {
    let md = object.metadata();
    let name = md
        .map(|m| if m.name.is_empty() { m.display_name.as_str() } else { m.name.as_str() })
        .unwrap_or_default();
    format!("{verb}{} {name}", object.kind().api_kind())
}

#[async_trait]
impl Cluster for GrpcCluster {
    async fn identity(&self) -> Result<Identity, LiveError> {
        self.identity
            .get_or_try_init(|| async {
                let username = self.learn_username().await?;
                Ok(Identity { username, target: self.target.clone() })
            })
            .await
            .cloned()
    }

    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Object>, LiveError> {
        let mut out = Vec::new();
        self.list_kind(kind, scope, &mut |page| out.extend(page)).await?;
        Ok(out)
    }

    async fn list_each(
        &self,
        kind: Kind,
        scope: &Scope,
        each: &mut (dyn FnMut(Vec<Object>) + Send),
    ) -> Result<(), LiveError> {
        self.list_kind(kind, scope, each).await
    }

    async fn get(&self, kind: Kind, key: &ObjectKey) -> Result<Object, LiveError> {
        let op = format!("Get{} {}", kind.api_kind(), key_text(key));
        self.get_kind(kind, &op, get_options(key)).await
    }

    async fn create(&self, object: Object) -> Result<Object, LiveError> {
        let op = op_for("Create", &object);
        self.create_kind(&op, object).await
    }

    async fn update(&self, object: Object) -> Result<Object, LiveError> {
        let op = op_for("Update", &object);
        if !object.kind().updatable() {
            return Err(not_updatable(op));
        }
        self.update_kind(&op, object).await
    }

    async fn delete(&self, kind: Kind, key: &ObjectKey) -> Result<(), LiveError> {
        let op = format!("Delete{} {}", kind.api_kind(), key_text(key));
        let req = if kind.deletes_by_uid_only() {
            delete_options(&ObjectKey::Uid(self.uid_of(kind, key).await?))
        } else {
            delete_options(key)
        };
        self.delete_kind(kind, &op, req).await
    }

    async fn build_template(
        &self,
        template: &ObjectKey,
        tags: &[String],
    ) -> Result<cordium::Template, LiveError> {
        let op = format!("BuildTemplate {}", key_text(template));
        let req = cordium::BuildTemplateRequest {
            template_ref: Some(reference(template)),
            tags: tags.to_vec(),
        };
        self.call(
            &op,
            false,
            req,
            |ch, r| async move { cordium_client(ch).build_template(r).await },
        )
        .await
    }

    async fn cancel_build(&self, template: &ObjectKey) -> Result<cordium::Template, LiveError> {
        let op = format!("CancelBuildTemplate {}", key_text(template));
        let req = cordium::CancelBuildTemplateRequest { template_ref: Some(reference(template)) };
        self.call(&op, false, req, |ch, r| async move {
            cordium_client(ch).cancel_build_template(r).await
        })
        .await
    }

    fn calls(&self) -> u64 {
        self.transport.calls()
    }

    async fn create_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        let op = format!("CreateGroup {}", group_name(&group));
        self.call(&op, false, group, |ch, r| async move { core_client(ch).create_group(r).await })
            .await
    }

    async fn get_group(&self, key: &ObjectKey) -> Result<core::Group, LiveError> {
        let op = format!("GetGroup {}", key_text(key));
        self.call(
            &op,
            true,
            get_options(key),
            |ch, r| async move { core_client(ch).get_group(r).await },
        )
        .await
    }

    async fn update_group(&self, group: core::Group) -> Result<core::Group, LiveError> {
        let op = format!("UpdateGroup {}", group_name(&group));
        self.call(&op, false, group, |ch, r| async move { core_client(ch).update_group(r).await })
            .await
    }

    async fn delete_group(&self, key: &ObjectKey) -> Result<(), LiveError> {
        let op = format!("DeleteGroup {}", key_text(key));
        let _: meta::OperationResult = self
            .call(&op, false, delete_options(key), |ch, r| async move {
                core_client(ch).delete_group(r).await
            })
            .await?;
        Ok(())
    }
}

fn group_name(group: &core::Group) -> &str {
    group.metadata.as_ref().map(|m| m.name.as_str()).unwrap_or_default()
}
