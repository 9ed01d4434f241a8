//! Scanning a segment's frames: the whole of it at recovery, the verified prefix's remainder
//! frame by frame, the search for a valid sync marker after damage, and salvage.

use super::{Scan, Stop};
use crate::error::CorruptionKind;
use crate::format::{
    self, FLAG_BATCH_MORE, FRAME_HEADER_LEN, FrameCheck, HEADER_LEN, MARKER_FRAME_LEN,
    MARKER_PAYLOAD_LEN,
};
use crate::le::le_u32;

/// Scans the frames of a whole segment held in `b`, whose header says entries start at
/// `first_index`. Never panics and never allocates by a length read from `b`.
pub(crate) fn scan(
    b: &[u8],
    first_index: u64,
    seed: u32,
    max_entry_size: u32,
    closed_at: Option<u64>,
) -> Scan {
    // Windows closed by a verified sync marker need no per-frame CRC.
    let (verified, positions) =
        crate::windows::verified_prefix(b, first_index, seed, max_entry_size);
    scan_from(
        b,
        verified,
        b.len(),
        positions,
        first_index,
        seed,
        max_entry_size,
        closed_at,
    )
}

/// [`scan`] from `verified`, the end of a prefix whose windows verified (see
/// [`crate::windows`]) and which holds the entries at `positions`. `b` may hold zeros
/// before `verified`: nothing before it is read. Bytes from `zeros_from` on are known to
/// be zeros. A batch left unfinished exactly at `closed_at` (the `CUT` mark of a
/// `truncate_back` that a crash interrupted) counts as finished there.
#[expect(
    clippy::too_many_arguments,
    reason = "the scan's inputs, all plain values"
)]
pub(crate) fn scan_from(
    b: &[u8],
    verified: usize,
    zeros_from: usize,
    mut positions: Vec<u32>,
    first_index: u64,
    seed: u32,
    max_entry_size: u32,
    closed_at: Option<u64>,
) -> Scan {
    let mut pos = verified;
    let mut marker_end = pos;
    let mut batch: Option<(usize, usize)> = None; // (offset, positions before it)
    let mut footer = None;
    let stop = loop {
        let rest = b.get(pos..).unwrap_or_default();
        let h = match format::check_frame(rest, seed, max_entry_size) {
            FrameCheck::End if rest.is_empty() => break Stop::Eof,
            FrameCheck::End => break Stop::Zeros,
            check => match check.into_frame() {
                Ok(h) => h,
                Err(kind) => break Stop::Damage(kind),
            },
        };
        let payload = &rest[FRAME_HEADER_LEN..h.frame_len()];
        if h.type_id == 0 {
            if payload == [format::KIND_BATCH_END] {
                // Closes a batch cut short by `truncate_back`.
                batch = None;
                pos += h.frame_len();
                continue;
            }
            if batch.is_some() {
                break Stop::Damage(CorruptionKind::IncompleteBatch);
            }
            if let Some(m) = format::decode_marker(payload) {
                let window_ok = m.window_len as usize == pos - marker_end
                    && format::crc(seed, &b[marker_end..pos]) == m.window_crc;
                if !window_ok {
                    break Stop::Damage(CorruptionKind::BadMarker);
                }
                pos += h.frame_len();
                marker_end = pos;
                continue;
            }
            if let Some(f) = format::decode_footer(payload) {
                let expected_last = first_index + positions.len() as u64 - 1;
                if f.footer_offset as usize != pos
                    || f.positions != positions
                    || f.last_index != expected_last
                {
                    break Stop::Damage(CorruptionKind::BadFooter);
                }
                footer = Some((f, h.crc));
                pos += h.frame_len();
                // Zeros may follow: preallocated space a crash kept from being trimmed.
                let rest = b.get(pos..zeros_from).unwrap_or_default();
                break if crate::windows::last_nonzero(rest).is_none() {
                    Stop::Footer
                } else {
                    Stop::Damage(CorruptionKind::BadFooter)
                };
            }
            break Stop::Damage(CorruptionKind::UnknownInternalFrame);
        }
        let expected = first_index + positions.len() as u64;
        if h.index != expected {
            break Stop::Damage(CorruptionKind::IndexOrder {
                expected,
                found: h.index,
            });
        }
        if h.flags & FLAG_BATCH_MORE == 0 {
            batch = None;
        } else if batch.is_none() {
            batch = Some((pos, positions.len()));
        }
        positions.push(u32::try_from(pos).unwrap_or(u32::MAX));
        pos += h.frame_len();
    };
    finish(
        b,
        Walked {
            pos,
            marker_end,
            batch,
            footer,
            stop,
            positions,
        },
        first_index,
        seed,
        zeros_from,
        closed_at,
    )
}

/// Where the frame walk of [`scan_from`] stopped, and what it saw.
struct Walked {
    pos: usize,
    marker_end: usize,
    /// A batch still open: its offset and the positions before it.
    batch: Option<(usize, usize)>,
    footer: Option<(format::Footer, u32)>,
    stop: Stop,
    positions: Vec<u32>,
}

