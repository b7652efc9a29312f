//! The hostile corpus: every `fixtures/hostile/<case>/` is a few lines that once exhausted
//! memory or hung (nested `for`s, locals that repeat the one before, `/dev/zero`, FIFOs…), run
//! through the real binary. Each must exit 1 with no panic, print what `case.txt` expects (a
//! `file:line:col` location where there is one, and the key words of the message), and stay
//! within a time and memory bound this harness measures: a wall-clock watchdog kills the child,
//! its peak RSS is read from `/proc/<pid>/status` while it runs, and an address-space cap
//! (`ulimit -v`) turns a runaway allocation into a failure instead of a swapping machine.
//!
//! `case.txt`: `# what it checks`, `run: <args>` (run in a scratch copy of the case, whose
//! config is `in/`), `setup: fifo|dir <path>`, `setup: link <path> <target>`,
//! `setup: sparse <path> <bytes>` (special files git cannot hold), `expect: <text>`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall-clock bound for one case (a debug build on a shared machine; each takes well under 1 s
/// alone).
const TIME_LIMIT: Duration = Duration::from_secs(30);
/// Peak resident memory allowed for one case.
const RSS_LIMIT_KB: u64 = 1 << 20;
/// Address space given to the child: past it, allocation fails and the child aborts.
const ADDRESS_SPACE_KB: u64 = 6 << 20;

struct Case {
    name: String,
    dir: PathBuf,
    run: Vec<String>,
    setup: Vec<Vec<String>>,
    expect: Vec<String>,
}

fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/hostile is readable")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("case.txt")).expect("case.txt");
            let mut case = Case {
                name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                dir: dir.clone(),
                run: Vec::new(),
                setup: Vec::new(),
                expect: Vec::new(),
            };
            for line in text.lines() {
                let words = |s: &str| s.split_whitespace().map(str::to_string).collect();
                if let Some(r) = line.strip_prefix("run: ") {
                    case.run = words(r);
                } else if let Some(s) = line.strip_prefix("setup: ") {
                    case.setup.push(words(s));
                } else if let Some(e) = line.strip_prefix("expect: ") {
                    case.expect.push(e.to_string());
                }
            }
            case
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for e in entries {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// Makes what git cannot hold: FIFOs, symlinks, directories, sparse files.
fn setup(work: &Path, step: &[String]) {
    let at = |p: &str| work.join(p);
    match step {
        [what, path] if what == "fifo" => {
            let ok = Command::new("mkfifo").arg(at(path)).status().expect("mkfifo runs");
            assert!(ok.success(), "mkfifo {path}");
        }
        [what, path] if what == "dir" => std::fs::create_dir_all(at(path)).expect("mkdir"),
        [what, path, target] if what == "link" => {
            std::os::unix::fs::symlink(target, at(path)).expect("symlink");
        }
        [what, path, size] if what == "sparse" => {
            let f = std::fs::File::create(at(path)).expect("create");
            f.set_len(size.parse().expect("a size in bytes")).expect("set_len");
        }
        other => panic!("unknown setup step {other:?}"),
    }
}

/// Peak resident set so far, in KiB (`VmHWM`), while the process lives.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Outcome {
    code: Option<i32>,
    output: String,
    elapsed: Duration,
    peak_kb: u64,
    timed_out: bool,
}

#[allow(clippy::disallowed_methods)] // tests pin the environment the binary sees
fn run(case: &Case, work: &Path) -> Outcome {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_cordium"))
        .args(&case.run)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("CORDIUM_") || k.starts_with("OCTELIUM_") {
            cmd.env_remove(k);
        }
    }
    // The stack of a config without a stack file (docs/stack.md).
    cmd.env("CORDIUM_STACK", "hostile");
    let start = Instant::now();
    let mut child = cmd.spawn().expect("cordium starts");
    let pid = child.id();
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let mut bytes = Vec::new();
                let _ = r.read_to_end(&mut bytes);
                s = String::from_utf8_lossy(&bytes).into_owned();
            }
            s
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let mut peak_kb = 0;
    let mut timed_out = false;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let output = format!("{}{}", out.join().unwrap_or_default(), err.join().unwrap_or_default());
    Outcome { code: status.code(), output, elapsed, peak_kb, timed_out }
}

