//! The flags the commands that read a stack without changing it share (`drift`, `status`,
//! `export`): variables, the cluster, the stack name, logout.

use std::path::PathBuf;

use clap::ArgMatches;

use super::target::{read_env, TargetArgs};
use super::vars::VarFlags;
use crate::ops::Request;

#[derive(Debug, Clone, clap::Args)]
pub struct InspectFlags {
    #[command(flatten)]
    pub vars: VarFlags,
    #[command(flatten)]
    pub cluster: TargetArgs,
    /// The stack's name, for a config without a stack file (also `CORDIUM_STACK`).
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// End the session after the command (auth.v1 Logout), as `CORDIUM_LOGOUT=true` does.
    #[arg(long)]
    pub logout: bool,
}

/// Human text, JSON or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

impl InspectFlags {
    /// The request these flags mean for the config in `dir`.
    pub fn request(&self, dir: PathBuf, matches: Option<&ArgMatches>) -> Request {
        let mut env = read_env();
        env.auth.logout |= self.logout;
        self.cluster.apply_auth(&mut env.auth);
        Request {
            load: self.vars.load_options(matches),
            target: self.cluster.flags(),
            env,
            stack: self.stack.clone(),
            ..Request::new(dir)
        }
    }
}
