//! Step one of recovery: what is on disk (the segments, scanned or known by their footers;
//! the mark files; what a crash left behind), read without changing anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::plan::damage;
use super::{Body, Found, corrupt};
use crate::error::{CorruptionKind, Error, Result};
use crate::format::{FOOTER_SUMMARY_LEN, FooterSummary, HEADER_LEN, HeaderError, SegmentHeader};
use crate::io::{self, FileSystem};
use crate::marks::{
    CUT, CUT_MARK, HIGH_WATER, HIGH_WATER_MARK, LOW_WATER, LOW_WATER_MARK, read_mark,
};
use crate::options::RecoveryMode;
use crate::segment;

/// The log directory as recovery found it.
pub(super) struct OnDisk {
    /// Every file name in the directory.
    pub names: Vec<String>,
    /// The segments, oldest first (a newest one shorter than a header is in `short_tail`).
    pub found: Vec<Found>,
    /// Temporary files of interrupted creations.
    pub temps: Vec<PathBuf>,
    /// A newest segment file shorter than a header, and whether it holds a nonzero byte.
    pub short_tail: Option<(PathBuf, bool)>,
    /// The log identity, from the first segment (`None`: no segment).
    pub log_id: Option<u64>,
    /// The `CUT` mark: its log identity and the last index it keeps.
    pub cut_mark: Option<(u64, u64)>,
    /// The `LOW_WATER` mark: its log identity and the first index.
    pub low_water: Option<(u64, u64)>,
    /// The `HIGH_WATER` mark's sequence number.
    pub high_water: Option<u64>,
    /// Segment files read.
    pub segments_scanned: usize,
}

/// What reading one segment file gave.
enum Read {
    Segment(Found),
    /// A newest file shorter than a header, and whether it holds a nonzero byte.
    ShortTail((PathBuf, bool)),
}

/// Reads the log directory `dir`: every segment (in the default mode, sealed ones by their
/// footer only), and the mark files, checked against the segments' log identity.
pub(super) fn read(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    mode: RecoveryMode,
    max_entry_size: u32,
) -> Result<OnDisk> {
    // Read before the listing: the writer creates a segment before it raises the mark, so
    // every segment the mark names is in the listing even while a writer goes on (for
    // `open_read_only`); a mark that vanishes or changes meanwhile is read again below.
    let early_high_water = match read_mark(&**fs, dir, HIGH_WATER_MARK, None) {
        Ok(mark) => Some(mark),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
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
                || n.strip_suffix(".tmp")
                    .is_some_and(|q| super::repair::quarantined_segment(q).is_some())
                || *n == &format!("{LOW_WATER}.tmp")
                || *n == &format!("{HIGH_WATER}.tmp")
                || *n == &format!("{CUT}.tmp")
                || n.strip_suffix(".tmp")
                    .is_some_and(|q| q.starts_with(crate::format::STATE_PREFIX))
        })
        .map(|n| dir.join(n))
        .collect();
    let has_low_water = names.iter().any(|n| n == LOW_WATER);
    let has_high_water = names.iter().any(|n| n == HIGH_WATER);
    // The last index an interrupted `truncate_back` into a batch keeps (its log identity is
    // checked with the other marks').
    let cut_mark = if names.iter().any(|n| n == CUT) {
        Some(read_mark(&**fs, dir, CUT_MARK, None)?)
    } else {
        None
    };
    let closed_at = cut_mark.map(|(_, index)| index);

    let mut found: Vec<Found> = Vec::with_capacity(indexed.len());
    let mut scratch = Vec::new();
    let mut short_tail = None;
    let mut log_id = None;
    for (i, (name_index, name)) in indexed.iter().enumerate() {
        let is_last = i + 1 == indexed.len();
        let at = SegmentAt {
            path: dir.join(name),
            name_index: *name_index,
            is_last,
        };
        match read_segment(
            &**fs,
            at,
            &mut log_id,
            mode,
            max_entry_size,
            closed_at,
            &mut scratch,
        )? {
            Read::Segment(f) => found.push(f),
            Read::ShortTail(t) => {
                short_tail = Some(t);
                break;
            }
        }
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
    let high_water = match early_high_water {
        Some((id, seq)) if has_high_water && log_id.is_none_or(|l| l == id) => Some(seq),
        _ if has_high_water => Some(read_mark(&**fs, dir, HIGH_WATER_MARK, log_id)?.1),
        _ => None,
    };
    Ok(OnDisk {
        names,
        found,
        temps,
        short_tail,
        log_id,
        cut_mark,
        low_water,
        high_water,
        segments_scanned: indexed.len(),
    })
}

/// Where a segment file is and what its name says.
struct SegmentAt {
    path: PathBuf,
    /// The first index its name gives.
    name_index: u64,
    is_last: bool,
}

