//! Opening a log: the directory and its lock, recovery, and the writer's state resumed
//! from what recovery kept (or a first segment for a new log).

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;

use super::{Group, Inner, Wal, create_segment, initial_allocation};
use crate::cuts::Cuts;
use crate::error::{Error, Result};
use crate::format::{self, HEADER_LEN, SegmentHeader};
use crate::io::{DirLock, ObservedFs, SyncCounters};
use crate::lock::lock;
use crate::marks;
use crate::meters::Meters;
use crate::options::{Options, RecoveryMode, SyncPolicy};
use crate::positions::PositionCache;
use crate::recovery::{self, TailState};
use crate::segment::{OpenFiles, Segment};
use crate::writer::{Limits, Pending, Tail};

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
    /// Open reads the headers and footers of sealed segments and scans only the last one, so
    /// its time does not grow with the log's history (except in the `Strict`,
    /// `PointInTime` and `Salvage` modes, which read everything). What recovery did is in
    /// [`Wal::recovery_report`].
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
        Self::open_with(dir.as_ref(), opts, false)
    }

    /// Opens the log in `dir` for reading only, while another process may be writing it:
    /// it takes no directory lock, never writes, cuts, removes or quarantines anything,
    /// and sees the entries written when it opened (open it again to see later ones).
    /// Recovery runs by [`Options::recovery`] as it would at [`Wal::open`], but only in
    /// memory: a torn tail (or a frame the writer is writing now) ends the log where the
    /// last complete frame ends, and is reported in [`Wal::recovery_report`] as a cut that
    /// was not made; damage the mode does not accept is returned as an error, as `open`
    /// does. [`RecoveryMode::Salvage`] reads past damage, reporting each place.
    ///
    /// Writes return [`Error::ReadOnly`]. A directory that does not exist is
    /// [`Error::NotFound`] whatever [`Options::create_if_missing`] says.
    ///
    /// # Errors
    /// As [`Wal::open`], except [`Error::Locked`].
    pub fn open_read_only(dir: impl AsRef<Path>, opts: Options) -> Result<Self> {
        Self::open_with(dir.as_ref(), opts, true)
    }

    fn open_with(dir: &Path, mut opts: Options, read_only: bool) -> Result<Self> {
        opts.validate()?;
        let dir = dir.to_path_buf();
        let _span = tracing::info_span!("wal.open", dir = %dir.display(), read_only).entered();
        // Every sync the log makes, from recovery on, is counted and timed here.
        let syncs = Arc::new(SyncCounters::new(
            opts.slow_fsync,
            Arc::new(Meters::new(&dir)),
        ));
        opts.fs = Arc::new(ObservedFs::new(Arc::clone(&opts.fs), Arc::clone(&syncs)));
        let files = Arc::new(OpenFiles::new(Arc::clone(&opts.fs), opts.max_open_files));
        let read_only = read_only || opts.recovery == RecoveryMode::Salvage;
        let (dir_lock, rec) = lock_and_recover(&opts, &files, &dir, read_only)?;
        let log_id = if rec.segments.is_empty() && rec.log_id == 0 {
            opts.new_log_id.unwrap_or_else(new_log_id)
        } else {
            rec.log_id
        };
        let seed = format::crc_seed(log_id);
        let rec_cut_mark = rec.has_cut_mark;
        let mut segments = rec.segments;
        let mut first_index = rec.first_index;
        let mut tail = match (rec.tail, segments.last()) {
            (Some(t), Some(seg)) if !read_only => Some(resume_tail(&t, seg, seed, &opts)?),
            _ => None,
        };
        if segments.is_empty() && !read_only {
            // After `truncate_front` past every entry and a crash, the log resumes there.
            first_index = first_index.max(1);
            let (seg, fresh) =
                start_log(&opts, &files, &dir, log_id, first_index, rec.has_low_water)?;
            segments.push(seg);
            tail = Some(fresh);
        }
        let last = segments.last().map_or(first_index - 1, |s| s.last_index());
        let (seg_bytes, seg_entries) = tail.as_ref().map_or((0, 0), |t| {
            (t.pos, t.seg.last_index() + 1 - t.seg.first_index())
        });
        let limits = Limits {
            seed,
            segment_size: opts.segment_size,
            max_segment_entries: opts.max_segment_entries,
            max_entry_size: opts.max_entry_size,
            max_unit: crate::writer::MAX_UNIT,
            compression: opts.compression,
            compress_above: opts.compress_above,
        };
        let inner = Arc::new(Inner {
            dir,
            log_id,
            seed,
            read_only,
            pending: Mutex::new(Pending::new(last + 1, seg_bytes, seg_entries, limits)),
            tail: Mutex::new(tail),
            segments: RwLock::new(Arc::new(segments)),
            group: Mutex::new(Group::default()),
            group_generation: AtomicU64::new(0),
            durable: AtomicU64::new(last),
            assigned: AtomicU64::new(last),
            epoch: AtomicU64::new(0),
            cuts: Arc::new(Cuts::new(first_index)),
            positions: PositionCache::new(opts.max_cached_positions),
            files,
            oldest_unsynced: Mutex::new(None),
            poison: OnceLock::new(),
            report: rec.report,
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
            progress: Mutex::new(()),
            progress_cv: Condvar::new(),
            followers: std::sync::atomic::AtomicUsize::new(0),
            wakers: super::follow::Wakers::default(),
            state_lock: Mutex::new(()),
            notices: super::notify::Notices::default(),
            dir_lock: Mutex::new(dir_lock),
            closed: std::sync::atomic::AtomicBool::new(false),
            counters: super::stats::Counters::default(),
            write_behind: crate::io::WriteBehind::default(),
            syncs,
            opts,
        });
        if !read_only {
            // A tail that was sealed before a crash takes no more entries: the first append
            // starts the next segment (opening needs no free space).
            if lock(&inner.tail)
                .as_ref()
                .is_some_and(|t| t.sealed.is_some())
            {
                lock(&inner.pending).rotate_next = true;
            }
            // Entries found after the last sync marker were written but maybe never synced:
            // make them durable now, so that `durable_index()` is true from the start.
            inner.sync_at_open()?;
            if rec_cut_mark {
                marks::remove_mark(&*inner.opts.fs, &inner.dir, marks::CUT_MARK)?;
            }
        }
        let flusher = spawn_flusher(&inner)?;
        Ok(Self {
            inner,
            flusher: Mutex::new(flusher),
        })
    }
}

