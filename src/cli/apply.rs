//! `cordium apply` and `cordium destroy`: flags → [`ApplyRequest`] → `ops::apply::apply` → the
//! view. The terminal's side of confirmation and progress lives here; the work is in `ops`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::plan::{PlanFlags, SourceValues};
use crate::apply::{self, Event, Observer};
use crate::model::Address;
use crate::ops::apply::ApplyResult;
use crate::ops::{ApplyRequest, Confirm, Notice, Progress};
use crate::render::events::{
    error_json, notice_json, plan_json, stamped, summary_json, warning_json, EventView,
};
use crate::render::{self, PlanDoc};

/// How apply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApplyFormat {
    /// The plan, then progress (bars on a terminal, else one line per event) and a summary.
    Human,
    /// One JSON object per line, each with `event` and `time`: warnings, notices, the plan, each
    /// step event, then a summary, or an `error` event (docs/plan.md).
    Json,
}

/// Make the cluster match the config: plan, confirm, then create, update and delete in
/// dependency order, with Template builds and retries.
///
/// On a terminal it asks for `yes` before changing anything; otherwise it refuses unless
/// --auto-approve is given. Only one apply per stack and target runs at a time (a lock file
/// beside a local store; on a remote cluster a lock Template or Group). SIGINT (Ctrl-C) and
/// SIGTERM alike: the first stops starting new operations and lets running operations and
/// builds finish (at most --stop-timeout), then prints the summary, releases the lock and exits
/// 1; a second one cancels running builds.
///
/// Exit codes: 0 = applied (or nothing to do), 1 = error, any operation failed, or stopped by a
/// signal, 3 = refused by --fail-on (nothing changed).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory, or a plan saved with `cordium plan --out FILE` (applied exactly,
    /// without confirmation, after checking that nothing it touches changed since).
    #[arg(default_value = ".", value_name = "DIR|PLANFILE")]
    pub path: PathBuf,
    /// With a saved plan: where the config it was made from is, when not where the plan says
    /// (the plan records its config root; the config must still be the same).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Replace this resource although nothing forces it (delete and create it; a Workspace's
    /// successor is created first), e.g. `workspace.ml.box`. Repeatable.
    #[arg(long = "replace", value_name = "ADDR")]
    pub replaces: Vec<Address>,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub run: RunFlags,
    /// Give up on a Template build after this long (overrides the Template's and the stack
    /// file's timeout; the build is cancelled).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub build_timeout: Option<Duration>,
    /// `cordium import ADDRESS ID`: objects to import, each also a `--target`.
    #[arg(skip)]
    pub imports: Vec<(Address, String)>,
    /// Write an apply record to FILE (JSON, schemas/record.v1.json): stack, environment,
    /// config digest, git commit, identity, every object with the digest of the spec applied,
    /// every snapshot build with its input tag and result. Evidence for `cordium promote`.
    /// No secret values; sensitive values only as digests keyed with `CORDIUM_RECORD_KEY`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// Delete every object of the stack: plan the deletion, confirm, apply it.
///
/// The same as `cordium plan --destroy` followed by confirmation and apply: deletes run in
/// reverse dependency order (Workspaces, then the Templates they use, the Secrets those
/// reference, then the Spaces), and `prevent_destroy` refuses the whole plan. To review a
/// destroy first, save it with `cordium plan --destroy --out FILE` and carry it out with
/// `cordium apply FILE`.
///
/// Exit codes: 0 = destroyed (or nothing to destroy), 1 = error or any operation failed.
#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The config directory. To review a destroy first: `cordium plan --destroy --out FILE`,
    /// then `cordium apply FILE` carries it out.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Destroy without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

