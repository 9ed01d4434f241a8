//! `wal verify`: every frame, footer, chain link and mark checked; each damaged place named.

use std::io::Write;
use std::path::Path;

use wal_core::RecoveryMode;

use super::io;
use crate::open::open;

/// The fast check, one sequential pass: the default open (headers, footer summaries, the
/// chain, the marks), every byte of every frame through `Wal::verify_each` (a sync-marker
/// window's CRC, or each frame's), every compressed payload restored, every sealed
/// segment's footer against its frames. `Some((segments, entries))` when all of it holds;
/// `None` at the first doubt, for the salvage scan to name every place.
fn clean(dir: &Path) -> Option<(usize, u64)> {
    let wal = open(dir, RecoveryMode::TolerateTornTail).ok()?;
    let report = wal.recovery_report();
    if !report.cuts.is_empty() || report.missing_newest_seq.is_some() {
        return None;
    }
    let segments = wal.segments();
    let mut progress = Progress::new(segments.iter().map(|s| s.bytes).sum());
    let mut entries = 0;
    wal.verify_each(|h| {
        progress.add(h.payload_len());
        entries += 1;
    })
    .ok()?;
    progress.finish();
    Some((segments.len(), entries))
}

/// A progress bar on stderr, shown only on a terminal and for logs over 256 MB; moved a
/// MiB at a time, so an entry costs an addition.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    /// Bytes not yet shown.
    unshown: u64,
}

impl Progress {
    const SHOWN_FROM: u64 = 256 << 20;
    const STEP: u64 = 1 << 20;

    fn new(total: u64) -> Self {
        use std::io::IsTerminal;
        let shown = total >= Self::SHOWN_FROM && std::io::stderr().is_terminal();
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "verifying {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Self { bar, unshown: 0 }
    }

    #[inline]
    fn add(&mut self, payload: u32) {
        // The frame's header with its payload.
        self.unshown += u64::from(payload) + 18;
        if self.unshown >= Self::STEP {
            if let Some(bar) = &self.bar {
                bar.inc(self.unshown);
            }
            self.unshown = 0;
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub(crate) fn run(dir: &Path, out: &mut impl Write) -> Result<u8, String> {
    if let Some((segments, entries)) = clean(dir) {
        writeln!(
            out,
            "ok: {segments} segments, {entries} entries, every frame verified"
        )
        .map_err(io)?;
        return Ok(0);
    }
    // Salvage reads every byte of every segment and goes on past damage, reporting each
    // place; it never writes.
    let wal = open(dir, RecoveryMode::Salvage)?;
    let report = wal.recovery_report();
    let mut damage = 0;
    for cut in &report.cuts {
        damage += 1;
        writeln!(
            out,
            "damage: {} at offset {}: {}",
            cut.segment.display(),
            cut.offset,
            cut.reason,
        )
        .map_err(io)?;
    }
    if let Some(seq) = report.missing_newest_seq {
        damage += 1;
        writeln!(
            out,
            "damage: the newest segments (up to seq {seq}) are missing"
        )
        .map_err(io)?;
    }
    // Salvage reads past a segment that is gone: the chain of sequence numbers shows it.
    let segments = wal.segments();
    for pair in segments.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if b.seq != a.seq + 1 {
            damage += 1;
            writeln!(
                out,
                "damage: segments with seq {}..={} are missing between {} and {} (entries {}..={} lost)",
                a.seq + 1,
                b.seq - 1,
                a.path.display(),
                b.path.display(),
                a.last_index + 1,
                b.first_index.saturating_sub(1)
            )
            .map_err(io)?;
        }
    }
    // With no damage found, the salvage scan checked every frame: the entries are the
    // segments' index ranges. Past damage, every entry is read again to name the gaps.
    let mut entries = 0u64;
    let mut missing = Vec::new();
    if damage == 0 {
        entries = (wal.last_index() + 1).saturating_sub(wal.first_index());
    } else if wal.last_index() >= wal.first_index() {
        let mut expected = wal.first_index();
        for raw in wal.iter().map_err(|e| e.to_string())? {
            match raw {
                Ok(raw) => {
                    entries += 1;
                    if raw.index() > expected {
                        missing.push((expected, raw.index() - 1));
                    }
                    expected = raw.index() + 1;
                }
                Err(e) => {
                    damage += 1;
                    writeln!(out, "damage: {e}").map_err(io)?;
                }
            }
        }
    }
    for (a, b) in &missing {
        writeln!(out, "lost: entries {a}..={b} (in damaged bytes)").map_err(io)?;
    }
    let segments = segments.len();
    if damage == 0 {
        writeln!(
            out,
            "ok: {segments} segments, {entries} entries, every frame verified"
        )
        .map_err(io)?;
        Ok(0)
    } else {
        writeln!(
            out,
            "{damage} damaged places; {entries} entries readable in {segments} segments (wal salvage copies them to a new log)"
        )
        .map_err(io)?;
        Ok(1)
    }
}
