//! `wal stats`: count and bytes per entry type and per segment, payload size percentiles.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use wal_core::{RecoveryMode, Wal};

use super::io;
use crate::open::open;
use crate::show::Types;

/// Entries per type (count, payload bytes) and every payload's size.
#[derive(Default)]
struct Tally {
    by_type: BTreeMap<u8, (u64, u64)>,
    sizes: Vec<u32>,
}

/// Reads every entry of the log opened by `mode`.
fn tally(wal: &Wal) -> Result<Tally, wal_core::Error> {
    let mut t = Tally::default();
    if wal.last_index() >= wal.first_index() {
        let mut iter = wal.iter()?;
        while let Some(entry) = iter.next_ref() {
            let entry = entry?;
            let n = entry.payload()?.len();
            let slot = t.by_type.entry(entry.type_id()).or_default();
            slot.0 += 1;
            slot.1 += n as u64;
            t.sizes.push(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
    Ok(t)
}

#[expect(clippy::cast_precision_loss, reason = "shares are percentages")]
pub(crate) fn run(dir: &Path, types: &Types, out: &mut impl Write) -> Result<u8, String> {
    let mut wal = open(dir, RecoveryMode::TolerateTornTail)?;
    let Tally { by_type, mut sizes } = match tally(&wal) {
        Ok(t) => t,
        // Damage in a sealed segment: count what can be read past it, and say so.
        Err(e @ wal_core::Error::Corruption { .. }) => {
            writeln!(
                out,
                "damaged: {e}; counted past the damage (see `wal verify`)"
            )
            .map_err(io)?;
            wal = open(dir, RecoveryMode::Salvage)?;
            tally(&wal).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let total: u64 = by_type.values().map(|v| v.1).sum();
    writeln!(out, "{} entries, {total} payload bytes", sizes.len()).map_err(io)?;
    writeln!(
        out,
        "\nby type:\n  {:<24} {:>12} {:>14} {:>7}",
        "type", "entries", "bytes", "share"
    )
    .map_err(io)?;
    for (t, (n, bytes)) in &by_type {
        let share = if total == 0 {
            0.0
        } else {
            100.0 * *bytes as f64 / total as f64
        };
        writeln!(
            out,
            "  {:<24} {n:>12} {bytes:>14} {share:>6.1}%",
            types.label(*t)
        )
        .map_err(io)?;
    }
    sizes.sort_unstable();
    let at = |p: usize| {
        sizes
            .get((sizes.len() * p / 100).min(sizes.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    writeln!(
        out,
        "\npayload size: p50 {} B, p90 {} B, p99 {} B, max {} B",
        at(50),
        at(90),
        at(99),
        sizes.last().copied().unwrap_or(0)
    )
    .map_err(io)?;
    writeln!(out, "\nby segment:").map_err(io)?;
    for s in wal.segments() {
        let name = crate::show::file_name(&s);
        writeln!(
            out,
            "  {name}  {:>8} entries  {:>12} bytes  {}",
            (s.last_index + 1).saturating_sub(s.first_index.max(wal.first_index())),
            s.bytes,
            if s.sealed { "sealed" } else { "open" }
        )
        .map_err(io)?;
    }
    Ok(0)
}
