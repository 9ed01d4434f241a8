//! Recovery at open: scan the segments, decide by the sync-marker rule, then repair.
//!
//! Nothing on disk is modified until every segment has been read and the outcome decided;
//! an I/O error while reading is returned as [`Error::Io`] and never taken for damage.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{CorruptionKind, Error, Result};
use crate::format::{HEADER_LEN, HeaderError, SegmentHeader};
use crate::io::{self, FileSystem};
use crate::segment::{self, Scan, Segment, Stop};

/// What recovery does with damage it finds at open.
///
/// Default: [`RecoveryMode::TolerateTornTail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// Damage after the last valid sync marker of the last segment is a torn tail (never
    /// acknowledged): it is cut, kept in a quarantine file and reported. Any other damage is
    /// an [`Error::Corruption`] naming the file and offset.
    #[default]
    TolerateTornTail,
    /// Any damage, a torn tail included, refuses the open (`RocksDB`'s absolute consistency).
    Strict,
    /// The log is cut before the first damage wherever it is, later segments are removed,
    /// and the cut is reported: the result is a consistent prefix, possibly without
    /// acknowledged entries.
    PointInTime,
    /// Read-only: every frame that verifies is readable, damage is skipped and reported,
    /// nothing is written. Appends return [`Error::ReadOnly`]. Indexes may have gaps.
    Salvage,
}

/// What recovery found and did at open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Segment files read.
    pub segments_scanned: usize,
    /// Entries in the log after recovery.
    pub entries: u64,
    /// Bytes cut from segments, with where and why.
    pub cuts: Vec<Cut>,
    /// Segment files removed (an empty tail left by a crash during creation; segments after
    /// the cut in point-in-time mode).
    pub removed_segments: Vec<PathBuf>,
    /// Files holding bytes that were cut, kept as evidence.
    pub quarantined: Vec<PathBuf>,
    /// Temporary files of an interrupted segment creation that were removed.
    pub removed_temp_files: Vec<PathBuf>,
}

impl RecoveryReport {
    /// Whether recovery found the log exactly as a clean shutdown leaves it.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.cuts.is_empty() && self.removed_segments.is_empty()
    }
}

/// Bytes cut (or, in salvage mode, skipped) from one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The segment file.
    pub segment: PathBuf,
    /// Offset of the first byte cut.
    pub offset: u64,
    /// Number of bytes cut.
    pub bytes: u64,
    /// What was found at the cut.
    pub reason: CorruptionKind,
}

/// The state the writer continues from in the tail segment.
#[derive(Debug)]
pub(crate) struct TailState {
    pub positions: Vec<u32>,
    pub valid_end: u64,
    pub marker_end: u64,
    pub window_crc: u32,
    /// The tail ends with a footer: appends go to a new segment.
    pub sealed: Option<u32>,
}

/// The outcome of recovery.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub log_id: u64,
    pub segments: Vec<Arc<Segment>>,
    pub tail: Option<TailState>,
    pub report: RecoveryReport,
    /// In salvage mode, the frame positions of each segment.
    pub salvage: Option<Vec<Vec<u32>>>,
}

/// In salvage mode: the frame positions and last index of each segment.
type Salvaged = Vec<(Vec<u32>, u64)>;

struct Found {
    path: PathBuf,
    file: Arc<dyn io::File>,
    header: SegmentHeader,
    bytes: Vec<u8>,
    scan: Scan,
}

/// What the decision loop plans to do to disk.
#[derive(Default)]
struct Plan {
    cut: Option<(usize, Cut)>,
    remove_from: Option<usize>,
}

