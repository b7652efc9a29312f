//! Apply speed (issue 5): 2,000 creates with Template builds against the real
//! `cordium serve --in-memory --latency 10ms --build-duration 2s` on loopback, at parallelism 1,
//! 10 and 32, a fresh server each run, through the library (`ops::plan::plan`, then
//! `apply::apply`, which is what `cordium apply` runs after confirming; only `apply::apply` is
//! timed).
//!
//! The config: 20 Spaces × (1 Space + 5 Templates with prebuild + 50 Workspaces, 10 per
//! Template) + 880 Users = 2,000 resources, 2,100 steps (100 builds). Parallelism 1 would take
//! about 4.5 minutes, so it runs on a proportional tenth (2 Spaces, 10 Templates, 100
//! Workspaces, 88 Users) and says so.
//!
//! Beside each wall time it prints the lower bound computed in the same run from the plan's
//! own graph: every create costs the single-call latency measured on that server just before
//! (the median of sequential creates), every build costs that plus the build duration plus one
//! poll interval (`PollPolicy::default()`); the critical path is the longest chain, the total
//! work the sum. Bound (issue): critical path + total / parallelism; also max(critical path,
//! total / parallelism). Target: wall within 1.2x of the bound at parallelism 32.
//! Run: `cargo bench --bench apply`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordium::apply::{self, ApplyContext, Ignore, PollPolicy, SecretValues};
use cordium::live::wire::{core, meta};
use cordium::live::Object;
use cordium::model::{Address, SecretSource};
use cordium::ops::plan::{self as ops_plan, Planned};
use cordium::plan::StepKind;
use support::{failure_text, request, Serve};

const LATENCY: &str = "10ms";
const BUILD: Duration = Duration::from_secs(2);
const TEMPLATES_PER_SPACE: usize = 5;
const WORKSPACES_PER_TEMPLATE: usize = 10;
/// Sequential creates timed to learn the single-call latency.
const CALIBRATION_CALLS: usize = 20;

/// The size of one run.
#[derive(Debug, Clone, Copy)]
struct Shape {
    spaces: usize,
    users: usize,
}

impl Shape {
    const FULL: Shape = Shape { spaces: 20, users: 880 };
    const TENTH: Shape = Shape { spaces: 2, users: 88 };

    fn resources(self) -> usize {
        self.spaces * (1 + TEMPLATES_PER_SPACE * (1 + WORKSPACES_PER_TEMPLATE)) + self.users
    }
}

fn generate(root: &Path, shape: Shape) {
    std::fs::write(root.join("cordium.yaml"), "stack:\n  name: bench\n").expect("write stack");
    for s in 0..shape.spaces {
        let space = format!("sp{s}");
        let mut text = String::new();
        let _ = writeln!(text, "kind: Space\nmetadata:\n  name: {space}\n---");
        for t in 0..TEMPLATES_PER_SPACE {
            let _ = writeln!(
                text,
                "kind: Template\nmetadata:\n  name: t{t}.{space}\nspec:\n  image:\n    registry:\n      url: python:3.{t}\n  runtime:\n    tasks:\n      - name: install\n        type: ON_CREATE\n        run: pip install -r requirements.txt\nprebuild: {{}}\n---"
            );
            for w in 0..WORKSPACES_PER_TEMPLATE {
                let _ = writeln!(
                    text,
                    "kind: Workspace\nmetadata:\n  name: w{t}-{w}.{space}\ntemplate: t{t}\n---"
                );
            }
        }
        std::fs::write(root.join(format!("{space}.yaml")), text).expect("write");
    }
    let mut text = String::new();
    for u in 0..shape.users {
        let _ = writeln!(
            text,
            "kind: User\nmetadata:\n  name: u{u}\nspec:\n  type: WORKLOAD\n  groups: [agents]\n---"
        );
    }
    std::fs::write(root.join("users.yaml"), text).expect("write");
}

/// The bench declares no Secrets.
struct NoSecrets;

impl SecretValues for NoSecrets {
    fn read(&self, address: &Address, _: &SecretSource) -> Result<String, String> {
        Err(format!("{address}: the bench declares no Secrets"))
    }
}

