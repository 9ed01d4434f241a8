//! Verifying a segment one sync-marker window at a time.
//!
//! A sync marker carries the CRC of every byte since the previous marker. Where that window
//! CRC matches, every frame inside it is exactly as written, so recovery checks the window
//! with one CRC over all of it (fast on large inputs) instead of one CRC per frame, and can
//! read it through a small reused buffer instead of holding the segment in memory.

use crate::format::FrameHeader;
use crate::format::{
    self, FLAG_BATCH_MORE, FRAME_HEADER_LEN, FrameCheck, HEADER_LEN, KIND_BATCH_END, KNOWN_FLAGS,
};
use crate::io::{self, File};
use crate::le::le_u64;

/// Bytes read at a time by [`verified_prefix_of_file`] and [`data_end`] (more when one frame
/// is larger).
const READ_CHUNK: usize = 1 << 20;

/// Walks frames by their headers alone and verifies them a window at a time.
struct Walker {
    first_index: u64,
    seed: u32,
    max_entry_size: u32,
    /// End of the last verified window (a marker's end, or the segment header's).
    committed: usize,
    /// `positions.len()` at `committed`.
    committed_len: usize,
    /// Start of the next frame to walk.
    pos: usize,
    batch_open: bool,
    /// CRC of `[committed, hashed)`.
    hasher: crc32fast::Hasher,
    hashed: usize,
    /// Whether to check that entry indexes follow `first_index` one by one and record the
    /// entries' positions (recovery); a reader checking windows alone does neither.
    index_entries: bool,
    /// Whether the walk goes on in a next buffer (recovery's), or ends with this one.
    resumes: bool,
    positions: Vec<u32>,
}

/// What stopped a walk over a buffer.
enum Walked {
    /// The frame at `pos` runs past the buffer: it needs this many bytes from `pos`.
    NeedMore(usize),
    /// Something the per-frame scan has to judge.
    Stop,
}

impl Walker {
    fn new(first_index: u64, seed: u32, max_entry_size: u32) -> Self {
        Self {
            first_index,
            seed,
            max_entry_size,
            committed: HEADER_LEN,
            committed_len: 0,
            pos: HEADER_LEN,
            batch_open: false,
            hasher: crc32fast::Hasher::new_with_initial(seed),
            hashed: HEADER_LEN,
            index_entries: true,
            resumes: true,
            positions: Vec::new(),
        }
    }

    /// A walker that starts at `start`, the start of a window (a marker's end or the
    /// header's), and checks windows alone: it neither orders indexes nor records positions.
    fn windows_from(start: usize, seed: u32, max_entry_size: u32) -> Self {
        Self {
            committed: start,
            pos: start,
            hashed: start,
            index_entries: false,
            resumes: false,
            ..Self::new(0, seed, max_entry_size)
        }
    }

    /// Walks the frames of `b`, which holds the segment's bytes from offset `base`
    /// (`base <= pos`, `base <= hashed`).
    fn walk(&mut self, b: &[u8], base: usize) -> Walked {
        let local = |at: usize| at - base;
        loop {
            let Some(h) = b.get(local(self.pos)..local(self.pos) + FRAME_HEADER_LEN) else {
                self.hash_ahead(b, base);
                return Walked::NeedMore(FRAME_HEADER_LEN);
            };
            let Some(FrameHeader {
                len,
                type_id,
                flags,
                ..
            }) = FrameHeader::peek(h)
            else {
                return Walked::Stop;
            };
            // A length above the limit goes to the per-frame scan, which reads it only if
            // it is intact (an entry written under a larger `max_entry_size`).
            if len > self.max_entry_size || flags & !KNOWN_FLAGS != 0 || h.iter().all(|&x| x == 0) {
                return Walked::Stop;
            }
            let total = FRAME_HEADER_LEN + len as usize;
            let end = self.pos + total;
            let Some(frame) = b.get(local(self.pos)..local(end)) else {
                self.hash_ahead(b, base);
                return Walked::NeedMore(total);
            };
            if type_id == 0 {
                let payload = &frame[FRAME_HEADER_LEN..];
                if payload == [KIND_BATCH_END] {
                    self.batch_open = false;
                    self.pos = end;
                    continue;
                }
                let Some(m) = format::decode_marker(payload).filter(|_| !self.batch_open) else {
                    return Walked::Stop;
                };
                self.hash_to(b, base, self.pos);
                let fresh = crc32fast::Hasher::new_with_initial(self.seed);
                let window_crc = std::mem::replace(&mut self.hasher, fresh).finalize();
                let verified = m.window_len as usize == self.pos - self.committed
                    && window_crc == m.window_crc
                    && matches!(
                        format::check_frame(frame, self.seed, self.max_entry_size),
                        FrameCheck::Valid(_)
                    );
                if !verified {
                    return Walked::Stop;
                }
                self.pos = end;
                self.hashed = end;
                self.committed = end;
                self.committed_len = self.positions.len();
                continue;
            }
            if self.index_entries {
                let expected = self.first_index + self.positions.len() as u64;
                let Ok(at) = u32::try_from(self.pos) else {
                    return Walked::Stop;
                };
                if le_u64(h, 10) != Some(expected) {
                    return Walked::Stop;
                }
                self.positions.push(at);
            }
            self.batch_open = flags & FLAG_BATCH_MORE != 0;
            self.pos = end;
        }
    }

