//! `wal salvage`: every valid entry copied into a new log; what was skipped, and why.

use std::io::Write;
use std::path::Path;

use wal_core::{DecodeError, EncodeError, Entry, Options, RecoveryMode, SyncPolicy, Wal};

use super::io;
use crate::open::open;

/// Every type id (`0` is the log's own).
const ALL_TYPES: [u8; 255] = {
    let mut ids = [0u8; 255];
    let mut id: u8 = 1;
    while id != 0 {
        ids[id as usize - 1] = id;
        id = id.wrapping_add(1);
    }
    ids
};

/// An entry copied as it was: type, flag and payload.
struct Copied<'a> {
    type_id: u8,
    ignorable: bool,
    payload: &'a [u8],
}

impl Entry for Copied<'_> {
    const TYPE_IDS: &'static [u8] = &ALL_TYPES;
    fn type_id(&self) -> u8 {
        self.type_id
    }
    fn ignorable(&self) -> bool {
        self.ignorable
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(self.payload);
        Ok(())
    }
    fn decode(_: u8, _: &[u8]) -> Result<Self, DecodeError> {
        Err(DecodeError::Invalid("salvage only writes entries".into()))
    }
}

pub(crate) fn run(dir: &Path, to: &Path, out: &mut impl Write) -> Result<u8, String> {
    if std::fs::canonicalize(dir).ok() == std::fs::canonicalize(to).ok() {
        return Err(format!(
            "{}: salvage never writes in place; give another directory with --to",
            to.display()
        ));
    }
    if std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "{}: not empty; salvage writes only into a new or empty directory",
            to.display()
        ));
    }
    let src = open(dir, RecoveryMode::Salvage)?;
    let dst =
        Wal::open(to, Options::default().sync(SyncPolicy::Never)).map_err(|e| e.to_string())?;
    let first = src.first_index();
    if first > 1 {
        dst.restart_at(first).map_err(|e| e.to_string())?;
    }
    let (mut copied, mut gaps) = (0u64, Vec::new());
    let mut expected = first;
    if src.last_index() >= first {
        for raw in src.iter().map_err(|e| e.to_string())? {
            let raw = raw.map_err(|e| e.to_string())?;
            if raw.index() != expected {
                gaps.push((expected, raw.index() - 1));
            }
            dst.append(&Copied {
                type_id: raw.type_id(),
                ignorable: raw.is_ignorable(),
                payload: raw.payload(),
            })
            .map_err(|e| e.to_string())?;
            expected = raw.index() + 1;
            copied += 1;
        }
    }
    dst.close().map_err(|e| e.to_string())?;
    for cut in &src.recovery_report().cuts {
        writeln!(
            out,
            "skipped: {} bytes of {} at offset {}: {}",
            cut.bytes,
            cut.segment.display(),
            cut.offset,
            cut.reason
        )
        .map_err(io)?;
    }
    for (a, b) in &gaps {
        writeln!(out, "missing: entries {a}..={b} (in the damaged bytes); the entries after them are renumbered from {a}").map_err(io)?;
    }
    writeln!(
        out,
        "copied {copied} entries into {} (indexes {first}..={})",
        to.display(),
        first + copied - 1
    )
    .map_err(io)?;
    Ok(0)
}
