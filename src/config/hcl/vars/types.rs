//! Variable types: the `type = ...` expression of a `variable` block, how a type prints, and
//! converting a value to a declared type the way Terraform does. Pure: no I/O, no diagnostics
//! beyond the type expression it is given; it knows nothing of where values come from.

use std::fmt;

use hcl_edit::expr::Expression;

use crate::config::hcl::eval::span_of;
use crate::diag::{Diagnostic, FileId};

/// A variable's declared type.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::config::hcl) enum Type {
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
}
