//! Collection functions: lists, maps and sets. Pure.

use hcl::eval::FuncArgs;
use hcl::{Map, Value};

use super::{
    def, int_at, list, list_at, obj_at, object, str_at, type_name, variadic, Def, A, MAX_ELEMENTS,
    N, S,
};

pub(super) fn definitions() -> Vec<Def> {
    vec![
        (
            "length",
            "Number of elements of a list or map, or characters of a string.",
            def(&[A], length),
        ),
        ("concat", "Joins lists into one.", variadic(&[], list(), concat)),
        ("contains", "Whether a list contains a value.", def(&[list(), A], contains)),
        (
            "distinct",
            "Removes duplicate elements, keeping the first of each.",
            def(&[list()], distinct),
        ),
        (
            "flatten",
            "Replaces nested lists with their elements, recursively.",
            def(&[list()], flatten),
        ),
        ("keys", "The keys of a map, sorted.", def(&[object()], keys)),
        ("values", "The values of a map, in key order.", def(&[object()], values)),
        (
            "lookup",
            "The value of a map key, or a default when absent.",
            variadic(&[object(), S], A, lookup),
        ),
        ("merge", "Merges maps; later keys win.", variadic(&[], A, merge)),
        ("element", "The element at an index, wrapping around.", def(&[list(), N], element)),
        ("index", "The index of the first element equal to a value.", def(&[list(), A], index)),
        (
            "slice",
            "The elements from `start` (inclusive) to `end` (exclusive).",
            def(&[list(), N, N], slice),
        ),
        ("sort", "Sorts a list of strings lexicographically.", def(&[list()], sort)),
        ("reverse", "Reverses a list.", def(&[list()], reverse)),
        (
            "range",
            "A list of numbers: `range(limit)`, `range(start, limit[, step])`.",
            variadic(&[], N, range),
        ),
        (
            "zipmap",
            "A map from a list of keys and a list of values.",
            def(&[list(), list()], zipmap),
        ),
        (
            "coalesce",
            "The first argument that is neither null nor an empty string.",
            variadic(&[], A, coalesce),
        ),
        (
            "coalescelist",
            "The first list argument that is not empty.",
            variadic(&[], list(), coalescelist),
        ),
        ("compact", "Removes null and empty-string elements.", def(&[list()], compact)),
        ("toset", "Removes duplicates (and sorts strings), as a set would.", def(&[list()], toset)),
        ("tolist", "Converts a list or set to a list.", def(&[list()], tolist)),
        ("tomap", "Converts an object to a map.", def(&[object()], tomap)),
        (
            "one",
            "The only element of a list, null if empty; more is an error.",
            def(&[list()], one),
        ),
    ]
}

fn length(a: FuncArgs) -> Result<Value, String> {
    match &a[0] {
        Value::String(s) => Ok(Value::from(s.chars().count() as i64)),
        Value::Array(items) => Ok(Value::from(items.len() as i64)),
        Value::Object(m) => Ok(Value::from(m.len() as i64)),
        other => Err(format!("length needs a string, list or map, got {}", type_name(other))),
    }
}

fn concat(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for v in a.iter() {
        if let Value::Array(items) = v {
            if out.len() + items.len() > MAX_ELEMENTS {
                return Err(format!("the result would exceed {MAX_ELEMENTS} elements"));
            }
            out.extend(items.iter().cloned());
        }
    }
    Ok(Value::Array(out))
}

fn contains(a: FuncArgs) -> Result<Value, String> {
    Ok(list_at(&a, 0)?.contains(&a[1]).into())
}

fn dedup(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn distinct(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(dedup(list_at(&a, 0)?)))
}

fn flatten_into(items: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("lists are nested too deeply to flatten".into());
    }
    for v in items {
        match v {
            Value::Array(inner) => flatten_into(inner, out, depth + 1)?,
            other => out.push(other.clone()),
        }
    }
    Ok(())
}

fn flatten(a: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    flatten_into(list_at(&a, 0)?, &mut out, 0)?;
    Ok(Value::Array(out))
}

fn sorted_entries(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    entries
}

fn keys(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        sorted_entries(obj_at(&a, 0)?).into_iter().map(|(k, _)| k.as_str().into()).collect(),
    ))
}

fn values(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(sorted_entries(obj_at(&a, 0)?).into_iter().map(|(_, v)| v.clone()).collect()))
}

