//! [`Wal`]: open, append, sync with group commit, close.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::cuts::Cuts;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::io::DirLock;
use crate::lock::lock;
use crate::options::{Options, SyncPolicy};
use crate::positions::PositionCache;
use crate::recovery::RecoveryReport;
use crate::segment::{OpenFiles, Segment};
use crate::writer::{FLUSH_AT, Pending, Tail};

mod commit;
mod durable;
pub use durable::Durable;
mod follow;
pub use follow::Follower;
mod inspect;
pub use inspect::SegmentInfo;
mod notify;
mod open;
mod read;
mod rotate;
pub(crate) use rotate::{create_segment, initial_allocation};
mod state;
mod stats;
pub use stats::{Latency, RecoverySummary, Stats};
mod truncate;
mod verify;

/// A typed write-ahead log in one directory.
///
/// `Wal` is `Send + Sync`: share it (for example in an `Arc`) between appending threads and
/// readers. Appends from many threads under [`SyncPolicy::Always`] share fsyncs.
///
/// See the [crate documentation](crate) for an example.
#[derive(Debug)]
pub struct Wal {
    pub(crate) inner: Arc<Inner>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

/// The state shared by the `Wal` handle and its background flusher.
#[derive(Debug)]
pub(crate) struct Inner {
    dir: PathBuf,
    opts: Options,
    log_id: u64,
    seed: u32,
    read_only: bool,
    pending: Mutex<Pending>,
    /// Lock order: `tail`, then `pending` or `segments` or `group`.
    tail: Mutex<Option<Tail>>,
    segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    /// The group commit's state.
    group: Mutex<Group>,
    /// Ends each time a sync finishes (or the log is poisoned, or an epoch begins): the
    /// waiters of that generation are woken.
    group_generation: AtomicU64,
    durable: AtomicU64,
    assigned: AtomicU64,
    /// `Pending::epoch`, for waiters to read without the buffer's lock.
    epoch: AtomicU64,
    /// The first index and the `truncate_back` cuts, which live iterators check.
    cuts: Arc<Cuts>,
    /// Sealed segments' positions held in memory, bounded.
    positions: PositionCache,
    /// Sealed segments' open files, bounded.
    files: Arc<OpenFiles>,
    /// Callbacks waiting for the durable index, and the background syncer.
    notices: notify::Notices,
    oldest_unsynced: Mutex<Option<Instant>>,
    poison: OnceLock<Arc<std::io::Error>>,
    report: RecoveryReport,
    stop: Mutex<bool>,
    stop_cv: Condvar,
    /// Followers wait on it for entries to become durable (or written), a truncation, or
    /// the close.
    progress: Mutex<()>,
    progress_cv: Condvar,
    /// Live followers: with none, the commit path wakes nobody.
    followers: std::sync::atomic::AtomicUsize,
    /// Wakers of followers polled by async tasks.
    wakers: follow::Wakers,
    /// Held while a state record is saved: two saves never share a temporary file. Lock
    /// order: before `tail`.
    state_lock: Mutex<()>,
    /// The directory lock, released when the `Wal` handle closes (followers may keep the
    /// rest alive).
    dir_lock: Mutex<Option<Box<dyn DirLock>>>,
    /// `shutdown` (or `close`) began: every write is refused.
    closed: std::sync::atomic::AtomicBool,
    /// What the log did, for `stats()` (and the `metrics` feature).
    counters: stats::Counters,
    /// The syncs the file system made, counted and timed.
    syncs: Arc<crate::io::SyncCounters>,
    /// Background fdatasyncs of the tail (`Options::write_behind`).
    write_behind: crate::io::WriteBehind,
}

/// When an append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// As durable as the sync policy promises.
    Policy,
    /// Written to the file (readable, not yet synced).
    Written,
    /// Buffered: the next sync writes it. Never waits for the writer's lock.
    Buffered,
}

/// Group commit: who leads, and how many wait.
#[derive(Debug, Default)]
struct Group {
    /// A leader is writing and syncing.
    leading: bool,
    /// Appenders waiting for a sync to cover them: nobody is woken when there are none.
    waiters: Vec<std::thread::Thread>,
    /// Entries the last sync covered, and how long it took: how many entries the next
    /// leader gathers before it syncs, and for how long at most.
    last_covered: u64,
    last_sync: std::time::Duration,
    /// The appenders the last sync released (its waiters and its leader).
    released: u64,
}

