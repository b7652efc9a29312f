//! Sorting large records in place. `slice::sort_by` is stable but borrows a scratch buffer of
//! up to half the slice's elements; for a plan's tens of thousands of live objects or changes
//! (a few hundred bytes each) that is megabytes allocated and freed at the end of a phase,
//! which the allocator keeps as a hole. Here the indices are sorted (4 bytes each) and the
//! records moved along the cycles of the permutation: each once, no second buffer.
//! A leaf module, like `kind` and `diag`.

use std::cmp::Ordering;

/// Sorts `v` by `cmp`, stably (equal records keep their order), in place.
pub fn stable_sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let Ok(n) = u32::try_from(v.len()) else {
        // More records than any plan holds: the plain sort, scratch and all.
        v.sort_by(cmp);
        return;
    };
    let mut from: Vec<u32> = (0..n).collect();
    from.sort_by(|&a, &b| cmp(&v[a as usize], &v[b as usize]));
    permute(v, from);
}

/// Moves the record at `from[i]` to `i`, for every `i` (`from` is a permutation of the
/// indices of `v`), each record once.
fn permute<T>(v: &mut [T], mut from: Vec<u32>) {
    const DONE: u32 = u32::MAX;
    for start in 0..from.len() {
        let mut at = start;
        // Along the cycle through `start`: the record that belongs at `at` is at `from[at]`
        // (untouched so far), unless that is `start`, whose record the previous swap brought
        // to `at`.
        while from[at] != DONE {
            let next = from[at] as usize;
            from[at] = DONE;
            if next == start {
                break;
            }
            v.swap(at, next);
            at = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same order as the standard stable sort, ties included (compared on the key
        /// only, the position telling equal keys apart).
        #[test]
        fn sorts_like_the_stable_sort(keys in proptest::collection::vec(0u8..8, 0..200)) {
            let mut ours: Vec<(u8, usize)> = keys.iter().copied().zip(0..).collect();
            let mut std_sorted = ours.clone();
            stable_sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            std_sorted.sort_by_key(|a| a.0);
            prop_assert_eq!(ours, std_sorted);
        }
    }

    #[test]
    fn reverses_and_leaves_sorted_input_alone() {
        let mut v: Vec<u32> = (0..1000).rev().collect();
        stable_sort_by(&mut v, |a, b| a.cmp(b));
        assert!(v.iter().copied().eq(0..1000));
        stable_sort_by(&mut v, |a, b| a.cmp(b));
        assert!(v.iter().copied().eq(0..1000));
    }
}