/// Recovers the log in `dir` according to `mode`.
pub(crate) fn recover(
    fs: &dyn FileSystem,
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
        .filter(|n| n.ends_with(segment::TMP_SUFFIX))
        .map(|n| dir.join(n))
        .collect();
    let mut report = RecoveryReport {
        segments_scanned: indexed.len(),
        ..RecoveryReport::default()
    };
    let writable = mode != RecoveryMode::Salvage;

    let mut found: Vec<Found> = Vec::with_capacity(indexed.len());
    let mut drop_short_tail = None;
    let mut log_id = None;
    for (i, (name_index, name)) in indexed.iter().enumerate() {
        let path = dir.join(name);
        let file = fs
            .open_read(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        let len = file.len().map_err(|e| Error::io("stat", &path, e))?;
        let len = usize::try_from(len).map_err(|_| Error::Corruption {
            segment: path.clone(),
            offset: 0,
            kind: CorruptionKind::Truncated,
        })?;
        let bytes = io::read_range(&*file, 0, len).map_err(|e| Error::io("read", &path, e))?;
        let header = match SegmentHeader::decode(&bytes) {
            Ok(h) => h,
            // A newest segment shorter than a header was never renamed into place complete:
            // creation is temp + sync + rename, so it held nothing acknowledged.
            Err(HeaderError::Truncated) if i + 1 == indexed.len() && writable => {
                drop_short_tail = Some(path);
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
        let seed = crate::format::crc_seed(id);
        let scan = segment::scan(&bytes, header.first_index, seed, max_payload);
        found.push(Found {
            path,
            file,
            header,
            bytes,
            scan,
        });
    }

    let Some(log_id) = log_id else {
        let mut rec = Recovered {
            log_id: 0,
            segments: Vec::new(),
            tail: None,
            report,
            salvage: None,
        };
        if writable {
            repair(
                fs,
                dir,
                &[],
                &Plan::default(),
                drop_short_tail,
                &temps,
                &mut rec.report,
            )?;
        }
        return Ok(rec);
    };
    let seed = crate::format::crc_seed(log_id);

    // Decide, touching nothing.
    let mut plan = Plan::default();
    let mut salvage: Option<Salvaged> = (mode == RecoveryMode::Salvage).then(Vec::new);
    let n = found.len();
    for i in 0..n {
        let f = &found[i];
        if i > 0 && mode != RecoveryMode::Salvage && !continues(&found[i - 1], f) {
            if mode == RecoveryMode::PointInTime {
                plan.remove_from = Some(i);
                break;
            }
            return Err(corrupt(&f.path, 0, CorruptionKind::Chain));
        }
        let is_last = i + 1 == n;
        let Some((offset, kind)) = damage(f, is_last) else {
            if let Some(s) = salvage.as_mut() {
                s.push((
                    f.scan.positions.clone(),
                    f.header
                        .first_index
                        .wrapping_add(f.scan.entries())
                        .wrapping_sub(1),
                ));
            }
            continue;
        };
        let torn = is_last && !segment::valid_marker_after(&f.bytes, offset, seed);
        // Preallocated zeros after the damage are not reported as cut.
        let damaged_end = f
            .bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |p| p as u64 + 1)
            .max(f.scan.valid_end);
        let cut = Cut {
            segment: f.path.clone(),
            offset: f.scan.valid_end,
            bytes: damaged_end - f.scan.valid_end,
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
                if let Some(s) = salvage.as_mut() {
                    s.push(segment::salvage(
                        &f.bytes,
                        f.header.first_index,
                        seed,
                        max_payload,
                    ));
                }
            }
        }
    }
    if writable {
        repair(fs, dir, &found, &plan, drop_short_tail, &temps, &mut report)?;
    }
    let keep = plan.remove_from.unwrap_or(n);
    found.truncate(keep);

    let mut segments = Vec::with_capacity(found.len());
    let mut tail = None;
    let cut_at = plan.cut.as_ref().map(|(i, c)| (*i, c.offset));
    for (i, f) in found.into_iter().enumerate() {
        let mut scan = f.scan;
        if let Some((ci, offset)) = cut_at.filter(|(ci, _)| *ci == i) {
            debug_assert_eq!(ci, i);
            scan.valid_end = offset;
            scan.footer = None;
        }
        let last = match &salvage {
            Some(s) => s[i].1,
            None => f
                .header
                .first_index
                .wrapping_add(scan.entries())
                .wrapping_sub(1),
        };
        report.entries += scan.entries();
        if i + 1 == keep {
            tail = Some(TailState {
                sealed: scan.footer.as_ref().map(|(_, crc)| *crc),
                positions: scan.positions,
                valid_end: scan.valid_end,
                marker_end: scan.marker_end.min(scan.valid_end),
                window_crc: scan.window_crc,
            });
        }
        let file = if writable && i + 1 == keep {
            fs.open_write(&f.path)
                .map_err(|e| Error::io("open", &f.path, e))?
        } else {
            f.file
        };
        // In salvage mode readers go by positions and may read to the end of the file.
        let end = if salvage.is_some() {
            f.bytes.len() as u64
        } else {
            scan.valid_end
        };
        segments.push(Arc::new(Segment::new(f.path, file, f.header, end, last)));
    }
    if let Some(s) = &salvage {
        report.entries = s.iter().map(|(p, _)| p.len() as u64).sum();
    }
    let salvage = salvage.map(|s| s.into_iter().map(|(p, _)| p).collect());
    Ok(Recovered {
        log_id,
        segments,
        tail,
        report,
        salvage,
    })
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
    let prev_last = prev
        .header
        .first_index
        .wrapping_add(prev.scan.entries())
        .wrapping_sub(1);
    let chain_ok = prev
        .scan
        .footer
        .as_ref()
        .is_none_or(|(_, crc)| *crc == next.header.prev_crc);
    next.header.first_index == prev_last.wrapping_add(1)
        && next.header.prev_last_index == prev_last
        && next.header.seq > prev.header.seq
        && chain_ok
}

/// Where a segment is damaged and how, if it is.
fn damage(f: &Found, is_last: bool) -> Option<(u64, CorruptionKind)> {
    match &f.scan.stop {
        Stop::Damage(kind) => Some((f.scan.stop_offset, kind.clone())),
        // A sealed segment ends with its footer.
        Stop::Eof | Stop::Zeros if !is_last => {
            Some((f.scan.valid_end, CorruptionKind::MissingFooter))
        }
        Stop::Zeros if f.scan.nonzero_after => Some((f.scan.valid_end, CorruptionKind::Hole)),
        Stop::Footer | Stop::Eof | Stop::Zeros => None,
    }
}

/// Carries out the plan: quarantine and cut, remove segments back to front, remove temps.
fn repair(
    fs: &dyn FileSystem,
    dir: &Path,
    found: &[Found],
    plan: &Plan,
    short_tail: Option<PathBuf>,
    temps: &[PathBuf],
    report: &mut RecoveryReport,
) -> Result<()> {
    let mut dir_dirty = false;
    if let Some(from) = plan.remove_from {
        for f in found[from..].iter().rev() {
            fs.remove(&f.path)
                .map_err(|e| Error::io("remove", &f.path, e))?;
            report.removed_segments.push(f.path.clone());
        }
        dir_dirty = true;
    }
    if let Some(path) = short_tail {
        fs.remove(&path)
            .map_err(|e| Error::io("remove", &path, e))?;
        report.removed_segments.push(path);
        dir_dirty = true;
    }
    for t in temps {
        fs.remove(t).map_err(|e| Error::io("remove", t, e))?;
        report.removed_temp_files.push(t.clone());
        dir_dirty = true;
    }
    if let Some((i, cut)) = &plan.cut {
        let f = &found[*i];
        let start = usize::try_from(cut.offset).unwrap_or(usize::MAX);
        let end = usize::try_from(cut.offset + cut.bytes).unwrap_or(usize::MAX);
        let cut_bytes = f.bytes.get(start..end).unwrap_or_default();
        if cut_bytes.iter().any(|&b| b != 0) {
            let q = PathBuf::from(format!("{}.cut-{}", f.path.display(), cut.offset));
            match fs.remove(&q) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &q, e)),
            }
            let qf = fs.create_new(&q).map_err(|e| Error::io("create", &q, e))?;
            io::write_all_at(&*qf, cut_bytes, 0).map_err(|e| Error::io("write", &q, e))?;
            qf.sync_data().map_err(|e| Error::io("sync", &q, e))?;
            report.quarantined.push(q);
            dir_dirty = true;
        }
        if dir_dirty {
            fs.sync_dir(dir)
                .map_err(|e| Error::io("sync directory", dir, e))?;
            dir_dirty = false;
        }
        let w = fs
            .open_write(&f.path)
            .map_err(|e| Error::io("open", &f.path, e))?;
        w.set_len(cut.offset)
            .map_err(|e| Error::io("truncate", &f.path, e))?;
        w.sync_data().map_err(|e| Error::io("sync", &f.path, e))?;
        report.cuts.push(cut.clone());
    }
    if dir_dirty {
        fs.sync_dir(dir)
            .map_err(|e| Error::io("sync directory", dir, e))?;
    }
    debug_assert!(found.iter().all(|f| f.bytes.len() >= HEADER_LEN));
    Ok(())
}
