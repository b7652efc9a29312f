//! Plan speed (issue 4): 10,000 resources against the real `cordium serve --in-memory` on
//! loopback, 1% of them changed.
//!
//! Generates a config (100 Spaces × (1 Space + 40 Templates + 9 Workspaces) + 5,000 Users, half
//! HCL, half YAML; the server caps a user at 150 Spaces and 1,000 Workspaces), starts
//! `cordium serve`, seeds it with everything (plan + `apply::apply` at parallelism 32, through
//! the library), then changes 100 resources and measures, each in a fresh child process (this binary run again with `CORDIUM_PLAN_BENCH` set) so that peak memory
//! is that process's own:
//!
//! - the independent floor, which shares no code with cordium: parse every file with the bare
//!   parsers (serde-saphyr into JSON values, hcl-rs into a `hcl::Body`), then list every object
//!   over gRPC with a minimal client written here (the generated stubs, page size 1000; Users,
//!   Spaces and Workspaces together, then every Space's Templates and Secrets all in flight);
//! - cordium's own floor: load the config, connect, list everything (`live::state::read`), no
//!   diff (it shares cordium's loader and lister, so it cannot see their costs);
//! - the plan: `ops::plan::plan` and rendering the human text to a String.
//!
//! Prints wall time (median of a few runs, with the spread), RPCs (auth included), peak memory (VmHWM), the ratio
//! plan / floor, and the RPCs expected: one List page per kind, per Space for Templates and
//! Secrets (`live::state`), plus one authentication. Run: `cargo bench --bench plan`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordium::apply::{self, ApplyContext, Ignore, SecretValues};
use cordium::live::convert::Naming;
use cordium::live::state;
use cordium::live::wire::meta;
use cordium::model::{Address, SecretSource};
use cordium::ops::plan::{self as ops_plan, Planned};
use cordium::render::{self, PlanDoc, Style};
use support::{failure_text, peak_rss_kib, request, Serve, Spread};

// The server's caps (upstream's): 150 Spaces and 1,000 Workspaces per user.
const SPACES: usize = 100;
const TEMPLATES_PER_SPACE: usize = 40;
const WORKSPACES_PER_SPACE: usize = 9;
const USERS_PER_SPACE: usize = 50;
/// Resources per Space file: the Space, its Templates and Workspaces, and some Users.
const PER_FILE: usize = 1 + TEMPLATES_PER_SPACE + WORKSPACES_PER_SPACE + USERS_PER_SPACE;
const RESOURCES: usize = SPACES * PER_FILE;
/// Child processes per mode; the median wall time is reported, with the spread.
const RUNS: usize = 5;
/// What `GrpcOptions::new` asks for per page.
const PAGE_SIZE: usize = 1000;

const MODE_VAR: &str = "CORDIUM_PLAN_BENCH";
const DIR_VAR: &str = "CORDIUM_PLAN_BENCH_DIR";
const URL_VAR: &str = "CORDIUM_PLAN_BENCH_URL";

/// The 100 changed resources: in each block of 100, the one at offset `block % 100`, so every
/// position in a file (every kind) gets its share.
fn changed(index: usize) -> bool {
    index % 100 == (index / 100) % 100
}

