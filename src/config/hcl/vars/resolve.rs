//! Precedence and resolution: collects every assignment to every declared variable, in
//! Terraform's order (lowest first: `default`, `CORDIUM_VAR_<name>`, the environment's var files,
//! then `--var-file` and `--var` as given), keeps the last, converts it to its type and runs its
//! validations. Must not read the environment; the caller passes `CORDIUM_VAR_*` values in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::decl::VarDecl;
use super::file::read_var_file;
use super::types::{convert, Type};
use crate::config::hcl::eval::{node_to_value, span_of, Scope};
use crate::config::{LoadOptions, VarArg};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Sources, Span};

/// One assignment of a value to a variable, from one source.
struct Assigned {
    name: String,
    value: hcl::Value,
    span: Option<Span>,
    /// "the default", "CORDIUM_VAR_x", "env/staging.hcl", "--var"
    source: String,
}

/// Resolved variables, for [`Scope::set_vars`].
pub(in crate::config::hcl) struct Resolved {
    pub values: Vec<(String, hcl::Value, bool)>,
    pub failed: BTreeSet<String>,
}

/// Finds every variable's value from every source, converts it to its type and runs its
/// validations. `env_files`: the selected environment's var files (root-relative, already
/// checked to exist by the stack loader; missing ones are skipped).
pub(in crate::config::hcl) fn resolve(
    decls: &[VarDecl],
    root: &Path,
    env_files: &[PathBuf],
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Resolved {
    let declared = |name: &str| decls.iter().any(|d| d.name == name);
    let mut assigned: Vec<Assigned> = Vec::new();
    let literal = Scope::literal("a variable default");
    let mut failed = BTreeSet::new();

    for d in decls {
        if let Some(expr) = &d.default {
            match literal.eval(expr, d.file, diags) {
                Some(node) => assigned.push(Assigned {
                    name: d.name.clone(),
                    value: node_to_value(&node),
                    span: Some(node.span),
                    source: "the default".into(),
                }),
                None => {
                    failed.insert(d.name.clone());
                }
            }
        }
    }

    let undeclared = |name: &str, span: Option<Span>, source: &str, diags: &mut Diagnostics| {
        let names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        let help = match did_you_mean(name, names.iter().copied()) {
            Some(s) => format!("Did you mean `{s}`? Otherwise declare it or remove the value."),
            None => format!("Declare it with `variable \"{name}\" {{}}` or remove the value."),
        };
        diags.push(
            Diagnostic::warning(
                "undeclared-variable",
                format!("A value for the undeclared variable `{name}` is given by {source}; it is ignored."),
            )
            .at_opt(span)
            .help(help),
        );
    };

    let text_value = |name: &str,
                      text: &str,
                      label: String,
                      sources: &mut Sources,
                      diags: &mut Diagnostics| {
        let file = sources.add(label.clone(), text.to_string());
        let span = Span::new(file, 0, text.len());
        let decl = decls.iter().find(|d| d.name == name)?;
        if decl.ty == Type::String {
            return Some(Assigned {
                name: name.into(),
                value: hcl::Value::from(text),
                span: Some(span),
                source: label,
            });
        }
        let parsed = hcl_edit::parser::parse_expr(text);
        match parsed {
            Ok(expr) => {
                let mut local = Diagnostics::new();
                match Scope::literal("a variable value").eval(&expr, file, &mut local) {
                    Some(node) => Some(Assigned {
                        name: name.into(),
                        value: node_to_value(&node),
                        span: Some(span),
                        source: label,
                    }),
                    None if decl.ty == Type::Any => Some(Assigned {
                        name: name.into(),
                        value: hcl::Value::from(text),
                        span: Some(span),
                        source: label,
                    }),
                    None => {
                        diags.extend(local);
                        None
                    }
                }
            }
            Err(_) if decl.ty == Type::Any => Some(Assigned {
                name: name.into(),
                value: hcl::Value::from(text),
                span: Some(span),
                source: label,
            }),
            Err(e) => {
                let msg = if decl.sensitive {
                    "(hidden: the variable is sensitive)".to_string()
                } else {
                    e.message().to_string()
                };
                diags.push(
                    Diagnostic::error(
                        "invalid-variable-value",
                        format!("The value of {label} is not a valid {} expression: {msg}.", decl.ty),
                    )
                    .at(span)
                    .help(format!("Variables of type {} take HCL values, e.g. `[\"a\", \"b\"]` or `{{ a = 1 }}`.", decl.ty)),
                );
                None
            }
        }
    };

    for (raw_name, text) in &opts.env_vars {
        let name = raw_name.strip_prefix("CORDIUM_VAR_").unwrap_or(raw_name);
        let label = format!("CORDIUM_VAR_{name}");
        if !declared(name) {
            undeclared(name, None, &format!("the environment variable {label}"), diags);
            continue;
        }
        if let Some(a) = text_value(name, text, label, sources, diags) {
            assigned.push(a);
        }
    }

    for f in env_files {
        let path = root.join(f);
        if path.is_file() {
            read_var_file(&path, f, sources, diags, &mut |name, value, span, source, diags| {
                if declared(name) {
                    assigned.push(Assigned { name: name.into(), value, span: Some(span), source });
                } else {
                    undeclared(name, Some(span), &format!("the var file {source}"), diags);
                }
            });
        }
    }

    for arg in &opts.vars {
        match arg {
            VarArg::File(path) => {
                if !path.is_file() {
                    diags.push(
                        Diagnostic::error(
                            "missing-var-file",
                            format!(
                                "The var file {} given with --var-file does not exist.",
                                path.display()
                            ),
                        )
                        .help("Check the path; it is relative to the current directory."),
                    );
                    continue;
                }
                read_var_file(
                    path,
                    path,
                    sources,
                    diags,
                    &mut |name, value, span, source, diags| {
                        if declared(name) {
                            assigned.push(Assigned {
                                name: name.into(),
                                value,
                                span: Some(span),
                                source,
                            });
                        } else {
                            undeclared(name, Some(span), &format!("the var file {source}"), diags);
                        }
                    },
                );
            }
            VarArg::Var { name, value } => {
                let label = format!("--var {name}");
                if !declared(name) {
                    undeclared(name, None, &format!("`{label}=...`"), diags);
                    continue;
                }
                if let Some(a) = text_value(name, value, label, sources, diags) {
                    assigned.push(a);
                }
            }
        }
    }

    let mut values = Vec::new();
    for d in decls {
        let Some(last) = assigned.iter().rev().find(|a| a.name == d.name) else {
            if !failed.contains(&d.name) {
                diags.push(
                    Diagnostic::error("missing-variable", format!("The variable `{}` has no value.", d.name))
                        .at(d.span)
                        .help(format!(
                            "Give it a `default`, pass `--var {0}=...`, set CORDIUM_VAR_{0}, or set it in a var file.",
                            d.name
                        )),
                );
            }
            failed.insert(d.name.clone());
            continue;
        };
        let value = match convert(last.value.clone(), &d.ty) {
            Ok(v) => v,
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "invalid-variable-value",
                        format!(
                            "The value of `{}` from {} does not fit its type {}: {e}.",
                            d.name, last.source, d.ty
                        ),
                    )
                    .at_opt(last.span)
                    .related(d.span, "declared here"),
                );
                failed.insert(d.name.clone());
                continue;
            }
        };
        if !validate(d, &value, last, diags) {
            failed.insert(d.name.clone());
            continue;
        }
        values.push((d.name.clone(), value, d.sensitive));
    }
    Resolved { values, failed }
}

/// Runs a variable's validation blocks; false when one fails.
fn validate(d: &VarDecl, value: &hcl::Value, origin: &Assigned, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    for v in &d.validations {
        let mut scope = Scope::new();
        scope.set_vars(vec![(d.name.clone(), value.clone(), d.sensitive)], BTreeSet::new());
        let mut local = Diagnostics::new();
        match scope.eval(&v.condition, d.file, &mut local).map(|n| n.value) {
            Some(crate::config::tree::Value::Bool(true)) => {}
            Some(crate::config::tree::Value::Bool(false)) => {
                ok = false;
                let mut diag = Diagnostic::error(
                    "variable-validation",
                    format!(
                        "Invalid value for `{}` (from {}): {}",
                        d.name, origin.source, v.error_message
                    ),
                )
                .at_opt(origin.span.or(Some(v.span)));
                if origin.span.is_some() {
                    diag = diag.related(v.span, "the validation rule");
                }
                diags.push(diag);
            }
            Some(_) => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        "invalid-variable",
                        "A validation condition must be true or false.",
                    )
                    .at_opt(span_of(&v.condition, d.file)),
                );
            }
            None => {
                ok = false;
                diags.extend(local);
            }
        }
    }
    ok
}
