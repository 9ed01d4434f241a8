//! Reading entries without decoding them: [`Iter`].

use std::sync::Arc;

use crate::cuts::Cuts;
use crate::entry::{EntryRef, RawEntry};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{
    self, FLAG_CODEC, FRAME_HEADER_LEN, FrameCheck, FrameHeader, HEADER_LEN, KNOWN_FLAGS,
};
use crate::io::{self, File};
use crate::le::le_u32;
use crate::segment::Segment;
use crate::windows;

/// Bytes read from a segment at a time, at most: reads start at `FIRST_READ` (a short
/// range costs a short read) and double as the iteration goes on.
const READ_CHUNK: usize = 1 << 20;
/// The first read of an iterator.
const FIRST_READ: usize = 4096;

/// An iterator over the entries of a log, in index order, as [`RawEntry`] values.
///
/// It reads frames by their length alone and verifies every byte it yields: a whole
/// sync-marker window with one CRC where the window fits in its read buffer, each frame's
/// own CRC elsewhere (damage is then found, and named, frame by frame); it never calls an
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
    /// A hasher seeded with `seed`, cloned for each frame's CRC (a new one would look up
    /// the CPU's features each time).
    crc: crc32fast::Hasher,
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
    /// Frames of `buf` that end at or before this offset lie in sync-marker windows whose
    /// CRC verified over these very bytes: their own CRCs need no check.
    verified_end: u64,
    /// The start of the window `pos` is in, where known (`u64::MAX` when not).
    window_start: u64,
    /// The window start whose verification was last tried, so a window that does not
    /// verify (or does not fit) is read frame by frame, not tried again at every frame.
    window_tried: u64,
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
            crc: crc32fast::Hasher::new_with_initial(seed),
            max_entry_size,
            buf: Arc::default(),
            copying: false,
            buf_start: 0,
            buf_seg: usize::MAX,
            file: None,
            read_size: FIRST_READ,
            verified_end: 0,
            window_start: if pos == HEADER_LEN as u64 {
                pos
            } else {
                u64::MAX
            },
            window_tried: u64::MAX,
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
        self.verified_end = 0;
        Ok(Some(0))
    }

    /// At the start of a window past the verified ones and not tried yet, verifies the
    /// windows that start there and fit in the buffer; when none does and the buffer ends
    /// early, reads again from `pos` (a full chunk) and tries once more. Returns the offset
    /// of `pos` in `buf`, which a new read moves to 0.
    fn verify_windows(
        &mut self,
        seg: &Arc<Segment>,
        pos: u64,
        at: usize,
        end: u64,
    ) -> Result<usize> {
        if self.salvage
            || pos != self.window_start
            || pos == self.window_tried
            || pos < self.verified_end
        {
            return Ok(at);
        }
        self.window_tried = pos;
        let Ok(start) = usize::try_from(pos) else {
            return Ok(at);
        };
        let (seed, max) = (self.seed, self.max_entry_size);
        let walk = |buf: &[u8], at: usize| {
            let b = buf.get(at..).unwrap_or_default();
            windows::verified_windows(b, start, seed, max) as u64
        };
        self.verified_end = walk(&self.buf, at);
        let buffered = self.buf_start + self.buf.len() as u64;
        if self.verified_end > pos || buffered >= end || buffered - pos >= READ_CHUNK as u64 {
            return Ok(at);
        }
        self.read_size = READ_CHUNK;
        self.buf_seg = usize::MAX;
        let Some(at) = self.fill(seg, pos, FRAME_HEADER_LEN, end)? else {
            return Ok(at);
        };
        self.verified_end = walk(&self.buf, at);
        Ok(at)
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
                self.window_start = self.pos;
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
        let at = self.verify_windows(seg, pos, at, end)?;
        let len = le_u32(&self.buf, at + 4).unwrap_or(u32::MAX);
        let total = FRAME_HEADER_LEN + len as usize;
        if let Some(frame) = self.buf.get(at..at + total) {
            // The whole frame is buffered (the common case): no second lookup.
            let h = match FrameHeader::peek(frame) {
                // Inside a verified window: only what the window's CRC cannot say.
                Some(h)
                    if pos + total as u64 <= self.verified_end
                        && h.flags & FLAG_CODEC != FLAG_CODEC =>
                {
                    FrameCheck::Valid(h)
                }
                _ => format::check_frame(frame, self.seed, self.max_entry_size),
            };
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
        if h.type_id == 0 {
            let payload = &self.buf[at + FRAME_HEADER_LEN..at + total];
            if format::decode_marker(payload).is_some() {
                self.window_start = self.pos;
            }
            return Ok(None);
        }
        if h.index < self.start {
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

    /// The next entry when the buffer already holds its frame and nothing else needs
    /// judging — the same entry [`Iter::step`] would yield, found in fewer steps; `None`
    /// leaves everything else (markers, segment ends, cuts, damage) to `step`, from the same
    /// position.
    #[inline]
    fn buffered(&mut self) -> Option<Framed> {
        if self.salvage || self.buf_seg != self.seg {
            return None;
        }
        let seg = self.cur.as_ref()?;
        let at = usize::try_from(self.pos.checked_sub(self.buf_start)?).ok()?;
        let frame_start = self.buf.get(at..)?;
        let h = FrameHeader::peek(frame_start)?;
        let total = h.frame_len();
        let frame = frame_start.get(..total)?;
        let frame_end = self.pos + total as u64;
        if h.type_id == 0
            || h.index < self.start
            || h.index > self.end_index
            || frame_end > seg.end()
            || seg.is_removed()
        {
            return None;
        }
        // Inside a verified window only what the window's CRC cannot say is left to check.
        // Elsewhere, the frame's own CRC (what `check_frame` finds valid, without its
        // diagnosis of frames that are not: `step` gives that).
        let valid = h.flags & !KNOWN_FLAGS == 0
            && h.flags & FLAG_CODEC != FLAG_CODEC
            && (frame_end <= self.verified_end
                || format::mask(self.frame_crc(&frame[4..])) == h.crc);
        // A cut made since the last check may have rewritten what was read.
        if !valid || self.cuts.generation() != self.cuts_seen {
            return None;
        }
        self.pos = frame_end;
        self.slot += 1;
        self.next = h.index + 1;
        Some(Framed {
            index: h.index,
            type_id: h.type_id,
            flags: h.flags,
            payload: at + FRAME_HEADER_LEN..at + total,
        })
    }

    /// The seeded CRC of `bytes`, as `format::crc` computes it.
    #[inline]
    fn frame_crc(&self, bytes: &[u8]) -> u32 {
        let mut h = self.crc.clone();
        h.update(bytes);
        h.finalize()
    }

    /// The next frame; after the end or an error, nothing more.
    #[inline]
    fn advance(&mut self) -> Option<Result<Framed>> {
        if !self.done
            && let Some(f) = self.buffered()
        {
            return Some(Ok(f));
        }
        self.advance_stepping()
    }

    /// [`Iter::advance`] through [`Iter::step`].
    #[inline(never)]
    fn advance_stepping(&mut self) -> Option<Result<Framed>> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }

    /// The next entry, borrowed from the read buffer until the next call: the fastest way
    /// to read a log, with no copy, allocation or reference count per entry (the
    /// [`Iterator`] form hands out [`RawEntry`] values that share the buffer). Yields what
    /// [`Iterator::next`] would, in the same order, ending the same way.
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
    /// let mut iter = wal.iter()?;
    /// let mut bytes = 0;
    /// while let Some(entry) = iter.next_ref() {
    ///     bytes += entry?.payload()?.len();
    /// }
    /// assert!(bytes > 3); // the string's length, then its bytes
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Iterator::next`]; [`Error::Compression`] comes from [`EntryRef::payload`].
    #[inline]
    pub fn next_ref(&mut self) -> Option<Result<EntryRef<'_>>> {
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

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.advance()?;
        Some(item.and_then(|f| {
            let range = f.payload.clone();
            let entry = f.entry_ref(&self.buf, self.max_entry_size);
            if self.copying {
                entry.into_raw()
            } else {
                entry.shared(&self.buf, range)
            }
        }))
    }
}

impl std::iter::FusedIterator for Iter {}
