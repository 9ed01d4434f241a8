//! Reading entries without decoding them: [`Iter`].

use std::sync::Arc;

use crate::cuts::Cuts;
use crate::entry::{EntryRef, RawEntry};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{self, FRAME_HEADER_LEN, FrameCheck, HEADER_LEN};
use crate::io::{self, File};
use crate::le::le_u32;
use crate::segment::Segment;

/// Bytes read from a segment at a time, at most: reads start at `FIRST_READ` (a short
/// range costs a short read) and double as the iteration goes on.
const READ_CHUNK: usize = 1 << 20;
/// The first read of an iterator.
const FIRST_READ: usize = 4096;

/// An iterator over the entries of a log, in index order, as [`RawEntry`] values.
///
/// It reads frames by their length alone and verifies each frame's CRC; it never calls an
/// entry's decoder. It yields the entries that had been appended when it was created, less
/// any that `truncate_back` removes while it runs: it then ends after the last entry the
/// truncation kept, and never yields an entry appended in place of a removed one. It keeps
/// reading the segment file it has open when `truncate_front` or retention deletes it; when
/// they deleted the next segment it needs before it opened it, it yields
/// [`Error::IndexOutOfRange`] naming the next index it would have yielded and the first
/// index still in the log. After an error it yields nothing more.
#[derive(Debug)]
pub struct Iter {
    segments: Arc<Vec<Arc<Segment>>>,
    /// The log's `truncate_back` cuts, and how many of them were made when last checked.
    cuts: Arc<Cuts>,
    cuts_seen: u64,
    /// Salvage mode: frames are found by their positions, not one after the other.
    salvage: bool,
    seg: usize,
    /// `segments[seg]`, held between calls so a step costs no reference count.
    cur: Option<Arc<Segment>>,
    pos: u64,
    slot: usize,
    start: u64,
    /// The index of the next entry to yield (`start` until one is yielded).
    next: u64,
    end_index: u64,
    seed: u32,
    max_entry_size: u32,
    buf: Arc<Vec<u8>>,
    /// Set once an entry handed out was still held when the buffer was to be reused: from
    /// then on entries own copies of their payloads, so a caller keeping entries pins at
    /// most one buffer.
    copying: bool,
    buf_start: u64,
    /// The segment `buf` was read from.
    buf_seg: usize,
    /// The file of segment number `.0`, held while reading it: the bound on open files
    /// may close the segment's own handle meanwhile, never this one.
    file: Option<(usize, Arc<dyn File>)>,
    /// How much the next read takes (at least what the frame needs).
    read_size: usize,
    done: bool,
}

impl Iter {
    /// An iterator from `start` to `end_index`, seeking through the segments' positions.
    pub(crate) fn new(
        segments: Arc<Vec<Arc<Segment>>>,
        (cuts, cuts_seen): (Arc<Cuts>, u64),
        salvage: bool,
        start: u64,
        end_index: u64,
        seed: u32,
        max_entry_size: u32,
    ) -> Result<Self> {
        let seg = segments
            .partition_point(|s| s.first_index() <= start)
            .saturating_sub(1);
        // Seek to `start` through the positions; salvage mode (indexes may have gaps) reads
        // its segment from the first frame and skips what is below `start`.
        let mut pos = HEADER_LEN as u64;
        if let Some(s) = segments.get(seg).filter(|_| !salvage)
            && let Some(p) = s.position_of(start, seed)?
        {
            pos = p;
        }
        Ok(Self {
            segments,
            cuts,
            cuts_seen,
            salvage,
            seg,
            cur: None,
            pos,
            slot: 0,
            start,
            next: start,
            end_index,
            seed,
            max_entry_size,
            buf: Arc::default(),
            copying: false,
            buf_start: 0,
            buf_seg: usize::MAX,
            file: None,
            read_size: FIRST_READ,
            done: false,
        })
    }

    /// Ends the iteration at the lowest `truncate_back` cut made since the last check, and
    /// drops the read buffer, which may hold frames from before the cut.
    fn check_cuts(&mut self) {
        let now = self.cuts.generation();
        if now != self.cuts_seen {
            if let Some(kept) = self.cuts.lowest_since(self.cuts_seen) {
                self.end_index = self.end_index.min(kept);
            }
            self.cuts_seen = now;
            self.buf_seg = usize::MAX;
        }
    }

    /// Makes `buf` hold `[pos, pos + need)` of `seg`, reading at most up to `end`.
    /// Returns the offset of `pos` in `buf`, or `None` when the frame would pass `end`.
    fn fill(
        &mut self,
        seg: &Arc<Segment>,
        pos: u64,
        need: usize,
        end: u64,
    ) -> Result<Option<usize>> {
        let have = self.buf_start..self.buf_start + self.buf.len() as u64;
        if self.buf_seg == self.seg && pos >= have.start && pos + need as u64 <= have.end {
            return Ok(Some(
                usize::try_from(pos - have.start).unwrap_or(usize::MAX),
            ));
        }
        if pos + need as u64 > end {
            return Ok(None);
        }
        let len = usize::try_from((end - pos).min(need.max(self.read_size) as u64)).unwrap_or(need);
        self.read_size = (self.read_size * 2).min(READ_CHUNK);
        if Arc::get_mut(&mut self.buf).is_none() {
            // Entries from it are still held: leave it to them.
            self.buf = Arc::default();
            self.copying = true;
        }
        let buf = Arc::make_mut(&mut self.buf);
        buf.resize(len, 0);
        let file = match &self.file {
            Some((k, f)) if *k == self.seg => Arc::clone(f),
            _ => {
                let f = seg.file()?;
                self.file = Some((self.seg, Arc::clone(&f)));
                f
            }
        };
        io::read_exact_at(&*file, buf, pos).map_err(|e| Error::io("read", &seg.path, e))?;
        self.buf_start = pos;
        self.buf_seg = self.seg;
        Ok(Some(0))
    }

