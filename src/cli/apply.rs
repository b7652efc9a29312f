//! `cordium apply` and `cordium destroy`: plan, show the plan, confirm, take the stack's apply
//! lock, carry the plan out with progress, print a summary. The work is `apply::apply`; this
//! file wires flags, the lock, Ctrl-C and the view.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::pipeline::{self, Failure, PlanRequest};
use super::plan::PlanFlags;
use crate::apply::lock::{ApplyLock, FileLock, LockOptions, RemoteLock};
use crate::apply::{self, ApplyContext, SecretValues};
use crate::live::convert::Naming;
use crate::live::target::Target;
use crate::live::Cluster;
use crate::model::{Address, Model, SecretSource};
use crate::plan::Plan;
use crate::render::events::{EventView, ViewMode};
use crate::render::{self, PlanDoc};

/// How apply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then progress (bars on a terminal, else one line per event) and a summary.
    Human,
    /// One JSON object per line: the plan, each event, then a summary.
    Json,
}

/// Make the cluster match the config: plan, confirm, then create, update and delete in
/// dependency order, with Template builds and retries.
///
/// On a terminal it asks for `yes` before changing anything; otherwise it refuses unless
/// --auto-approve is given. Only one apply per stack and target runs at a time (a lock file
/// beside a local store; a lock Group on a remote cluster). Ctrl-C stops starting new
/// operations, cancels running builds, and reports what was done.
///
/// Exit codes: 0 = applied (or nothing to do), 1 = error or any operation failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory, or a plan saved with `cordium plan --out FILE` (applied exactly,
    /// without confirmation, after checking that nothing it touches changed since).
    #[arg(default_value = ".", value_name = "DIR|PLANFILE")]
    pub path: PathBuf,
    /// With a saved plan: the config directory it was made from.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub config_dir: PathBuf,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many operations in flight.
    #[arg(long, value_name = "N", default_value_t = apply::DEFAULT_PARALLELISM,
          value_parser = clap::value_parser!(usize))]
    pub parallelism: usize,
    /// Wait this long for another apply of the stack to finish (e.g. `5m`); 0 = refuse at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
    /// Give up on a Template build after this long (overrides the Template's and the stack
    /// file's timeout; the build is cancelled).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub build_timeout: Option<Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub output: ApplyFormat,
}

/// Reads Secret values at apply time: environment variables, and files relative to the config
/// root. Errors name the source, never a value.
struct SourceValues {
    root: PathBuf,
}

impl SecretValues for SourceValues {
    #[allow(clippy::disallowed_methods)] // cli reads the environment
    fn read(&self, _: &Address, source: &SecretSource) -> Result<String, String> {
        match source {
            SecretSource::Env(name) => std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set (or not UTF-8)")),
            SecretSource::File(path) => {
                let full = self.root.join(path);
                std::fs::read_to_string(&full)
                    .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                    .map_err(|e| format!("cannot read {}: {e}", full.display()))
            }
        }
    }
}

/// `user@host` for lock holders.
#[allow(clippy::disallowed_methods)] // cli reads the environment
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// Asks for `yes` on the terminal.
fn confirm(destroy: bool) -> bool {
    output::print_stderr(&format!(
        "\nDo you want to {}? Only 'yes' will be accepted: ",
        if destroy { "destroy these objects" } else { "apply these changes" }
    ));
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
}

fn json_line(v: serde_json::Value) {
    output::print_stdout(&format!("{v}\n"));
}

pub fn run(args: Args, matches: Option<&ArgMatches>, destroy: bool) -> Exit {
    let json = args.output == ApplyFormat::Json;
    let saved = args.path.is_file();
    if saved && destroy {
        return output::failure(
            Failure::Message("destroy takes a config directory, not a saved plan".into()),
            json,
        );
    }
    let dir = if saved { args.config_dir.clone() } else { args.path.clone() };
    let req = args.flags.request(dir, matches, destroy);
    super::block_on(async {
        let ready = if saved {
            saved_plan(&args.path, &req).await
        } else {
            fresh_plan(&req).await.map(|r| (r, false))
        };
        match ready {
            Ok((ready, confirmed)) => execute(&args, &req, ready, destroy, confirmed, json).await,
            Err(f) => output::failure(f, json),
        }
    })
}

/// A plan ready to apply, and what applying it needs.
struct Ready {
    plan: Plan,
    model: Model,
    naming: Naming,
    cluster: Arc<dyn Cluster>,
    target: Target,
}

async fn fresh_plan(req: &PlanRequest) -> Result<Ready, Failure> {
    let planned = pipeline::make_plan(req).await?;
    output::warnings(&planned.warnings, &planned.loaded);
    Ok(Ready {
        plan: planned.plan,
        model: planned.model,
        naming: planned.naming,
        cluster: planned.cluster,
        target: planned.target,
    })
}