/// What `apply` and `destroy` share: how the walk runs, the lock, signals, gates, output.
#[derive(Debug, Clone, clap::Args)]
pub struct RunFlags {
    /// At most this many operations at work at once (1 or more). A Workspace whose only work
    /// left is its entry in its Space's ownership record (written with the others that queue)
    /// does not count. Of the operations ready to start, the one with the longest chain of
    /// work behind it goes first (a Template build counts as a thousand calls).
    #[arg(long, value_name = "N", default_value_t = apply::DEFAULT_PARALLELISM,
          value_parser = parallelism)]
    pub parallelism: usize,
    /// Wait this long for another apply of the stack to finish (e.g. `5m`); 0 = refuse at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
    /// How long a remote apply lock lasts unless renewed (renewed every third of it). For tests.
    #[arg(long, hide = true, value_name = "DURATION", default_value = "2m",
          value_parser = humantime::parse_duration)]
    pub lock_ttl: Duration,
    /// After the first SIGINT/SIGTERM, let running operations and builds go on this long before
    /// cancelling them (a second signal cancels them at once).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub stop_timeout: Duration,
    /// Refuse, after showing the plan and before changing anything (exit 3), a plan that has
    /// any of these: `destroy`, `replace`, `build`, `any`. Comma-separated or repeated.
    #[arg(long, value_name = "WHAT", value_enum, value_delimiter = ',')]
    pub fail_on: Vec<crate::ops::plan::FailOn>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub output: ApplyFormat,
    /// Also write the JSON event stream (`--output json`'s lines: warnings, the plan, each
    /// step, the summary or the error) to FILE, beside the chosen output.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

/// `cordium destroy DIR`: a destroy plan of the config in DIR, confirmed and applied. A saved
/// plan is not taken here: `cordium apply FILE` carries out a saved destroy plan.
pub fn run_destroy(args: DestroyArgs, matches: Option<&ArgMatches>) -> Exit {
    if args.dir.exists() && !args.dir.is_dir() {
        output::print_stderr(&format!(
            "error: {} is not a config directory; to carry out a saved destroy plan, run: \
             cordium apply {}\n",
            args.dir.display(),
            args.dir.display()
        ));
        return Exit::Error;
    }
    let args = Args {
        path: args.dir,
        config_dir: None,
        flags: args.flags,
        replaces: Vec::new(),
        auto_approve: args.auto_approve,
        build_timeout: None,
        record: None,
        run: args.run,
        imports: Vec::new(),
    };
    run(args, matches, true)
}

