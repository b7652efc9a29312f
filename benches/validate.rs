//! Load + validate (issue 13): time and peak memory of `cordium validate`'s work against the bare
//! parsers, at 1,000, 10,000 and 50,000 resources.
//!
//! Two configs of the held-out shape (`support::heldout`: per 500 resources 1 Space, 200
//! Templates, 1 Workspace and 298 Users, about 320 bytes each, one file per Space):
//!
//! - `yaml`: the generator's official-shape YAML, as it is;
//! - `mixed`: the same resources with every other Space file written in HCL instead (the HCL
//!   path: hcl-edit spans, evaluation, lowering).
//!
//! Each figure is the median of several fresh child processes (this binary run again with
//! `CORDIUM_VALIDATE_BENCH` set), [min–max] beside it, so peak memory (VmHWM) is that process's
//! own:
//!
//! - `validate`: `ops::validate::validate` (load, decode, check) + rendering its diagnostics, as
//!   `cordium validate` does;
//! - `bare`: read every file and parse it with the bare parsers, serde-saphyr into JSON values
//!   and hcl-rs into an `hcl::Body` (no spans, no evaluation, no checks).
//!
//! Wall time is printed beside CPU time (user + sys of the child, all its threads), so work done
//! on a second core is not hidden. Then the growth of three shapes that were once quadratic
//! (issue 10): a chain of locals, a YAML label map and an HCL label map, at n and 10n in one
//! process; linear work grows about 10x.
//!
//! Run: `cargo bench --bench validate`. Under `cargo test --all-targets` it runs once at 1,000
//! resources, one process each. Prints figures; asserts nothing but that the configs are valid.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cordium::config::{load, LoadOptions};
use support::heldout::{self, PER_SPACE, TEMPLATES_PER_SPACE, WORKSPACES_PER_SPACE};
use support::{peak_rss_kib, Spread};

const MODE_VAR: &str = "CORDIUM_VALIDATE_BENCH";
const DIR_VAR: &str = "CORDIUM_VALIDATE_BENCH_DIR";

/// Full sizes and runs under `cargo bench`; a smoke run under `cargo test --all-targets`, which
/// runs benches without the `--bench` flag.
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// One Space's file in HCL: the resources of [`heldout::space_file`], written as blocks.
fn hcl_space_file(s: usize) -> String {
    let sp = heldout::space_name(s);
    let mut t = String::with_capacity(PER_SPACE * 360);
    let _ = write!(
        t,
        "space \"{sp}\" {{\n  display_name = \"Space number {s}\"\n  description  = \"A space for team {} and its agents\"\n  labels = {{\n    team        = \"team-{}\"\n    cost-center = \"cc-{}\"\n  }}\n}}\n",
        s % 17,
        s % 17,
        s % 5
    );
    for i in 0..TEMPLATES_PER_SPACE {
        let _ = write!(
            t,
            "\ntemplate \"tpl-{i}\" {{\n  space        = space.{sp}\n  display_name = \"Template {i}\"\n  description  = \"Python {m} development image with common tools installed\"\n  labels = {{\n    lang = \"python\"\n    tier = \"t{tier}\"\n  }}\n  image {{\n    registry {{\n      url = \"ghcr.io/example/python:3.{m}-bookworm\"\n    }}\n  }}\n  runtime {{\n    env_var {{\n      key   = \"PIP_INDEX_URL\"\n      value = \"https://pypi.example.com/simple\"\n    }}\n    env_var {{\n      key   = \"APP_MODE\"\n      value = \"dev\"\n    }}\n    task \"install\" {{\n      type = \"ON_CREATE\"\n      run  = \"pip install -r requirements.txt\"\n    }}\n  }}\n  limit {{\n    cpu_millicores   = {cpu}\n    memory_megabytes = {mem}\n  }}\n}}\n",
            m = i % 13,
            tier = i % 3,
            cpu = 1000 + (i % 4) * 500,
            mem = 2048 * (1 + i % 3),
        );
    }
    for w in 0..WORKSPACES_PER_SPACE {
        let _ = write!(
            t,
            "\nworkspace \"ws-{w}\" {{\n  space    = space.{sp}\n  template = template.{sp}.tpl-{w}\n}}\n"
        );
    }
    for u in 0..PER_SPACE - TEMPLATES_PER_SPACE - WORKSPACES_PER_SPACE - 1 {
        if u % 2 == 1 {
            let _ = write!(
                t,
                "\nuser \"user-{s}-{u}\" {{\n  display_name = \"User {s}-{u}\"\n  type         = \"HUMAN\"\n  email        = \"user-{s}-{u}@example.com\"\n  info {{\n    first_name = \"First{u}\"\n    last_name  = \"Last{s}\"\n  }}\n}}\n"
            );
        } else {
            let _ = write!(
                t,
                "\nuser \"agent-{s}-{u}\" {{\n  display_name = \"Agent {s}-{u}\"\n  labels = {{\n    role = \"agent\"\n  }}\n  type = \"WORKLOAD\"\n}}\n"
            );
        }
    }
    t
}

