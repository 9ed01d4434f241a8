//! `wal info`: identity, version, indexes, segments, and what recovery would do.

use std::io::Write;
use std::path::Path;

use wal_core::RecoveryMode;
use wal_core::format::FORMAT_VERSION;

use super::io;
use crate::open::open;

pub(crate) fn run(dir: &Path, out: &mut impl Write) -> Result<u8, String> {
    let wal = open(dir, RecoveryMode::TolerateTornTail)?;
    let segments = wal.segments();
    let bytes: u64 = segments.iter().map(|s| s.bytes).sum();
    writeln!(out, "log        {}", dir.display()).map_err(io)?;
    writeln!(out, "identity   {:016x}", wal.log_id()).map_err(io)?;
    writeln!(out, "format     version {FORMAT_VERSION}").map_err(io)?;
    writeln!(
        out,
        "entries    {} (indexes {}..={}), all durable up to {}",
        wal.last_index() + 1 - wal.first_index(),
        wal.first_index(),
        wal.last_index(),
        wal.durable_index()
    )
    .map_err(io)?;
    writeln!(out, "segments   {} ({bytes} bytes)", segments.len()).map_err(io)?;
    for s in &segments {
        let name = crate::show::file_name(s);
        writeln!(
            out,
            "  {name}  seq {:>5}  indexes {}..={}  {} bytes  {}",
            s.seq,
            s.first_index,
            s.last_index,
            s.bytes,
            if s.sealed { "sealed" } else { "open" }
        )
        .map_err(io)?;
    }
    let marks: Vec<String> = ["LOW_WATER", "HIGH_WATER", "CUT"]
        .into_iter()
        .filter(|m| dir.join(m).exists())
        .map(str::to_owned)
        .collect();
    writeln!(out, "marks      {}", marks.join(", ")).map_err(io)?;
    let report = wal.recovery_report();
    if report.cuts.is_empty() && report.missing_newest_seq.is_none() {
        writeln!(
            out,
            "recovery   nothing to do at open (sealed segments are read in full by `wal verify`)"
        )
        .map_err(io)?;
    }
    for cut in &report.cuts {
        writeln!(
            out,
            "recovery   would cut {} bytes of {} at offset {}: {}",
            cut.bytes,
            cut.segment.display(),
            cut.offset,
            cut.reason
        )
        .map_err(io)?;
    }
    if let Some(seq) = report.missing_newest_seq {
        writeln!(out, "recovery   segments up to seq {seq} are missing").map_err(io)?;
    }
    Ok(0)
}
