//! Declarations: reading a `variable "name" { ... }` block into a [`VarDecl`] (type, default,
//! sensitivity, validation blocks). Evaluates only literals; must not look at any value a
//! variable is given (that is `resolve`'s job).

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Structure};
use hcl_edit::Span as _;

use super::types::{parse_type, Type};
use crate::config::hcl::eval::{hcl_span, Scope};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Span};

/// A `validation` block.
#[derive(Debug, Clone)]
pub(in crate::config::hcl) struct Validation {
    pub condition: Expression,
    pub error_message: String,
    pub span: Span,
}

/// A `variable` block.
#[derive(Debug, Clone)]
pub(in crate::config::hcl) struct VarDecl {
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
pub(in crate::config::hcl) fn declare(
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
