//! raft-engine 0.4 (default features off): an append is a one-entry `LogBatch` written with
//! `Engine::write`; `sync = true` makes it durable (write groups share one fsync). Fastest:
//! `sync = false` except on the last write (`Engine::sync` with nothing to write is a no-op).
//! Compression is off, so the noise payload costs no LZ4 time. Each writer thread is its own
//! Raft group, as raft-engine requires dense indexes per group.
use std::path::Path;

use protobuf::well_known_types::BytesValue;
use raft_engine::{Config, Engine, LogBatch, MessageExt, ReadableSize};

use crate::payload::{each, number};
use crate::{Fsync, Result, Subject, Tally, on_threads};

pub struct RaftEngine;

/// Entries are protobuf `BytesValue`s; the index is the payload's number plus one.
#[derive(Clone)]
struct Msg;

impl MessageExt for Msg {
    type Entry = BytesValue;
    fn index(e: &BytesValue) -> u64 {
        number(&e.value).map_or(0, |n| n + 1)
    }
}

fn open(dir: &Path) -> Result<Engine> {
    let cfg = Config {
        dir: dir.to_str().ok_or("path is not UTF-8")?.to_owned(),
        batch_compression_threshold: ReadableSize(0),
        ..Config::default()
    };
    Ok(Engine::open(cfg)?)
}

fn entry(p: &[u8]) -> BytesValue {
    let mut v = BytesValue::new();
    v.value = p.to_vec();
    v
}

impl Subject for RaftEngine {
    fn name(&self) -> &'static str {
        "raft-engine 0.4.2"
    }
    fn fsync(&self) -> Fsync {
        Fsync::Yes
    }
    fn modes(&self) -> (&'static str, &'static str) {
        (
            "`write(batch, sync = false)`, the last with `sync = true`",
            "`write(batch, sync = true)` (write groups)",
        )
    }

    fn bulk(&self, dir: &Path, n: u64, size: usize) -> Result<String> {
        let engine = open(dir)?;
        let mut batch = LogBatch::default();
        each(n, size, |p| {
            batch.add_entries::<Msg>(1, &[entry(p)])?;
            engine.write(&mut batch, number(p) == Some(n - 1))?;
            Ok(())
        })?;
        Ok(n.to_string())
    }

    fn durable(&self, dir: &Path, threads: usize, per_thread: u64, size: usize) -> Result<()> {
        let engine = open(dir)?;
        on_threads(threads, |t| {
            let mut batch = LogBatch::default();
            each(per_thread, size, |p| {
                batch.add_entries::<Msg>(t as u64 + 1, &[entry(p)])?;
                engine.write(&mut batch, true)?;
                Ok(())
            })
        })
    }

    fn replay(&self, dir: &Path) -> Result<Tally> {
        let engine = open(dir)?;
        let mut t = Tally::default();
        let mut out = Vec::with_capacity(4096);
        // Every raft group (the durable workloads write one per thread), in order.
        let mut groups = engine.raft_groups();
        groups.sort_unstable();
        for group in groups {
            let (Some(first), Some(last)) = (engine.first_index(group), engine.last_index(group))
            else {
                continue;
            };
            let mut from = first;
            while from <= last {
                let to = (from + 4096).min(last + 1);
                out.clear();
                engine.fetch_entries_to::<Msg>(group, from, to, None, &mut out)?;
                for e in &out {
                    t.add(&e.value);
                }
                from = to;
            }
        }
        Ok(t)
    }

    fn open_last(&self, dir: &Path, locator: &str) -> Result<Vec<u8>> {
        let engine = open(dir)?;
        let e = engine
            .get_entry::<Msg>(1, locator.parse()?)?
            .ok_or("raft-engine: no such entry")?;
        Ok(e.value)
    }
}
