//! [`Wal`]: open, append, sync with group commit, read, close.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::format::{self, HEADER_LEN, SegmentHeader};
use crate::io::DirLock;
use crate::iter::Iter;
use crate::options::{Options, SyncPolicy};
use crate::recovery::{self, RecoveryMode, RecoveryReport};
use crate::segment::{self, Segment};
use crate::writer::{FLUSH_AT, Limits, Pending, Tail};

/// A typed write-ahead log in one directory.
///
/// `Wal` is `Send + Sync`: share it (for example in an `Arc`) between appending threads and
/// readers. Appends from many threads under [`SyncPolicy::Always`] share fsyncs.
///
/// See the [crate documentation](crate) for an example.
#[derive(Debug)]
pub struct Wal {
    inner: Arc<Inner>,
    flusher: Option<JoinHandle<()>>,
    closed: bool,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    opts: Options,
    seed: u32,
    read_only: bool,
    pending: Mutex<Pending>,
    /// Lock order: `tail`, then `pending` or `segments` or `group`.
    tail: Mutex<Option<Tail>>,
    segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    salvage: Option<Arc<Vec<Vec<u32>>>>,
    /// Whether a group-commit leader is syncing.
    group: Mutex<bool>,
    group_cv: Condvar,
    durable: AtomicU64,
    assigned: AtomicU64,
    first_index: u64,
    oldest_unsynced: Mutex<Option<Instant>>,
    poison: OnceLock<Arc<std::io::Error>>,
    report: RecoveryReport,
    stop: Mutex<bool>,
    stop_cv: Condvar,
    _lock: Box<dyn DirLock>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn new_log_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish() | 1
}

