//! What a log is made of, for people and tools inspecting it: its identity and segments.

use std::path::PathBuf;

use super::Wal;

/// One segment file of a log, from [`Wal::segments`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// The segment's file.
    pub path: PathBuf,
    /// Its sequence number (1 for the log's first segment, one more for each next).
    pub seq: u64,
    /// The index of its first entry (its file name).
    pub first_index: u64,
    /// The index of its last entry (`first_index - 1` when it holds none).
    pub last_index: u64,
    /// Bytes of its file that hold the header and complete frames (the footer excluded,
    /// and preallocated space).
    pub bytes: u64,
    /// Whether it is sealed (ends with a footer): it takes no more entries.
    pub sealed: bool,
}

impl Wal {
    /// The log's identity: a random number given when the log was created, written in every
    /// segment header, so that a segment of another log is never taken for one of its own.
    #[must_use]
    pub fn log_id(&self) -> u64 {
        self.inner.log_id
    }

    /// The log's segment files, oldest first, as the log knows them now.
    #[must_use]
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.inner
            .segments()
            .iter()
            .map(|s| SegmentInfo {
                path: s.path.clone(),
                seq: s.header.seq,
                first_index: s.first_index(),
                last_index: s.last_index(),
                bytes: s.end(),
                sealed: s.is_sealed(),
            })
            .collect()
    }
}