#[test]
fn hostile_inputs_fail_cleanly_within_bounds() {
    let cases = cases();
    assert!(cases.len() >= 40, "expected at least 40 hostile cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let work = tempfile::tempdir().expect("tempdir");
        copy_dir(&case.dir.join("in"), &work.path().join("in"));
        for step in &case.setup {
            setup(work.path(), step);
        }
        let o = run(case, work.path());
        let mut problems = Vec::new();
        if o.timed_out {
            problems.push(format!("still running after {TIME_LIMIT:?}"));
        }
        if o.code != Some(1) {
            problems.push(format!("exit code {:?}, not 1", o.code));
        }
        if o.output.contains("panicked") || o.output.contains("memory allocation") {
            problems.push("panicked or ran out of memory".to_string());
        }
        if o.peak_kb > RSS_LIMIT_KB {
            problems.push(format!("peak RSS {} MiB", o.peak_kb >> 10));
        }
        for e in &case.expect {
            if !o.output.contains(e.as_str()) {
                problems.push(format!("output lacks {e:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({:.1?}, {} MiB): {}\n{}",
                case.name,
                o.elapsed,
                o.peak_kb >> 10,
                problems.join("; "),
                o.output.lines().take(12).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// One generated config of a shape that was once quadratic (issue 10), `n` long: a chain of
/// locals (each the one before), a YAML label map, an HCL label map (an object literal: linear
/// since the vendored hcl-edit/hcl-rs, vendor/README.md).
fn growth_config(shape: &str, n: usize) -> (&'static str, String) {
    use std::fmt::Write as _;
    let mut text = String::new();
    match shape {
        "local-chain" => {
            text.push_str("locals {\n  l0 = \"a\"\n");
            for i in 1..n {
                let _ = writeln!(text, "  l{i} = local.l{}", i - 1);
            }
            let _ = writeln!(text, "}}\nspace \"ml\" {{\n  description = local.l{}\n}}", n - 1);
            ("main.hcl", text)
        }
        "yaml-labels" => {
            text.push_str("kind: Space\nmetadata:\n  name: ml\n  labels:\n");
            for i in 0..n {
                let _ = writeln!(text, "    k{i}: v");
            }
            ("main.yaml", text)
        }
        _ => {
            text.push_str("space \"ml\" {\n  labels = {\n");
            for i in 0..n {
                let _ = writeln!(text, "    k{i} = \"v\"");
            }
            text.push_str("  }\n}\n");
            ("main.hcl", text)
        }
    }
}

/// The CPU time `cordium <case.run>` takes (`/proc/<pid>/schedstat`, read once it has exited
/// and before it is reaped, so nothing of it is missed; `validate` runs on one thread), after
/// checking it exited 0 or 1 without a panic. CPU time rather than wall time: other work on a
/// shared machine slows the clock, not the count of instructions.
#[allow(clippy::disallowed_methods)] // tests pin the environment the binary sees
fn cpu_time(case: &Case, work: &Path) -> Duration {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordium"));
    cmd.args(&case.run)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .env("CORDIUM_STACK", "hostile")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("CORDIUM_") || k.starts_with("OCTELIUM_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CORDIUM_STACK", "hostile");
    let start = Instant::now();
    let mut child = cmd.spawn().expect("cordium starts");
    let pid = child.id();
    let stderr = child.stderr.take();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = stderr {
            let _ = r.read_to_string(&mut s);
        }
        s
    });
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()).map(str::to_string)
    };
    while state().as_deref().is_some_and(|s| s != "Z") && start.elapsed() < TIME_LIMIT {
        std::thread::sleep(Duration::from_millis(2));
    }
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .map(Duration::from_nanos);
    let timed_out = start.elapsed() >= TIME_LIMIT;
    if timed_out {
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    let output = err.join().unwrap_or_default();
    assert!(
        !timed_out && matches!(status.code(), Some(0 | 1)) && !output.contains("panicked"),
        "{}: exit {:?} after {:?}\n{}",
        case.name,
        status.code(),
        start.elapsed(),
        output.lines().take(8).collect::<Vec<_>>().join("\n")
    );
    // Without schedstat (a kernel without it), the wall clock.
    cpu.unwrap_or_else(|| start.elapsed())
}

/// The growth test of the hostile corpus: `cordium validate` of each shape at 10,000 and
/// 100,000 must grow within 15x in CPU time (linear is 10x; the quadratic versions were 20x to
/// 130x). Each figure is the best of three runs of the binary, small and large in turn; the label
/// maps are past the per-object label limit, which is still all the work (exit 1, no panic).
#[test]
fn big_inputs_grow_linearly() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for shape in ["local-chain", "yaml-labels", "hcl-labels"] {
        let sizes = [10_000, 100_000];
        let work: Vec<(tempfile::TempDir, Case)> = sizes
            .iter()
            .map(|&n| {
                let work = tempfile::tempdir().expect("tempdir");
                let (file, text) = growth_config(shape, n);
                std::fs::create_dir_all(work.path().join("in")).expect("mkdir");
                std::fs::write(work.path().join("in").join(file), text).expect("write");
                let case = Case {
                    name: format!("{shape}-{n}"),
                    dir: work.path().to_path_buf(),
                    run: vec!["validate".into(), "in".into()],
                    setup: Vec::new(),
                    expect: Vec::new(),
                };
                (work, case)
            })
            .collect();
        // Small and large in turn, three times, so both see the same moments of a busy machine.
        let mut best = vec![Duration::MAX; sizes.len()];
        for _ in 0..3 {
            for (i, (dir, case)) in work.iter().enumerate() {
                best[i] = best[i].min(cpu_time(case, dir.path()));
            }
        }
        let growth = best[1].as_secs_f64() / best[0].as_secs_f64();
        report.push(format!("{shape}: {:?} → {:?} ({growth:.1}x)", best[0], best[1]));
        if growth > 15.0 {
            failures.push(shape);
        }
    }
    assert!(failures.is_empty(), "grew more than 15x: {failures:?}\n{}", report.join("\n"));
}