impl Wal {
    /// Opens the log in `dir`, creating the directory and an empty log if missing (unless
    /// [`Options::create_if_missing`] is off), and recovers it by [`Options::recovery`].
    ///
    /// What recovery did is in [`Wal::recovery_report`].
    ///
    /// # Errors
    /// - [`Error::InvalidOptions`] for options out of range;
    /// - [`Error::NotFound`], [`Error::NotADirectory`] for a bad path;
    /// - [`Error::Locked`] when another `Wal` has the directory open;
    /// - [`Error::Corruption`], [`Error::NotASegment`], [`Error::UnsupportedVersion`],
    ///   [`Error::ForeignSegment`] for damage the recovery mode does not accept (files are
    ///   left untouched);
    /// - [`Error::Io`] when the file system fails (never taken for damage).
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Self> {
        opts.validate()?;
        let dir = dir.as_ref().to_path_buf();
        let fs = Arc::clone(&opts.fs);
        match fs.is_dir(&dir) {
            Ok(true) => {}
            Ok(false) => return Err(Error::NotADirectory { path: dir }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !opts.create_if_missing {
                    return Err(Error::NotFound { path: dir });
                }
                fs.create_dir_all(&dir)
                    .map_err(|e| Error::io("create directory", &dir, e))?;
            }
            Err(e) => return Err(Error::io("stat", &dir, e)),
        }
        let dir_lock = fs.lock_dir(&dir).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked { path: dir.clone() }
            } else {
                Error::io("lock", &dir, e)
            }
        })?;
        let read_only = opts.recovery == RecoveryMode::Salvage;
        let rec = recovery::recover(&*fs, &dir, opts.recovery, opts.max_entry_size)?;
        let log_id = if rec.segments.is_empty() {
            opts.new_log_id.unwrap_or_else(new_log_id)
        } else {
            rec.log_id
        };
        let seed = format::crc_seed(log_id);
        let mut segments = rec.segments;
        let mut tail = match rec.tail {
            Some(t) if !read_only => {
                let seg = Arc::clone(segments.last().expect("a tail state comes with a segment"));
                Some(Tail {
                    last_written: seg.last_index(),
                    seg,
                    pos: t.valid_end,
                    marker_end: t.marker_end,
                    window: crc32fast::Hasher::new_with_initial(t.window_crc),
                    positions: t.positions,
                    sealed: t.sealed,
                    scratch: Vec::new(),
                    seed,
                })
            }
            _ => None,
        };
        if segments.is_empty() && !read_only {
            let header = SegmentHeader {
                log_id,
                seq: 1,
                first_index: 1,
                prev_last_index: 0,
                prev_crc: 0,
            };
            let seg = create_segment(&opts, &dir, &header)?;
            segments.push(Arc::clone(&seg));
            tail = Some(Tail {
                seg,
                pos: HEADER_LEN as u64,
                marker_end: HEADER_LEN as u64,
                window: crc32fast::Hasher::new_with_initial(seed),
                positions: Vec::new(),
                last_written: 0,
                sealed: None,
                scratch: Vec::new(),
                seed,
            });
        }
        let first_index = segments.first().map_or(1, |s| s.first_index());
        let last = segments.last().map_or(0, |s| s.last_index());
        let (seg_bytes, seg_entries) = tail
            .as_ref()
            .map_or((0, 0), |t| (t.pos, t.positions.len() as u64));
        let limits = Limits {
            seed,
            segment_size: opts.segment_size,
            max_segment_entries: opts.max_segment_entries,
            max_entry_size: opts.max_entry_size,
        };
        let inner = Arc::new(Inner {
            dir,
            seed,
            read_only,
            pending: Mutex::new(Pending::new(last + 1, seg_bytes, seg_entries, limits)),
            tail: Mutex::new(tail),
            segments: RwLock::new(Arc::new(segments)),
            salvage: rec.salvage.map(Arc::new),
            group: Mutex::new(false),
            group_cv: Condvar::new(),
            durable: AtomicU64::new(last),
            assigned: AtomicU64::new(last),
            first_index,
            oldest_unsynced: Mutex::new(None),
            poison: OnceLock::new(),
            report: rec.report,
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
            _lock: dir_lock,
            opts,
        });
        // A tail that was sealed before a crash takes no more entries: start the next segment.
        if let Some(t) = lock(&inner.tail).as_mut().filter(|t| t.sealed.is_some()) {
            inner.rotate(t)?;
            let mut p = lock(&inner.pending);
            *p = Pending::new(last + 1, HEADER_LEN as u64, 0, limits);
        }
        // Entries found after the last sync marker were written but maybe never synced: make
        // them durable now, so that `durable_index()` is true from the start.
        if !read_only {
            inner.sync_now()?;
        }
        let flusher = match inner.opts.sync {
            SyncPolicy::Interval(_) | SyncPolicy::Batch { .. } if !read_only => {
                let inner = Arc::clone(&inner);
                Some(
                    std::thread::Builder::new()
                        .name("wal-flusher".into())
                        .spawn(move || inner.flusher())
                        .map_err(|e| Error::io("spawn flusher", "", e))?,
                )
            }
            _ => None,
        };
        Ok(Self {
            inner,
            flusher,
            closed: false,
        })
    }

    /// Appends one entry and returns its index (1-based, dense). Returns when the entry is
    /// as durable as [`Options::sync`] promises.
    ///
    /// # Errors
    /// [`Error::Encode`], [`Error::EntryTooLarge`], [`Error::ReservedEntryType`] (nothing is
    /// appended); [`Error::Io`] when a write or sync fails, which poisons the log;
    /// [`Error::Poisoned`] after that; [`Error::ReadOnly`] in salvage mode.
    pub fn append<E: Entry>(&self, entry: &E) -> Result<u64> {
        self.inner.append(std::slice::from_ref(entry))
    }

    /// Appends entries as one batch: after a crash either all of them are in the log or none.
    /// Returns the range of indexes they got (empty for an empty slice).
    ///
    /// # Errors
    /// As [`Wal::append`]; when one entry fails to encode, none is appended.
    pub fn append_batch<E: Entry>(&self, entries: &[E]) -> Result<std::ops::Range<u64>> {
        let last = self.inner.append(entries)?;
        Ok(last + 1 - entries.len() as u64..last + 1)
    }

    /// Writes every buffered entry and fdatasyncs, whatever the sync policy; shares the
    /// fsync with concurrent appenders.
    ///
    /// # Errors
    /// [`Error::Io`] (which poisons the log), [`Error::Poisoned`], [`Error::ReadOnly`].
    pub fn sync(&self) -> Result<()> {
        self.inner.check_writable()?;
        self.inner
            .commit(self.inner.assigned.load(Ordering::Acquire))
    }

    /// Blocks until every entry up to `index` is durable, syncing if needed.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index not yet appended; as [`Wal::sync`].
    pub fn wait_durable(&self, index: u64) -> Result<()> {
        let last = self.last_index();
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
        self.inner.commit(index)
    }

    /// The index of the first entry in the log. Default for an empty log: 1.
    #[must_use]
    pub fn first_index(&self) -> u64 {
        self.inner.first_index
    }

    /// The index of the last entry appended (`first_index() - 1` when the log is empty).
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

    /// Iterates over every entry, undecoded. See [`Wal::iter_from`].
    ///
    /// # Errors
    /// As [`Wal::iter_from`].
    pub fn iter(&self) -> Result<Iter> {
        self.iter_from(self.first_index())
    }

    /// Iterates over the entries from `index` on, undecoded, up to the last entry appended
    /// when it is called (buffered entries are written to the file first). Readers run while
    /// writers append.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `index` is below `first_index()` or above
    /// `last_index() + 1`; [`Error::Io`] when buffered entries cannot be written. The
    /// iterator yields [`Error::Corruption`] for a frame that fails its CRC.
    pub fn iter_from(&self, index: u64) -> Result<Iter> {
        let (first, last) = (self.first_index(), self.last_index());
        if index < first || index > last + 1 {
            return Err(Error::IndexOutOfRange { index, first, last });
        }
        if !self.inner.read_only && self.inner.poison.get().is_none() {
            self.inner.flush()?;
        }
        let segments = Arc::clone(
            &self
                .inner
                .segments
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        Ok(Iter::new(
            segments,
            self.inner.salvage.clone(),
            index,
            last,
            self.inner.seed,
            self.inner.opts.max_entry_size,
        ))
    }

    /// Decodes every entry as an `E`, in index order, and calls `f(index, entry)`.
    ///
    /// Entries whose type `E` does not have are skipped if the writer marked them ignorable,
    /// and an error otherwise.
    ///
    /// # Errors
    /// [`Error::UnknownEntryType`], [`Error::Decode`] (both naming the index),
    /// [`Error::Corruption`], [`Error::Io`].
    pub fn replay<E: Entry, F: FnMut(u64, E)>(&self, mut f: F) -> Result<()> {
        for raw in self.iter()? {
            let raw = raw?;
            if raw.is_ignorable() && !E::TYPE_IDS.contains(&raw.entry_type()) {
                continue;
            }
            f(raw.index(), raw.decode()?);
        }
        Ok(())
    }

    /// Writes buffered entries, syncs (except under [`SyncPolicy::Never`]), stops the
    /// background flusher and releases the directory lock, reporting any error.
    ///
    /// Dropping a `Wal` does the same but cannot report errors.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Poisoned`] when buffered entries could not be made durable.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.stop_flusher();
        self.inner.shutdown()
    }

    fn stop_flusher(&mut self) {
        if let Some(handle) = self.flusher.take() {
            *lock(&self.inner.stop) = true;
            self.inner.stop_cv.notify_all();
            // A flusher that panicked has nothing left to report.
            let _ = handle.join();
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop_flusher();
        if !self.closed {
            // Best effort: there is no one to report an error to.
            let _ = self.inner.shutdown();
        }
    }
}