/// Reads a saved plan and checks it still holds: same configuration, same target, and every
/// object it touches unchanged since. A saved plan counts as confirmed.
async fn saved_plan(path: &Path, req: &PlanRequest) -> Result<(Ready, bool), Failure> {
    let plan = crate::plan::file::read(path).map_err(|e| Failure::Message(error_chain(&e)))?;
    let (loaded, model, warnings) = pipeline::load(&req.dir, &req.load)?;
    output::warnings(&warnings, &loaded);
    if pipeline::config_digest(&model, &plan.stack) != plan.config_digest {
        return Err(Failure::Message(format!(
            "the configuration in {} is not the one {} was made from (it changed, or --env/--var \
             differ); plan again, or pass the right --config-dir",
            req.dir.display(),
            path.display()
        )));
    }
    let (target, cluster) = pipeline::connect(req, &loaded).await?;
    if target.display() != plan.target.display {
        return Err(Failure::Message(format!(
            "{} was made for {}, but the target is {}; choose the same target",
            path.display(),
            plan.target.display,
            target.display()
        )));
    }
    let identity = cluster.identity().await?;
    let naming = Naming::for_model(identity.username, &model);
    let stale = apply::fresh::check(&plan, cluster.as_ref(), &naming).await?;
    if !stale.is_empty() {
        let list: Vec<String> = stale.iter().map(|s| format!("  {s}")).collect();
        return Err(Failure::Message(format!(
            "{} is stale: {} object(s) changed since it was made; plan again:\n{}",
            path.display(),
            stale.len(),
            list.join("\n")
        )));
    }
    Ok((Ready { plan, model, naming, cluster, target }, true))
}

async fn execute(
    args: &Args,
    req: &PlanRequest,
    ready: Ready,
    destroy: bool,
    confirmed: bool,
    json: bool,
) -> Exit {
    let Ready { mut plan, model, naming, cluster, target } = ready;
    if let Some(t) = args.build_timeout {
        for b in &mut plan.builds {
            b.timeout_secs = t.as_secs().max(1);
        }
    }
    if json {
        let doc: serde_json::Value =
            serde_json::from_str(&PlanDoc::from_plan(&plan).to_json()).unwrap_or_default();
        json_line(serde_json::json!({"event": "plan", "plan": doc}));
    } else {
        output::print_stdout(&render::human::plan(
            &PlanDoc::from_plan(&plan),
            output::stdout_style(),
        ));
    }
    if !plan.has_changes() || plan.steps.is_empty() {
        if json {
            json_line(serde_json::json!({"event": "summary", "success": true, "done": [],
                "failed": [], "skipped": [], "not_started": [], "interrupted": false}));
        }
        return Exit::Ok;
    }
    if !args.auto_approve && !confirmed {
        if !std::io::stdin().is_terminal() {
            return output::failure(
                Failure::Message(
                    "refusing to change the cluster without confirmation: stdin is not a \
                     terminal; pass --auto-approve"
                        .into(),
                ),
                json,
            );
        }
        if !confirm(destroy) {
            output::print_stderr("Apply cancelled.\n");
            return Exit::Error;
        }
    }

    let mut lock_opts = LockOptions::new(plan.stack.clone(), who());
    lock_opts.wait = args.lock_timeout;
    let lock = match &target {
        Target::Local { path, .. } => {
            FileLock::acquire(path, &lock_opts).await.map(ApplyLock::File)
        }
        Target::Remote { .. } => {
            RemoteLock::acquire(cluster.clone(), &target.display(), &lock_opts)
                .await
                .map(ApplyLock::Remote)
        }
    };
    let lock = match lock {
        Ok(l) => l,
        Err(e) => return output::failure(Failure::Message(error_chain(&e)), json),
    };

    let mut ctx = ApplyContext::new(
        cluster,
        Arc::new(model),
        naming,
        Arc::new(SourceValues { root: req.dir.clone() }),
    );
    ctx.parallelism = args.parallelism.max(1);
    let stop = ctx.stop.clone();
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.store(true, Ordering::SeqCst);
            output::print_stderr(
                "\nStopping: no new operations start; running builds are cancelled; \
                 writes in flight finish.\n",
            );
        }
    });
    let mode = if json {
        ViewMode::Json
    } else if std::io::stderr().is_terminal() && std::io::stdout().is_terminal() {
        ViewMode::Bars
    } else {
        ViewMode::Lines
    };
    let view = EventView::new(mode, output::stdout_style());
    if !json {
        output::print_stdout(&format!("\nApplying to {}...\n", target.display()));
    }
    let outcome = apply::apply(&plan, ctx, &view).await;
    signals.abort();
    output::print_stdout(&view.summary(&outcome));
    if let Err(e) = lock.release().await {
        output::print_stderr(&format!("Warning: {}\n", error_chain(&e)));
    }
    if outcome.success() {
        Exit::Ok
    } else {
        Exit::Error
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