fn lookup(a: FuncArgs) -> Result<Value, String> {
    let m = obj_at(&a, 0)?;
    let key = str_at(&a, 1)?;
    if a.len() > 3 {
        return Err(format!("lookup takes 2 or 3 arguments, got {}", a.len()));
    }
    match (m.get(key), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!("the map has no key {key:?} and no default was given")),
    }
}

fn merge(a: FuncArgs) -> Result<Value, String> {
    let mut out = Map::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Object(m) => out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Null => {}
            other => {
                return Err(format!("argument {} must be a map, got {}", i + 1, type_name(other)))
            }
        }
    }
    Ok(Value::Object(out))
}

fn element(a: FuncArgs) -> Result<Value, String> {
    let items = list_at(&a, 0)?;
    let i = int_at(&a, 1)?;
    if items.is_empty() {
        return Err("cannot take an element of an empty list".into());
    }
    if i < 0 {
        return Err(format!("the index must not be negative, got {i}"));
    }
    Ok(items[(i as usize) % items.len()].clone())
}

fn index(a: FuncArgs) -> Result<Value, String> {
    let items = list_at(&a, 0)?;
    items
        .iter()
        .position(|v| v == &a[1])
        .map(|i| Value::from(i as i64))
        .ok_or_else(|| "the value is not in the list".to_string())
}

fn slice(a: FuncArgs) -> Result<Value, String> {
    let items = list_at(&a, 0)?;
    let (start, end) = (int_at(&a, 1)?, int_at(&a, 2)?);
    if start < 0 || end < start || end as usize > items.len() {
        return Err(format!(
            "the range {start}..{end} is outside the list (length {}) or reversed",
            items.len()
        ));
    }
    Ok(Value::Array(items[start as usize..end as usize].to_vec()))
}

fn sort(a: FuncArgs) -> Result<Value, String> {
    let mut strings = Vec::new();
    for v in list_at(&a, 0)? {
        match v {
            Value::String(s) => strings.push(s.clone()),
            Value::Number(n) => strings.push(n.to_string()),
            Value::Bool(b) => strings.push(b.to_string()),
            other => {
                return Err(format!("sort needs a list of strings, found {}", type_name(other)))
            }
        }
    }
    strings.sort();
    Ok(Value::Array(strings.into_iter().map(Value::from).collect()))
}

fn reverse(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(list_at(&a, 0)?.iter().rev().cloned().collect()))
}

fn range(a: FuncArgs) -> Result<Value, String> {
    let (start, limit, step) = match a.len() {
        1 => (0.0, super::num_at(&a, 0)?, None),
        2 => (super::num_at(&a, 0)?, super::num_at(&a, 1)?, None),
        3 => (super::num_at(&a, 0)?, super::num_at(&a, 1)?, Some(super::num_at(&a, 2)?)),
        n => return Err(format!("range takes 1 to 3 arguments, got {n}")),
    };
    let step = step.unwrap_or(if limit >= start { 1.0 } else { -1.0 });
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !limit.is_finite() {
        return Err("the step must be a finite, non-zero number".into());
    }
    if (limit > start && step < 0.0) || (limit < start && step > 0.0) {
        return Err(format!("a step of {step} never reaches {limit} from {start}"));
    }
    let count = ((limit - start) / step).ceil();
    if count > MAX_ELEMENTS as f64 {
        return Err(format!("range would make {count} elements; at most {MAX_ELEMENTS} allowed"));
    }
    Ok(Value::Array((0..count as usize).map(|i| super::number(start + step * i as f64)).collect()))
}

fn zipmap(a: FuncArgs) -> Result<Value, String> {
    let (ks, vs) = (list_at(&a, 0)?, list_at(&a, 1)?);
    if ks.len() != vs.len() {
        return Err(format!("{} keys but {} values", ks.len(), vs.len()));
    }
    let mut out = Map::new();
    for (k, v) in ks.iter().zip(vs) {
        let key = match k {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("keys must be strings, found {}", type_name(other))),
        };
        out.insert(key, v.clone());
    }
    Ok(Value::Object(out))
}

fn coalesce(a: FuncArgs) -> Result<Value, String> {
    a.iter()
        .find(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "every argument is null or an empty string".to_string())
}

fn coalescelist(a: FuncArgs) -> Result<Value, String> {
    a.iter()
        .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
        .cloned()
        .ok_or_else(|| "every list is empty".to_string())
}

