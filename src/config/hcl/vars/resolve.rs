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
    let mut found = Assignments { decls, assigned: Vec::new(), failed: BTreeSet::new() };
    found.add_defaults(sources, diags);
    found.add_env_vars(&opts.env_vars, sources, diags);
    found.add_env_files(root, env_files, sources, diags);
    found.add_args(&opts.vars, sources, diags);
    found.into_resolved(sources, diags)
}

/// Every assignment seen so far, lowest precedence first, and the variables already known to
/// have failed.
struct Assignments<'a> {
    decls: &'a [VarDecl],
    assigned: Vec<Assigned>,
    failed: BTreeSet<String>,
}

impl Assignments<'_> {
    fn decl(&self, name: &str) -> Option<&VarDecl> {
        self.decls.iter().find(|d| d.name == name)
    }

    /// Evaluates each `default`; a default that does not evaluate fails its variable. A
    /// sensitive variable's default is hidden in every snippet and message.
    fn add_defaults(&mut self, sources: &mut Sources, diags: &mut Diagnostics) {
        let literal = Scope::literal("a variable default");
        for d in self.decls {
            if let Some(expr) = &d.default {
                if d.sensitive {
                    if let Some(span) = span_of(expr, d.file) {
                        sources.hide(span);
                    }
                }
                let mut local = Diagnostics::new();
                let node = literal.eval(expr, d.file, &mut local);
                extend_hidden(diags, local, d, "its default");
                match node {
                    Some(node) => self.assigned.push(Assigned {
                        name: d.name.clone(),
                        value: node_to_value(&node),
                        span: Some(node.span),
                        source: "the default".into(),
                    }),
                    None => {
                        self.failed.insert(d.name.clone());
                    }
                }
            }
        }
    }

    /// `CORDIUM_VAR_<name>` values (the prefix is optional in `env_vars`).
    fn add_env_vars(
        &mut self,
        env_vars: &[(String, String)],
        sources: &mut Sources,
        diags: &mut Diagnostics,
    ) {
        for (raw_name, text) in env_vars {
            let name = raw_name.strip_prefix("CORDIUM_VAR_").unwrap_or(raw_name);
            let label = format!("CORDIUM_VAR_{name}");
            let Some(decl) = self.decl(name) else {
                self.warn_undeclared(
                    name,
                    None,
                    &format!("the environment variable {label}"),
                    diags,
                );
                continue;
            };
            if let Some(a) = text_value(decl, text, label, sources, diags) {
                self.assigned.push(a);
            }
        }
    }

    /// The selected environment's var files, skipping any that are missing.
    fn add_env_files(
        &mut self,
        root: &Path,
        env_files: &[PathBuf],
        sources: &mut Sources,
        diags: &mut Diagnostics,
    ) {
        for f in env_files {
            let path = root.join(f);
            if path.is_file() {
                self.add_var_file(&path, &crate::config::read::shown(&path), sources, diags);
            }
        }
    }

    /// `--var-file` and `--var`, in the order given.
    fn add_args(&mut self, args: &[VarArg], sources: &mut Sources, diags: &mut Diagnostics) {
        for arg in args {
            match arg {
                VarArg::File(path) => {
                    // Anything that exists is read, so a directory or a device is refused saying
                    // what it is (by `read_var_file`) instead of "does not exist".
                    if std::fs::metadata(path).is_err() {
                        diags.push(missing_var_file(path));
                        continue;
                    }
                    self.add_var_file(path, path, sources, diags);
                }
                VarArg::Var { name, value } => {
                    let label = format!("--var {name}");
                    let Some(decl) = self.decl(name) else {
                        self.warn_undeclared(name, None, &format!("`{label}=...`"), diags);
                        continue;
                    };
                    if let Some(a) = text_value(decl, value, label, sources, diags) {
                        self.assigned.push(a);
                    }
                }
            }
        }
    }

    fn add_var_file(
        &mut self,
        path: &Path,
        shown: &Path,
        sources: &mut Sources,
        diags: &mut Diagnostics,
    ) {
        let decls = self.decls;
        read_var_file(
            path,
            shown,
            decls,
            sources,
            diags,
            &mut |name, value, span, source, diags| {
                if self.decl(name).is_some() {
                    self.assigned.push(Assigned {
                        name: name.into(),
                        value,
                        span: Some(span),
                        source,
                    });
                } else {
                    self.warn_undeclared(
                        name,
                        Some(span),
                        &format!("the var file {source}"),
                        diags,
                    );
                }
            },
        );
    }

    fn warn_undeclared(
        &self,
        name: &str,
        span: Option<Span>,
        source: &str,
        diags: &mut Diagnostics,
    ) {
        let names: Vec<&str> = self.decls.iter().map(|d| d.name.as_str()).collect();
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
    }

    /// Takes each variable's last assignment, converted and validated; a variable with none, or
    /// whose value does not fit or validate, fails.
    fn into_resolved(mut self, sources: &mut Sources, diags: &mut Diagnostics) -> Resolved {
        let mut values = Vec::new();
        for d in self.decls {
            if d.sensitive {
                // Every value given, used or not, fitting or not: no message may quote one.
                for a in self.assigned.iter().filter(|a| a.name == d.name) {
                    record_secrets(&a.value, sources);
                }
            }
            match self.final_value(d, diags) {
                Some(value) => {
                    if d.sensitive {
                        record_secrets(&value, sources);
                    }
                    values.push((d.name.clone(), value, d.sensitive))
                }
                None => {
                    self.failed.insert(d.name.clone());
                }
            }
        }
        Resolved { values, failed: self.failed }
    }

    fn final_value(&self, d: &VarDecl, diags: &mut Diagnostics) -> Option<hcl::Value> {
        let Some(last) = self.assigned.iter().rev().find(|a| a.name == d.name) else {
            if !self.failed.contains(&d.name) {
                diags.push(missing_value(d));
            }
            return None;
        };
        let value = match convert(last.value.clone(), &d.ty) {
            Ok(v) => v,
            Err(e) => {
                // The reason may quote a key or element of the value.
                let e = if d.sensitive { HIDDEN_DETAIL.to_string() } else { e };
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
                return None;
            }
        };
        validate(d, &value, last, diags).then_some(value)
    }
}

