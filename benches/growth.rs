//! Growth (issue 13): is any step quadratic? Validate, plan and embedded apply at 10,000 and
//! 50,000 resources (5x), in time and in peak memory, with and without one warning per
//! Template. Linear work grows about 5x; the bound is 5.5x.
//!
//! The config is the held-out-style generator's (`support::heldout`): official-shape YAML, one
//! file per Space, about 320 bytes per resource; per 500 resources 1 Space, 200 Templates,
//! 1 Workspace and 298 Users, inside the servers' caps. "Warnings" adds `status: {}` to every
//! Template (`status-ignored`, one warning each), and every case renders its diagnostics as the
//! CLI would.
//!
//! Each figure is the median of [`RUNS`] fresh child processes (this binary run again with
//! `CORDIUM_GROWTH_BENCH` set), so peak memory (VmHWM) is that process's own; the spread
//! (min–max) is printed beside it:
//!
//! - validate: `ops::validate::validate` + rendering its diagnostics;
//! - apply: plan + `apply::apply` into a fresh embedded store (parallelism 10), every step a
//!   create;
//! - plan: `ops::plan::plan` against the store the last apply filled (every change a no-op) +
//!   rendering the human text and the warnings.
//!
//! Run: `cargo bench --bench growth` (or `cargo bench`). Under `cargo test --all-targets` it
//! runs the same code at 500 and 2,500 resources, one process each.

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
use cordium::live::target::TargetFlags;
use cordium::model::{Address, SecretSource};
use cordium::ops::Request;
use cordium::render::{self, PlanDoc, Style};
use support::heldout::{self, PER_SPACE};
use support::{failure_text, peak_rss_kib, Spread};

const MODE_VAR: &str = "CORDIUM_GROWTH_BENCH";
const DIR_VAR: &str = "CORDIUM_GROWTH_BENCH_DIR";
const STORE_VAR: &str = "CORDIUM_GROWTH_BENCH_STORE";

const RUNS: usize = 3;

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Writes `n` resources (a multiple of [`PER_SPACE`]); returns the config's size in bytes.
fn generate(root: &Path, n: usize, warnings: bool) -> u64 {
    heldout::generate(root, "growth", n, warnings)
}

fn request(dir: PathBuf, store: PathBuf) -> Request {
    Request {
        target: TargetFlags { local: Some(store), ..Default::default() },
        env: cordium::ops::EnvSettings { holder: "bench@localhost".into(), ..Default::default() },
        ..Request::new(dir)
    }
}

struct NoSecrets;

impl SecretValues for NoSecrets {
    fn read(&self, address: &Address, _: &SecretSource) -> Result<String, String> {
        Err(format!("{address}: the bench declares no Secrets"))
    }
}

/// One measurement in this fresh process. Prints `wall_ns peak_kib detail`.
async fn child(mode: &str, dir: PathBuf, store: PathBuf) {
    let t = Instant::now();
    let detail = match mode {
        "validate" => {
            let v = cordium::ops::validate::validate(&dir, &Default::default());
            assert!(!v.has_errors(), "the generated config is valid");
            let text = render::diagnostics::human(&v.diags, &v.loaded.sources, Style::default());
            format!("resources={} warnings={} text={}", v.model.len(), v.diags.len(), text.len())
        }
        "apply" | "plan" => {
            let planned = match cordium::ops::plan::plan(&request(dir, store)).await {
                Ok(p) => p,
                Err(f) => panic!("plan failed: {}", failure_text(&f)),
            };
            let warnings = render::diagnostics::human(
                &planned.warnings,
                &planned.loaded.sources,
                Style::default(),
            );
            let text = render::human::plan(&PlanDoc::from_plan(&planned.plan), Style::default());
            let steps = planned.plan.steps.len();
            if mode == "plan" {
                assert_eq!(steps, 0, "the store holds the config");
                format!("text={} warnings={}", text.len(), warnings.len())
            } else {
                let mut ctx = ApplyContext::new(
                    planned.cluster,
                    Arc::new(planned.model),
                    planned.naming,
                    Arc::new(NoSecrets),
                );
                ctx.parallelism = 10;
                // What `cordium apply` does before its steps (`ops::apply`).
                cordium::ops::keep_freed_memory();
                let outcome = apply::apply(&planned.plan, ctx, &Ignore).await;
                let failed: Vec<String> =
                    outcome.failed().take(3).map(|s| format!("{:?}", s.status)).collect();
                assert!(outcome.success(), "apply failed: {failed:?}");
                format!("steps={steps}")
            }
        }
        other => panic!("unknown mode {other}"),
    };
    println!("{} {} {detail}", t.elapsed().as_nanos(), peak_rss_kib());
}

