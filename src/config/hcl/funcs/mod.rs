//! The Terraform-style function library for HCL expressions (hcl-rs ships none).
//!
//! Owns the functions users call in `.hcl` files (`upper`, `merge`, `jsonencode`, `file`, …),
//! grouped by theme, each a plain `fn(FuncArgs) -> Result<Value, String>` registered in
//! [`declare_all`]. Errors are sentences the evaluator turns into diagnostics at the call's span.
//! Pure except the file group, which reads files under the config root set by [`with_root`].
//! Must not read the environment. Listed for users in `docs/hcl-functions.md` (a test keeps the
//! two in step).

pub mod arith;
mod collection;
mod encoding;
mod file;
mod numeric;
mod string;

use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};

use super::budget;
use hcl::{Number, Value};

pub use file::with_root;

/// Name and one-line description of every function, in documentation order.
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    definitions()
        .into_iter()
        .filter(|(n, _, _)| !n.starts_with("__"))
        .map(|(n, d, _)| (n, d))
        .collect()
}

/// Registers every function in `ctx`.
pub fn declare_all(ctx: &mut Context) {
    for (name, _, def) in definitions() {
        ctx.declare_func(name, def);
    }
}

type Def = (&'static str, &'static str, FuncDef);

fn definitions() -> Vec<Def> {
    let mut out = Vec::new();
    out.extend(string::definitions());
    out.extend(collection::definitions());
    out.extend(numeric::definitions());
    out.extend(encoding::definitions());
    out.extend(file::definitions());
    out.extend(arith::definitions());
    out.push(("__budget", "", def(&[A], budget::charge_fn)));
    out.push(("__for", "", def(&[A, N], budget::charge_for)));
    out
}

/// A function with fixed parameters.
fn def(params: &[ParamType], f: hcl::eval::Func) -> FuncDef {
    FuncDef::new(f, params.to_vec())
}

/// A function with fixed parameters followed by any number of `rest` arguments.
fn variadic(params: &[ParamType], rest: ParamType, f: hcl::eval::Func) -> FuncDef {
    FuncDef::builder().params(params.to_vec()).variadic_param(rest).build(f)
}

const S: ParamType = ParamType::String;
const N: ParamType = ParamType::Number;
const A: ParamType = ParamType::Any;

fn list() -> ParamType {
    ParamType::array_of(ParamType::Any)
}

fn object() -> ParamType {
    ParamType::object_of(ParamType::Any)
}

/// The string argument at `i` (types are checked by the definition; this only avoids panics).
fn str_at(args: &FuncArgs, i: usize) -> Result<&str, String> {
    args.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("argument {} must be a string", i + 1))
}

fn num_at(args: &FuncArgs, i: usize) -> Result<f64, String> {
    args.get(i)
        .and_then(|v| v.as_number())
        .and_then(Number::as_f64)
        .ok_or_else(|| format!("argument {} must be a number", i + 1))
}

/// A whole-number argument.
fn int_at(args: &FuncArgs, i: usize) -> Result<i64, String> {
    let n = num_at(args, i)?;
    if n.fract() != 0.0 || n.abs() > 9.0e15 {
        return Err(format!("argument {} must be a whole number, got {n}", i + 1));
    }
    Ok(n as i64)
}

fn list_at(args: &FuncArgs, i: usize) -> Result<&Vec<Value>, String> {
    args.get(i)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("argument {} must be a list", i + 1))
}

fn obj_at(args: &FuncArgs, i: usize) -> Result<&hcl::Map<String, Value>, String> {
    args.get(i)
        .and_then(Value::as_object)
        .ok_or_else(|| format!("argument {} must be a map or object", i + 1))
}

/// A number value: an integer when whole (so `4 / 2` prints as `2`), else a float.
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        Value::from(f)
    }
}

/// The type name used in error messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Rewrites hcl-rs's type names in an evaluation error into the words users know (`list`,
/// `map`, `string`).
pub fn humanize(msg: &str) -> String {
    msg.replace("array(`any`)", "list")
        .replace("object(`any`)", "map")
        .replace("`string`", "string")
        .replace("`number`", "number")
        .replace("`bool`", "bool")
        .replace("argument at position 0", "the first argument")
        .replace("argument at position 1", "the second argument")
        .replace("argument at position 2", "the third argument")
}

/// Sizes past which list-building functions refuse, so a config cannot exhaust memory.
const MAX_ELEMENTS: usize = 100_000;

#[cfg(test)]
pub(crate) mod testing {
    use hcl::eval::{Context, Evaluate};
    use hcl::Value;

    /// Evaluates one HCL expression with the whole library.
    pub fn eval(src: &str) -> Result<Value, String> {
        let expr: hcl::Expression = src.parse().map_err(|e| format!("parse: {e}"))?;
        let mut ctx = Context::new();
        super::declare_all(&mut ctx);
        expr.evaluate(&ctx).map_err(|e| super::humanize(&e.to_string()))
    }

    /// Evaluates and compares with the value of another expression.
    #[track_caller]
    pub fn ok(src: &str, expected: &str) {
        let got = eval(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let want: hcl::Expression = expected.parse().expect("expected parses");
        let want = want.evaluate(&Context::new()).expect("expected evaluates");
        assert_eq!(got, want, "{src}");
    }

    /// Evaluation fails with a message containing `part`.
    #[track_caller]
    pub fn err(src: &str, part: &str) {
        match eval(src) {
            Ok(v) => panic!("{src}: expected an error, got {v}"),
            Err(e) => assert!(e.contains(part), "{src}: error {e:?} lacks {part:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_function_is_documented() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hcl-functions.md"),
        )
        .expect("docs/hcl-functions.md exists");
        let missing: Vec<_> = super::catalogue()
            .into_iter()
            .filter(|(n, _)| !doc.contains(&format!("`{n}(")))
            .map(|(n, _)| n)
            .collect();
        assert!(missing.is_empty(), "undocumented functions: {missing:?}");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = super::catalogue().into_iter().map(|(n, _)| n).collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
