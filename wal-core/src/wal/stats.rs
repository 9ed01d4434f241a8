//! [`Wal::stats`]: what the log did since it was opened.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Inner, Wal};

/// The log's own counters (the file system's syncs are counted in `io::observed`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) appends: AtomicU64,
    pub(crate) written_bytes: AtomicU64,
    pub(crate) rotations: AtomicU64,
    pub(crate) truncations: AtomicU64,
}

/// A snapshot of what a log did since it was opened, from [`Wal::stats`]. Counters only
/// grow; each is read on its own, so two read at the same moment by a busy log may be a
/// few operations apart.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Entries appended since open.
    pub appends: u64,
    /// Bytes of entry frames (payloads with their frame headers) written to segment files
    /// since open.
    pub written_bytes: u64,
    /// fdatasyncs that succeeded since open (of segments, marks and state records,
    /// recovery's included).
    pub fsyncs: u64,
    /// Directory syncs that succeeded since open.
    pub dir_syncs: u64,
    /// `appends / fsyncs` (0 before the first fsync): how many appends each fsync served.
    pub appends_per_fsync: f64,
    /// How long the latest fdatasyncs took (up to the last 1,024).
    pub fsync_latency: Latency,
    /// Segments sealed since open.
    pub rotations: u64,
    /// `truncate_front`, `truncate_back` and `restart_at` calls that removed or cut entries.
    pub truncations: u64,
    /// Live followers ([`Wal::follow`]).
    pub followers: usize,
    /// Segment files in the log.
    pub segments: usize,
    /// [`Wal::first_index`].
    pub first_index: u64,
    /// [`Wal::last_index`].
    pub last_index: u64,
    /// [`Wal::durable_index`].
    pub durable_index: u64,
    /// What recovery did at open, in brief (the whole report: [`Wal::recovery_report`]).
    pub recovery: RecoverySummary,
}

/// Percentiles of the latest fdatasync latencies (`Duration::ZERO` each, with no sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Latency {
    /// How many latencies the percentiles were taken over (at most 1,024: the latest).
    pub samples: usize,
    /// The median.
    pub p50: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest.
    pub max: Duration,
}

/// What recovery did at open, in brief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RecoverySummary {
    /// Segment files read.
    pub segments_scanned: usize,
    /// Entries in the log after recovery.
    pub entries: u64,
    /// Places where bytes were cut.
    pub cuts: usize,
    /// Bytes cut in all.
    pub cut_bytes: u64,
    /// Whether the log was found as a clean close leaves it.
    pub clean: bool,
}

impl Latency {
    fn of(sorted: &[Duration]) -> Self {
        let at = |p: usize| {
            sorted
                .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Self {
            samples: sorted.len(),
            p50: at(50),
            p90: at(90),
            p99: at(99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }
}

impl Wal {
    /// A snapshot of the log's counters (see [`Stats`]). Takes no lock the writer holds
    /// while it syncs; costs a sort of at most 1,024 latencies.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

impl Inner {
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let appends = c.appends.load(Ordering::Relaxed);
        let fsyncs = self.syncs.syncs.load(Ordering::Relaxed);
        let report = &self.report;
        #[expect(clippy::cast_precision_loss, reason = "a ratio")]
        let appends_per_fsync = if fsyncs == 0 {
            0.0
        } else {
            appends as f64 / fsyncs as f64
        };
        Stats {
            appends,
            written_bytes: c.written_bytes.load(Ordering::Relaxed),
            fsyncs,
            dir_syncs: self.syncs.dir_syncs.load(Ordering::Relaxed),
            appends_per_fsync,
            fsync_latency: Latency::of(&self.syncs.sorted_latencies()),
            rotations: c.rotations.load(Ordering::Relaxed),
            truncations: c.truncations.load(Ordering::Relaxed),
            followers: self.followers.load(Ordering::Relaxed),
            segments: self.segments().len(),
            first_index: self.cuts.first_index(),
            last_index: self.assigned.load(Ordering::Acquire),
            durable_index: self.durable.load(Ordering::Acquire),
            recovery: RecoverySummary {
                segments_scanned: report.segments_scanned,
                entries: report.entries,
                cuts: report.cuts.len(),
                cut_bytes: report.cuts.iter().map(|c| c.bytes).sum(),
                clean: report.is_clean(),
            },
        }
    }

    /// Counts `entries` appended.
    pub(crate) fn count_appends(&self, entries: u64) {
        self.counters.appends.fetch_add(entries, Ordering::Relaxed);
        self.syncs.meters.appended(entries);
    }

    /// Counts `bytes` written to segment files.
    pub(crate) fn count_written(&self, bytes: u64) {
        self.counters
            .written_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        self.syncs.meters.written(bytes);
    }

    /// Counts a sealed segment.
    pub(crate) fn count_rotation(&self) {
        self.counters.rotations.fetch_add(1, Ordering::Relaxed);
        self.syncs.meters.rotated();
    }

    /// Counts a truncation that removed or cut entries.
    pub(crate) fn count_truncation(&self) {
        self.counters.truncations.fetch_add(1, Ordering::Relaxed);
        self.syncs.meters.truncated();
    }
}
