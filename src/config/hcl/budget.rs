//! The evaluation budget: one allowance for a whole load, so that a few lines of HCL cannot
//! exhaust memory or time. Per-call caps multiply under nesting (`for` over `for`, a local
//! repeated at every level); this budget does not, because every value the evaluator produces
//! is charged against the same allowance.
//!
//! Charged: the values copied by each `var.x` / `local.x` reference (before the copy is made),
//! every function's result, every iteration of a `for` expression or directive, and the strings
//! functions build (checked before they are built by the functions that can amplify their
//! input: `range`, `concat`, `join`, `replace`, `format`…). Static limits: the nesting of `for`
//! and the length of a chain of locals. The figures are documented in `docs/hcl.md` ("Limits").
//!
//! The state is per thread (hcl-rs functions are plain `fn`s and cannot capture it), installed
//! for the duration of a load by [`scoped`]. Pure: no I/O.

use std::cell::Cell;

use hcl::Value;

/// Values (list elements, map entries, scalars) one load may produce in total.
pub const MAX_VALUES: u64 = 2_000_000;
/// String bytes one load may produce in total.
pub const MAX_STRING_BYTES: u64 = 128 << 20;
/// `for` expressions (and directives) nested inside each other in one expression.
pub const MAX_FOR_NESTING: usize = 8;
/// Locals in one chain of references (`a` uses `b` uses `c` …).
pub const MAX_LOCAL_CHAIN: usize = 100_000;
/// Nesting depth of one value (lists and maps inside each other).
pub const MAX_VALUE_DEPTH: usize = 128;

/// What ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Values,
    StringBytes,
}

impl Exceeded {
    /// The sentence for a diagnostic.
    pub fn message(self) -> String {
        match self {
            Exceeded::Values => format!(
                "Evaluating this expression goes past the evaluation budget of {} values \
                 produced by the whole configuration.",
                group(MAX_VALUES)
            ),
            Exceeded::StringBytes => format!(
                "Evaluating this expression goes past the evaluation budget of {} MiB of strings \
                 produced by the whole configuration.",
                MAX_STRING_BYTES >> 20
            ),
        }
    }
}

/// The hint every budget diagnostic carries.
pub const HELP: &str = "A configuration this large is usually a mistake: a `for` over a large \
                        list inside another, or a local that repeats the one before it. The \
                        limits are listed in docs/hcl.md under \"Limits\".";

/// The size of a value: how many values it holds (itself included), its string bytes, its depth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub values: u64,
    pub bytes: u64,
    pub depth: usize,
}

impl Size {
    /// Measures `v`; stops descending past [`MAX_VALUE_DEPTH`] (the depth then says so).
    pub fn of(v: &Value) -> Size {
        let mut size = Size::default();
        measure(v, 1, &mut size);
        size
    }

    pub fn add(self, other: Size) -> Size {
        Size {
            values: self.values.saturating_add(other.values),
            bytes: self.bytes.saturating_add(other.bytes),
            depth: self.depth.max(other.depth),
        }
    }
}

fn measure(v: &Value, depth: usize, size: &mut Size) {
    size.values += 1;
    size.depth = size.depth.max(depth);
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match v {
        Value::String(s) => size.bytes += s.len() as u64,
        Value::Array(items) => items.iter().for_each(|i| measure(i, depth + 1, size)),
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            size.bytes += k.len() as u64;
            measure(v, depth + 1, size);
        }),
        _ => {}
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    values: u64,
    bytes: u64,
    exceeded: Option<Exceeded>,
}

const FRESH: State = State { values: 0, bytes: 0, exceeded: None };

thread_local! {
    static STATE: Cell<State> = const { Cell::new(FRESH) };
}

/// Runs `f` with a fresh budget on this thread (a load, or one literal file).
pub fn scoped<T>(f: impl FnOnce() -> T) -> T {
    let previous = STATE.with(|s| s.replace(FRESH));
    let out = f();
    STATE.with(|s| s.set(previous));
    out
}

/// What ran out, once something has.
pub fn exceeded() -> Option<Exceeded> {
    STATE.with(|s| s.get().exceeded)
}

/// Charges `values` and `bytes`; an error (and the budget marked spent) when they do not fit.
pub fn charge(values: u64, bytes: u64) -> Result<(), String> {
    STATE.with(|s| {
        let mut st = s.get();
        if let Some(e) = st.exceeded {
            return Err(e.message());
        }
        st.values = st.values.saturating_add(values);
        st.bytes = st.bytes.saturating_add(bytes);
        if st.values > MAX_VALUES {
            st.exceeded = Some(Exceeded::Values);
        } else if st.bytes > MAX_STRING_BYTES {
            st.exceeded = Some(Exceeded::StringBytes);
        }
        s.set(st);
        match st.exceeded {
            Some(e) => Err(e.message()),
            None => Ok(()),
        }
    })
}

/// Checks, before a function builds its result, that `values` and `bytes` more would fit; the
/// result itself is charged when it is returned (`__budget`), so this does not charge.
pub fn fits(values: u64, bytes: u64) -> Result<(), String> {
    STATE.with(|s| {
        let mut st = s.get();
        if st.exceeded.is_none() {
            if st.values.saturating_add(values) > MAX_VALUES {
                st.exceeded = Some(Exceeded::Values);
            } else if st.bytes.saturating_add(bytes) > MAX_STRING_BYTES {
                st.exceeded = Some(Exceeded::StringBytes);
            }
            s.set(st);
        }
        match st.exceeded {
            Some(e) => Err(e.message()),
            None => Ok(()),
        }
    })
}

/// Charges a size.
pub fn charge_size(size: Size) -> Result<(), String> {
    charge(size.values, size.bytes)
}

/// `__budget(x)`: charges what `x` holds and returns it (wraps function calls and `for` bodies).
pub fn charge_fn(a: hcl::eval::FuncArgs) -> Result<Value, String> {
    let v = a.into_values().into_iter().next().unwrap_or(Value::Null);
    charge_size(Size::of(&v))?;
    Ok(v)
}

/// `__for(collection, bytes)`: charges one value per iteration plus `bytes` (the literal text
/// of a `for` directive's body) per iteration, and returns the collection.
pub fn charge_for(a: hcl::eval::FuncArgs) -> Result<Value, String> {
    let mut values = a.into_values().into_iter();
    let collection = values.next().unwrap_or(Value::Null);
    let per = values.next().and_then(|b| b.as_u64()).unwrap_or(0);
    let n = match &collection {
        Value::Array(items) => items.len() as u64,
        Value::Object(m) => m.len() as u64,
        _ => 0,
    };
    charge(n, n.saturating_mul(per))?;
    Ok(collection)
}

/// `12345678` as `12,345,678`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_by_every_charge_and_stays_spent() {
        scoped(|| {
            assert!(charge(MAX_VALUES / 2, 0).is_ok());
            assert!(charge(MAX_VALUES / 2, 0).is_ok());
            assert!(charge(1, 0).is_err());
            assert_eq!(exceeded(), Some(Exceeded::Values));
            assert!(charge(0, 0).is_err());
        });
        scoped(|| assert!(charge(0, MAX_STRING_BYTES + 1).is_err()));
        assert_eq!(exceeded(), None);
    }

    #[test]
    fn sizes_count_values_bytes_and_depth() {
        let v: Value = serde_json::from_str::<Value>(r#"{"ab": ["x", [1]]}"#).expect("json");
        assert_eq!(Size::of(&v), Size { values: 5, bytes: 3, depth: 4 });
        assert_eq!(group(2_000_000), "2,000,000");
    }
}
