//! The apply progress view: turns apply [`Event`]s and the final [`ApplyOutcome`] into text.
//!
//! Three modes, chosen by `cli` (render never looks at the terminal itself):
//! - [`ViewMode::Bars`] (a TTY): an indicatif progress bar per running build with its elapsed
//!   time against the estimate from past builds, and one line per finished step;
//! - [`ViewMode::Lines`]: one plain line per event (build progress at most every 10 s);
//! - [`ViewMode::Json`]: one JSON object per line per event, then a summary object.
//!
//! A large apply is summarised, not listed, in the two human modes: the first [`STEP_LINES`]
//! creates, updates and deletes get their lines; after that they are counted, with one line
//! saying so, then a count line every [`COUNT_EVERY`] (plain lines) or one overall bar (a
//! terminal). Failures, retries and builds are always shown in full, and the summary lists
//! every failed, skipped and not-started step. The JSON stream is never summarised: it is for
//! programs, which want every event.
//!
//! Changes nothing; events carry no secret values, so nothing here can leak one.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::Style;
use crate::apply::{ApplyOutcome, Event, Observer, StepRef, StepReport, StepStatus};
use crate::plan::StepKind;

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    Bars,
    Lines,
    Json,
}

/// How often a build's progress is written as a plain line.
const LINE_PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// How many creates, updates and deletes get lines of their own before they are counted.
pub const STEP_LINES: usize = 200;

/// How often the count of a summarised apply is written as a plain line.
pub const COUNT_EVERY: Duration = Duration::from_secs(10);

/// The progress view: an [`Observer`] writing to stdout (bars on stderr).
pub struct EventView {
    mode: ViewMode,
    style: Style,
    /// Creates, updates and deletes shown one by one before the view counts them instead.
    step_lines: usize,
    /// How often a count line is written once they are counted.
    count_every: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    multi: Option<MultiProgress>,
    bars: HashMap<usize, ProgressBar>,
    last_progress_line: HashMap<usize, Instant>,
    /// The steps of the plan, when known ([`EventView::set_total`]).
    total: Option<usize>,
    /// Routine steps given lines so far, and which (their end is shown too).
    shown: usize,
    shown_steps: std::collections::HashSet<usize>,
    /// Routine steps only counted (none of their lines shown).
    counted: usize,
    /// Steps ended so far, by how.
    done: usize,
    failed: usize,
    skipped: usize,
    began: Option<Instant>,
    last_count: Option<Instant>,
    /// On a terminal, once steps are counted: one bar for the whole apply.
    overall: Option<ProgressBar>,
}

