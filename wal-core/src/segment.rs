//! One segment file: its name, its creation, and what readers and the writer share of it.
//! Scanning its frames is in `scan`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::error::{CorruptionKind, Error, Result};
use crate::format::{self, FRAME_HEADER_LEN, FrameCheck, SegmentHeader};
use crate::io::{self, File, FileSystem};

mod check;
mod open_files;
mod read_ahead;
mod scan;

pub use check::EntryHeader;
pub(crate) use check::check;
pub(crate) use open_files::OpenFiles;
pub(crate) use scan::{Salvaged, salvage, scan, scan_from, valid_marker_after};

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

/// The two bits a CLOCK cache keeps on a segment.
#[derive(Debug, Default)]
pub(crate) struct ClockFlags {
    /// Set on every use, cleared by the sweep.
    pub used: AtomicBool,
    /// Whether the cache counts the segment (changed under the cache's lock only).
    pub tracked: AtomicBool,
}

/// A segment as readers and the writer share it.
///
/// Sealed segments found at open are known by their header and footer summary: their file
/// is opened and their entry positions read (and the footer's CRC checked) on first use.
/// Their files are closed again beyond the bound of [`OpenFiles`]; the tail's file is
/// pinned open until the writer seals it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    pub header: SegmentHeader,
    files: Arc<OpenFiles>,
    /// The open file, if any: pinned (the tail's), or counted by `files` when
    /// `file_flags.tracked`.
    file: RwLock<Option<Arc<dyn File>>>,
    /// The CLOCK bits of `files` for this segment's file.
    file_flags: ClockFlags,
    /// The position cache's CLOCK bits for this segment.
    position_flags: ClockFlags,
    /// Bytes `[HEADER_LEN, end)` hold complete frames that readers may read.
    end: AtomicU64,
    /// Last entry index in `[HEADER_LEN, end)`; `first_index - 1` when there is none.
    last_index: AtomicU64,
    /// Offsets of the entries' frames; `None` until loaded from the footer at `footer_at`.
    positions: RwLock<Option<Arc<Vec<u32>>>>,
    /// Where the footer starts (0: no footer, the positions cannot be reloaded).
    footer_at: AtomicU64,
    /// Set when truncation removed the segment from the log.
    removed: AtomicBool,
    /// The index at each position, for a salvaged segment whose indexes have gaps (its
    /// positions are then not one per index).
    sparse: Option<Vec<u64>>,
}

