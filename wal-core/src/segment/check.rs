//! Checking a segment's frames in one sequential pass, a sync-marker window at a time, for
//! tools that verify or count a log without handing out its entries one by one.
//!
//! The pass walks the frames by their headers and feeds every byte of the open window to
//! one CRC, which it compares with the window's marker; a window bigger than the read
//! buffer is hashed across reads. Anything the walk cannot vouch for — a window or marker
//! that does not verify, a length above the limit, a frame past the end, an index out of
//! order, bytes after the last marker — sends the pass back to the start of its window,
//! frame by frame, each with its own CRC: that finds and names the damaged frame.

use super::Segment;
use crate::compression::{self, CODEC_MASK};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{
    self, FLAG_BATCH_MORE, FLAG_CODEC, FLAG_IGNORABLE, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN,
    KIND_BATCH_END, KNOWN_FLAGS,
};
use crate::io::{self, File};

use super::read_ahead::{HEADROOM, ReadAhead, with_read_ahead};

/// Bytes read at a time (more when one frame is larger).
const READ_CHUNK: usize = 1 << 20;

/// An entry as a pass over the frames finds it: the fields of its frame header and the
/// length of its payload, without the payload. From [`Wal::verify_each`](crate::Wal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    index: u64,
    type_id: u8,
    flags: u8,
    len: u32,
}

impl EntryHeader {
    /// The entry's index.
    #[must_use]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The entry's type id: the byte [`Entry::type_id`](crate::Entry::type_id) wrote.
    #[must_use]
    pub fn type_id(&self) -> u8 {
        self.type_id
    }

    /// The length of the payload as a reader sees it: restored, for a compressed one.
    #[must_use]
    pub fn payload_len(&self) -> u32 {
        self.len
    }

    /// Whether the payload is stored compressed.
    #[must_use]
    pub fn is_compressed(&self) -> bool {
        self.flags & CODEC_MASK != 0
    }

    /// Whether the writer marked the entry as skippable by readers that do not know its type.
    #[must_use]
    pub fn is_ignorable(&self) -> bool {
        self.flags & FLAG_IGNORABLE != 0
    }

    /// The header of an entry read some other way, with its payload's length as a reader
    /// sees it.
    pub(crate) fn of(index: u64, type_id: u8, flags: u8, len: usize) -> Self {
        Self {
            index,
            type_id,
            flags,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }
}

/// Checks the frames of `seg` (its file `file`) up to `end`, and tells `visit` of each
/// entry whose index lies in `range` (`[from, to]`); entries above `to` end the pass.
///
/// # Errors
/// [`Error::Corruption`] at the first damaged frame; [`Error::Compression`] for a payload
/// that cannot be restored; [`Error::Io`] for a failed read.
pub(crate) fn check(
    seg: &Segment,
    file: &dyn File,
    end: u64,
    (seed, max_entry_size): (u32, u32),
    range: (u64, u64),
    buf: &mut Vec<u8>,
    visit: &mut impl FnMut(&EntryHeader),
) -> Result<()> {
    // The frames of a sealed segment end where its footer starts (a scanned segment's end
    // may include the footer); one sealed after `end` was read is checked up to `end`.
    let footer = seg.footer_offset().filter(|&at| at <= end);
    let end = footer.unwrap_or(end);
    let mut pass = Pass {
        seg,
        file,
        end,
        footer,
        seed,
        max: max_entry_size,
        next_visit: range.0,
        to: range.1,
        buf: std::mem::take(buf),
        off: 0,
        buf_start: HEADER_LEN as u64,
        buf_len: 0,
        visit,
    };
    let start = HEADER_LEN as u64;
    // A thread reads ahead where there is more than a few chunks' worth to read.
    let result = if end.saturating_sub(start) >= READ_AHEAD_FROM {
        with_read_ahead(file, start, end, |ahead| pass.run(Some(ahead)))
    } else {
        pass.run(None)
    };
    *buf = pass.buf;
    result
}

/// Bytes of a segment from which a thread reads ahead of the pass (below, starting one
/// costs more than it saves).
const READ_AHEAD_FROM: u64 = 4 << 20;

struct Pass<'a, F> {
    seg: &'a Segment,
    file: &'a dyn File,
    /// Where the pass ends: the segment's end, or the first entry above `to`.
    end: u64,
    /// Where the footer starts, for a segment sealed when the pass began.
    footer: Option<u64>,
    seed: u32,
    max: u32,
    /// The lowest index still to visit.
    next_visit: u64,
    to: u64,
    buf: Vec<u8>,
    /// `buf[off..off + buf_len]` holds the segment's bytes from `buf_start`.
    off: usize,
    buf_start: u64,
    buf_len: usize,
    visit: &'a mut F,
}

