//! Checking every frame of the log in one sequential pass: [`Wal::verify_each`].

use super::Wal;
use crate::error::{Error, Result};
use crate::segment::{self, EntryHeader};

impl Wal {
    /// Checks every frame of the log in one sequential pass and tells `visit` of each entry
    /// from `first_index()` to the `last_index()` of when it is called, by its header: index,
    /// type and payload length. The way for a tool to verify or count a log: it reads each
    /// segment file front to back and checks each sync-marker window with one CRC over all
    /// of it, never handing out entries one at a time.
    ///
    /// Every byte is checked: a window that does not verify, and the frames after the last
    /// marker, are checked frame by frame, each with its own CRC, which names the damaged
    /// frame; every compressed payload is restored; every sealed segment's footer is checked
    /// against its frames (its CRC, entry count, last index and offset). A segment of more
    /// than 4 MiB is read ahead by a second thread while the pass checks what it read.
    ///
    /// `visit` is called as the pass reads, before the window holding the entry is
    /// checked: when the pass returns an error, some of the entries it was told of may lie
    /// in the damaged window, so discard what it gathered. In
    /// [`RecoveryMode::Salvage`](crate::RecoveryMode) it tells of the entries the iterator
    /// yields, checked as the iterator checks them.
    ///
    /// It tells of entries in index order, one after the other. Entries that `truncate_back`
    /// or `truncate_front` remove while it runs end it early, as they end an iterator: it
    /// never tells of an entry appended in place of one removed.
    ///
    /// ```
    /// # use wal_core::{Options, Wal, WalEntry};
    /// #[derive(WalEntry)]
    /// #[wal(type_id = 1)]
    /// struct Note(String);
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let wal = Wal::open(dir.path(), Options::default())?;
    /// wal.append(&Note("abc".into()))?;
    /// wal.append(&Note("de".into()))?;
    /// let mut bytes = 0;
    /// wal.verify_each(|e| bytes += u64::from(e.payload_len()))?;
    /// assert_eq!(bytes, 4 + 3 + 4 + 2); // each string's length, then its bytes
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Corruption`] naming the segment and offset of the first damaged frame;
    /// [`Error::Compression`] for a payload that cannot be restored; [`Error::Io`] for a
    /// read that fails (or buffered entries that cannot be written first);
    /// [`Error::IndexOutOfRange`] when `truncate_front` or retention deleted a segment
    /// before the pass reached it.
    pub fn verify_each(&self, mut visit: impl FnMut(&EntryHeader)) -> Result<()> {
        let inner = &self.inner;
        let seen = inner.cuts.generation();
        let (first, last) = (self.first_index(), self.last_index());
        if last < first {
            return Ok(());
        }
        if inner.sparse() {
            let mut iter = self.iter()?;
            while let Some(entry) = iter.next_ref() {
                let entry = entry?;
                let len = entry.payload()?.len();
                let flags = entry.flags;
                visit(&EntryHeader::of(entry.index(), entry.type_id(), flags, len));
            }
            return Ok(());
        }
        inner.flush_for_readers(last)?;
        let mut buf = Vec::new();
        let mut next = first;
        let cuts = &inner.cuts;
        let (mut to, mut cuts_seen) = (last, seen);
        let mut told = |h: &EntryHeader| {
            // Checked after the frame was read: a cut made since may have replaced it.
            let now = cuts.generation();
            if now != cuts_seen {
                if let Some(kept) = cuts.lowest_since(cuts_seen) {
                    to = to.min(kept);
                }
                cuts_seen = now;
            }
            if h.index() <= to {
                next = h.index() + 1;
                visit(h);
            }
        };
        for seg in inner.segments().iter() {
            if seg.first_index() > last {
                break;
            }
            if seg.last_index() < first {
                continue;
            }
            // Removed by a truncation since the pass began: its entries are gone.
            if seg.is_removed() {
                return Ok(());
            }
            let end = seg.end();
            let checked = seg.file().and_then(|file| {
                segment::check(
                    seg,
                    &*file,
                    end,
                    (inner.seed, inner.opts.max_entry_size),
                    (first, last),
                    &mut buf,
                    &mut told,
                )
            });
            let Err(e) = checked else { continue };
            // The log changed under the pass: removed entries end it, as they end an
            // iterator; a segment deleted before the pass opened it is said plainly.
            if seg.last_index() < inner.cuts.first_index() {
                return Err(Error::IndexOutOfRange {
                    index: next,
                    first: inner.cuts.first_index(),
                    last,
                });
            }
            if seg.is_removed() || seg.end() < end || inner.cuts.generation() != seen {
                return Ok(());
            }
            return Err(e);
        }
        Ok(())
    }
}
