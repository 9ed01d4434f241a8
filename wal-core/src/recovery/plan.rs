//! Step two of recovery: the decision. From what was read and the recovery mode, a plan of
//! what to keep, cut, remove and quarantine, or a refusal; nothing on disk is touched.

use std::path::{Path, PathBuf};

use super::read::OnDisk;
use super::repair::quarantined_segment;
use super::{Body, Cut, Found, Plan, RecoveryReport, corrupt};
use crate::error::{CorruptionKind, Result};
use crate::marks::{HIGH_WATER, LOW_WATER};
use crate::options::RecoveryMode;
use crate::segment::{self, Scan, Stop};

/// What recovery keeps, and how: the plan for the disk and what the log is made of after it.
pub(super) struct Decision {
    pub plan: Plan,
    /// The log's first index.
    pub first_index: u64,
    /// How many of the segments read are kept (from `plan.remove_below` on).
    pub keep: usize,
    /// The segment cut, and the offset of the cut.
    pub cut_at: Option<(usize, u64)>,
    /// In Salvage mode, what was readable in each damaged segment.
    pub salvaged: Vec<Option<segment::Salvaged>>,
}

/// Decides what recovery does with the log `disk` holds (in `dir`) in `mode`; records what
/// it found in `report`. Drops from `disk.found` the segments above the high-water mark
/// (they are in the plan's `stale`).
///
/// # Errors
/// [`crate::Error::Corruption`] when `mode` refuses what was found.
pub(super) fn plan(
    disk: &mut OnDisk,
    dir: &Path,
    mode: RecoveryMode,
    max_entry_size: u32,
    report: &mut RecoveryReport,
) -> Result<Decision> {
    let OnDisk {
        names,
        found,
        short_tail,
        log_id,
        cut_mark,
        low_water,
        high_water,
        ..
    } = disk;
    let (log_id, low_water, high_water) = (*log_id, *low_water, *high_water);
    let closed_at = cut_mark.map(|(_, index)| index);
    let (stale, record_high_water) = newest_segments(
        found,
        short_tail.as_ref(),
        high_water,
        log_id.is_some(),
        mode,
        dir,
        report,
    )?;
    let Some(log_id) = log_id else {
        return Ok(Decision {
            plan: Plan {
                stale,
                ..Plan::default()
            },
            first_index: 1,
            keep: 0,
            cut_at: None,
            salvaged: Vec::new(),
        });
    };
    let seed = crate::format::crc_seed(log_id);

    let mut plan = Plan {
        stale,
        record_high_water,
        ..Plan::default()
    };
    // A segment that restarts the log (`restart_at`) puts the first index at its own: the
    // segments before it were being removed when a crash came, and the low-water mark is
    // raised before they are.
    let restart = found
        .iter()
        .filter(|f| restarts(f))
        .map(|f| f.header.first_index)
        .max()
        .filter(|&r| low_water.is_none_or(|(_, low)| r > low));
    if let Some(r) = restart {
        plan.record_low_water = Some(r);
    }
    let low_water = restart.map(|r| (log_id, r)).or(low_water);
    // Segments wholly below the low-water mark were being removed by `truncate_front` or
    // retention (which write the mark first): a crash may have removed any subset of them,
    // so they are neither checked nor chained.
    let below = low_water.map_or(0, |(_, low)| {
        found
            .windows(2)
            .take_while(|w| w[1].header.first_index <= low)
            .count()
    });
    let n = found.len();
    let salvaged = check_segments(
        found,
        below,
        mode,
        closed_at,
        seed,
        max_entry_size,
        &mut plan,
        report,
    )?;
    let keep = plan.remove_from.unwrap_or(n);
    let cut_at = plan.cut.as_ref().map(|(i, c)| (*i, c.offset));
    let first_index = first_index(found, keep, below, cut_at, low_water, mode, dir, &mut plan)?;
    let first_kept = found[plan.remove_below].header.first_index;
    plan.trim = found[plan.remove_below..keep]
        .iter()
        .filter_map(|f| match &f.body {
            Body::Scanned { scan, .. }
                if matches!(scan.stop, Stop::Footer) && f.len > scan.valid_end =>
            {
                Some((f.path.clone(), scan.valid_end))
            }
            _ => None,
        })
        .collect();
    plan.orphans = names
        .iter()
        .filter(|n| quarantined_segment(n).is_some_and(|f| f < first_kept))
        .map(|n| dir.join(n))
        .collect();
    Ok(Decision {
        plan,
        first_index,
        keep,
        cut_at,
        salvaged,
    })
}

