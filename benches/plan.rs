//! Plan speed and memory (issues 4 and 13): 10,000 and 50,000 resources against the real
//! `cordium serve --in-memory` on loopback, 1% of them changed.
//!
//! The config is the held-out-style generator's (`support::heldout`): official-shape YAML, one
//! file per Space, about 320 bytes per resource; per 500 resources 1 Space, 200 Templates,
//! 1 Workspace and 298 Users. For each size a fresh `cordium serve` is seeded with everything
//! (plan + `apply::apply` at parallelism 32, through the library), then 5 documents in every
//! file (1%) get a new `displayName` and each case runs [`RUNS`] times, each in a fresh child
//! process (this binary run again with `CORDIUM_PLAN_BENCH` set) so that peak memory is that
//! process's own:
//!
//! - the independent floor, which shares no code with cordium: parse every file with the bare
//!   parsers (serde-saphyr into JSON values, hcl-rs into a `hcl::Body`), then list every object
//!   over gRPC with a minimal client written here (the generated stubs, page size 1000; Users,
//!   Spaces and Workspaces together, then every Space's Templates, Secrets, Memberships,
//!   GitProviders and Volumes, the per-Space kinds cordium lists, all in flight);
//! - cordium's own floor: load the config, connect, list everything (`live::state::read`), no
//!   diff (it shares cordium's loader and lister, so it cannot see their costs);
//! - the plan: `ops::plan::plan` and rendering the human text to a String.
//!
//! Prints per size and case the wall time (median of the runs, with the spread), the CPU time
//! of the child (user + sys, median; above the wall time when threads ran in parallel), RPCs
//! (auth included), peak memory (VmHWM, the largest of the runs) and peak / config size on disk,
//! then the ratios plan / independent floor (issue: <= 1.15x) and plan / cordium's floor, and the
//! RPCs expected: one List page per kind, per Space for Templates and Secrets (`live::state`),
//! plus one authentication. Run: `cargo bench --bench plan`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordium::apply::{self, ApplyContext, Ignore, SecretValues};
use cordium::live::convert::Naming;
use cordium::live::state;
use cordium::live::wire::meta;
use cordium::model::{Address, SecretSource};
use cordium::ops::plan::{self as ops_plan, Planned};
use cordium::render::{self, PlanDoc, Style};
use support::heldout::{self, PER_SPACE, TEMPLATES_PER_SPACE, WORKSPACES_PER_SPACE};
use support::{failure_text, peak_rss_kib, request, Serve, Spread};

/// The sizes measured.
const SIZES: [usize; 2] = [10_000, 50_000];
/// Child processes per case and size; the median wall time is reported, with the spread.
const RUNS: usize = 5;
/// What `GrpcOptions::new` asks for per page.
const PAGE_SIZE: usize = 1000;
/// The stack the generated config names.
const STACK: &str = "bench";

const MODE_VAR: &str = "CORDIUM_PLAN_BENCH";
const DIR_VAR: &str = "CORDIUM_PLAN_BENCH_DIR";
const URL_VAR: &str = "CORDIUM_PLAN_BENCH_URL";

/// The documents changed in each Space file: 5 of its 500 (1%), at these positions (0 is the
/// Space, 1–200 the Templates, 201 the Workspace, which has no displayName; 2 and 102:
/// Templates, 202, 302 and 402: Users).
fn changed(doc: usize) -> bool {
    doc % 100 == 2
}

/// Gives the [`changed`] documents of every generated file a new `displayName`; returns how
/// many were changed.
fn edit(root: &Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(root).expect("dir") {
        let path = entry.expect("entry").path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "cordium.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let docs: Vec<String> = text
            .split("---\n")
            .enumerate()
            .map(|(i, d)| {
                if !changed(i) {
                    return d.to_string();
                }
                let line = d.lines().find(|l| l.starts_with("  displayName: ")).expect("named");
                count += 1;
                d.replacen(line, &format!("{line} (renamed)"), 1)
            })
            .collect();
        std::fs::write(&path, docs.join("---\n")).expect("write");
    }
    count
}

