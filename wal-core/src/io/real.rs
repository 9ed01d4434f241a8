//! The operating system's file system: the only place that uses `std::fs`.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::{DirLock, File, FileSystem};

/// The real file system: `pread`/`pwrite`, `fdatasync`, `fallocate`, directory `fsync`, and
/// an advisory POSIX record lock on a `LOCK` file for the directory lock.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

#[derive(Debug)]
struct RealFile(fs::File);

/// A log directory's lock: a POSIX record lock on its `LOCK` file, held by this process
/// (a child process does not inherit it, so a process spawned while the log is open never
/// holds the lock after the log closes, as it would hold an `flock`), and, within the
/// process, the directory's entry in [`HELD`] (record locks do not exclude the process
/// that holds them).
#[derive(Debug)]
struct RealLock {
    /// The directory's device and inode.
    key: (u64, u64),
    /// Held for its lock. Closing any descriptor of the file releases the lock: no other
    /// one is opened while the directory is in [`HELD`].
    file: Option<fs::File>,
}

/// The directories this process holds locked, by device and inode.
static HELD: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

fn held() -> std::sync::MutexGuard<'static, Vec<(u64, u64)>> {
    HELD.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DirLock for RealLock {}

impl Drop for RealLock {
    fn drop(&mut self) {
        // Closed (the record lock released) before the entry goes: a thread of this process
        // that then opens the file cannot have its new lock released by this close.
        let mut held = held();
        drop(self.file.take());
        held.retain(|k| *k != self.key);
    }
}

impl RealLock {
    /// Locks `dir` for this process and this `Wal`; `WouldBlock` when it is locked.
    fn acquire(dir: &Path) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(dir)?;
        let key = (meta.dev(), meta.ino());
        let mut held = held();
        if held.contains(&key) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("LOCK"))?;
        match rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Err(e) => return Err(e.into()),
        }
        held.push(key);
        Ok(Self {
            key,
            file: Some(file),
        })
    }
}

impl FileSystem for RealFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)?;
        // Make the new directory's own entry durable in its parent.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.sync_dir(parent)?;
        }
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        Ok(fs::metadata(path)?.is_dir())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(Arc::new(RealFile(fs::File::open(path)?)))
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(Arc::new(RealFile(
            fs::OpenOptions::new().read(true).write(true).open(path)?,
        )))
    }

    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Arc::new(RealFile(f)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        fs::File::open(dir)?.sync_all()
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        Ok(Box::new(RealLock::acquire(dir)?))
    }
}

impl File for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.0.write_at(buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        match rustix::fs::fallocate(&self.0, rustix::fs::FallocateFlags::empty(), 0, len) {
            Ok(()) => Ok(()),
            // File systems without fallocate: extend with zeros instead (sparse).
            Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::NOSYS) => {
                if self.len()? < len {
                    self.0.set_len(len)?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}