/// The rule of the newest segments, by the high-water mark: those above it are stale (the
/// first result); a newest segment below it is a loss, refused unless `mode` accepts it
/// (then the mark is to be lowered to it: the second result).
fn newest_segments(
    found: &mut Vec<Found>,
    short_tail: Option<&(PathBuf, bool)>,
    high_water: Option<u64>,
    has_log: bool,
    mode: RecoveryMode,
    dir: &Path,
    report: &mut RecoveryReport,
) -> Result<(Vec<PathBuf>, Option<u64>)> {
    let mut record_high_water = None;
    // Segments above the high-water mark were being removed by `truncate_back` when a crash
    // came (it lowers the mark first), or were created by a rotation that crashed before
    // recording them (nothing is appended to a segment before that): none holds an
    // acknowledged entry. They go before the chain is checked.
    let mut stale = Vec::new();
    if let Some(high) = high_water {
        while found.len() > 1 && found.last().is_some_and(|f| f.header.seq > high) {
            stale.extend(found.pop().map(|f| f.path));
        }
    }
    // The newest segment may not be older than the one the high-water mark records: it may
    // have held acknowledged entries. (A newest segment shorter than a header that the mark
    // does not record was never complete: dropping it is not a loss. One the mark records
    // was complete when recorded, since creation syncs the header before the rename: it
    // was damaged.)
    let newest = found.last().map_or(0, |f| f.header.seq);
    if let Some(high) = high_water.filter(|&h| newest < h) {
        let refuse = matches!(mode, RecoveryMode::TolerateTornTail | RecoveryMode::Strict)
            || found.is_empty();
        if refuse {
            if let Some((path, _)) = short_tail {
                return Err(corrupt(path, 0, CorruptionKind::TruncatedHeader));
            }
            let path = found
                .last()
                .map_or_else(|| dir.join(HIGH_WATER), |f| f.path.clone());
            return Err(corrupt(
                &path,
                0,
                CorruptionKind::MissingSegment {
                    expected_seq: high,
                    newest_seq: newest,
                },
            ));
        }
        // Point in time accepts what is left, and records it so later opens accept it too.
        report.missing_newest_seq = Some(high);
        if mode == RecoveryMode::PointInTime && has_log {
            record_high_water = Some(newest);
        }
    }
    Ok((stale, record_high_water))
}

/// Checks each segment from `below` on, oldest first: the chain, then damage, as `mode`
/// decides (refuse, cut, cut and drop what follows, or salvage). Records the cut and the
/// removals in `plan`; returns, in Salvage mode, what each damaged segment still holds.
#[expect(
    clippy::too_many_arguments,
    reason = "the inputs of one rule, all read-only but two"
)]
fn check_segments(
    found: &[Found],
    below: usize,
    mode: RecoveryMode,
    closed_at: Option<u64>,
    seed: u32,
    max_entry_size: u32,
    plan: &mut Plan,
    report: &mut RecoveryReport,
) -> Result<Vec<Option<segment::Salvaged>>> {
    let mut salvaged: Vec<Option<segment::Salvaged>> = Vec::new();
    let n = found.len();
    for i in 0..n {
        let f = &found[i];
        salvaged.push(None);
        if i < below {
            continue;
        }
        if i > below && mode != RecoveryMode::Salvage && !continues(&found[i - 1], f) {
            if mode == RecoveryMode::PointInTime {
                plan.remove_from = Some(i);
                break;
            }
            return Err(corrupt(&f.path, 0, CorruptionKind::Chain));
        }
        let Body::Scanned { bytes, scan } = &f.body else {
            continue;
        };
        let is_last = i + 1 == n;
        let Some((offset, kind)) = damage(scan, is_last) else {
            continue;
        };
        // Entries that end where a `CUT` mark says: what follows is the remainder of that
        // interrupted cut (stale markers in it prove nothing about the kept entries).
        let at_cut =
            closed_at.is_some_and(|c| f.header.first_index + scan.positions.len() as u64 == c + 1);
        let torn = is_last && (at_cut || !segment::valid_marker_after(bytes, offset, seed));
        // Preallocated zeros after the damage are not reported as cut.
        let damaged_end = bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |p| p as u64 + 1)
            .max(scan.valid_end);
        let cut = Cut {
            segment: f.path.clone(),
            offset: scan.valid_end,
            bytes: damaged_end - scan.valid_end,
            reason: kind.clone(),
        };
        match mode {
            RecoveryMode::TolerateTornTail if torn => plan.cut = Some((i, cut)),
            RecoveryMode::TolerateTornTail | RecoveryMode::Strict => {
                return Err(corrupt(&f.path, offset, kind));
            }
            RecoveryMode::PointInTime => {
                plan.cut = Some((i, cut));
                plan.remove_from = (i + 1 < n).then_some(i + 1);
                break;
            }
            RecoveryMode::Salvage => {
                report.cuts.push(Cut {
                    offset,
                    bytes: damaged_end.saturating_sub(offset),
                    ..cut
                });
                salvaged[i] = Some(segment::salvage(
                    bytes,
                    f.header.first_index,
                    seed,
                    max_entry_size,
                ));
            }
        }
    }
    Ok(salvaged)
}