/// The generated config has no Secrets.
struct NoSecrets;

impl SecretValues for NoSecrets {
    fn read(&self, address: &Address, _: &SecretSource) -> Result<String, String> {
        Err(format!("{address}: the bench declares no Secrets"))
    }
}

async fn plan(dir: &Path, url: &str) -> Planned {
    match ops_plan::plan(&request(dir.to_path_buf(), url)).await {
        Ok(p) => p,
        Err(f) => panic!("plan failed: {}", failure_text(&f)),
    }
}

/// Creates everything the config declares.
async fn seed(dir: &Path, url: &str) -> (usize, Duration) {
    let t = Instant::now();
    let planned = plan(dir, url).await;
    let steps = planned.plan.steps.len();
    let mut ctx = ApplyContext::new(
        planned.cluster,
        Arc::new(planned.model),
        planned.naming,
        Arc::new(NoSecrets),
    );
    ctx.parallelism = 32;
    let outcome = apply::apply(&planned.plan, ctx, &Ignore).await;
    let failed: Vec<String> = outcome.failed().take(5).map(|s| format!("{:?}", s.status)).collect();
    assert!(outcome.success(), "seeding failed: {failed:?}");
    (steps, t.elapsed())
}

/// One measurement, in this (fresh) process: `bare`, `floor` or `plan`. Prints one line:
/// `wall_ns rpcs peak_kib cpu_ms detail`.
async fn child(mode: &str, dir: PathBuf, url: &str) {
    let t = Instant::now();
    let (rpcs, detail) = match mode {
        "floor" => {
            let req = request(dir, url);
            let v = match cordium::ops::validate::load(&req.dir, &req.load) {
                Ok(v) => v,
                Err(f) => panic!("load failed: {}", failure_text(&f)),
            };
            let (loaded, model) = (v.loaded, v.model);
            let loaded_at = t.elapsed();
            let settings = match cordium::ops::Settings::resolve(&req, &loaded) {
                Ok(s) => s,
                Err(f) => panic!("settings: {}", failure_text(&f)),
            };
            let stack = settings.stack.clone();
            let cluster = match ops_plan::connect(&settings, &req.env.auth).await {
                Ok(v) => v,
                Err(f) => panic!("connect failed: {}", failure_text(&f)),
            };
            let identity = cluster.identity().await.expect("identity");
            let naming = Naming::for_model(identity.username, &model);
            let connected_at = t.elapsed();
            let live = state::read(&cluster, &model, &naming, &stack).await.expect("read");
            std::hint::black_box(&live);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            (
                cluster.calls(),
                format!(
                    "objects={} (load {:.0} ms, connect + identity {:.0} ms, list {:.0} ms)",
                    live.objects.len(),
                    ms(loaded_at),
                    ms(connected_at - loaded_at),
                    ms(t.elapsed() - connected_at)
                ),
            )
        }
        "bare" => bare(&dir, url).await,
        "plan" => {
            let planned = plan(&dir, url).await;
            let text = render::human::plan(&PlanDoc::from_plan(&planned.plan), Style::default());
            let counts: Vec<String> =
                planned.plan.counts().iter().map(|(a, n)| format!("{a:?}:{n}")).collect();
            let calls = planned.cluster.calls();
            // As `cordium plan` ends: the plan, model and loaded config are left to the OS.
            let Planned { plan, model, loaded, cluster, .. } = planned;
            drop(cluster);
            std::mem::forget((plan, model, loaded));
            (calls, format!("text_bytes={} changes={}", text.len(), counts.join(",")))
        }
        other => panic!("unknown mode {other}"),
    };
    let wall = t.elapsed();
    println!("{} {} {} {} {}", wall.as_nanos(), rpcs, peak_rss_kib(), cpu_ms(), detail);
}

/// This process's CPU time so far, user + sys of all its threads, in ms (`/proc/self/stat`,
/// in clock ticks of 10 ms).
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// The minimal client's credentials: the session's access token on every call.
#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("x-octelium-auth", self.0.clone());
        Ok(req)
    }
}

type Intercepted =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>;

