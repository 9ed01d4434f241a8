//! okaywal 0.3: an append is a chunk, a sync is `EntryWriter::commit` (which always
//! fsyncs). Fastest: every chunk in one entry, committed once. Durable: one entry per append.
//! Checkpointing is pushed out of reach so the log keeps everything for the replay.
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use okaywal::{
    Configuration, Entry, EntryId, LogManager, LogPosition, SegmentReader, WriteAheadLog,
};

use crate::payload::each;
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct OkayWal;

/// Counts what recovery hands over; reads (and so checks) the chunks only when `read`.
#[derive(Debug, Default, Clone)]
struct Manager {
    read: bool,
    seen: Arc<Mutex<Tally>>,
}

impl LogManager for Manager {
    fn recover(&mut self, entry: &mut Entry<'_>) -> std::io::Result<()> {
        if self.read
            && let Some(chunks) = entry.read_all_chunks()?
        {
            let mut seen = self.seen.lock().expect("not poisoned");
            for c in chunks {
                seen.add(&c);
            }
        }
        Ok(())
    }

    fn checkpoint_to(
        &mut self,
        _last: EntryId,
        _entries: &mut SegmentReader,
        _wal: &WriteAheadLog,
    ) -> std::io::Result<()> {
        Ok(())
    }
}

fn open(dir: &Path, manager: Manager) -> Result<WriteAheadLog> {
    Ok(Configuration::default_for(dir)
        .checkpoint_after_bytes(u64::MAX)
        .open(manager)?)
}

impl Subject for OkayWal {
    fn name(&self) -> &'static str {
        "okaywal 0.3.1"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Yes
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "all appends as chunks of one entry, one `commit`",
            "one entry per append, `commit` (group commit)",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let log = open(dir, Manager::default())?;
        let mut writer = log.begin_entry()?;
        let mut last = None;
        each(n, size, |p| {
            last = Some(writer.write_chunk(p)?.position);
            Ok(())
        })?;
        writer.commit()?;
        log.shutdown()?;
        let mut locator = Vec::new();
        last.ok_or("no entries")?.serialize_to(&mut locator)?;
        Ok(locator.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let log = open(dir, Manager::default())?;
        on_threads(threads, |_| {
            each(per_thread, size, |p| {
                let mut writer = log.begin_entry()?;
                writer.write_chunk(p)?;
                writer.commit()?;
                Ok(())
            })
        })?;
        log.shutdown()?;
        Ok(())
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let manager = Manager {
            read: true,
            ..Manager::default()
        };
        let log = open(dir, manager.clone())?;
        let seen = *manager.seen.lock().expect("not poisoned");
        log.shutdown()?;
        Ok(seen)
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let bytes = (0..locator.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&locator[i..i + 2], 16))
            .collect::<std::result::Result<Vec<u8>, _>>()?;
        let position = LogPosition::deserialize_from(&bytes[..])?;
        let log = open(dir, Manager::default())?;
        let mut chunk = log.read_at(position)?;
        let mut data = Vec::new();
        chunk.read_to_end(&mut data)?;
        if !chunk.crc_is_valid()? {
            return Err("okaywal: checksum mismatch".into());
        }
        drop(chunk);
        log.shutdown()?;
        Ok(data)
    }
}
