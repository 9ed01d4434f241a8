//! The file system as the log sees it: one trait for every operation the log makes.
//!
//! [`RealFs`] is the operating system's file system; the `testing` feature adds a simulated
//! one that can lose power and fail chosen operations. No code outside [`RealFs`] touches
//! `std::fs`.

mod observed;
mod real;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod sim;
mod write_behind;
pub(crate) use observed::{ObservedFs, SyncCounters};
pub(crate) use write_behind::WriteBehind;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use real::RealFs;

/// The directory and namespace operations the log makes.
///
/// Implementations must be usable from many threads at once.
pub trait FileSystem: Send + Sync + fmt::Debug + 'static {
    /// Creates a directory and its missing parents (durably, as far as the implementation can).
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// Whether `path` is a directory; `Err(NotFound)` when it does not exist.
    ///
    /// # Errors
    /// `NotFound`, or whatever the file system reports.
    fn is_dir(&self, path: &Path) -> io::Result<bool>;

    /// The names of the entries of a directory, in no particular order.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// Opens an existing file for reading.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>>;

    /// Opens an existing file for reading and writing.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn File>>;

    /// Creates a new file for reading and writing; fails with `AlreadyExists` if it exists.
    ///
    /// # Errors
    /// `AlreadyExists`, or whatever the file system reports.
    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn File>>;

    /// Renames `from` to `to`, replacing `to` if it exists.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creates, renames, removes) durable.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Takes the directory's exclusive lock, held until the returned guard is dropped.
    ///
    /// # Errors
    /// `WouldBlock` when another holder has it, or whatever the file system reports.
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>>;
}

/// An open file, read and written at explicit offsets so that one handle serves many threads.
#[expect(
    clippy::len_without_is_empty,
    reason = "a file's length is what the log asks for"
)]
pub trait File: Send + Sync + fmt::Debug {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at the end).
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes up to `buf.len()` bytes at `offset`; returns how many were written.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// The file's size in bytes.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn len(&self) -> io::Result<u64>;

    /// Truncates or extends (with zeros) the file to `len` bytes.
    ///
    /// # Errors
    /// Whatever the file system reports.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Reserves space so that the file can grow to `len` bytes without allocating; the
    /// file's size becomes at least `len` and the new bytes read as zeros.
    ///
    /// # Errors
    /// Whatever the file system reports (`StorageFull` when there is no room).
    fn allocate(&self, len: u64) -> io::Result<()>;

    /// Makes the file's data (and the metadata needed to read it) durable: `fdatasync`.
    ///
    /// # Errors
    /// Whatever the file system reports. After an error the state of the written data is
    /// unknown; the log poisons itself.
    fn sync_data(&self) -> io::Result<()>;
}

/// A held directory lock; dropping it releases the lock.
pub trait DirLock: Send + Sync + fmt::Debug {}

/// Reads exactly `buf.len()` bytes at `offset`, retrying short reads and `Interrupted`.
///
/// # Errors
/// `UnexpectedEof` when the file ends first, or whatever the file system reports.
pub fn read_exact_at(file: &dyn File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`, retrying short writes and `Interrupted`.
///
/// # Errors
/// `WriteZero` when the file system accepts nothing, or whatever it reports.
pub fn write_all_at(file: &dyn File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes `path` if it exists; returns whether it did.
///
/// # Errors
/// Whatever the file system reports, except that the file is not there.
pub(crate) fn remove_if_present(fs: &dyn FileSystem, path: &Path) -> io::Result<bool> {
    match fs.remove(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads `[offset, offset + len)` into a new vector, or fewer bytes if the file ends first.
pub(crate) fn read_range(file: &dyn File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Creates the file `name` in `dir` durably, holding `bytes` (and grown to `size` bytes when
/// that is more, by preallocation): written under `NAME.tmp` (a leftover of an interrupted
/// creation is removed first), synced, renamed into place, and the directory synced. After
/// a crash the file is either absent (a `.tmp` may be left) or whole. Returns the open file.
///
/// # Errors
/// [`crate::Error::Io`] naming the failed step and the file.
pub(crate) fn create_durably(
    fs: &dyn FileSystem,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    size: u64,
) -> crate::Result<Arc<dyn File>> {
    use crate::Error;
    let tmp = dir.join(format!("{name}.tmp"));
    remove_if_present(fs, &tmp).map_err(|e| Error::io("remove", &tmp, e))?;
    let file = fs
        .create_new(&tmp)
        .map_err(|e| Error::io("create", &tmp, e))?;
    write_all_at(&*file, bytes, 0).map_err(|e| Error::io("write", &tmp, e))?;
    if size > bytes.len() as u64 {
        file.allocate(size)
            .map_err(|e| Error::io("allocate", &tmp, e))?;
    }
    file.sync_data().map_err(|e| Error::io("sync", &tmp, e))?;
    fs.rename(&tmp, &dir.join(name))
        .map_err(|e| Error::io("rename", &tmp, e))?;
    fs.sync_dir(dir)
        .map_err(|e| Error::io("sync directory", dir, e))?;
    Ok(file)
}