impl Wal {
    /// Appends one entry and returns its index (1-based, dense). Returns when the entry is
    /// as durable as [`Options::sync`] promises.
    ///
    /// # Errors
    /// [`Error::Encode`], [`Error::EntryTooLarge`], [`Error::ReservedEntryType`] (nothing is
    /// appended); [`Error::Io`] when a write or sync fails, which poisons the log;
    /// [`Error::Poisoned`] after that; [`Error::ReadOnly`] in salvage mode.
    pub fn append<E: Entry>(&self, entry: &E) -> Result<u64> {
        self.inner.append(std::slice::from_ref(entry), None)
    }

    /// Appends `entry` at `index`, which must be `last_index() + 1`: for logs whose indexes
    /// come from elsewhere (a consensus log, or a store that chooses its own indexes). A duplicate or out-of-order
    /// index is refused.
    ///
    /// # Errors
    /// [`Error::IndexMismatch`] naming the expected and the given index; as [`Wal::append`].
    pub fn append_at<E: Entry>(&self, index: u64, entry: &E) -> Result<()> {
        self.inner
            .append(std::slice::from_ref(entry), Some(index))
            .map(drop)
    }

    /// Appends entries as one batch: after a crash either all of them are in the log or none.
    /// Returns the range of indexes they got (empty for an empty slice). A batch lives in one
    /// segment, so it can hold at most about 4 GiB (its frames, 18 bytes each plus the
    /// payload, and 4 bytes per entry for the segment's footer).
    ///
    /// # Errors
    /// As [`Wal::append`]; [`Error::BatchTooLarge`] for a batch a segment cannot hold,
    /// refused while it is encoded. When one entry fails, none is appended.
    pub fn append_batch<E: Entry>(&self, entries: &[E]) -> Result<std::ops::Range<u64>> {
        let last = self.inner.append(entries, None)?;
        Ok(last + 1 - entries.len() as u64..last + 1)
    }

    /// Appends entries as one batch (as [`Wal::append_batch`]) whose first index must be
    /// `first`, which must be `last_index() + 1`: for logs whose indexes come from elsewhere,
    /// such as a consensus log receiving a leader's entries. Returns their range.
    ///
    /// # Errors
    /// [`Error::IndexMismatch`] naming the expected and the given index (nothing appended,
    /// also for an empty batch); as [`Wal::append_batch`].
    pub fn append_batch_at<E: Entry>(
        &self,
        first: u64,
        entries: &[E],
    ) -> Result<std::ops::Range<u64>> {
        let last = self.inner.append(entries, Some(first))?;
        Ok(last + 1 - entries.len() as u64..last + 1)
    }

