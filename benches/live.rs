//! Local cluster throughput: listing 10,000 objects in-process (`LocalCluster`) against over
//! gRPC on loopback (a raw tonic client against an in-process `cordium serve` on 127.0.0.1:0),
//! and create throughput over gRPC at parallelism 1 and 32. Prints figures and ratios against the
//! in-process baseline measured in the same run.
//!
//! Then embedded apply against the engine's own cost (issue 13), at 10,000 and 50,000 creates
//! of the held-out-style config (`support::heldout`), each into a fresh store file:
//!
//! - **engine**: the same objects apply sends (`convert::to_wire` of every resource, made
//!   before the clock starts), created by calling the local `Engine` directly in one process:
//!   no plan, no apply machinery, no `Cluster` trait. Two ways: one after another from one
//!   thread (each create its own transaction), and from 10 threads at once, kind by kind
//!   (Spaces, Templates, Workspaces, Users; the engine's group commit shares transactions
//!   between them); and one after another into an in-memory store (no file, no WAL: the
//!   engine's cost without the disk, the 0.05–0.09 ms per create issue 13 quotes). The floor
//!   is the fastest of the three.
//! - **apply**: `apply::apply` of the plan (every step a create, parallelism 10, as `cordium
//!   apply --local` runs it), and plan + apply (what `cordium apply` does after loading).
//!
//! Each figure is the median of [`RUNS`] runs with the spread (min–max); the ratios are of
//! medians. Run: `cargo bench --bench live`.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

mod support;

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
    // Every figure here is of apply's phase, the engine's floor as much as apply itself: freed
    // memory kept for reuse, as `cordium apply` sets it before its steps (`ops::apply`).
    cordium::ops::keep_freed_memory();
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

    let sizes: &[usize] = if objects == 10_000 { &[10_000, 50_000] } else { &[1_000] };
    let runs = if objects == 10_000 { RUNS } else { 1 };
    println!();
    println!(
        "embedded apply vs the engine's own creates (held-out-style config, fresh store files, median of {runs} [min–max])"
    );
    println!(
        "{:>7} {:>22} {:>22} {:>22} {:>22} {:>22} {:>8} {:>9} {:>12}",
        "creates",
        "engine 1 thread s",
        "engine 10 threads s",
        "engine in memory s",
        "apply::apply s",
        "plan + apply s",
        "apply/eng",
        "(p+a)/eng",
        "eng10 ops/tx"
    );
    for &n in sizes {
        let c = embedded(n, runs).await;
        let floor = c.engine_seq.median.min(c.engine_par.median).min(c.engine_mem.median);
        println!(
            "{:>7} {:>22} {:>22} {:>22} {:>22} {:>22} {:>7.2}x {:>8.2}x {:>12.1}",
            n,
            c.engine_seq.show(3),
            c.engine_par.show(3),
            c.engine_mem.show(3),
            c.apply.show(3),
            c.plan_apply.show(3),
            c.apply.median / floor,
            c.plan_apply.median / floor,
            c.ops_per_commit
        );
    }
    println!(
        "  target (issue 13): embedded apply of 50,000 creates within 3x of the engine's own cost"
    );
}

/// Runs per figure of the embedded section.
const RUNS: usize = 3;

struct Embedded {
    engine_seq: support::Spread,
    engine_par: support::Spread,
    engine_mem: support::Spread,
    apply: support::Spread,
    plan_apply: support::Spread,
    /// Of the last 10-thread engine run: creates per committed transaction.
    ops_per_commit: f64,
}

struct NoSecrets;

impl cordium::apply::SecretValues for NoSecrets {
    fn read(
        &self,
        address: &cordium::model::Address,
        _: &cordium::model::SecretSource,
    ) -> Result<String, String> {
        Err(format!("{address}: the bench declares no Secrets"))
    }
}

fn local_request(dir: std::path::PathBuf, store: std::path::PathBuf) -> cordium::ops::Request {
    cordium::ops::Request {
        target: cordium::live::target::TargetFlags { local: Some(store), ..Default::default() },
        env: cordium::ops::EnvSettings { holder: "bench@localhost".into(), ..Default::default() },
        ..cordium::ops::Request::new(dir)
    }
}

