//! `cordium serve --kube-listen ADDR`: the subset of the Kubernetes API that cordium uses, over
//! HTTP, with real API semantics (docs/serve.md): discovery (`/api`, `/apis`, the two groups),
//! VolumeSnapshots (`snapshot.storage.k8s.io/v1`: get, list, watch) created as the controller
//! does when a simulated Template build finishes (`<templateUID>-<buildID>`, API reference §8),
//! turning `readyToUse` after a delay or failing on demand, and Leases
//! (`coordination.k8s.io/v1`: get, list, watch, create, update, delete) with `resourceVersion`
//! and uid preconditions (409 with a Status body). RBAC refusals on demand (403 naming the verb
//! and resource). It writes `<data>/kubeconfig` pointing at itself, and a log of what its
//! simulated controller did (`<data>/kube.log`). Never prints.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::live::local::Engine;

const SNAP_GROUP: &str = "snapshot.storage.k8s.io";
const LEASE_GROUP: &str = "coordination.k8s.io";

/// How the simulated Kubernetes behaves.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    pub listen: SocketAddr,
    /// The namespace the simulated controller creates VolumeSnapshots in.
    pub namespace: String,
    /// How long after its creation a snapshot turns `readyToUse`.
    pub snapshot_delay: Duration,
    /// Snapshots of Templates whose stored name contains one of these get `status.error`.
    pub fail: Vec<String>,
    /// Snapshots of Templates whose stored name contains one of these are never created.
    pub skip: Vec<String>,
    /// `VERB/RESOURCE` pairs refused with 403 (`watch/volumesnapshots`, `create/leases`).
    pub forbid: Vec<String>,
    /// The VolumeSnapshot CRD is not installed: its group is not served (404).
    pub without_snapshot_crd: bool,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            namespace: crate::live::kube::DEFAULT_NAMESPACE.into(),
            snapshot_delay: Duration::from_secs(1),
            fail: Vec::new(),
            skip: Vec::new(),
            forbid: Vec::new(),
            without_snapshot_crd: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Res {
    Snapshot,
    Lease,
}

impl Res {
    fn plural(self) -> &'static str {
        match self {
            Res::Snapshot => "volumesnapshots",
            Res::Lease => "leases",
        }
    }
    fn group(self) -> &'static str {
        match self {
            Res::Snapshot => SNAP_GROUP,
            Res::Lease => LEASE_GROUP,
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Res::Snapshot => "VolumeSnapshot",
            Res::Lease => "Lease",
        }
    }
    fn qualified(self) -> String {
        format!("{}.{}", self.plural(), self.group())
    }
}

