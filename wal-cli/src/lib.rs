//! `wal`: look inside a `wal-core` log without writing code — `info`, `dump`, `stats`,
//! `verify`, `follow` and `salvage`. It opens logs read-only (`Wal::open_read_only`): it
//! never takes the directory lock, never writes to the log, and can look at the log of a
//! service that is running.
//!
//! The `wal` binary shows payloads as bytes. Built with your own entry type, it shows them
//! decoded and names their types — your own inspector in three lines:
//!
//! ```no_run
//! # use wal_core::WalEntry;
//! # #[derive(WalEntry, Debug)]
//! # enum MyEntry { #[wal(type_id = 1)] Put { key: String } }
//! fn main() -> std::process::ExitCode {
//!     wal_cli::run::<MyEntry>()
//! }
//! ```
//!
//! Exit codes: 0 success; 1 `verify` found damage; 2 the command could not run (a wrong
//! path, a directory that is not a log, a newer format version, a permission problem, damage
//! that keeps the log from opening), with one line on stderr saying what and where.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt::Debug;
use std::process::ExitCode;

use clap::Parser;
use wal_core::Entry;

mod cli;
mod commands;
mod open;
mod show;

pub use show::Types;

/// Runs the inspector on the process's arguments, showing entries decoded as `E` (its
/// `Debug` form) and naming their types by [`Entry::type_name`].
#[must_use]
pub fn run<E: Entry + Debug>() -> ExitCode {
    run_with(&Types::of::<E>(), std::env::args_os())
}

/// Runs the inspector on `args` (the first is the program's name) with `types` deciding
/// how payloads are shown. Prints to stdout and stderr; returns the exit code.
#[must_use]
pub fn run_with(
    types: &Types,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(&cli, types) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("wal: {e}");
            ExitCode::from(2)
        }
    }
}
