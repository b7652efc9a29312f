//! `cordium force-unlock [DIR] ID`: flags → request → `ops::force_unlock` → one line.

use std::path::PathBuf;

use clap::ArgMatches;

use super::exit::Exit;
use super::output;
use super::target::{read_env, KubeArgs, TargetArgs};
use super::vars::VarFlags;
use crate::ops::Request;

/// Remove the stack's apply lock on a remote cluster, when its holder is gone.
///
/// ID is the lock id a refused apply printed (`Lock id …`); the lock is removed only while that
/// holder still holds it, so a lock taken again since is left alone. Use it when the holder
/// cannot release it (a runner killed with SIGKILL) and waiting for the lock to expire is not
/// an option; a holder still running stops at its next renewal (the lock is lost). The embedded
/// local cluster's lock is a file lock the OS releases when its process ends: nothing to
/// remove.
///
/// Exit codes: 0 = removed, 1 = not held, held by another id, or any error.
#[derive(Debug, clap::Args)]
#[command(override_usage = "cordium force-unlock [OPTIONS] [DIR] ID")]
pub struct Args {
    /// The config directory (its stack file names the stack and the environments), then the
    /// lock id. With one argument, it is the id and the directory is `.`.
    #[arg(value_name = "DIR|ID", num_args = 1..=2, required = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub vars: VarFlags,
    #[command(flatten)]
    pub cluster: TargetArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The stack's name, for a config without a stack file (also `CORDIUM_STACK`).
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let (dir, id) = match args.args.as_slice() {
        [id] => (PathBuf::from("."), id.clone()),
        [dir, id, ..] => (PathBuf::from(dir), id.clone()),
        [] => return Exit::Error,
    };
    let req = Request {
        load: args.vars.load_options(matches),
        target: args.cluster.flags(),
        kube: args.kube.flags(),
        env: read_env(),
        stack: args.stack.clone(),
        ..Request::new(dir)
    };
    let exit = match super::block_on(crate::ops::force_unlock::force_unlock(&req, &id)) {
        Ok(u) => {
            output::print_stdout(&format!(
                "Removed {} of stack `{}` on {}, held by {} (lock id {}).\n",
                u.place, u.stack, u.target, u.holder, u.holder.id
            ));
            Exit::Ok
        }
        Err(e) => output::failure(e, false),
    };
    super::login::logout_after(&req);
    exit
}
