//! walcraft 0.3: `append` buffers into pages, `flush` writes them and, with `enable_fsync`,
//! fsyncs. Fastest: 64 KiB pages and one `flush` at the end (fsync on, so that flush is
//! durable). Durable: `flush` after every append. No random access: reading the last entry
//! means iterating the whole log. Its iterator skips pages whose checksum fails.
use std::path::Path;

use walcraft::{Size, Wal, WalBuilder, WalError};

use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct Walcraft;

fn open(dir: &Path, page: Size) -> Result<Wal> {
    ok(WalBuilder::new()
        .location(dir)
        .page_size(page)
        .enable_fsync()
        .build())
}

/// `WalError` does not implement `std::error::Error`.
fn ok<T>(r: std::result::Result<T, WalError>) -> Result<T> {
    r.map_err(|e| format!("walcraft: {e:?}").into())
}

impl Subject for Walcraft {
    fn name(&self) -> &'static str {
        "walcraft 0.3.0"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Yes
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "64 KiB pages, `flush` (fsync on) at the end",
            "`append` + `flush` with fsync on",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let wal = open(dir, Size::Kb(64))?;
        each(n, size, |p| ok(wal.append(p)))?;
        ok(wal.flush())?;
        Ok(String::new())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let wal = open(dir, Size::Kb(4))?;
        on_threads(threads, |_| {
            each(per_thread, size, |p| {
                ok(wal.append(p))?;
                ok(wal.flush())
            })
        })
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let wal = open(dir, Size::Kb(64))?;
        let mut t = Tally::default();
        for e in ok(wal.iter())? {
            t.add(e.data());
        }
        Ok(t)
    }

    fn open_last(&self, dir: &Path, _locator: &str) -> Result<Vec<u8>> {
        let wal = open(dir, Size::Kb(64))?;
        let last = ok(wal.iter())?.last().ok_or("walcraft: empty log")?;
        Ok(last.data().to_vec())
    }
}
