//! The writer's two halves: the append buffer (frames encoded, not yet written) and the tail
//! (the segment being written, its sync-marker window and entry positions).

use std::sync::Arc;

use crate::compression;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::format::{self, FLAG_BATCH_MORE, FLAG_IGNORABLE, FRAME_HEADER_LEN, HEADER_LEN};
use crate::io::{self, File};
use crate::segment::Segment;

/// Buffered bytes above which an append writes the buffer to the file (without syncing).
pub(crate) const FLUSH_AT: usize = 1 << 20;

/// Space is preallocated this far ahead of the writer: most fdatasyncs then need no
/// metadata update, and recovery reads at most this many zeros past the tail's data.
pub(crate) const PREALLOCATE_STEP: u64 = 4 << 20;

/// The most bytes one unit (an entry or a batch, with 4 bytes of footer per entry) can
/// take: a segment holding it, its header, a sync marker and its footer stays within the
/// 32-bit offsets of the format.
pub(crate) const MAX_UNIT: u64 = u32::MAX as u64
    - (HEADER_LEN + format::MARKER_FRAME_LEN + FRAME_HEADER_LEN + format::FOOTER_FIXED_LEN) as u64;

/// Frames buffered for one segment.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    /// A new segment starts before these frames.
    pub rotate: bool,
    /// Index of the last entry in `bytes`.
    pub last_index: u64,
    pub bytes: Vec<u8>,
    /// Offsets of the entries' frames within `bytes`.
    pub positions: Vec<u32>,
}

/// Limits the buffer applies when it assigns entries to segments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub seed: u32,
    pub segment_size: u64,
    pub max_segment_entries: Option<u64>,
    pub max_entry_size: u32,
    /// The most one unit may take: [`MAX_UNIT`] (smaller in tests).
    pub max_unit: u64,
    /// The codec payloads of at least `compress_above` bytes are compressed with.
    pub compression: Option<crate::Compression>,
    pub compress_above: usize,
}

/// Encoded frames waiting to be written, and the index the next entry gets.
#[derive(Debug)]
pub(crate) struct Pending {
    pub next_index: u64,
    pub chunks: Vec<Chunk>,
    /// Bytes in `chunks`.
    pub bytes: usize,
    /// Bytes appended since the last sync took the buffer.
    pub since_sync: u64,
    /// Projected size and entry count of the segment the last chunk goes to.
    seg_bytes: u64,
    seg_entries: u64,
    spare: Vec<Vec<u8>>,
    /// Where a payload is compressed before it replaces the plain one.
    compressed: Vec<u8>,
    limits: Limits,
    /// A hasher seeded with the log's seed, cloned for each frame's CRC.
    crc: crc32fast::Hasher,
    /// Counts the times `truncate_back` reset the buffer: an index assigned in an earlier
    /// epoch was made durable by that truncation's sync (and maybe removed after it).
    pub epoch: u64,
    /// The segment being filled is sealed: the next unit starts a new one.
    pub rotate_next: bool,
}

impl Pending {
    pub(crate) fn new(next_index: u64, seg_bytes: u64, seg_entries: u64, limits: Limits) -> Self {
        Self {
            next_index,
            chunks: Vec::new(),
            bytes: 0,
            since_sync: 0,
            seg_bytes,
            seg_entries,
            spare: Vec::new(),
            compressed: Vec::new(),
            crc: crc32fast::Hasher::new_with_initial(limits.seed),
            limits,
            epoch: 0,
            rotate_next: false,
        }
    }