fn create_segment(opts: &Options, dir: &Path, header: &SegmentHeader) -> Result<Arc<Segment>> {
    let prealloc = if opts.preallocate {
        opts.segment_size
    } else {
        0
    };
    let (path, file) = segment::create(&*opts.fs, dir, header, prealloc)?;
    let last = header.first_index - 1;
    Ok(Arc::new(Segment::new(
        path,
        file,
        *header,
        HEADER_LEN as u64,
        last,
    )))
}

impl Inner {
    fn check_writable(&self) -> Result<()> {
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

    /// Records a write or sync failure: from now on every write fails.
    fn poison(&self, err: Error) -> Error {
        if let Error::Io { source, .. } = &err {
            let _ = self.poison.set(Arc::new(std::io::Error::new(
                source.kind(),
                err.to_string(),
            )));
        }
        self.group_cv.notify_all();
        err
    }

    fn append<E: Entry>(&self, entries: &[E]) -> Result<u64> {
        self.check_writable()?;
        let (last, buffered, since) = {
            let mut p = lock(&self.pending);
            let last = p.push(entries)?;
            self.assigned.store(last, Ordering::Release);
            (last, p.bytes, p.since_sync)
        };
        match self.opts.sync {
            SyncPolicy::Always => self.commit(last)?,
            SyncPolicy::Batch { max_bytes, .. } if since >= max_bytes => self.commit(last)?,
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

    /// Group commit: returns once an fsync covering `target` has succeeded. The first waiter
    /// with no sync in flight leads: it writes everything buffered and syncs, outside the
    /// group lock, then wakes everyone; the others wait for a sync that covers them.
    fn commit(&self, target: u64) -> Result<()> {
        let mut leading = lock(&self.group);
        loop {
            if self.durable.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            self.check_writable()?;
            if *leading {
                leading = self
                    .group_cv
                    .wait(leading)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            *leading = true;
            drop(leading);
            let result = self.sync_now();
            leading = lock(&self.group);
            *leading = false;
            self.group_cv.notify_all();
            result?;
        }
    }

    /// Writes the buffer, a sync marker, and fdatasyncs. Publishes the new durable index.
    fn sync_now(&self) -> Result<()> {
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Err(Error::ReadOnly);
        };
        *lock(&self.oldest_unsynced) = None;
        lock(&self.pending).since_sync = 0;
        self.write_pending(tail)?;
        let wrote = tail
            .write_marker()
            .map_err(|e| self.poison(Error::io("write", &tail.seg.path, e)))?;
        if wrote {
            tail.seg
                .file
                .sync_data()
                .map_err(|e| self.poison(Error::io("sync", &tail.seg.path, e)))?;
        }
        self.durable.fetch_max(tail.last_written, Ordering::AcqRel);
        Ok(())
    }

    /// Writes buffered entries to the file without syncing.
    fn flush(&self) -> Result<()> {
        let mut guard = lock(&self.tail);
        let Some(tail) = guard.as_mut() else {
            return Ok(());
        };
        self.write_pending(tail)
    }

    fn write_pending(&self, tail: &mut Tail) -> Result<()> {
        let chunks = lock(&self.pending).take();
        for chunk in chunks {
            if chunk.rotate {
                self.rotate(tail)?;
            }
            tail.write_chunk(&chunk)
                .map_err(|e| self.poison(Error::io("write", &tail.seg.path, e)))?;
            lock(&self.pending).recycle(chunk.bytes);
        }
        Ok(())
    }

    /// Seals the tail segment and starts the next one.
    fn rotate(&self, tail: &mut Tail) -> Result<()> {
        let crc = tail
            .seal()
            .map_err(|e| self.poison(Error::io("seal", &tail.seg.path, e)))?;
        // The seal synced every entry of the old segment.
        self.durable.fetch_max(tail.last_written, Ordering::AcqRel);
        let old = &tail.seg.header;
        let header = SegmentHeader {
            log_id: old.log_id,
            seq: old.seq + 1,
            first_index: tail.last_written + 1,
            prev_last_index: tail.last_written,
            prev_crc: crc,
        };
        let seg = create_segment(&self.opts, &self.dir, &header).map_err(|e| self.poison(e))?;
        {
            let mut list = self
                .segments
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let mut next = Vec::clone(&list);
            next.push(Arc::clone(&seg));
            *list = Arc::new(next);
        }
        tail.seg = seg;
        tail.pos = HEADER_LEN as u64;
        tail.marker_end = HEADER_LEN as u64;
        tail.window = crc32fast::Hasher::new_with_initial(self.seed);
        tail.positions.clear();
        tail.sealed = None;
        Ok(())
    }

    fn shutdown(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.check_writable()?;
        if self.opts.sync == SyncPolicy::Never {
            self.flush()
        } else {
            self.commit(self.assigned.load(Ordering::Acquire))
        }
    }

    /// The background thread of `Interval` and `Batch`: syncs on time until told to stop.
    fn flusher(&self) {
        let mut stop = lock(&self.stop);
        loop {
            // Checked under the lock before every wait, so a stop is never missed.
            if *stop {
                return;
            }
            let wait = match self.opts.sync {
                SyncPolicy::Interval(d) => d,
                SyncPolicy::Batch { max_delay, .. } => {
                    let oldest = *lock(&self.oldest_unsynced);
                    oldest.map_or(max_delay, |t| {
                        max_delay
                            .saturating_sub(t.elapsed())
                            .max(Duration::from_micros(100))
                    })
                }
                _ => return,
            };
            stop = self
                .stop_cv
                .wait_timeout(stop, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if *stop || self.poison.get().is_some() {
                return;
            }
            let due = match self.opts.sync {
                SyncPolicy::Batch { max_delay, .. } => {
                    lock(&self.oldest_unsynced).is_some_and(|t| t.elapsed() >= max_delay)
                }
                _ => true,
            };
            let target = self.assigned.load(Ordering::Acquire);
            if due && target > self.durable.load(Ordering::Acquire) {
                drop(stop);
                // A failure poisons the log; appenders see it on their next call.
                let _ = self.commit(target);
                stop = lock(&self.stop);
            }
        }
    }
}
