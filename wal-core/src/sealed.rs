//! The hook on sealed segments: a program told when a segment is complete can ship or
//! archive it (it never changes again, until retention or truncation removes it).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A segment just sealed: its file is complete and durable, and never changes again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedSegment {
    /// The segment file.
    pub path: PathBuf,
    /// The index of its first entry.
    pub first_index: u64,
    /// The index of its last entry (`first_index - 1` when it holds none).
    pub last_index: u64,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// The function [`Options::on_sealed`](crate::Options::on_sealed) sets.
#[derive(Clone)]
pub struct SealedHook(pub(crate) Arc<dyn Fn(&SealedSegment) + Send + Sync>);

impl fmt::Debug for SealedHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedHook(..)")
    }
}
