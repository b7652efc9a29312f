//! `cordium plan`: show exactly what apply would change on the cluster, and why.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::output::{self, PlanFormat};
use super::target::{read_env, TargetArgs};
use super::vars::VarFlags;
use crate::model::Address;
use crate::ops::Request;

/// Show what `apply` would change on the cluster, and why.
///
/// Reads the config directory and the live cluster (one List per kind per Space), and prints
/// every create, update (field by field), replace (with the field that forces it) and destroy,
/// and every Template snapshot build with its reason and an estimate. Secret and sensitive
/// values are masked in every format.
///
/// Exit codes: 0 = no changes (or changes, without --detailed-exitcode), 1 = error,
/// 2 = changes present with --detailed-exitcode.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config directory.
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Plan the deletion of every object of the stack (what `cordium destroy` asks to confirm),
    /// to review it or save it with --out and carry it out with `cordium apply FILE`.
    #[arg(long)]
    pub destroy: bool,
    /// Replace this resource although nothing forces it (delete and create it; a Workspace's
    /// successor is created first), e.g. `workspace.ml.box`. Repeatable.
    #[arg(long = "replace", value_name = "ADDR")]
    pub replaces: Vec<Address>,
    /// Save the plan to FILE, for `cordium apply FILE` and `cordium show FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub output: PlanFormat,
    /// Exit 2 when the plan has changes (0 only when there are none).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// The flags `plan` and `apply` share: variables, the cluster, the selection, prune.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFlags {
    #[command(flatten)]
    pub vars: VarFlags,
    #[command(flatten)]
    pub cluster: TargetArgs,
    /// Only this resource and what it depends on, e.g. `template.ml.gpu`. Repeatable.
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
    /// Leave this resource, and what depends on it, out. Repeatable.
    #[arg(long = "exclude", value_name = "ADDR")]
    pub excludes: Vec<Address>,
    /// Destroy objects labelled with this stack that are no longer in the config (also set by
    /// `prune = true` in the stack file).
    #[arg(long)]
    pub prune: bool,
    /// End the session after the command (auth.v1 Logout) and remove it from the cache, as
    /// `CORDIUM_LOGOUT=true` does. Without it the session is cached for the next run.
    #[arg(long)]
    pub logout: bool,
}

impl PlanFlags {
    /// The request these flags mean for the config in `dir`.
    pub fn request(&self, dir: PathBuf, matches: Option<&ArgMatches>, destroy: bool) -> Request {
        let mut env = read_env();
        env.auth.logout |= self.logout;
        Request {
            load: self.vars.load_options(matches),
            target: self.cluster.flags(),
            env,
            prune: self.prune,
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            destroy,
            ..Request::new(dir)
        }
    }
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let mut req = args.flags.request(args.dir.clone(), matches, args.destroy);
    req.replaces = args.replaces.clone();
    let exit = plan(&args, &req);
    super::login::logout_after(&req);
    exit
}

fn plan(args: &Args, req: &Request) -> Exit {
    let json = args.output == PlanFormat::Json;
    let planned = match super::block_on(crate::ops::plan::plan(req)) {
        Ok(p) => p,
        Err(e) => return output::failure(e, json),
    };
    output::warnings(&planned.warnings, &planned.loaded);
    if let Some(path) = &args.out {
        if let Err(e) = crate::ops::plan::save(&planned.plan, path) {
            return output::failure(e, json);
        }
    }
    output::print_stdout(&output::plan_text(&planned.plan, args.output, output::stdout_style()));
    if let Some(path) = &args.out {
        if args.output == PlanFormat::Human {
            output::print_stderr(&format!(
                "Saved the plan to {}. Apply it with: cordium apply {}\n",
                path.display(),
                path.display()
            ));
        }
    }
    if args.detailed_exitcode && planned.plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}
