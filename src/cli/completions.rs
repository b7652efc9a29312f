//! `cordium completions SHELL`: shell completion scripts, generated from the command definitions.

use clap::CommandFactory;

use super::exit::Exit;
use super::output;

/// Print a completion script for SHELL, e.g. `cordium completions bash > /etc/bash_completion.d/cordium`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> Exit {
    let mut cmd = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cordium", &mut script);
    output::print_stdout(&String::from_utf8_lossy(&script));
    Exit::Ok
}
