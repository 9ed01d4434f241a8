//! The one step of recovery that changes the disk: it carries out the plan the decision
//! made (remove segments, quarantine and cut, remove temporary files), then syncs.

use std::path::{Path, PathBuf};

use super::{Body, Found, Plan, RecoveryReport};
use crate::error::{Error, Result};
use crate::io::{self, FileSystem};
use crate::marks::{HIGH_WATER_MARK, LOW_WATER_MARK, write_mark};
use crate::segment;

/// Carries out the plan: remove segments (newest first after a point-in-time cut, oldest
/// first below the low-water mark), quarantine and cut, remove temps, trim the zeros after
/// footers; then sync.
pub(super) fn repair(
    fs: &dyn FileSystem,
    dir: &Path,
    found: &[Found],
    plan: &Plan,
    short_tail: Option<(PathBuf, bool)>,
    temps: &[PathBuf],
    report: &mut RecoveryReport,
) -> Result<()> {
    let mut dir_dirty = false;
    let remove = |path: &Path, report: &mut RecoveryReport| -> Result<()> {
        fs.remove(path).map_err(|e| Error::io("remove", path, e))?;
        report.removed_segments.push(path.to_path_buf());
        Ok(())
    };
    if let (Some(seq), Some(id)) = (
        plan.record_high_water,
        found.first().map(|f| f.header.log_id),
    ) {
        write_mark(fs, dir, HIGH_WATER_MARK, id, seq)?;
    }
    if let (Some(first), Some(id)) = (
        plan.record_low_water,
        found.first().map(|f| f.header.log_id),
    ) {
        write_mark(fs, dir, LOW_WATER_MARK, id, first)?;
    }
    for path in &plan.stale {
        remove(path, report)?;
        dir_dirty = true;
    }
    for path in &plan.orphans {
        fs.remove(path).map_err(|e| Error::io("remove", path, e))?;
        dir_dirty = true;
    }
    if let Some(from) = plan.remove_from {
        // Lower the high-water mark first, so the segments removed are not missed later.
        if let (Some(keep), Some(id)) = (
            from.checked_sub(1).and_then(|k| found.get(k)),
            found.first().map(|f| f.header.log_id),
        ) {
            write_mark(fs, dir, HIGH_WATER_MARK, id, keep.header.seq)?;
        }
        for f in found[from..].iter().rev() {
            remove(&f.path, report)?;
        }
        dir_dirty = true;
    }
    for f in &found[..plan.remove_below] {
        remove(&f.path, report)?;
        dir_dirty = true;
    }
    if let Some((path, holds_data)) = short_tail {
        // Not a segment of this log's making (creation renames a synced header into
        // place): whatever it holds is kept as evidence, under the quarantine name.
        if holds_data {
            let q = quarantine_name(&path, 0);
            fs.rename(&path, &q)
                .map_err(|e| Error::io("rename", &path, e))?;
            report.quarantined.push(q);
            report.removed_segments.push(path);
        } else {
            remove(&path, report)?;
        }
        dir_dirty = true;
    }
    for t in temps {
        // A mark rewritten above removed its own leftover already.
        io::remove_if_present(fs, t).map_err(|e| Error::io("remove", t, e))?;
        report.removed_temp_files.push(t.clone());
        dir_dirty = true;
    }
    if let Some((i, cut)) = &plan.cut {
        let f = &found[*i];
        if let Body::Scanned { bytes, .. } = &f.body {
            let start = usize::try_from(cut.offset).unwrap_or(usize::MAX);
            let end = usize::try_from(cut.offset + cut.bytes).unwrap_or(usize::MAX);
            let cut_bytes = bytes.get(start..end).unwrap_or_default();
            if cut_bytes.iter().any(|&b| b != 0) {
                let q = quarantine_name(&f.path, cut.offset);
                io::remove_if_present(fs, &q).map_err(|e| Error::io("remove", &q, e))?;
                dir_dirty = true;
                match write_quarantine(fs, &q, cut_bytes) {
                    Ok(()) => report.quarantined.push(q),
                    // A full disk must not keep the log from opening: the cut is still
                    // reported in `cuts`, only its copy is not kept.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::StorageFull =>
                    {
                        let _ = fs.remove(&PathBuf::from(format!("{}.tmp", q.display())));
                        tracing::warn!(segment = %f.path.display(), offset = cut.offset, bytes = cut.bytes, "wal: no room to keep the cut bytes; cut without a copy");
                    }
                    Err(e) => return Err(e),
                }
            }
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
    for (path, end) in &plan.trim {
        // Zeros only, after a footer that verified: nothing is lost, nothing reported.
        let w = fs
            .open_write(path)
            .map_err(|e| Error::io("open", path, e))?;
        w.set_len(*end)
            .map_err(|e| Error::io("truncate", path, e))?;
        w.sync_data().map_err(|e| Error::io("sync", path, e))?;
    }
    if dir_dirty {
        fs.sync_dir(dir)
            .map_err(|e| Error::io("sync directory", dir, e))?;
    }
    Ok(())
}

/// Writes the quarantine file `q` holding `bytes`, durably.
fn write_quarantine(fs: &dyn FileSystem, q: &Path, bytes: &[u8]) -> Result<()> {
    let (Some(dir), Some(name)) = (q.parent(), q.file_name().and_then(|n| n.to_str())) else {
        return Err(Error::io(
            "create",
            q,
            std::io::ErrorKind::InvalidInput.into(),
        ));
    };
    io::create_durably(fs, dir, name, bytes, 0).map(drop)
}

/// The first index of the segment whose cut bytes the file `name` keeps, if it is such a
/// file (`NAME.wal.cut-OFFSET`).
pub(crate) fn quarantined_segment(name: &str) -> Option<u64> {
    let (segment, offset) = name.split_once(".cut-")?;
    offset.parse::<u64>().ok()?;
    segment::parse_segment_name(segment)
}

/// Where bytes cut from `segment` at `offset` are kept.
pub(super) fn quarantine_name(segment: &Path, offset: u64) -> PathBuf {
    PathBuf::from(format!("{}.cut-{offset}", segment.display()))
}