/// Pages through one list with `call(page)` until the server says there is no more.
async fn pages_of<T, Fut>(mut call: impl FnMut(meta::CommonListOptions) -> Fut) -> Vec<T>
where
    Fut: std::future::Future<Output = (Vec<T>, Option<meta::ListResponseMeta>)>,
{
    let mut out = Vec::new();
    for page in 0.. {
        let common =
            meta::CommonListOptions { page, items_per_page: PAGE_SIZE as u32, order_by: None };
        let (items, m) = call(common).await;
        out.extend(items);
        if !m.is_some_and(|m| m.has_more) {
            break;
        }
    }
    out
}

/// The independent floor: bare parsers, then a minimal gRPC client listing everything.
/// Returns (RPCs, detail).
async fn bare(dir: &Path, url: &str) -> (u64, String) {
    use cordium::live::wire::{auth, cordium as api, core};
    let t = Instant::now();
    let mut docs = 0;
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") => {
                let values: Vec<serde_json::Value> =
                    serde_saphyr::from_multiple(&text).expect("yaml");
                docs += values.len();
            }
            Some("hcl") => docs += hcl::parse(&text).expect("hcl").blocks().count(),
            _ => {}
        }
    }
    std::hint::black_box(docs);
    let parsed = t.elapsed();
    let channel = tonic::transport::Channel::from_shared(url.to_string())
        .expect("url")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    let session = auth::main_service_client::MainServiceClient::new(channel.clone())
        .authenticate_with_authentication_token(auth::AuthenticateWithAuthenticationTokenRequest {
            authentication_token: support::TOKEN.into(),
            ..Default::default()
        })
        .await
        .expect("authenticate")
        .into_inner();
    let bearer = Bearer(session.access_token.parse().expect("token"));
    let rpcs = std::sync::atomic::AtomicU64::new(1);
    let count = || rpcs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let big = 64 * 1024 * 1024;
    let core_cl: core::main_service_client::MainServiceClient<Intercepted> =
        core::main_service_client::MainServiceClient::with_interceptor(
            channel.clone(),
            bearer.clone(),
        )
        .max_decoding_message_size(big);
    let api_cl: api::main_service_client::MainServiceClient<Intercepted> =
        api::main_service_client::MainServiceClient::with_interceptor(channel, bearer)
            .max_decoding_message_size(big);
    let users = pages_of(|common| {
        let mut cl = core_cl.clone();
        count();
        async move {
            let l = cl
                .list_user(core::ListUserOptions { common: Some(common) })
                .await
                .expect("ListUser");
            let l = l.into_inner();
            (l.items, l.list_response_meta)
        }
    });
    let spaces = pages_of(|common| {
        let mut cl = api_cl.clone();
        count();
        async move {
            let o = api::ListSpaceOptions { common: Some(common), r#type: 0, mode: 2 };
            let l = cl.list_space(o).await.expect("ListSpace").into_inner();
            (l.items, l.list_response_meta)
        }
    });
    let workspaces = pages_of(|common| {
        let mut cl = api_cl.clone();
        count();
        async move {
            let o = api::ListWorkspaceOptions { common: Some(common), filter: None };
            let l = cl.list_workspace(o).await.expect("ListWorkspace").into_inner();
            (l.items, l.list_response_meta)
        }
    });
    let (users, spaces, workspaces) = tokio::join!(users, spaces, workspaces);
    // The bench's own Spaces (not the genesis ones the tool skips too).
    let names: Vec<String> = spaces
        .iter()
        .filter_map(|s| s.metadata.as_ref().map(|m| m.name.clone()))
        .filter(|n| n.starts_with("space-"))
        .collect();
    let space_ref =
        |n: &String| Some(meta::ObjectReference { name: n.clone(), ..Default::default() });
    let common = || {
        Some(meta::CommonListOptions { page: 0, items_per_page: PAGE_SIZE as u32, order_by: None })
    };
    // Every kind cordium lists per Space (`Kind::list_scope`), one list per Space each, all in
    // flight: Templates, Secrets, Memberships, GitProviders, Volumes.
    macro_rules! per_space {
        ($call:ident, $options:ident) => {
            futures_util::future::join_all(names.iter().map(|n| {
                let mut cl = api_cl.clone();
                count();
                let o = api::$options { common: common(), space_ref: space_ref(n) };
                async move { cl.$call(o).await.expect(stringify!($call)).into_inner().items.len() }
            }))
        };
    }
    let per_space = tokio::join!(
        per_space!(list_template, ListTemplateOptions),
        per_space!(list_secret, ListSecretOptions),
        per_space!(list_membership, ListMembershipOptions),
        per_space!(list_git_provider, ListGitProviderOptions),
        per_space!(list_volume, ListVolumeOptions),
    );
    let in_spaces: usize = [per_space.0, per_space.1, per_space.2, per_space.3, per_space.4]
        .iter()
        .map(|l| l.iter().sum::<usize>())
        .sum();
    let objects = users.len() + spaces.len() + workspaces.len() + in_spaces;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        rpcs.load(std::sync::atomic::Ordering::Relaxed),
        format!(
            "docs={docs} objects={objects} (parse {:.0} ms, connect + list {:.0} ms)",
            ms(parsed),
            ms(t.elapsed() - parsed)
        ),
    )
}

