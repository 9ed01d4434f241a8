//! What the bound on open files costs: a log of 10,000 segments of 64 KiB (4 KiB entries, 15
//! to a segment: 640 MB) is opened, scanned in full and read at 100,000 random indexes with
//! the default bound (`max_open_files` 64) and without one, in one run. It also prints open
//! time and resident memory per segment.
//! `cargo bench -p wal-core --bench open_files` (needs `ulimit -n` above 10,100 for the
//! unbounded runs).
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    missing_docs,
    reason = "benchmark code"
)]

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Bytes;
use criterion::{Criterion, criterion_group};
use wal_core::{Options, SyncPolicy, Wal};

const SEGMENTS: u64 = 10_000;
const PER_SEGMENT: u64 = 15;
const ENTRY: usize = 4096;
const ENTRIES: u64 = SEGMENTS * PER_SEGMENT;

fn opts(max_open_files: usize) -> Options {
    Options::default()
        .segment_size(64 << 10)
        .max_segment_entries(Some(PER_SEGMENT))
        .sync(SyncPolicy::Never)
        .max_open_files(max_open_files)
}

fn build(dir: &Path) {
    let wal = Wal::open(dir, opts(64)).unwrap();
    let e = Bytes(vec![0xab; ENTRY]);
    for _ in 0..ENTRIES {
        wal.append(&e).unwrap();
    }
    wal.close().unwrap();
}

/// Resident memory of this process (`VmRSS`), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

/// Set in the child process that measures the memory an open log holds.
const MEASURE_ENV: &str = "WAL_BENCH_MEASURE_OPEN";

/// Open time (the median of 11 opens), and the resident memory an open log holds, measured
/// in a fresh process (this one's allocator holds what building the log freed).
fn per_segment(dir: &Path) {
    let mut times: Vec<Duration> = (0..11)
        .map(|_| {
            let start = Instant::now();
            let wal = Wal::open(dir, opts(64)).unwrap();
            let t = start.elapsed();
            wal.close().unwrap();
            t
        })
        .collect();
    times.sort();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(MEASURE_ENV, dir)
        .output()
        .unwrap();
    let grown: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    eprintln!(
        "open of {SEGMENTS} segments: median {:?} ({:.2} µs per segment); resident memory of the open log {} KiB ({} bytes per segment)",
        times[5],
        times[5].as_secs_f64() * 1e6 / SEGMENTS as f64,
        grown / 1024,
        grown / SEGMENTS
    );
}

/// The child: prints how much resident memory opening the log added.
fn measure_open(dir: &Path) {
    let before = rss();
    let wal = Wal::open(dir, opts(64)).unwrap();
    let grown = rss().saturating_sub(before);
    black_box(&wal);
    println!("{grown}");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    per_segment(dir.path());
    let mut g = c.benchmark_group("10,000 segments");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, bound) in [("bound 64", 64), ("unbounded", usize::MAX)] {
        g.bench_function(format!("open and read the last entry, {name}"), |b| {
            b.iter(|| {
                let wal = Wal::open(dir.path(), opts(bound)).unwrap();
                black_box(wal.get_raw(wal.last_index()).unwrap().payload().len());
            });
        });
        let wal = Wal::open(dir.path(), opts(bound)).unwrap();
        g.bench_function(format!("full scan, {name}"), |b| {
            b.iter(|| {
                let mut n = 0u64;
                for raw in wal.iter().unwrap() {
                    n += raw.unwrap().payload().len() as u64;
                }
                black_box(n);
            });
        });
        g.bench_function(format!("100,000 random gets, {name}"), |b| {
            b.iter(|| {
                let mut x = 0x9e37_79b9_7f4a_7c15u64;
                let mut n = 0u64;
                for _ in 0..100_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    n += wal.get_raw(1 + x % ENTRIES).unwrap().payload().len() as u64;
                }
                black_box(n);
            });
        });
        wal.close().unwrap();
    }
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Some(dir) = std::env::var_os(MEASURE_ENV) {
        measure_open(Path::new(&dir));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
