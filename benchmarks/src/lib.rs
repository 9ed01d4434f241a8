//! The same workloads, run on `wal-core` and on other Rust write-ahead logs.
//!
//! Every library is wrapped in a [`Subject`]: four operations with one meaning each, written
//! the way that library's documentation says to use it. The `compare` binary runs one
//! (subject, workload) pair per process and prints the medians as a markdown table.
#![forbid(unsafe_code)]

pub mod args;
pub mod payload;
pub mod subjects;
pub mod workload;

use std::path::Path;

/// Every error a subject can return: the peers have error types of their own.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// A subject's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Whether a library's "durable" call reaches the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// Its durable mode fsyncs (or fdatasyncs) the data it acknowledges.
    Yes,
    /// Nothing it offers ever syncs the data to the disk: a power loss can lose anything.
    Never,
}

/// One library under test, used the way its documentation says.
pub trait Subject: Sync {
    /// The name in the table.
    fn name(&self) -> &'static str;
    /// Whether its durable mode syncs data.
    fn fsync(&self) -> Fsync;
    /// What its fastest and its durable modes are, in one line each, for the table's notes.
    fn modes(&self) -> (&'static str, &'static str);
    /// Fastest mode: `n` appends of `payloads(i)`, one call each, then one sync. Returns what a
    /// user would keep to find the last entry again (an index, an offset, a position).
    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String>;
    /// Durable mode: `threads` threads each append `per_thread` entries, every append durable
    /// before it returns.
    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()>;
    /// Reopen the log and read every entry with its checksum verified. Returns what was read.
    fn replay(&self, dir: &Path) -> Result<Tally>;
    /// Reopen the log and read the entry that `locator` (from [`Subject::bulk`]) points at.
    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>>;
}

/// Runs `f(thread)` on `threads` scoped threads, returning the first error.
/// What a replay read: entries, payload bytes, and whether each payload carried the stamp
/// of its position ([`payload::number`] equal to the count of entries before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Entries read.
    pub entries: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// Whether every payload's stamp was its position.
    pub in_order: bool,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            entries: 0,
            bytes: 0,
            in_order: true,
        }
    }
}

impl Tally {
    /// Counts one payload read, checking its stamp.
    pub fn add(&mut self, payload: &[u8]) {
        self.in_order &= payload::number(payload) == Some(self.entries);
        self.entries += 1;
        self.bytes += payload.len() as u64;
    }
}

pub fn on_threads<F>(threads: usize, f: F) -> Result<()>
where
    F: Fn(usize) -> Result<()> + Sync,
{
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || f(t))).collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| Error::from("a writer thread panicked"))?
        })
    })
}
