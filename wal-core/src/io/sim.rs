//! A simulated file system that can lose power and fail chosen operations.
//!
//! Every file keeps two images: what reads see (the page cache) and what is durable, plus the
//! writes made since the last `sync_data`, in order. Every directory keeps its entries as seen
//! and as durable (after the last `sync_dir`). A [`Crash`] builds a new file system from what
//! survives; handles into the old one keep working on the old one and are never seen again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{DirLock, File, FileSystem};

/// An operation of the simulated file system, for counting and for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `read_at`.
    Read,
    /// `write_at`.
    Write,
    /// `sync_data`.
    Sync,
    /// `sync_dir`.
    SyncDir,
    /// `create_new`, `create_dir_all`.
    Create,
    /// `open_read`, `open_write`.
    Open,
    /// `rename`.
    Rename,
    /// `remove`.
    Remove,
    /// `set_len`.
    SetLen,
    /// `allocate`.
    Allocate,
    /// `list`, `is_dir`, `len`.
    Stat,
}

/// The error a fault injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultError {
    /// `EIO`.
    Eio,
    /// `ENOSPC`.
    NoSpace,
    /// `EACCES`.
    PermissionDenied,
    /// `EINTR`: the call was interrupted and did nothing; callers retry.
    Interrupted,
    /// `EIO` from `sync_data`, and the data it was to sync is lost from the disk though it
    /// stays readable, so a later sync "succeeds" without it: Linux's behaviour (M5).
    EioLosingData,
}

impl FaultError {
    fn to_io(self) -> io::Error {
        match self {
            Self::Eio | Self::EioLosingData => io::Error::from_raw_os_error(5),
            Self::NoSpace => io::Error::from_raw_os_error(28),
            Self::PermissionDenied => io::Error::from_raw_os_error(13),
            Self::Interrupted => io::Error::from(io::ErrorKind::Interrupted),
        }
    }
}

/// A planned failure: the operation that matches `op` after `skip` matching ones have passed
/// fails, and with `persistent` every matching one after it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Which operations it applies to; `None` for every operation.
    pub op: Option<Op>,
    /// How many matching operations succeed first.
    pub skip: u64,
    /// Whether every later matching operation fails too.
    pub persistent: bool,
    /// The error returned.
    pub error: FaultError,
}

/// What survives a simulated crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Crash {
    /// The process dies, the machine does not: everything written survives (M0).
    ProcessKill,
    /// Power loss: every file is its last synced image, every directory its last synced
    /// entries (M1).
    DropUnsynced,
    /// Power loss that keeps the first `n` bytes of each file's unsynced writes, in the order
    /// they were made (M2).
    TornPrefix(u64),
    /// Power loss that treats every `sector`-byte piece touched by an unsynced write on its
    /// own: it holds the new data, the old data, zeros or garbage; the file keeps its new or
    /// its old size (M3). With `psow` (power-safe overwrite) only the bytes written are
    /// affected; without it, the whole sector.
    SectorChaos {
        /// Seed of the choices.
        seed: u64,
        /// Sector size: 512 or 4096.
        sector: u64,
        /// Power-safe overwrite.
        psow: bool,
    },
    /// Power loss with synced data (as `DropUnsynced`) but a namespace in which every create,
    /// remove and rename since the directory's last sync may or may not have happened, and a
    /// rename may have happened halfway (both names present) (M4).
    NamespaceChaos {
        /// Seed of the choices.
        seed: u64,
    },
}

/// A namespace change not yet made durable by `sync_dir`.
#[derive(Debug, Clone)]
enum NsOp {
    Insert(String, u64),
    Remove(String),
    Rename { from: String, to: String, ino: u64 },
}

/// A small deterministic generator (splitmix64) for the crash models.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Counts of operations made so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every operation.
    pub ops: u64,
    /// `sync_data` calls that succeeded.
    pub syncs: u64,
    /// `sync_dir` calls that succeeded.
    pub dir_syncs: u64,
    /// `write_at` calls that succeeded.
    pub writes: u64,
}

#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

#[derive(Debug, Clone, Default)]
struct Dir {
    entries: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
    /// Changes since the last `sync_dir`, in order.
    ops: Vec<NsOp>,
}

