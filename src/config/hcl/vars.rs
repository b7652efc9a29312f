//! Input variables: `variable` blocks, their types, and their values from every source, in
//! Terraform's precedence (lowest first): `default`, `CORDIUM_VAR_<name>`, the selected
//! environment's var files, then `--var-file` and `--var` in the order given.
//!
//! Var files are HCL (`name = value`, any extension but the ones below, typically `.hcl` or
//! `.tfvars`), JSON (`.json`) or YAML (`.yaml`, `.yml`): one top-level map of names to values.
//! Values given as text (`CORDIUM_VAR_*`, `--var`) are taken raw for `string` variables and
//! parsed as HCL expressions otherwise. Reads var files; must not read the environment (the
//! caller passes `CORDIUM_VAR_*` values in).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Structure};
use hcl_edit::Span as _;

use super::eval::{hcl_span, node_to_value, span_of, Scope};
use crate::config::{LoadOptions, VarArg};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};

/// A variable's declared type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Type {
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attributes with their types; `true` = optional.
    Object(Vec<(String, Type, bool)>),
    Tuple(Vec<Type>),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(attrs) => {
                let parts: Vec<String> =
                    attrs.iter().map(|(k, t, _)| format!("{k} = {t}")).collect();
                write!(f, "object({{ {} }})", parts.join(", "))
            }
            Type::Tuple(items) => {
                let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "tuple([{}])", parts.join(", "))
            }
        }
    }
}

/// A `validation` block.
#[derive(Debug, Clone)]
pub(super) struct Validation {
    pub condition: Expression,
    pub error_message: String,
    pub span: Span,
}

/// A `variable` block.
#[derive(Debug, Clone)]
pub(super) struct VarDecl {
    pub name: String,
    pub file: FileId,
    pub span: Span,
    pub ty: Type,
    pub default: Option<Expression>,
    pub sensitive: bool,
    pub validations: Vec<Validation>,
}

const VARIABLE_ATTRS: &[&str] = &["type", "default", "description", "sensitive", "nullable"];

/// Reads a `variable "name" { ... }` block. Problems are diagnostics; `None` if unusable.
pub(super) fn declare(
    block: &Block,
    name: &str,
    file: FileId,
    diags: &mut Diagnostics,
) -> Option<VarDecl> {
    let span = hcl_span(block.span(), file).unwrap_or(Span::file_start(file));
    let literal = Scope::literal("a variable declaration");
    let mut decl = VarDecl {
        name: name.to_string(),
        file,
        span,
        ty: Type::Any,
        default: None,
        sensitive: false,
        validations: Vec::new(),
    };
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key_span = hcl_span(attr.key.span(), file).unwrap_or(span);
                match attr.key.as_str() {
                    "type" => match parse_type(&attr.value, file) {
                        Ok(t) => decl.ty = t,
                        Err(d) => diags.push(*d),
                    },
                    "default" => decl.default = Some(attr.value.clone()),
                    "description" => {}
                    "sensitive" | "nullable" => {
                        let node = literal.eval(&attr.value, file, diags)?;
                        match node.value {
                            crate::config::tree::Value::Bool(b) => {
                                if attr.key.as_str() == "sensitive" {
                                    decl.sensitive = b;
                                }
                            }
                            _ => diags.push(
                                Diagnostic::error(
                                    "invalid-variable",
                                    format!("`{}` must be true or false.", attr.key.as_str()),
                                )
                                .at(node.span),
                            ),
                        }
                    }
                    other => diags.push(unknown(other, key_span, VARIABLE_ATTRS, "variable")),
                }
            }
            Structure::Block(b) if b.ident.as_str() == "validation" => {
                let vspan = hcl_span(b.span(), file).unwrap_or(span);
                let condition = b.body.get_attribute("condition").map(|a| a.value.clone());
                let message = b.body.get_attribute("error_message").map(|a| &a.value);
                let message = match message {
                    Some(e) => {
                        literal.eval(e, file, diags).and_then(|n| n.as_str().map(str::to_string))
                    }
                    None => None,
                };
                match (condition, message) {
                    (Some(condition), Some(error_message)) => {
                        decl.validations.push(Validation { condition, error_message, span: vspan })
                    }
                    _ => diags.push(
                        Diagnostic::error(
                            "invalid-variable",
                            "A validation block needs a `condition` and a string `error_message`.",
                        )
                        .at(vspan)
                        .help(
                            "validation { condition = length(var.x) > 0  error_message = \"...\" }",
                        ),
                    ),
                }
            }
            Structure::Block(b) => {
                let bspan = hcl_span(b.ident.span(), file).unwrap_or(span);
                diags.push(unknown(b.ident.as_str(), bspan, &["validation"], "variable"));
            }
        }
    }
    Some(decl)
}

