//! `cordium promote`: flags → [`PromoteRequest`] → `ops::promote::promote` → the report.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::plan::PlanFlags;
use crate::ops::promote::PromoteRequest;

/// How the promotion report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PromoteFormat {
    /// The production plan, then one line per change: tested or untested, and why.
    Human,
    /// The report document (schemas/promote.v1.json), the plan inside it.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
    /// One self-contained HTML review page.
    Html,
}

/// Plan the `--to` environment and show, per object, whether it gets exactly what the `--from`
/// environment ran.
///
/// A change is *tested* when the `--from` environment ran the same spec (after each
/// environment's values are applied; sensitive values masked, and compared by keyed digest when
/// CORDIUM_RECORD_KEY is set) and, for a Template, the same snapshot build inputs as a build
/// that succeeded there ("carries over: same inputs as staging build X"). Anything else is
/// *untested*, with the fields that differ. What the `--from` environment ran is read from an
/// apply record (`cordium apply --record FILE`) when --record is given, else from its cluster:
/// then only objects its own plan leaves unchanged count as run there.
///
/// Each environment's target comes from the stack file (`--endpoint`, `--domain`, `--local`,
/// CORDIUM_ENDPOINT and OCTELIUM_DOMAIN are not used).
///
/// Exit codes: 0 = reported (or nothing to promote), 1 = error, 3 = --require-tested and some
/// change is untested.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// The environment the change ran in (a stack file environment).
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment to promote it to (planned now).
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// An apply record of the --from environment (`cordium apply --env ENV --record FILE`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Exit 3, after the report, when any change is untested.
    #[arg(long)]
    pub require_tested: bool,
    /// Save the --to plan to FILE, for `cordium apply FILE` (the exact plan this report is
    /// about).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the report as an HTML review page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PromoteFormat::Human)]
    pub output: PromoteFormat,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let json = args.output == PromoteFormat::Json;
    if args.flags.vars.env.is_some() {
        output::print_stderr("Error: promote takes --from and --to, not --env.\n");
        return Exit::Error;
    }
    if args.from == args.to {
        output::print_stderr("Error: --from and --to name the same environment.\n");
        return Exit::Error;
    }
    let req = PromoteRequest {
        plan: args.flags.request(args.dir.clone(), matches, false),
        from: args.from.clone(),
        to: args.to.clone(),
        record: args.record.clone(),
        key: super::target::record_key(),
    };
    let promotion = match super::block_on(crate::ops::promote::promote(&req)) {
        Ok(p) => p,
        Err(e) => return output::failure(e, json),
    };
    let planned = &promotion.planned;
    output::warnings(&planned.warnings, &planned.loaded);
    if let Some(path) = &args.out {
        if let Err(e) = crate::ops::plan::save(&planned.plan, path) {
            return output::failure(e, json);
        }
    }
    let edges = || crate::render::html::edges_of(&planned.plan, Some(&planned.model));
    if let Some(path) = &args.html {
        let page = crate::render::promote::html(&promotion.report, &edges());
        if let Err(e) = std::fs::write(path, page) {
            output::print_stderr(&format!("Error: cannot write {}: {e}\n", path.display()));
            return Exit::Error;
        }
    }
    let report = &promotion.report;
    output::print_stdout(&match args.output {
        PromoteFormat::Human => crate::render::promote::human(report, output::stdout_style()),
        PromoteFormat::Json => report.to_json(),
        PromoteFormat::Markdown => crate::render::promote::markdown(report),
        PromoteFormat::Html => crate::render::promote::html(report, &edges()),
    });
    let untested = report.summary.untested;
    if args.require_tested && untested > 0 {
        output::print_stderr(&format!(
            "Error: {untested} change(s) of the {} plan never ran in that form in {} \
             (--require-tested).\n",
            args.to, args.from
        ));
        return Exit::Gated;
    }
    Exit::Ok
}
