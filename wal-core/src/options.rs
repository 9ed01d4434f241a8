//! [`Options`] and [`SyncPolicy`]: how a log is opened and how durable an append is.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::{FRAME_HEADER_LEN, HEADER_LEN, MARKER_FRAME_LEN};
use crate::io::{FileSystem, RealFs};
use crate::sealed::{SealedHook, SealedSegment};

/// When appended entries are made durable (fdatasync).
///
/// Default: [`SyncPolicy::Always`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// `append` returns only after an fdatasync covering the entry has returned. Concurrent
    /// appenders share one fdatasync (group commit). An acknowledged entry survives power loss.
    #[default]
    Always,
    /// `append` returns at once; a sync runs when `max_bytes` have been appended since the
    /// last one (by the appender that crosses it) or when the oldest unsynced entry is
    /// `max_delay` old (by a background thread). Power loss may lose up to that much.
    Batch {
        /// Longest time an appended entry stays unsynced.
        max_delay: Duration,
        /// Most bytes appended between syncs.
        max_bytes: u64,
    },
    /// `append` returns at once; a background thread syncs every interval (and stops on
    /// close). Power loss may lose the entries of the last interval.
    Interval(Duration),
    /// The log never syncs by itself: the OS writes when it chooses. `sync()`,
    /// `wait_durable()` and `close()` sync. Power loss may lose any entry not covered by
    /// them; a process crash loses the entries still in the log's buffer (up to 1 MiB).
    Never,
}

/// How a log is opened.
///
/// Build it with [`Options::new`] (or `Default`) and the setters, or set the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Target size of a segment file in bytes; a segment is sealed and a new one started
    /// when the next entry would not fit (an entry larger than this gets a segment of its
    /// own). Default: 64 MiB. Range: 4 KiB to 4 GiB − 1.
    pub segment_size: u64,
    /// Most entries in one segment, if set. Default: `None`.
    pub max_segment_entries: Option<u64>,
    /// Largest payload accepted by `append`. On disk, a length above it is read only when
    /// its frame is intact (an entry written under a larger limit); otherwise it is damage,
    /// and never read past the segment's written end. Lowering it between runs changes
    /// nothing on disk. Default: 16 MiB. Must be below `segment_size` limits.
    pub max_entry_size: u32,
    /// When appends are synced. Default: [`SyncPolicy::Always`].
    pub sync: SyncPolicy,
    /// What recovery does with damage. Default: [`RecoveryMode::TolerateTornTail`].
    pub recovery: RecoveryMode,
    /// Retention: keep at most this many segments, deleting the oldest sealed ones (as
    /// `truncate_front` does) when a new segment starts. A failure to delete never fails
    /// the append that started the segment: it is logged (`tracing`, warn) and what was
    /// not deleted is deleted at the next open. Default: `None` (keep all).
    pub max_segments: Option<usize>,
    /// Retention: keep at most about this many bytes of segments, deleting the oldest
    /// sealed ones when a new segment starts (the segment being written always stays).
    /// Default: `None` (keep all).
    pub max_total_bytes: Option<u64>,
    /// Bytes of entry positions (4 per entry) of sealed segments kept in memory for random
    /// access; beyond it the least recently used segments' are released and reloaded from
    /// their footers on the next use. The segment being written, a segment recovered without
    /// a footer, and one salvaged keep theirs. Default: 16 MiB (4 M entries).
    pub max_cached_positions: u64,
    /// Most sealed segment files held open at once, shared by the writer and every reader:
    /// beyond it the least recently used are closed, and reopened on their next use. The
    /// segment being written stays open outside the bound, and an iterator keeps the file
    /// it is reading open until it moves on, so the log holds at most this many plus one
    /// for the tail, one per live iterator, and one for the directory lock. Default: 64.
    /// At least 1.
    ///
    /// A read from a segment whose file is closed pays an open and a close (about 3 µs on a
    /// small VM): reads spread evenly over many more segments than the bound are slower
    /// than with every file open (1.5x for random 4 KiB reads over 10,000 segments; a full
    /// scan of 64 KiB segments, 1.3x). Raise the bound for such workloads, within the
    /// process's descriptor limit.
    ///
    /// Running out of descriptors anyway (`EMFILE`, `ENFILE`) is an [`Error::Io`] whose
    /// message says so. A read that meets it fails alone. A write that meets it (a rotation
    /// creating the next segment, a directory sync) poisons the log like any failed write:
    /// the entries of that append already had indexes that later ones would follow, so
    /// going on would reorder them or acknowledge them late. Nothing acknowledged is lost;
    /// reopen the log once descriptors are free.
    pub max_open_files: usize,
    /// Write-behind: once this many bytes have been written to the tail segment since its
    /// last sync (or the last such start), a background thread of the log starts an
    /// fdatasync of it, so the disk writes while appends go on, and a seal, a sync or a
    /// close waits only for what came after. Under [`SyncPolicy::Always`] a sync follows
    /// every group commit, so it rarely applies.
    ///
    /// It changes nothing the sync policy promises: entries count as durable only after a
    /// sync the policy (or [`Wal::sync`](crate::Wal::sync), a seal, a close) makes. That sync
    /// first waits for a background one in flight, and fails if one failed, poisoning the
    /// log: a failed fdatasync may have dropped the data it was writing, and the kernel
    /// reports that once, so the writer's own sync could otherwise succeed without it.
    /// `None` turns it off (no thread, no extra fdatasync); tests that count or crash at the
    /// operations of a simulated file system may want that, since the background syncs
    /// are operations too, made on another thread. Default: `Some(8 MiB)`.
    pub write_behind: Option<u64>,
    /// Whether new segment files are preallocated to `segment_size`, so appends do not
    /// change the file's size and fdatasync need not write metadata. Default: `true`.
    pub preallocate: bool,
    /// Whether `open` creates the directory when it is missing. Default: `true`.
    pub create_if_missing: bool,
    /// How payloads are compressed: each entry's payload of at least
    /// [`Options::compress_above`] bytes is stored compressed when that makes it smaller,
    /// the codec recorded in its frame, so a log mixes compressed and plain entries and any
    /// reader with the codec's feature reads both. Batches compress entry by entry; the type
    /// id stays uncompressed. Default: `None`.
    pub compression: Option<crate::Compression>,
    /// Payloads shorter than this are never compressed. Default: 512 bytes.
    pub compress_above: usize,
    /// An fdatasync that takes at least this long is logged (`tracing`, warn, with the
    /// file and the time it took). Default: 1 second.
    pub slow_fsync: std::time::Duration,
    /// Called each time the writer seals a segment (see [`Options::on_sealed`]). Default:
    /// `None`.
    pub on_sealed: Option<SealedHook>,
    /// The file system the log uses. Default: [`RealFs`].
    pub fs: Arc<dyn FileSystem>,
    /// Identity given to a new log instead of a random one (tests only).
    pub(crate) new_log_id: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            segment_size: 64 << 20,
            max_segment_entries: None,
            max_entry_size: 16 << 20,
            sync: SyncPolicy::Always,
            recovery: RecoveryMode::TolerateTornTail,
            max_segments: None,
            max_total_bytes: None,
            max_cached_positions: 16 << 20,
            max_open_files: 64,
            write_behind: Some(8 << 20),
            preallocate: true,
            create_if_missing: true,
            compression: None,
            compress_above: 512,
            slow_fsync: std::time::Duration::from_secs(1),
            on_sealed: None,
            fs: Arc::new(RealFs),
            new_log_id: None,
        }
    }
}

