//! Reading: iteration, typed replay, and random access by index.

use std::ops::Range;
use std::sync::Arc;

use std::sync::atomic::Ordering;

use super::{Inner, Wal};
use crate::entry::{Entry, EntryRef, RawEntry};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{self, FRAME_HEADER_LEN};
use crate::io;
use crate::iter::Iter;

/// Bytes read at once by `get_raw`: most frames fit, so one read does.
const FIRST_READ: usize = 4096;

impl Wal {
    /// Iterates over every entry, undecoded. See [`Wal::iter_from`].
    ///
    /// # Errors
    /// As [`Wal::iter_from`].
    pub fn iter(&self) -> Result<Iter> {
        self.iter_from(self.first_index())
    }

    /// Iterates over the entries from `index` on, undecoded, up to the last entry appended
    /// when it is called (buffered entries are written to the file first). It seeks through
    /// the segments' position indexes: O(log segments) plus one read. Readers run while
    /// writers append.
    ///
    /// It yields entries appended, durable or not: under a policy other than `Always`, or
    /// while concurrent appenders wait for their fsync, an entry it yields may still be lost
    /// to a power failure. To consume only durable entries, and wait for new ones, use
    /// [`Wal::follow`].
    ///
    /// A reader keeps reading the segment file it has open even if `truncate_front` or
    /// retention deletes it; when they deleted a later segment before the reader reached it,
    /// the reader yields [`Error::IndexOutOfRange`] naming the first index still present.
    /// Entries removed by `truncate_back` while it runs end it early. Each iterator holds at
    /// most one segment file open (see [`Options::max_open_files`](crate::Options)).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `index` is below `first_index()` or above
    /// `last_index() + 1`; [`Error::Io`] when buffered entries cannot be written. The
    /// iterator yields [`Error::Corruption`] for a frame that fails its CRC.
    pub fn iter_from(&self, index: u64) -> Result<Iter> {
        // Cuts from here on end the iterator early; read before the last index it yields.
        let seen = self.inner.cuts.generation();
        let (first, last) = (self.first_index(), self.last_index());
        if index < first || index > last + 1 {
            return Err(Error::IndexOutOfRange { index, first, last });
        }
        self.inner.flush_for_readers(last)?;
        let inner = &self.inner;
        let segments = inner.segments();
        let iter = Iter::new(
            Arc::clone(&segments),
            (Arc::clone(&inner.cuts), seen),
            inner.sparse(),
            index,
            last,
            inner.seed,
            inner.opts.max_entry_size,
        )
        .map_err(|e| {
            // Its segment was deleted under it (`truncate_front`, retention): say so plainly.
            let first = self.first_index();
            if index < first {
                Error::IndexOutOfRange { index, first, last }
            } else {
                e
            }
        })?;
        // The segment it seeks in used its positions.
        let k = segments.partition_point(|s| s.first_index() <= index);
        if let Some(seg) = k.checked_sub(1).and_then(|k| segments.get(k)) {
            inner.positions.touch(seg);
        }
        Ok(iter)
    }

    /// Iterates over the entries from `index` on decoded as `E`s, `(index, entry)` pairs, as
    /// [`Wal::iter_from`] (durable or not); entries whose type `E` does not have are skipped
    /// if the writer marked them ignorable, and an error otherwise.
    ///
    /// # Errors
    /// As [`Wal::iter_from`]; the iterator yields [`Error::UnknownEntryType`] and
    /// [`Error::Decode`] (naming the index) besides the iterator's errors.
    pub fn iter_as<E: Entry>(&self, index: u64) -> Result<impl Iterator<Item = Result<(u64, E)>>> {
        let mut iter = self.iter_from(index)?;
        Ok(std::iter::from_fn(move || {
            loop {
                let entry = match iter.next_ref()? {
                    Ok(entry) => entry,
                    Err(e) => return Some(Err(e)),
                };
                if entry.is_ignorable() && !E::TYPE_IDS.contains(&entry.type_id) {
                    continue;
                }
                return Some(entry.decode().map(|e| (entry.index, e)));
            }
        }))
    }

    /// Decodes every entry as an `E`, in index order, and calls `f(index, entry)`.
    ///
    /// Entries whose type `E` does not have are skipped if the writer marked them ignorable,
    /// and an error otherwise.
    ///
    /// # Errors
    /// [`Error::UnknownEntryType`], [`Error::Decode`] (both naming the index),
    /// [`Error::Corruption`], [`Error::Io`].
    pub fn replay<E: Entry, F: FnMut(u64, E)>(&self, mut f: F) -> Result<()> {
        self.try_replay_from(self.first_index(), |i, e| {
            f(i, e);
            Ok::<(), Error>(())
        })
    }

    /// Decodes the entries from `index` on as `E`s, in index order, and calls
    /// `f(index, entry)`, stopping at the first error — the log's, converted into the
    /// caller's error type `X`, or one `f` returns. Entries are skipped as by
    /// [`Wal::replay`].
    ///
    /// # Errors
    /// What `f` returns; the log's errors as [`Wal::replay`], and [`Error::IndexOutOfRange`]
    /// as [`Wal::iter_from`], converted by `X: From<Error>`.
    pub fn try_replay_from<E, X, F>(&self, index: u64, mut f: F) -> Result<(), X>
    where
        E: Entry,
        X: From<Error>,
        F: FnMut(u64, E) -> Result<(), X>,
    {
        // Decoded straight from the read buffer: no copy or allocation per entry.
        let mut iter = self.iter_from(index)?;
        while let Some(entry) = iter.next_ref() {
            let entry = entry?;
            if entry.is_ignorable() && !E::TYPE_IDS.contains(&entry.type_id) {
                continue;
            }
            let index = entry.index;
            f(index, entry.decode()?)?;
        }
        Ok(())
    }