#[derive(Debug, Clone)]
struct Figures {
    wall: Duration,
    rpcs: u64,
    peak_kib: u64,
    cpu_ms: u64,
    detail: String,
}

/// Runs this binary again in `mode` and reads its line.
fn measure(mode: &str, dir: &Path, url: &str) -> Figures {
    let line = support::child_line(&[
        (MODE_VAR, mode.as_ref()),
        (DIR_VAR, dir.as_os_str()),
        (URL_VAR, url.as_ref()),
    ]);
    let mut parts = line.splitn(5, ' ');
    let mut num = || parts.next().and_then(|p| p.parse::<u64>().ok()).expect("a figure");
    let wall = Duration::from_nanos(num());
    let rpcs = num();
    let peak_kib = num();
    let cpu_ms = num();
    Figures { wall, rpcs, peak_kib, cpu_ms, detail: parts.next().unwrap_or_default().to_string() }
}

/// One case's runs: the run with the median wall time (its detail and RPCs), the spread of the
/// wall times in ms, the median CPU time in ms, and the largest peak memory.
struct Case {
    median: Figures,
    wall_ms: Spread,
    cpu_ms: Spread,
    peak_kib: u64,
}

fn case(runs: &[Figures]) -> Case {
    let mut sorted: Vec<&Figures> = runs.iter().collect();
    sorted.sort_by_key(|f| f.wall);
    Case {
        median: sorted[sorted.len() / 2].clone(),
        wall_ms: Spread::of(runs.iter().map(|f| f.wall.as_secs_f64() * 1e3).collect()),
        cpu_ms: Spread::of(runs.iter().map(|f| f.cpu_ms as f64).collect()),
        peak_kib: runs.iter().map(|f| f.peak_kib).max().unwrap_or(0),
    }
}

fn pages(items: usize) -> u64 {
    items.div_ceil(PAGE_SIZE).max(1) as u64
}

/// One size, end to end: generate, seed a fresh server, change 1%, measure the three cases.
struct Size {
    resources: usize,
    config_bytes: u64,
    edited: usize,
    steps: usize,
    seeding: Duration,
    bare: Case,
    floor: Case,
    plan: Case,
    expected_rpcs: u64,
}

