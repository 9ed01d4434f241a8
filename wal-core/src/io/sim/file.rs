//! The simulated files and directory lock, and the `FileSystem` the log sees.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    DirLock, FaultError, File, FileSystem, Inode, NsOp, Op, SimFs, State, UnsyncedChange, apply,
    split,
};

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
        let mut s = self.fs.lock();
        s.locks.remove(&self.dir);
        s.open_files -= 1;
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        self.fs.lock().open_files -= 1;
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
        s.use_descriptor()?;
        Ok(s.dir_mut(dir)?.entries.keys().cloned().collect())
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        self.open(path, false)
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        self.open(path, true)
    }

    fn create_new(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut s = self.lock();
        s.check(Op::Create)?;
        let (dir, name) = split(path)?;
        if s.dir_mut(&dir)?.entries.contains_key(&name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        s.hold_descriptor()?;
        s.next_inode += 1;
        let ino = s.next_inode;
        let d = s.dir_mut(&dir)?;
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
        s.dir_mut(dir)?;
        s.use_descriptor()?;
        let d = s.dir_mut(dir)?;
        d.durable = d.entries.clone();
        d.ops.clear();
        s.stats.dir_syncs += 1;
        Ok(())
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let mut s = self.lock();
        s.check(Op::Open)?;
        s.use_descriptor()?;
        if !s.locks.insert(dir.to_path_buf()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        s.open_files += 1;
        Ok(Box::new(SimLock {
            fs: self.clone(),
            dir: dir.to_path_buf(),
        }))
    }
}

impl SimFs {
    /// Opens an existing file, for reading or also for writing.
    fn open(&self, path: &Path, writable: bool) -> io::Result<Arc<dyn File>> {
        let mut s = self.lock();
        s.check(Op::Open)?;
        let ino = s.lookup(path)?;
        s.hold_descriptor()?;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            writable,
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

    fn push(s: &mut State, ino: u64, op: UnsyncedChange) {
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
                UnsyncedChange::Write {
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
            Self::push(s, ino, UnsyncedChange::SetLen(len));
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
                Self::push(s, ino, UnsyncedChange::SetLen(len));
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