#[derive(Debug, Default)]
struct Store {
    rv: u64,
    /// (resource, namespace, name) → object.
    objects: BTreeMap<(Res, String, String), Value>,
    /// Every change: (resourceVersion, resource, namespace, type, object).
    events: Vec<(u64, Res, String, &'static str, Value)>,
    /// Snapshot names ever created (one deleted is not created again).
    created: BTreeSet<String>,
    /// Workspaces already logged.
    logged: BTreeSet<String>,
    /// When each snapshot turned ready.
    ready_at: BTreeMap<String, SystemTime>,
}

struct State {
    options: KubeOptions,
    token: String,
    store: Mutex<Store>,
    changed: tokio::sync::watch::Sender<u64>,
    log: Mutex<Option<std::fs::File>>,
}

fn now_text(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl State {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, line: &str) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{} {line}", now_text(SystemTime::now()));
            let _ = f.flush();
        }
    }

    /// Stores `object` (a new resourceVersion), records the event and wakes the watchers.
    fn put(
        &self,
        s: &mut Store,
        res: Res,
        ns: &str,
        name: &str,
        mut object: Value,
        kind: &'static str,
    ) -> Value {
        s.rv += 1;
        object["metadata"]["resourceVersion"] = Value::String(s.rv.to_string());
        s.objects.insert((res, ns.to_string(), name.to_string()), object.clone());
        s.events.push((s.rv, res, ns.to_string(), kind, object.clone()));
        let _ = self.changed.send(s.rv);
        object
    }

    fn remove(&self, s: &mut Store, res: Res, ns: &str, name: &str) -> Option<Value> {
        let mut object = s.objects.remove(&(res, ns.to_string(), name.to_string()))?;
        s.rv += 1;
        object["metadata"]["resourceVersion"] = Value::String(s.rv.to_string());
        s.events.push((s.rv, res, ns.to_string(), "DELETED", object.clone()));
        let _ = self.changed.send(s.rv);
        Some(object)
    }

    /// One tick of the simulated controller: snapshots for new ready builds, snapshots turning
    /// ready or failing, and a line per new Workspace saying whether its snapshot was ready.
    fn tick(&self, engine: &Engine) {
        let builds = engine.ready_builds().unwrap_or_default();
        let workspaces = engine.created_workspaces().unwrap_or_default();
        let ns = self.options.namespace.clone();
        let now = SystemTime::now();
        let mut s = self.store();
        for b in &builds {
            let name = crate::live::kube::snapshot::snapshot_name(&b.template_uid, &b.build_id);
            if s.created.contains(&name)
                || self.options.skip.iter().any(|p| b.template.contains(p.as_str()))
            {
                continue;
            }
            s.created.insert(name.clone());
            let object = json!({
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {
                    "name": name, "namespace": ns, "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": humantime::format_rfc3339_seconds(now).to_string(),
                    "labels": {"octelium.com/template-uid": b.template_uid},
                    "annotations": {"cordium.dev/template": b.template},
                },
                "spec": {"source": {"persistentVolumeClaimName": format!("ws-build-{}", b.build_id)}},
                "status": {"readyToUse": false},
            });
            self.put(&mut s, Res::Snapshot, &ns, &name, object, "ADDED");
            self.log(&format!(
                "VolumeSnapshot {name} created for Template {} build {}",
                b.template, b.build_id
            ));
        }
        let pending: Vec<(String, Value)> = s
            .objects
            .iter()
            .filter(|((r, n, _), o)| {
                *r == Res::Snapshot
                    && n == &ns
                    && o["status"]["readyToUse"] != true
                    && o["status"]["error"].is_null()
            })
            .map(|((_, _, name), o)| (name.clone(), o.clone()))
            .collect();
        for (name, mut o) in pending {
            let template = o["metadata"]["annotations"]["cordium.dev/template"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let created = o["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
                .unwrap_or(now);
            if self.options.fail.iter().any(|p| template.contains(p.as_str())) {
                o["status"] = json!({"readyToUse": false, "error": {
                    "message": "Failed to check and update snapshot content: simulated CSI driver failure",
                    "time": humantime::format_rfc3339_seconds(now).to_string()}});
                self.put(&mut s, Res::Snapshot, &ns, &name, o, "MODIFIED");
                self.log(&format!("VolumeSnapshot {name} failed"));
            } else if now.duration_since(created).unwrap_or_default() >= self.options.snapshot_delay
            {
                o["status"] = json!({"readyToUse": true, "restoreSize": "1Gi",
                    "creationTime": humantime::format_rfc3339_seconds(created).to_string()});
                self.put(&mut s, Res::Snapshot, &ns, &name, o, "MODIFIED");
                s.ready_at.insert(name.clone(), now);
                self.log(&format!("VolumeSnapshot {name} readyToUse"));
            }
        }
        for w in workspaces {
            if !s.logged.insert(w.uid.clone()) {
                continue;
            }
            let build = builds.iter().find(|b| b.template_uid == w.template_uid);
            let line = match build {
                None => format!(
                    "Workspace {} created at {}: its Template has no ready build",
                    w.name,
                    now_text(w.created_at)
                ),
                Some(b) => {
                    let snap =
                        crate::live::kube::snapshot::snapshot_name(&b.template_uid, &b.build_id);
                    match s.ready_at.get(&snap) {
                        Some(at) if *at <= w.created_at => format!("Workspace {} created at {}: restores from ready VolumeSnapshot {snap}", w.name, now_text(w.created_at)),
                        _ => format!("Workspace {} created at {}: starts cold, VolumeSnapshot {snap} was not ready", w.name, now_text(w.created_at)),
                    }
                }
            };
            self.log(&line);
        }
    }
}

/// A running simulated Kubernetes API.
#[derive(Debug)]
pub struct KubeServer {
    pub addr: SocketAddr,
    pub kubeconfig: Option<PathBuf>,
    task: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl KubeServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn stop(self) {
        self.task.abort();
        self.ticker.abort();
    }
}

/// The kubeconfig pointing at `url` with `token` (namespace `namespace`).
fn kubeconfig(url: &str, token: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: cordium-serve\n  cluster:\n    server: {url}\n\
         contexts:\n- name: cordium-serve\n  context:\n    cluster: cordium-serve\n    user: cordium\n    namespace: {namespace}\n\
         current-context: cordium-serve\nusers:\n- name: cordium\n  user:\n    token: {token}\n"
    )
}

