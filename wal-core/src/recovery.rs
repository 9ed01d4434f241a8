//! Recovery at open, in four steps: read what is on disk ([`read`]), decide by the
//! sync-marker rule and the recovery mode ([`plan`], which touches nothing), carry the plan
//! out ([`repair`], the only step that writes), and build the segments the log continues
//! from ([`assemble`]).
//!
//! Nothing on disk is modified until every segment has been read and the outcome decided;
//! an I/O error while reading is returned as [`Error::Io`] and never taken for damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{CorruptionKind, Error, Result};
use crate::format::{FooterSummary, SegmentHeader};
use crate::segment::{OpenFiles, Scan, Segment};

mod assemble;
mod plan;
mod read;
mod repair;
mod report;

use crate::options::RecoveryMode;
pub use report::{Cut, RecoveryReport};

pub(crate) use repair::quarantined_segment;
use repair::repair;

/// The state the writer continues from in the tail segment (its positions are in the
/// segment).
#[derive(Debug)]
pub(crate) struct TailState {
    pub valid_end: u64,
    pub marker_end: u64,
    pub window_crc: u32,
    /// The tail ends with a footer: appends go to a new segment.
    pub sealed: Option<u32>,
    /// The tail's entries end in a batch that the `CUT` mark finished: it needs its
    /// batch-end frame before anything is appended.
    pub close_batch: bool,
}

/// The outcome of recovery.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub log_id: u64,
    pub segments: Vec<Arc<Segment>>,
    pub tail: Option<TailState>,
    pub report: RecoveryReport,
    /// The log's first index (from the low-water file, or the first segment).
    pub first_index: u64,
    /// Whether the low-water file exists.
    pub has_low_water: bool,
    /// Whether a `CUT` file exists: removed once the batch it finishes is closed.
    pub has_cut_mark: bool,
}

/// A segment file as recovery read it.
enum Body {
    /// Read in full and scanned.
    /// `bytes` is the whole segment, except that in the default mode the prefix verified
    /// window by window (`crate::windows`) is left as zeros, never touched; it is empty for
    /// a segment that is neither the last nor damaged (nothing reads it after the scan).
    Scanned { bytes: Vec<u8>, scan: Scan },
    /// Sealed, known by its header and footer only.
    Sealed(FooterSummary),
}

struct Found {
    path: PathBuf,
    len: u64,
    header: SegmentHeader,
    body: Body,
}

impl Found {
    fn entries(&self) -> u64 {
        match &self.body {
            Body::Scanned { scan, .. } => scan.entries(),
            Body::Sealed(s) => u64::from(s.entries),
        }
    }

    fn last_index(&self) -> u64 {
        self.header
            .first_index
            .wrapping_add(self.entries())
            .wrapping_sub(1)
    }

    fn footer_crc(&self) -> Option<u32> {
        match &self.body {
            Body::Scanned { scan, .. } => scan.footer.as_ref().map(|(_, crc)| *crc),
            Body::Sealed(s) => Some(s.crc),
        }
    }
}

/// What the decision loop plans to do to disk.
#[derive(Default)]
struct Plan {
    cut: Option<(usize, Cut)>,
    /// Segments from this one on are removed (point in time).
    remove_from: Option<usize>,
    /// This many of the oldest segments lie wholly below the low-water mark.
    remove_below: usize,
    /// Segments above the high-water mark, newest first: left by a crash during removal.
    stale: Vec<PathBuf>,
    /// Quarantine files of segments removed below the first index (a crash came between
    /// the two removals).
    orphans: Vec<PathBuf>,
    /// Sealed segments followed by zeros (a crash kept their preallocated space from being
    /// trimmed), with where their footer ends.
    trim: Vec<(PathBuf, u64)>,
    /// Point in time accepted missing newest segments: the `HIGH_WATER` mark is lowered to
    /// this sequence number, so later opens accept the log too.
    record_high_water: Option<u64>,
    /// A segment restarts the log at this index past the `LOW_WATER` mark: the mark is
    /// raised to it before the segments below are removed.
    record_low_water: Option<u64>,
}
/// Recovers the log in `dir` according to `mode`; unless `writable`, in memory only (the
/// plan is not carried out on disk).
pub(crate) fn recover(
    files: &Arc<OpenFiles>,
    dir: &Path,
    mode: RecoveryMode,
    max_entry_size: u32,
    writable: bool,
) -> Result<Recovered> {
    let fs = files.fs();
    let mut disk = read::read(fs, dir, mode, max_entry_size)?;
    let mut report = RecoveryReport {
        segments_scanned: disk.segments_scanned,
        ..RecoveryReport::default()
    };
    let decision = plan::plan(&mut disk, dir, mode, max_entry_size, &mut report)?;
    if writable {
        repair(
            &**fs,
            dir,
            &disk.found,
            &decision.plan,
            disk.short_tail.take(),
            &disk.temps,
            &mut report,
        )?;
    } else if let Some((_, cut)) = &decision.plan.cut {
        // Read only: the cut is where this reader's log ends; reported, not made.
        report.cuts.push(cut.clone());
    }
    let (has_low_water, has_cut_mark) = (disk.low_water.is_some(), disk.cut_mark.is_some());
    let Some(log_id) = disk.log_id else {
        return Ok(Recovered {
            log_id: disk.low_water.map_or(0, |(id, _)| id),
            segments: Vec::new(),
            tail: None,
            report,
            first_index: 1,
            has_low_water,
            has_cut_mark,
        });
    };
    let first_index = decision.first_index;
    let (segments, tail) = assemble::assemble(files, disk.found, decision, writable)?;
    report.entries = segments.iter().map(|s| s.entries_from(first_index)).sum();
    Ok(Recovered {
        log_id,
        segments,
        tail,
        report,
        first_index,
        has_low_water,
        has_cut_mark,
    })
}

fn corrupt(path: &Path, offset: u64, kind: CorruptionKind) -> Error {
    Error::Corruption {
        segment: path.to_path_buf(),
        offset,
        kind,
    }
}