    /// Appends entries as one batch at `first` (as [`Wal::append_batch_at`]) without waiting
    /// for them to be durable, whatever the sync policy: they are in the file (readable)
    /// when it returns, a background thread of the log syncs them (group commit, one thread
    /// per log, started on first use), and `on_durable` runs once they are durable — or
    /// with the error, if the log is poisoned first. For callers that must not block on an
    /// fsync (an async runtime, a consensus engine's append callback). `on_durable` runs on
    /// whichever thread made the entries durable, possibly while the log holds its locks:
    /// it must not call the log, only hand the outcome on (a channel, a waker).
    ///
    /// # Errors
    /// As [`Wal::append_batch_at`] (then nothing was appended and `on_durable` is dropped
    /// without being run); [`Error::Io`] when the background thread cannot start.
    pub fn submit_batch_at<E: Entry>(
        &self,
        first: u64,
        entries: &[E],
        on_durable: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<std::ops::Range<u64>> {
        let last = self
            .inner
            .append_with(entries, Some(first), Until::Written)?;
        self.inner.notify_at(last, Box::new(on_durable));
        if last > self.durable_index() {
            self.inner.request_sync()?;
        }
        Ok(last + 1 - entries.len() as u64..last + 1)
    }

    /// Runs `on_durable` once every entry up to `index` is durable: at once if they are,
    /// else when a sync covers them (an append's under `Always`, the flusher's, `sync()`,
    /// `close()`); with the error if the log is poisoned first. It does not sync by itself.
    /// `on_durable` runs on the thread that made the entries durable, possibly while the
    /// log holds its locks: it must not call the log.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index not yet appended (`on_durable` is dropped).
    pub fn on_durable(
        &self,
        index: u64,
        on_durable: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        let last = self.last_index();
        if index > last {
            return Err(Error::IndexOutOfRange {
                index,
                first: self.first_index(),
                last,
            });
        }
        self.inner.notify_at(index, Box::new(on_durable));
        Ok(())
    }

    /// Writes every buffered entry and fdatasyncs, whatever the sync policy; shares the
    /// fsync with concurrent appenders.
    ///
    /// # Errors
    /// [`Error::Io`] (which poisons the log), [`Error::Poisoned`], [`Error::ReadOnly`].
    pub fn sync(&self) -> Result<()> {
        self.inner.check_writable()?;
        let (target, epoch) = self.inner.target();
        self.inner.commit(target, epoch)
    }

    /// Blocks until every entry up to `index` is durable, syncing if needed.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index not yet appended; as [`Wal::sync`].
    pub fn wait_durable(&self, index: u64) -> Result<()> {
        let (last, epoch) = self.inner.target();
        if index > last {
            return Err(Error::IndexOutOfRange {
                index,
                first: self.first_index(),
                last,
            });
        }
        if index <= self.durable_index() {
            return Ok(());
        }
        self.inner.check_writable()?;
        self.inner.commit(index, epoch)
    }

    /// The index of the first entry in the log. Default for a new log: 1.
    #[must_use]
    pub fn first_index(&self) -> u64 {
        self.inner.cuts.first_index()
    }

    /// The index of the last entry appended (`first_index() - 1` when the log is empty).
    /// After a failure poisoned the log, the last entry written to a file: an append that
    /// failed, and entries still buffered then, are not counted.
    #[must_use]
    pub fn last_index(&self) -> u64 {
        self.inner.assigned.load(Ordering::Acquire)
    }

    /// Every entry up to this index is durable: covered by an fdatasync that succeeded
    /// (or found on disk at open).
    #[must_use]
    pub fn durable_index(&self) -> u64 {
        self.inner.durable.load(Ordering::Acquire)
    }

    /// What recovery found and did when the log was opened.
    #[must_use]
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The log's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes buffered entries and syncs them (under every [`SyncPolicy`], `Never`
    /// included), stops the background threads and releases the directory lock, reporting
    /// any error. When it returns `Ok`, every entry appended survives power loss. It ends the
    /// log with an empty sync marker, synced after the final window, so that damage to that
    /// window is later refused as damage rather than cut as a torn tail.
    ///
    /// Dropping a `Wal` does the same but cannot report errors. For a log shared through an
    /// `Arc`, see [`Wal::shutdown`].
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Poisoned`] when buffered entries could not be made durable.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    /// Closes the log through a shared reference (a log held in an `Arc` by several
    /// owners), as [`Wal::close`] does, reporting any error: every entry appended before it
    /// is synced, the background threads stop, followers end, the directory lock is
    /// released. Afterwards every write (append, sync, truncation) returns
    /// [`Error::Closed`]; reads still work until the last handle is dropped. Calling it
    /// again returns `Ok` and does nothing. Waits for appends, syncs and truncations in
    /// progress on other threads.
    ///
    /// # Errors
    /// As [`Wal::close`].
    pub fn shutdown(&self) -> Result<()> {
        // Under the writer's and the buffer's locks: no write is half done, and no entry is
        // buffered after the final sync has read what to sync.
        let first = {
            let _saves = lock(&self.inner.state_lock);
            let _writer = lock(&self.inner.tail);
            let _buffer = lock(&self.inner.pending);
            !self.inner.closed.swap(true, Ordering::AcqRel)
        };
        if !first {
            return Ok(());
        }
        self.stop_threads();
        let result = self.inner.shutdown();
        // The writer's state goes: nothing can write to the files once the directory lock
        // is released and another process may open the log.
        lock(&self.inner.tail).take();
        lock(&self.inner.dir_lock).take();
        result
    }

    /// Stops the background threads (the flusher, the syncer of async appends).
    fn stop_threads(&self) {
        *lock(&self.inner.stop) = true;
        self.inner.stop_cv.notify_all();
        self.inner.wake_followers();
        if let Some(handle) = lock(&self.flusher).take() {
            // A flusher that panicked has nothing left to report.
            let _ = handle.join();
        }
        self.inner.stop_syncer();
        self.inner.write_behind.stop();
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        // Best effort: there is no one to report an error to.
        let _ = self.shutdown();
    }
}

impl Inner {
    /// The error for a write that found no writer: the log is read-only or shut down.
    pub(crate) fn no_writer(&self) -> Error {
        if self.closed.load(Ordering::Acquire) {
            Error::Closed
        } else {
            Error::ReadOnly
        }
    }

    /// Refuses a write to a log that is read-only, shut down or poisoned.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.check_healthy()
    }

    /// Refuses a write to a log that is read-only or poisoned (the close's own sync passes).
    pub(crate) fn check_healthy(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        match self.poison.get() {
            Some(source) => Err(Error::Poisoned {
                source: Arc::clone(source),
            }),
            None => Ok(()),
        }
    }

    /// Whether segments may have gaps in their indexes (a log opened in
    /// [`RecoveryMode::Salvage`](crate::RecoveryMode)): readers then find frames by their
    /// positions, not one after the other. A read-only open of another mode reads on like a
    /// writer's: each segment ends where its verified frames end, cut planned or made.
    pub(crate) fn sparse(&self) -> bool {
        self.opts.recovery == crate::RecoveryMode::Salvage
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poison.get().is_some()
    }

    /// Records a failure after which the state on disk is unknown (a write or sync failed,
    /// or a step of a truncation did): from now on every write fails. The first cause
    /// recorded is the one reported.
    pub(crate) fn poison(&self, err: Error) -> Error {
        let kind = match &err {
            Error::Io { source, .. } => source.kind(),
            _ => std::io::ErrorKind::Other,
        };
        if self
            .poison
            .set(Arc::new(std::io::Error::new(kind, err.to_string())))
            .is_ok()
        {
            tracing::error!(dir = %self.dir.display(), error = %err, "wal: poisoned; reopen the log to go on");
        }
        // Entries still buffered will never be written: the log ends at the last one that
        // reached a file (readable, if not durable), and `last_index()` says so.
        let written = self
            .segments()
            .last()
            .map_or(self.cuts.first_index() - 1, |s| s.last_index());
        self.assigned.fetch_min(written, Ordering::AcqRel);
        self.wake_waiters();
        self.fire_poisoned();
        err
    }

    /// Wakes every appender waiting in `commit` (they look again at the durable index, the
    /// epoch and the poison).
    pub(crate) fn wake_waiters(&self) {
        let waiters = self.next_generation(&mut lock(&self.group));
        for w in waiters {
            w.unpark();
        }
    }

    /// Starts a new generation of the group commit (under its lock `g`) and returns the
    /// waiters to wake: each waits until the generation it saw is over.
    fn next_generation(&self, g: &mut Group) -> Vec<std::thread::Thread> {
        self.group_generation.fetch_add(1, Ordering::AcqRel);
        std::mem::take(&mut g.waiters)
    }

    /// The last index assigned and the epoch it was assigned in, read together.
    pub(crate) fn target(&self) -> (u64, u64) {
        let p = lock(&self.pending);
        (p.next_index - 1, p.epoch)
    }

    /// Starts a new epoch after `truncate_back` reset the buffer (whose lock `p` is), and
    /// wakes the waiters of the old one: every index assigned before it was made durable by
    /// the truncation's sync, so it is answered now, not when a later entry reaches it.
    pub(crate) fn end_epoch(&self, p: std::sync::MutexGuard<'_, Pending>) {
        self.epoch.store(p.epoch, Ordering::Release);
        drop(p);
        self.wake_waiters();
    }

    fn append<E: Entry>(&self, entries: &[E], at: Option<u64>) -> Result<u64> {
        self.append_with(entries, at, Until::Policy)
    }

    /// Appends `entries` (at `at`, if given) and returns when `until` says.
    fn append_with<E: Entry>(&self, entries: &[E], at: Option<u64>, until: Until) -> Result<u64> {
        self.check_writable()?;
        let (last, buffered, since, epoch) = {
            let mut p = lock(&self.pending);
            // Checked again under the buffer's lock: nothing is assigned after a poisoning
            // lowered `assigned`.
            self.check_writable()?;
            if let Some(given) = at.filter(|&i| i != p.next_index) {
                return Err(Error::IndexMismatch {
                    expected: p.next_index,
                    given,
                });
            }
            let last = p.push(entries)?;
            self.assigned.store(last, Ordering::Release);
            self.count_appends(entries.len() as u64);
            (last, p.bytes, p.since_sync, p.epoch)
        };
        match until {
            Until::Policy => {}
            Until::Written => {
                self.flush()?;
                return Ok(last);
            }
            Until::Buffered => return Ok(last),
        }
        match self.opts.sync {
            SyncPolicy::Always => self.commit(last, epoch)?,
            SyncPolicy::Batch { max_bytes, .. } if since >= max_bytes => {
                self.commit(last, epoch)?;
            }
            SyncPolicy::Batch { .. } => {
                lock(&self.oldest_unsynced).get_or_insert_with(Instant::now);
                if buffered >= FLUSH_AT {
                    self.flush()?;
                }
            }
            _ if buffered >= FLUSH_AT => self.flush()?,
            _ => {}
        }
        Ok(last)
    }

    /// Replaces the segment list readers see.
    pub(crate) fn replace_segments(&self, f: impl FnOnce(&mut Vec<Arc<Segment>>)) {
        let mut list = self
            .segments
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next = Vec::clone(&list);
        f(&mut next);
        *list = Arc::new(next);
    }

    pub(crate) fn segments(&self) -> Arc<Vec<Arc<Segment>>> {
        Arc::clone(&self.segments.read().unwrap_or_else(PoisonError::into_inner))
    }
}
