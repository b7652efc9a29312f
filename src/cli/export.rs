//! `cordium export`: the cluster as a config directory.

use std::path::PathBuf;

use super::exit::Exit;
use super::output;
use super::target::{read_env, TargetArgs};
use crate::ops::export::{ExportFormat, ExportRequest};
use crate::ops::Request;

/// Write what you can see on the cluster as a config directory that plans with no changes.
///
/// One file per kind (`spaces.hcl`, `templates.hcl`, ...), a stack file, Secrets as
/// declarations that read their value `from_env` (a placeholder variable
/// `CORDIUM_SECRET_<SPACE>_<NAME>`: values are never read). Objects no stack manages are left
/// out and listed, or with --adopt written with an `import` block each (applying the directory
/// adopts them). Objects another stack manages are left out and listed. The stack is --stack,
/// else the one stack that labels what is read.
/// See docs/import-export.md.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to write (new, or empty).
    #[arg(value_name = "OUTDIR")]
    pub out: PathBuf,
    /// Only this Space (its config name, e.g. `ml`) and what is in it. Repeatable.
    #[arg(long = "space", value_name = "NAME")]
    pub spaces: Vec<String>,
    /// The format of the files written.
    #[arg(long, value_enum, default_value_t = ExportFormat::Hcl)]
    pub format: ExportFormat,
    #[command(flatten)]
    pub cluster: TargetArgs,
    /// The stack the exported config is (its objects must be this stack's or no stack's).
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Also write the objects no stack manages, each with an `import` block, so that applying
    /// the directory adopts them into the stack.
    #[arg(long)]
    pub adopt: bool,
    /// End the session after the command (auth.v1 Logout).
    #[arg(long)]
    pub logout: bool,
}

pub fn run(args: Args) -> Exit {
    let mut env = read_env();
    env.auth.logout |= args.logout;
    let req = Request {
        target: args.cluster.flags(),
        env,
        stack: args.stack.clone(),
        ..Request::new(".")
    };
    let x = ExportRequest {
        req,
        spaces: args.spaces,
        format: args.format,
        out: args.out,
        adopt: args.adopt,
    };
    let result = super::block_on(crate::ops::export::export(&x));
    super::login::logout_after(&x.req);
    let done = match result {
        Ok(d) => d,
        Err(e) => return output::failure(e, false),
    };
    let counts: Vec<String> = done.counts.iter().map(|(k, n)| format!("{n} {k}(s)")).collect();
    let mut text = format!(
        "Exported stack `{}` to {}: {}.\n",
        done.stack,
        x.out.display(),
        if counts.is_empty() { "nothing".to_string() } else { counts.join(", ") }
    );
    if !done.imports.is_empty() {
        text.push_str(&format!(
            "{} object(s) managed by no stack are imported on the next apply: {}.\n",
            done.imports.len(),
            done.imports.join(", ")
        ));
    }
    for l in &done.left_out {
        text.push_str(&format!("Left out: {l}.\n"));
    }
    output::print_stdout(&text);
    Exit::Ok
}