impl Dir {
    /// The entries after a crash that kept each pending change or not (M4).
    fn chaos(&self, rng: &mut Rng) -> BTreeMap<String, u64> {
        let mut out = self.durable.clone();
        for op in &self.ops {
            match (op, rng.below(3)) {
                (_, 0) => {}
                (NsOp::Insert(name, ino), _) => {
                    out.insert(name.clone(), *ino);
                }
                (NsOp::Remove(name), _) => {
                    out.remove(name);
                }
                (NsOp::Rename { from, to, ino }, choice) => {
                    out.insert(to.clone(), *ino);
                    if choice == 1 {
                        out.remove(from);
                    }
                }
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct State {
    files: HashMap<u64, Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    next_inode: u64,
    fault: Option<Fault>,
    fault_seen: u64,
    fault_fired: bool,
    capacity: Option<u64>,
    stats: Stats,
    locks: HashSet<PathBuf>,
    sync_delay: std::time::Duration,
}

/// The simulated file system. Clones share one state.
#[derive(Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFs").finish_non_exhaustive()
    }
}

fn apply(image: &mut Vec<u8>, op: &Pending) {
    match op {
        Pending::Write { offset, data } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => image.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
    }
}

fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let parent = path
        .parent()
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    Ok((parent.to_path_buf(), name.to_owned()))
}

impl State {
    fn check(&mut self, op: Op) -> io::Result<()> {
        self.stats.ops += 1;
        let Some(fault) = self.fault else {
            return Ok(());
        };
        if fault.op.is_some_and(|o| o != op) {
            return Ok(());
        }
        self.fault_seen += 1;
        if self.fault_seen > fault.skip {
            self.fault_fired = true;
            if !fault.persistent {
                self.fault = None;
            }
            return Err(fault.error.to_io());
        }
        Ok(())
    }

    fn used(&self) -> u64 {
        self.files.values().map(|f| f.data.len() as u64).sum()
    }

    fn lookup(&self, path: &Path) -> io::Result<u64> {
        let (dir, name) = split(path)?;
        self.dirs
            .get(&dir)
            .and_then(|d| d.entries.get(&name))
            .copied()
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    fn dir_mut(&mut self, dir: &Path) -> io::Result<&mut Dir> {
        self.dirs
            .get_mut(dir)
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    /// Room for `growth` more bytes, or how many of them fit.
    fn room(&self, growth: u64) -> u64 {
        self.capacity
            .map_or(growth, |cap| growth.min(cap.saturating_sub(self.used())))
    }
}

impl SimFs {
    /// An empty file system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Plans a failure (replacing any earlier plan); `None` clears it.
    pub fn set_fault(&self, fault: Option<Fault>) {
        let mut s = self.lock();
        s.fault = fault;
        s.fault_seen = 0;
        s.fault_fired = false;
    }

    /// Whether the planned failure has fired since it was set.
    #[must_use]
    pub fn fault_fired(&self) -> bool {
        self.lock().fault_fired
    }

    /// Limits the total size of all files to `bytes`; writes past it are short, then fail
    /// with `ENOSPC`. `None` removes the limit.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock().capacity = bytes;
    }

    /// Makes every `sync_data` take `delay` (outside the file system's lock), as a disk does.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.lock().sync_delay = delay;
    }

    /// Counts of the operations made so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// The file system as it is after `crash`: a new, independent `SimFs`.
    #[must_use]
    pub fn crash(&self, crash: Crash) -> SimFs {
        let s = self.lock();
        let mut out = State {
            next_inode: s.next_inode,
            ..State::default()
        };
        let seed = match crash {
            Crash::SectorChaos { seed, .. } | Crash::NamespaceChaos { seed } => seed,
            _ => 0,
        };
        let mut rng = Rng(seed);
        for (path, dir) in &s.dirs {
            let entries = match crash {
                Crash::ProcessKill => dir.entries.clone(),
                Crash::NamespaceChaos { .. } => dir.chaos(&mut rng),
                _ => dir.durable.clone(),
            };
            for &ino in entries.values() {
                let Some(f) = s.files.get(&ino) else { continue };
                let image = match crash {
                    Crash::ProcessKill => f.data.clone(),
                    Crash::DropUnsynced | Crash::NamespaceChaos { .. } => f.durable.clone(),
                    Crash::TornPrefix(n) => torn_prefix(f, n),
                    Crash::SectorChaos { sector, psow, .. } => {
                        sector_chaos(f, sector.max(1), psow, &mut rng)
                    }
                };
                out.files.insert(
                    ino,
                    Inode {
                        data: image.clone(),
                        durable: image,
                        pending: Vec::new(),
                    },
                );
            }
            out.dirs.insert(
                path.clone(),
                Dir {
                    durable: entries.clone(),
                    entries,
                    ops: Vec::new(),
                },
            );
        }
        SimFs {
            state: Arc::new(Mutex::new(out)),
        }
    }