/// A value given as text (`CORDIUM_VAR_*`, `--var`): raw for `string` variables, otherwise an
/// HCL expression, falling back to the raw text for `any`.
fn text_value(
    decl: &VarDecl,
    text: &str,
    label: String,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<Assigned> {
    let file = sources.add(label.clone(), text.to_string());
    let span = Span::new(file, 0, text.len());
    if decl.sensitive {
        sources.hide_file(file);
        sources.add_secret(text.trim());
    }
    let assigned =
        |value, source| Assigned { name: decl.name.clone(), value, span: Some(span), source };
    if decl.ty == Type::String {
        return Some(assigned(hcl::Value::from(text), label));
    }
    match hcl_edit::parser::parse_expr(text) {
        Ok(expr) => {
            let mut local = Diagnostics::new();
            match Scope::literal("a variable value").eval(&expr, file, &mut local) {
                Some(node) => Some(assigned(node_to_value(&node), label)),
                None if decl.ty == Type::Any => Some(assigned(hcl::Value::from(text), label)),
                None => {
                    extend_hidden(diags, local, decl, &label);
                    None
                }
            }
        }
        Err(_) if decl.ty == Type::Any => Some(assigned(hcl::Value::from(text), label)),
        Err(e) => {
            diags.push(not_an_expression(decl, &label, &e, span));
            None
        }
    }
}

/// What a message says instead of a detail that could quote a sensitive value.
pub(super) const HIDDEN_DETAIL: &str = "(details hidden: the variable is sensitive)";

/// Adds diagnostics about a variable's value; for a sensitive variable, each keeps its code,
/// place and help but says nothing the value could have put in it.
pub(super) fn extend_hidden(
    diags: &mut Diagnostics,
    local: Diagnostics,
    decl: &VarDecl,
    what: &str,
) {
    for mut d in local {
        if decl.sensitive {
            d.message = format!(
                "The value of the sensitive variable `{}` ({what}) is not valid {HIDDEN_DETAIL}.",
                decl.name
            );
        }
        diags.push(d);
    }
}

/// Records every string (and map key) of a sensitive value with `sources`, so that no rendered
/// message can quote one.
fn record_secrets(value: &hcl::Value, sources: &mut Sources) {
    match value {
        hcl::Value::String(s) => sources.add_secret(s),
        hcl::Value::Number(n) => sources.add_secret(&n.to_string()),
        hcl::Value::Array(items) => items.iter().for_each(|v| record_secrets(v, sources)),
        hcl::Value::Object(m) => {
            for (k, v) in m {
                sources.add_secret(k);
                record_secrets(v, sources);
            }
        }
        hcl::Value::Null | hcl::Value::Bool(_) => {}
    }
}

fn not_an_expression(
    decl: &VarDecl,
    label: &str,
    e: &hcl_edit::parser::Error,
    span: Span,
) -> Diagnostic {
    let msg = if decl.sensitive {
        "(hidden: the variable is sensitive)".to_string()
    } else {
        e.message().to_string()
    };
    Diagnostic::error(
        "invalid-variable-value",
        format!("The value of {label} is not a valid {} expression: {msg}.", decl.ty),
    )
    .at(span)
    .help(format!(
        "Variables of type {} take HCL values, e.g. `[\"a\", \"b\"]` or `{{ a = 1 }}`.",
        decl.ty
    ))
}

fn missing_var_file(path: &Path) -> Diagnostic {
    Diagnostic::error(
        "missing-var-file",
        format!("The var file {} given with --var-file does not exist.", path.display()),
    )
    .help("Check the path; it is relative to the current directory.")
}

fn missing_value(d: &VarDecl) -> Diagnostic {
    Diagnostic::error("missing-variable", format!("The variable `{}` has no value.", d.name))
        .at(d.span)
        .help(format!(
            "Give it a `default`, pass `--var {0}=...`, set CORDIUM_VAR_{0}, or set it in a var file.",
            d.name
        ))
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