fn unknown(name: &str, span: Span, known: &[&str], what: &str) -> Diagnostic {
    let help = match did_you_mean(name, known.iter().copied()) {
        Some(s) => format!("Did you mean `{s}`?"),
        None => format!("A {what} block may hold: {}.", known.join(", ")),
    };
    Diagnostic::error("unknown-field", format!("`{name}` is not allowed in a {what} block."))
        .at(span)
        .help(help)
}

fn type_error(expr: &Expression, file: FileId, what: &str) -> Box<Diagnostic> {
    Box::new(Diagnostic::error("invalid-type", format!("Invalid type: {what}."))
        .at_opt(span_of(expr, file))
        .help("Types are string, number, bool, any, list(T), set(T), map(T), object({ a = T }), tuple([T, ...])."))
}

/// Parses a type expression (`string`, `list(map(number))`, `object({ a = string })`).
pub(super) fn parse_type(expr: &Expression, file: FileId) -> Result<Type, Box<Diagnostic>> {
    parse_type_at(expr, file, 0)
}

fn parse_type_at(expr: &Expression, file: FileId, depth: usize) -> Result<Type, Box<Diagnostic>> {
    if depth > 32 {
        return Err(type_error(expr, file, "nested too deeply"));
    }
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "any" => Ok(Type::Any),
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            other => Err(type_error(expr, file, &format!("unknown type `{other}`"))),
        },
        Expression::Parenthesis(p) => parse_type_at(p.inner(), file, depth + 1),
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let arg = match (call.args.len(), call.args.get(0)) {
                (1, Some(a)) => a,
                _ => return Err(type_error(expr, file, &format!("`{name}` takes one argument"))),
            };
            match name {
                "list" => Ok(Type::List(Box::new(parse_type_at(arg, file, depth + 1)?))),
                "set" => Ok(Type::Set(Box::new(parse_type_at(arg, file, depth + 1)?))),
                "map" => Ok(Type::Map(Box::new(parse_type_at(arg, file, depth + 1)?))),
                "object" => {
                    let Expression::Object(obj) = arg else {
                        return Err(type_error(expr, file, "object takes `{ name = type, ... }`"));
                    };
                    let mut attrs = Vec::new();
                    for (key, value) in obj.iter() {
                        let key = match key {
                            hcl_edit::expr::ObjectKey::Ident(id) => id.as_str().to_string(),
                            hcl_edit::expr::ObjectKey::Expression(e) => match e.as_str() {
                                Some(s) => s.to_string(),
                                None => {
                                    return Err(type_error(
                                        e,
                                        file,
                                        "attribute names must be names",
                                    ))
                                }
                            },
                        };
                        let (t, optional) = match value.expr() {
                            Expression::FuncCall(c) if c.name.name.as_str() == "optional" => {
                                match c.args.get(0) {
                                    Some(inner) => (parse_type_at(inner, file, depth + 1)?, true),
                                    None => {
                                        return Err(type_error(
                                            value.expr(),
                                            file,
                                            "optional takes a type",
                                        ))
                                    }
                                }
                            }
                            other => (parse_type_at(other, file, depth + 1)?, false),
                        };
                        attrs.push((key, t, optional));
                    }
                    Ok(Type::Object(attrs))
                }
                "tuple" => {
                    let Expression::Array(items) = arg else {
                        return Err(type_error(expr, file, "tuple takes `[type, ...]`"));
                    };
                    let types: Result<Vec<Type>, Box<Diagnostic>> =
                        items.iter().map(|t| parse_type_at(t, file, depth + 1)).collect();
                    Ok(Type::Tuple(types?))
                }
                other => {
                    Err(type_error(expr, file, &format!("unknown type constructor `{other}`")))
                }
            }
        }
        _ => Err(type_error(expr, file, "expected a type such as `string` or `list(string)`")),
    }
}