    /// At the end of a buffer: hashes what was walked, for a walk that `resumes` in the
    /// next buffer; one that ends there leaves it, so an unfinished window costs no CRC.
    fn hash_ahead(&mut self, b: &[u8], base: usize) {
        if self.resumes {
            self.hash_to(b, base, self.pos);
        }
    }

    /// Adds `[hashed, to)` to the window's CRC.
    fn hash_to(&mut self, b: &[u8], base: usize, to: usize) {
        if to > self.hashed {
            self.hasher.update(&b[self.hashed - base..to - base]);
            self.hashed = to;
        }
    }

    /// The end of the verified prefix, and the positions of the entries in it.
    fn finish(mut self) -> (usize, Vec<u32>) {
        self.positions.truncate(self.committed_len);
        (self.committed, self.positions)
    }
}

/// Walks the frames of the whole segment `b` from its header's end by their headers alone;
/// at each sync marker, checks the marker frame's own CRC and one CRC over the whole window
/// since the previous one. Returns the end of the last window that verified and the
/// positions of the entries before it.
///
/// It stops at the last verified marker on anything the per-frame scan has to judge: a
/// window or marker that does not verify, a footer, zeros, a frame that runs past `b`, a
/// reserved flag, an index out of order, or a marker inside an open batch. That scan then
/// resumes from the returned offset, with no batch open. Never panics and never allocates by
/// a length read from `b`.
pub(crate) fn verified_prefix(
    b: &[u8],
    first_index: u64,
    seed: u32,
    max_entry_size: u32,
) -> (usize, Vec<u32>) {
    let mut w = Walker::new(first_index, seed, max_entry_size);
    w.walk(b, 0);
    w.finish()
}

/// The end of the last window, among those that start at `start` (a window's start: a
/// marker's end or the header's) and lie wholly inside `b`, that verified one after the
/// other — `start` when none did. `b` holds the segment's bytes from offset `start`.
///
/// Every frame before the returned offset is exactly as the writer wrote it, so a reader
/// may take its header without checking the frame's own CRC. Stops as [`verified_prefix`]
/// does; never panics.
pub(crate) fn verified_windows(b: &[u8], start: usize, seed: u32, max_entry_size: u32) -> usize {
    let mut w = Walker::windows_from(start, seed, max_entry_size);
    w.walk(b, start);
    w.committed
}

/// [`verified_prefix`] of a segment file of `len` bytes, read through `buf` (grown to a few
/// MiB and reused), so a long tail is neither held in memory nor read twice.
///
/// # Errors
/// The file's read errors.
pub(crate) fn verified_prefix_of_file(
    file: &dyn File,
    len: usize,
    first_index: u64,
    seed: u32,
    max_entry_size: u32,
    buf: &mut Vec<u8>,
) -> std::io::Result<(usize, Vec<u32>)> {
    let mut w = Walker::new(first_index, seed, max_entry_size);
    let mut need = 0;
    // Each read starts at the next frame, where the window's CRC stopped (`hashed == pos`).
    while w.pos < len && need <= len - w.pos {
        let base = w.pos;
        let want = READ_CHUNK.max(need).min(len - base);
        let b = read_into(file, buf, base, want)?;
        match w.walk(b, base) {
            Walked::Stop => break,
            Walked::NeedMore(n) => need = n,
        }
    }
    Ok(w.finish())
}

/// One past the last nonzero byte of the file in `[from, len)`, or `from`: where the
/// preallocated zeros after a tail's data begin. Reads backwards through `buf`, so only the
/// zeros and the piece where the data ends are read.
///
/// # Errors
/// The file's read errors.
pub(crate) fn data_end(
    file: &dyn File,
    from: usize,
    len: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut end = len;
    while end > from {
        let start = end.saturating_sub(READ_CHUNK).max(from);
        let b = read_into(file, buf, start, end - start)?;
        if let Some(p) = last_nonzero(b) {
            return Ok(start + p + 1);
        }
        end = start;
    }
    Ok(from)
}

/// The position of the last nonzero byte of `b`, checking 4 KiB at a time with a fold the
/// compiler vectorizes.
pub(crate) fn last_nonzero(b: &[u8]) -> Option<usize> {
    const BLOCK: usize = 4096;
    let blocks = b.len().div_ceil(BLOCK);
    (0..blocks).rev().find_map(|k| {
        let block = &b[k * BLOCK..((k + 1) * BLOCK).min(b.len())];
        if block.iter().fold(0u8, |a, &x| a | x) == 0 {
            return None;
        }
        block.iter().rposition(|&x| x != 0).map(|p| k * BLOCK + p)
    })
}

/// Reads `want` bytes at `offset` into the front of `buf`, growing it only when needed.
fn read_into<'a>(
    file: &dyn File,
    buf: &'a mut Vec<u8>,
    offset: usize,
    want: usize,
) -> std::io::Result<&'a [u8]> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    io::read_exact_at(file, &mut buf[..want], offset as u64)?;
    Ok(&buf[..want])
}

#[cfg(test)]
mod tests {
    use super::last_nonzero;

    #[test]
    fn last_nonzero_finds_the_last_set_byte_across_blocks() {
        assert_eq!(last_nonzero(&[]), None);
        assert_eq!(last_nonzero(&[0; 10_000]), None);
        for at in [0, 1, 4095, 4096, 4097, 8191, 9_999] {
            let mut b = vec![0u8; 10_000];
            b[at] = 1;
            assert_eq!(last_nonzero(&b), Some(at), "byte {at}");
            b[0] = 7;
            assert_eq!(last_nonzero(&b), Some(at), "byte {at} with byte 0 set");
        }
    }
}
