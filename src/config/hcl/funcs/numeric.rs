//! Numeric and type-conversion functions. Pure.

use hcl::eval::FuncArgs;
use hcl::Value;

use super::{def, num_at, number, str_at, type_name, variadic, Def, A, N, S};

pub(super) fn definitions() -> Vec<Def> {
    vec![
        ("tostring", "Converts a string, number or bool to a string.", def(&[A], tostring)),
        ("tonumber", "Converts a number or numeric string to a number.", def(&[A], tonumber)),
        ("tobool", "Converts a bool or \"true\"/\"false\" to a bool.", def(&[A], tobool)),
        ("min", "The smallest of the numbers given.", variadic(&[], N, min)),
        ("max", "The largest of the numbers given.", variadic(&[], N, max)),
        ("abs", "The absolute value.", def(&[N], abs)),
        ("ceil", "The closest whole number at or above.", def(&[N], ceil)),
        ("floor", "The closest whole number at or below.", def(&[N], floor)),
        ("pow", "The first number raised to the power of the second.", def(&[N, N], pow)),
        ("signum", "-1, 0 or 1, following the sign.", def(&[N], signum)),
        (
            "parseint",
            "Parses a string as a whole number in a base from 2 to 62.",
            def(&[S, N], parseint),
        ),
    ]
}

fn tostring(a: FuncArgs) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::String(s) => Ok(s.as_str().into()),
        Value::Number(n) => Ok(n.to_string().into()),
        Value::Bool(b) => Ok(b.to_string().into()),
        other => Err(format!("cannot convert {} to a string", type_name(other))),
    }
}

fn tonumber(a: FuncArgs) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(number(f)),
            _ => Err(format!("{s:?} is not a number")),
        },
        other => Err(format!("cannot convert {} to a number", type_name(other))),
    }
}

fn tobool(a: FuncArgs) -> Result<Value, String> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Bool(b) => Ok((*b).into()),
        Value::String(s) if s == "true" => Ok(true.into()),
        Value::String(s) if s == "false" => Ok(false.into()),
        Value::String(s) => Err(format!("{s:?} is not \"true\" or \"false\"")),
        other => Err(format!("cannot convert {} to a bool", type_name(other))),
    }
}

fn numbers(a: &FuncArgs) -> Result<Vec<f64>, String> {
    if a.is_empty() {
        return Err("at least one number is needed".into());
    }
    (0..a.len()).map(|i| num_at(a, i)).collect()
}

fn min(a: FuncArgs) -> Result<Value, String> {
    Ok(number(numbers(&a)?.into_iter().fold(f64::INFINITY, f64::min)))
}

fn max(a: FuncArgs) -> Result<Value, String> {
    Ok(number(numbers(&a)?.into_iter().fold(f64::NEG_INFINITY, f64::max)))
}

fn abs(a: FuncArgs) -> Result<Value, String> {
    Ok(number(num_at(&a, 0)?.abs()))
}

fn ceil(a: FuncArgs) -> Result<Value, String> {
    Ok(number(num_at(&a, 0)?.ceil()))
}

fn floor(a: FuncArgs) -> Result<Value, String> {
    Ok(number(num_at(&a, 0)?.floor()))
}

fn pow(a: FuncArgs) -> Result<Value, String> {
    let r = num_at(&a, 0)?.powf(num_at(&a, 1)?);
    if !r.is_finite() {
        return Err("the result is not a finite number".into());
    }
    Ok(number(r))
}

fn signum(a: FuncArgs) -> Result<Value, String> {
    let n = num_at(&a, 0)?;
    Ok(Value::from(if n > 0.0 {
        1
    } else if n < 0.0 {
        -1
    } else {
        0
    }))
}

fn parseint(a: FuncArgs) -> Result<Value, String> {
    let s = str_at(&a, 0)?;
    let base = super::int_at(&a, 1)?;
    if !(2..=62).contains(&base) {
        return Err(format!("the base must be between 2 and 62, got {base}"));
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() {
        return Err(format!("{s:?} is not a number in base {base}"));
    }
    let mut n: i64 = 0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(format!("{s:?} is not a number in base {base}")),
        };
        if d >= base {
            return Err(format!("{s:?} is not a number in base {base}"));
        }
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(d))
            .ok_or_else(|| format!("{s:?} is too large"))?;
    }
    Ok(Value::from(if neg { -n } else { n }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, ok};

    #[test]
    fn conversions() {
        ok("tostring(1)", r#""1""#);
        ok("tostring(true)", r#""true""#);
        ok(r#"tonumber("42")"#, "42");
        ok(r#"tonumber("1.5")"#, "1.5");
        ok(r#"tobool("true")"#, "true");
        ok("tobool(false)", "false");
        ok("tostring(null)", "null");
        err("tostring([1])", "cannot convert");
        err(r#"tonumber("x")"#, "not a number");
        err(r#"tobool("yes")"#, "not \"true\"");
    }

    #[test]
    fn arithmetic() {
        ok("min(3, 1, 2)", "1");
        ok("max(3, 1.5)", "3");
        ok("abs(-2)", "2");
        ok("ceil(1.2)", "2");
        ok("floor(-1.2)", "-2");
        ok("pow(2, 10)", "1024");
        ok("signum(-5)", "-1");
        ok(r#"parseint("ff", 16)"#, "255");
        ok(r#"parseint("-101", 2)"#, "-5");
        err("min()", "at least one");
        err(r#"max("a")"#, "number");
        err(r#"abs("a")"#, "number");
        err("ceil(null)", "number");
        err("floor([])", "number");
        err("pow(10, 400)", "finite");
        err(r#"signum("x")"#, "number");
        err(r#"parseint("12", 2)"#, "not a number in base 2");
        err(r#"parseint("1", 99)"#, "between 2 and 62");
    }
}
