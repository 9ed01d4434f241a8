//! Recovery at open: scan the segments, decide by the sync-marker rule, then repair.
//!
//! Nothing on disk is modified until every segment has been read and the outcome decided;
//! an I/O error while reading is returned as [`Error::Io`] and never taken for damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{CorruptionKind, Error, Result};
use crate::format::{FOOTER_SUMMARY_LEN, FooterSummary, HEADER_LEN, HeaderError, SegmentHeader};
use crate::io::{self, FileSystem};
use crate::marks::{
    CUT, CUT_MARK, HIGH_WATER, HIGH_WATER_MARK, LOW_WATER, LOW_WATER_MARK, read_mark, write_mark,
};
use crate::segment::{self, Scan, Segment, Stop};

mod repair;
mod report;

use crate::options::RecoveryMode;
pub use report::{Cut, RecoveryReport};

pub(crate) use repair::quarantined_segment;
use repair::repair;

/// The state the writer continues from in the tail segment (its positions are in the
/// segment).
#[derive(Debug)]
pub(crate) struct TailState {
    pub valid_end: u64,
    pub marker_end: u64,
    pub window_crc: u32,
    /// The tail ends with a footer: appends go to a new segment.
    pub sealed: Option<u32>,
    /// The tail's entries end in a batch that the `CUT` mark finished: it needs its
    /// batch-end frame before anything is appended.
    pub close_batch: bool,
}

/// The outcome of recovery.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub log_id: u64,
    pub segments: Vec<Arc<Segment>>,
    pub tail: Option<TailState>,
    pub report: RecoveryReport,
    /// The log's first index (from the low-water file, or the first segment).
    pub first_index: u64,
    /// Whether the low-water file exists.
    pub has_low_water: bool,
    /// Whether a `CUT` file exists: removed once the batch it finishes is closed.
    pub has_cut_mark: bool,
}

/// A segment file as recovery read it.
enum Body {
    /// Read in full and scanned.
    /// `bytes` is the whole segment, except that in the default mode the prefix verified
    /// window by window (`crate::windows`) is left as zeros, never touched; it is empty for
    /// a segment that is neither the last nor damaged (nothing reads it after the scan).
    Scanned { bytes: Vec<u8>, scan: Scan },
    /// Sealed, known by its header and footer only.
    Sealed(FooterSummary),
}

struct Found {
    path: PathBuf,
    len: u64,
    header: SegmentHeader,
    body: Body,
}

impl Found {
    fn entries(&self) -> u64 {
        match &self.body {
            Body::Scanned { scan, .. } => scan.entries(),
            Body::Sealed(s) => u64::from(s.entries),
        }
    }

    fn last_index(&self) -> u64 {
        self.header
            .first_index
            .wrapping_add(self.entries())
            .wrapping_sub(1)
    }

    fn footer_crc(&self) -> Option<u32> {
        match &self.body {
            Body::Scanned { scan, .. } => scan.footer.as_ref().map(|(_, crc)| *crc),
            Body::Sealed(s) => Some(s.crc),
        }
    }
}

/// What the decision loop plans to do to disk.
#[derive(Default)]
struct Plan {
    cut: Option<(usize, Cut)>,
    /// Segments from this one on are removed (point in time).
    remove_from: Option<usize>,
    /// This many of the oldest segments lie wholly below the low-water mark.
    remove_below: usize,
    /// Segments above the high-water mark, newest first: left by a crash during removal.
    stale: Vec<PathBuf>,
    /// Quarantine files of segments removed below the first index (a crash came between
    /// the two removals).
    orphans: Vec<PathBuf>,
    /// Sealed segments followed by zeros (a crash kept their preallocated space from being
    /// trimmed), with where their footer ends.
    trim: Vec<(PathBuf, u64)>,
}