/// Converts a value to a declared type (numbers and bools print as strings, numeric strings
/// parse as numbers, as in Terraform). Errors name types, never values.
pub(super) fn convert(value: hcl::Value, ty: &Type) -> Result<hcl::Value, String> {
    use hcl::Value as V;
    let kind = |v: &V| match v {
        V::Null => "null",
        V::Bool(_) => "bool",
        V::Number(_) => "number",
        V::String(_) => "string",
        V::Array(_) => "list",
        V::Object(_) => "object",
    };
    match (ty, value) {
        (_, V::Null) => Ok(V::Null),
        (Type::Any, v) => Ok(v),
        (Type::String, V::String(s)) => Ok(V::String(s)),
        (Type::String, V::Number(n)) => Ok(V::String(n.to_string())),
        (Type::String, V::Bool(b)) => Ok(V::String(b.to_string())),
        (Type::Number, V::Number(n)) => Ok(V::Number(n)),
        (Type::Number, V::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(if f.fract() == 0.0 && f.abs() < 9.0e15 {
                V::from(f as i64)
            } else {
                V::from(f)
            }),
            _ => Err("expected number, got a string that is not a number".into()),
        },
        (Type::Bool, V::Bool(b)) => Ok(V::Bool(b)),
        (Type::Bool, V::String(s)) if s == "true" || s == "false" => Ok(V::Bool(s == "true")),
        (Type::List(t) | Type::Set(t), V::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let v = convert(item, t).map_err(|e| format!("element {i}: {e}"))?;
                if matches!(ty, Type::List(_)) || !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(V::Array(out))
        }
        (Type::Map(t), V::Object(m)) => {
            let mut out = hcl::Map::new();
            for (k, v) in m {
                let v = convert(v, t).map_err(|e| format!("key {k:?}: {e}"))?;
                out.insert(k, v);
            }
            Ok(V::Object(out))
        }
        (Type::Object(attrs), V::Object(mut m)) => {
            let mut out = hcl::Map::new();
            for (name, t, optional) in attrs {
                match m.shift_remove(name) {
                    Some(v) => {
                        out.insert(
                            name.clone(),
                            convert(v, t).map_err(|e| format!("attribute {name:?}: {e}"))?,
                        );
                    }
                    None if *optional => {
                        out.insert(name.clone(), V::Null);
                    }
                    None => return Err(format!("attribute {name:?} is required")),
                }
            }
            if let Some(extra) = m.keys().next() {
                return Err(format!("attribute {extra:?} is not in the type {ty}"));
            }
            Ok(V::Object(out))
        }
        (Type::Tuple(types), V::Array(items)) => {
            if items.len() != types.len() {
                return Err(format!("expected {} elements, got {}", types.len(), items.len()));
            }
            let out: Result<Vec<V>, String> =
                items.into_iter().zip(types).map(|(v, t)| convert(v, t)).collect();
            Ok(V::Array(out?))
        }
        (ty, v) => Err(format!("expected {ty}, got {}", kind(&v))),
    }
}

/// One assignment of a value to a variable, from one source.
struct Assigned {
    name: String,
    value: hcl::Value,
    span: Option<Span>,
    /// "the default", "CORDIUM_VAR_x", "env/staging.hcl", "--var"
    source: String,
}

/// Resolved variables, for [`Scope::set_vars`].
pub(super) struct Resolved {
    pub values: Vec<(String, hcl::Value, bool)>,
    pub failed: BTreeSet<String>,
}

