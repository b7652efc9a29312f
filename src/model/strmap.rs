//! [`StrMap`]: labels and annotations, a few strings each, as one sorted list.

use serde::{Deserialize, Serialize};

/// A map of strings sorted by key, held as one list of pairs: what a resource's labels and
/// annotations are (none to a handful each, for every object of a config of 50,000). A
/// `BTreeMap<String, String>` allocates a node of about 540 bytes for its first entry; this
/// allocates 48 bytes per entry. Lookups are binary searches; inserting is linear in the size,
/// which is small. Iteration, equality, ordering and serialisation are those of a `BTreeMap`
/// with the same entries.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrMap(Vec<(String, String)>);

impl StrMap {
    pub fn new() -> StrMap {
        StrMap(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; the value it had, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(pair)
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }
}

/// [`StrMap::iter`].
pub type Iter<'a> = std::iter::Map<
    std::slice::Iter<'a, (String, String)>,
    fn(&'a (String, String)) -> (&'a String, &'a String),
>;

fn pair((k, v): &(String, String)) -> (&String, &String) {
    (k, v)
}

impl std::fmt::Debug for StrMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, String)> for StrMap {
    /// As a `BTreeMap` collects: sorted, and of two entries with one key the later wins.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> StrMap {
        let mut pairs: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: of equal keys the later stays last, and is the one kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        StrMap(out)
    }
}

impl<const N: usize> From<[(String, String); N]> for StrMap {
    fn from(pairs: [(String, String); N]) -> StrMap {
        pairs.into_iter().collect()
    }
}

impl IntoIterator for StrMap {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a StrMap {
    type Item = (&'a String, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for StrMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for StrMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<StrMap, D::Error> {
        Ok(std::collections::BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::StrMap;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Any sequence of inserts and removes leaves a `StrMap` and a `BTreeMap` with the same
        /// entries in the same order, and the same answers on the way.
        #[test]
        fn behaves_as_a_btreemap(ops in proptest::collection::vec((0u8..3, "[a-e]{0,2}", "[x-z]{0,2}"), 0..40)) {
            let (mut ours, mut theirs) = (StrMap::new(), BTreeMap::new());
            for (op, k, v) in ops {
                match op {
                    0 | 1 => prop_assert_eq!(ours.insert(k.clone(), v.clone()), theirs.insert(k, v)),
                    _ => prop_assert_eq!(ours.remove(&k), theirs.remove(&k)),
                }
                prop_assert_eq!(ours.len(), theirs.len());
                prop_assert!(ours.iter().eq(theirs.iter()));
            }
            let collected: StrMap = theirs.clone().into_iter().chain(theirs.clone()).collect();
            prop_assert_eq!(&collected, &ours);
            prop_assert_eq!(
                serde_json::to_string(&ours).expect("json"),
                serde_json::to_string(&theirs).expect("json")
            );
        }
    }

    #[test]
    fn of_two_entries_with_one_key_collect_keeps_the_later() {
        let m: StrMap = [("a", "1"), ("b", "2"), ("a", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(m.get("a").map(String::as_str), Some("3"));
        assert_eq!(m.len(), 2);
    }
}