impl<F: FnMut(&EntryHeader)> Pass<'_, F> {
    fn run(&mut self, ahead: Option<&ReadAhead>) -> Result<()> {
        let (window, expected) = self.by_windows(ahead)?;
        let whole = self.end;
        let next = self.frame_by_frame(window, expected)?;
        // A pass that read every frame of a sealed segment checks its footer too.
        if self.footer == Some(whole) && self.end == whole {
            self.footer(next)?;
        }
        Ok(())
    }

    /// Checks the footer after the frames: its CRC, and that it describes them — as many
    /// entries as the frames hold, from the segment's first index to `next - 1`, at its own
    /// offset. The footer's fields are read as recovery reads them (`footer_summary`).
    fn footer(&self, next: u64) -> Result<()> {
        let at = self.end;
        let corrupt = |kind| self.seg.corrupt(at, kind);
        let entries = next - self.seg.first_index();
        // The length a footer of that many entries has: nothing is allocated by a length
        // read from disk.
        let len = usize::try_from(entries)
            .ok()
            .and_then(|n| n.checked_mul(4))
            .and_then(|n| n.checked_add(FRAME_HEADER_LEN + format::FOOTER_FIXED_LEN))
            .ok_or_else(|| corrupt(CorruptionKind::BadFooter))?;
        let mut frame = vec![0u8; len];
        io::read_exact_at(self.file, &mut frame, at).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt(CorruptionKind::BadFooter)
            } else {
                Error::io("read", &self.seg.path, e)
            }
        })?;
        format::check_frame(&frame, self.seed, u32::try_from(len).unwrap_or(u32::MAX))
            .into_frame()
            .map_err(corrupt)?;
        let summary = format::footer_summary(
            &frame[..format::FOOTER_SUMMARY_LEN],
            &frame[len - 8..],
            at + len as u64,
        );
        let agrees = summary.is_some_and(|s| {
            u64::from(s.offset) == at
                && u64::from(s.entries) == entries
                && (entries == 0
                    || (s.first_index == self.seg.first_index() && s.last_index == next - 1))
        });
        if agrees {
            Ok(())
        } else {
            Err(corrupt(CorruptionKind::BadFooter))
        }
    }

    /// The index in `buf` of `[pos, pos + need)`, if it holds them.
    #[inline]
    fn holds(&self, pos: u64, need: u64) -> Option<usize> {
        let at = pos.checked_sub(self.buf_start)?;
        (at + need <= self.buf_len as u64)
            .then(|| self.off + usize::try_from(at).unwrap_or(usize::MAX))
    }

    /// One past the last byte of `buf` that holds the segment's.
    fn held_end(&self) -> usize {
        self.off + self.buf_len
    }

    /// Reads from `pos` at least `need` bytes (a chunk where the segment has them); the
    /// index of `pos` in `buf`. `None` when the segment ends first.
    fn read(&mut self, pos: u64, need: u64) -> Result<Option<usize>> {
        if pos + need > self.end {
            return Ok(None);
        }
        let len = usize::try_from((self.end - pos).min(need.max(READ_CHUNK as u64)))
            .unwrap_or(READ_CHUNK);
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        io::read_exact_at(self.file, &mut self.buf[..len], pos)
            .map_err(|e| Error::io("read", &self.seg.path, e))?;
        (self.off, self.buf_start, self.buf_len) = (0, pos, len);
        Ok(Some(0))
    }

    /// [`Pass::read`] through the read-ahead thread, when there is one: the next chunks
    /// after what `buf` holds, with the bytes from `pos` (a frame's start) moved before
    /// them. `buf` must hold the bytes from `pos` to its end.
    fn read_on(&mut self, ahead: Option<&ReadAhead>, pos: u64, need: u64) -> Result<Option<usize>> {
        let Some(ahead) = ahead else {
            return self.read(pos, need);
        };
        if pos + need > self.end {
            return Ok(None);
        }
        while self.holds(pos, need).is_none() {
            let next_start = self.buf_start + self.buf_len as u64;
            let chunk = match ahead.next() {
                Some(Ok(chunk)) if chunk.start == next_start && pos >= self.buf_start => chunk,
                Some(Err(e)) => return Err(Error::io("read", &self.seg.path, e)),
                // Out of step with the pass (it never is): read where the pass is.
                _ => return self.read(pos, need),
            };
            let held = self.held_end();
            let keep_from = self.holds(pos, 0).unwrap_or(held);
            let keep = held - keep_from;
            let mut data = chunk.data;
            let added = data.len() - HEADROOM;
            let old = if keep <= HEADROOM {
                data[HEADROOM - keep..HEADROOM].copy_from_slice(&self.buf[keep_from..held]);
                self.off = HEADROOM - keep;
                std::mem::replace(&mut self.buf, data)
            } else {
                // A frame longer than the headroom: the chunk goes after it.
                self.buf.copy_within(keep_from..held, 0);
                self.buf.truncate(keep);
                self.buf.extend_from_slice(&data[HEADROOM..]);
                self.off = 0;
                data
            };
            ahead.recycle(old);
            self.buf_start = pos;
            self.buf_len = keep + added;
        }
        Ok(self.holds(pos, need))
    }

    /// Tells `visit` of the entry with header `h` and payload length `len`.
    #[inline]
    fn tell(&mut self, h: &FrameHeader, len: usize) {
        (self.visit)(&EntryHeader::of(h.index, h.type_id, h.flags, len));
        self.next_visit = h.index + 1;
    }

    /// Walks the frames by their headers, one CRC per sync-marker window, visiting entries
    /// as it goes. Returns where the last verified window ends and the index expected
    /// there: the frame-by-frame check takes over from there.
    fn by_windows(&mut self, ahead: Option<&ReadAhead>) -> Result<(u64, u64)> {
        let fresh = crc32fast::Hasher::new_with_initial(self.seed);
        let mut hasher = fresh.clone();
        let mut pos = HEADER_LEN as u64;
        // The open window: where it starts, the index expected there, and how far it is hashed.
        let (mut window, mut window_index) = (pos, self.seg.first_index());
        let mut hashed_to = pos;
        let mut expected = window_index;
        while pos < self.end {
            (pos, expected) = self.entries_in_buffer(pos, expected);
            if pos >= self.end {
                break;
            }
            let at = match self.holds(pos, FRAME_HEADER_LEN as u64) {
                Some(at) => at,
                None => {
                    self.hash_to(&mut hasher, &mut hashed_to, pos);
                    match self.read_on(ahead, pos, FRAME_HEADER_LEN as u64)? {
                        Some(at) => at,
                        None => break,
                    }
                }
            };
            let Some(h) = FrameHeader::peek(&self.buf[at..self.held_end()]) else {
                break;
            };
            let total = h.frame_len() as u64;
            if h.len > self.max
                || h.flags & !KNOWN_FLAGS != 0
                || h.flags & FLAG_CODEC == FLAG_CODEC
                || pos + total > self.end
            {
                break;
            }
            let at = match self.holds(pos, total) {
                Some(at) => at,
                None => {
                    self.hash_to(&mut hasher, &mut hashed_to, pos);
                    match self.read_on(ahead, pos, total)? {
                        Some(at) => at,
                        None => break,
                    }
                }
            };
            let frame = &self.buf[at..at + h.frame_len()];
            if h.type_id == 0 {
                let payload = &frame[FRAME_HEADER_LEN..];
                if payload == [KIND_BATCH_END] {
                    pos += total;
                    continue;
                }
                let Some(marker) = format::decode_marker(payload) else {
                    break;
                };
                self.hash_to(&mut hasher, &mut hashed_to, pos);
                let crc = std::mem::replace(&mut hasher, fresh.clone()).finalize();
                let verified = hashed_to == pos
                    && u64::from(marker.window_len) == pos - window
                    && marker.window_crc == crc
                    && format::check_frame(frame, self.seed, self.max)
                        .into_frame()
                        .is_ok();
                if !verified {
                    break;
                }
                pos += total;
                (window, window_index, hashed_to) = (pos, expected, pos);
                continue;
            }
            if h.index != expected {
                break;
            }
            if h.index > self.to {
                self.end = pos;
                break;
            }
            if h.index >= self.next_visit {
                let len = if h.flags & CODEC_MASK == 0 {
                    h.len as usize
                } else {
                    // A payload that cannot be restored may be damage the window's CRC
                    // would show: the frame-by-frame check says which.
                    let Ok(len) = payload_len(&h, &self.buf[at..at + h.frame_len()], self.max)
                    else {
                        break;
                    };
                    len
                };
                self.tell(&h, len);
            }
            expected += 1;
            pos += total;
        }
        Ok((window, window_index))
    }

    /// The common case of [`Pass::by_windows`], in a loop of its own: walks the entries
    /// from `pos` that lie wholly in `buf` and need nothing but a visit (in order, in the
    /// range, not compressed, within the limits), telling of each. Returns where it
    /// stopped and the index expected there; the general walk judges what stopped it.
    #[inline]
    fn entries_in_buffer(&mut self, pos: u64, mut expected: u64) -> (u64, u64) {
        let Some(start) = self.holds(pos, 0) else {
            return (pos, expected);
        };
        let room = usize::try_from(self.end - pos).unwrap_or(usize::MAX);
        let limit = self.held_end().min(start.saturating_add(room));
        let plain = !(FLAG_IGNORABLE | FLAG_BATCH_MORE);
        let mut at = start;
        while let Some(h) = self.buf.get(at..limit).and_then(FrameHeader::peek) {
            let next = at + FRAME_HEADER_LEN + h.len as usize;
            if h.type_id == 0
                || h.index != expected
                || h.index > self.to
                || h.index < self.next_visit
                || h.len > self.max
                || h.flags & plain != 0
                || next > limit
            {
                break;
            }
            (self.visit)(&EntryHeader::of(
                h.index,
                h.type_id,
                h.flags,
                h.len as usize,
            ));
            expected += 1;
            at = next;
        }
        if at > start {
            self.next_visit = expected;
        }
        (pos + (at - start) as u64, expected)
    }

    /// Adds `[hashed_to, to)` (in the buffer) to the window's CRC.
    fn hash_to(&self, hasher: &mut crc32fast::Hasher, hashed_to: &mut u64, to: u64) {
        if to > *hashed_to
            && let (Some(a), Some(b)) = (self.holds(*hashed_to, 0), self.holds(to, 0))
        {
            hasher.update(&self.buf[a..b]);
            *hashed_to = to;
        }
    }

    /// Checks every frame from `pos` (where an entry with index `expected` or a frame of
    /// the log's own starts) to the end, each with its own CRC, visiting entries not
    /// visited yet. Returns the index after the last entry.
    fn frame_by_frame(&mut self, mut pos: u64, mut expected: u64) -> Result<u64> {
        let seg = self.seg;
        let corrupt = |pos, kind| seg.corrupt(pos, kind);
        while pos < self.end {
            let header = FRAME_HEADER_LEN as u64;
            let Some(at) = self
                .holds(pos, header)
                .map_or_else(|| self.read(pos, header), |at| Ok(Some(at)))?
            else {
                return Err(corrupt(pos, CorruptionKind::Truncated));
            };
            let len = crate::le::le_u32(&self.buf[..self.held_end()], at + 4).unwrap_or(u32::MAX);
            if len > self.max {
                return Err(corrupt(pos, CorruptionKind::BadLength(len)));
            }
            let total = header + u64::from(len);
            let Some(at) = self
                .holds(pos, total)
                .map_or_else(|| self.read(pos, total), |at| Ok(Some(at)))?
            else {
                return Err(corrupt(pos, CorruptionKind::Truncated));
            };
            let frame = &self.buf[at..at + FRAME_HEADER_LEN + len as usize];
            let h = format::check_frame(frame, self.seed, self.max)
                .into_frame()
                .map_err(|kind| corrupt(pos, kind))?;
            if h.type_id != 0 {
                if h.index != expected {
                    let found = h.index;
                    return Err(corrupt(pos, CorruptionKind::IndexOrder { expected, found }));
                }
                if h.index > self.to {
                    self.end = pos;
                    return Ok(expected);
                }
                if h.index >= self.next_visit {
                    let len = payload_len(&h, frame, self.max)?;
                    self.tell(&h, len);
                }
                expected += 1;
            }
            pos += total;
        }
        Ok(expected)
    }
}