/// Reads one segment file: its header, then its footer summary or its frames.
fn read_segment(
    fs: &dyn FileSystem,
    at: SegmentAt,
    log_id: &mut Option<u64>,
    mode: RecoveryMode,
    max_entry_size: u32,
    closed_at: Option<u64>,
    scratch: &mut Vec<u8>,
) -> Result<Read> {
    let SegmentAt {
        path,
        name_index,
        is_last,
    } = at;
    let file = fs
        .open_read(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    let len = file.len().map_err(|e| Error::io("stat", &path, e))?;
    let head = io::read_range(&*file, 0, HEADER_LEN).map_err(|e| Error::io("read", &path, e))?;
    let header = match SegmentHeader::decode(&head) {
        Ok(h) => h,
        // A newest segment shorter than a header was never renamed into place complete:
        // creation is temp + sync + rename, so it held nothing acknowledged.
        Err(HeaderError::Truncated) if is_last => {
            let holds_data = head.iter().any(|&b| b != 0);
            return Ok(Read::ShortTail((path, holds_data)));
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
    if header.first_index != name_index || header.first_index == 0 {
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
            let n =
                usize::try_from(len).map_err(|_| corrupt(&path, 0, CorruptionKind::Truncated))?;
            let seed = crate::format::crc_seed(id);
            let read_err = |e| Error::io("read", &path, e);
            if mode == RecoveryMode::TolerateTornTail {
                let closed_at = closed_at.filter(|_| is_last);
                let (bytes, scan) =
                    scan_after_windows(&*file, n, &header, seed, max_entry_size, closed_at)
                        .map_err(read_err)?;
                Body::Scanned { bytes, scan }
            } else {
                // Read into the buffer the previous segment used: a fresh allocation per
                // segment cost more in page faults than the scan itself.
                scratch.clear();
                scratch.resize(n, 0);
                io::read_exact_at(&*file, scratch, 0).map_err(read_err)?;
                let scan = segment::scan(
                    scratch,
                    header.first_index,
                    seed,
                    max_entry_size,
                    closed_at.filter(|_| is_last),
                );
                // Only the last segment's bytes and a damaged one's are used after its
                // scan: memory stays bounded by a few segments, not the log.
                let bytes = if !is_last && damage(&scan, false).is_none() {
                    Vec::new()
                } else {
                    std::mem::take(scratch)
                };
                Body::Scanned { bytes, scan }
            }
        }
    };
    Ok(Read::Segment(Found {
        path,
        len,
        header,
        body,
    }))
}

/// Scans the newest segment in the default mode: the windows that verify are read once,
/// through a small buffer; only what follows the last of them is kept in memory (the bytes
/// before it stay zero pages, never touched). Returns the bytes and the scan.
fn scan_after_windows(
    file: &dyn crate::io::File,
    n: usize,
    header: &SegmentHeader,
    seed: u32,
    max_entry_size: u32,
    closed_at: Option<u64>,
) -> std::io::Result<(Vec<u8>, segment::Scan)> {
    // The windows that verify are read once, through a small buffer; only
    // what follows the last of them is kept in memory (the bytes before it
    // stay zero pages, never touched).
    let mut buf = Vec::new();
    let (verified, positions) = crate::windows::verified_prefix_of_file(
        file,
        n,
        header.first_index,
        seed,
        max_entry_size,
        &mut buf,
    )?;
    // Preallocated zeros after the data are checked through the same buffer,
    // from the end, and not read again (a frame's own bytes may end in
    // zeros, so `bytes` keeps the file's length).
    let end = crate::windows::data_end(file, verified, n, &mut buf)?;
    drop(buf);
    let mut bytes = vec![0u8; n];
    io::read_exact_at(file, &mut bytes[verified..end], verified as u64)?;
    let scan = segment::scan_from(
        &bytes,
        verified,
        end,
        positions,
        header.first_index,
        seed,
        max_entry_size,
        closed_at,
    );
    Ok((bytes, scan))
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
    // One read of the file's end holds the footer's locator and, in a segment of a few
    // dozen entries, the footer's fixed fields too: open reads every sealed segment's, so
    // a log of many small segments opens with two reads a segment instead of three.
    let start = len - TAIL_READ.min(len - HEADER_LEN as u64);
    let end = io::read_range(file, start, usize::try_from(len - start).unwrap_or(0))?;
    let Some(tail) = end.len().checked_sub(8).and_then(|at| end.get(at..)) else {
        return Ok(None);
    };
    let Some(offset) = crate::le::le_u32(tail, 0) else {
        return Ok(None);
    };
    let within = u64::from(offset)
        .checked_sub(start)
        .and_then(|at| usize::try_from(at).ok())
        .and_then(|at| end.get(at..at.checked_add(FOOTER_SUMMARY_LEN)?));
    let head = match within {
        Some(head) => head.to_vec(),
        None => io::read_range(file, u64::from(offset), FOOTER_SUMMARY_LEN)?,
    };
    Ok(crate::format::footer_summary(&head, tail, len)
        .filter(|s| s.entries == 0 || s.first_index == header.first_index))
}

/// How many bytes of a sealed segment's end open reads at once (see `read_summary`).
const TAIL_READ: u64 = 512;