/// Locks `dir` (unless `read_only`: then it only checks it is a directory) and recovers the
/// log in it, in memory only when `read_only`; warns of every cut made.
fn lock_and_recover(
    opts: &Options,
    files: &Arc<OpenFiles>,
    dir: &Path,
    read_only: bool,
) -> Result<(Option<Box<dyn DirLock>>, recovery::Recovered)> {
    let dir_lock = if read_only {
        check_dir(opts, dir, false)?;
        None
    } else {
        Some(lock_dir(opts, dir)?)
    };
    let rec = {
        let _span = tracing::info_span!("wal.recover", mode = ?opts.recovery).entered();
        recovery::recover(files, dir, opts.recovery, opts.max_entry_size, !read_only)?
    };
    for cut in rec.report.cuts.iter().filter(|_| !read_only) {
        tracing::warn!(segment = %cut.segment.display(), offset = cut.offset, bytes = cut.bytes, reason = ?cut.reason, "wal: recovery cut the log");
    }
    Ok((dir_lock, rec))
}

/// Checks that `dir` is a directory, creating it when missing if `create` is on and
/// `create_if_missing` too.
fn check_dir(opts: &Options, dir: &Path, create: bool) -> Result<()> {
    let fs = &opts.fs;
    match fs.is_dir(dir) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::NotADirectory { path: dir.into() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !(create && opts.create_if_missing) {
                return Err(Error::NotFound { path: dir.into() });
            }
            fs.create_dir_all(dir)
                .map_err(|e| Error::io("create directory", dir, e))
        }
        Err(e) => Err(Error::io("stat", dir, e)),
    }
}

/// Checks (or creates) the directory `dir` and locks it against other `Wal`s.
fn lock_dir(opts: &Options, dir: &Path) -> Result<Box<dyn DirLock>> {
    check_dir(opts, dir, true)?;
    let fs = &opts.fs;
    fs.lock_dir(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked { path: dir.into() }
        } else {
            Error::io("lock", dir, e)
        }
    })
}

/// The writer's state in the tail segment `seg`, continued from what recovery found.
fn resume_tail(t: &TailState, seg: &Arc<Segment>, seed: u32, opts: &Options) -> Result<Tail> {
    let file = seg.file()?;
    let mut tail = Tail::new(
        Arc::clone(seg),
        file,
        t.valid_end,
        t.marker_end,
        t.window_crc,
        seed,
        opts.segment_size,
    );
    tail.sealed = t.sealed;
    if t.close_batch {
        // A `truncate_back` into a batch was interrupted: finish its batch before anything
        // is appended (synced at open, with the first sync).
        tail.write_batch_end()
            .map_err(|e| Error::io("write", &seg.path, e))?;
    }
    if opts.preallocate {
        tail.allocated = Some(
            tail.file
                .len()
                .map_err(|e| Error::io("stat", &seg.path, e))?,
        );
    }
    Ok(tail)
}

/// A log with no segment: its marks and first segment, starting at `first_index`.
fn start_log(
    opts: &Options,
    files: &Arc<OpenFiles>,
    dir: &Path,
    log_id: u64,
    first_index: u64,
    has_low_water: bool,
) -> Result<(Arc<Segment>, Tail)> {
    let fs = &*opts.fs;
    if !has_low_water {
        marks::write_mark(fs, dir, marks::LOW_WATER_MARK, log_id, 1)?;
    }
    let header = SegmentHeader {
        log_id,
        seq: 1,
        first_index,
        prev_last_index: first_index - 1,
        prev_crc: 0,
    };
    let (seg, file) = create_segment(opts, files, dir, &header)?;
    marks::write_mark(fs, dir, marks::HIGH_WATER_MARK, log_id, header.seq)?;
    let seed = format::crc_seed(log_id);
    let mut tail = Tail::new(
        Arc::clone(&seg),
        file,
        HEADER_LEN as u64,
        HEADER_LEN as u64,
        seed,
        seed,
        opts.segment_size,
    );
    tail.allocated = initial_allocation(opts);
    Ok((seg, tail))
}

/// The background thread of the `Interval` and `Batch` policies, when the log is writable.
fn spawn_flusher(inner: &Arc<Inner>) -> Result<Option<JoinHandle<()>>> {
    match inner.opts.sync {
        SyncPolicy::Interval(_) | SyncPolicy::Batch { .. } if !inner.read_only => {
            let inner = Arc::clone(inner);
            let spawned = std::thread::Builder::new()
                .name("wal-flusher".into())
                .spawn(move || inner.flusher());
            Ok(Some(
                spawned.map_err(|e| Error::io("spawn flusher", "", e))?,
            ))
        }
        _ => Ok(None),
    }
}