/// Writes the config; with `edit`, the 1% of [`changed`] resources differ.
fn generate(root: &Path, edit: bool) -> usize {
    std::fs::write(root.join("cordium.hcl"), "stack \"bench\" {}\n").expect("write stack");
    let mut count = 0;
    let mut next = || {
        let i = count;
        count += 1;
        edit && changed(i)
    };
    for s in 0..SPACES {
        let hcl = s % 2 == 0;
        let space = format!("sp{s}");
        let mut text = String::new();
        let name = if next() { format!("Space {s} (renamed)") } else { format!("Space {s}") };
        if hcl {
            let _ = writeln!(
                text,
                "space \"{space}\" {{\n  display_name = \"{name}\"\n  labels = {{ team = \"t{}\" }}\n}}\n",
                s % 7
            );
        } else {
            let _ = writeln!(
                text,
                "kind: Space\nmetadata:\n  name: {space}\n  displayName: {name}\n  labels: {{team: t{}}}\n---",
                s % 7
            );
        }
        for t in 0..TEMPLATES_PER_SPACE {
            let image = if next() { format!("python:3.{t}-slim") } else { format!("python:3.{t}") };
            if hcl {
                let _ = writeln!(
                    text,
                    "template \"t{t}\" {{\n  space = space.{space}\n  image {{\n    registry {{\n      url = \"{image}\"\n    }}\n  }}\n  runtime {{\n    task \"install\" {{\n      type = \"ON_CREATE\"\n      run  = \"pip install -r requirements.txt\"\n    }}\n  }}\n  limit {{\n    cpu_millicores   = 2000\n    memory_megabytes = 4096\n  }}\n}}\n"
                );
            } else {
                let _ = writeln!(
                    text,
                    "kind: Template\nmetadata:\n  name: t{t}.{space}\nspec:\n  image:\n    registry:\n      url: {image}\n  runtime:\n    tasks:\n      - name: install\n        type: ON_CREATE\n        run: pip install -r requirements.txt\n  limit:\n    cpu: {{millicores: 2000}}\n    memory: {{megabytes: 4096}}\n---"
                );
            }
        }
        for t in 0..WORKSPACES_PER_SPACE {
            let limit = next();
            match (hcl, limit) {
                (true, false) => {
                    let _ = writeln!(text, "workspace \"w{t}\" {{\n  space    = space.{space}\n  template = template.{space}.t{t}\n}}\n");
                }
                (true, true) => {
                    let _ = writeln!(text, "workspace \"w{t}\" {{\n  space    = space.{space}\n  template = template.{space}.t{t}\n  limit {{\n    cpu_millicores = 4000\n  }}\n}}\n");
                }
                (false, false) => {
                    let _ = writeln!(
                        text,
                        "kind: Workspace\nmetadata:\n  name: w{t}.{space}\ntemplate: t{t}\n---"
                    );
                }
                (false, true) => {
                    let _ = writeln!(text, "kind: Workspace\nmetadata:\n  name: w{t}.{space}\ntemplate: t{t}\nspec:\n  limit:\n    cpu: {{millicores: 4000}}\n---");
                }
            }
        }
        for u in 0..USERS_PER_SPACE {
            let shown = if next() { format!("Agent {u} (renamed)") } else { format!("Agent {u}") };
            if hcl {
                let _ = writeln!(
                    text,
                    "user \"u{s}-{u}\" {{\n  display_name = \"{shown}\"\n  type         = \"WORKLOAD\"\n}}\n"
                );
            } else {
                let _ = writeln!(
                    text,
                    "kind: User\nmetadata:\n  name: u{s}-{u}\n  displayName: {shown}\nspec:\n  type: WORKLOAD\n---"
                );
            }
        }
        let ext = if hcl { "hcl" } else { "yaml" };
        std::fs::write(root.join(format!("{space}.{ext}")), text).expect("write");
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

/// One measurement, in this (fresh) process: `floor` or `plan`. Prints one line:
/// `wall_ns rpcs peak_kib detail`.
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
            (
                planned.cluster.calls(),
                format!("text_bytes={} changes={}", text.len(), counts.join(",")),
            )
        }
        other => panic!("unknown mode {other}"),
    };
    let wall = t.elapsed();
    println!("{} {} {} {}", wall.as_nanos(), rpcs, peak_rss_kib(), detail);
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
        .filter(|n| n.starts_with("sp"))
        .collect();
    let space_ref =
        |n: &String| Some(meta::ObjectReference { name: n.clone(), ..Default::default() });
    let templates = names.iter().map(|n| {
        let mut cl = api_cl.clone();
        count();
        let o = api::ListTemplateOptions {
            common: Some(meta::CommonListOptions {
                page: 0,
                items_per_page: PAGE_SIZE as u32,
                order_by: None,
            }),
            space_ref: space_ref(n),
        };
        async move { cl.list_template(o).await.expect("ListTemplate").into_inner().items.len() }
    });
    let secrets = names.iter().map(|n| {
        let mut cl = api_cl.clone();
        count();
        let o = api::ListSecretOptions {
            common: Some(meta::CommonListOptions {
                page: 0,
                items_per_page: PAGE_SIZE as u32,
                order_by: None,
            }),
            space_ref: space_ref(n),
        };
        async move { cl.list_secret(o).await.expect("ListSecret").into_inner().items.len() }
    });
    let (templates, secrets) = tokio::join!(
        futures_util::future::join_all(templates),
        futures_util::future::join_all(secrets)
    );
    let objects = users.len()
        + spaces.len()
        + workspaces.len()
        + templates.iter().sum::<usize>()
        + secrets.iter().sum::<usize>();
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
    detail: String,
}