impl Options {
    /// The defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`Options::segment_size`].
    #[must_use]
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// Sets [`Options::max_segment_entries`].
    #[must_use]
    pub fn max_segment_entries(mut self, entries: Option<u64>) -> Self {
        self.max_segment_entries = entries;
        self
    }

    /// Sets [`Options::max_entry_size`].
    #[must_use]
    pub fn max_entry_size(mut self, bytes: u32) -> Self {
        self.max_entry_size = bytes;
        self
    }

    /// Sets [`Options::sync`].
    #[must_use]
    pub fn sync(mut self, policy: SyncPolicy) -> Self {
        self.sync = policy;
        self
    }

    /// Sets [`Options::recovery`].
    #[must_use]
    pub fn recovery(mut self, mode: RecoveryMode) -> Self {
        self.recovery = mode;
        self
    }

    /// Sets [`Options::max_segments`].
    #[must_use]
    pub fn max_segments(mut self, segments: Option<usize>) -> Self {
        self.max_segments = segments;
        self
    }

    /// Sets [`Options::max_cached_positions`].
    #[must_use]
    pub fn max_cached_positions(mut self, bytes: u64) -> Self {
        self.max_cached_positions = bytes;
        self
    }

    /// Sets [`Options::compression`] (and leaves [`Options::compress_above`] as it is).
    /// Checked at open: a codec whose feature is off is [`Error::InvalidOptions`].
    #[must_use]
    pub fn compression(mut self, codec: Option<crate::Compression>) -> Self {
        self.compression = codec;
        self
    }

    /// Sets [`Options::compress_above`].
    #[must_use]
    pub fn compress_above(mut self, bytes: usize) -> Self {
        self.compress_above = bytes;
        self
    }

    /// Sets [`Options::slow_fsync`].
    #[must_use]
    pub fn slow_fsync(mut self, threshold: std::time::Duration) -> Self {
        self.slow_fsync = threshold;
        self
    }

