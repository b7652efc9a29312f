//! The flags every command that loads a config shares (`--env`, `--var`, `--var-file`), and
//! turning them plus `CORDIUM_VAR_<name>` into [`LoadOptions`]. Reads the environment (cli may).

use std::path::PathBuf;

use clap::ArgMatches;

use crate::config::{LoadOptions, VarArg};

/// Prefix of environment variables that set config variables: `CORDIUM_VAR_branch=main`.
pub const ENV_PREFIX: &str = "CORDIUM_VAR_";

/// `--env`, `--var` and `--var-file`; flatten into a command's `Args`.
#[derive(Debug, Clone, clap::Args)]
pub struct VarFlags {
    /// Use this environment of the stack file (`cordium.hcl`): its variable files apply.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Set a variable, e.g. `--var branch=main`. Repeatable; with --var-file, later wins.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub var: Vec<(String, String)>,
    /// Read variables from a file. Repeatable; applied in the order given, with --var.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
    /// Refuse YAML documents of kinds cordium does not manage (Octelium Namespaces, Services,
    /// IdentityProviders, …) instead of skipping them with one warning per kind.
    #[arg(long)]
    pub strict_kinds: bool,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

impl VarFlags {
    /// The load options: `CORDIUM_VAR_*` from the environment, and `--var`/`--var-file` in the
    /// order they were given (`matches` are the command's own matches, for argument positions).
    pub fn load_options(&self, matches: Option<&ArgMatches>) -> LoadOptions {
        let mut ordered: Vec<(usize, VarArg)> = Vec::new();
        let indices = |id: &str| -> Vec<usize> {
            matches.and_then(|m| m.indices_of(id)).map(|i| i.collect()).unwrap_or_default()
        };
        let var_idx = indices("var");
        let file_idx = indices("var_file");
        for (i, (name, value)) in self.var.iter().enumerate() {
            let at = var_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
            ordered.push((at, VarArg::Var { name: name.clone(), value: value.clone() }));
        }
        for (i, f) in self.var_file.iter().enumerate() {
            let at = file_idx.get(i).copied().unwrap_or(usize::MAX / 2 + i);
            ordered.push((at, VarArg::File(f.clone())));
        }
        ordered.sort_by_key(|(i, _)| *i);
        LoadOptions {
            env: self.env.clone(),
            env_vars: env_vars(),
            vars: ordered.into_iter().map(|(_, v)| v).collect(),
            strict_kinds: self.strict_kinds,
            // A flag of plan, apply and destroy (`PlanFlags`), which set it.
            allow_outside_files: false,
        }
    }
}

/// `CORDIUM_VAR_<name>` variables, sorted by name.
fn env_vars() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            let name = k.strip_prefix(ENV_PREFIX)?;
            (!name.is_empty()).then(|| (name.to_string(), v.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        vars: VarFlags,
    }

    #[test]
    fn vars_and_var_files_keep_their_order() {
        let m = T::command()
            .try_get_matches_from([
                "t",
                "--var-file",
                "a.hcl",
                "--var",
                "x=1",
                "--var-file",
                "b.hcl",
            ])
            .expect("parses");
        let t = T::from_arg_matches(&m).expect("typed");
        let opts = t.vars.load_options(Some(&m));
        assert_eq!(
            opts.vars,
            vec![
                VarArg::File("a.hcl".into()),
                VarArg::Var { name: "x".into(), value: "1".into() },
                VarArg::File("b.hcl".into()),
            ]
        );
        assert!(parse_var("novalue").is_err());
        assert_eq!(parse_var("a=b=c"), Ok(("a".into(), "b=c".into())));
    }
}
