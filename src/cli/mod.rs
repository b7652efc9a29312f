//! The command line: clap commands (one file each), exit codes, the terminal. Each command is
//! Args → [`crate::ops::Request`] → `ops::x` → render, and nothing else. With `render`, the only
//! place that prints; the only place that reads the environment.

pub mod apply;
pub mod completions;
pub mod drift;
pub mod exit;
pub mod export;
pub mod fmt;
pub mod force_unlock;
pub mod graph;
pub mod import;
pub mod inspect;
pub mod login;
pub mod man;
pub mod output;
pub mod plan;
pub mod promote;
pub mod serve;
pub mod show;
pub mod status;
pub mod target;
pub mod validate;
pub mod vars;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Manage a Cordium cluster as code: Spaces, Templates, Users, Workspaces and Secrets.
#[derive(Debug, Parser)]
#[command(name = "cordium", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output: `auto` (on a terminal, unless NO_COLOR is set; FORCE_COLOR or
    /// CLICOLOR_FORCE force it), `always`, `never`.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = output::ColorWhen::Auto)]
    pub color: output::ColorWhen,
    /// Never colour output (the same as --color never).
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a config directory: syntax, fields, names, references. Talks to no cluster.
    Validate(validate::Args),
    /// Show what apply would change on the cluster, and why.
    Plan(Box<plan::Args>),
    /// Make the cluster match the config: plan, confirm, apply with progress.
    Apply(Box<apply::Args>),
    /// Delete every object of the stack: plan the deletion, confirm, apply it.
    Destroy(Box<apply::DestroyArgs>),
    /// Adopt an existing object into the stack, after showing how it differs from the config.
    Import(Box<import::Args>),
    /// Write what you can see on the cluster as a config directory that plans with no changes.
    Export(Box<export::Args>),
    /// Report what changed on the cluster outside cordium (exit 2 when something did).
    Drift(Box<drift::Args>),
    /// Render a saved plan.
    Show(show::Args),
    /// Show what the stack manages on the cluster, one row per object.
    Status(Box<status::Args>),
    /// Print the config's dependency graph as DOT.
    Graph(graph::Args),
    /// Rewrite HCL files in canonical format.
    Fmt(fmt::Args),
    /// Sign in to a remote cluster: open (or reuse) the cached session and say who you are.
    Login(login::Args),
    /// End the cached session of a remote cluster (auth.v1 Logout).
    Logout(login::Args),
    /// Remove the stack's apply lock on a remote cluster, when its holder is gone.
    ForceUnlock(Box<force_unlock::Args>),
    /// Serve the local cluster over gRPC (the same services as a real cluster).
    Serve(Box<serve::Args>),
    /// Print a shell completion script.
    Completions(completions::Args),
    /// Plan an environment and show whether it gets exactly what another one ran.
    Promote(Box<promote::Args>),
    /// Print the manual page (roff), or write one per command.
    Man(man::Args),
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let parsed =
        Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(x) => x,
        Err(e) => {
            // clap renders help/version to stdout and usage errors to stderr itself.
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => exit::Exit::Error.into(),
            };
        }
    };
    output::set_color(cli.color, cli.no_color);
    let code = match cli.command {
        Command::Validate(args) => validate::run(args, matches.subcommand_matches("validate")),
        Command::Plan(args) => plan::run(*args, matches.subcommand_matches("plan")),
        Command::Apply(args) => apply::run(*args, matches.subcommand_matches("apply"), false),
        Command::Destroy(args) => apply::run_destroy(*args, matches.subcommand_matches("destroy")),
        Command::Export(args) => export::run(*args),
        Command::Import(args) => import::run(*args, matches.subcommand_matches("import")),
        Command::Drift(args) => drift::run(*args, matches.subcommand_matches("drift")),
        Command::Show(args) => show::run(args),
        Command::Status(args) => status::run(*args, matches.subcommand_matches("status")),
        Command::Graph(args) => graph::run(args, matches.subcommand_matches("graph")),
        Command::Fmt(args) => fmt::run(args),
        Command::Login(args) => login::run_login(args),
        Command::Logout(args) => login::run_logout(args),
        Command::ForceUnlock(args) => {
            force_unlock::run(*args, matches.subcommand_matches("force-unlock"))
        }
        Command::Serve(args) => serve::run(*args),
        Command::Completions(args) => completions::run(args),
        Command::Promote(args) => promote::run(*args, matches.subcommand_matches("promote")),
        Command::Man(args) => man::run(args),
    };
    code.into()
}

pub use crate::ops::block_on;
