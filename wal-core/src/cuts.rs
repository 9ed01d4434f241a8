//! The truncations live readers check: the log's first index, which `truncate_front` and
//! retention raise (an iterator overtaken by them must say so, not fail on a deleted file),
//! and the `truncate_back` cuts (an iterator created before a cut must not yield what the
//! cut removed, nor what was appended at those indexes after it).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::lock::lock;

/// How many cuts are remembered one by one; older ones are merged (conservatively: a
/// reader older than all of them ends at the lowest cut).
const KEPT: usize = 32;

/// The first index, and the cuts in the order made, each with the generation it started.
#[derive(Debug, Default)]
pub(crate) struct Cuts {
    /// The log's first index.
    first: AtomicU64,
    /// Cuts made so far: readers compare it with the value they saw.
    generation: AtomicU64,
    /// `(generation, last index kept)`, the kept indexes increasing: a cut followed by a
    /// lower one never matters on its own (any reader that saw the first sees the second).
    kept: Mutex<Vec<(u64, u64)>>,
}

impl Cuts {
    /// The record of a log whose first index is `first`.
    pub(crate) fn new(first: u64) -> Self {
        Self {
            first: AtomicU64::new(first),
            ..Self::default()
        }
    }

    /// The log's first index.
    pub(crate) fn first_index(&self) -> u64 {
        self.first.load(Ordering::Acquire)
    }

    /// Records the log's new first index, before the segments below it are deleted.
    pub(crate) fn set_first_index(&self, index: u64) {
        self.first.store(index, Ordering::Release);
    }

    /// The number of cuts made so far.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a cut after `last_kept`: after the log's last index is lowered, before any
    /// frame is appended in place of the removed ones.
    pub(crate) fn record(&self, last_kept: u64) {
        let mut kept = lock(&self.kept);
        let generation = self.generation.load(Ordering::Acquire) + 1;
        while kept.last().is_some_and(|&(_, k)| k >= last_kept) {
            kept.pop();
        }
        kept.push((generation, last_kept));
        if kept.len() > KEPT {
            // The two oldest become one: the newer's generation with the lower index, so a
            // reader that saw neither ends at the lower (early, never late).
            let (_, k) = kept.remove(0);
            kept[0].1 = kept[0].1.min(k);
        }
        self.generation.store(generation, Ordering::Release);
    }

    /// The lowest last-kept index of the cuts made after generation `seen`, if any.
    pub(crate) fn lowest_since(&self, seen: u64) -> Option<u64> {
        // Increasing in both: the first cut after `seen` is the lowest.
        lock(&self.kept)
            .iter()
            .find(|&&(g, _)| g > seen)
            .map(|&(_, k)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::Cuts;

    #[test]
    fn a_reader_sees_the_lowest_cut_made_after_it_looked() {
        let cuts = Cuts::default();
        cuts.record(50);
        let seen = cuts.generation();
        assert_eq!(cuts.lowest_since(seen), None);
        cuts.record(80);
        cuts.record(60);
        cuts.record(70);
        assert_eq!(cuts.lowest_since(seen), Some(60));
        assert_eq!(cuts.lowest_since(0), Some(50));
        assert_eq!(cuts.lowest_since(cuts.generation()), None);
    }

    #[test]
    fn merging_old_cuts_only_ever_lowers_what_a_reader_sees() {
        let cuts = Cuts::default();
        for k in 0..100 {
            cuts.record(1000 + k);
        }
        assert_eq!(cuts.lowest_since(0), Some(1000));
        assert_eq!(cuts.lowest_since(99), Some(1099));
        assert!(cuts.lowest_since(50).is_some_and(|k| k <= 1050));
    }
}