/// The median latency of sequential creates (Users outside the config) through the client
/// apply will use.
async fn calibrate(planned: &Planned) -> Duration {
    let mut times = Vec::with_capacity(CALIBRATION_CALLS);
    for i in 0..CALIBRATION_CALLS {
        let user = core::User {
            metadata: Some(meta::Metadata {
                name: format!("calibration-{i}"),
                ..Default::default()
            }),
            spec: Some(core::user::Spec {
                r#type: core::user::spec::Type::Workload as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        let t = Instant::now();
        planned.cluster.create(Object::User(user)).await.expect("calibration create");
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// The lower bound's parts, from the plan's graph.
#[derive(Debug, Clone, Copy)]
struct Bound {
    call: Duration,
    build: Duration,
    critical: Duration,
    total: Duration,
}

impl Bound {
    fn of(planned: &Planned, call: Duration) -> Bound {
        let build = BUILD + PollPolicy::default().interval(BUILD);
        let cost = |k: StepKind| match k {
            StepKind::Create | StepKind::Update | StepKind::Delete => call,
            StepKind::Build => call + build,
            StepKind::WaitBuild => build,
        };
        let steps = &planned.plan.steps;
        // Longest path ending at each step; steps may come in any order, so relax until stable.
        let mut finish: Vec<Duration> = steps.iter().map(|s| cost(s.kind)).collect();
        loop {
            let mut changed = false;
            for (i, s) in steps.iter().enumerate() {
                let start = s.depends_on.iter().map(|&d| finish[d]).max().unwrap_or_default();
                if start + cost(s.kind) > finish[i] {
                    finish[i] = start + cost(s.kind);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Bound {
            call,
            build: call + build,
            critical: finish.iter().copied().max().unwrap_or_default(),
            total: steps.iter().map(|s| cost(s.kind)).sum(),
        }
    }

    fn issue(&self, parallelism: usize) -> Duration {
        self.critical + self.total / parallelism as u32
    }

    fn max(&self, parallelism: usize) -> Duration {
        self.critical.max(self.total / parallelism as u32)
    }
}

struct Run {
    parallelism: usize,
    shape: Shape,
    steps: usize,
    plan: Duration,
    wall: Duration,
    rpcs: u64,
    bound: Bound,
}

async fn run(shape: Shape, parallelism: usize) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), shape);
    let build = format!("{}ms", BUILD.as_millis());
    let serve = Serve::start(&["--latency", LATENCY, "--build-duration", &build]);
    let t = Instant::now();
    let planned = match ops_plan::plan(&request(dir.path().to_path_buf(), &serve.url)).await {
        Ok(p) => p,
        Err(f) => panic!("plan failed: {}", failure_text(&f)),
    };
    let plan_time = t.elapsed();
    let call = calibrate(&planned).await;
    let bound = Bound::of(&planned, call);
    let steps = planned.plan.steps.len();
    let calls_before = planned.cluster.calls();
    let cluster = planned.cluster.clone();
    let mut ctx = ApplyContext::new(
        planned.cluster,
        Arc::new(planned.model),
        planned.naming,
        Arc::new(NoSecrets),
    );
    ctx.parallelism = parallelism;
    let t = Instant::now();
    let outcome = apply::apply(&planned.plan, ctx, &Ignore).await;
    let wall = t.elapsed();
    let failed: Vec<String> = outcome.failed().take(5).map(|s| format!("{:?}", s.status)).collect();
    assert!(outcome.success(), "apply failed: {failed:?}");
    assert_eq!(outcome.done().count(), steps);
    let rpcs = cluster.calls() - calls_before;
    drop(serve);
    Run { parallelism, shape, steps, plan: plan_time, wall, rpcs, bound }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs benches once without `--bench`: building it is the
        // check; the measurement (~70 s of applies in release) is for `cargo bench`.
        println!("apply bench: compiled; run `cargo bench --bench apply` for the figures");
        return;
    }
    let started = Instant::now();
    let runs = cordium::ops::block_on(async {
        vec![run(Shape::TENTH, 1).await, run(Shape::FULL, 10).await, run(Shape::FULL, 32).await]
    });
    let s = |d: Duration| d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "apply bench: cordium serve --in-memory --latency {LATENCY} --build-duration {}s; a fresh server per run; apply::apply through the library",
        s(BUILD)
    );
    println!(
        "  full run: {} resources ({} Spaces x (1 + {TEMPLATES_PER_SPACE} Templates with prebuild + {} Workspaces) + {} Users); parallelism 1 runs on a tenth ({} resources)",
        Shape::FULL.resources(),
        Shape::FULL.spaces,
        TEMPLATES_PER_SPACE * WORKSPACES_PER_TEMPLATE,
        Shape::FULL.users,
        Shape::TENTH.resources()
    );
    println!(
        "  bound: create = measured single-call latency (median of {CALIBRATION_CALLS}); build = that + {}s + one poll interval ({} ms)",
        s(BUILD),
        ms(PollPolicy::default().interval(BUILD))
    );
    println!(
        "{:>3} {:>9} {:>6} {:>7} {:>8} {:>9} {:>8} {:>9} {:>11} {:>10} {:>9} {:>10} {:>8}",
        "p",
        "resources",
        "steps",
        "call ms",
        "path s",
        "work s",
        "plan s",
        "wall s",
        "path+work/p",
        "wall/bound",
        "max()",
        "wall/max",
        "RPCs"
    );
    for r in &runs {
        let issue = r.bound.issue(r.parallelism);
        let max = r.bound.max(r.parallelism);
        println!(
            "{:>3} {:>9} {:>6} {:>7.1} {:>8.2} {:>9.2} {:>8.2} {:>9.2} {:>11.2} {:>9.2}x {:>9.2} {:>9.2}x {:>8}",
            r.parallelism,
            r.shape.resources(),
            r.steps,
            ms(r.bound.call),
            s(r.bound.critical),
            s(r.bound.total),
            s(r.plan),
            s(r.wall),
            s(issue),
            s(r.wall) / s(issue),
            s(max),
            s(r.wall) / s(max),
            r.rpcs
        );
    }
    let p32 = &runs[2];
    println!(
        "  target: wall / (critical path + work / parallelism) <= 1.2x at parallelism 32: {:.2}x; each build step costs {:.0} ms in the bound; bench took {:.0} s",
        s(p32.wall) / s(p32.bound.issue(32)),
        ms(p32.bound.build),
        s(started.elapsed())
    );
}