    /// The current (page-cache) contents of a file, or `None` if there is none at `path`.
    #[must_use]
    pub fn read_file(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        let ino = s.lookup(path).ok()?;
        s.files.get(&ino).map(|f| f.data.clone())
    }

    /// Replaces a file's contents, durably, creating it if needed: for damaging a log in tests.
    ///
    /// # Panics
    /// If the parent directory does not exist.
    pub fn write_file(&self, path: &Path, bytes: &[u8]) {
        let mut s = self.lock();
        let ino = if let Ok(ino) = s.lookup(path) {
            ino
        } else {
            let (dir, name) = split(path).expect("a file path");
            s.next_inode += 1;
            let ino = s.next_inode;
            let d = s.dirs.get_mut(&dir).expect("the parent directory exists");
            d.entries.insert(name.clone(), ino);
            d.durable.insert(name, ino);
            ino
        };
        s.files.insert(
            ino,
            Inode {
                data: bytes.to_vec(),
                durable: bytes.to_vec(),
                pending: Vec::new(),
            },
        );
    }

    /// Removes a file durably: for damaging a log in tests. Returns whether it existed.
    #[must_use = "whether the file existed"]
    pub fn delete_file(&self, path: &Path) -> bool {
        let mut s = self.lock();
        let Ok((dir, name)) = split(path) else {
            return false;
        };
        let Some(d) = s.dirs.get_mut(&dir) else {
            return false;
        };
        d.durable.remove(&name);
        d.entries.remove(&name).is_some()
    }

