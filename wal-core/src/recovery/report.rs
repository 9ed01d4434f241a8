//! What a user learns of recovery: the report of what it found and did.

use std::path::PathBuf;

use crate::error::CorruptionKind;

/// What recovery found and did at open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segment files read.
    pub segments_scanned: usize,
    /// Entries in the log after recovery.
    pub entries: u64,
    /// Bytes cut from segments, with where and why.
    pub cuts: Vec<Cut>,
    /// Segment files removed (an empty tail left by a crash during creation; segments after
    /// the cut in point-in-time mode).
    pub removed_segments: Vec<PathBuf>,
    /// Files holding bytes that were cut, kept as evidence.
    pub quarantined: Vec<PathBuf>,
    /// Temporary files of an interrupted segment creation that were removed.
    pub removed_temp_files: Vec<PathBuf>,
    /// When the newest segments the `HIGH_WATER` mark recorded are missing (lost after they
    /// were written, not by a crash): the sequence number it recorded. Point in time and
    /// salvage accept the loss and report it here; the other modes refuse the open.
    /// `None` when nothing is missing.
    pub missing_newest_seq: Option<u64>,
}

impl RecoveryReport {
    /// Whether recovery found the log exactly as a clean shutdown leaves it.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.cuts.is_empty()
            && self.removed_segments.is_empty()
            && self.missing_newest_seq.is_none()
    }
}

/// Bytes cut (or, in salvage mode, skipped) from one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The segment file.
    pub segment: PathBuf,
    /// Offset of the first byte cut.
    pub offset: u64,
    /// Number of bytes cut.
    pub bytes: u64,
    /// What was found at the cut.
    pub reason: CorruptionKind,
}
