//! `cordium plan`: show exactly what apply would change on the cluster, and why.

use std::path::PathBuf;
use std::sync::Arc;

use clap::ArgMatches;

use super::exit::Exit;
use super::output::{self, PlanFormat};
use super::target::{read_env, KubeArgs, TargetArgs};
use super::vars::VarFlags;
use crate::apply::SecretValues;
use crate::model::Address;
use crate::model::SecretSource;
use crate::ops::settings::SecretReader;
use crate::ops::Request;

/// Largest file a Secret's `from_file` may name (the server takes 1500 bytes; the plan says so).
const MAX_SECRET_FILE_BYTES: u64 = 4 << 20;

/// Reads Secret values, at plan time (to check them) and at apply time: environment variables,
/// and files relative to the config root, confined to it unless `--allow-outside-files`. Errors
/// name the source, never a value.
pub struct SourceValues {
    pub root: PathBuf,
    pub allow_outside: bool,
}

impl SecretValues for SourceValues {
    fn read(&self, _: &Address, source: &SecretSource) -> Result<String, String> {
        match source {
            SecretSource::Env(name) => std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set (or not UTF-8)")),
            SecretSource::File(path) => {
                let full = self.root.join(path);
                let cannot =
                    |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", full.display());
                // What the path is first (a FIFO, a device), then where it is.
                if let Ok(meta) = std::fs::metadata(&full) {
                    if let Some(what) = crate::config::read::not_regular(&meta) {
                        return Err(cannot(&format!("it is {what}, not a regular file")));
                    }
                }
                if !self.allow_outside {
                    let inside = match (self.root.canonicalize(), full.canonicalize()) {
                        (Ok(root), Ok(real)) => real.starts_with(root),
                        (Err(e), _) => return Err(format!("cannot read the config root: {e}")),
                        (_, Err(e)) => return Err(cannot(&e)),
                    };
                    if !inside {
                        return Err(format!(
                            "{path:?} is outside the config root; from_file reads only files \
                             under it unless --allow-outside-files is given"
                        ));
                    }
                }
                crate::config::read::regular_text(&full, MAX_SECRET_FILE_BYTES)
                    .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                    .map_err(|e| cannot(&e))
            }
        }
    }
}

/// Show what `apply` would change on the cluster, and why.
///
/// Reads the config directory and the live cluster (one List per kind per Space), and prints
/// every create, update (field by field), replace (with the field that forces it) and destroy,
/// and every Template snapshot build with its reason and an estimate. Secret and sensitive
/// values are masked in every format.
///
/// Exit codes: 0 = no changes (or changes, without --detailed-exitcode), 1 = error,
/// 2 = changes present with --detailed-exitcode, 3 = the plan has what --fail-on names.
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
    /// Also write the plan as one self-contained HTML review page to FILE (summary, the
    /// dependency graph with changed nodes highlighted, collapsible per-resource diffs; masked
    /// as every output). `--output html` prints that page instead.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the JSON plan document (schemas/plan.v1.json, warnings included) to FILE, in
    /// the same run as the chosen output.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0 only when there are none).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Exit 3, after showing (and saving) the plan, when it has any of these: `destroy`,
    /// `replace`, `build` (a snapshot build starts), `any` (any change). Comma-separated or
    /// repeated; beats --detailed-exitcode.
    #[arg(long, value_name = "WHAT", value_enum, value_delimiter = ',')]
    pub fail_on: Vec<crate::ops::plan::FailOn>,
}

/// The flags `plan` and `apply` share: variables, the cluster, the selection, prune.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFlags {
    #[command(flatten)]
    pub vars: VarFlags,
    #[command(flatten)]
    pub cluster: TargetArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Only this resource and what it depends on, e.g. `template.ml.gpu`. Repeatable. An
    /// address that matches nothing in the config or on the cluster is an error.
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
    /// Leave this resource, and what depends on it, out. Repeatable; must match something.
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
    /// The stack's name, for a config without a stack file (also `CORDIUM_STACK`). Every target
    /// but the implicit local cluster needs one; prefer `stack "NAME" {}` in cordium.hcl.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Let a Secret's `from_file` and HCL's `file()` name a file outside the config root
    /// (refused by default, so that a config cannot copy other files of the machine into a
    /// Secret).
    #[arg(long)]
    pub allow_outside_files: bool,
}

impl PlanFlags {
    /// The request these flags mean for the config in `dir`.
    pub fn request(&self, dir: PathBuf, matches: Option<&ArgMatches>, destroy: bool) -> Request {
        let mut env = read_env();
        env.auth.logout |= self.logout;
        self.cluster.apply_auth(&mut env.auth);
        Request {
            load: crate::config::LoadOptions {
                allow_outside_files: self.allow_outside_files,
                ..self.vars.load_options(matches)
            },
            target: self.cluster.flags(),
            kube: self.kube.flags(),
            env,
            prune: self.prune,
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            destroy,
            stack: self.stack.clone(),
            secrets: Some(SecretReader(Arc::new(SourceValues {
                root: dir.clone(),
                allow_outside: self.allow_outside_files,
            }))),
            allow_outside_files: self.allow_outside_files,
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
    let fail = |e| match args.output {
        PlanFormat::Github => output::failure_github(e),
        _ => output::failure(e, json),
    };
    let mut planned = match super::block_on(crate::ops::plan::plan(req)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    output::warnings(&planned.warnings, &planned.loaded);
    let doc = crate::render::PlanDoc::from_plan(&planned.plan)
        .with_warnings(&planned.warnings, &planned.loaded.sources);
    // Kept with a saved plan, so that `show FILE` shows what this run shows.
    planned.plan.origin.warnings =
        doc.warnings.iter().filter_map(|w| serde_json::to_value(w).ok()).collect();
    if let Some(path) = &args.out {
        if let Err(e) = crate::ops::plan::save(&planned.plan, path) {
            return fail(e);
        }
    }
    if let Some(path) = &args.json_out {
        if !output::write_file(path, &doc.to_json()) {
            return Exit::Error;
        }
    }
    let page = || {
        let edges = crate::render::html::edges_of(&planned.plan, Some(&planned.model));
        crate::render::html::page(&doc, &edges, &Default::default())
    };
    if let Some(path) = &args.html {
        if !output::write_file(path, &page()) {
            return Exit::Error;
        }
    }
    if args.output == PlanFormat::Html {
        output::print_stdout(&page());
    } else {
        output::print_stdout(&output::doc_text(&doc, args.output, output::stdout_style()));
    }
    if let Some(path) = &args.out {
        if args.output == PlanFormat::Human {
            output::print_stderr(&format!(
                "Saved the plan to {}. Apply it with: cordium apply {}\n",
                path.display(),
                path.display()
            ));
        }
    }
    let tripped = crate::ops::plan::tripped(&planned.plan, &args.fail_on);
    let exit = if !tripped.is_empty() {
        output::print_stderr(&format!("Error: {}.\n", tripped.join("; ")));
        Exit::Gated
    } else if args.detailed_exitcode && planned.plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    };
    // The process ends next: the plan, the model and the loaded config (at 50,000 resources
    // millions of small allocations, a tenth of the command's time to free) are left to the OS.
    // The cluster is dropped as usual (a local store closes its database).
    let crate::ops::plan::Planned { plan, model, loaded, cluster, .. } = planned;
    drop(cluster);
    std::mem::forget((plan, model, loaded));
    exit
}