    /// Encodes `entries` as one unit (a batch when more than one) and returns the last index.
    ///
    /// Nothing is buffered if any entry fails to encode or is too large.
    pub(crate) fn push<E: Entry>(&mut self, entries: &[E]) -> Result<u64> {
        let n = entries.len() as u64;
        if n == 0 {
            return Ok(self.next_index - 1);
        }
        if self.chunks.is_empty() {
            let bytes = self.spare.pop().unwrap_or_default();
            self.chunks.push(Chunk {
                bytes,
                ..Chunk::default()
            });
        }
        let limits = self.limits;
        let first = self.next_index;
        let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
        let batch_start = chunk.bytes.len();
        let positions_before = chunk.positions.len();
        for (k, e) in entries.iter().enumerate() {
            let start = format::begin_frame(&mut chunk.bytes);
            let type_id = e.type_id();
            let outcome = if type_id == 0 {
                Err(Error::ReservedEntryType)
            } else {
                e.encode(&mut chunk.bytes)
                    .map_err(|source| Error::Encode { type_id, source })
            };
            let size = chunk.bytes.len() - start - FRAME_HEADER_LEN;
            let unit = (chunk.bytes.len() - batch_start) as u64 + 4 * (k as u64 + 1);
            let outcome = outcome.and_then(|()| {
                if size > limits.max_entry_size as usize {
                    Err(Error::EntryTooLarge {
                        size,
                        max: limits.max_entry_size,
                    })
                } else if unit > limits.max_unit {
                    // Refused as soon as it is known: never buffer more than a segment holds.
                    Err(Error::BatchTooLarge {
                        size: unit,
                        max: limits.max_unit,
                    })
                } else {
                    Ok(())
                }
            });
            if let Err(err) = outcome {
                chunk.bytes.truncate(batch_start);
                chunk.positions.truncate(positions_before);
                return Err(err);
            }
            let mut flags = if e.ignorable() { FLAG_IGNORABLE } else { 0 };
            if let Some(codec) = limits.compression.filter(|_| size >= limits.compress_above) {
                let payload = &chunk.bytes[start + FRAME_HEADER_LEN..];
                if let Some(bits) = compression::compress(codec, payload, &mut self.compressed) {
                    chunk.bytes.truncate(start + FRAME_HEADER_LEN);
                    chunk.bytes.extend_from_slice(&self.compressed);
                    flags |= bits;
                }
            }
            if (k as u64) + 1 < n {
                flags |= FLAG_BATCH_MORE;
            }
            format::finish_frame(
                &mut chunk.bytes,
                start,
                &self.crc,
                type_id,
                flags,
                first + k as u64,
            );
            chunk
                .positions
                .push(u32::try_from(start).unwrap_or(u32::MAX));
        }
        let total = (chunk.bytes.len() - batch_start) as u64;
        let full = self.seg_bytes + total > limits.segment_size
            || limits
                .max_segment_entries
                .is_some_and(|m| self.seg_entries + n > m);
        if self.rotate_next || (self.seg_entries > 0 && full) {
            self.rotate_next = false;
            // The unit starts a new segment; a batch never spans two.
            if batch_start == 0 {
                chunk.rotate = true;
            } else {
                let mut bytes = self.spare.pop().unwrap_or_default();
                bytes.extend_from_slice(&chunk.bytes[batch_start..]);
                chunk.bytes.truncate(batch_start);
                let offset = u32::try_from(batch_start).unwrap_or(u32::MAX);
                let positions = chunk
                    .positions
                    .drain(positions_before..)
                    .map(|p| p - offset)
                    .collect();
                self.chunks.push(Chunk {
                    rotate: true,
                    last_index: 0,
                    bytes,
                    positions,
                });
            }
            self.seg_bytes = HEADER_LEN as u64 + total;
            self.seg_entries = n;
        } else {
            self.seg_bytes += total;
            self.seg_entries += n;
        }
        let last = first + n - 1;
        if let Some(c) = self.chunks.last_mut() {
            c.last_index = last;
        }
        self.next_index = last + 1;
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        self.bytes += total;
        self.since_sync += total as u64;
        Ok(last)
    }

    /// Starts over at `next_index` in a segment of `seg_bytes` bytes and `seg_entries`
    /// entries, dropping anything buffered, in a new epoch (after a truncation).
    pub(crate) fn reset(&mut self, next_index: u64, seg_bytes: u64, seg_entries: u64) {
        self.epoch += 1;
        self.rotate_next = false;
        self.next_index = next_index;
        self.seg_bytes = seg_bytes;
        self.seg_entries = seg_entries;
        self.chunks.clear();
        self.bytes = 0;
    }