/// The length of the payload of `frame` (whose header is `h`) as a reader sees it: a
/// compressed one restored.
///
/// # Errors
/// [`Error::Compression`] for a payload that cannot be restored.
fn payload_len(h: &FrameHeader, frame: &[u8], max: u32) -> Result<usize> {
    if h.flags & CODEC_MASK == 0 {
        return Ok(h.len as usize);
    }
    let payload = frame.get(FRAME_HEADER_LEN..).unwrap_or_default();
    Ok(compression::decompress(h.index, h.flags, payload, max)?.len())
}

#[cfg(test)]
#[allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    reason = "test code"
)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::{HEADROOM, Pass, READ_AHEAD_FROM, with_read_ahead};
    use crate::format::{self, HEADER_LEN, SegmentHeader};
    use crate::io::FileSystem;
    use crate::io::sim::SimFs;
    use crate::segment::{OpenFiles, Segment};

    const SEED: u32 = 0x1234_5678;

    /// A segment of `entries` frames of mixed sizes (some longer than the headroom), a
    /// sync marker after every `window`-th; its file, and its end.
    fn segment(entries: u64, window: u64) -> (SimFs, Arc<Segment>, u64) {
        let header = SegmentHeader {
            log_id: 1,
            seq: 1,
            first_index: 1,
            prev_last_index: 0,
            prev_crc: 0,
        };
        let mut b = header.encode().to_vec();
        let mut marker_end = HEADER_LEN;
        for i in 1..=entries {
            let len = match i % 7 {
                0 => 4 * HEADROOM + i as usize,
                1 | 2 => 20_000,
                _ => 90,
            };
            format::encode_frame(&mut b, SEED, 3, 0, i, &vec![i as u8; len]);
            if i.is_multiple_of(window) {
                let crc = format::crc(SEED, &b[marker_end..]);
                let len = u32::try_from(b.len() - marker_end).unwrap();
                format::encode_marker(&mut b, SEED, i, len, crc);
                marker_end = b.len();
            }
        }
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/log")).unwrap();
        let path = PathBuf::from("/log/1.wal");
        fs.write_file(&path, &b);
        let files = Arc::new(OpenFiles::new(Arc::new(fs.clone()), 4));
        let end = b.len() as u64;
        let seg = Segment::sealed(files, path, header, end, entries, None);
        (fs, Arc::new(seg), end)
    }

    /// Where the walk by windows stopped, and the entries it told of, with and without a
    /// thread reading ahead.
    fn walk(seg: &Arc<Segment>, end: u64, ahead: bool) -> (u64, u64) {
        let file = seg.file().unwrap();
        let mut told = 0;
        let mut visit = |_: &super::EntryHeader| told += 1;
        let mut pass = Pass {
            seg,
            file: &*file,
            end,
            footer: None,
            seed: SEED,
            max: 1 << 20,
            next_visit: 1,
            to: u64::MAX,
            buf: Vec::new(),
            off: 0,
            buf_start: HEADER_LEN as u64,
            buf_len: 0,
            visit: &mut visit,
        };
        let (window, _) = if ahead {
            with_read_ahead(&*file, HEADER_LEN as u64, end, |a| pass.by_windows(Some(a)))
        } else {
            pass.by_windows(None)
        }
        .unwrap();
        (window, told)
    }

    #[test]
    fn the_walk_verifies_every_window_with_or_without_reading_ahead() {
        // Windows of a few frames, of several chunks, and the whole segment as one.
        for window in [5, 40, 400] {
            let (_fs, seg, end) = segment(400, window);
            assert!(end > READ_AHEAD_FROM, "{end}");
            for ahead in [false, true] {
                // Every window verified: the frame-by-frame check has nothing left.
                assert_eq!(
                    walk(&seg, end, ahead),
                    (end, 400),
                    "window {window}, ahead {ahead}"
                );
            }
        }
    }
}