/// Binds, writes `<data_dir>/kubeconfig` (mode 0600) and the log, and serves in the background.
pub async fn start(
    options: KubeOptions,
    engine: Arc<Engine>,
    data_dir: &Path,
) -> Result<KubeServer, super::ServeError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| super::ServeError::Bind { addr: options.listen, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| super::ServeError::Bind { addr: options.listen, source })?;
    let token = super::auth::random_token();
    crate::live::local::create_private_dir(data_dir).map_err(super::ServeError::Store)?;
    let path = data_dir.join("kubeconfig");
    let text = kubeconfig(&format!("http://{addr}"), &token, &options.namespace);
    let mut file =
        crate::live::local::private_file(&path, true).map_err(super::ServeError::Store)?;
    file.set_len(0).map_err(super::io("write", &path))?;
    file.write_all(text.as_bytes()).map_err(super::io("write", &path))?;
    let log_path = data_dir.join("kube.log");
    let log =
        crate::live::local::private_file(&log_path, true).map_err(super::ServeError::Store)?;
    let (changed, _) = tokio::sync::watch::channel(0);
    let state = Arc::new(State {
        options,
        token,
        store: Mutex::new(Store::default()),
        changed,
        log: Mutex::new(Some(log)),
    });
    let ticker = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                let (s, e) = (state.clone(), engine.clone());
                let _ = tokio::task::spawn_blocking(move || s.tick(&e)).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(io, service)
                .await;
            });
        }
    });
    Ok(KubeServer { addr, kubeconfig: Some(path), task, ticker })
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn reply(code: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *r.status_mut() = code;
    r.headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

/// A Status body, as the API server sends with every error.
fn status(code: StatusCode, reason: &str, message: String, details: Value) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code.as_u16()});
    reply(code, &body)
}

fn not_found_path() -> Response<Body> {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource".into(),
        json!({}),
    )
}

fn query(req: &Request<hyper::body::Incoming>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in req.uri().query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

/// Percent-decoding of a query part (`%3D` is `=`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 3 <= bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn discovery_resource(res: Res) -> Value {
    let verbs = match res {
        Res::Snapshot => json!(["delete", "get", "list", "patch", "create", "update", "watch"]),
        Res::Lease => json!(["create", "delete", "get", "list", "patch", "update", "watch"]),
    };
    json!({"name": res.plural(), "singularName": res.kind().to_lowercase(), "namespaced": true,
        "kind": res.kind(), "verbs": verbs, "storageVersionHash": ""})
}