fn run_size(n: usize) -> Size {
    let dir = tempfile::tempdir().expect("tempdir");
    heldout::generate(dir.path(), STACK, n, false);
    let serve = Serve::start(&[]);
    let (steps, seeding) = cordium::ops::block_on(seed(dir.path(), &serve.url));
    let edited = edit(dir.path());
    let config_bytes: u64 = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    let (mut bares, mut floors, mut plans) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        bares.push(measure("bare", dir.path(), &serve.url));
        floors.push(measure("floor", dir.path(), &serve.url));
        plans.push(measure("plan", dir.path(), &serve.url));
    }
    drop(serve);
    // One page per kind (Users, Spaces, Workspaces all at once; per Space one page of each of
    // its five kinds: its Templates and the `default` one fit in a page), plus one
    // authentication.
    let spaces = n.div_ceil(PER_SPACE);
    let users = spaces * (PER_SPACE - 1 - TEMPLATES_PER_SPACE - WORKSPACES_PER_SPACE) + 1; // admin
    let expected_rpcs = 1
        + pages(users)
        + pages(spaces)
        + pages(spaces * WORKSPACES_PER_SPACE)
        + spaces as u64 * (pages(TEMPLATES_PER_SPACE + 1) + 4);
    Size {
        resources: spaces * PER_SPACE,
        config_bytes,
        edited,
        steps,
        seeding,
        bare: case(&bares),
        floor: case(&floors),
        plan: case(&plans),
        expected_rpcs,
    }
}

fn main() {
    if let Ok(mode) = std::env::var(MODE_VAR) {
        let dir = PathBuf::from(std::env::var(DIR_VAR).expect("dir"));
        let url = std::env::var(URL_VAR).expect("url");
        cordium::ops::block_on(child(&mode, dir, &url));
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs benches once without `--bench`: building it is the
        // check; the measurement (10,000 and 50,000 resources, a few minutes in release) is for
        // `cargo bench`.
        println!("plan bench: compiled; run `cargo bench --bench plan` for the figures");
        return;
    }

    let sizes: Vec<Size> = SIZES.iter().map(|&n| run_size(n)).collect();
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "plan bench: held-out-style YAML (per {PER_SPACE}: 1 Space, {TEMPLATES_PER_SPACE} Templates, {WORKSPACES_PER_SPACE} Workspace, the rest Users), 1% changed, over `cordium serve --in-memory`"
    );
    println!(
        "  each figure: median of {RUNS} fresh processes [min–max]; CPU = user + sys of the child; peak = the largest VmHWM of the runs"
    );
    for z in &sizes {
        println!(
            "\n{} resources, {:.1} MB of YAML, {} changed; seeded {} creates through apply::apply at parallelism 32 in {:.1} s",
            z.resources,
            z.config_bytes as f64 / 1e6,
            z.edited,
            z.steps,
            z.seeding.as_secs_f64()
        );
        println!(
            "{:<44} {:>26} {:>24} {:>6} {:>9} {:>7}",
            "case", "wall ms [min–max]", "CPU ms [min–max]", "RPCs", "peak MiB", "/config"
        );
        let row = |name: &str, c: &Case| {
            println!(
                "{name:<44} {:>26} {:>24} {:>6} {:>9.1} {:>6.1}x",
                c.wall_ms.show(1),
                c.cpu_ms.show(0),
                c.median.rpcs,
                mib(c.peak_kib),
                c.peak_kib as f64 * 1024.0 / z.config_bytes as f64
            )
        };
        row("independent floor: bare parsers + raw gRPC", &z.bare);
        row("cordium's floor: load + connect + list", &z.floor);
        row("plan: ops::plan + render human text", &z.plan);
        println!("  independent floor: {}", z.bare.median.detail);
        println!("  cordium's floor:   {}", z.floor.median.detail);
        println!("  plan:              {}", z.plan.median.detail);
        println!(
            "  ratio plan / independent floor (median walls) {:>6.2}x   issue: <= 1.15x",
            z.plan.wall_ms.median / z.bare.wall_ms.median
        );
        println!(
            "  ratio plan / cordium's floor (median walls)   {:>6.2}x   (the floor shares cordium's loader and lister)",
            z.plan.wall_ms.median / z.floor.wall_ms.median
        );
        println!(
            "  peak memory of plan / config size on disk     {:>6.1}x   issue at 50k: <= 10x",
            z.plan.peak_kib as f64 * 1024.0 / z.config_bytes as f64
        );
        println!(
            "  RPCs expected: {} (1 auth, one page per 1000 Users, Spaces and Workspaces, one list per Space of each of its 5 kinds); plan made {}",
            z.expected_rpcs, z.plan.median.rpcs
        );
    }
}
