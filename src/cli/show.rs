//! `cordium show FILE`: render a saved plan.

use std::path::PathBuf;

use super::exit::Exit;
use super::output::{self, PlanFormat};

/// Render a plan saved by `cordium plan --out FILE`, in any format.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub output: PlanFormat,
}

pub fn run(args: Args) -> Exit {
    match crate::ops::plan::read(&args.file) {
        Ok(plan) => {
            output::print_stdout(&output::plan_text(&plan, args.output, output::stdout_style()));
            Exit::Ok
        }
        Err(e) if args.output == PlanFormat::Github => output::failure_github(e),
        Err(e) => output::failure(e, args.output == PlanFormat::Json),
    }
}
