//! The subcommands: each returns its exit code, or the one-line reason it could not run.

use crate::cli::{Cli, Command};
use crate::show::Types;

mod dump;
mod follow;
mod info;
mod salvage;
mod stats;
mod verify;

/// Runs the command `cli` names.
pub(crate) fn run(cli: &Cli, types: &Types) -> Result<u8, String> {
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Info { dir } => info::run(dir, &mut out),
        Command::Dump { dir, range, format } => dump::run(dir, range, *format, types, &mut out),
        Command::Stats { dir } => stats::run(dir, types, &mut out),
        Command::Verify { dir } => verify::run(dir, &mut out),
        Command::Follow {
            dir,
            from,
            limit,
            interval_ms,
            format,
        } => follow::run(
            dir,
            follow::Plan {
                from: *from,
                limit: *limit,
                interval: std::time::Duration::from_millis(*interval_ms),
                format: *format,
            },
            types,
            &mut out,
        ),
        Command::Salvage { dir, to } => salvage::run(dir, to, &mut out),
    }
}

/// A write to stdout failed (a closed pipe, say): said in one line.
#[expect(clippy::needless_pass_by_value, reason = "used as `map_err(io)`")]
pub(crate) fn io(e: std::io::Error) -> String {
    format!("cannot write the output: {e}")
}