    /// Counts a sync marker the writer added to the segment being filled, so that segments
    /// keep to their target size under frequent syncs.
    pub(crate) fn note_marker(&mut self) {
        if !self.chunks.iter().any(|c| c.rotate) {
            self.seg_bytes += crate::format::MARKER_FRAME_LEN as u64;
        }
    }

    /// Takes every buffered chunk.
    pub(crate) fn take(&mut self) -> Vec<Chunk> {
        self.bytes = 0;
        std::mem::take(&mut self.chunks)
    }

    /// Keeps a written chunk's buffer for reuse.
    pub(crate) fn recycle(&mut self, mut bytes: Vec<u8>) {
        if self.spare.len() < 4 && bytes.capacity() <= 4 * FLUSH_AT {
            bytes.clear();
            self.spare.push(bytes);
        }
    }
}

/// The segment being written.
#[derive(Debug)]
pub(crate) struct Tail {
    pub seg: Arc<Segment>,
    /// The segment's file, open for writing.
    pub file: Arc<dyn File>,
    /// Where the next byte goes.
    pub pos: u64,
    /// End of the last sync marker (or of the header).
    pub marker_end: u64,
    /// CRC of `[marker_end, pos)`.
    pub window: crc32fast::Hasher,
    /// Offsets of the entries of the chunk being written (a reused buffer).
    new_positions: Vec<u32>,
    /// Index of the last entry written (to any segment).
    pub last_written: u64,
    /// The footer CRC when the segment is sealed (appends then need a new segment).
    pub sealed: Option<u32>,
    scratch: Vec<u8>,
    pub seed: u32,
    /// Sequence number of the next segment: above every one this log has used.
    pub next_seq: u64,
    /// The file's size, grown by preallocation in steps; `None` when preallocation is off.
    pub allocated: Option<u64>,
    /// Something was written since the log was opened (a clean close then records it).
    wrote: bool,
    /// The segment's target size: preallocation steps stop there, and what runs past it
    /// (a sync marker, a footer, an oversized entry) grows the file by what it needs.
    pub segment_size: u64,
    /// Where the last write-behind sync was started (`Options::write_behind`).
    pub behind_from: u64,
}

impl Tail {
    /// A tail writing at `pos` of `seg`, whose window since `marker_end` has CRC `window_crc`,
    /// in a log of `segment_size`-byte segments.
    pub(crate) fn new(
        seg: Arc<Segment>,
        file: Arc<dyn File>,
        pos: u64,
        marker_end: u64,
        window_crc: u32,
        seed: u32,
        segment_size: u64,
    ) -> Self {
        Self {
            last_written: seg.last_index(),
            next_seq: seg.header.seq + 1,
            seg,
            file,
            pos,
            marker_end,
            window: crc32fast::Hasher::new_with_initial(window_crc),
            new_positions: Vec::new(),
            sealed: None,
            scratch: Vec::new(),
            seed,
            allocated: None,
            wrote: false,
            segment_size,
            behind_from: pos,
        }
    }

    /// Whether `every` bytes (`Options::write_behind`) were written since the last sync or
    /// write-behind start; if so, the next one starts here.
    pub(crate) fn behind_due(&mut self, every: u64) -> bool {
        let due = self.pos - self.marker_end.max(self.behind_from) >= every;
        if due {
            self.behind_from = self.pos;
        }
        due
    }

    /// Grows the preallocated space so `len` more bytes fit without changing the file size.
    fn reserve(&mut self, len: u64) -> std::io::Result<()> {
        if let Some(allocated) = self.allocated {
            let need = self.pos + len;
            if need > allocated {
                let step_end = (allocated + PREALLOCATE_STEP).min(self.segment_size);
                let target = need.max(step_end);
                self.file.allocate(target)?;
                self.allocated = Some(target);
            }
        }
        Ok(())
    }

