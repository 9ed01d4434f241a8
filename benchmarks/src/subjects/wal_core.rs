//! This library: `SyncPolicy::Never` plus one `sync()` when fastest, the default
//! `SyncPolicy::Always` (group commit) when durable.
use std::path::Path;

use wal_core::{Options, SyncPolicy, Wal};

use crate::args::Bytes;
use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct WalCore;

/// Appends the payload in `p` without copying it (the buffer goes back into `p`).
fn append(wal: &Wal, p: &mut Vec<u8>) -> Result<u64> {
    let e = Bytes(std::mem::take(p));
    let index = wal.append(&e);
    *p = e.0;
    Ok(index?)
}

impl Subject for WalCore {
    fn name(&self) -> &'static str {
        "wal-core (this)"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Yes
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "`SyncPolicy::Never`, `sync()` at the end",
            "`SyncPolicy::Always` (default): group commit, fdatasync",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let wal = Wal::open(dir, Options::default().sync(SyncPolicy::Never))?;
        let mut last = 0;
        each(n, size, |p| {
            last = append(&wal, p)?;
            Ok(())
        })?;
        wal.sync()?;
        wal.close()?;
        Ok(last.to_string())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let wal = Wal::open(dir, Options::default())?;
        on_threads(threads, |_| {
            each(per_thread, size, |p| append(&wal, p).map(drop))
        })?;
        wal.close()?;
        Ok(())
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let wal = Wal::open(dir, Options::default())?;
        let mut t = Tally::default();
        // The lending form: each entry borrowed from the read buffer.
        let mut iter = wal.iter()?;
        while let Some(e) = iter.next_ref() {
            t.add(&e?.payload()?);
        }
        Ok(t)
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let wal = Wal::open(dir, Options::default())?;
        Ok(wal.get_raw(locator.parse()?)?.payload().to_vec())
    }
}
