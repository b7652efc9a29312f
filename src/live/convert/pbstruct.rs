//! `google.protobuf.Struct` ↔ a JSON object (protojson's mapping). Pure.
//!
//! Numbers are doubles on the wire. Going back to JSON, an integral double within ±2^53 becomes a
//! JSON integer, so `{a: 2}` written in a file equals what the server returns (no spurious diff).
//! Non-finite doubles (not representable in JSON) become `null`.

use prost_types::value::Kind;
use serde_json::{Map, Number, Value};

/// Largest integer a double holds exactly.
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

pub fn to_struct(map: &Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct { fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect() }
}

pub fn from_struct(s: &prost_types::Struct) -> Map<String, Value> {
    s.fields.iter().map(|(k, v)| (k.clone(), from_value(v))).collect()
}

fn to_value(v: &Value) -> prost_types::Value {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => {
            Kind::ListValue(prost_types::ListValue { values: a.iter().map(to_value).collect() })
        }
        Value::Object(o) => Kind::StructValue(to_struct(o)),
    };
    prost_types::Value { kind: Some(kind) }
}

fn from_value(v: &prost_types::Value) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => Value::Object(from_struct(s)),
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        // Exact: the value is integral and within the range a double holds exactly.
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_objects_round_trip_through_struct() {
        let v = json!({"a": 2, "b": -1.5, "c": "x", "d": [true, null, {"e": []}], "f": {}});
        let Value::Object(map) = v else { unreachable!() };
        assert_eq!(from_struct(&to_struct(&map)), map);
    }

    #[test]
    fn integral_doubles_come_back_as_integers() {
        let s = prost_types::Struct {
            fields: [("n".to_string(), prost_types::Value { kind: Some(Kind::NumberValue(3.0)) })]
                .into(),
        };
        assert_eq!(Value::Object(from_struct(&s)), json!({"n": 3}));
        assert_eq!(number(f64::NAN), Value::Null);
        assert_eq!(number(1e300), json!(1e300));
    }
}
