//! Local cluster throughput: listing 10,000 objects in-process (`LocalCluster`) against over
//! gRPC on loopback (a raw tonic client against an in-process `cordium serve` on 127.0.0.1:0),
//! and create throughput over gRPC at parallelism 1 and 32. Prints figures and ratios against the
//! in-process baseline measured in the same run. Run: `cargo bench --bench live`.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cordium::live::local::{Engine, EngineOptions, LocalCluster};
use cordium::live::wire::{auth, core, meta};
use cordium::live::{Cluster, Object, Scope};
use cordium::model::Kind;
use cordium::server::{self, ServeOptions};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Objects listed: 10,000 under `cargo bench`; a few under `cargo test --all-targets`, which
/// runs benches once as a smoke test (without the `--bench` flag).
fn objects() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        10_000
    } else {
        200
    }
}

#[derive(Clone)]
struct Auth(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("x-octelium-auth", self.0.clone());
        Ok(req)
    }
}

type CoreClient = core::main_service_client::MainServiceClient<InterceptedService<Channel, Auth>>;

fn user(name: String) -> core::User {
    core::User {
        metadata: Some(meta::Metadata { name: name.clone(), ..Default::default() }),
        spec: Some(core::user::Spec {
            email: format!("{name}@example.org"),
            r#type: core::user::spec::Type::Human as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// The best of `runs` timings of `f`.
async fn best<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f().await);
        best = best.min(t.elapsed());
    }
    best
}

async fn list_grpc(cl: &CoreClient) -> usize {
    let mut cl = cl.clone();
    let mut n = 0;
    for page in 0.. {
        let opts = core::ListUserOptions {
            common: Some(meta::CommonListOptions { page, items_per_page: 1000, order_by: None }),
        };
        let l = cl.list_user(opts).await.unwrap().into_inner();
        n += l.items.len();
        if !l.list_response_meta.is_some_and(|m| m.has_more) {
            break;
        }
    }
    n
}

async fn create_grpc(cl: &CoreClient, prefix: &str, total: usize, parallelism: usize) -> Duration {
    let t = Instant::now();
    let tasks: Vec<_> = (0..parallelism)
        .map(|w| {
            let mut cl = cl.clone();
            let prefix = prefix.to_string();
            tokio::spawn(async move {
                for i in (w..total).step_by(parallelism) {
                    cl.create_user(user(format!("{prefix}-{i}"))).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let engine = Arc::new(Engine::in_memory(EngineOptions::default()).unwrap());
    let objects = objects();
    let local = LocalCluster::from_engine(engine.clone(), "local:memory".into());
    // A fresh cluster already holds its genesis Users; the caller is created on first sight.
    let seeded = local.list(Kind::User, &Scope::All).await.unwrap().len();
    for i in 0..objects - seeded {
        engine.create_core("admin", user(format!("user-{i}"))).unwrap();
    }

    // In-process baseline: list.
    let list_local =
        best(5, || async { local.list(Kind::User, &Scope::All).await.unwrap().len() }).await;
    let n = local.list(Kind::User, &Scope::All).await.unwrap().len();
    assert_eq!(n, objects);

    // The same engine over gRPC on loopback.
    let options = ServeOptions {
        auth_tokens: vec![("admin".into(), "T".into())],
        in_memory: true,
        ..Default::default()
    };
    let srv = server::start_with_engine(engine.clone(), options).await.unwrap();
    let channel = Channel::from_shared(srv.url()).unwrap().connect().await.unwrap();
    let mut auth_cl = auth::main_service_client::MainServiceClient::new(channel.clone());
    let session = auth_cl
        .authenticate_with_authentication_token(auth::AuthenticateWithAuthenticationTokenRequest {
            authentication_token: "T".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let cl: CoreClient = core::main_service_client::MainServiceClient::with_interceptor(
        channel,
        Auth(session.access_token.parse().unwrap()),
    );
    let list_remote = best(5, || list_grpc(&cl)).await;

    // Creates: in-process baseline at parallelism 1, then gRPC at 1 and 32.
    let creates_n: usize = if objects == 10_000 { 2000 } else { 50 };
    let t = Instant::now();
    for i in 0..creates_n {
        local.create(Object::User(user(format!("local-{i}")))).await.unwrap();
    }
    let create_local = t.elapsed();
    let create_p1 = create_grpc(&cl, "p1", creates_n, 1).await;
    let create_p32 = create_grpc(&cl, "p32", creates_n, 32).await;

    let base_list = rate(objects, list_local);
    let base_create = rate(creates_n, create_local);
    println!("local cluster benchmark ({objects} objects listed, {creates_n} creates per row)");
    println!("{:<34} {:>14} {:>10}", "case", "objects/s", "ratio");
    let row = |name: &str, r: f64, base: f64| println!("{name:<34} {r:>14.0} {:>9.3}x", r / base);
    row("list, in-process (LocalCluster)", base_list, base_list);
    row("list, gRPC loopback", rate(objects, list_remote), base_list);
    row("create, in-process, parallelism 1", base_create, base_create);
    row("create, gRPC, parallelism 1", rate(creates_n, create_p1), base_create);
    row("create, gRPC, parallelism 32", rate(creates_n, create_p32), base_create);
    srv.stop().await.unwrap();
}