/// Writes the config `what` (`yaml` or `mixed`) of `n` resources; returns its size in bytes.
fn generate(root: &Path, what: &str, n: usize) -> u64 {
    let mut bytes = heldout::generate(root, "bench", n, false);
    if what == "mixed" {
        for s in (1..n.div_ceil(PER_SPACE)).step_by(2) {
            let yaml = root.join(format!("{}.yaml", heldout::space_name(s)));
            bytes -= std::fs::metadata(&yaml).expect("generated").len();
            std::fs::remove_file(&yaml).expect("remove");
            let text = hcl_space_file(s);
            bytes += text.len() as u64;
            std::fs::write(root.join(format!("{}.hcl", heldout::space_name(s))), text)
                .expect("write");
        }
    }
    bytes
}

/// Reads every config file and parses it with the bare parsers; the number of documents.
fn bare(root: &Path) -> usize {
    let mut docs = 0;
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(root).expect("dir").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths {
        if path.file_name().is_some_and(|n| n == "cordium.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        if path.extension().is_some_and(|e| e == "yaml") {
            let values: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).expect("yaml");
            docs += values.len();
        } else if path.extension().is_some_and(|e| e == "hcl") {
            let body = hcl::parse(&text).expect("hcl");
            docs += body.blocks().count();
        }
    }
    docs
}

/// This process's CPU time (user + sys, every thread), in seconds, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// One measurement in this fresh process. Prints `wall_ns cpu_ms peak_kib count`.
fn child(mode: &str, dir: &Path) {
    let t = Instant::now();
    let count = match mode {
        "validate" => {
            let v = cordium::ops::validate::validate(dir, &LoadOptions::default());
            assert!(!v.has_errors(), "the generated config is valid: {:?}", v.diags);
            let text = cordium::render::diagnostics::human(
                &v.diags,
                &v.loaded.sources,
                cordium::render::Style::default(),
            );
            std::hint::black_box(text);
            v.model.len()
        }
        "bare" => bare(dir),
        other => panic!("unknown mode {other}"),
    };
    let wall = t.elapsed().as_nanos();
    println!("{wall} {:.0} {} {count}", cpu_seconds() * 1e3, peak_rss_kib());
}

/// One sample of `mode` in a fresh process: (wall ms, CPU ms, peak MiB, count).
fn measure(mode: &str, dir: &Path) -> (f64, f64, f64, usize) {
    let line = support::child_line(&[(MODE_VAR, mode.as_ref()), (DIR_VAR, dir.as_os_str())]);
    let parts: Vec<f64> = line.split(' ').filter_map(|p| p.parse().ok()).collect();
    assert_eq!(parts.len(), 4, "child printed {line:?}");
    (parts[0] / 1e6, parts[1], parts[2] / 1024.0, parts[3] as usize)
}

/// Medians of `runs` samples of one mode.
struct Sampled {
    wall: Spread,
    cpu: Spread,
    peak: Spread,
    count: usize,
}

fn sample(mode: &str, dir: &Path, runs: usize) -> Sampled {
    let (mut wall, mut cpu, mut peak, mut count) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let (w, c, p, n) = measure(mode, dir);
        wall.push(w);
        cpu.push(c);
        peak.push(p);
        count = n;
    }
    Sampled { wall: Spread::of(wall), cpu: Spread::of(cpu), peak: Spread::of(peak), count }
}