impl Segment {
    /// A segment whose positions are known (the tail, or one scanned in full).
    #[expect(clippy::too_many_arguments, reason = "a constructor of a plain record")]
    pub(crate) fn loaded(
        files: Arc<OpenFiles>,
        path: PathBuf,
        file: Option<Arc<dyn File>>,
        header: SegmentHeader,
        end: u64,
        last: u64,
        positions: Vec<u32>,
        footer_at: Option<u64>,
    ) -> Self {
        let seg = Self::sealed(files, path, header, end, last, footer_at);
        // Pinned: not counted against the bound until `unpin`.
        *seg.file.write().unwrap_or_else(PoisonError::into_inner) = file;
        *seg.positions
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(positions));
        seg
    }

    /// A sealed segment known by its footer at `footer_at`, positions loaded on demand.
    pub(crate) fn sealed(
        files: Arc<OpenFiles>,
        path: PathBuf,
        header: SegmentHeader,
        end: u64,
        last_index: u64,
        footer_at: Option<u64>,
    ) -> Self {
        Self {
            path,
            header,
            files,
            file: RwLock::new(None),
            file_flags: ClockFlags::default(),
            position_flags: ClockFlags::default(),
            end: AtomicU64::new(end),
            last_index: AtomicU64::new(last_index),
            positions: RwLock::new(None),
            footer_at: AtomicU64::new(footer_at.unwrap_or(0)),
            removed: AtomicBool::new(false),
            sparse: None,
        }
    }

    /// A salvaged segment: `indexes[k]` is the index of the entry at `positions[k]`.
    pub(crate) fn with_indexes(mut self, indexes: Vec<u64>) -> Self {
        self.sparse = Some(indexes);
        self
    }

    /// Entries the segment holds from `from` on (gaps of a salvaged one not counted).
    pub(crate) fn entries_from(&self, from: u64) -> u64 {
        match &self.sparse {
            Some(indexes) => (indexes.len() - indexes.partition_point(|&i| i < from)) as u64,
            None => self
                .last_index()
                .wrapping_add(1)
                .saturating_sub(self.first_index().max(from)),
        }
    }

    pub(crate) fn first_index(&self) -> u64 {
        self.header.first_index
    }

    #[inline]
    pub(crate) fn end(&self) -> u64 {
        self.end.load(Ordering::Acquire)
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.last_index.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// The open file, opening it for reading when it is not open (and closing the least
    /// recently used file beyond the bound). The handle returned stays usable after the
    /// bound closes the segment's own.
    pub(crate) fn file(self: &Arc<Self>) -> Result<Arc<dyn File>> {
        if let Some(f) = self
            .file
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            self.file_flags.used.store(true, Ordering::Relaxed);
            return Ok(Arc::clone(f));
        }
        self.files.open(self)
    }

    /// Makes `file` the segment's handle unless it has one; returns the handle it has.
    fn install(&self, file: Arc<dyn File>) -> Arc<dyn File> {
        let mut slot = self.file.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slot.get_or_insert(file))
    }

    /// Drops the segment's handle (readers holding a clone keep theirs).
    fn close_file(&self) {
        *self.file.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The writer sealed the segment: its file now counts against the bound on open files.
    pub(crate) fn unpin(self: &Arc<Self>) {
        self.files.unpin(self);
    }

    /// The position cache's bits for this segment.
    pub(crate) fn position_flags(&self) -> &ClockFlags {
        &self.position_flags
    }

    /// Whether the segment holds an open file (pinned or counted).
    #[cfg(test)]
    pub(crate) fn has_open_file(&self) -> bool {
        self.file
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Records frames written up to `end`: the entries' offsets and the last index.
    pub(crate) fn publish(&self, end: u64, new_positions: &[u32], last_index: u64) {
        if !new_positions.is_empty() {
            let mut guard = self
                .positions
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let v = guard.get_or_insert_with(Default::default);
            Arc::make_mut(v).extend_from_slice(new_positions);
        }
        self.last_index.store(last_index, Ordering::Release);
        self.end.store(end, Ordering::Release);
    }

    /// The entries' offsets, read from the footer (and its CRC checked) on first use.
    pub(crate) fn positions(self: &Arc<Self>, seed: u32) -> Result<Arc<Vec<u32>>> {
        if let Some(p) = self
            .positions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Ok(Arc::clone(p));
        }
        let at = match self.footer_at.load(Ordering::Acquire) {
            0 => return Err(self.corrupt(0, CorruptionKind::MissingFooter)),
            at => at,
        };
        let file = self.file()?;
        let len = file.len().map_err(|e| Error::io("stat", &self.path, e))?;
        let n = usize::try_from(len.saturating_sub(at)).unwrap_or(usize::MAX);
        let bytes = io::read_range(&*file, at, n).map_err(|e| Error::io("read", &self.path, e))?;
        let footer = match format::check_frame(&bytes, seed, u32::try_from(n).unwrap_or(u32::MAX)) {
            // Zeros may follow a footer in a log opened without repair (Salvage).
            FrameCheck::Valid(h)
                if crate::windows::last_nonzero(bytes.get(h.frame_len()..).unwrap_or(&[1]))
                    .is_none() =>
            {
                format::decode_footer(&bytes[FRAME_HEADER_LEN..])
            }
            FrameCheck::Checksum { stored, computed } => {
                return Err(self.corrupt(at, CorruptionKind::Checksum { stored, computed }));
            }
            _ => None,
        };
        let footer = footer
            .filter(|f| {
                f.positions.len() as u64
                    == self
                        .last_index()
                        .wrapping_sub(self.first_index())
                        .wrapping_add(1)
            })
            .ok_or_else(|| self.corrupt(at, CorruptionKind::BadFooter))?;
        let positions = Arc::new(footer.positions);
        *self
            .positions
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&positions));
        Ok(positions)
    }

    /// Records the footer just written at `at`: the positions can be reloaded from it.
    pub(crate) fn set_footer_at(&self, at: u64) {
        self.footer_at.store(at, Ordering::Release);
    }

    /// Where the segment's footer starts, if it has one.
    pub(crate) fn footer_offset(&self) -> Option<u64> {
        let at = self.footer_at.load(Ordering::Acquire);
        (at != 0).then_some(at)
    }

    /// Whether the segment ends with a footer (sealed).
    pub(crate) fn is_sealed(&self) -> bool {
        self.footer_at.load(Ordering::Acquire) != 0
    }

    /// Whether the positions can be dropped and reloaded: the segment has a footer and is
    /// not salvaged.
    pub(crate) fn can_release_positions(&self) -> bool {
        self.footer_at.load(Ordering::Acquire) != 0 && self.sparse.is_none()
    }

    /// Bytes of positions held in memory (0 when not loaded).
    pub(crate) fn positions_bytes(&self) -> u64 {
        self.positions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, |p| 4 * p.len() as u64)
    }

    /// Drops the positions held in memory, if they can be reloaded from a footer; returns
    /// whether it did. Readers holding them keep their copy.
    pub(crate) fn release_positions(&self) -> bool {
        if !self.can_release_positions() {
            return false;
        }
        *self
            .positions
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        true
    }

    /// Where entry `index`'s frame starts, if the segment holds it.
    pub(crate) fn position_of(self: &Arc<Self>, index: u64, seed: u32) -> Result<Option<u64>> {
        if index < self.first_index() || index > self.last_index() {
            return Ok(None);
        }
        let slot = match &self.sparse {
            Some(indexes) => match indexes.binary_search(&index) {
                Ok(slot) => slot,
                Err(_) => return Ok(None),
            },
            None => usize::try_from(index - self.first_index()).unwrap_or(usize::MAX),
        };
        Ok(self.positions(seed)?.get(slot).map(|&p| u64::from(p)))
    }

    /// Forgets everything from byte `end` on: the entries after `last_index` were cut.
    pub(crate) fn truncate_to(
        self: &Arc<Self>,
        end: u64,
        last_index: u64,
        seed: u32,
    ) -> Result<()> {
        let positions = self.positions(seed)?;
        // The footer (if any) is cut with the entries: the positions stay in memory now.
        self.footer_at.store(0, Ordering::Release);
        let keep = usize::try_from(
            last_index
                .wrapping_add(1)
                .saturating_sub(self.first_index()),
        )
        .unwrap_or(usize::MAX);
        let kept = Arc::new(positions.get(..keep).unwrap_or(&positions).to_vec());
        *self
            .positions
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(kept);
        self.last_index.store(last_index, Ordering::Release);
        self.end.store(end, Ordering::Release);
        Ok(())
    }

    pub(crate) fn corrupt(&self, offset: u64, kind: CorruptionKind) -> Error {
        Error::Corruption {
            segment: self.path.clone(),
            offset,
            kind,
        }
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
    let file = io::create_durably(fs, dir, &name, &header.encode(), preallocate)?;
    Ok((dir.join(name), file))
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
    /// The entries end in a batch that a `CUT` mark finished (no batch-end frame yet).
    pub closed_by_cut: bool,
}

impl Scan {
    pub(crate) fn entries(&self) -> u64 {
        self.positions.len() as u64
    }
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