/// The scan's result from where the walk stopped: a batch left open is dropped (unless a
/// `CUT` mark at `closed_at` finished it) and the window's CRC computed.
fn finish(
    b: &[u8],
    walked: Walked,
    first_index: u64,
    seed: u32,
    zeros_from: usize,
    closed_at: Option<u64>,
) -> Scan {
    let Walked {
        pos,
        marker_end,
        mut batch,
        footer,
        stop,
        mut positions,
    } = walked;
    let stop_offset = pos as u64;
    let last_scanned = (first_index + positions.len() as u64).checked_sub(1);
    let mut closed_by_cut = false;
    if batch.is_some() && closed_at.is_some() && last_scanned == closed_at {
        // What follows the kept entries (if anything) is the torn remainder of the cut.
        batch = None;
        closed_by_cut = true;
    }
    let (valid_end, stop) = match batch {
        Some((start, before)) => {
            positions.truncate(before);
            let stop = if matches!(stop, Stop::Damage(_)) {
                stop
            } else {
                Stop::Damage(CorruptionKind::IncompleteBatch)
            };
            (start, stop)
        }
        None => (pos, stop),
    };
    let stop_offset = if matches!(stop, Stop::Damage(CorruptionKind::IncompleteBatch)) {
        valid_end as u64
    } else {
        stop_offset
    };
    let nonzero_after =
        crate::windows::last_nonzero(b.get(valid_end..zeros_from).unwrap_or_default()).is_some();
    Scan {
        positions,
        valid_end: valid_end as u64,
        stop,
        stop_offset,
        marker_end: marker_end as u64,
        window_crc: format::crc(seed, b.get(marker_end..valid_end).unwrap_or_default()),
        footer,
        nonzero_after,
        closed_by_cut,
    }
}

#[expect(clippy::cast_possible_truncation, reason = "9 fits in a u32")]
const MARKER_LEN_U32: u32 = MARKER_PAYLOAD_LEN as u32;

/// Whether a sync marker whose frame and window both verify starts anywhere after `from`.
///
/// Such a marker means the bytes before it were synced before it was written: damage at
/// `from` is then damage to acknowledged data, not a torn tail.
pub(crate) fn valid_marker_after(b: &[u8], from: u64, seed: u32) -> bool {
    let start = usize::try_from(from)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let Some(last) = b.len().checked_sub(MARKER_FRAME_LEN) else {
        return false;
    };
    (start..=last).any(|p| {
        // Cheap filter before the CRC: length 9, type 0, kind "marker".
        le_u32(b, p + 4) == Some(MARKER_LEN_U32)
            && b.get(p + 8) == Some(&0)
            && b.get(p + FRAME_HEADER_LEN) == Some(&format::KIND_SYNC_MARKER)
            && matches!(
                format::check_frame(&b[p..], seed, MARKER_LEN_U32),
                FrameCheck::Valid(_)
            )
            && format::decode_marker(&b[p + FRAME_HEADER_LEN..p + MARKER_FRAME_LEN]).is_some_and(
                |m| {
                    p.checked_sub(m.window_len as usize)
                        .filter(|&s| s >= HEADER_LEN)
                        .is_some_and(|s| format::crc(seed, &b[s..p]) == m.window_crc)
                },
            )
    })
}

/// Every frame with a valid CRC and a growing index, skipping damage: for salvage. Returns
/// their positions, the last index among them (`first_index - 1` when none), where the
/// frames end, and the footer's offset when the segment ends with one.
pub(crate) fn salvage(b: &[u8], first_index: u64, seed: u32, max_entry_size: u32) -> Salvaged {
    let mut out = Salvaged {
        end: HEADER_LEN as u64,
        ..Salvaged::default()
    };
    let mut pos = HEADER_LEN;
    let mut next = first_index;
    while pos < b.len() {
        match format::check_frame(&b[pos..], seed, max_entry_size) {
            FrameCheck::Valid(h) if h.type_id != 0 && h.index >= next => {
                out.positions.push(u32::try_from(pos).unwrap_or(u32::MAX));
                out.indexes.push(h.index);
                next = h.index + 1;
                pos += h.frame_len();
                out.end = pos as u64;
                // Entries after a footer: it was not the segment's end.
                out.footer_at = None;
            }
            FrameCheck::Valid(h) if h.type_id == 0 => {
                let payload = &b[pos + FRAME_HEADER_LEN..pos + h.frame_len()];
                match format::decode_footer(payload) {
                    // A footer that says where it is: the segment was sealed there.
                    Some(f) if f.footer_offset as usize == pos => {
                        out.footer_at = Some(pos as u64);
                        out.end = pos as u64;
                    }
                    _ => out.end = (pos + h.frame_len()) as u64,
                }
                pos += h.frame_len();
            }
            _ => pos += 1,
        }
    }
    out.last = next.wrapping_sub(1);
    out
}

/// What salvage found in a damaged segment: frames that verify, with gaps between them.
#[derive(Debug, Default)]
pub(crate) struct Salvaged {
    pub positions: Vec<u32>,
    /// The index of the entry at each position (increasing, not dense).
    pub indexes: Vec<u64>,
    pub last: u64,
    /// Where the last frame that verifies ends (the footer excluded).
    pub end: u64,
    /// The offset of the footer the segment ends with, if it was sealed.
    pub footer_at: Option<u64>,
}
