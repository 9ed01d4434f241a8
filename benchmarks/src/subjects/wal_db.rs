//! wal-db 1.1, segmented (64 MiB): `append` per append, `sync` (fdatasync) to sync;
//! `append_and_sync` when durable (concurrent syncs share one fdatasync).
use std::path::Path;

use wal_db::{Lsn, Wal};

use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct WalDb;

fn open(dir: &Path) -> Result<Wal<wal_db::SegmentedStore>> {
    Ok(Wal::open_segmented(dir, 64 << 20)?)
}

impl Subject for WalDb {
    fn name(&self) -> &'static str {
        "wal-db 1.1.0"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Yes
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "`append`, `sync` at the end",
            "`append_and_sync` (group commit)",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let wal = open(dir)?;
        let mut last = Lsn::new(0);
        each(n, size, |p| {
            last = wal.append(p)?;
            Ok(())
        })?;
        wal.sync()?;
        Ok(last.get().to_string())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let wal = open(dir)?;
        on_threads(threads, |_| {
            each(per_thread, size, |p| {
                let _lsn = wal.append_and_sync(p)?;
                Ok(())
            })
        })
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let wal = open(dir)?;
        let mut t = Tally::default();
        for r in wal.iter()? {
            t.add(r?.data());
        }
        Ok(t)
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let wal = open(dir)?;
        let r = wal
            .iter_from(Lsn::new(locator.parse()?))?
            .next()
            .ok_or("wal-db: no such entry")??;
        Ok(r.into_data())
    }
}