/// Runs this binary again in `mode`; (wall, peak KiB).
fn measure(mode: &str, dir: &Path, store: &Path) -> (Duration, u64) {
    let line = support::child_line(&[
        (MODE_VAR, mode.as_ref()),
        (DIR_VAR, dir.as_os_str()),
        (STORE_VAR, store.as_os_str()),
    ]);
    let mut parts = line.split(' ');
    let mut num = || parts.next().and_then(|p| p.parse::<u64>().ok()).expect("a figure");
    (Duration::from_nanos(num()), num())
}

/// Medians (and spreads) of one size: validate, apply, plan.
struct Size {
    bytes: u64,
    cases: Vec<(&'static str, Spread, Spread)>,
}

fn size(n: usize, warnings: bool, runs: usize) -> Size {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = generate(dir.path(), n, warnings);
    assert!(n >= PER_SPACE && n.is_multiple_of(PER_SPACE), "{n} is a whole number of Spaces");
    let mut cases = Vec::new();
    let mut last_store = None;
    let sample = |mode: &'static str, fresh: bool, last: &mut Option<tempfile::TempDir>| {
        let (mut walls, mut peaks) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            if fresh {
                *last = Some(tempfile::tempdir().expect("store dir"));
            }
            let store = last.as_ref().map(|d| d.path().join("local.db")).unwrap_or_default();
            let (wall, peak) = measure(mode, dir.path(), &store);
            walls.push(wall.as_secs_f64());
            peaks.push(peak as f64 / 1024.0);
        }
        (mode, Spread::of(walls), Spread::of(peaks))
    };
    cases.push(sample("validate", false, &mut last_store));
    cases.push(sample("apply", true, &mut last_store));
    cases.push(sample("plan", false, &mut last_store));
    Size { bytes, cases }
}

fn main() {
    if let Ok(mode) = std::env::var(MODE_VAR) {
        let dir = PathBuf::from(std::env::var(DIR_VAR).expect("dir"));
        let store = PathBuf::from(std::env::var(STORE_VAR).expect("store"));
        cordium::ops::block_on(child(&mode, dir, store));
        return;
    }
    let (small, large, runs) = if full() { (10_000, 50_000, RUNS) } else { (500, 2_500, 1) };
    let started = Instant::now();
    println!(
        "growth bench: official-shape YAML at {small} and {large} resources ({}x); each figure the median of {runs} fresh processes [min–max]; peak = VmHWM",
        large / small
    );
    println!(
        "{:<9} {:<8} {:>22} {:>22} {:>7} {:>20} {:>20} {:>7}",
        "warnings",
        "case",
        "wall s (small)",
        "wall s (large)",
        "growth",
        "peak MiB (small)",
        "peak MiB (large)",
        "growth"
    );
    let mut worst: f64 = 0.0;
    for warnings in [false, true] {
        let a = size(small, warnings, runs);
        let b = size(large, warnings, runs);
        for ((mode, wa, ma), (_, wb, mb)) in a.cases.iter().zip(&b.cases) {
            let (tg, mg) = (wb.median / wa.median, mb.median / ma.median);
            worst = worst.max(tg).max(mg);
            println!(
                "{:<9} {:<8} {:>22} {:>22} {:>6.2}x {:>20} {:>20} {:>6.2}x",
                if warnings { "one/Tmpl" } else { "none" },
                mode,
                wa.show(3),
                wb.show(3),
                tg,
                ma.show(0),
                mb.show(0),
                mg
            );
        }
        let peak = |s: &Size, m: &str| {
            s.cases.iter().find(|c| c.0 == m).map(|c| c.2.median).unwrap_or_default()
        };
        let mib = b.bytes as f64 / (1024.0 * 1024.0);
        println!(
            "  {large}: config {mib:.1} MiB on disk; peak / config: validate {:.1}x, plan {:.1}x (issue: at most 6x and 10x)",
            peak(&b, "validate") / mib,
            peak(&b, "plan") / mib
        );
    }
    println!(
        "  worst growth {worst:.2}x for {}x the resources (issue: within 5.5x); bench took {:.0} s",
        large / small,
        started.elapsed().as_secs_f64()
    );
}