    /// Sets [`Options::write_behind`].
    #[must_use]
    pub fn write_behind(mut self, bytes: Option<u64>) -> Self {
        self.write_behind = bytes;
        self
    }

    /// Sets [`Options::max_open_files`].
    #[must_use]
    pub fn max_open_files(mut self, files: usize) -> Self {
        self.max_open_files = files;
        self
    }

    /// Sets [`Options::max_total_bytes`].
    #[must_use]
    pub fn max_total_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_total_bytes = bytes;
        self
    }

    /// Sets [`Options::preallocate`].
    #[must_use]
    pub fn preallocate(mut self, on: bool) -> Self {
        self.preallocate = on;
        self
    }

    /// Sets [`Options::create_if_missing`].
    #[must_use]
    pub fn create_if_missing(mut self, on: bool) -> Self {
        self.create_if_missing = on;
        self
    }

    /// Calls `hook` each time the writer seals a segment, with its path and index range,
    /// once the file is complete and durable (before retention may remove it), so that it
    /// can be shipped or archived. It runs on the appending thread while the writer holds
    /// its lock: keep it short (hand the segment to another thread) and do not call the log
    /// from it.
    #[must_use]
    pub fn on_sealed(mut self, hook: impl Fn(&SealedSegment) + Send + Sync + 'static) -> Self {
        self.on_sealed = Some(SealedHook(Arc::new(hook)));
        self
    }

    /// Sets [`Options::fs`].
    #[must_use]
    pub fn file_system(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = fs;
        self
    }

    /// Gives a newly created log the identity `id` instead of a random one, so that its bytes
    /// are reproducible (golden files). Only with the `testing` feature.
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn fixed_log_id(mut self, id: u64) -> Self {
        self.new_log_id = Some(id);
        self
    }

    /// Checks the options are in range.
    pub(crate) fn validate(&self) -> Result<()> {
        const MAX_SEGMENT: u64 = u32::MAX as u64;
        if !(4096..=MAX_SEGMENT).contains(&self.segment_size) {
            return Err(Error::InvalidOptions(format!(
                "segment_size {} is not in 4096..=4294967295",
                self.segment_size
            )));
        }
        // A segment holding one maximal entry plus its footer and marker must stay addressable by u32.
        let room = MAX_SEGMENT - (HEADER_LEN + 2 * FRAME_HEADER_LEN + MARKER_FRAME_LEN + 64) as u64;
        if u64::from(self.max_entry_size) > room / 2 {
            return Err(Error::InvalidOptions(format!(
                "max_entry_size {} is above {}",
                self.max_entry_size,
                room / 2
            )));
        }
        if self.max_segments == Some(0) {
            return Err(Error::InvalidOptions(
                "max_segments must be at least 1".into(),
            ));
        }
        if let Some(c) = self.compression.filter(|c| !c.is_available()) {
            return Err(Error::InvalidOptions(format!(
                "compression {} needs wal-core's `{}` feature",
                c.name(),
                c.name()
            )));
        }
        if self.max_open_files == 0 {
            return Err(Error::InvalidOptions(
                "max_open_files must be at least 1".into(),
            ));
        }
        if self.write_behind == Some(0) {
            return Err(Error::InvalidOptions(
                "write_behind must be at least 1 byte (or None to turn it off)".into(),
            ));
        }
        if self.max_segment_entries == Some(0) {
            return Err(Error::InvalidOptions(
                "max_segment_entries must be at least 1".into(),
            ));
        }
        match self.sync {
            SyncPolicy::Interval(d) | SyncPolicy::Batch { max_delay: d, .. } if d.is_zero() => Err(
                Error::InvalidOptions("a sync interval or delay must be above zero".into()),
            ),
            _ => Ok(()),
        }
    }
}

/// What recovery does with damage it finds at open.
///
/// Default: [`RecoveryMode::TolerateTornTail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// Damage after the last valid sync marker of the last segment is a torn tail (never
    /// acknowledged): it is cut, kept in a quarantine file and reported. Any other damage is
    /// an [`Error::Corruption`](crate::Error::Corruption) naming the file and offset.
    #[default]
    TolerateTornTail,
    /// Any damage, a torn tail included, refuses the open (`RocksDB`'s absolute consistency).
    Strict,
    /// The log is cut before the first damage wherever it is, later segments are removed,
    /// and the cut is reported: the result is a consistent prefix, possibly without
    /// acknowledged entries.
    PointInTime,
    /// Read-only: every frame that verifies is readable, damage is skipped and reported,
    /// nothing is written. Appends return [`Error::ReadOnly`](crate::Error::ReadOnly). Indexes may have gaps.
    Salvage,
}