impl std::fmt::Debug for EventView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventView").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl EventView {
    pub fn new(mode: ViewMode, style: Style) -> Self {
        let mut state = State::default();
        if mode == ViewMode::Bars {
            state.multi = Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        }
        EventView {
            mode,
            style,
            step_lines: STEP_LINES,
            count_every: COUNT_EVERY,
            state: Mutex::new(state),
        }
    }

    /// The same view, showing `step_lines` routine steps one by one and then a count every
    /// `count_every` (tests).
    pub fn with_limits(mut self, step_lines: usize, count_every: Duration) -> Self {
        self.step_lines = step_lines;
        self.count_every = count_every;
        self
    }

    /// How many steps the plan has (for the counts of a summarised apply).
    pub fn set_total(&self, steps: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.total = Some(steps);
        }
    }

    /// The closing summary, in this view's format.
    pub fn summary(&self, outcome: &ApplyOutcome) -> String {
        match self.mode {
            ViewMode::Json => format!("{}\n", stamped(summary_json(outcome))),
            _ => {
                let mut text = String::new();
                if let Ok(mut state) = self.state.lock() {
                    if let Some(bar) = state.overall.take() {
                        bar.finish_and_clear();
                    }
                    if state.counted > 0 {
                        text = format!(
                            "\n{} steps were counted, not listed (`--output json` streams every \
                             event).",
                            state.counted
                        );
                    }
                }
                text.push_str(&summary_text(outcome, self.style));
                text
            }
        }
    }

    /// Counts the step ends; whether the event gets its line (the first [`STEP_LINES`]
    /// routine steps do, and every failure, retry, build and snapshot event).
    fn shows(&self, state: &mut State, event: &Event) -> bool {
        state.began.get_or_insert_with(Instant::now);
        match event {
            Event::Finished { .. } => state.done += 1,
            Event::Failed { .. } => state.failed += 1,
            Event::Skipped { .. } | Event::NotStarted { .. } => state.skipped += 1,
            _ => {}
        }
        let step = event.step();
        let routine = matches!(step.kind, StepKind::Create | StepKind::Update | StepKind::Delete);
        match event {
            // A snapshot wait says why a Workspace create is held up: always shown.
            Event::Failed { .. } | Event::Retrying { .. } | Event::Snapshot { .. } => true,
            _ if !routine => true,
            Event::Started { .. } | Event::Skipped { .. } | Event::NotStarted { .. }
                if !state.shown_steps.contains(&step.index) =>
            {
                if state.shown < self.step_lines {
                    state.shown += 1;
                    state.shown_steps.insert(step.index);
                    true
                } else {
                    state.counted += 1;
                    false
                }
            }
            _ => state.shown_steps.contains(&step.index),
        }
    }

    /// Once steps are counted: says so once, then keeps the count up to date (a line every
    /// `count_every`, or the overall bar on a terminal).
    fn count(&self, state: &mut State) {
        if state.counted == 0 {
            return;
        }
        let ended = state.done + state.failed + state.skipped;
        let of = state.total.map(|t| format!(" of {t}")).unwrap_or_default();
        let counts = format!(
            "{ended}{of} steps ended: {} done, {} failed, {} skipped",
            state.done, state.failed, state.skipped
        );
        let first = state.last_count.is_none();
        if first {
            let line = format!(
                "More than {} steps: the rest are counted, not listed; failures, retries and \
                 builds are still shown in full.",
                self.step_lines
            );
            self.print(state, &self.style.finish(self.style.dim(&line)));
            if let Some(multi) = &state.multi {
                let bar = multi.add(ProgressBar::new(state.total.unwrap_or(0) as u64));
                bar.set_style(
                    ProgressStyle::with_template("[{bar:24}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                state.overall = Some(bar);
            }
        }
        let now = Instant::now();
        if let Some(bar) = &state.overall {
            bar.set_position(ended as u64);
            bar.set_message(counts);
            state.last_count = Some(now);
            return;
        }
        let due = state.last_count.is_none_or(|t| now.duration_since(t) >= self.count_every);
        if due {
            state.last_count = Some(now);
            let elapsed = state.began.map(|b| now.duration_since(b)).unwrap_or_default();
            let line = format!("... {counts} ({} elapsed)", clock(elapsed));
            self.print(state, &self.style.finish(line));
        }
    }

    // The view streams events as they happen, so it writes to stdout itself (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    fn print(&self, state: &State, line: &str) {
        let write = || {
            let mut out = anstream::stdout();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        match &state.multi {
            Some(m) => m.suspend(write),
            None => write(),
        }
    }
}

impl Observer for EventView {
    fn event(&self, event: &Event) {
        let Ok(mut state) = self.state.lock() else { return };
        match self.mode {
            ViewMode::Json => self.print(&state, &stamped(event_json(event)).to_string()),
            ViewMode::Lines => {
                let shown = self.shows(&mut state, event);
                self.count(&mut state);
                if !shown {
                    return;
                }
                if let Event::Progress { step, .. } = event {
                    let now = Instant::now();
                    let last = state.last_progress_line.get(&step.index).copied();
                    if last.is_some_and(|t| now.duration_since(t) < LINE_PROGRESS_EVERY) {
                        return;
                    }
                    state.last_progress_line.insert(step.index, now);
                }
                let line = event_line(event, self.style);
                self.print(&state, &line);
            }
            ViewMode::Bars => {
                let shown = self.shows(&mut state, event);
                self.count(&mut state);
                if shown {
                    self.bars(&mut state, event);
                }
            }
        }
    }
}

impl EventView {
    fn bars(&self, state: &mut State, event: &Event) {
        let is_build = matches!(event.step().kind, StepKind::Build | StepKind::WaitBuild);
        match event {
            Event::Started { step } if is_build => {
                if let Some(multi) = &state.multi {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(bar_style(false));
                    bar.set_message(format!("{} {}", verb(step.kind).0, step.address));
                    bar.enable_steady_tick(Duration::from_millis(200));
                    state.bars.insert(step.index, bar);
                }
            }
            Event::Started { .. } => {}
            Event::Snapshot { step, .. } if state.bars.contains_key(&step.index) => {
                if let Some(bar) = state.bars.get(&step.index) {
                    bar.set_style(bar_style(false));
                    bar.set_message(snapshot_text(event));
                }
            }
            Event::Progress { step, elapsed, estimate, build_id, .. } => {
                if let Some(bar) = state.bars.get(&step.index) {
                    match estimate {
                        Some(est) => {
                            bar.set_style(bar_style(true));
                            bar.set_length(est.as_secs().max(1));
                            bar.set_position(elapsed.as_secs().min(est.as_secs()));
                        }
                        None => bar.set_position(elapsed.as_secs()),
                    }
                    bar.set_message(format!(
                        "{} {} (build {build_id}, {} elapsed{})",
                        verb(step.kind).0,
                        step.address,
                        clock(*elapsed),
                        estimate.map(|e| format!(", estimate {}", clock(e))).unwrap_or_default()
                    ));
                }
            }
            _ => {
                if let Some(bar) = state.bars.remove(&event.step().index) {
                    bar.finish_and_clear();
                    if let Some(m) = &state.multi {
                        m.remove(&bar);
                    }
                }
                let line = event_line(event, self.style);
                self.print(state, &line);
            }
        }
    }
}

fn bar_style(with_estimate: bool) -> ProgressStyle {
    let template = if with_estimate { "{spinner} [{bar:24}] {msg}" } else { "{spinner} {msg}" };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

/// The verb of a step kind: while running, and done.
fn verb(kind: StepKind) -> (&'static str, &'static str) {
    match kind {
        StepKind::Create => ("creating", "created"),
        StepKind::Update => ("updating", "updated"),
        StepKind::Delete => ("destroying", "destroyed"),
        StepKind::Build => ("building", "built"),
        StepKind::WaitBuild => ("waiting for the build of", "build finished for"),
    }
}

/// The name of a step kind in JSON and summaries.
pub fn kind_name(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Create => "create",
        StepKind::Update => "update",
        StepKind::Delete => "delete",
        StepKind::Build => "build",
        StepKind::WaitBuild => "wait_build",
    }
}

/// `1m05s`, `12s`, `0.4s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s >= 10 {
        format!("{s}s")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// An error without the address it starts with (the line names it already).
fn without_address(error: &str, step: &StepRef) -> String {
    let prefix = format!("{}: ", step.address);
    error.strip_prefix(&prefix).unwrap_or(error).to_string()
}

/// What a snapshot event says: `template.ml.gpu: VolumeSnapshot 3f…-b7 pending, waiting for
/// readyToUse (2.0s)`.
fn snapshot_text(event: &Event) -> String {
    let Event::Snapshot { step, snapshot, namespace, state, elapsed } = event else {
        return String::new();
    };
    use crate::live::kube::SnapshotState;
    let what = match state {
        SnapshotState::Missing => {
            format!("not in namespace {namespace} yet, waiting for it to appear")
        }
        SnapshotState::Pending => "pending, waiting for readyToUse".to_string(),
        other => other.describe(),
    };
    format!("{}: VolumeSnapshot {snapshot} {what} ({})", step.address, clock(*elapsed))
}

/// One plain line for an event.
pub fn event_line(event: &Event, style: Style) -> String {
    style.finish(event_text(event, style))
}

fn event_text(event: &Event, style: Style) -> String {
    match event {
        Event::Started { step } => format!("{}: {}...", step.address, verb(step.kind).0),
        Event::Progress { step, build_id, elapsed, estimate, .. } => format!(
            "{}: still {} (build {build_id}, {} elapsed{})",
            step.address,
            verb(step.kind).0,
            clock(*elapsed),
            estimate.map(|e| format!(", estimate {}", clock(e))).unwrap_or_default()
        ),
        Event::Snapshot { .. } => snapshot_text(event),
        Event::Retrying { step, attempt, delay, reason } => style.dim(&format!(
            "{}: attempt {attempt} failed ({reason}); retrying in {}",
            step.address,
            clock(*delay)
        )),
        Event::Finished { step, elapsed } => format!(
            "{} {}: {} after {}",
            style.green(style.check()),
            step.address,
            verb(step.kind).1,
            clock(*elapsed)
        ),
        Event::Failed { step, error, .. } => format!(
            "{} {}: {} failed: {}",
            style.red(style.cross()),
            step.address,
            kind_name(step.kind),
            without_address(error, step)
        ),
        Event::Skipped { step, reason } => format!(
            "{} {}: {} skipped ({reason})",
            style.yellow("-"),
            step.address,
            kind_name(step.kind)
        ),
        Event::NotStarted { step } => format!(
            "{} {}: {} not started (apply was stopped)",
            style.yellow("-"),
            step.address,
            kind_name(step.kind)
        ),
    }
}

fn step_json(step: &StepRef) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("step".into(), step.index.into());
    m.insert("kind".into(), kind_name(step.kind).into());
    m.insert("address".into(), step.address.to_string().into());
    m
}

