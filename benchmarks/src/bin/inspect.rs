//! `wal verify` and `wal stats` on a 1 GiB log against a plain sequential read of the same
//! files (the page-cache read bandwidth: 1 MiB reads, no checks), warm cache, in one run;
//! beside them the same read with one CRC-32 over all bytes, the least that verifying every
//! byte costs.
//!
//!   cargo run --release --bin inspect -- [--dir DIR] [--entry BYTES]

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use wal_benchmarks::args::{Args, Bytes, median};
use wal_core::{Options, SyncPolicy, Wal};

use wal_benchmarks::Result;

const TOTAL: u64 = 1 << 30;

/// Seconds to read every file of `dir` sequentially, and the bytes read; with `crc`, one
/// CRC-32 over all of them as well.
fn plain_read(dir: &Path, crc: bool) -> Result<(f64, u64)> {
    let start = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0;
    let mut hasher = crc32fast::Hasher::new();
    for e in std::fs::read_dir(dir)? {
        let mut f = std::fs::File::open(e?.path())?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if crc {
                hasher.update(&buf[..n]);
            }
            bytes += n as u64;
        }
    }
    std::hint::black_box(hasher.finalize());
    Ok((start.elapsed().as_secs_f64(), bytes))
}

/// Seconds `wal CMD dir` takes (run in this process: what it prints goes to stdout, among
/// the table's rows), checking its exit code.
fn wal(cmd: &str, dir: &Path) -> Result<f64> {
    let start = Instant::now();
    let code = wal_cli::run_with(
        &wal_cli::Types::untyped(),
        ["wal".as_ref(), cmd.as_ref(), dir.as_os_str()],
    );
    let secs = start.elapsed().as_secs_f64();
    if code != std::process::ExitCode::SUCCESS {
        return Err(format!("wal {cmd} failed").into());
    }
    Ok(secs)
}

/// Writes a 1 GiB log of `entry`-byte entries into `dir`: with `sync_every`, a sync (and
/// so a sync marker) after every that many entries, as a durable service's log has;
/// without, one sync at the end, so each segment is one window.
fn write(dir: &Path, entry: usize, sync_every: Option<u64>) -> Result<()> {
    let wal = Wal::open(dir, Options::default().sync(SyncPolicy::Never))?;
    let e = Bytes(vec![0x5a; entry]);
    for i in 1..=TOTAL / entry as u64 {
        wal.append(&e)?;
        if sync_every.is_some_and(|n| i % n == 0) {
            wal.sync()?;
        }
    }
    wal.close()?;
    let _ = std::fs::remove_file(dir.join("LOCK"));
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse()?;
    let (root, entry) = (args.dir, args.entry.unwrap_or(4096));
    let keep = std::env::var_os("WAL_BENCH_KEEP").is_some();
    println!("1 GiB log of {entry} B entries, warm page cache, median of 3:\n");
    println!("| log | read | GB/s | vs plain read |");
    println!("|---|---|---:|---:|");
    for (name, sync_every) in [
        ("one sync at the end", None),
        ("a sync every 1,000 entries", Some(1000)),
    ] {
        let tmp = tempfile::tempdir_in(&root)?;
        let dir = tmp.path();
        write(dir, entry, sync_every)?;
        plain_read(dir, false)?; // warm the page cache
        let (mut read, mut crc, mut verify, mut stats) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut bytes = 0;
        for _ in 0..3 {
            let (secs, b) = plain_read(dir, false)?;
            read.push(secs);
            bytes = b;
            crc.push(plain_read(dir, true)?.0);
            verify.push(wal("verify", dir)?);
            stats.push(wal("stats", dir)?);
        }
        let gbps = |s: f64| bytes as f64 / s / 1e9;
        let (read, crc, verify, stats) = (median(read), median(crc), median(verify), median(stats));
        println!(
            "| {name} | plain sequential read (1 MiB reads) | {:.2} | 1.00 |",
            gbps(read)
        );
        println!(
            "| {name} | the same read + one CRC-32 over all bytes | {:.2} | {:.2} |",
            gbps(crc),
            read / crc
        );
        println!(
            "| {name} | wal verify | {:.2} | {:.2} |",
            gbps(verify),
            read / verify
        );
        println!(
            "| {name} | wal stats | {:.2} | {:.2} |",
            gbps(stats),
            read / stats
        );
        if keep {
            println!("kept: {}", tmp.keep().display());
        }
    }
    Ok(())
}
