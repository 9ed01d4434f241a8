//! The mark files (`LOW_WATER`, `HIGH_WATER`, `CUT`): small records written whole, each
//! durably (temporary name, sync, rename, directory sync), that recovery reads before it
//! decides anything. Their byte layout is in [`crate::format`].

use std::path::Path;

use crate::error::{CorruptionKind, Error, Result};
use crate::io::{self, FileSystem};

/// The name of the low-water file in the log directory.
pub(crate) const LOW_WATER: &str = "LOW_WATER";
/// The name of the high-water file in the log directory.
pub(crate) const HIGH_WATER: &str = "HIGH_WATER";
/// The name of the cut file in the log directory.
pub(crate) const CUT: &str = "CUT";

/// A mark file: its name and magic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark(pub &'static str, pub [u8; 8]);

/// The log's first index.
pub(crate) const LOW_WATER_MARK: Mark = Mark(LOW_WATER, crate::format::LOW_WATER_MAGIC);
/// The sequence number of the newest segment.
pub(crate) const HIGH_WATER_MARK: Mark = Mark(HIGH_WATER, crate::format::HIGH_WATER_MAGIC);
/// The last index an interrupted `truncate_back` into a batch keeps.
pub(crate) const CUT_MARK: Mark = Mark(CUT, crate::format::CUT_MAGIC);

/// Reads a mark file: `(log_id, value)`.
pub(crate) fn read_mark(
    fs: &dyn FileSystem,
    dir: &Path,
    mark: Mark,
    log_id: Option<u64>,
) -> Result<(u64, u64)> {
    let path = dir.join(mark.0);
    let file = fs
        .open_read(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    let bytes = io::read_range(&*file, 0, crate::format::MARK_LEN + 1)
        .map_err(|e| Error::io("read", &path, e))?;
    let (id, value) =
        crate::format::decode_mark(mark.1, &bytes).ok_or_else(|| Error::Corruption {
            segment: path.clone(),
            offset: 0,
            kind: CorruptionKind::BadMarkFile,
        })?;
    match log_id {
        Some(expected) if expected != id => Err(Error::ForeignSegment {
            path,
            expected,
            found: id,
        }),
        _ => Ok((id, value)),
    }
}

/// Writes a mark file durably: temporary name, sync, rename, directory sync.
pub(crate) fn write_mark(
    fs: &dyn FileSystem,
    dir: &Path,
    mark: Mark,
    log_id: u64,
    value: u64,
) -> Result<()> {
    let bytes = crate::format::encode_mark(mark.1, log_id, value);
    io::create_durably(fs, dir, mark.0, &bytes, 0).map(drop)
}

/// Removes a mark file durably (remove, directory sync); a missing one is not an error.
pub(crate) fn remove_mark(fs: &dyn FileSystem, dir: &Path, mark: Mark) -> Result<()> {
    let path = dir.join(mark.0);
    if !io::remove_if_present(fs, &path).map_err(|e| Error::io("remove", &path, e))? {
        return Ok(());
    }
    fs.sync_dir(dir)
        .map_err(|e| Error::io("sync directory", dir, e))
}