fn group(name: &str) -> Value {
    json!({"name": name, "versions": [{"groupVersion": format!("{name}/v1"), "version": "v1"}],
        "preferredVersion": {"groupVersion": format!("{name}/v1"), "version": "v1"}})
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Plain HTTP on loopback: kubectl sends no credentials over it, so none is required; a
    // wrong token is refused as the API server does.
    if bearer.is_some_and(|b| b != state.token) {
        return Ok(status(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized".into(),
            json!({}),
        ));
    }
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let crd = !state.options.without_snapshot_crd;
    let r = match segs.as_slice() {
        ["version"] => reply(
            StatusCode::OK,
            &json!({"major": "1", "minor": "34", "gitVersion": "v1.34.0+cordium-serve", "platform": "linux/amd64"}),
        ),
        ["api"] => reply(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.options.listen.to_string()}]}),
        ),
        ["api", "v1"] => reply(
            StatusCode::OK,
            &json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": []}),
        ),
        ["apis"] => {
            let mut groups = vec![group(LEASE_GROUP)];
            if crd {
                groups.push(group(SNAP_GROUP));
            }
            reply(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["apis", g] if *g == LEASE_GROUP || (*g == SNAP_GROUP && crd) => {
            let mut body = group(g);
            body["kind"] = "APIGroup".into();
            body["apiVersion"] = "v1".into();
            reply(StatusCode::OK, &body)
        }
        ["apis", g, "v1"] if *g == LEASE_GROUP || (*g == SNAP_GROUP && crd) => {
            let res = if *g == LEASE_GROUP { Res::Lease } else { Res::Snapshot };
            reply(
                StatusCode::OK,
                &json!({"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": format!("{g}/v1"), "resources": [discovery_resource(res)]}),
            )
        }
        ["apis", g, "v1", plural] => match resource(g, plural, crd) {
            Some(res) => return Ok(collection(&state, req, res, None).await),
            None => not_found_path(),
        },
        ["apis", g, "v1", "namespaces", ns, plural] => match resource(g, plural, crd) {
            Some(res) => return Ok(collection(&state, req, res, Some(ns.to_string())).await),
            None => not_found_path(),
        },
        ["apis", g, "v1", "namespaces", ns, plural, name] => match resource(g, plural, crd) {
            Some(res) => return Ok(object(&state, req, res, ns, name).await),
            None => not_found_path(),
        },
        _ => not_found_path(),
    };
    Ok(r)
}

fn resource(group: &str, plural: &str, crd: bool) -> Option<Res> {
    match (group, plural) {
        (SNAP_GROUP, "volumesnapshots") if crd => Some(Res::Snapshot),
        (LEASE_GROUP, "leases") => Some(Res::Lease),
        _ => None,
    }
}

/// 403 when `verb` on `res` is refused (`--kube-forbid`).
fn forbidden(
    state: &State,
    verb: &str,
    res: Res,
    ns: Option<&str>,
    name: Option<&str>,
) -> Option<Response<Body>> {
    let refused =
        state.options.forbid.iter().any(|f| {
            f == &format!("{verb}/{}", res.plural()) || f == &format!("*/{}", res.plural())
        });
    if !refused {
        return None;
    }
    let what = match name {
        Some(n) => format!("{} \"{n}\"", res.qualified()),
        None => res.qualified(),
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".into(),
    };
    Some(status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!("{what} is forbidden: User \"cordium\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}", res.plural(), res.group()),
        json!({"name": name.unwrap_or(""), "group": res.group(), "kind": res.plural()}),
    ))
}

fn wants_table(req: &Request<hyper::body::Incoming>) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

fn matches(o: &Value, fields: Option<&String>) -> bool {
    let Some(sel) = fields.filter(|s| !s.is_empty()) else { return true };
    sel.split(',').all(|term| match term.split_once('=') {
        Some(("metadata.name", v)) => o["metadata"]["name"] == v.trim_start_matches('='),
        Some(("metadata.namespace", v)) => o["metadata"]["namespace"] == v.trim_start_matches('='),
        _ => true,
    })
}

