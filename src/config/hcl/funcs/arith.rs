//! Arithmetic operators as functions. The evaluator rewrites `a + b`, `a - b`, `a * b`, `a / b`
//! and `a % b` into calls to these, because hcl-rs's own integer arithmetic panics on overflow
//! and on `% 0`. Whole numbers stay whole (`4 / 2` is `2`); results too large for 64 bits become
//! floats; a non-finite result or a division by zero is an error. Not listed for users. Pure.

use hcl::eval::FuncArgs;
use hcl::{Number, Value};

use super::{def, number, Def, N};

/// Function names and the operator each stands for.
pub const OPERATORS: &[(&str, &str)] =
    &[("__add", "+"), ("__sub", "-"), ("__mul", "*"), ("__div", "/"), ("__mod", "%")];

pub(super) fn definitions() -> Vec<Def> {
    vec![
        ("__add", "", def(&[N, N], add)),
        ("__sub", "", def(&[N, N], sub)),
        ("__mul", "", def(&[N, N], mul)),
        ("__div", "", def(&[N, N], div)),
        ("__mod", "", def(&[N, N], rem)),
    ]
}

enum Pair {
    Int(i128, i128),
    Float(f64, f64),
}

fn int(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn pair(a: &FuncArgs) -> Result<Pair, String> {
    let get = |i: usize| a.get(i).and_then(Value::as_number).ok_or("both operands must be numbers");
    let (x, y) = (get(0)?, get(1)?);
    match (int(x), int(y)) {
        (Some(x), Some(y)) => Ok(Pair::Int(x, y)),
        _ => Ok(Pair::Float(x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN))),
    }
}

fn from_int(n: Option<i128>, fallback: f64) -> Result<Value, String> {
    match n {
        Some(n) => {
            if let Ok(i) = i64::try_from(n) {
                Ok(Value::from(i))
            } else if let Ok(u) = u64::try_from(n) {
                Ok(Value::from(u))
            } else {
                from_float(n as f64)
            }
        }
        None => from_float(fallback),
    }
}

fn from_float(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err("the result is not a finite number".into());
    }
    Ok(number(f))
}

fn add(a: FuncArgs) -> Result<Value, String> {
    match pair(&a)? {
        Pair::Int(x, y) => from_int(x.checked_add(y), x as f64 + y as f64),
        Pair::Float(x, y) => from_float(x + y),
    }
}

fn sub(a: FuncArgs) -> Result<Value, String> {
    match pair(&a)? {
        Pair::Int(x, y) => from_int(x.checked_sub(y), x as f64 - y as f64),
        Pair::Float(x, y) => from_float(x - y),
    }
}

fn mul(a: FuncArgs) -> Result<Value, String> {
    match pair(&a)? {
        Pair::Int(x, y) => from_int(x.checked_mul(y), x as f64 * y as f64),
        Pair::Float(x, y) => from_float(x * y),
    }
}

fn div(a: FuncArgs) -> Result<Value, String> {
    let (x, y) = match pair(&a)? {
        Pair::Int(x, y) => (x as f64, y as f64),
        Pair::Float(x, y) => (x, y),
    };
    if y == 0.0 {
        return Err("division by zero".into());
    }
    from_float(x / y)
}

fn rem(a: FuncArgs) -> Result<Value, String> {
    match pair(&a)? {
        Pair::Int(_, 0) => Err("modulo by zero".into()),
        Pair::Int(x, y) => from_int(x.checked_rem(y), 0.0),
        Pair::Float(_, 0.0) => Err("modulo by zero".into()),
        Pair::Float(x, y) => from_float(x % y),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, ok};

    #[test]
    fn arithmetic_is_checked() {
        ok("__add(1, 2)", "3");
        ok("__sub(1, 2)", "-1");
        ok("__mul(3, 0.5)", "1.5");
        ok("__div(4, 2)", "2");
        ok("__mod(7, 3)", "1");
        ok("__mul(9223372036854775807, 2)", "18446744073709551614");
        ok("__add(18446744073709551615, 18446744073709551615)", "36893488147419103230");
        err("__div(1, 0)", "division by zero");
        err("__mod(1, 0)", "modulo by zero");
        err("__mul(1e308, 1e308)", "not a finite number");
        err("__add(\"a\", 1)", "number");
    }
}
