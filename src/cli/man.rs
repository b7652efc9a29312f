//! `cordium man`: the manual page, generated from the same clap definitions as `--help`
//! (clap_mangen), so it cannot drift from the commands.

use std::path::PathBuf;

use clap::CommandFactory;

use super::exit::Exit;
use super::output;

/// Print the manual page (roff) of cordium, or write one page per command to a directory.
///
/// `cordium man | man -l -` reads it; `cordium man --out DIR` writes `cordium.1` and
/// `cordium-<command>.1` for every command (for packaging).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write `cordium.1` and `cordium-<command>.1` into this directory instead of printing.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The roff text of the page of `cmd`.
pub fn page(cmd: clap::Command) -> String {
    let mut buf = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(cmd).render(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

pub fn run(args: Args) -> Exit {
    let cmd = super::Cli::command();
    let Some(dir) = args.out else {
        output::print_stdout(&page(cmd));
        return Exit::Ok;
    };
    let mut pages = vec![("cordium.1".to_string(), page(cmd.clone()))];
    for sub in cmd.get_subcommands() {
        let name = format!("cordium-{}", sub.get_name());
        pages.push((
            format!("{name}.1"),
            page(sub.clone().display_name(name.clone()).bin_name(name)),
        ));
    }
    for (file, text) in pages {
        if let Err(e) = std::fs::write(dir.join(&file), text) {
            output::print_stderr(&format!(
                "Error: cannot write {}: {e}\n",
                dir.join(file).display()
            ));
            return Exit::Error;
        }
    }
    Exit::Ok
}
