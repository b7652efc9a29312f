//! String functions: case, trimming, splitting, formatting, regular expressions. Pure.

use hcl::eval::FuncArgs;
use hcl::Value;

use crate::config::hcl::budget;

use super::{def, list, num_at, str_at, type_name, variadic, Def, A, N, S};

pub(super) fn definitions() -> Vec<Def> {
    vec![
        ("upper", "Converts letters to upper case.", def(&[S], upper)),
        ("lower", "Converts letters to lower case.", def(&[S], lower)),
        ("title", "Upper-cases the first letter of each word.", def(&[S], title)),
        ("trim", "Removes the given characters from both ends.", def(&[S, S], trim)),
        ("trimspace", "Removes whitespace from both ends.", def(&[S], trimspace)),
        ("trimprefix", "Removes a prefix, if present.", def(&[S, S], trimprefix)),
        ("trimsuffix", "Removes a suffix, if present.", def(&[S, S], trimsuffix)),
        (
            "replace",
            "Replaces every occurrence of a substring (or `/regex/`) with a replacement.",
            def(&[S, S, S], replace),
        ),
        ("split", "Splits a string at every separator into a list.", def(&[S, S], split)),
        ("join", "Joins a list of strings with a separator.", def(&[S, list()], join)),
        ("format", "Formats values printf-style (`%s %d %f %q %v %t %x %%`).", variadic(&[S], A, format)),
        (
            "formatlist",
            "Like `format`, once per element of the list arguments.",
            variadic(&[S], A, formatlist),
        ),
        ("substr", "Extracts `length` characters from `offset` (-1: to the end).", def(&[S, N, N], substr)),
        ("strrev", "Reverses the characters of a string.", def(&[S], strrev)),
        ("chomp", "Removes trailing newlines.", def(&[S], chomp)),
        ("indent", "Indents every line but the first by N spaces.", def(&[N, S], indent)),
        ("startswith", "Whether a string starts with a prefix.", def(&[S, S], startswith)),
        ("endswith", "Whether a string ends with a suffix.", def(&[S, S], endswith)),
        ("strcontains", "Whether a string contains a substring.", def(&[S, S], strcontains)),
        (
            "regex",
            "The first match of a regular expression (string, list of groups, or object of named groups).",
            def(&[S, S], regex),
        ),
        ("regexall", "Every match of a regular expression, as a list.", def(&[S, S], regexall)),
    ]
}

fn upper(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.to_uppercase().into())
}

fn lower(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.to_lowercase().into())
}

fn title(a: FuncArgs) -> Result<Value, String> {
    let mut out = String::new();
    let mut at_word_start = true;
    for c in str_at(&a, 0)?.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !c.is_alphanumeric();
    }
    Ok(out.into())
}

fn trim(a: FuncArgs) -> Result<Value, String> {
    let cutset: Vec<char> = str_at(&a, 1)?.chars().collect();
    Ok(str_at(&a, 0)?.trim_matches(|c| cutset.contains(&c)).into())
}

fn trimspace(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.trim().into())
}

fn trimprefix(a: FuncArgs) -> Result<Value, String> {
    let s = str_at(&a, 0)?;
    Ok(s.strip_prefix(str_at(&a, 1)?).unwrap_or(s).into())
}

fn trimsuffix(a: FuncArgs) -> Result<Value, String> {
    let s = str_at(&a, 0)?;
    Ok(s.strip_suffix(str_at(&a, 1)?).unwrap_or(s).into())
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

fn replace(a: FuncArgs) -> Result<Value, String> {
    let (s, from, to) = (str_at(&a, 0)?, str_at(&a, 1)?, str_at(&a, 2)?);
    if from.len() >= 2 && from.starts_with('/') && from.ends_with('/') {
        let re = compile(&from[1..from.len() - 1])?;
        // Each `$group` in the replacement expands to at most the whole match.
        let dollars = to.matches('$').count() as u64;
        let grown = re.find_iter(s).fold(0u64, |acc, m| {
            acc.saturating_add(to.len() as u64 + dollars.saturating_mul(m.len() as u64))
        });
        budget::fits(0, (s.len() as u64).saturating_add(grown))?;
        return Ok(re.replace_all(s, to).into_owned().into());
    }
    if from.is_empty() {
        return Err("the substring to replace must not be empty".into());
    }
    let count = s.matches(from).count() as u64;
    budget::fits(0, (s.len() as u64).saturating_add(count.saturating_mul(to.len() as u64)))?;
    Ok(s.replace(from, to).into())
}

fn split(a: FuncArgs) -> Result<Value, String> {
    let (sep, s) = (str_at(&a, 0)?, str_at(&a, 1)?);
    if sep.is_empty() {
        return Ok(Value::Array(s.chars().map(|c| Value::from(c.to_string())).collect()));
    }
    Ok(Value::Array(s.split(sep).map(Value::from).collect()))
}

/// A value as text for `join` and `%s`: strings raw, numbers and bools printed, others refused.
fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {}", type_name(other))),
    }
}

