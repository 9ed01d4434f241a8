//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Look inside a wal-core log: info, dump, stats, verify, follow, salvage. Logs are opened
/// read-only: never locked, never written, safe on the log of a running service.
#[derive(Debug, Parser)]
#[command(
    name = "wal",
    version,
    after_help = "Exit codes: 0 ok; 1 verify found damage; 2 could not run (the reason on stderr)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The log's identity, format version, indexes, segments, and what recovery would do.
    #[command(after_help = "Example:\n  wal info /var/lib/app/wal")]
    Info {
        /// The log's directory.
        dir: PathBuf,
    },
    /// Entries, one per line: index, type, size and the payload.
    #[command(
        after_help = "Examples:\n  wal dump /var/lib/app/wal --from 100 --limit 20\n  wal dump /var/lib/app/wal --type 3 --format json\n  wal dump /var/lib/app/wal --to 10 --format hex"
    )]
    Dump {
        /// The log's directory.
        dir: PathBuf,
        #[command(flatten)]
        range: Range,
        /// How entries are printed.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Count and bytes per entry type and per segment, and payload size percentiles.
    #[command(after_help = "Example:\n  wal stats /var/lib/app/wal")]
    Stats {
        /// The log's directory.
        dir: PathBuf,
    },
    /// Checks every frame by a CRC (its sync-marker window's or its own), every sealed
    /// segment's footer and the chain of segments, and the marks; names each damaged place
    /// (file, offset, kind). Exit 0 clean, 1 damage found, 2 could not run.
    #[command(after_help = "Example:\n  wal verify /var/lib/app/wal && echo clean")]
    Verify {
        /// The log's directory.
        dir: PathBuf,
    },
    /// Prints entries as the writer adds them, like `tail -f` (Ctrl-C to stop).
    #[command(
        after_help = "Examples:\n  wal follow /var/lib/app/wal\n  wal follow /var/lib/app/wal --from 1 --limit 100"
    )]
    Follow {
        /// The log's directory.
        dir: PathBuf,
        /// The first index to print. Default: the entry after the last one now.
        #[arg(long)]
        from: Option<u64>,
        /// Stop after this many entries.
        #[arg(long)]
        limit: Option<u64>,
        /// How often to look for new entries, in milliseconds.
        #[arg(long, default_value_t = 200)]
        interval_ms: u64,
        /// How entries are printed.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Copies every valid entry into a new log (never in place), reporting what was skipped
    /// and why.
    #[command(
        after_help = "Example:\n  wal salvage /var/lib/app/wal --to /var/lib/app/wal.salvaged"
    )]
    Salvage {
        /// The damaged log's directory (only read).
        dir: PathBuf,
        /// The new log's directory: must not exist, or be empty.
        #[arg(long)]
        to: PathBuf,
    },
}

/// Which entries `dump` prints.
#[derive(Debug, clap::Args)]
pub(crate) struct Range {
    /// The first index to print.
    #[arg(long)]
    pub from: Option<u64>,
    /// The last index to print.
    #[arg(long)]
    pub to: Option<u64>,
    /// Print at most this many entries.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Only entries of this type: a number, or a name your entry type gives.
    #[arg(long = "type")]
    pub types: Vec<String>,
}

/// How entries are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Index, type, size, and a readable preview (or the decoded entry).
    Text,
    /// JSON lines: index, type, name, size, the payload in base64, and the decoded entry.
    Json,
    /// Index, type, size, then the payload as a hex dump.
    Hex,
}