/// The log's first index: the first segment's, or the low-water mark's, which must lie
/// within the log kept (`found[..keep]`, cut at `cut_at`). Records in `plan` the segments
/// wholly below it.
#[expect(
    clippy::too_many_arguments,
    reason = "the inputs of one rule, all read-only but one"
)]
fn first_index(
    found: &[Found],
    keep: usize,
    below: usize,
    cut_at: Option<(usize, u64)>,
    low_water: Option<(u64, u64)>,
    mode: RecoveryMode,
    dir: &Path,
    plan: &mut Plan,
) -> Result<u64> {
    // Entries left in the log, segment by segment, after the planned cut.
    let entries_after_cut = |i: usize, f: &Found| -> u64 {
        match (&f.body, cut_at) {
            (Body::Scanned { scan, .. }, Some((ci, off))) if ci == i => {
                scan.positions
                    .iter()
                    .take_while(|&&p| u64::from(p) < off)
                    .count() as u64
            }
            _ => f.entries(),
        }
    };
    let last = found[..keep].last().map_or(0, |f| {
        f.header
            .first_index
            .wrapping_add(entries_after_cut(keep - 1, f))
            .wrapping_sub(1)
    });
    let mut first_index = found[0].header.first_index;
    if let Some((_, low)) = low_water {
        let lw = dir.join(LOW_WATER);
        if low < first_index {
            // The segments that held entries from `low` on are missing.
            return Err(corrupt(&found[0].path, 0, CorruptionKind::Chain));
        }
        if low > last.wrapping_add(1) && mode != RecoveryMode::PointInTime {
            return Err(corrupt(
                &lw,
                16,
                CorruptionKind::LowWater {
                    first_index: low,
                    last_index: last,
                },
            ));
        }
        first_index = low.min(last.wrapping_add(1)).max(first_index);
        plan.remove_below = found[..keep]
            .windows(2)
            .take_while(|w| w[1].header.first_index <= first_index)
            .count()
            .max(below)
            .min(keep - 1);
    }
    Ok(first_index)
}

/// Whether a segment restarts the log at a later index (`restart_at`): its header starts
/// past the previous segment's last index + 1, which it records.
fn restarts(f: &Found) -> bool {
    f.header.first_index > f.header.prev_last_index.saturating_add(1)
}

/// Whether `next` continues `prev`: indexes (or a restart after `prev`), sequence number
/// and footer chain.
fn continues(prev: &Found, next: &Found) -> bool {
    let prev_last = prev.last_index();
    let chain_ok = prev
        .footer_crc()
        .is_none_or(|crc| crc == next.header.prev_crc);
    (next.header.first_index == prev_last.wrapping_add(1) || restarts(next))
        && next.header.prev_last_index == prev_last
        && next.header.seq > prev.header.seq
        && chain_ok
}

/// Where a scanned segment is damaged and how, if it is.
pub(super) fn damage(scan: &Scan, is_last: bool) -> Option<(u64, CorruptionKind)> {
    match &scan.stop {
        Stop::Damage(kind) => Some((scan.stop_offset, kind.clone())),
        // A sealed segment ends with its footer.
        Stop::Eof | Stop::Zeros if !is_last => {
            Some((scan.valid_end, CorruptionKind::MissingFooter))
        }
        Stop::Zeros if scan.nonzero_after => Some((scan.valid_end, CorruptionKind::Hole)),
        Stop::Footer | Stop::Eof | Stop::Zeros => None,
    }
}

#[cfg(test)]
mod tests;
