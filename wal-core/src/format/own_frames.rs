//! The log's own frames (type 0): sync markers, batch ends and footers.

use super::{
    FOOTER_FIXED_LEN, FOOTER_MAGIC, FRAME_HEADER_LEN, HEADER_LEN, KIND_BATCH_END, KIND_FOOTER,
    KIND_SYNC_MARKER, MARKER_PAYLOAD_LEN, begin_frame, encode_frame, finish_frame,
};
use crate::le::{le_u32, le_u64};

/// Encodes a sync-marker frame covering a window of `window_len` bytes with CRC `window_crc`.
pub fn encode_marker(
    out: &mut Vec<u8>,
    seed: u32,
    last_index: u64,
    window_len: u32,
    window_crc: u32,
) {
    let mut p = [0u8; MARKER_PAYLOAD_LEN];
    p[0] = KIND_SYNC_MARKER;
    p[1..5].copy_from_slice(&window_len.to_le_bytes());
    p[5..9].copy_from_slice(&window_crc.to_le_bytes());
    encode_frame(out, seed, 0, 0, last_index, &p);
}

/// Encodes a batch-end frame after the entry at `last_index`.
pub fn encode_batch_end(out: &mut Vec<u8>, seed: u32, last_index: u64) {
    encode_frame(out, seed, 0, 0, last_index, &[KIND_BATCH_END]);
}

/// A decoded sync marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Bytes covered, ending where the marker frame starts.
    pub window_len: u32,
    /// Seeded CRC of those bytes.
    pub window_crc: u32,
}

/// Reads a sync marker from the payload of a verified type-0 frame, if it is one.
#[must_use]
pub fn decode_marker(payload: &[u8]) -> Option<Marker> {
    if payload.len() != MARKER_PAYLOAD_LEN || payload.first() != Some(&KIND_SYNC_MARKER) {
        return None;
    }
    Some(Marker {
        window_len: le_u32(payload, 1)?,
        window_crc: le_u32(payload, 5)?,
    })
}

/// A decoded segment footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// First index in the segment (meaningless when `positions` is empty).
    pub first_index: u64,
    /// Last index in the segment.
    pub last_index: u64,
    /// Byte offset of each entry's frame.
    pub positions: Vec<u32>,
    /// Offset of the footer frame itself.
    pub footer_offset: u32,
}

/// Encodes a footer frame at `footer_offset` into `out` and returns its stored CRC.
pub fn encode_footer(
    out: &mut Vec<u8>,
    seed: u32,
    first_index: u64,
    last_index: u64,
    positions: &[u32],
    footer_offset: u32,
) -> u32 {
    let start = begin_frame(out);
    out.push(KIND_FOOTER);
    out.extend_from_slice(
        &u32::try_from(positions.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&first_index.to_le_bytes());
    out.extend_from_slice(&last_index.to_le_bytes());
    for p in positions {
        out.extend_from_slice(&p.to_le_bytes());
    }
    out.extend_from_slice(&footer_offset.to_le_bytes());
    out.extend_from_slice(&FOOTER_MAGIC);
    finish_frame(
        out,
        start,
        &crc32fast::Hasher::new_with_initial(seed),
        0,
        0,
        last_index,
    )
}

/// Reads a footer from the payload of a verified type-0 frame, if it is one.
#[must_use]
pub fn decode_footer(payload: &[u8]) -> Option<Footer> {
    if payload.first() != Some(&KIND_FOOTER) || payload.len() < FOOTER_FIXED_LEN {
        return None;
    }
    let count = le_u32(payload, 1)? as usize;
    if payload.len() != FOOTER_FIXED_LEN.checked_add(count.checked_mul(4)?)?
        || payload.get(payload.len() - 4..)? != FOOTER_MAGIC
    {
        return None;
    }
    let positions = (0..count)
        .map(|i| le_u32(payload, 21 + 4 * i))
        .collect::<Option<Vec<_>>>()?;
    Some(Footer {
        first_index: le_u64(payload, 5)?,
        last_index: le_u64(payload, 13)?,
        positions,
        footer_offset: le_u32(payload, payload.len() - 8)?,
    })
}

/// The fixed fields of a footer, read without its positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FooterSummary {
    /// Stored (masked) CRC of the footer frame: the chain value.
    pub crc: u32,
    /// Number of entries in the segment.
    pub entries: u32,
    /// First index in the segment.
    pub first_index: u64,
    /// Last index in the segment.
    pub last_index: u64,
    /// Offset of the footer frame.
    pub offset: u32,
}

/// Bytes needed at the footer's offset for [`footer_summary`]: the frame header and the
/// fixed fields before the positions.
pub(crate) const FOOTER_SUMMARY_LEN: usize = FRAME_HEADER_LEN + 21;

/// Reads a footer's fixed fields from `head` (the [`FOOTER_SUMMARY_LEN`] bytes at its
/// offset) and `tail` (the segment's last 8 bytes) of a segment of `file_len` bytes, checking
/// everything that does not need the positions. The footer's CRC is checked when its
/// positions are read.
#[must_use]
pub(crate) fn footer_summary(head: &[u8], tail: &[u8], file_len: u64) -> Option<FooterSummary> {
    if tail.len() != 8 || tail.get(4..8)? != FOOTER_MAGIC {
        return None;
    }
    let offset = le_u32(tail, 0)?;
    let payload_len = file_len
        .checked_sub(u64::from(offset))?
        .checked_sub(FRAME_HEADER_LEN as u64)?;
    let entries = le_u32(head, FRAME_HEADER_LEN + 1)?;
    let first_index = le_u64(head, FRAME_HEADER_LEN + 5)?;
    let last_index = le_u64(head, FRAME_HEADER_LEN + 13)?;
    let consistent = u64::from(offset) >= HEADER_LEN as u64
        && u64::from(le_u32(head, 4)?) == payload_len
        && payload_len == FOOTER_FIXED_LEN as u64 + 4 * u64::from(entries)
        && head.get(8..10)? == [0, 0]
        && le_u64(head, 10)? == last_index
        && *head.get(FRAME_HEADER_LEN)? == KIND_FOOTER
        && (entries == 0 || first_index.checked_add(u64::from(entries) - 1)? == last_index);
    consistent.then_some(FooterSummary {
        crc: le_u32(head, 0)?,
        entries,
        first_index,
        last_index,
        offset,
    })
}