/// Runs this binary again in `mode` and reads its line.
fn measure(mode: &str, dir: &Path, url: &str) -> Figures {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .env(MODE_VAR, mode)
        .env(DIR_VAR, dir)
        .env(URL_VAR, url)
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{mode} child failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let mut parts = line.splitn(4, ' ');
    let mut num = || parts.next().and_then(|p| p.parse::<u64>().ok()).expect("a figure");
    let wall = Duration::from_nanos(num());
    let rpcs = num();
    let peak_kib = num();
    Figures { wall, rpcs, peak_kib, detail: parts.next().unwrap_or_default().to_string() }
}

/// The run with the median wall time (peak memory: the largest of all runs), and the spread of
/// the wall times in ms.
fn median(runs: &[Figures]) -> (Figures, Spread) {
    let mut sorted: Vec<&Figures> = runs.iter().collect();
    sorted.sort_by_key(|f| f.wall);
    let mut m = sorted[sorted.len() / 2].clone();
    m.peak_kib = runs.iter().map(|f| f.peak_kib).max().unwrap_or(0);
    (m, Spread::of(runs.iter().map(|f| f.wall.as_secs_f64() * 1e3).collect()))
}

fn pages(items: usize) -> u64 {
    items.div_ceil(PAGE_SIZE).max(1) as u64
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
        // check; the measurement (10,000 resources, ~30 s in release) is for `cargo bench`.
        println!("plan bench: compiled; run `cargo bench --bench plan` for the figures");
        return;
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let generated = generate(dir.path(), false);
    assert_eq!(generated, RESOURCES);
    let serve = Serve::start(&[]);
    let (steps, seeding) = cordium::ops::block_on(seed(dir.path(), &serve.url));
    let edited = (0..RESOURCES).filter(|&i| changed(i)).count();
    generate(dir.path(), true);

    let mut bares = Vec::new();
    let mut floors = Vec::new();
    let mut plans = Vec::new();
    for _ in 0..RUNS {
        bares.push(measure("bare", dir.path(), &serve.url));
        floors.push(measure("floor", dir.path(), &serve.url));
        plans.push(measure("plan", dir.path(), &serve.url));
    }
    let (bare, bare_ms) = median(&bares);
    let ((floor, floor_ms), (plan, plan_ms)) = (median(&floors), median(&plans));

    // One page per kind (Users, Spaces, Workspaces all at once; Templates and Secrets per Space:
    // 41 Templates each with the default one, no Secrets), plus one authentication.
    let users = SPACES * USERS_PER_SPACE + 1; // and admin
    let workspaces = SPACES * WORKSPACES_PER_SPACE;
    let expected = 1 + pages(users) + pages(SPACES) + pages(workspaces) + 2 * SPACES as u64;

    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "plan bench: {RESOURCES} resources ({SPACES} Spaces x (1 + {TEMPLATES_PER_SPACE} Templates + {WORKSPACES_PER_SPACE} Workspaces) + {} Users, half HCL, half YAML), {edited} changed",
        SPACES * USERS_PER_SPACE
    );
    println!(
        "  seeded {steps} creates through apply::apply at parallelism 32 in {:.1} s; each figure: median wall of {RUNS} fresh processes [min–max], max peak memory",
        seeding.as_secs_f64()
    );
    println!("{:<44} {:>26} {:>8} {:>12}", "case", "wall ms [min–max]", "RPCs", "peak MiB");
    let row = |name: &str, f: &Figures, spread: &Spread| {
        println!("{name:<44} {:>26} {:>8} {:>12.1}", spread.show(1), f.rpcs, mib(f.peak_kib))
    };
    row("independent floor: bare parsers + raw gRPC", &bare, &bare_ms);
    row("floor: load + connect + list everything", &floor, &floor_ms);
    row("plan: make_plan + render human text", &plan, &plan_ms);
    println!("  independent floor: {}", bare.detail);
    println!("  floor: {}", floor.detail);
    println!("  plan:  {}", plan.detail);
    println!(
        "  ratio plan / floor (median walls)         {:>9.2}x   target <= 1.5x (the floor shares cordium's loader and lister)",
        plan_ms.median / floor_ms.median
    );
    println!(
        "  ratio plan / independent floor (medians)  {:>9.2}x   issue: <= 1.15x",
        plan_ms.median / bare_ms.median
    );
    println!(
        "  RPCs expected: 1 auth + {} User + {} Space + {} Workspace pages + {SPACES} Template + {SPACES} Secret lists (one per Space) = {expected}; plan made {}",
        pages(users),
        pages(SPACES),
        pages(workspaces),
        plan.rpcs
    );
    println!(
        "  peak memory of plan                       {:>9.1} MiB target < 300 MiB",
        mib(plan.peak_kib)
    );
    drop(serve);
}
