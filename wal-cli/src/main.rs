//! `wal`: the inspector of `wal-core` logs, showing payloads as bytes (build your own with
//! `wal_cli::run::<YourEntry>()` to see them decoded).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    wal_cli::run_with(&wal_cli::Types::untyped(), std::env::args_os())
}
