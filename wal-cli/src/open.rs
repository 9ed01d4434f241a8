//! Opening a log read-only, with errors a person can act on.

use std::path::Path;

use wal_core::{Options, RecoveryMode, Wal};

/// Opens the log in `dir` read-only by `mode`. A directory with neither segment files nor
/// the `LOW_WATER` mark is not a log, and is said to be one line.
pub(crate) fn open(dir: &Path, mode: RecoveryMode) -> Result<Wal, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{}: no such directory", dir.display()),
        std::io::ErrorKind::NotADirectory => format!("{}: not a directory", dir.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!(
                "{}: permission denied (run as a user who may read the log)",
                dir.display()
            )
        }
        _ => format!("{}: cannot list the directory: {e}", dir.display()),
    })?;
    let is_log = entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name.ends_with(".wal") || name == "LOW_WATER"
    });
    if !is_log {
        return Err(format!(
            "{}: not a wal-core log (no segment files, no LOW_WATER mark)",
            dir.display()
        ));
    }
    // A writer's retention may remove a segment between the listing and its read: such an
    // open is tried again (the next listing no longer has it).
    let mut tries = 0;
    loop {
        match Wal::open_read_only(dir, Options::default().recovery(mode)) {
            Err(wal_core::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && tries < 5 =>
            {
                tries += 1;
            }
            other => return other.map_err(|e| e.to_string()),
        }
    }
}