/// One create, straight into the engine.
fn engine_create(e: &Engine, o: Object) {
    let r = match o {
        Object::Space(o) => e.create_space("admin", o).map(drop),
        Object::Template(o) => e.create_template("admin", o).map(drop),
        Object::Workspace(o) => e.create_workspace("admin", o).map(drop),
        Object::User(o) => e.create_core("admin", o).map(drop),
        other => panic!("the held-out config has no {:?}", other.kind()),
    };
    r.expect("engine create");
}

async fn embedded(n: usize, runs: usize) -> Embedded {
    let dir = tempfile::tempdir().expect("tempdir");
    support::heldout::generate(dir.path(), "live", n, false);
    let (mut seq, mut par, mut app, mut both) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut mem = Vec::new();
    let mut ops_per_commit = 0.0;
    for _ in 0..runs {
        // Apply: plan against a fresh store, then apply::apply.
        let store = tempfile::tempdir().expect("store");
        let t = Instant::now();
        let planned = cordium::ops::plan::plan(&local_request(
            dir.path().to_path_buf(),
            store.path().join("local.db"),
        ))
        .await
        .unwrap_or_else(|f| panic!("plan failed: {}", support::failure_text(&f)));
        let plan_time = t.elapsed();
        assert_eq!(planned.plan.steps.len(), n, "every step a create");
        // The objects apply will send, for the engine's runs.
        let stack = planned.plan.stack.clone();
        let objects: Vec<Object> = planned
            .plan
            .steps
            .iter()
            .map(|s| {
                let r = planned.model.get(&s.address).expect("a resource per step");
                cordium::live::convert::to_wire(r, &planned.naming, &stack)
            })
            .collect();
        let mut ctx = cordium::apply::ApplyContext::new(
            planned.cluster,
            Arc::new(planned.model),
            planned.naming,
            Arc::new(NoSecrets),
        );
        ctx.parallelism = 10;
        let t = Instant::now();
        let outcome = cordium::apply::apply(&planned.plan, ctx, &cordium::apply::Ignore).await;
        let apply_time = t.elapsed();
        assert!(outcome.success(), "apply failed");
        app.push(apply_time.as_secs_f64());
        both.push((plan_time + apply_time).as_secs_f64());
        drop(store);

        // The engine, one create after another from one thread.
        let store = tempfile::tempdir().expect("store");
        let e = Engine::open(&store.path().join("local.db"), EngineOptions::default()).unwrap();
        let copy = objects.clone();
        let t = Instant::now();
        for o in copy {
            engine_create(&e, o);
        }
        seq.push(t.elapsed().as_secs_f64());
        drop(e);
        drop(store);

        // The engine in memory, one create after another.
        let e = Engine::in_memory(EngineOptions::default()).unwrap();
        let copy = objects.clone();
        let t = Instant::now();
        for o in copy {
            engine_create(&e, o);
        }
        mem.push(t.elapsed().as_secs_f64());
        drop(e);

        // The engine from 10 threads, kind by kind (each kind only names kinds before it).
        let store = tempfile::tempdir().expect("store");
        let e = Arc::new(
            Engine::open(&store.path().join("local.db"), EngineOptions::default()).unwrap(),
        );
        let before = e.commits();
        let t = Instant::now();
        for kind in [Kind::Space, Kind::Template, Kind::Workspace, Kind::User] {
            let of_kind: Vec<Object> =
                objects.iter().filter(|o| o.kind() == kind).cloned().collect();
            let chunks: Vec<Vec<Object>> =
                (0..10).map(|w| of_kind.iter().skip(w).step_by(10).cloned().collect()).collect();
            std::thread::scope(|scope| {
                for chunk in chunks {
                    let e = e.clone();
                    scope.spawn(move || {
                        for o in chunk {
                            engine_create(&e, o);
                        }
                    });
                }
            });
        }
        par.push(t.elapsed().as_secs_f64());
        ops_per_commit = objects.len() as f64 / (e.commits() - before).max(1) as f64;
        drop(e);
        drop(store);
    }
    Embedded {
        engine_seq: support::Spread::of(seq),
        engine_par: support::Spread::of(par),
        engine_mem: support::Spread::of(mem),
        apply: support::Spread::of(app),
        plan_apply: support::Spread::of(both),
        ops_per_commit,
    }
}