    fn step(&mut self) -> Result<Option<Framed>> {
        loop {
            let seg = match self.cur.take() {
                Some(seg) => seg,
                None => match self.segments.get(self.seg) {
                    Some(seg) => Arc::clone(seg),
                    None => return Ok(None),
                },
            };
            if seg.is_removed() {
                return Ok(None);
            }
            let end = seg.end();
            let pos = if self.salvage {
                seg.positions(self.seed)?
                    .get(self.slot)
                    .map_or(end, |&p| u64::from(p))
            } else {
                self.pos
            };
            if pos >= end {
                self.seg += 1;
                self.pos = HEADER_LEN as u64;
                self.slot = 0;
                continue;
            }
            let at_seg = self.seg;
            let result = self.frame(&seg, pos, end);
            let now_end = seg.end();
            let removed = result.is_err() && (seg.is_removed() || pos >= now_end);
            let deleted = result.is_err() && seg.last_index() < self.cuts.first_index();
            if self.seg == at_seg {
                self.cur = Some(seg);
            }
            match result {
                Ok(Some(raw)) => return Ok(Some(raw)),
                Ok(None) => {}
                // Entries truncated while reading end the iteration; they are not damage.
                Err(_) if removed => return Ok(None),
                // `truncate_front` or retention deleted the segment before this iterator
                // opened it: the entries it still needed are gone.
                Err(_) if deleted => {
                    return Err(Error::IndexOutOfRange {
                        index: self.next,
                        first: self.cuts.first_index(),
                        last: self.end_index,
                    });
                }
                // A truncation lowered the end (before it cut the file) while this read ran
                // past it: read again up to the new end.
                Err(_) if now_end < end => self.buf_seg = usize::MAX,
                // Bytes read while a cut rewrote them: read again, from the file.
                Err(_) if self.cuts.generation() != self.cuts_seen => self.check_cuts(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the frame at `pos`; `Ok(None)` for a frame to skip.
    fn frame(&mut self, seg: &Arc<Segment>, pos: u64, end: u64) -> Result<Option<Framed>> {
        let corrupt = |kind| seg.corrupt(pos, kind);
        let Some(at) = self.fill(seg, pos, FRAME_HEADER_LEN, end)? else {
            return Err(corrupt(CorruptionKind::Truncated));
        };
        let len = le_u32(&self.buf, at + 4).unwrap_or(u32::MAX);
        let total = FRAME_HEADER_LEN + len as usize;
        if let Some(frame) = self.buf.get(at..at + total) {
            // The whole frame is buffered (the common case): no second lookup.
            let h = format::check_frame(frame, self.seed, self.max_entry_size);
            return self.yield_frame(seg, pos, at, h);
        }
        // Read by a length from disk only as far as the segment's written end.
        let Some(at) = self.fill(seg, pos, total, end)? else {
            return Err(corrupt(if len > self.max_entry_size {
                CorruptionKind::BadLength(len)
            } else {
                CorruptionKind::Truncated
            }));
        };
        let h = format::check_frame(&self.buf[at..at + total], self.seed, self.max_entry_size);
        self.yield_frame(seg, pos, at, h)
    }

    /// The entry for a checked frame at `pos` (`buf[at..]`); `Ok(None)` for one to skip.
    fn yield_frame(
        &mut self,
        seg: &Segment,
        pos: u64,
        at: usize,
        check: FrameCheck,
    ) -> Result<Option<Framed>> {
        let h = check.into_frame().map_err(|kind| seg.corrupt(pos, kind))?;
        let total = h.frame_len();
        self.pos = pos + total as u64;
        self.slot += 1;
        // Checked after the frame was read: a cut made since may have replaced it.
        self.check_cuts();
        if h.type_id == 0 || h.index < self.start {
            return Ok(None);
        }
        if h.index > self.end_index {
            self.seg = self.segments.len();
            return Ok(None);
        }
        self.next = h.index + 1;
        Ok(Some(Framed {
            index: h.index,
            type_id: h.type_id,
            flags: h.flags,
            payload: at + FRAME_HEADER_LEN..at + total,
        }))
    }

    /// The next frame; after the end or an error, nothing more.
    fn advance(&mut self) -> Option<Result<Framed>> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }

    /// The next entry, borrowed from the read buffer until the next call: no copy.
    pub(crate) fn next_ref(&mut self) -> Option<Result<EntryRef<'_>>> {
        let item = self.advance()?;
        Some(item.map(|f| f.entry_ref(&self.buf, self.max_entry_size)))
    }
}

/// A verified frame in the read buffer: its header fields and where its payload is.
struct Framed {
    index: u64,
    type_id: u8,
    flags: u8,
    payload: std::ops::Range<usize>,
}

impl Framed {
    fn entry_ref(self, buf: &[u8], max: u32) -> EntryRef<'_> {
        EntryRef {
            index: self.index,
            type_id: self.type_id,
            flags: self.flags,
            payload: buf.get(self.payload).unwrap_or_default(),
            max,
        }
    }
}
impl Iterator for Iter {
    type Item = Result<RawEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.advance()?;
        Some(item.and_then(|f| {
            let range = f.payload.clone();
            let entry = f.entry_ref(&self.buf, self.max_entry_size);
            if self.copying {
                entry.to_owned()
            } else {
                entry.shared(&self.buf, range)
            }
        }))
    }
}

impl std::iter::FusedIterator for Iter {}
