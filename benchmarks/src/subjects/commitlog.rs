//! commitlog 0.2: `append_msg` per append, `flush` to sync. Its `flush` msyncs the offset
//! index but only flushes the segment file's (absent) user-space buffer: the data itself is
//! never fsynced, so no mode of it is durable. The durable workloads still run it, flagged.
use std::path::Path;
use std::sync::Mutex;

use commitlog::message::MessageSet;
use commitlog::{CommitLog as Log, LogOptions, ReadLimit};

use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct CommitLog;

fn open(dir: &Path) -> Result<Log> {
    Ok(Log::new(LogOptions::new(dir))?)
}

impl Subject for CommitLog {
    fn name(&self) -> &'static str {
        "commitlog 0.2.0"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Never
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "`append_msg`, `flush` at the end",
            "`append_msg` + `flush` under a mutex (no fsync of the data)",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let mut log = open(dir)?;
        let mut last = 0;
        each(n, size, |p| {
            last = log.append_msg(p)?;
            Ok(())
        })?;
        log.flush()?;
        Ok(last.to_string())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let log = Mutex::new(open(dir)?);
        on_threads(threads, |_| {
            each(per_thread, size, |p| {
                let mut log = log.lock().map_err(|_| "poisoned")?;
                log.append_msg(p)?;
                Ok(log.flush()?)
            })
        })
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let log = open(dir)?;
        let (mut t, mut next) = (Tally::default(), 0);
        loop {
            let buf = log.read(next, ReadLimit::max_bytes(1 << 20))?;
            if buf.is_empty() {
                return Ok(t);
            }
            for m in buf.iter() {
                if !m.verify_hash() {
                    return Err(format!("commitlog: bad checksum at offset {}", m.offset()).into());
                }
                t.add(m.payload());
                next = m.offset() + 1;
            }
        }
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let log = open(dir)?;
        let buf = log.read(locator.parse()?, ReadLimit::max_bytes(1 << 20))?;
        let m = buf.iter().next().ok_or("commitlog: no such entry")?;
        if !m.verify_hash() {
            return Err("commitlog: bad checksum".into());
        }
        Ok(m.payload().to_vec())
    }
}
