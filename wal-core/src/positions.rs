//! The bound on entry positions held in memory: sealed segments' positions (4 bytes per
//! entry) are loaded from their footers on use, and the least recently used are released
//! beyond `Options::max_cached_positions` bytes. The segment being written keeps its own.
//!
//! Recency is a CLOCK, as for open files: a use of positions already tracked sets the
//! segment's bit with one store and takes no lock, so a random read costs the same whatever
//! the number of segments.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use crate::lock::lock;
use crate::segment::Segment;

/// Sealed segments whose positions are loaded, and the sweep's hand.
#[derive(Debug)]
pub(crate) struct PositionCache {
    max_bytes: u64,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// Tracked segments with the bytes of positions they held when tracked; `None` where
    /// one was released (reused from `free`).
    ring: Vec<Option<(Weak<Segment>, u64)>>,
    free: Vec<usize>,
    hand: usize,
    bytes: u64,
}

impl PositionCache {
    /// A cache holding at most about `max_bytes` of positions (always the last one used).
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self {
            max_bytes,
            held: Mutex::default(),
        }
    }

    /// Notes that `seg`'s positions were just used; releases the least recently used ones
    /// beyond the bound. Segments whose positions cannot be reloaded are not tracked.
    pub(crate) fn touch(&self, seg: &Arc<Segment>) {
        let flags = seg.position_flags();
        if flags.tracked.load(Ordering::Acquire) {
            flags.used.store(true, Ordering::Relaxed);
            return;
        }
        if !seg.can_release_positions() {
            return;
        }
        let mut held = lock(&self.held);
        if flags.tracked.swap(true, Ordering::AcqRel) {
            return;
        }
        // Starts clear: the hand passes every other segment before it returns here.
        flags.used.store(false, Ordering::Relaxed);
        let bytes = seg.positions_bytes();
        let entry = Some((Arc::downgrade(seg), bytes));
        let at = match held.free.pop() {
            Some(at) => {
                held.ring[at] = entry;
                at
            }
            None => {
                held.ring.push(entry);
                held.ring.len() - 1
            }
        };
        held.bytes += bytes;
        while held.bytes > self.max_bytes && held.ring.len() - held.free.len() > 1 {
            held.release_one(at);
        }
    }

    /// Bytes of positions the tracked segments held when tracked.
    #[cfg(test)]
    fn bytes(&self) -> u64 {
        lock(&self.held).bytes
    }
}

impl Held {
    /// Releases the positions of the first segment from the hand on not used since the hand
    /// last passed (clearing the bits it passes), never those of slot `keep`.
    fn release_one(&mut self, keep: usize) {
        loop {
            let at = self.hand % self.ring.len();
            self.hand = at + 1;
            let Some((weak, bytes)) = &self.ring[at] else {
                continue;
            };
            let victim = weak.upgrade();
            if at == keep
                || victim
                    .as_ref()
                    .is_some_and(|v| v.position_flags().used.swap(false, Ordering::AcqRel))
            {
                continue;
            }
            self.bytes -= bytes;
            self.ring[at] = None;
            self.free.push(at);
            if let Some(v) = victim {
                v.position_flags().tracked.store(false, Ordering::Release);
                v.release_positions();
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::PositionCache;
    use crate::format::SegmentHeader;
    use crate::io::sim::SimFs;
    use crate::segment::{OpenFiles, Segment};

    fn sealed(first: u64, entries: u32) -> Arc<Segment> {
        let header = SegmentHeader {
            log_id: 1,
            seq: first,
            first_index: first,
            prev_last_index: first - 1,
            prev_crc: 0,
        };
        Arc::new(Segment::loaded(
            Arc::new(OpenFiles::new(Arc::new(SimFs::new()), 64)),
            PathBuf::from(format!("/log/{first}.wal")),
            None,
            header,
            1000,
            first + u64::from(entries) - 1,
            (0..entries).map(|k| 64 + k * 10).collect(),
            Some(1000),
        ))
    }

    #[test]
    fn the_least_recently_used_are_released_beyond_the_bound() {
        let cache = PositionCache::new(1000);
        let segs: Vec<_> = (0..10).map(|k| sealed(1 + k * 100, 100)).collect();
        for s in &segs[..2] {
            cache.touch(s);
        }
        assert_eq!(cache.bytes(), 800);
        cache.touch(&segs[0]); // now the most recent
        cache.touch(&segs[2]); // 1,200 bytes: the least recent (segs[1]) goes
        assert_eq!(cache.bytes(), 800);
        assert_eq!(segs[1].positions_bytes(), 0);
        assert_eq!(segs[0].positions_bytes(), 400);
        for s in &segs {
            cache.touch(s);
            assert!(cache.bytes() <= 1000);
        }
        let held: u64 = segs.iter().map(|s| s.positions_bytes()).sum();
        assert_eq!(held, 800, "only the two most recent keep theirs");
    }
}
