//! The bound on entry positions held in memory: sealed segments' positions (4 bytes per
//! entry) are loaded from their footers on use, and the least recently used are released
//! beyond `Options::max_cached_positions` bytes. The segment being written keeps its own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use crate::lock::lock;
use crate::segment::Segment;

/// Sealed segments whose positions are loaded, least recently used first.
#[derive(Debug)]
pub(crate) struct PositionCache {
    max_bytes: u64,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    segments: VecDeque<(Weak<Segment>, u64)>,
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
        if !seg.can_release_positions() {
            return;
        }
        let bytes = seg.positions_bytes();
        let mut held = lock(&self.held);
        if let Some(k) = held
            .segments
            .iter()
            .position(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(seg)))
        {
            let (w, b) = held.segments.remove(k).expect("a found position");
            held.bytes -= b;
            held.segments.push_back((w, bytes));
        } else {
            held.segments.push_back((Arc::downgrade(seg), bytes));
        }
        held.bytes += bytes;
        while held.bytes > self.max_bytes && held.segments.len() > 1 {
            let Some((w, b)) = held.segments.pop_front() else {
                break;
            };
            held.bytes -= b;
            if let Some(s) = w.upgrade() {
                s.release_positions();
            }
        }
    }

    /// Bytes of positions the tracked segments held when last used.
    #[cfg(test)]
    fn bytes(&self) -> u64 {
        lock(&self.held).bytes
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
