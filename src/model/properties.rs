//! Property tests of the model's small types.

use proptest::prelude::*;

use crate::model::{Address, Kind};

/// A valid name segment: 2–40 lowercase letters, digits and dashes, starting with a letter,
/// ending with a letter or digit, without `--`.
fn segment() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9-]{0,38}[a-z0-9])?"
        .prop_filter("at least 2 characters, no `--`", |s| s.len() >= 2 && !s.contains("--"))
}

fn address() -> impl Strategy<Value = Address> {
    (proptest::sample::select(Kind::ALL.to_vec()), segment(), segment()).prop_map(
        |(kind, space, name)| {
            if kind.in_space() {
                Address::in_space(kind, space, name)
            } else {
                Address { kind, space: None, name }
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// One display form, one parse form: an address prints and parses back to itself, and so
    /// does its JSON form.
    #[test]
    fn an_address_prints_and_parses_back(a in address()) {
        let shown = a.to_string();
        prop_assert!(shown.starts_with(&format!("{}.", a.kind.keyword())), "{}", shown);
        let parsed: Address = shown.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&parsed, &a);
        let json = serde_json::to_string(&a).expect("json");
        prop_assert_eq!(json.clone(), format!("\"{shown}\""));
        let back: Address = serde_json::from_str(&json).expect("parses");
        prop_assert_eq!(back, a);
    }

    /// An address of the wrong arity for its kind never parses.
    #[test]
    fn the_wrong_number_of_parts_is_refused(a in address(), extra in segment()) {
        let wrong = if a.kind.in_space() {
            format!("{}.{}", a.kind, a.name)
        } else {
            format!("{}.{}.{extra}", a.kind, a.name)
        };
        prop_assert!(wrong.parse::<Address>().is_err(), "{} parsed", wrong);
    }
}