/// Recovers the log in `dir` according to `mode`.
pub(crate) fn recover(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    mode: RecoveryMode,
    max_payload: u32,
) -> Result<Recovered> {
    let names = fs.list(dir).map_err(|e| Error::io("list", dir, e))?;
    let mut indexed: Vec<(u64, String)> = names
        .iter()
        .filter_map(|n| segment::parse_segment_name(n).map(|i| (i, n.clone())))
        .collect();
    indexed.sort_unstable();
    let temps: Vec<PathBuf> = names
        .iter()
        .filter(|n| {
            n.ends_with(segment::TMP_SUFFIX)
                || *n == &format!("{LOW_WATER}.tmp")
                || *n == &format!("{HIGH_WATER}.tmp")
                || *n == &format!("{CUT}.tmp")
        })
        .map(|n| dir.join(n))
        .collect();
    let has_low_water = names.iter().any(|n| n == LOW_WATER);
    let has_high_water = names.iter().any(|n| n == HIGH_WATER);
    let mut report = RecoveryReport {
        segments_scanned: indexed.len(),
        ..RecoveryReport::default()
    };
    let writable = mode != RecoveryMode::Salvage;
    // The last index an interrupted `truncate_back` into a batch keeps (its log identity is
    // checked with the other marks').
    let cut_mark = if names.iter().any(|n| n == CUT) {
        Some(read_mark(&**fs, dir, CUT_MARK, None)?)
    } else {
        None
    };
    let closed_at = cut_mark.map(|(_, index)| index);

    let mut found: Vec<Found> = Vec::with_capacity(indexed.len());
    let mut drop_short_tail = None;
    let mut log_id = None;
    for (i, (name_index, name)) in indexed.iter().enumerate() {
        let is_last = i + 1 == indexed.len();
        let path = dir.join(name);
        let file = fs
            .open_read(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        let len = file.len().map_err(|e| Error::io("stat", &path, e))?;
        let head =
            io::read_range(&*file, 0, HEADER_LEN).map_err(|e| Error::io("read", &path, e))?;
        let header = match SegmentHeader::decode(&head) {
            Ok(h) => h,
            // A newest segment shorter than a header was never renamed into place complete:
            // creation is temp + sync + rename, so it held nothing acknowledged.
            Err(HeaderError::Truncated) if is_last => {
                let holds_data = head.iter().any(|&b| b != 0);
                drop_short_tail = Some((path, holds_data));
                break;
            }
            Err(HeaderError::Truncated) => {
                return Err(corrupt(&path, 0, CorruptionKind::TruncatedHeader));
            }
            Err(HeaderError::BadMagic) => return Err(Error::NotASegment { path }),
            Err(HeaderError::UnsupportedVersion(found)) => {
                return Err(Error::UnsupportedVersion {
                    path,
                    found,
                    supported: crate::format::FORMAT_VERSION,
                });
            }
            Err(HeaderError::Checksum) => {
                return Err(corrupt(&path, 0, CorruptionKind::HeaderChecksum));
            }
        };
        let id = *log_id.get_or_insert(header.log_id);
        if header.log_id != id {
            return Err(Error::ForeignSegment {
                path,
                expected: id,
                found: header.log_id,
            });
        }
        if header.first_index != *name_index || header.first_index == 0 {
            return Err(corrupt(&path, 0, CorruptionKind::Chain));
        }
        // Sealed segments are trusted by their footer in the default mode: open time does
        // not grow with history, and every frame's CRC is still checked when it is read.
        let summary = if is_last || mode != RecoveryMode::TolerateTornTail {
            None
        } else {
            read_summary(&*file, len, &header).map_err(|e| Error::io("read", &path, e))?
        };
        let body = match summary {
            Some(s) => Body::Sealed(s),
            None => {
                let n = usize::try_from(len)
                    .map_err(|_| corrupt(&path, 0, CorruptionKind::Truncated))?;
                let seed = crate::format::crc_seed(id);
                let read_err = |e| Error::io("read", &path, e);
                if mode == RecoveryMode::TolerateTornTail {
                    // The windows that verify are read once, through a small buffer; only
                    // what follows the last of them is kept in memory (the bytes before it
                    // stay zero pages, never touched).
                    let mut buf = Vec::new();
                    let (verified, positions) = crate::windows::verified_prefix_of_file(
                        &*file,
                        n,
                        header.first_index,
                        seed,
                        max_payload,
                        &mut buf,
                    )
                    .map_err(read_err)?;
                    // Preallocated zeros after the data are checked through the same buffer,
                    // from the end, and not read again (a frame's own bytes may end in
                    // zeros, so `bytes` keeps the file's length).
                    let end = crate::windows::data_end(&*file, verified, n, &mut buf)
                        .map_err(read_err)?;
                    drop(buf);
                    let mut bytes = vec![0u8; n];
                    io::read_exact_at(&*file, &mut bytes[verified..end], verified as u64)
                        .map_err(read_err)?;
                    let scan = segment::scan_from(
                        &bytes,
                        verified,
                        end,
                        positions,
                        header.first_index,
                        seed,
                        max_payload,
                        closed_at.filter(|_| is_last),
                    );
                    Body::Scanned { bytes, scan }
                } else {
                    let mut bytes = io::read_range(&*file, 0, n).map_err(read_err)?;
                    let scan = segment::scan(
                        &bytes,
                        header.first_index,
                        seed,
                        max_payload,
                        closed_at.filter(|_| is_last),
                    );
                    // Only the last segment's bytes and a damaged one's are used after its
                    // scan: memory stays bounded by a few segments, not the log.
                    if !is_last && damage(&scan, false).is_none() {
                        bytes = Vec::new();
                    }
                    Body::Scanned { bytes, scan }
                }
            }
        };
        found.push(Found {
            path,
            len,
            header,
            body,
        });
    }

    if let (Some((id, _)), Some(expected)) = (cut_mark, log_id)
        && id != expected
    {
        return Err(Error::ForeignSegment {
            path: dir.join(CUT),
            expected,
            found: id,
        });
    }
    let low_water = if has_low_water {
        Some(read_mark(&**fs, dir, LOW_WATER_MARK, log_id)?)
    } else {
        None
    };
    let high_water = if has_high_water {
        Some(read_mark(&**fs, dir, HIGH_WATER_MARK, log_id)?.1)
    } else {
        None
    };
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
            if let Some((path, _)) = &drop_short_tail {
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
        if let (RecoveryMode::PointInTime, Some(id)) = (mode, log_id) {
            write_mark(&**fs, dir, HIGH_WATER_MARK, id, newest)?;
        }
    }
    let Some(log_id) = log_id else {
        let mut rec = Recovered {
            log_id: low_water.map_or(0, |(id, _)| id),
            segments: Vec::new(),
            tail: None,
            report,
            first_index: 1,
            has_low_water,
            has_cut_mark: cut_mark.is_some(),
        };
        if writable {
            repair(
                &**fs,
                dir,
                &[],
                &Plan {
                    stale,
                    ..Plan::default()
                },
                drop_short_tail,
                &temps,
                &mut rec.report,
            )?;
        }
        return Ok(rec);
    };
    let seed = crate::format::crc_seed(log_id);

    // Decide, touching nothing.
    let mut plan = Plan {
        stale,
        ..Plan::default()
    };
    // Segments wholly below the low-water mark were being removed by `truncate_front` or
    // retention (which write the mark first): a crash may have removed any subset of them,
    // so they are neither checked nor chained.
    let below = low_water.map_or(0, |(_, low)| {
        found
            .windows(2)
            .take_while(|w| w[1].header.first_index <= low)
            .count()
    });
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
                    max_payload,
                ));
            }
        }
    }
    let keep = plan.remove_from.unwrap_or(n);
    let cut_at = plan.cut.as_ref().map(|(i, c)| (*i, c.offset));
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
    if writable {
        repair(
            &**fs,
            dir,
            &found,
            &plan,
            drop_short_tail,
            &temps,
            &mut report,
        )?;
    }

    let mut segments = Vec::with_capacity(keep);
    let mut tail = None;
    for (i, f) in found.into_iter().enumerate().take(keep) {
        if i < plan.remove_below {
            continue;
        }
        let is_tail = i + 1 == keep;
        let segment = match f.body {
            Body::Sealed(s) => {
                // A footer-known segment is the tail only when a newer one was dropped (a
                // crash while creating it): it takes no more entries, appends start the next.
                if is_tail {
                    tail = Some(TailState {
                        valid_end: f.len,
                        marker_end: f.len,
                        window_crc: 0,
                        sealed: Some(s.crc),
                        close_batch: false,
                    });
                }
                Segment::sealed(
                    Arc::clone(fs),
                    f.path,
                    f.header,
                    u64::from(s.offset),
                    s.last_index,
                    Some(u64::from(s.offset)),
                )
            }
            Body::Scanned { bytes, mut scan } => {
                if let Some((_, offset)) = cut_at.filter(|(ci, _)| *ci == i) {
                    scan.valid_end = offset;
                    scan.footer = None;
                }
                let file = if writable && is_tail {
                    Some(
                        fs.open_write(&f.path)
                            .map_err(|e| Error::io("open", &f.path, e))?,
                    )
                } else {
                    None
                };
                let (positions, end, last, sparse) = match salvaged[i].take() {
                    Some(s) => (s.positions, bytes.len() as u64, s.last, Some(s.indexes)),
                    None => {
                        let last = f
                            .header
                            .first_index
                            .wrapping_add(scan.entries())
                            .wrapping_sub(1);
                        let positions = std::mem::take(&mut scan.positions);
                        (positions, scan.valid_end, last, None)
                    }
                };
                if is_tail {
                    tail = Some(TailState {
                        sealed: scan.footer.as_ref().map(|(_, crc)| *crc),
                        valid_end: scan.valid_end,
                        marker_end: scan.marker_end.min(scan.valid_end),
                        window_crc: scan.window_crc,
                        close_batch: scan.closed_by_cut,
                    });
                }
                let footer_at = scan
                    .footer
                    .as_ref()
                    .map(|(footer, _)| u64::from(footer.footer_offset));
                let segment = Segment::loaded(
                    Arc::clone(fs),
                    f.path,
                    file,
                    f.header,
                    end,
                    last,
                    positions,
                    footer_at,
                );
                match sparse {
                    Some(at) => segment.with_indexes(at),
                    None => segment,
                }
            }
        };
        segments.push(Arc::new(segment));
    }
    report.entries = segments.iter().map(|s| s.entries_from(first_index)).sum();
    Ok(Recovered {
        log_id,
        segments,
        tail,
        report,
        first_index,
        has_low_water,
        has_cut_mark: cut_mark.is_some(),
    })
}

