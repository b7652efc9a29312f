//! What the bench binaries share: starting the real `cordium serve` binary on an ephemeral
//! loopback port (as `tests/support` does), the client options that reach it, and reading a
//! process's own peak memory.

#![allow(dead_code)]

pub mod heldout;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use cordium::live::auth::{AuthEnv, Token};
use cordium::live::target::{TargetEnv, TargetFlags};
use cordium::ops::{EnvSettings, OpsError, Request};

/// The shipped binary's allocator (`src/main.rs`) with its built-in options, so that what a
/// bench measures in its own processes is what `cordium` does: freed pages handed back at once
/// while loading and planning, kept for reuse once an apply's steps start
/// ([`cordium::ops::keep_freed_memory`], which the benches call where the binary does).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The authentication token provisioned for `admin`.
pub const TOKEN: &str = "T";

/// A running `cordium serve --in-memory` child process; killed on drop.
pub struct Serve {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Serve {
    /// `serve --listen 127.0.0.1:0 --in-memory --auth-token admin:T` plus `extra`.
    pub fn start(extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cordium"))
            .args(["serve", "--listen", "127.0.0.1:0", "--in-memory", "--auth-token"])
            .arg(format!("admin:{TOKEN}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cordium serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the first line");
        if line.is_empty() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            panic!("cordium serve exited before listening: {err}");
        }
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Serve { child, _stdout: stdout, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plan request for the config in `dir` against the server at `url`, as admin.
pub fn request(dir: PathBuf, url: &str) -> Request {
    Request {
        target: TargetFlags { endpoint: Some(url.to_string()), ..Default::default() },
        env: EnvSettings {
            target: TargetEnv::default(),
            auth: AuthEnv { auth_token: Some(Token::new(TOKEN)), ..Default::default() },
            ci: false,
            holder: "bench@localhost".into(),
            // The stack of a config without a stack file (a stack file says `bench` too).
            stack: Some("bench".into()),
            kube: Default::default(),
            plan_key: None,
        },
        ..Request::new(dir)
    }
}

/// Runs this bench binary again with `envs` set (the mode of a child measurement) and returns
/// the last line it printed: its figures. Panics with the child's output if it failed.
pub fn child_line(envs: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut c = Command::new(std::env::current_exe().expect("own path"));
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {envs:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_string()
}

/// This process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// An operation's error as text (diagnostics one per line).
pub fn failure_text(e: &OpsError) -> String {
    match e {
        OpsError::Invalid { diags, .. } => {
            diags.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join("\n")
        }
        other => other.to_string(),
    }
}

/// A median and the spread (min, max) of repeated measurements.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Spread {
    /// From the samples (at least one; the median of an even count is the mean of the middle two).
    pub fn of(mut samples: Vec<f64>) -> Spread {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        if n == 0 {
            return Spread::default();
        }
        let median =
            if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
        Spread { median, min: samples[0], max: samples[n - 1], runs: n }
    }

    /// `median [min–max]` with `decimals` places.
    pub fn show(&self, decimals: usize) -> String {
        format!("{:.d$} [{:.d$}–{:.d$}]", self.median, self.min, self.max, d = decimals)
    }

    /// (max - min) / median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median * 100.0
        }
    }
}