fn table(res: Res, items: &[Value], rv: u64) -> Value {
    let age = |o: &Value| {
        o["metadata"]["creationTimestamp"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map(|d| humantime::format_duration(Duration::from_secs(d.as_secs())).to_string())
            .unwrap_or_default()
    };
    let (columns, rows): (Vec<&str>, Vec<Value>) = match res {
        Res::Snapshot => (vec!["Name", "ReadyToUse", "RestoreSize", "Age"], items.iter().map(|o| {
            json!({"cells": [o["metadata"]["name"], o["status"]["readyToUse"].as_bool().unwrap_or(false), o["status"]["restoreSize"].as_str().unwrap_or(""), age(o)],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        }).collect()),
        Res::Lease => (vec!["Name", "Holder", "Age"], items.iter().map(|o| {
            json!({"cells": [o["metadata"]["name"], o["spec"]["holderIdentity"].as_str().unwrap_or(""), age(o)],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        }).collect()),
    };
    let defs: Vec<Value> = columns.iter().map(|c| json!({"name": c, "type": "string", "format": if *c == "Name" { "name" } else { "" }, "description": "", "priority": 0})).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()}, "columnDefinitions": defs, "rows": rows})
}

async fn collection(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
    res: Res,
    ns: Option<String>,
) -> Response<Body> {
    let q = query(&req);
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    match *req.method() {
        Method::GET if watch => {
            if let Some(r) = forbidden(state, "watch", res, ns.as_deref(), None) {
                return r;
            }
            watch_stream(state.clone(), res, ns, q)
        }
        Method::GET => {
            if let Some(r) = forbidden(state, "list", res, ns.as_deref(), None) {
                return r;
            }
            let s = state.store();
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|((r, n, _), o)| {
                    *r == res
                        && ns.as_ref().is_none_or(|ns| ns == n)
                        && matches(o, q.get("fieldSelector"))
                })
                .map(|(_, o)| o.clone())
                .collect();
            if wants_table(&req) {
                return reply(StatusCode::OK, &table(res, &items, s.rv));
            }
            reply(
                StatusCode::OK,
                &json!({"apiVersion": format!("{}/v1", res.group()), "kind": format!("{}List", res.kind()),
                "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
            )
        }
        Method::POST => {
            let Some(ns) = ns else {
                return status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "create needs a namespace".into(),
                    json!({}),
                );
            };
            if let Some(r) = forbidden(state, "create", res, Some(&ns), None) {
                return r;
            }
            if res != Res::Lease {
                return status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "the simulated controller creates VolumeSnapshots".into(),
                    json!({}),
                );
            }
            let mut body = match read_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(name) =
                body["metadata"]["name"].as_str().map(str::to_string).filter(|n| !n.is_empty())
            else {
                return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", "Lease.coordination.k8s.io \"\" is invalid: metadata.name: Required value: name or generateName is required".into(), json!({}));
            };
            let mut s = state.store();
            if s.objects.contains_key(&(res, ns.clone(), name.clone())) {
                return status(
                    StatusCode::CONFLICT,
                    "AlreadyExists",
                    format!("{} \"{name}\" already exists", res.qualified()),
                    json!({"name": name, "group": res.group(), "kind": res.plural()}),
                );
            }
            body["metadata"]["namespace"] = ns.clone().into();
            body["metadata"]["uid"] = uuid::Uuid::new_v4().to_string().into();
            body["metadata"]["creationTimestamp"] =
                humantime::format_rfc3339_seconds(SystemTime::now()).to_string().into();
            body["apiVersion"] = "coordination.k8s.io/v1".into();
            body["kind"] = "Lease".into();
            let stored = state.put(&mut s, res, &ns, &name, body, "ADDED");
            drop(s);
            state.log(&format!(
                "Lease {name} created, holder {}",
                stored["spec"]["holderIdentity"].as_str().unwrap_or("")
            ));
            reply(StatusCode::CREATED, &stored)
        }
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            json!({}),
        ),
    }
}

