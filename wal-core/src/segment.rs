//! One segment file: its name, its creation, and scanning its frames.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CorruptionKind, Error, Result};
use crate::format::{
    self, FLAG_BATCH_MORE, FRAME_HEADER_LEN, FrameCheck, HEADER_LEN, MARKER_FRAME_LEN,
    MARKER_PAYLOAD_LEN, SegmentHeader,
};
use crate::io::{self, File, FileSystem};
use crate::le::le_u32;

/// File-name suffix of segments.
const SUFFIX: &str = ".wal";
/// File-name suffix of a segment being created.
pub(crate) const TMP_SUFFIX: &str = ".wal.tmp";

/// The file name of the segment whose first index is `first_index`.
pub(crate) fn segment_name(first_index: u64) -> String {
    format!("{first_index:020}{SUFFIX}")
}

/// The first index encoded in a segment file name, or `None` if the name is not a segment's.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment as readers and the writer share it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    pub file: Arc<dyn File>,
    pub header: SegmentHeader,
    /// Bytes `[HEADER_LEN, end)` hold complete frames that readers may read.
    end: AtomicU64,
    /// Last entry index in `[HEADER_LEN, end)`; `first_index - 1` when there is none.
    last_index: AtomicU64,
}

impl Segment {
    pub(crate) fn new(
        path: PathBuf,
        file: Arc<dyn File>,
        header: SegmentHeader,
        end: u64,
        last_index: u64,
    ) -> Self {
        Self {
            path,
            file,
            header,
            end: AtomicU64::new(end),
            last_index: AtomicU64::new(last_index),
        }
    }

    pub(crate) fn first_index(&self) -> u64 {
        self.header.first_index
    }

    pub(crate) fn end(&self) -> u64 {
        self.end.load(Ordering::Acquire)
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.last_index.load(Ordering::Acquire)
    }

    /// Publishes frames written up to `end`, the last of them with index `last_index`.
    pub(crate) fn publish(&self, end: u64, last_index: u64) {
        self.last_index.store(last_index, Ordering::Release);
        self.end.store(end, Ordering::Release);
    }
}

/// Creates a segment durably: header under a temporary name, preallocate, sync, rename, sync
/// the directory. Returns the open file.
pub(crate) fn create(
    fs: &dyn FileSystem,
    dir: &Path,
    header: &SegmentHeader,
    preallocate: u64,
) -> Result<(PathBuf, Arc<dyn File>)> {
    let name = segment_name(header.first_index);
    let path = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    match fs.remove(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", &tmp, e)),
    }
    let file = fs
        .create_new(&tmp)
        .map_err(|e| Error::io("create", &tmp, e))?;
    io::write_all_at(&*file, &header.encode(), 0).map_err(|e| Error::io("write", &tmp, e))?;
    if preallocate > HEADER_LEN as u64 {
        file.allocate(preallocate)
            .map_err(|e| Error::io("allocate", &tmp, e))?;
    }
    file.sync_data().map_err(|e| Error::io("sync", &tmp, e))?;
    fs.rename(&tmp, &path)
        .map_err(|e| Error::io("rename", &tmp, e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io("sync directory", dir, e))?;
    Ok((path, file))
}

/// Why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the file.
    Eof,
    /// At zeros (all the way to the end of the file, or not: see `Scan::nonzero_after`).
    Zeros,
    /// After a valid footer.
    Footer,
    /// At damage.
    Damage(CorruptionKind),
}

/// What a scan of a segment's bytes found.
#[derive(Debug)]
pub(crate) struct Scan {
    /// Offsets of the entries' frames, in `[HEADER_LEN, valid_end)`.
    pub positions: Vec<u32>,
    /// End of the last frame kept; a torn tail is cut here.
    pub valid_end: u64,
    /// Where scanning stopped and why.
    pub stop: Stop,
    pub stop_offset: u64,
    /// End of the last sync marker whose frame and window verified (`HEADER_LEN` if none).
    pub marker_end: u64,
    /// Seeded CRC of `[marker_end, valid_end)`, to continue the window when appending.
    pub window_crc: u32,
    /// The footer, its stored CRC and offset, when the scan stopped at one.
    pub footer: Option<(format::Footer, u32)>,
    /// Whether a nonzero byte follows `valid_end`.
    pub nonzero_after: bool,
}

impl Scan {
    pub(crate) fn entries(&self) -> u64 {
        self.positions.len() as u64
    }
}

/// Scans the frames of a whole segment held in `b`, whose header says entries start at
/// `first_index`. Never panics and never allocates by a length read from `b`.
pub(crate) fn scan(b: &[u8], first_index: u64, seed: u32, max_payload: u32) -> Scan {
    let mut pos = HEADER_LEN;
    let mut positions = Vec::new();
    let mut marker_end = HEADER_LEN;
    let mut batch: Option<(usize, usize)> = None; // (offset, positions before it)
    let mut footer = None;
    let stop = loop {
        let rest = b.get(pos..).unwrap_or_default();
        let h = match format::check_frame(rest, seed, max_payload) {
            FrameCheck::Valid(h) => h,
            FrameCheck::End => {
                break if rest.is_empty() {
                    Stop::Eof
                } else {
                    Stop::Zeros
                };
            }
            FrameCheck::Truncated => break Stop::Damage(CorruptionKind::Truncated),
            FrameCheck::BadLength(l) => break Stop::Damage(CorruptionKind::BadLength(l)),
            FrameCheck::Checksum { stored, computed } => {
                break Stop::Damage(CorruptionKind::Checksum { stored, computed });
            }
            FrameCheck::ReservedFlags(f) => break Stop::Damage(CorruptionKind::ReservedFlags(f)),
        };
        let payload = &rest[FRAME_HEADER_LEN..h.frame_len()];
        if h.entry_type == 0 {
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
                break if pos == b.len() {
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
    let stop_offset = pos as u64;
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
    let nonzero_after = b
        .get(valid_end..)
        .unwrap_or_default()
        .iter()
        .any(|&x| x != 0);
    Scan {
        positions,
        valid_end: valid_end as u64,
        stop,
        stop_offset,
        marker_end: marker_end as u64,
        window_crc: format::crc(seed, b.get(marker_end..valid_end).unwrap_or_default()),
        footer,
        nonzero_after,
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
/// their positions and the last index among them (`first_index - 1` when none).
pub(crate) fn salvage(b: &[u8], first_index: u64, seed: u32, max_payload: u32) -> (Vec<u32>, u64) {
    let mut out = Vec::new();
    let mut pos = HEADER_LEN;
    let mut next = first_index;
    while pos < b.len() {
        match format::check_frame(&b[pos..], seed, max_payload) {
            FrameCheck::Valid(h) if h.entry_type != 0 && h.index >= next => {
                out.push(u32::try_from(pos).unwrap_or(u32::MAX));
                next = h.index + 1;
                pos += h.frame_len();
            }
            FrameCheck::Valid(h) if h.entry_type == 0 => pos += h.frame_len(),
            _ => pos += 1,
        }
    }
    (out, next.wrapping_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_ignored() {
        assert_eq!(segment_name(1), "00000000000000000001.wal");
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        for bad in [
            "1.wal",
            "00000000000000000001.wal.tmp",
            "0000000000000000000a.wal",
            "LOCK",
            "00000000000000000001.wal.cut-64",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }
}
