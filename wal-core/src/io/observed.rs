//! The file system a log uses, observed: every fdatasync and directory sync is counted and
//! timed in one place (for `Wal::stats`, the `metrics` feature and the slow-fsync warning),
//! whichever layer made it.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{DirLock, File, FileSystem};
use crate::lock::lock;

/// How many of the latest fsync latencies are kept for percentiles.
pub(crate) const LATENCY_WINDOW: usize = 1024;

/// What the log's syncs did so far.
#[derive(Debug)]
pub(crate) struct SyncCounters {
    /// Successful `sync_data` calls.
    pub(crate) syncs: AtomicU64,
    /// Successful `sync_dir` calls.
    pub(crate) dir_syncs: AtomicU64,
    /// The latest `sync_data` latencies, oldest overwritten first.
    latencies: Mutex<Latencies>,
    /// A `sync_data` slower than this is logged (`tracing`, warn).
    slow: Duration,
    /// The `metrics` facade's handles (nothing without the `metrics` feature).
    pub(crate) meters: Arc<crate::meters::Meters>,
}

#[derive(Debug, Default)]
struct Latencies {
    ring: Vec<Duration>,
    next: usize,
}

impl SyncCounters {
    pub(crate) fn new(slow: Duration, meters: Arc<crate::meters::Meters>) -> Self {
        Self {
            syncs: AtomicU64::new(0),
            dir_syncs: AtomicU64::new(0),
            latencies: Mutex::default(),
            slow,
            meters,
        }
    }

    /// The kept latencies, sorted.
    pub(crate) fn sorted_latencies(&self) -> Vec<Duration> {
        let mut v = lock(&self.latencies).ring.clone();
        v.sort_unstable();
        v
    }

    fn record(&self, path: &Path, took: Duration) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        {
            let mut l = lock(&self.latencies);
            if l.ring.len() < LATENCY_WINDOW {
                l.ring.push(took);
            } else {
                let at = l.next;
                l.ring[at] = took;
            }
            l.next = (l.next + 1) % LATENCY_WINDOW;
        }
        self.meters.fsync(took);
        if took >= self.slow {
            tracing::warn!(file = %path.display(), took_ms = took.as_millis(), "wal: slow fsync");
        }
    }
}

/// A file system whose syncs are counted in `counters`.
pub(crate) struct ObservedFs {
    inner: Arc<dyn FileSystem>,
    counters: Arc<SyncCounters>,
}

impl ObservedFs {
    pub(crate) fn new(inner: Arc<dyn FileSystem>, counters: Arc<SyncCounters>) -> Self {
        Self { inner, counters }
    }

    fn wrap(&self, path: &Path, file: Arc<dyn File>) -> Arc<dyn File> {
        Arc::new(ObservedFile {
            inner: file,
            path: path.into(),
            counters: Arc::clone(&self.counters),
        })
    }
}

impl fmt::Debug for ObservedFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl FileSystem for ObservedFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.inner.create_dir_all(path)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        self.inner.is_dir(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        // Read-only files are never synced: no wrapper on the read path.
        self.inner.open_read(path)
    }
    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.inner.open_write(path)?))
    }
    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.inner.create_new(path)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)?;
        self.counters.dir_syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir(dir)
    }
}

struct ObservedFile {
    inner: Arc<dyn File>,
    path: Box<Path>,
    counters: Arc<SyncCounters>,
}

impl fmt::Debug for ObservedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl File for ObservedFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.inner.write_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn allocate(&self, len: u64) -> io::Result<()> {
        self.inner.allocate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        let start = Instant::now();
        self.inner.sync_data()?;
        self.counters.record(&self.path, start.elapsed());
        Ok(())
    }
}
