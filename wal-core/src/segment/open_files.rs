//! The bound on open segment files (`Options::max_open_files`): sealed segments' files are
//! opened on use and, beyond the bound, the least recently used are closed. The tail
//! segment's file is pinned outside the bound until the segment is sealed.
//!
//! Recency is kept as a CLOCK (second chance), the usual approximation of LRU: a use sets
//! the segment's `used` bit with one store and takes no lock; a sweep, when a file must be
//! closed, clears set bits and closes the first file whose bit was clear. Closing drops the
//! segment's handle only: a reader that cloned it keeps a working file until it drops it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use super::Segment;
use crate::error::{Error, Result};
use crate::io::{File, FileSystem};
use crate::lock::lock;

/// The segments whose files count against the bound, and the sweep's hand.
#[derive(Debug)]
pub(crate) struct OpenFiles {
    fs: Arc<dyn FileSystem>,
    max: usize,
    clock: Mutex<Clock>,
}

#[derive(Debug, Default)]
struct Clock {
    /// Each tracked segment once (its `tracked` flag set); dead or removed ones are the
    /// first replaced.
    ring: Vec<Weak<Segment>>,
    hand: usize,
}

impl OpenFiles {
    /// A bound of `max` open sealed-segment files (at least one is kept).
    pub(crate) fn new(fs: Arc<dyn FileSystem>, max: usize) -> Self {
        Self {
            fs,
            max: max.max(1),
            clock: Mutex::default(),
        }
    }

    /// The file system segments are opened on.
    pub(crate) fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    /// Opens `seg`'s file for reading, installs it as the segment's handle (unless another
    /// thread did first: then that one is used) and closes the least recently used beyond
    /// the bound.
    pub(super) fn open(&self, seg: &Arc<Segment>) -> Result<Arc<dyn File>> {
        // Opened outside the lock: a slow open does not hold up other segments.
        let file = self
            .fs
            .open_read(&seg.path)
            .map_err(|e| Error::io("open", &seg.path, e))?;
        let mut clock = lock(&self.clock);
        let file = seg.install(file);
        self.track(&mut clock, seg);
        Ok(file)
    }

    /// Counts `seg`'s file against the bound from now on: the writer sealed it.
    pub(super) fn unpin(&self, seg: &Arc<Segment>) {
        let mut clock = lock(&self.clock);
        self.track(&mut clock, seg);
    }

    /// Puts `seg` in the ring, closing another segment's file when the ring is full.
    fn track(&self, clock: &mut Clock, seg: &Arc<Segment>) {
        if seg.file_flags.tracked.swap(true, Ordering::AcqRel) {
            return;
        }
        // A new file's bit starts clear: the hand passes every other file before it returns
        // to this one, and a use in between sets the bit.
        seg.file_flags.used.store(false, Ordering::Release);
        let weak = Arc::downgrade(seg);
        if clock.ring.len() < self.max {
            clock.ring.push(weak);
            return;
        }
        // Every pass clears the bits it passes, so the second pass at the latest finds one.
        loop {
            let at = clock.hand;
            clock.hand = (at + 1) % clock.ring.len();
            let victim = clock.ring[at].upgrade();
            let evict = match &victim {
                None => true,
                Some(v) => v.is_removed() || !v.file_flags.used.swap(false, Ordering::AcqRel),
            };
            if evict {
                if let Some(v) = victim {
                    v.file_flags.tracked.store(false, Ordering::Release);
                    v.close_file();
                }
                clock.ring[at] = weak;
                return;
            }
        }
    }

    /// Segments whose files count against the bound now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        lock(&self.clock).ring.len()
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::OpenFiles;
    use crate::format::SegmentHeader;
    use crate::io::FileSystem;
    use crate::io::sim::SimFs;
    use crate::segment::Segment;

    /// `n` sealed segments whose files hold their own number, and the file system.
    fn segments(n: u64, max: usize) -> (SimFs, Arc<OpenFiles>, Vec<Arc<Segment>>) {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/log")).unwrap();
        let files = Arc::new(OpenFiles::new(Arc::new(fs.clone()), max));
        let segs = (1..=n)
            .map(|k| {
                let path = PathBuf::from(format!("/log/{k}.wal"));
                fs.write_file(&path, &k.to_le_bytes());
                let header = SegmentHeader {
                    log_id: 1,
                    seq: k,
                    first_index: k,
                    prev_last_index: k - 1,
                    prev_crc: 0,
                };
                Arc::new(Segment::sealed(
                    Arc::clone(&files),
                    path,
                    header,
                    8,
                    k,
                    None,
                ))
            })
            .collect();
        (fs, files, segs)
    }

    fn read(seg: &Arc<Segment>) -> u64 {
        let mut b = [0; 8];
        crate::io::read_exact_at(&*seg.file().unwrap(), &mut b, 0).unwrap();
        u64::from_le_bytes(b)
    }

    #[test]
    fn no_more_than_the_bound_are_open_and_the_least_recently_used_is_closed() {
        let (fs, files, segs) = segments(10, 3);
        for s in &segs[..3] {
            read(s);
        }
        read(&segs[0]); // used again: it gets a second chance
        read(&segs[3]);
        let open: Vec<bool> = segs.iter().map(|s| s.has_open_file()).collect();
        assert_eq!(open[..4], [true, false, true, true]);
        for (k, s) in segs.iter().enumerate().cycle().take(100) {
            assert_eq!(read(s), k as u64 + 1);
            assert!(fs.open_files() <= 3, "{} open", fs.open_files());
            assert_eq!(files.tracked(), 3);
        }
        assert_eq!(
            fs.peak_open_files(),
            4,
            "one opened before another is closed"
        );
    }

    #[test]
    fn a_handle_taken_before_its_file_is_closed_keeps_working() {
        let (fs, _files, segs) = segments(4, 1);
        let held = segs[0].file().unwrap();
        read(&segs[1]);
        assert!(!segs[0].has_open_file());
        let mut b = [0; 8];
        crate::io::read_exact_at(&*held, &mut b, 0).unwrap();
        assert_eq!(u64::from_le_bytes(b), 1);
        assert_eq!(fs.open_files(), 2, "the bound's one and the held one");
        drop(held);
        assert_eq!(fs.open_files(), 1);
    }

    #[test]
    fn a_pinned_file_is_not_counted_until_unpinned() {
        let (fs, files, segs) = segments(3, 1);
        let tail = segs[2].file().unwrap();
        let pinned = Arc::new(Segment::loaded(
            Arc::clone(&files),
            PathBuf::from("/log/3.wal"),
            Some(tail),
            segs[2].header,
            8,
            3,
            vec![0],
            None,
        ));
        read(&segs[0]);
        read(&segs[1]);
        assert!(
            pinned.has_open_file(),
            "the bound never closes a pinned file"
        );
        pinned.unpin();
        read(&segs[0]);
        assert!(!pinned.has_open_file() || !segs[0].has_open_file());
        assert_eq!(files.tracked(), 1);
        drop(segs);
        drop(pinned);
        assert_eq!(
            fs.open_files(),
            0,
            "dropping the segments closes their files"
        );
    }

    #[test]
    fn removed_segments_are_closed_first() {
        let (_fs, _files, segs) = segments(3, 2);
        for s in [0, 1, 0, 1] {
            read(&segs[s]); // both used since they were opened
        }
        segs[1].mark_removed();
        read(&segs[2]);
        assert!(segs[0].has_open_file());
        assert!(!segs[1].has_open_file());
    }
}
