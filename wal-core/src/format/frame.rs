//! Frames: the header every record starts with, its checks, and encoding.

use super::{FLAG_CODEC, FRAME_HEADER_LEN, KNOWN_FLAGS, crc, mask};
use crate::error::CorruptionKind;
use crate::le::{le_u32, le_u64};

/// The fixed fields of a frame that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Stored (masked) CRC of the frame.
    pub crc: u32,
    /// Payload length.
    pub len: u32,
    /// Entry type; `0` for the log's own frames.
    pub type_id: u8,
    /// Frame flags.
    pub flags: u8,
    /// Entry index.
    pub index: u64,
}

impl FrameHeader {
    /// The fields of the frame header at the start of `b`, not verified (the CRC covers the
    /// payload too: see [`check_frame`]). `None` when `b` is shorter than a frame header.
    /// The one place a frame header's layout is read.
    #[must_use]
    #[inline]
    pub fn peek(b: &[u8]) -> Option<Self> {
        let h = b.get(..FRAME_HEADER_LEN)?;
        Some(Self {
            crc: le_u32(h, 0)?,
            len: le_u32(h, 4)?,
            type_id: h[8],
            flags: h[9],
            index: le_u64(h, 10)?,
        })
    }

    /// Total length of the frame, header included.
    #[must_use]
    #[inline]
    pub fn frame_len(&self) -> usize {
        FRAME_HEADER_LEN + self.len as usize
    }
}

/// What a reader finds at a position where a frame should start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck {
    /// A frame that verified.
    Valid(FrameHeader),
    /// Zeros (or no bytes at all): the end of the written part of the segment.
    End,
    /// The frame header or payload runs past the bytes available.
    Truncated,
    /// The length is above the maximum entry size.
    BadLength(u32),
    /// The CRC does not match.
    Checksum {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC computed over the frame.
        computed: u32,
    },
    /// Reserved flag bits are set in a frame whose CRC verified.
    ReservedFlags(u8),
}

impl FrameCheck {
    /// The frame, or the damage a reader that expects a frame here reports (zeros where a
    /// frame should be are a hole). The one conversion of a check to a [`CorruptionKind`].
    pub(crate) fn into_frame(self) -> Result<FrameHeader, CorruptionKind> {
        match self {
            Self::Valid(h) => Ok(h),
            Self::End => Err(CorruptionKind::Hole),
            Self::Truncated => Err(CorruptionKind::Truncated),
            Self::BadLength(l) => Err(CorruptionKind::BadLength(l)),
            Self::Checksum { stored, computed } => {
                Err(CorruptionKind::Checksum { stored, computed })
            }
            Self::ReservedFlags(f) => Err(CorruptionKind::ReservedFlags(f)),
        }
    }
}

/// Checks the frame that starts at `buf[0]`; `buf` runs to the end of the readable bytes.
///
/// Never allocates and never panics. A length field above `max_entry_size` is
/// [`FrameCheck::BadLength`] unless the whole frame is in `buf` and its CRC verifies: an
/// intact entry written under a larger `max_entry_size` stays readable.
#[must_use]
pub fn check_frame(buf: &[u8], seed: u32, max_entry_size: u32) -> FrameCheck {
    let Some(h) = buf.get(..FRAME_HEADER_LEN) else {
        return if buf.iter().all(|&b| b == 0) {
            FrameCheck::End
        } else {
            FrameCheck::Truncated
        };
    };
    if h.iter().all(|&b| b == 0) {
        return FrameCheck::End;
    }
    let stored = le_u32(h, 0).unwrap_or(0);
    let len = le_u32(h, 4).unwrap_or(0);
    let Some(body) = buf.get(4..FRAME_HEADER_LEN + len as usize) else {
        return if len > max_entry_size {
            FrameCheck::BadLength(len)
        } else {
            FrameCheck::Truncated
        };
    };
    let computed = mask(crc(seed, body));
    if computed != stored {
        return if len > max_entry_size {
            FrameCheck::BadLength(len)
        } else {
            FrameCheck::Checksum { stored, computed }
        };
    }
    let flags = h[9];
    if flags & !KNOWN_FLAGS != 0 || flags & FLAG_CODEC == FLAG_CODEC {
        return FrameCheck::ReservedFlags(flags);
    }
    FrameCheck::Valid(FrameHeader {
        crc: stored,
        len,
        type_id: h[8],
        flags,
        index: le_u64(h, 10).unwrap_or(0),
    })
}

/// Appends a frame header placeholder to `out` and returns where it starts.
///
/// Write the payload after it, then call [`finish_frame`].
pub(crate) fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    start
}

/// Fills in the header of the frame that starts at `out[start]` and returns its stored CRC.
/// `crc` is a hasher seeded with the log's seed (cloned per frame: a new one would look up
/// the CPU's features each time).
///
/// The payload is everything after the header placeholder; its length must fit in a `u32`
/// (the caller checks it against the maximum entry size first).
pub(crate) fn finish_frame(
    out: &mut [u8],
    start: usize,
    crc: &crc32fast::Hasher,
    type_id: u8,
    flags: u8,
    index: u64,
) -> u32 {
    let frame = &mut out[start..];
    let len = u32::try_from(frame.len() - FRAME_HEADER_LEN).unwrap_or(u32::MAX);
    frame[4..8].copy_from_slice(&len.to_le_bytes());
    frame[8] = type_id;
    frame[9] = flags;
    frame[10..18].copy_from_slice(&index.to_le_bytes());
    let mut h = crc.clone();
    h.update(&frame[4..]);
    let c = mask(h.finalize());
    frame[0..4].copy_from_slice(&c.to_le_bytes());
    c
}

/// Encodes a whole frame into `out`.
pub fn encode_frame(
    out: &mut Vec<u8>,
    seed: u32,
    type_id: u8,
    flags: u8,
    index: u64,
    payload: &[u8],
) -> u32 {
    let start = begin_frame(out);
    out.extend_from_slice(payload);
    finish_frame(
        out,
        start,
        &crc32fast::Hasher::new_with_initial(seed),
        type_id,
        flags,
        index,
    )
}