/// Finds every variable's value from every source, converts it to its type and runs its
/// validations. `env_files`: the selected environment's var files (root-relative, already
/// checked to exist by the stack loader; missing ones are skipped).
pub(super) fn resolve(
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
                // Anything that exists is read, so a directory or a device is refused saying
                // what it is (by `read_var_file`) instead of "does not exist".
                if std::fs::metadata(path).is_err() {
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

type Sink<'a> = dyn FnMut(&str, hcl::Value, Span, String, &mut Diagnostics) + 'a;

/// Reads one var file and calls `sink` with each `name = value`.
fn read_var_file(
    path: &Path,
    shown: &Path,
    sources: &mut Sources,
    diags: &mut Diagnostics,
    sink: &mut Sink<'_>,
) {
    let shown_str = shown.display().to_string();
    let text = match crate::config::read::regular_text(path, crate::config::MAX_FILE_BYTES) {
        Ok(t) => t.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(t),
        Err(crate::config::read::ReadError::NotUtf8) => {
            diags.push(Diagnostic::error(
                "unreadable-file",
                format!("The var file {shown_str} is not UTF-8 text."),
            ));
            return;
        }
        Err(e) => {
            diags.push(Diagnostic::error(
                "unreadable-file",
                format!("Cannot read the var file {shown_str}: {e}."),
            ));
            return;
        }
    };
    let file = sources.add(shown.to_path_buf(), text.clone());
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "json" | "yaml" | "yml") {
        let parsed: Result<serde_json::Value, String> = if ext == "json" {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_saphyr::from_str(&text).map_err(|e| e.to_string())
        };
        let map = match parsed {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(serde_json::Value::Null) => return,
            Ok(_) => {
                diags.push(
                    Diagnostic::error(
                        "invalid-var-file",
                        format!("The var file {shown_str} must hold one map of names to values."),
                    )
                    .at(Span::file_start(file)),
                );
                return;
            }
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "invalid-var-file",
                        format!("The var file {shown_str} cannot be parsed: {e}."),
                    )
                    .at(Span::file_start(file)),
                );
                return;
            }
        };
        for (name, value) in map {
            let span = key_span(&text, &name, file);
            match serde_json::from_value::<hcl::Value>(value) {
                Ok(v) => sink(&name, v, span, shown_str.clone(), diags),
                Err(e) => diags.push(
                    Diagnostic::error(
                        "invalid-var-file",
                        format!("Invalid value for `{name}`: {e}."),
                    )
                    .at(span),
                ),
            }
        }
        return;
    }
    let body = match super::syntax::parse(&text, file) {
        Ok(b) => b,
        Err(d) => {
            diags.extend(d);
            return;
        }
    };
    let literal = Scope::literal("a var file");
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                if let Some(node) = literal.eval(&attr.value, file, diags) {
                    let span = node.span;
                    sink(attr.key.as_str(), node_to_value(&node), span, shown_str.clone(), diags);
                }
            }
            Structure::Block(b) => diags.push(
                Diagnostic::error(
                    "invalid-var-file",
                    "A var file holds only `name = value` lines, not blocks.",
                )
                .at_opt(hcl_span(b.ident.span(), file)),
            ),
        }
    }
}

/// The span of `name:` (or `"name":`) in a YAML or JSON text, or the file start.
fn key_span(text: &str, name: &str, file: FileId) -> Span {
    for (i, _) in text.match_indices(name) {
        let before = text[..i].trim_end_matches('"');
        let at_line_start = before.is_empty()
            || before.ends_with('\n')
            || before.trim_end_matches([' ', '\t', '{', ',']).ends_with('\n')
            || before.trim_end_matches([' ', '\t', '{', ',']).is_empty();
        let after = text[i + name.len()..].trim_start_matches('"').trim_start();
        if at_line_start && after.starts_with(':') {
            return Span::new(file, i, i + name.len());
        }
    }
    Span::file_start(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(src: &str) -> Type {
        parse_type(&hcl_edit::parser::parse_expr(src).expect("parses"), FileId(0)).expect("a type")
    }

    #[test]
    fn types_parse_and_print() {
        assert_eq!(ty("string"), Type::String);
        assert_eq!(ty("list(map(number))").to_string(), "list(map(number))");
        assert_eq!(
            ty("object({ a = string, b = optional(bool) })").to_string(),
            "object({ a = string, b = bool })"
        );
        assert_eq!(ty("tuple([string, number])").to_string(), "tuple([string, number])");
        let e = parse_type(&hcl_edit::parser::parse_expr("strng").expect("parses"), FileId(0));
        assert!(e.expect_err("error").message.contains("unknown type `strng`"));
    }

    #[test]
    fn values_convert_like_terraform() {
        use hcl::Value as V;
        assert_eq!(convert(V::from(1), &Type::String), Ok(V::from("1")));
        assert_eq!(convert(V::from("2"), &Type::Number), Ok(V::from(2)));
        assert_eq!(convert(V::from("true"), &Type::Bool), Ok(V::from(true)));
        assert!(convert(V::from("x"), &Type::Number).is_err());
        assert!(convert(V::from(vec![1]), &Type::Map(Box::new(Type::Any))).is_err());
        let obj = ty("object({ a = string, b = optional(number) })");
        let mut m = hcl::Map::new();
        m.insert("a".to_string(), V::from("x"));
        let got = convert(V::Object(m.clone()), &obj).expect("converts");
        assert_eq!(got.as_object().and_then(|o| o.get("b")), Some(&V::Null));
        m.insert("c".to_string(), V::from(1));
        assert!(convert(V::Object(m), &obj).expect_err("extra").contains("\"c\""));
        assert_eq!(
            convert(V::from(vec!["a", "a"]), &Type::Set(Box::new(Type::String))),
            Ok(V::from(vec!["a"]))
        );
    }

    #[test]
    fn yaml_key_spans_are_found() {
        let text = "a: 1\nbranch: main\n";
        let s = key_span(text, "branch", FileId(0));
        assert_eq!((s.start, s.end), (5, 11));
    }
}