async fn read_json(req: Request<hyper::body::Incoming>) -> Result<Value, Response<Body>> {
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Err(status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("cannot read the body: {e}"),
                json!({}),
            ))
        }
    };
    if bytes.len() > 1 << 20 {
        return Err(status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the body is too large".into(),
            json!({}),
        ));
    }
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("the body is not JSON: {e}"),
            json!({}),
        )
    })
}

async fn object(
    state: &Arc<State>,
    req: Request<hyper::body::Incoming>,
    res: Res,
    ns: &str,
    name: &str,
) -> Response<Body> {
    let key = (res, ns.to_string(), name.to_string());
    let missing = || {
        status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} \"{name}\" not found", res.qualified()),
            json!({"name": name, "group": res.group(), "kind": res.plural()}),
        )
    };
    let conflict = |message: String| {
        status(
            StatusCode::CONFLICT,
            "Conflict",
            message,
            json!({"name": name, "group": res.group(), "kind": res.plural()}),
        )
    };
    match *req.method() {
        Method::GET => {
            if let Some(r) = forbidden(state, "get", res, Some(ns), Some(name)) {
                return r;
            }
            let table_wanted = wants_table(&req);
            let s = state.store();
            match s.objects.get(&key) {
                Some(o) if table_wanted => {
                    reply(StatusCode::OK, &table(res, std::slice::from_ref(o), s.rv))
                }
                Some(o) => reply(StatusCode::OK, o),
                None => missing(),
            }
        }
        Method::PUT => {
            if let Some(r) = forbidden(state, "update", res, Some(ns), Some(name)) {
                return r;
            }
            if res != Res::Lease {
                return status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "VolumeSnapshots are the simulated controller's".into(),
                    json!({}),
                );
            }
            let mut body = match read_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            if body["metadata"]["name"].as_str() != Some(name) {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "the name of the object does not match the name on the URL".into(),
                    json!({}),
                );
            }
            let Some(asked_rv) = body["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
                .filter(|v| !v.is_empty())
            else {
                return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", format!("Lease.coordination.k8s.io \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"), json!({}));
            };
            let mut s = state.store();
            let Some(current) = s.objects.get(&key).cloned() else { return missing() };
            if let Some(uid) = body["metadata"]["uid"].as_str().filter(|u| !u.is_empty()) {
                if current["metadata"]["uid"] != uid {
                    return conflict(format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        current["metadata"]["uid"].as_str().unwrap_or("")
                    ));
                }
            }
            if current["metadata"]["resourceVersion"] != asked_rv.as_str() {
                return conflict(format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again", res.qualified()));
            }
            for k in ["uid", "creationTimestamp", "namespace"] {
                body["metadata"][k] = current["metadata"][k].clone();
            }
            body["apiVersion"] = "coordination.k8s.io/v1".into();
            body["kind"] = "Lease".into();
            let stored = state.put(&mut s, res, ns, name, body, "MODIFIED");
            reply(StatusCode::OK, &stored)
        }
        Method::DELETE => {
            if let Some(r) = forbidden(state, "delete", res, Some(ns), Some(name)) {
                return r;
            }
            let body = match read_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let mut s = state.store();
            let Some(current) = s.objects.get(&key).cloned() else { return missing() };
            let pre = &body["preconditions"];
            if let Some(uid) = pre["uid"].as_str().filter(|u| !u.is_empty()) {
                if current["metadata"]["uid"] != uid {
                    return conflict(format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        current["metadata"]["uid"].as_str().unwrap_or("")
                    ));
                }
            }
            if let Some(rv) = pre["resourceVersion"].as_str().filter(|u| !u.is_empty()) {
                if current["metadata"]["resourceVersion"] != rv {
                    return conflict(format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", current["metadata"]["resourceVersion"].as_str().unwrap_or("")));
                }
            }
            let gone = state.remove(&mut s, res, ns, name).unwrap_or(current);
            drop(s);
            if res == Res::Lease {
                state.log(&format!("Lease {name} deleted"));
            }
            reply(StatusCode::OK, &gone)
        }
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
            json!({}),
        ),
    }
}

