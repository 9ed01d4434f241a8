//! simple_wal 0.3: one file, `write` per append, `flush` to sync. `flush` is
//! `File::flush`, which does nothing: it never fsyncs, so no mode of it is durable. The
//! durable workloads still run it, flagged.
use std::path::Path;
use std::sync::Mutex;

use simple_wal::LogFile;

use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct SimpleWal;

fn open(dir: &Path) -> Result<LogFile> {
    std::fs::create_dir_all(dir)?;
    Ok(LogFile::open(dir.join("log"))?)
}

impl Subject for SimpleWal {
    fn name(&self) -> &'static str {
        "simple_wal 0.3.0"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Never
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "`write`, `flush` at the end",
            "`write` + `flush` under a mutex (`flush` does not sync)",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let mut log = open(dir)?;
        each(n, size, |p| Ok(log.write(p)?))?;
        log.flush()?;
        Ok(log.last_index().to_string())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let log = Mutex::new(open(dir)?);
        on_threads(threads, |_| {
            each(per_thread, size, |p| {
                let mut log = log.lock().map_err(|_| "poisoned")?;
                log.write(p)?;
                Ok(log.flush()?)
            })
        })
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let mut log = open(dir)?;
        let mut t = Tally::default();
        for e in log.iter(..)? {
            t.add(&e?);
        }
        Ok(t)
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let mut log = open(dir)?;
        let mut out = Vec::new();
        log.seek(locator.parse()?)?.read_to_next(&mut out)?;
        Ok(out)
    }
}