fn join(a: FuncArgs) -> Result<Value, String> {
    let sep = str_at(&a, 0)?;
    let items = super::list_at(&a, 1)?;
    let parts = items.iter().map(text).collect::<Result<Vec<String>, String>>()?;
    let bytes = parts.iter().map(|p| p.len() as u64).sum::<u64>();
    let seps = (parts.len().saturating_sub(1) as u64).saturating_mul(sep.len() as u64);
    budget::fits(0, bytes.saturating_add(seps))?;
    Ok(parts.join(sep).into())
}

/// Go-style printf subset: `%%`, `%s`, `%d`, `%f`, `%e`, `%q`, `%v`, `%t`, `%x`, `%X`, `%o`,
/// `%b`, with `-`, `0`, `+` flags, width and precision.
pub(super) fn sprintf(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let directive = Directive::parse(&mut chars)?;
        if directive.verb == '%' {
            out.push('%');
            continue;
        }
        let verb = directive.verb;
        let arg = args
            .get(next)
            .ok_or_else(|| format!("not enough arguments for the format: `%{verb}` has none"))?;
        next += 1;
        let piece = directive.format(arg)?;
        out.push_str(&directive.pad(piece));
    }
    if next < args.len() {
        return Err(format!(
            "too many arguments for the format: {} given, {next} used",
            args.len()
        ));
    }
    Ok(out)
}

/// One `%` directive of a format: flags, width, precision and verb.
struct Directive {
    left: bool,
    zero: bool,
    plus: bool,
    width: usize,
    precision: Option<usize>,
    verb: char,
}

impl Directive {
    /// Reads a directive from just after its `%`.
    fn parse(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Self, String> {
        let (mut left, mut zero, mut plus) = (false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0).min(64));
        }
        let verb = chars.next().ok_or("the format ends in the middle of a `%` verb")?;
        let width: usize = width.parse().unwrap_or(0).min(1024);
        Ok(Directive { left, zero, plus, width, precision, verb })
    }

    /// Formats one argument by the verb, cut to the precision for `%s`, `%v` and `%q`.
    fn format(&self, arg: &Value) -> Result<String, String> {
        let (verb, plus, precision) = (self.verb, self.plus, self.precision);
        let mut piece = match verb {
            's' => text(arg)?,
            'v' => match arg {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).map_err(|e| e.to_string())?,
            },
            'q' => serde_json::to_string(&text(arg)?).map_err(|e| e.to_string())?,
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => return Err(format!("`%t` needs a bool, got {}", type_name(other))),
            },
            'd' => {
                let n = int_arg(verb, arg)?;
                if plus && n >= 0 {
                    format!("+{n}")
                } else {
                    n.to_string()
                }
            }
            'f' => {
                let n = number_arg(verb, arg)?;
                let s = format!("{:.*}", precision.unwrap_or(6), n);
                if plus && n >= 0.0 {
                    format!("+{s}")
                } else {
                    s
                }
            }
            'e' => format!("{:.*e}", precision.unwrap_or(6), number_arg(verb, arg)?),
            'x' => match arg {
                Value::String(s) => hex::encode(s.as_bytes()),
                _ => format!("{:x}", int_arg(verb, arg)?),
            },
            'X' => match arg {
                Value::String(s) => hex::encode_upper(s.as_bytes()),
                _ => format!("{:X}", int_arg(verb, arg)?),
            },
            'o' => format!("{:o}", int_arg(verb, arg)?),
            'b' => format!("{:b}", int_arg(verb, arg)?),
            other => return Err(format!("unsupported format verb `%{other}`")),
        };
        if let (Some(p), 's' | 'v' | 'q') = (precision, verb) {
            piece = piece.chars().take(p).collect();
        }
        Ok(piece)
    }

    /// Pads a formatted piece to the width: spaces on the right with `-`, zeros after the sign
    /// with `0` for numeric verbs, else spaces on the left.
    fn pad(&self, mut piece: String) -> String {
        let len = piece.chars().count();
        if len < self.width {
            let pad = self.width - len;
            if self.left {
                piece.push_str(&" ".repeat(pad));
            } else if self.zero && matches!(self.verb, 'd' | 'f' | 'e' | 'x' | 'X' | 'o' | 'b') {
                let (sign, digits) = match piece.strip_prefix(['-', '+']) {
                    Some(rest) => (piece[..1].to_string(), rest.to_string()),
                    None => (String::new(), piece.clone()),
                };
                piece = format!("{sign}{}{digits}", "0".repeat(pad));
            } else {
                piece = format!("{}{piece}", " ".repeat(pad));
            }
        }
        piece
    }
}