/// A watch: newline-separated `{"type": …, "object": …}` events after `resourceVersion` (all
/// current objects as ADDED first when it is unset or `0`), until `timeoutSeconds`.
fn watch_stream(
    state: Arc<State>,
    res: Res,
    ns: Option<String>,
    q: BTreeMap<String, String>,
) -> Response<Body> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(64);
    let timeout =
        q.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).unwrap_or(1800).min(3600);
    let fields = q.get("fieldSelector").cloned();
    let from = q.get("resourceVersion").and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0);
    tokio::spawn(async move {
        let end = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut changed = state.changed.subscribe();
        let in_scope = |r: &Res, n: &String, o: &Value| {
            *r == res && ns.as_ref().is_none_or(|ns| ns == n) && matches(o, fields.as_ref())
        };
        let (mut after, initial): (u64, Vec<Value>) = {
            let s = state.store();
            match from {
                Some(rv) => (rv, Vec::new()),
                None => (
                    s.rv,
                    s.objects
                        .iter()
                        .filter(|((r, n, _), o)| in_scope(r, n, o))
                        .map(|(_, o)| json!({"type": "ADDED", "object": o}))
                        .collect(),
                ),
            }
        };
        for e in initial {
            if tx.send(Ok(Frame::data(Bytes::from(format!("{e}\n"))))).await.is_err() {
                return;
            }
        }
        loop {
            let batch: Vec<Value> = {
                let s = state.store();
                let out = s
                    .events
                    .iter()
                    .filter(|(rv, r, n, _, o)| *rv > after && in_scope(r, n, o))
                    .map(|(_, _, _, t, o)| json!({"type": t, "object": o}))
                    .collect();
                after = s.rv;
                out
            };
            for e in batch {
                if tx.send(Ok(Frame::data(Bytes::from(format!("{e}\n"))))).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = tokio::time::sleep_until(end) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut r = Response::new(BodyExt::boxed(body));
    r.headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_decoded_and_field_selectors_match_by_name() {
        assert_eq!(decode("metadata.name%3Dab-1"), "metadata.name=ab-1");
        assert_eq!(decode("a+b%2"), "a b%2");
        assert_eq!(decode("%zz"), "%zz");
        let o = json!({"metadata": {"name": "ab-1", "namespace": "octelium"}});
        assert!(matches(&o, Some(&"metadata.name=ab-1".to_string())));
        assert!(matches(&o, Some(&"metadata.name==ab-1,metadata.namespace=octelium".to_string())));
        assert!(!matches(&o, Some(&"metadata.name=other".to_string())));
        assert!(matches(&o, None));
    }

    #[test]
    fn the_written_kubeconfig_is_one_kube_reads() {
        let text = kubeconfig("http://127.0.0.1:9", "tok", "octelium");
        let k = ::kube::config::Kubeconfig::from_yaml(&text).expect("a kubeconfig");
        assert_eq!(k.current_context.as_deref(), Some("cordium-serve"));
        let ctx = k.contexts[0].context.as_ref().expect("a context");
        assert_eq!(ctx.namespace.as_deref(), Some("octelium"));
        let cluster = k.clusters[0].cluster.as_ref().expect("a cluster");
        assert_eq!(cluster.server.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn a_refusal_names_the_verb_and_the_resource() {
        let options =
            KubeOptions { forbid: vec!["watch/volumesnapshots".into()], ..Default::default() };
        let (changed, _) = tokio::sync::watch::channel(0);
        let state = State {
            options,
            token: String::new(),
            store: Mutex::new(Store::default()),
            changed,
            log: Mutex::new(None),
        };
        assert!(forbidden(&state, "list", Res::Snapshot, Some("octelium"), None).is_none());
        let r = forbidden(&state, "watch", Res::Snapshot, Some("octelium"), None).expect("403");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
