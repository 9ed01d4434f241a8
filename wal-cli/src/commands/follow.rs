//! `wal follow`: entries printed as the writer adds them, like `tail -f`. The log is
//! reopened read-only at each look, so a writer in another process is never disturbed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use wal_core::RecoveryMode;

use super::dump::print_entry;
use super::io;
use crate::cli::Format;
use crate::open::open;
use crate::show::Types;

/// What to print, and how often to look.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub from: Option<u64>,
    pub limit: Option<u64>,
    pub interval: Duration,
    pub format: Format,
}

pub(crate) fn run(
    dir: &Path,
    plan: Plan,
    types: &Types,
    out: &mut impl Write,
) -> Result<u8, String> {
    let mut next = match plan.from {
        Some(i) => i,
        None => open(dir, RecoveryMode::TolerateTornTail)?.last_index() + 1,
    };
    let mut shown = 0;
    loop {
        let wal = open(dir, RecoveryMode::TolerateTornTail)?;
        if next < wal.first_index() {
            writeln!(
                out,
                "(entries {next}..{} were removed from the front)",
                wal.first_index()
            )
            .map_err(io)?;
            next = wal.first_index();
        }
        if next <= wal.last_index() {
            for raw in wal.iter_from(next).map_err(|e| e.to_string())? {
                let raw = match raw {
                    Ok(raw) => raw,
                    // The writer's retention removed a segment this view still listed:
                    // look again (the next view starts past it, and says so).
                    Err(wal_core::Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        break;
                    }
                    Err(e) => return Err(e.to_string()),
                };
                print_entry(&raw, plan.format, types, out).map_err(io)?;
                next = raw.index() + 1;
                shown += 1;
                if plan.limit.is_some_and(|l| shown >= l) {
                    return Ok(0);
                }
            }
            out.flush().map_err(io)?;
        }
        drop(wal);
        std::thread::sleep(plan.interval);
    }
}