    /// Writes a chunk's frames at the end of the segment and publishes them to readers. With
    /// `marker`, a sync marker covering everything since the previous one follows the frames
    /// in the same write (one `pwrite` per group commit, not two).
    pub(crate) fn write_chunk(&mut self, chunk: &mut Chunk, marker: bool) -> std::io::Result<()> {
        let frames = chunk.bytes.len();
        let extra = if marker { format::MARKER_FRAME_LEN } else { 0 };
        self.reserve((frames + extra) as u64)?;
        self.window.update(&chunk.bytes);
        let last = if chunk.positions.is_empty() {
            self.last_written
        } else {
            chunk.last_index
        };
        if marker {
            self.close_window(&mut chunk.bytes, self.pos + frames as u64, last);
        }
        let written = io::write_all_at(&*self.file, &chunk.bytes, self.pos);
        chunk.bytes.truncate(frames);
        written?;
        let base = u32::try_from(self.pos).unwrap_or(u32::MAX);
        self.new_positions.clear();
        self.new_positions
            .extend(chunk.positions.iter().map(|p| base + p));
        self.pos += (frames + extra) as u64;
        self.wrote = true;
        if marker {
            self.marker_end = self.pos;
        }
        self.last_written = last;
        self.seg
            .publish(self.pos, &self.new_positions, self.last_written);
        Ok(())
    }

    /// Appends to `out` the sync marker for the window that ends at `end` (everything since
    /// the previous marker, already fed to `window`) and starts a new window.
    fn close_window(&mut self, out: &mut Vec<u8>, end: u64, last_index: u64) {
        let window_len = u32::try_from(end - self.marker_end).unwrap_or(u32::MAX);
        let fresh = crc32fast::Hasher::new_with_initial(self.seed);
        let window_crc = std::mem::replace(&mut self.window, fresh).finalize();
        format::encode_marker(out, self.seed, last_index, window_len, window_crc);
    }

    /// Writes a batch-end frame after the last entry written: it finishes a batch that
    /// `truncate_back` cut short. Not synced.
    pub(crate) fn write_batch_end(&mut self) -> std::io::Result<()> {
        let mut frame = std::mem::take(&mut self.scratch);
        frame.clear();
        format::encode_batch_end(&mut frame, self.seed, self.last_written);
        let written = self
            .reserve(frame.len() as u64)
            .and_then(|()| io::write_all_at(&*self.file, &frame, self.pos));
        if written.is_ok() {
            self.window.update(&frame);
            self.pos += frame.len() as u64;
            self.seg.publish(self.pos, &[], self.last_written);
        }
        self.scratch = frame;
        written
    }

    /// Writes a sync marker covering everything since the previous one, if anything is.
    /// Returns whether a marker was written.
    pub(crate) fn write_marker(&mut self) -> std::io::Result<bool> {
        // A sealed segment takes nothing after its footer (which covers everything).
        if self.pos == self.marker_end || self.sealed.is_some() {
            return Ok(false);
        }
        let mut marker = std::mem::take(&mut self.scratch);
        marker.clear();
        let window = self.window.clone();
        self.close_window(&mut marker, self.pos, self.last_written);
        self.scratch = marker;
        if let Err(e) = io::write_all_at(&*self.file, &self.scratch, self.pos) {
            // Not written: the window stays open, for the next marker to close.
            self.window = window;
            return Err(e);
        }
        self.pos += self.scratch.len() as u64;
        self.marker_end = self.pos;
        self.wrote = true;
        self.seg.publish(self.pos, &[], self.last_written);
        Ok(true)
    }

    /// At a clean close, after the last window was synced: an empty sync marker after it,
    /// which proves that window durable (a marker is written only after the sync before it
    /// returned), so recovery takes damage inside it for damage, not a torn tail. Not
    /// synced. Returns whether it wrote one (nothing is written after a footer, or when
    /// nothing was written since open).
    pub(crate) fn write_close_record(&mut self) -> std::io::Result<bool> {
        if !self.wrote || self.sealed.is_some() || self.pos != self.marker_end {
            return Ok(false);
        }
        let mut marker = std::mem::take(&mut self.scratch);
        marker.clear();
        self.close_window(&mut marker, self.pos, self.last_written);
        let written = self
            .reserve(marker.len() as u64)
            .and_then(|()| io::write_all_at(&*self.file, &marker, self.pos));
        if written.is_ok() {
            self.pos += marker.len() as u64;
            self.marker_end = self.pos;
            self.wrote = false;
            self.seg.publish(self.pos, &[], self.last_written);
        }
        self.scratch = marker;
        written.map(|()| true)
    }