    /// The entry at `index`, decoded as an `E`.
    ///
    /// # Errors
    /// As [`Wal::get_raw`], and [`Error::UnknownEntryType`] or [`Error::Decode`].
    pub fn get<E: Entry>(&self, index: u64) -> Result<E> {
        self.get_raw(index)?.decode()
    }

    /// The entry at `index`, undecoded: a position lookup and one read (two for an entry
    /// larger than 4 KiB).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] outside `first_index()..=last_index()`;
    /// [`Error::Corruption`] naming the file and offset when the frame there fails its CRC;
    /// [`Error::Io`].
    pub fn get_raw(&self, index: u64) -> Result<RawEntry> {
        let (first, last) = (self.first_index(), self.last_index());
        if index < first || index > last {
            return Err(Error::IndexOutOfRange { index, first, last });
        }
        let result = self.inner.read_at_index(index);
        // Deleted under us by `truncate_front` or retention: say so plainly.
        if result.is_err() && index < self.first_index() {
            return Err(Error::IndexOutOfRange {
                index,
                first: self.first_index(),
                last: self.last_index(),
            });
        }
        result
    }

    /// The entries in `range`, decoded as `E`s.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] unless `first_index() <= range.start <= range.end <=
    /// last_index() + 1`; as [`Wal::get`].
    pub fn get_range<E: Entry>(&self, range: Range<u64>) -> Result<Vec<E>> {
        let (first, last) = (self.first_index(), self.last_index());
        if range.start > range.end || range.end > last + 1 {
            return Err(Error::IndexOutOfRange {
                index: range.end.max(range.start),
                first,
                last,
            });
        }
        let n = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(n.min(1 << 16));
        for raw in self.iter_from(range.start)?.take(n) {
            out.push(raw?.decode()?);
        }
        Ok(out)
    }
}

impl Inner {
    /// Writes buffered entries up to `last` to the file, unless they are there already:
    /// frames are published before their fsync, so a reader never waits for one it does
    /// not need (the writer holds its lock across fdatasync).
    pub(crate) fn flush_for_readers(&self, last: u64) -> Result<()> {
        let inner = self;
        if inner.read_only
            || inner.is_poisoned()
            || inner
                .segments()
                .last()
                .is_some_and(|s| s.last_index() >= last)
        {
            return Ok(());
        }
        inner.flush()
    }

    /// The entry at `index` (which the caller checked is in the log): a position lookup and
    /// one read (two for an entry larger than 4 KiB).
    pub(crate) fn read_at_index(&self, index: u64) -> Result<RawEntry> {
        let inner = self;
        let mut segments = inner.segments();
        if segments.last().is_none_or(|s| s.last_index() < index) {
            self.flush_for_readers(index)?;
            segments = inner.segments();
        }
        let k = segments
            .partition_point(|s| s.first_index() <= index)
            .saturating_sub(1);
        let seg = segments.get(k).ok_or(Error::IndexOutOfRange {
            index,
            first: self.cuts.first_index(),
            last: self.assigned.load(Ordering::Acquire),
        })?;
        let pos = seg
            .position_of(index, inner.seed)?
            .ok_or(Error::IndexOutOfRange {
                index,
                first: self.cuts.first_index(),
                last: self.assigned.load(Ordering::Acquire),
            })?;
        inner.positions.touch(seg);
        let file = seg.file()?;
        let end = seg.end();
        let want = usize::try_from(end.saturating_sub(pos))
            .unwrap_or(usize::MAX)
            .min(FIRST_READ);
        let mut buf =
            io::read_range(&*file, pos, want).map_err(|e| Error::io("read", &seg.path, e))?;
        let len = format::FrameHeader::peek(&buf)
            .ok_or_else(|| seg.corrupt(pos, CorruptionKind::Truncated))?
            .len;
        let max = inner.opts.max_entry_size;
        let total = FRAME_HEADER_LEN + len as usize;
        // Read by a length from disk only as far as the segment's written end.
        if pos + total as u64 > end {
            return Err(seg.corrupt(
                pos,
                if len > max {
                    CorruptionKind::BadLength(len)
                } else {
                    CorruptionKind::Truncated
                },
            ));
        }
        if buf.len() < total {
            let more = io::read_range(&*file, pos + buf.len() as u64, total - buf.len())
                .map_err(|e| Error::io("read", &seg.path, e))?;
            buf.extend_from_slice(&more);
        }
        buf.truncate(total);
        match format::check_frame(&buf, inner.seed, max).into_frame() {
            Ok(h) if h.index == index && h.type_id != 0 => Ok(EntryRef {
                index: h.index,
                type_id: h.type_id,
                flags: h.flags,
                payload: &buf[FRAME_HEADER_LEN..total],
                max,
            }
            .into_raw()?),
            Ok(h) => Err(seg.corrupt(
                pos,
                CorruptionKind::IndexOrder {
                    expected: index,
                    found: h.index,
                },
            )),
            Err(kind) => Err(seg.corrupt(pos, kind)),
        }
    }
}