/// One file of `n` of a shape: `chain` (locals, each using the one before), `yaml-labels`,
/// `hcl-labels`.
fn shape(root: &Path, what: &str, n: usize) {
    let mut text = String::new();
    let file = match what {
        "chain" => {
            text.push_str("locals {\n  l0 = \"a\"\n");
            for i in 1..n {
                let _ = writeln!(text, "  l{i} = local.l{}", i - 1);
            }
            let _ = writeln!(text, "}}\nspace \"ml\" {{\n  description = local.l{}\n}}", n - 1);
            "main.hcl"
        }
        "yaml-labels" => {
            text.push_str("kind: Space\nmetadata:\n  name: ml\n  labels:\n");
            for i in 0..n {
                let _ = writeln!(text, "    k{i}: v");
            }
            "main.yaml"
        }
        _ => {
            text.push_str("space \"ml\" {\n  labels = {\n");
            for i in 0..n {
                let _ = writeln!(text, "    k{i} = \"v\"");
            }
            text.push_str("  }\n}\n");
            "main.hcl"
        }
    };
    std::fs::write(root.join(file), text).expect("write");
}

/// Load + validate time of one shape at `n`, in this process (label maps past the per-object
/// limit are an error, which is still all the work): the median of 5 (1 in a smoke run), ms.
fn time_shape(what: &str, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    shape(dir.path(), what, n);
    let runs = if full() { 5 } else { 1 };
    let times = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let loaded = load(dir.path(), &LoadOptions::default());
            let (model, _) = cordium::model::build(&loaded);
            std::hint::black_box(model.len());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    Spread::of(times).median
}

fn growth() {
    let n = if full() { 10_000 } else { 100 };
    println!("growth of once-quadratic shapes: load + validate at n = {n} and 10n, in process (linear is about 10x)");
    for what in ["chain", "yaml-labels", "hcl-labels"] {
        let small = time_shape(what, n);
        let large = time_shape(what, n * 10);
        println!("  {what:<12} {small:>9.1} ms {large:>9.1} ms   {:>6.1}x", large / small);
    }
}

fn main() {
    if let Ok(mode) = std::env::var(MODE_VAR) {
        let dir = PathBuf::from(std::env::var(DIR_VAR).expect("dir"));
        child(&mode, &dir);
        return;
    }
    let sizes: Vec<(usize, usize)> =
        if full() { vec![(1_000, 7), (10_000, 5), (50_000, 3)] } else { vec![(1_000, 1)] };
    let started = Instant::now();
    println!("validate bench: held-out-shape configs; each figure the median of fresh processes [min–max]; CPU = user + sys; peak = VmHWM");
    println!(
        "{:<6} {:>6} {:>8} {:>26} {:>26} {:>8} {:>8} {:>21} {:>8} {:>9}",
        "config",
        "n",
        "MiB",
        "validate wall ms",
        "bare parse wall ms",
        "wall x",
        "CPU x",
        "validate peak MiB",
        "/ config",
        "bare peak"
    );
    let mut rows = Vec::new();
    for what in ["yaml", "mixed"] {
        for &(n, runs) in &sizes {
            let dir = tempfile::tempdir().expect("tempdir");
            let bytes = generate(dir.path(), what, n);
            let ours = sample("validate", dir.path(), runs);
            let base = sample("bare", dir.path(), runs);
            assert_eq!(ours.count, n, "every resource is in the model");
            assert_eq!(base.count, n, "the bare parsers read every resource");
            let mib = bytes as f64 / (1024.0 * 1024.0);
            println!(
                "{what:<6} {n:>6} {mib:>8.1} {:>26} {:>26} {:>7.2}x {:>7.2}x {:>21} {:>7.1}x {:>9.0}",
                ours.wall.show(1),
                base.wall.show(1),
                ours.wall.median / base.wall.median,
                ours.cpu.median / base.cpu.median.max(1.0),
                ours.peak.show(0),
                ours.peak.median / mib,
                base.peak.median,
            );
            rows.push((what, n, ours));
        }
    }
    for what in ["yaml", "mixed"] {
        let at = |n: usize| rows.iter().find(|r| r.0 == what && r.1 == n).map(|r| &r.2);
        if let (Some(a), Some(b)) = (at(10_000), at(50_000)) {
            println!(
                "  {what}: 10k -> 50k (5x): wall {:.2}x, CPU {:.2}x, peak memory {:.2}x (issue: within 5.5x)",
                b.wall.median / a.wall.median,
                b.cpu.median / a.cpu.median.max(1.0),
                b.peak.median / a.peak.median
            );
        }
    }
    growth();
    println!("  bench took {:.0} s", started.elapsed().as_secs_f64());
}