    /// Seals the segment: trim preallocated space, a sync marker closing the last window
    /// (when entries were written since the previous one), footer, sync. Returns the
    /// footer's CRC.
    ///
    /// The marker goes with the footer and is synced with it, as every marker is synced with
    /// its window; it lets a reader check the segment a window at a time (one CRC) instead
    /// of one CRC per frame, which for a log synced only at the end is the whole segment.
    pub(crate) fn seal(&mut self) -> std::io::Result<u32> {
        if let Some(crc) = self.sealed {
            return Ok(crc);
        }
        let positions = self
            .seg
            .positions(self.seed)
            .map_err(std::io::Error::other)?;
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let window = self.window.clone();
        if self.pos != self.marker_end {
            self.close_window(&mut out, self.pos, self.last_written);
        }
        self.scratch = out;
        let sealed = self.write_seal(&positions);
        if sealed.is_err() {
            // Not written: the window stays open.
            self.window = window;
        }
        sealed
    }

    /// Writes the footer after what `scratch` holds (a marker, or nothing) and syncs.
    fn write_seal(&mut self, positions: &[u32]) -> std::io::Result<u32> {
        let first = self.seg.first_index();
        let footer_at = self.pos + self.scratch.len() as u64;
        let offset = u32::try_from(footer_at).unwrap_or(u32::MAX);
        let crc = format::encode_footer(
            &mut self.scratch,
            self.seed,
            first,
            self.seg.last_index(),
            positions,
            offset,
        );
        // Trim the preallocated space first: a crash between the two then leaves zeros
        // where the footer goes (a tail like any other), never a footer followed by zeros.
        let end = self.pos + self.scratch.len() as u64;
        self.file.set_len(end)?;
        io::write_all_at(&*self.file, &self.scratch, self.pos)?;
        self.pos = end;
        self.marker_end = footer_at;
        self.file.sync_data()?;
        // Readers see the marker as a reopened log shows it: the footer's offset is the end.
        self.seg.publish(footer_at, &[], self.last_written);
        self.seg.set_footer_at(footer_at);
        self.sealed = Some(crc);
        Ok(crc)
    }
}

#[cfg(test)]
mod tests {
    use super::{Limits, Pending};
    use crate::Error;
    use crate::bytes_entry::Bytes as Raw;

    #[test]
    fn a_batch_larger_than_a_segment_holds_is_refused_while_it_is_encoded() {
        let limits = Limits {
            seed: 7,
            segment_size: 4096,
            max_segment_entries: None,
            max_entry_size: 1000,
            max_unit: 10_000,
            compression: None,
            compress_above: 512,
        };
        let mut p = Pending::new(1, 64, 0, limits);
        assert_eq!(p.push(&[Raw(vec![1; 500])]).unwrap(), 1);
        let before = (p.bytes, p.next_index);
        // 30 entries of 522 bytes each (frame and footer entry): refused at the 20th, with
        // nothing of it buffered.
        let batch: Vec<Raw> = (0..30).map(|_| Raw(vec![2; 500])).collect();
        match p.push(&batch) {
            Err(Error::BatchTooLarge { size, max }) => {
                assert_eq!(max, 10_000);
                assert_eq!(size, 20 * 522);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!((p.bytes, p.next_index), before);
        assert_eq!(p.chunks.iter().map(|c| c.positions.len()).sum::<usize>(), 1);
        // Exactly at the limit is accepted: 20 entries of 18 + 478 + 4 bytes.
        let fits: Vec<Raw> = (0..20).map(|_| Raw(vec![3; 478])).collect();
        assert_eq!(p.push(&fits).unwrap(), 21);
    }
}
