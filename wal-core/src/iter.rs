//! Reading entries without decoding them: [`Iter`].

use std::sync::Arc;

use crate::entry::RawEntry;
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{self, FRAME_HEADER_LEN, FrameCheck, HEADER_LEN};
use crate::io;
use crate::le::le_u32;
use crate::segment::Segment;

/// Bytes read from a segment at a time.
const READ_CHUNK: usize = 1 << 20;

/// An iterator over the entries of a log, in index order, as [`RawEntry`] values.
///
/// It reads frames by their length alone and verifies each frame's CRC; it never calls an
/// entry's decoder. It yields the entries that had been appended when it was created. After
/// an error it yields nothing more.
#[derive(Debug)]
pub struct Iter {
    segments: Arc<Vec<Arc<Segment>>>,
    /// Salvage mode: the frame positions of each segment.
    salvage: Option<Arc<Vec<Vec<u32>>>>,
    seg: usize,
    pos: u64,
    slot: usize,
    start: u64,
    end_index: u64,
    seed: u32,
    max_payload: u32,
    buf: Arc<Vec<u8>>,
    buf_start: u64,
    /// The segment `buf` was read from.
    buf_seg: usize,
    done: bool,
}

impl Iter {
    pub(crate) fn new(
        segments: Arc<Vec<Arc<Segment>>>,
        salvage: Option<Arc<Vec<Vec<u32>>>>,
        start: u64,
        end_index: u64,
        seed: u32,
        max_payload: u32,
    ) -> Self {
        let seg = segments
            .partition_point(|s| s.first_index() <= start)
            .saturating_sub(1);
        Self {
            segments,
            salvage,
            seg,
            pos: HEADER_LEN as u64,
            slot: 0,
            start,
            end_index,
            seed,
            max_payload,
            buf: Arc::new(Vec::new()),
            buf_start: 0,
            buf_seg: usize::MAX,
            done: false,
        }
    }

    /// Makes `buf` hold `[pos, pos + need)` of `seg`, reading at most up to `end`.
    /// Returns the offset of `pos` in `buf`, or `None` when the frame would pass `end`.
    fn fill(&mut self, seg: &Segment, pos: u64, need: usize, end: u64) -> Result<Option<usize>> {
        let have = self.buf_start..self.buf_start + self.buf.len() as u64;
        if self.buf_seg == self.seg && pos >= have.start && pos + need as u64 <= have.end {
            return Ok(Some(
                usize::try_from(pos - have.start).unwrap_or(usize::MAX),
            ));
        }
        if pos + need as u64 > end {
            return Ok(None);
        }
        let len = usize::try_from((end - pos).min(need.max(READ_CHUNK) as u64)).unwrap_or(need);
        // Reuse the buffer unless entries handed out still share it.
        if Arc::get_mut(&mut self.buf).is_none() {
            self.buf = Arc::new(Vec::new());
        }
        let buf = Arc::get_mut(&mut self.buf).expect("a new Arc is unique");
        buf.resize(len, 0);
        io::read_exact_at(&*seg.file, buf, pos).map_err(|e| Error::io("read", &seg.path, e))?;
        self.buf_start = pos;
        self.buf_seg = self.seg;
        Ok(Some(0))
    }

    fn step(&mut self) -> Result<Option<RawEntry>> {
        loop {
            let Some(seg) = self.segments.get(self.seg).cloned() else {
                return Ok(None);
            };
            let end = seg.end();
            let pos = match &self.salvage {
                Some(s) => s
                    .get(self.seg)
                    .and_then(|p| p.get(self.slot))
                    .map_or(end, |&p| u64::from(p)),
                None => self.pos,
            };
            if pos >= end {
                self.seg += 1;
                self.pos = HEADER_LEN as u64;
                self.slot = 0;
                continue;
            }
            let corrupt = |kind| Error::Corruption {
                segment: seg.path.clone(),
                offset: pos,
                kind,
            };
            let Some(at) = self.fill(&seg, pos, FRAME_HEADER_LEN, end)? else {
                return Err(corrupt(CorruptionKind::Truncated));
            };
            let len = le_u32(&self.buf, at + 4).unwrap_or(u32::MAX);
            if len > self.max_payload {
                return Err(corrupt(CorruptionKind::BadLength(len)));
            }
            let total = FRAME_HEADER_LEN + len as usize;
            let Some(at) = self.fill(&seg, pos, total, end)? else {
                return Err(corrupt(CorruptionKind::Truncated));
            };
            let h =
                match format::check_frame(&self.buf[at..at + total], self.seed, self.max_payload) {
                    FrameCheck::Valid(h) => h,
                    FrameCheck::End => return Err(corrupt(CorruptionKind::Hole)),
                    FrameCheck::Truncated => return Err(corrupt(CorruptionKind::Truncated)),
                    FrameCheck::BadLength(l) => return Err(corrupt(CorruptionKind::BadLength(l))),
                    FrameCheck::Checksum { stored, computed } => {
                        return Err(corrupt(CorruptionKind::Checksum { stored, computed }));
                    }
                    FrameCheck::ReservedFlags(f) => {
                        return Err(corrupt(CorruptionKind::ReservedFlags(f)));
                    }
                };
            self.pos = pos + total as u64;
            self.slot += 1;
            if h.entry_type == 0 || h.index < self.start {
                continue;
            }
            if h.index > self.end_index {
                return Ok(None);
            }
            return Ok(Some(RawEntry::new(
                h.index,
                h.entry_type,
                h.flags,
                Arc::clone(&self.buf),
                at + FRAME_HEADER_LEN,
                at + total,
            )));
        }
    }
}

impl Iterator for Iter {
    type Item = Result<RawEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

impl std::iter::FusedIterator for Iter {}