fn compact(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(
        list_at(&a, 0)?
            .iter()
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

fn toset(a: FuncArgs) -> Result<Value, String> {
    let mut items = dedup(list_at(&a, 0)?);
    if items.iter().all(|v| v.is_string()) {
        items.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
    Ok(Value::Array(items))
}

fn tolist(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(list_at(&a, 0)?.clone()))
}

fn tomap(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Object(obj_at(&a, 0)?.clone()))
}

fn one(a: FuncArgs) -> Result<Value, String> {
    let items = list_at(&a, 0)?;
    match items.len() {
        0 => Ok(Value::Null),
        1 => Ok(items[0].clone()),
        n => Err(format!("one needs a list of at most one element, got {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, ok};

    #[test]
    fn sizes_and_joins() {
        ok(r#"length("héllo")"#, "5");
        ok("length([1, 2])", "2");
        ok("length({ a = 1 })", "1");
        ok("concat([1], [], [2, 3])", "[1, 2, 3]");
        ok(r#"contains(["a", "b"], "b")"#, "true");
        ok("distinct([1, 2, 1, 3, 2])", "[1, 2, 3]");
        ok("flatten([1, [2, [3]], []])", "[1, 2, 3]");
        err("length(1)", "length needs");
        err("concat([1], 2)", "list");
        err("contains(1, 1)", "list");
        err("distinct(\"a\")", "list");
        err("flatten({})", "list");
    }

    #[test]
    fn maps() {
        ok("keys({ b = 1, a = 2 })", r#"["a", "b"]"#);
        ok("values({ b = 1, a = 2 })", "[2, 1]");
        ok(r#"lookup({ a = 1 }, "a")"#, "1");
        ok(r#"lookup({ a = 1 }, "b", 7)"#, "7");
        ok("merge({ a = 1, b = 2 }, { b = 3 }, null)", "{ a = 1, b = 3 }");
        ok(r#"zipmap(["a", "b"], [1, 2])"#, "{ a = 1, b = 2 }");
        ok("tomap({ a = 1 })", "{ a = 1 }");
        err("keys([1])", "map");
        err("values(1)", "map");
        err(r#"lookup({ a = 1 }, "b")"#, "no key");
        err("merge({ a = 1 }, [1])", "must be a map");
        err(r#"zipmap(["a"], [])"#, "1 keys but 0 values");
        err("tomap([1])", "map");
    }

    #[test]
    fn positions() {
        ok("element([1, 2, 3], 4)", "2");
        ok(r#"index(["a", "b"], "b")"#, "1");
        ok("slice([1, 2, 3, 4], 1, 3)", "[2, 3]");
        ok(r#"sort(["b", "a", "c"])"#, r#"["a", "b", "c"]"#);
        ok("reverse([1, 2, 3])", "[3, 2, 1]");
        ok("one([])", "null");
        ok("one([5])", "5");
        err("element([], 0)", "empty list");
        err(r#"index(["a"], "z")"#, "not in the list");
        err("slice([1], 0, 5)", "outside");
        err("sort([[1]])", "list of strings");
        err("reverse(1)", "list");
        err("one([1, 2])", "at most one");
    }

    #[test]
    fn ranges() {
        ok("range(3)", "[0, 1, 2]");
        ok("range(1, 4)", "[1, 2, 3]");
        ok("range(0, 1, 0.5)", "[0, 0.5]");
        ok("range(3, 0)", "[3, 2, 1]");
        err("range(0, 1, 0)", "non-zero");
        err("range(0, 1, -1)", "never reaches");
        err("range(1000000000)", "at most");
        err("range()", "1 to 3");
    }

    #[test]
    fn null_and_empty_handling() {
        ok(r#"coalesce(null, "", "a", "b")"#, r#""a""#);
        ok("coalescelist([], [1], [2])", "[1]");
        ok(r#"compact(["a", "", null, "b"])"#, r#"["a", "b"]"#);
        ok(r#"toset(["b", "a", "b"])"#, r#"["a", "b"]"#);
        ok("tolist([1])", "[1]");
        err(r#"coalesce(null, "")"#, "every argument");
        err("coalescelist([], [])", "every list");
        err("compact(1)", "list");
        err("toset(1)", "list");
        err("tolist({})", "list");
    }
}