/// `--parallelism`: at least 1 (none in flight would never finish).
fn parallelism(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("at least one operation must be allowed in flight; use 1 or more".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl Args {
    /// The request these flags mean.
    fn request(
        &self,
        matches: Option<&ArgMatches>,
        destroy: bool,
    ) -> Result<ApplyRequest, crate::ops::OpsError> {
        // Anything but a directory is a saved plan, so a FIFO or a device is refused by the plan
        // file reader (it says what it is) instead of being taken for a config directory.
        let saved = (self.path.exists() && !self.path.is_dir()).then(|| self.path.clone());
        // A saved plan says where its config is (and whether its Secrets may read outside it).
        let (dir, allow_outside) = match &saved {
            Some(path) if !destroy => {
                let (root, allowed) =
                    crate::ops::apply::saved_source(path, self.config_dir.as_deref())?;
                (root, allowed || self.flags.allow_outside_files)
            }
            _ => (self.path.clone(), self.flags.allow_outside_files),
        };
        let mut plan = self.flags.request(dir.clone(), matches, destroy);
        if let Some(reader) = &mut plan.secrets {
            *reader = crate::ops::settings::SecretReader(Arc::new(SourceValues {
                root: dir.clone(),
                allow_outside,
            }));
        }
        plan.replaces = self.replaces.clone();
        plan.build_timeout = self.build_timeout;
        plan.imports = self.imports.clone();
        plan.targets.extend(self.imports.iter().map(|(a, _)| a.clone()));
        Ok(ApplyRequest {
            plan,
            saved,
            auto_approve: self.auto_approve,
            parallelism: self.run.parallelism,
            lock_timeout: self.run.lock_timeout,
            lock_ttl: self.run.lock_ttl,
            stop_timeout: self.run.stop_timeout,
            fail_on: self.run.fail_on.clone(),
            secrets: Arc::new(SourceValues { root: dir, allow_outside }),
            record: self.record.as_ref().map(|path| crate::ops::record::RecordRequest {
                path: path.clone(),
                key: super::target::record_key(),
            }),
        })
    }
}

/// Confirmation on the terminal: `yes` or nothing.
struct Terminal;

impl Confirm for Terminal {
    fn can_ask(&self) -> bool {
        std::io::stdin().is_terminal()
    }

    fn confirm(&self, destroy: bool) -> bool {
        output::print_stderr(&format!(
            "\nDo you want to {}? Only 'yes' will be accepted: ",
            if destroy { "destroy these objects" } else { "apply these changes" }
        ));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
    }
}

/// The view of an apply: the plan, notices and events, in the chosen format.
struct View {
    json: bool,
    /// `--json-out`: the stream's lines also go here.
    file: Option<std::sync::Mutex<std::fs::File>>,
    events: EventView,
    /// The config's sensitive values (known once it is loaded): an error the cluster sends back
    /// may quote one, and is shown without it.
    secrets: OnceLock<Vec<String>>,
}

impl View {
    /// One line of the JSON stream: on stdout with `--output json`, and in the `--json-out`
    /// file.
    fn line(&self, v: serde_json::Value) {
        let line = format!("{}\n", stamped(v));
        if self.json {
            output::print_stdout(&line);
        }
        self.to_file(&line);
    }

    fn to_file(&self, line: &str) {
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }

    fn scrub(&self, text: &str) -> String {
        match self.secrets.get() {
            Some(secrets) => crate::diag::scrub(secrets, text),
            None => text.to_string(),
        }
    }
}

impl Observer for View {
    fn event(&self, event: &Event) {
        let mut event = event.clone();
        match &mut event {
            Event::Retrying { reason: text, .. }
            | Event::Skipped { reason: text, .. }
            | Event::Failed { error: text, .. } => *text = self.scrub(text),
            Event::Started { .. }
            | Event::Progress { .. }
            | Event::Snapshot { .. }
            | Event::Finished { .. }
            | Event::NotStarted { .. } => {}
        }
        if self.file.is_some() {
            self.to_file(&format!("{}\n", stamped(crate::render::events::event_json(&event))));
        }
        self.events.event(&event);
    }
}

impl Progress for View {
    fn notice(&self, notice: Notice<'_>) {
        let (kind, text) = match notice {
            Notice::Warnings { diags, loaded } => {
                let _ = self.secrets.set(loaded.sources.secrets().to_vec());
                output::warnings(diags, loaded);
                let doc = render::diagnostics::json(diags, &loaded.sources);
                for d in doc["diagnostics"].as_array().into_iter().flatten() {
                    self.line(warning_json(d));
                }
                return;
            }
            Notice::Plan(plan) if self.json => return self.line(plan_json(plan)),
            Notice::Plan(plan) => {
                self.events.set_total(plan.steps.len());
                self.to_file(&format!("{}\n", stamped(plan_json(plan))));
                return output::print_stdout(&render::human::plan(
                    &PlanDoc::from_plan(plan),
                    output::stdout_style(),
                ));
            }
            Notice::Applying { target } if !self.json => {
                return output::print_stdout(&format!("\nApplying to {target}...\n"));
            }
            Notice::Applying { .. } => return,
            Notice::Stopping { signal, timeout } => (
                "stopping",
                format!(
                    "{signal}: stopping. No new operations start; running operations and builds \
                     finish (builds are cancelled after {}, --stop-timeout). Send it again to \
                     cancel running builds now.",
                    humantime::format_duration(timeout)
                ),
            ),
            Notice::Cancelling { reason } => (
                "cancelling",
                format!("{reason}: cancelling running builds; writes in flight finish."),
            ),
            Notice::LockLost { reason } => (
                "lock_lost",
                format!(
                    "The apply lock was lost ({reason}). Stopping: no new operations start; \
                     running builds are left running; writes in flight finish."
                ),
            ),
            Notice::LockPending { lock } => (
                "lock_pending",
                format!(
                    "The stack's lock Space does not exist yet: {lock} is taken right after this \
                     apply creates that Space, before anything else."
                ),
            ),
            Notice::LockRaced { space } => (
                "lock_raced",
                format!(
                    "Another apply of this stack created {space} first; nothing was changed. \
                     Waiting for its lock (--lock-timeout) to plan again."
                ),
            ),
            Notice::LockNotReleased(e) => {
                ("lock_not_released", format!("Warning: {}", crate::ops::error::chain(e)))
            }
            Notice::Recorded { path } => {
                ("recorded", format!("Wrote the apply record {}.", path.display()))
            }
            Notice::RecordFailed { error } => ("record_failed", format!("Warning: {error}")),
        };
        let text = self.scrub(&text);
        self.line(notice_json(kind, &text));
        // On stderr too, for a person reading the job's log; a pending lock only there when
        // the output is for people.
        if !(self.json && kind == "lock_pending") {
            let lead =
                if matches!(kind, "stopping" | "cancelling" | "lock_lost") { "\n" } else { "" };
            output::print_stderr(&format!("{lead}{text}\n"));
        }
    }
}

/// One line of the JSON stream, with its timestamp.
fn json_line(v: serde_json::Value) {
    output::print_stdout(&format!("{}\n", stamped(v)));
}

pub fn run(args: Args, matches: Option<&ArgMatches>, destroy: bool) -> Exit {
    let req = match args.request(matches, destroy) {
        Ok(r) => r,
        Err(e) => {
            let json = args.run.output == ApplyFormat::Json;
            if json {
                json_line(error_json(&e.to_string(), None));
                return Exit::Error;
            }
            return output::failure(e, false);
        }
    };
    let exit = apply(&args, &req);
    super::login::logout_after(&req.plan);
    exit
}

fn apply(args: &Args, req: &ApplyRequest) -> Exit {
    let json = args.run.output == ApplyFormat::Json;
    let file = match &args.run.json_out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(std::sync::Mutex::new(f)),
            Err(e) => {
                output::print_stderr(&format!("Error: cannot write {}: {e}\n", path.display()));
                return Exit::Error;
            }
        },
        None => None,
    };
    let view = View {
        json,
        file,
        events: EventView::new(output::view_mode(json), output::stdout_style()),
        secrets: OnceLock::new(),
    };
    match super::block_on(crate::ops::apply::apply(req, &Terminal, &view)) {
        Ok(ApplyResult::NoChanges) => {
            view.line(summary_json(&Default::default()));
            Exit::Ok
        }
        Ok(ApplyResult::Cancelled) => {
            output::print_stderr("Apply cancelled.\n");
            Exit::Error
        }
        Ok(ApplyResult::Applied(outcome)) => {
            if !json {
                view.to_file(&format!("{}\n", stamped(summary_json(&outcome))));
            }
            output::print_stdout(&view.scrub(&view.events.summary(&outcome)));
            if outcome.success() {
                Exit::Ok
            } else {
                Exit::Error
            }
        }
        Err(e) => {
            let exit = if matches!(e, crate::ops::OpsError::Gated { .. }) {
                Exit::Gated
            } else {
                Exit::Error
            };
            if json {
                view.line(failure_json(&e, &view));
            } else {
                view.to_file(&format!("{}\n", stamped(failure_json(&e, &view))));
                output::failure(e, false);
            }
            exit
        }
    }
}

/// Why apply did not happen, as the stream's `error` event (one line).
fn failure_json(e: &crate::ops::OpsError, view: &View) -> serde_json::Value {
    match e {
        crate::ops::OpsError::Invalid { diags, loaded } => {
            let doc = render::diagnostics::json(diags, &loaded.sources);
            error_json(&e.to_string(), Some(doc["diagnostics"].clone()))
        }
        other => error_json(&view.scrub(&other.to_string()), None),
    }
}