    /// The names in a directory, sorted.
    #[must_use]
    pub fn file_names(&self, dir: &Path) -> Vec<String> {
        self.lock()
            .dirs
            .get(dir)
            .map(|d| d.entries.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// M3: each sector touched by an unsynced write holds new data, old data, zeros or garbage.
fn sector_chaos(f: &Inode, sector: u64, psow: bool, rng: &mut Rng) -> Vec<u8> {
    let len = if rng.below(2) == 0 {
        f.data.len()
    } else {
        f.durable.len()
    };
    let mut written = vec![false; f.data.len().max(f.durable.len())];
    for op in &f.pending {
        if let Pending::Write { offset, data } = op {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            for w in written.iter_mut().skip(start).take(data.len()) {
                *w = true;
            }
        }
    }
    let old = |i: usize| f.durable.get(i).copied().unwrap_or(0);
    let mut image: Vec<u8> = (0..len).map(old).collect();
    let sector = usize::try_from(sector).unwrap_or(usize::MAX);
    for start in (0..len).step_by(sector) {
        let end = (start + sector).min(len);
        if !written[start..end].iter().any(|&w| w) {
            continue;
        }
        let outcome = rng.below(4);
        for (i, byte) in image.iter_mut().enumerate().take(end).skip(start) {
            // With power-safe overwrite, bytes not written keep their old value.
            if !written[i] && (psow || outcome < 2) {
                continue;
            }
            *byte = match outcome {
                0 => f.data.get(i).copied().unwrap_or(0),
                1 => old(i),
                2 => 0,
                _ => u8::try_from(rng.below(256)).unwrap_or(0),
            };
        }
    }
    image
}

fn torn_prefix(f: &Inode, mut budget: u64) -> Vec<u8> {
    let mut image = f.durable.clone();
    for op in &f.pending {
        match op {
            Pending::Write { offset, data } => {
                let take = usize::try_from(budget.min(data.len() as u64)).unwrap_or(usize::MAX);
                apply(
                    &mut image,
                    &Pending::Write {
                        offset: *offset,
                        data: data[..take].to_vec(),
                    },
                );
                budget -= take as u64;
                if take < data.len() {
                    break;
                }
            }
            Pending::SetLen(_) => apply(&mut image, op),
        }
    }
    image
}

#[derive(Debug)]
struct SimFile {
    fs: SimFs,
    ino: u64,
    writable: bool,
}

#[derive(Debug)]
struct SimLock {
    fs: SimFs,
    dir: PathBuf,
}

impl DirLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.lock().locks.remove(&self.dir);
    }
}

impl FileSystem for SimFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.check(Op::Create)?;
        for p in path.ancestors() {
            s.dirs.entry(p.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        let mut s = self.lock();
        s.check(Op::Stat)?;
        if s.dirs.contains_key(path) {
            Ok(true)
        } else {
            s.lookup(path).map(|_| false)
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut s = self.lock();
        s.check(Op::Stat)?;
        Ok(s.dir_mut(dir)?.entries.keys().cloned().collect())
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut s = self.lock();
        s.check(Op::Open)?;
        let ino = s.lookup(path)?;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            writable: false,
        }))
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut s = self.lock();
        s.check(Op::Open)?;
        let ino = s.lookup(path)?;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            writable: true,
        }))
    }

    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut s = self.lock();
        s.check(Op::Create)?;
        let (dir, name) = split(path)?;
        s.next_inode += 1;
        let ino = s.next_inode;
        let d = s.dir_mut(&dir)?;
        if d.entries.contains_key(&name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        d.entries.insert(name.clone(), ino);
        d.ops.push(NsOp::Insert(name, ino));
        s.files.insert(ino, Inode::default());
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            writable: true,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.check(Op::Rename)?;
        let ino = s.lookup(from)?;
        let (fdir, fname) = split(from)?;
        let (tdir, tname) = split(to)?;
        s.dir_mut(&tdir)?;
        s.dir_mut(&fdir)?.entries.remove(&fname);
        let target = s.dir_mut(&tdir)?;
        target.entries.insert(tname.clone(), ino);
        if fdir == tdir {
            target.ops.push(NsOp::Rename {
                from: fname,
                to: tname,
                ino,
            });
        } else {
            target.ops.push(NsOp::Insert(tname, ino));
            s.dir_mut(&fdir)?.ops.push(NsOp::Remove(fname));
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.check(Op::Remove)?;
        s.lookup(path)?;
        let (dir, name) = split(path)?;
        let d = s.dir_mut(&dir)?;
        d.entries.remove(&name);
        d.ops.push(NsOp::Remove(name));
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.check(Op::SyncDir)?;
        let d = s.dir_mut(dir)?;
        d.durable = d.entries.clone();
        d.ops.clear();
        s.stats.dir_syncs += 1;
        Ok(())
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let mut s = self.lock();
        s.check(Op::Open)?;
        if !s.locks.insert(dir.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Box::new(SimLock {
            fs: self.clone(),
            dir: dir.to_path_buf(),
        }))
    }
}

impl SimFile {
    fn with<R>(&self, op: Op, f: impl FnOnce(&mut State, u64) -> io::Result<R>) -> io::Result<R> {
        let mut s = self.fs.lock();
        s.check(op)?;
        if !s.files.contains_key(&self.ino) {
            return Err(io::ErrorKind::NotFound.into());
        }
        f(&mut s, self.ino)
    }

    fn writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(9))
        }
    }

    fn push(s: &mut State, ino: u64, op: Pending) {
        if let Some(f) = s.files.get_mut(&ino) {
            apply(&mut f.data, &op);
            f.pending.push(op);
        }
    }
}

