//! Load + validate speed (issue: foundation). Generates a 10,000-resource repository (half HCL,
//! half YAML: Spaces, Templates, Users, Workspaces, Secrets), then times `config::load` +
//! `model::build`, and, as the baseline in the same run, reading the same files and parsing them
//! with the bare parsers: serde-saphyr into JSON values for the YAML half, hcl-rs into a
//! `hcl::Body` for the HCL half (no spans, no evaluation, no checks). Medians of 5 runs, the
//! spread (min–max) printed beside them.
//!
//! Then the growth of three shapes that were once quadratic (issue 10): a chain of locals, a
//! YAML label map and an HCL label map, each at n and 10n (10,000 and 100,000 under
//! `cargo bench`); linear work grows about 10x.
//!
//! Run: `cargo bench --bench validate`. Prints figures; asserts nothing.

// A bench prints its figures.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use cordium::config::{load, LoadOptions};
use support::Spread;

/// 10,000 resources, median of 5, under `cargo bench`; a small smoke run under
/// `cargo test --all-targets`, which runs benches without the `--bench` flag.
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn generate(root: &Path) -> usize {
    // Per Space: 1 space + 5 templates + 5 workspaces + 2 secrets + 7 users = 20 resources.
    let spaces = if full() { 10_000 / 20 } else { 10 };
    let mut count = 0;
    for s in 0..spaces {
        let hcl = s % 2 == 0;
        let mut text = String::new();
        let space = format!("sp{s}");
        if hcl {
            let _ = writeln!(text, "space \"{space}\" {{\n  display_name = \"Space {s}\"\n  labels = {{ team = \"t{}\" }}\n}}\n", s % 7);
            for t in 0..5 {
                let _ = writeln!(
                    text,
                    "template \"t{t}\" {{\n  space = space.{space}\n  image {{\n    registry {{\n      url = \"python:3.{t}\"\n    }}\n  }}\n  runtime {{\n    env_var {{\n      key         = \"TOKEN\"\n      from_secret = secret.{space}.s0\n    }}\n    task \"install\" {{\n      type = \"ON_CREATE\"\n      run  = \"pip install -r requirements.txt\"\n    }}\n  }}\n  limit {{\n    cpu_millicores   = 2000\n    memory_megabytes = 4096\n  }}\n  prebuild {{}}\n}}\n"
                );
                let _ = writeln!(text, "workspace \"w{t}\" {{\n  space    = space.{space}\n  template = template.{space}.t{t}\n}}\n");
            }
            for k in 0..2 {
                let _ = writeln!(
                    text,
                    "secret \"s{k}\" {{\n  space    = space.{space}\n  from_env = \"S{k}\"\n}}\n"
                );
            }
            for u in 0..7 {
                let _ = writeln!(
                    text,
                    "user \"u{s}-{u}\" {{\n  type   = \"WORKLOAD\"\n  groups = [\"agents\"]\n}}\n"
                );
            }
            std::fs::write(root.join(format!("{space}.hcl")), text).expect("write");
        } else {
            let _ = writeln!(text, "kind: Space\nmetadata:\n  name: {space}\n  displayName: Space {s}\n  labels: {{team: t{}}}\n---", s % 7);
            for t in 0..5 {
                let _ = writeln!(
                    text,
                    "kind: Template\nmetadata:\n  name: t{t}.{space}\nspec:\n  image:\n    registry:\n      url: python:3.{t}\n  runtime:\n    envVars:\n      - key: TOKEN\n        fromSecret: s0\n    tasks:\n      - name: install\n        type: ON_CREATE\n        run: pip install -r requirements.txt\n  limit:\n    cpu: {{millicores: 2000}}\n    memory: {{megabytes: 4096}}\nprebuild: {{}}\n---\nkind: Workspace\nmetadata:\n  name: w{t}.{space}\ntemplate: t{t}\n---"
                );
            }
            for k in 0..2 {
                let _ = writeln!(
                    text,
                    "kind: Secret\nmetadata:\n  name: s{k}.{space}\nfromEnv: S{k}\n---"
                );
            }
            for u in 0..7 {
                let _ = writeln!(text, "kind: User\nmetadata:\n  name: u{s}-{u}\nspec:\n  type: WORKLOAD\n  groups: [agents]\n---");
            }
            std::fs::write(root.join(format!("{space}.yaml")), text).expect("write");
        }
        count += 20;
    }
    count
}

fn baseline(root: &Path) -> usize {
    let mut docs = 0;
    for entry in std::fs::read_dir(root).expect("dir") {
        let path = entry.expect("entry").path();
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

/// The median time of `f` (5 runs under `cargo bench`, 1 otherwise), its spread, and its result.
fn median(mut f: impl FnMut() -> usize) -> (Spread, usize) {
    let mut n = 0;
    let runs = if full() { 5 } else { 1 };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        n = f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (Spread::of(times), n)
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

/// Load + validate time of one shape at `n` (label maps past the per-object limit are an
/// error, which is still all the work).
fn time_shape(what: &str, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    shape(dir.path(), what, n);
    median(|| {
        let loaded = load(dir.path(), &LoadOptions::default());
        let (model, _) = cordium::model::build(&loaded);
        model.len()
    })
    .0
    .median
}

fn growth() {
    let n = if full() { 10_000 } else { 100 };
    println!("growth: load + validate at n = {n} and 10n (linear is about 10x)");
    for what in ["chain", "yaml-labels", "hcl-labels"] {
        let small = time_shape(what, n);
        let large = time_shape(what, n * 10);
        println!("  {what:<12} {small:>9.1} ms {large:>9.1} ms   {:>6.1}x", large / small);
    }
}

fn main() {
    growth();
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = generate(dir.path());
    let (ours, resources) = median(|| {
        let loaded = load(dir.path(), &LoadOptions::default());
        let (model, diags) = cordium::model::build(&loaded);
        assert!(
            !loaded.diagnostics.has_errors() && !diags.has_errors(),
            "generated config is valid"
        );
        model.len()
    });
    let (base, docs) = median(|| baseline(dir.path()));
    assert_eq!(resources, generated);
    assert_eq!(docs, generated, "the baseline parsed every resource");
    let rate = resources as f64 / (ours.median / 1e3);
    println!(
        "validate bench: {resources} resources (half HCL, half YAML), median of {} [min–max]",
        ours.runs
    );
    println!(
        "  load + validate (cordium)           {:>24} ms   {:>9.0} resources/s",
        ours.show(1),
        rate
    );
    println!(
        "  baseline: read + bare YAML/HCL parse {:>23} ms   (serde-saphyr + hcl-rs: no spans, no evaluation, no checks)",
        base.show(1)
    );
    println!("  ratio cordium / baseline (medians)  {:>23.2}x", ours.median / base.median);
}