fn secs(d: Duration) -> Value {
    json!((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// A line of the JSON stream with its `time` (RFC 3339, UTC, milliseconds) added: every line
/// of `apply --output json` goes through it.
pub fn stamped(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        m.insert("time".into(), now.into());
    }
    v
}

/// Why the command failed, as the stream's last line: `{"event": "error", "message": ...}`,
/// with the diagnostics (each as `validate --format json` gives it) when the config is invalid.
pub fn error_json(message: &str, diagnostics: Option<Value>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("event".into(), "error".into());
    m.insert("message".into(), message.into());
    if let Some(d) = diagnostics {
        m.insert("diagnostics".into(), d);
    }
    Value::Object(m)
}

/// A warning diagnostic (as `validate --format json` gives it) as an event.
pub fn warning_json(diagnostic: &Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("event".into(), "warning".into());
    if let Value::Object(d) = diagnostic {
        m.extend(d.clone());
    }
    Value::Object(m)
}

/// Something apply tells the person besides step events (stopping on a signal, the lock):
/// `{"event": "notice", "notice": "stopping", "message": ...}`.
pub fn notice_json(notice: &str, message: &str) -> Value {
    json!({"event": "notice", "notice": notice, "message": message})
}

/// One JSON object for an event: `{"event": "...", "step", "kind", "address", ...}`.
pub fn event_json(event: &Event) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("event".into(), event.name().into());
    m.extend(step_json(event.step()));
    match event {
        Event::Started { .. } | Event::NotStarted { .. } => {}
        Event::Progress { build_id, elapsed, estimate, timeout, .. } => {
            m.insert("build_id".into(), build_id.clone().into());
            m.insert("elapsed_secs".into(), secs(*elapsed));
            if let Some(e) = estimate {
                m.insert("estimate_secs".into(), secs(*e));
            }
            m.insert("timeout_secs".into(), secs(*timeout));
        }
        Event::Snapshot { snapshot, namespace, state, elapsed, .. } => {
            m.insert("snapshot".into(), snapshot.clone().into());
            m.insert("namespace".into(), namespace.clone().into());
            if let Value::Object(s) = serde_json::to_value(state).unwrap_or_default() {
                m.extend(s);
            }
            m.insert("elapsed_secs".into(), secs(*elapsed));
        }
        Event::Retrying { attempt, delay, reason, .. } => {
            m.insert("attempt".into(), (*attempt).into());
            m.insert("delay_secs".into(), secs(*delay));
            m.insert("reason".into(), reason.clone().into());
        }
        Event::Finished { elapsed, .. } => {
            m.insert("elapsed_secs".into(), secs(*elapsed));
        }
        Event::Failed { error, kind, elapsed, .. } => {
            m.insert("error".into(), error.clone().into());
            if let Some(k) = kind {
                m.insert("error_kind".into(), k.as_str().into());
            }
            m.insert("elapsed_secs".into(), secs(*elapsed));
        }
        Event::Skipped { reason, .. } => {
            m.insert("reason".into(), reason.clone().into());
        }
    }
    Value::Object(m)
}

fn report_json(r: &StepReport) -> Value {
    let mut m = step_json(&r.step);
    match &r.status {
        StepStatus::Failed { error, .. } => {
            m.insert("error".into(), error.clone().into());
        }
        StepStatus::Skipped { reason } => {
            m.insert("reason".into(), reason.clone().into());
        }
        _ => {}
    }
    Value::Object(m)
}

/// The plan as the first line of `apply --output json`: `{"event": "plan", "plan": {...}}`, the
/// plan being the versioned JSON plan document.
pub fn plan_json(plan: &crate::plan::Plan) -> Value {
    let doc = serde_json::to_value(super::PlanDoc::from_plan(plan)).unwrap_or_default();
    json!({"event": "plan", "plan": doc})
}

/// The final summary object: `{"event": "summary", "done": [...], "failed": [...], ...}`.
pub fn summary_json(o: &ApplyOutcome) -> Value {
    let list = |it: &mut dyn Iterator<Item = &StepReport>| -> Value {
        Value::Array(it.map(report_json).collect())
    };
    json!({
        "event": "summary",
        "success": o.success(),
        "interrupted": o.interrupted,
        "lock_lost": o.lock_lost,
        "elapsed_secs": secs(o.elapsed),
        "done": list(&mut o.done()),
        "failed": list(&mut o.failed()),
        "skipped": list(&mut o.skipped()),
        "not_started": list(&mut o.not_started()),
    })
}

/// The closing summary for humans: counts, then what failed, was skipped or did not start.
pub fn summary_text(o: &ApplyOutcome, style: Style) -> String {
    style.finish(summary_body(o, style))
}

fn summary_body(o: &ApplyOutcome, style: Style) -> String {
    let (done, failed, skipped, not_started) =
        (o.done().count(), o.failed().count(), o.skipped().count(), o.not_started().count());
    let mut out = String::from("\n");
    let head = if o.lock_lost.is_some() {
        style.red("Apply stopped: the apply lock was lost")
    } else if o.interrupted {
        style.yellow("Apply interrupted")
    } else if !o.success() {
        style.red("Apply failed")
    } else {
        style.green("Apply complete")
    };
    out.push_str(&format!(
        "{head}: {done} done, {failed} failed, {skipped} skipped, {not_started} not started ({}).\n",
        clock(o.elapsed)
    ));
    if let Some(reason) = &o.lock_lost {
        out.push_str(&format!(
            "The lock was lost ({reason}); no operation started after that. Another apply may \
             be changing the stack now: run plan again when it is done.\n"
        ));
    }
    let mut section = |title: &str, items: Vec<String>| {
        if !items.is_empty() {
            out.push_str(&format!("{title}:\n"));
            for i in items {
                out.push_str(&format!("  {i}\n"));
            }
        }
    };
    section(
        "Failed",
        o.failed()
            .map(|r| {
                let error = match &r.status {
                    StepStatus::Failed { error, .. } => without_address(error, &r.step),
                    _ => String::new(),
                };
                format!("{} {}: {error}", kind_name(r.step.kind), r.step.address)
            })
            .collect(),
    );
    section(
        "Skipped",
        o.skipped()
            .map(|r| {
                let reason = match &r.status {
                    StepStatus::Skipped { reason } => reason.as_str(),
                    _ => "",
                };
                format!("{} {} ({reason})", kind_name(r.step.kind), r.step.address)
            })
            .collect(),
    );
    section(
        "Not started",
        o.not_started().map(|r| format!("{} {}", kind_name(r.step.kind), r.step.address)).collect(),
    );
    if failed + skipped + not_started > 0 {
        out.push_str("Run plan again to see what is left.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::ErrorKind;
    use crate::model::Address;

    fn step(kind: StepKind, a: &str) -> StepRef {
        StepRef { index: 2, kind, address: a.parse::<Address>().expect("address") }
    }

    #[test]
    fn lines_name_the_step_and_drop_a_repeated_address() {
        let s = step(StepKind::Build, "template.ml.gpu");
        let failed = Event::Failed {
            step: s.clone(),
            error: "template.ml.gpu: build ab12 failed: task `x` failed".into(),
            kind: Some(ErrorKind::Failed),
            elapsed: Duration::from_secs(3),
        };
        assert_eq!(
            event_line(&failed, Style::default()),
            "x template.ml.gpu: build failed: build ab12 failed: task `x` failed"
        );
        let unicode = Style { color: false, unicode: true };
        assert!(event_line(&failed, unicode).starts_with("✗ template.ml.gpu"));
        let progress = Event::Progress {
            step: s.clone(),
            build_id: "ab12".into(),
            elapsed: Duration::from_secs(65),
            estimate: Some(Duration::from_secs(120)),
            timeout: Duration::from_secs(1800),
        };
        assert_eq!(
            event_line(&progress, Style::default()),
            "template.ml.gpu: still building (build ab12, 1m05s elapsed, estimate 2m00s)"
        );
        let done = Event::Finished {
            step: step(StepKind::Create, "space.ml"),
            elapsed: Duration::from_millis(250),
        };
        assert_eq!(event_line(&done, Style::default()), "ok space.ml: created after 0.2s");
        assert_eq!(event_line(&done, unicode), "✓ space.ml: created after 0.2s");
    }

    #[test]
    fn a_large_apply_is_counted_after_the_first_step_lines_but_failures_always_show() {
        let view = EventView::new(ViewMode::Lines, Style::default())
            .with_limits(2, Duration::from_secs(3600));
        let mut state = State::default();
        let create = |i: usize| StepRef {
            index: i,
            kind: StepKind::Create,
            address: format!("user.u{i}").parse().expect("address"),
        };
        let started = |i| Event::Started { step: create(i) };
        let finished = |i| Event::Finished { step: create(i), elapsed: Duration::ZERO };
        let mut shown = |e: &Event| view.shows(&mut state, e);
        // The first two creates get both their lines, in any interleaving.
        assert!(shown(&started(0)) && shown(&started(1)));
        assert!(!shown(&started(2)), "the third is counted");
        assert!(shown(&finished(1)) && shown(&finished(0)));
        assert!(!shown(&finished(2)));
        let failed = Event::Failed {
            step: create(3),
            error: "boom".into(),
            kind: None,
            elapsed: Duration::ZERO,
        };
        assert!(shown(&failed), "failures are always shown");
        let retry = Event::Retrying {
            step: create(4),
            attempt: 1,
            delay: Duration::ZERO,
            reason: "unavailable".into(),
        };
        assert!(shown(&retry), "and retries");
        let build = Event::Started {
            step: StepRef {
                index: 9,
                kind: StepKind::Build,
                address: "template.s.t".parse().expect("address"),
            },
        };
        assert!(shown(&build), "and builds");
        assert!(!shown(&Event::Skipped { step: create(5), reason: "upstream failed".into() }));
        assert_eq!((state.done, state.failed, state.skipped, state.counted), (3, 1, 1, 2));
    }

    #[test]
    fn snapshot_waits_are_lines_and_json_events() {
        use crate::live::kube::SnapshotState;
        let snap = |state| Event::Snapshot {
            step: step(StepKind::Build, "template.ml.gpu"),
            snapshot: "3f2a-b7c9d1".into(),
            namespace: "octelium".into(),
            state,
            elapsed: Duration::from_millis(2500),
        };
        assert_eq!(
            event_line(&snap(SnapshotState::Missing), Style::default()),
            "template.ml.gpu: VolumeSnapshot 3f2a-b7c9d1 not in namespace octelium yet, waiting \
             for it to appear (2.5s)"
        );
        assert_eq!(
            event_line(&snap(SnapshotState::Pending), Style::default()),
            "template.ml.gpu: VolumeSnapshot 3f2a-b7c9d1 pending, waiting for readyToUse (2.5s)"
        );
        let ready = snap(SnapshotState::Ready { restore_size: Some("10Gi".into()) });
        assert!(event_line(&ready, Style::default()).contains("3f2a-b7c9d1 ready (10Gi)"));
        assert_eq!(
            event_json(&ready),
            json!({"event": "snapshot", "step": 2, "kind": "build", "address": "template.ml.gpu",
                   "snapshot": "3f2a-b7c9d1", "namespace": "octelium", "state": "ready",
                   "restore_size": "10Gi", "elapsed_secs": 2.5})
        );
        let failed = event_json(&snap(SnapshotState::Failed { message: "csi".into() }));
        assert_eq!(
            (failed["state"].clone(), failed["message"].clone()),
            ("failed".into(), "csi".into())
        );
    }

    #[test]
    fn stream_lines_carry_a_time_and_failures_are_error_events() {
        let v = stamped(error_json("the lock is held", None));
        assert_eq!(v["event"], "error");
        assert_eq!(v["message"], "the lock is held");
        let t = v["time"].as_str().expect("a time");
        assert!(humantime::parse_rfc3339(t).is_ok(), "{t}");
        let w = warning_json(&json!({"code": "status-ignored", "line": 4}));
        assert_eq!(w, json!({"event": "warning", "code": "status-ignored", "line": 4}));
        assert_eq!(notice_json("stopping", "m")["notice"], "stopping");
    }

    #[test]
    fn json_events_and_the_summary_carry_addresses_and_kinds() {
        let s = step(StepKind::Create, "workspace.ml.box");
        let v = event_json(&Event::Skipped { step: s.clone(), reason: "upstream failed".into() });
        assert_eq!(
            v,
            json!({"event": "skipped", "step": 2, "kind": "create",
                   "address": "workspace.ml.box", "reason": "upstream failed"})
        );
        let o = ApplyOutcome {
            steps: vec![
                StepReport {
                    step: step(StepKind::Create, "space.ml"),
                    status: StepStatus::Done { elapsed: Duration::ZERO },
                },
                StepReport {
                    step: s,
                    status: StepStatus::Skipped { reason: "upstream failed".into() },
                },
            ],
            interrupted: false,
            lock_lost: None,
            elapsed: Duration::from_secs(1),
        };
        let sum = summary_json(&o);
        assert_eq!(sum["success"], false);
        assert_eq!(sum["done"][0]["address"], "space.ml");
        assert_eq!(sum["skipped"][0]["address"], "workspace.ml.box");
        let text = summary_text(&o, Style::default());
        assert!(text.contains("Apply failed: 1 done, 0 failed, 1 skipped"), "{text}");
        assert!(text.contains("create workspace.ml.box (upstream failed)"), "{text}");
    }
}