impl File for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with(Op::Read, |s, ino| {
            let data = &s.files[&ino].data;
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.writable()?;
        self.with(Op::Write, |s, ino| {
            let old_len = s.files[&ino].data.len() as u64;
            let end = offset + buf.len() as u64;
            let growth = end.saturating_sub(old_len);
            let room = s.room(growth);
            let n = usize::try_from(buf.len() as u64 - (growth - room)).unwrap_or(0);
            if n == 0 && !buf.is_empty() {
                return Err(FaultError::NoSpace.to_io());
            }
            Self::push(
                s,
                ino,
                Pending::Write {
                    offset,
                    data: buf[..n].to_vec(),
                },
            );
            s.stats.writes += 1;
            Ok(n)
        })
    }

    fn len(&self) -> io::Result<u64> {
        self.with(Op::Stat, |s, ino| Ok(s.files[&ino].data.len() as u64))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.writable()?;
        self.with(Op::SetLen, |s, ino| {
            let growth = len.saturating_sub(s.files[&ino].data.len() as u64);
            if s.room(growth) < growth {
                return Err(FaultError::NoSpace.to_io());
            }
            Self::push(s, ino, Pending::SetLen(len));
            Ok(())
        })
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        self.writable()?;
        self.with(Op::Allocate, |s, ino| {
            let old = s.files[&ino].data.len() as u64;
            let growth = len.saturating_sub(old);
            if s.room(growth) < growth {
                return Err(FaultError::NoSpace.to_io());
            }
            if growth > 0 {
                Self::push(s, ino, Pending::SetLen(len));
            }
            Ok(())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        let delay = self.fs.lock().sync_delay;
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let lying = self
            .fs
            .lock()
            .fault
            .is_some_and(|f| f.error == FaultError::EioLosingData);
        let result = self.with(Op::Sync, |s, ino| {
            if let Some(f) = s.files.get_mut(&ino) {
                for op in std::mem::take(&mut f.pending) {
                    apply(&mut f.durable, &op);
                }
            }
            s.stats.syncs += 1;
            Ok(())
        });
        if result.is_err() && lying {
            // The kernel dropped the dirty pages: they stay readable but never reach the disk.
            if let Some(f) = self.fs.lock().files.get_mut(&self.ino) {
                f.pending.clear();
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(fs: &SimFs, p: &str) -> Arc<dyn File> {
        fs.create_dir_all(Path::new("/d")).unwrap();
        fs.create_new(Path::new(p)).unwrap()
    }

    #[test]
    fn unsynced_writes_and_names_are_lost_on_power_loss() {
        let fs = SimFs::new();
        let f = file(&fs, "/d/a");
        f.write_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        // The name is not durable until the directory is synced.
        assert_eq!(
            fs.crash(Crash::DropUnsynced).read_file(Path::new("/d/a")),
            None
        );
        fs.sync_dir(Path::new("/d")).unwrap();
        f.write_at(b" world", 5).unwrap();
        assert_eq!(
            fs.crash(Crash::DropUnsynced)
                .read_file(Path::new("/d/a"))
                .unwrap(),
            b"hello"
        );
        assert_eq!(
            fs.crash(Crash::TornPrefix(3))
                .read_file(Path::new("/d/a"))
                .unwrap(),
            b"hello wo"
        );
        assert_eq!(
            fs.crash(Crash::ProcessKill)
                .read_file(Path::new("/d/a"))
                .unwrap(),
            b"hello world"
        );
    }

    #[test]
    fn faults_fire_once_or_persist() {
        let fs = SimFs::new();
        let f = file(&fs, "/d/a");
        fs.set_fault(Some(Fault {
            op: Some(Op::Sync),
            skip: 1,
            persistent: false,
            error: FaultError::Eio,
        }));
        f.sync_data().unwrap();
        assert_eq!(f.sync_data().unwrap_err().raw_os_error(), Some(5));
        f.sync_data().unwrap();
        fs.set_fault(Some(Fault {
            op: None,
            skip: 0,
            persistent: true,
            error: FaultError::Eio,
        }));
        assert!(f.write_at(b"x", 0).is_err());
        assert!(f.len().is_err());
    }

    #[test]
    fn capacity_gives_a_short_write_then_enospc() {
        let fs = SimFs::new();
        let f = file(&fs, "/d/a");
        fs.set_capacity(Some(4));
        assert_eq!(f.write_at(b"abcdef", 0).unwrap(), 4);
        assert_eq!(f.write_at(b"ef", 4).unwrap_err().raw_os_error(), Some(28));
        // Overwriting within the file needs no room.
        assert_eq!(f.write_at(b"xy", 0).unwrap(), 2);
    }
}