/// The argument of a numeric verb as a number.
fn number_arg(verb: char, arg: &Value) -> Result<f64, String> {
    arg.as_number()
        .and_then(hcl::Number::as_f64)
        .ok_or_else(|| format!("`%{verb}` needs a number, got {}", type_name(arg)))
}

/// The argument of an integer verb as a whole number.
fn int_arg(verb: char, arg: &Value) -> Result<i64, String> {
    let n = number_arg(verb, arg)?;
    if n.fract() != 0.0 {
        return Err(format!("`%{verb}` needs a whole number, got {n}"));
    }
    Ok(n as i64)
}

fn format(a: FuncArgs) -> Result<Value, String> {
    let spec = str_at(&a, 0)?;
    Ok(sprintf(spec, &a[1..])?.into())
}

fn formatlist(a: FuncArgs) -> Result<Value, String> {
    let spec = str_at(&a, 0)?;
    let rest = &a[1..];
    let mut len: Option<usize> = None;
    for v in rest {
        if let Value::Array(items) = v {
            match len {
                Some(l) if l != items.len() => {
                    return Err(format!(
                        "all list arguments must have the same length: {l} and {}",
                        items.len()
                    ))
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let Some(len) = len else {
        return Ok(Value::Array(vec![sprintf(spec, rest)?.into()]));
    };
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let row: Vec<Value> = rest
            .iter()
            .map(|v| match v {
                Value::Array(items) => items.get(i).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            })
            .collect();
        out.push(Value::from(sprintf(spec, &row)?));
    }
    Ok(Value::Array(out))
}

fn substr(a: FuncArgs) -> Result<Value, String> {
    let chars: Vec<char> = str_at(&a, 0)?.chars().collect();
    let len = chars.len() as i64;
    let mut offset = super::int_at(&a, 1)?;
    let length = super::int_at(&a, 2)?;
    if offset < 0 {
        offset += len;
    }
    if offset < 0 || offset > len {
        return Err(format!("offset {} is outside the string (length {len})", num_at(&a, 1)?));
    }
    let end = if length < 0 { len } else { (offset + length).min(len) };
    Ok(chars[offset as usize..end.max(offset) as usize].iter().collect::<String>().into())
}

fn strrev(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.chars().rev().collect::<String>().into())
}

fn chomp(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.trim_end_matches(['\n', '\r']).into())
}

fn indent(a: FuncArgs) -> Result<Value, String> {
    let n = super::int_at(&a, 0)?;
    if !(0..=1024).contains(&n) {
        return Err(format!("the indent must be between 0 and 1024 spaces, got {n}"));
    }
    let pad = " ".repeat(n as usize);
    let s = str_at(&a, 1)?;
    let lines = s.matches('\n').count() as u64;
    budget::fits(0, (s.len() as u64).saturating_add(lines.saturating_mul(n as u64)))?;
    Ok(s.replace('\n', &format!("\n{pad}")).into())
}

fn startswith(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.starts_with(str_at(&a, 1)?).into())
}

fn endswith(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.ends_with(str_at(&a, 1)?).into())
}

fn strcontains(a: FuncArgs) -> Result<Value, String> {
    Ok(str_at(&a, 0)?.contains(str_at(&a, 1)?).into())
}

/// One match as Terraform shapes it: the whole match without groups, a list of unnamed groups,
/// or an object of named groups.
fn capture_value(re: &regex::Regex, caps: &regex::Captures<'_>) -> Value {
    let named: Vec<&str> = re.capture_names().flatten().collect();
    let group = |i: usize| caps.get(i).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null);
    if !named.is_empty() {
        let mut m = hcl::Map::new();
        for name in named {
            let v = caps.name(name).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null);
            m.insert(name.to_string(), v);
        }
        Value::Object(m)
    } else if re.captures_len() > 1 {
        Value::Array((1..re.captures_len()).map(group).collect())
    } else {
        group(0)
    }
}

fn regex(a: FuncArgs) -> Result<Value, String> {
    let re = compile(str_at(&a, 0)?)?;
    let s = str_at(&a, 1)?;
    let caps = re.captures(s).ok_or("the pattern does not match the string")?;
    Ok(capture_value(&re, &caps))
}

