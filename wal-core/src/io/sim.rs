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

mod crash;
mod fault;
mod file;

pub use crash::Crash;
use crash::Rng;
pub use fault::{Fault, FaultError, Op};

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

/// A change to a file's bytes not yet made durable by `sync_data`.
#[derive(Debug, Clone)]
enum UnsyncedChange {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

/// A namespace change not yet made durable by `sync_dir`.
#[derive(Debug, Clone)]
enum NsOp {
    Insert(String, u64),
    Remove(String),
    Rename { from: String, to: String, ino: u64 },
}

#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<UnsyncedChange>,
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
    /// Descriptors held: open files and directory locks.
    open_files: usize,
    /// The most descriptors held at once (a transient one, as `sync_dir` takes, counted).
    peak_open_files: usize,
    /// Beyond this many descriptors, opening fails with `EMFILE`.
    max_open_files: Option<usize>,
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

fn apply(image: &mut Vec<u8>, op: &UnsyncedChange) {
    match op {
        UnsyncedChange::Write { offset, data } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
        UnsyncedChange::SetLen(len) => image.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
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

    /// Takes a descriptor for a file or lock held until its handle is dropped; `EMFILE`
    /// beyond the limit.
    fn hold_descriptor(&mut self) -> io::Result<()> {
        self.use_descriptor()?;
        self.open_files += 1;
        Ok(())
    }

    /// Checks there is a descriptor for an operation that opens one and closes it again
    /// (`sync_dir`, `list`); `EMFILE` beyond the limit.
    fn use_descriptor(&mut self) -> io::Result<()> {
        if self
            .max_open_files
            .is_some_and(|max| self.open_files >= max)
        {
            return Err(FaultError::TooManyOpenFiles.to_io());
        }
        self.peak_open_files = self.peak_open_files.max(self.open_files + 1);
        Ok(())
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

    /// Limits the descriptors held at once (open files, directory locks, and the one
    /// `sync_dir` and `list` take for a moment) to `max`; opening more fails with `EMFILE`,
    /// as a process at its `ulimit -n` does. `None` removes the limit. A crash's file
    /// system starts without one.
    pub fn set_max_open_files(&self, max: Option<usize>) {
        self.lock().max_open_files = max;
    }

    /// Descriptors held now: files opened and not yet dropped, and directory locks.
    #[must_use]
    pub fn open_files(&self) -> usize {
        self.lock().open_files
    }

    /// The most descriptors held at once since the file system was made or the peak was
    /// last reset, counting the transient one of `sync_dir` and `list`.
    #[must_use]
    pub fn peak_open_files(&self) -> usize {
        self.lock().peak_open_files
    }

    /// Starts counting the peak again from the descriptors held now.
    pub fn reset_peak_open_files(&self) {
        let mut s = self.lock();
        s.peak_open_files = s.open_files;
    }

    /// Counts of the operations made so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.lock().stats
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
