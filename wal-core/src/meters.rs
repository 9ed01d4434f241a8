//! What a log publishes through the `metrics` facade (feature `metrics`): the counters of
//! [`Wal::stats`](crate::Wal::stats), labelled with the log's directory (`dir`). The library
//! installs no recorder: without one, or without the feature, every call here does nothing.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `wal_appends_total` | counter | entries appended |
//! | `wal_written_bytes_total` | counter | bytes of frames written to segment files |
//! | `wal_fsyncs_total` | counter | fdatasyncs that succeeded |
//! | `wal_fsync_seconds` | histogram | how long each fdatasync took |
//! | `wal_rotations_total` | counter | segments sealed |
//! | `wal_truncations_total` | counter | `truncate_front`, `truncate_back` and `restart_at` calls that removed or cut something |
//! | `wal_followers` | gauge | live followers |
//! | `wal_durable_index` | gauge | the durable index |

use std::path::Path;
use std::time::Duration;

/// The log's handles into the `metrics` facade.
#[cfg(feature = "metrics")]
#[derive(Debug)]
pub(crate) struct Meters {
    appends: metrics::Counter,
    written_bytes: metrics::Counter,
    fsyncs: metrics::Counter,
    fsync_seconds: metrics::Histogram,
    rotations: metrics::Counter,
    truncations: metrics::Counter,
    followers: metrics::Gauge,
    durable_index: metrics::Gauge,
}

#[cfg(feature = "metrics")]
impl Meters {
    /// Registers the log's metrics with the recorder installed now, labelled with `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        let dir = dir.display().to_string();
        Self {
            appends: metrics::counter!("wal_appends_total", "dir" => dir.clone()),
            written_bytes: metrics::counter!("wal_written_bytes_total", "dir" => dir.clone()),
            fsyncs: metrics::counter!("wal_fsyncs_total", "dir" => dir.clone()),
            fsync_seconds: metrics::histogram!("wal_fsync_seconds", "dir" => dir.clone()),
            rotations: metrics::counter!("wal_rotations_total", "dir" => dir.clone()),
            truncations: metrics::counter!("wal_truncations_total", "dir" => dir.clone()),
            followers: metrics::gauge!("wal_followers", "dir" => dir.clone()),
            durable_index: metrics::gauge!("wal_durable_index", "dir" => dir),
        }
    }

    pub(crate) fn appended(&self, entries: u64) {
        self.appends.increment(entries);
    }

    pub(crate) fn written(&self, bytes: u64) {
        self.written_bytes.increment(bytes);
    }

    pub(crate) fn fsync(&self, took: Duration) {
        self.fsyncs.increment(1);
        self.fsync_seconds.record(took.as_secs_f64());
    }

    pub(crate) fn rotated(&self) {
        self.rotations.increment(1);
    }

    pub(crate) fn truncated(&self) {
        self.truncations.increment(1);
    }

    #[expect(clippy::cast_precision_loss, reason = "a gauge is an f64")]
    pub(crate) fn set_followers(&self, n: usize) {
        self.followers.set(n as f64);
    }

    #[expect(clippy::cast_precision_loss, reason = "a gauge is an f64")]
    pub(crate) fn set_durable(&self, index: u64) {
        self.durable_index.set(index as f64);
    }
}

/// Without the `metrics` feature: nothing is published.
#[cfg(not(feature = "metrics"))]
#[derive(Debug)]
pub(crate) struct Meters;

#[cfg(not(feature = "metrics"))]
#[expect(clippy::unused_self, reason = "the same calls as with the feature")]
impl Meters {
    pub(crate) fn new(_dir: &Path) -> Self {
        Self
    }
    pub(crate) fn appended(&self, _entries: u64) {}
    pub(crate) fn written(&self, _bytes: u64) {}
    pub(crate) fn fsync(&self, _took: Duration) {}
    pub(crate) fn rotated(&self) {}
    pub(crate) fn truncated(&self) {}
    pub(crate) fn set_followers(&self, _n: usize) {}
    pub(crate) fn set_durable(&self, _index: u64) {}
}