fn regexall(a: FuncArgs) -> Result<Value, String> {
    let re = compile(str_at(&a, 0)?)?;
    let s = str_at(&a, 1)?;
    Ok(Value::Array(
        re.captures_iter(s).take(super::MAX_ELEMENTS).map(|c| capture_value(&re, &c)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, ok};

    #[test]
    fn case() {
        ok(r#"upper("aBc")"#, r#""ABC""#);
        ok(r#"lower("aBc")"#, r#""abc""#);
        ok(r#"title("hello big-world")"#, r#""Hello Big-World""#);
        err("upper(1)", "string");
        err("lower([])", "string");
        err("title({})", "string");
    }

    #[test]
    fn trimming() {
        ok(r#"trim("?!hi?!", "!?")"#, r#""hi""#);
        ok(r#"trimspace("  hi \n")"#, r#""hi""#);
        ok(r#"trimprefix("helloworld", "hello")"#, r#""world""#);
        ok(r#"trimprefix("world", "hello")"#, r#""world""#);
        ok(r#"trimsuffix("helloworld", "world")"#, r#""hello""#);
        ok(r#"chomp("hi\n\r\n")"#, r#""hi""#);
        err(r#"trim("a")"#, "arguments");
        err("trimspace(1)", "string");
        err(r#"trimprefix("a", 1)"#, "string");
        err(r#"trimsuffix(1, "a")"#, "string");
        err("chomp(true)", "string");
    }

    #[test]
    fn replace_split_join() {
        ok(r#"replace("a-b-c", "-", "_")"#, r#""a_b_c""#);
        ok(r##"replace("a1b22", "/[0-9]+/", "#")"##, r##""a#b#""##);
        ok(r#"split(",", "a,b,,c")"#, r#"["a", "b", "", "c"]"#);
        ok(r#"join("-", ["a", "b", 3])"#, r#""a-b-3""#);
        err(r#"replace("a", "", "b")"#, "empty");
        err(r#"replace("a", "/(/", "b")"#, "regular expression");
        err(r#"split(",", 1)"#, "string");
        err(r#"join("-", [["a"]])"#, "expected a string");
    }

    #[test]
    fn format_and_formatlist() {
        ok(
            r#"format("%s-%03d %.2f %q %t %%", "a", 7, 3.14159, "x", true)"#,
            r#""a-007 3.14 \"x\" true %""#,
        );
        ok(r#"format("%-4s|%5s|%x", "ab", "cd", 255)"#, r#""ab  |   cd|ff""#);
        ok(r#"format("%v", [1, "a"])"#, r#""[1,\"a\"]""#);
        ok(r#"formatlist("%s=%s", ["a", "b"], ["1", "2"])"#, r#"["a=1", "b=2"]"#);
        ok(r#"formatlist("%s-%s", "x", ["1", "2"])"#, r#"["x-1", "x-2"]"#);
        err(r#"format("%d", "x")"#, "needs a number");
        err(r#"format("%s %s", "x")"#, "not enough arguments");
        err(r#"format("%s", "x", "y")"#, "too many arguments");
        err(r#"format("%y", 1)"#, "unsupported format verb");
        err(r#"formatlist("%s%s", ["a"], ["b", "c"])"#, "same length");
    }

    #[test]
    fn substrings_and_predicates() {
        ok(r#"substr("hello world", 1, 4)"#, r#""ello""#);
        ok(r#"substr("hello", -3, -1)"#, r#""llo""#);
        ok(r#"substr("héllo", 1, 1)"#, r#""é""#);
        ok(r#"strrev("abc")"#, r#""cba""#);
        ok(r#"indent(2, "a\nb")"#, r#""a\n  b""#);
        ok(r#"startswith("hello", "he")"#, "true");
        ok(r#"endswith("hello", "he")"#, "false");
        ok(r#"strcontains("hello", "ll")"#, "true");
        err(r#"substr("abc", 9, 1)"#, "outside");
        err(r#"substr("abc", 1.5, 1)"#, "whole number");
        err("strrev(1)", "string");
        err(r#"indent(-1, "a")"#, "between");
        err(r#"startswith(1, "a")"#, "string");
        err(r#"endswith("a")"#, "arguments");
        err(r#"strcontains("a", null)"#, "string");
    }

    #[test]
    fn regular_expressions() {
        ok(r#"regex("[a-z]+", "53 abc 7")"#, r#""abc""#);
        ok(r#"regex("(\\d+)-(\\d+)", "10-20")"#, r#"["10", "20"]"#);
        ok(r#"regex("(?P<y>\\d{4})", "in 2024")"#, r#"{ y = "2024" }"#);
        ok(r#"regexall("\\d", "a1b2")"#, r#"["1", "2"]"#);
        ok(r#"regexall("x", "abc")"#, "[]");
        err(r#"regex("x", "abc")"#, "does not match");
        err(r#"regexall("(", "abc")"#, "regular expression");
    }
}