/// Reads a sealed segment's footer summary; `None` when it has no valid-looking footer
/// (the caller then scans it in full).
fn read_summary(
    file: &dyn io::File,
    len: u64,
    header: &SegmentHeader,
) -> std::io::Result<Option<FooterSummary>> {
    if len < (HEADER_LEN + FOOTER_SUMMARY_LEN + 8) as u64 {
        return Ok(None);
    }
    let tail = io::read_range(file, len - 8, 8)?;
    let Some(offset) = crate::le::le_u32(&tail, 0) else {
        return Ok(None);
    };
    let head = io::read_range(file, u64::from(offset), FOOTER_SUMMARY_LEN)?;
    Ok(crate::format::footer_summary(&head, &tail, len)
        .filter(|s| s.entries == 0 || s.first_index == header.first_index))
}

fn corrupt(path: &Path, offset: u64, kind: CorruptionKind) -> Error {
    Error::Corruption {
        segment: path.to_path_buf(),
        offset,
        kind,
    }
}

/// Whether `next` continues `prev`: indexes, sequence number and footer chain.
fn continues(prev: &Found, next: &Found) -> bool {
    let prev_last = prev.last_index();
    let chain_ok = prev
        .footer_crc()
        .is_none_or(|crc| crc == next.header.prev_crc);
    next.header.first_index == prev_last.wrapping_add(1)
        && next.header.prev_last_index == prev_last
        && next.header.seq > prev.header.seq
        && chain_ok
}

/// Where a scanned segment is damaged and how, if it is.
fn damage(scan: &Scan, is_last: bool) -> Option<(u64, CorruptionKind)> {
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
