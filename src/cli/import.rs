//! `cordium import ADDRESS ID`: adopt an existing object into the stack.

use std::path::PathBuf;

use clap::ArgMatches;

use super::apply::RunFlags;
use super::exit::Exit;
use super::plan::PlanFlags;
use crate::model::Address;

/// Adopt an existing object into the stack as the declared resource ADDRESS.
///
/// ID is the live object's name: `NAME.SPACE` (the owner is you) or `NAME.SPACE.OWNER`; for a
/// Workspace its stored name or its display name. The resource must be declared in the config
/// as the object should be. Shows the plan of ADDRESS (and what it needs), with the difference
/// between the live object and the config ("will be imported"), asks for confirmation (or
/// --auto-approve), then labels the object as the stack's and makes it match the config. The
/// same as an `import { to = ADDRESS  id = "ID" }` block applied with `--target ADDRESS`; see
/// docs/import-export.md.
///
/// Exit codes: 0 = imported, 1 = error (the address is not declared, no object has the id, it
/// is another stack's), 3 = refused by --fail-on.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The resource address to import to, e.g. `template.ml.gpu`.
    #[arg(value_name = "ADDRESS")]
    pub address: Address,
    /// The live object's name, e.g. `gpu.ml`.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The config directory.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub config_dir: PathBuf,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Import without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

pub fn run(args: Args, matches: Option<&ArgMatches>) -> Exit {
    let apply = super::apply::Args {
        path: args.config_dir,
        config_dir: None,
        flags: args.flags,
        replaces: Vec::new(),
        auto_approve: args.auto_approve,
        run: args.run,
        build_timeout: None,
        imports: vec![(args.address, args.id)],
        record: None,
    };
    super::apply::run(apply, matches, false)
}
