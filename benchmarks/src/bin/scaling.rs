//! How cost grows with the log: for logs of 1, 4 and 16 GiB (4 KiB entries, default 64 MiB
//! segments) and of 10, 1,000 and 10,000 segments (64 KiB segments), the time to open and
//! read the last entry, the resident memory an open log holds (measured in a fresh process),
//! replay throughput, and the descriptors held after a full scan.
//!
//!   cargo run --release --bin scaling -- [--dir DIR] [--entry BYTES]
//!
//! Needs about 22 GB free under DIR (the logs are written one at a time and removed).

use std::path::Path;
use std::time::{Duration, Instant};

use wal_benchmarks::Result;
use wal_benchmarks::args::{Args, Bytes};
use wal_core::{Options, SyncPolicy, Wal};

/// Set in the child process that measures an open log's resident memory.
const MEASURE_ENV: &str = "WAL_BENCH_SCALING_MEASURE";

/// A log shape: total bytes of payload and the segment size.
struct Shape {
    name: String,
    entries: u64,
    segment_size: u64,
}

fn opts(shape_segment: u64) -> Options {
    Options::default()
        .segment_size(shape_segment)
        .sync(SyncPolicy::Never)
}

fn build(dir: &Path, shape: &Shape, entry: usize) -> Result<()> {
    let wal = Wal::open(dir, opts(shape.segment_size))?;
    let e = Bytes(vec![0x5a; entry]);
    for _ in 0..shape.entries {
        wal.append(&e)?;
    }
    wal.close()?;
    Ok(())
}

/// `VmRSS` of this process, in bytes.
fn rss() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb * 1024)
}

fn open_files() -> Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// In the child: the resident memory an open log adds, printed.
fn measure(dir: &Path, segment_size: u64) -> Result<()> {
    let before = rss()?;
    let wal = Wal::open(dir, opts(segment_size))?;
    let after = rss()?;
    println!("RSS {}", after.saturating_sub(before));
    drop(wal);
    Ok(())
}

struct Row {
    name: String,
    segments: usize,
    open_read_last: Duration,
    rss: u64,
    replay_gbps: f64,
    fds_after_scan: usize,
}

fn run(root: &Path, shape: &Shape, entry: usize) -> Result<Row> {
    let tmp = tempfile::tempdir_in(root)?;
    let dir = tmp.path();
    build(dir, shape, entry)?;
    // Open + read the last entry: the median of 5, warm cache.
    let mut times = Vec::new();
    let mut segments = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let wal = Wal::open(dir, opts(shape.segment_size))?;
        let last = wal.get_raw(wal.last_index())?;
        times.push(start.elapsed());
        if last.payload().len() != entry {
            return Err("the last entry read back wrong".into());
        }
        segments = wal.segments().len();
    }
    times.sort();
    let out = std::process::Command::new(std::env::current_exe()?)
        .env(MEASURE_ENV, dir)
        .env("WAL_BENCH_SEGMENT", shape.segment_size.to_string())
        .output()?;
    let rss: u64 = String::from_utf8(out.stdout)?
        .trim()
        .strip_prefix("RSS ")
        .ok_or("the child printed no RSS")?
        .parse()?;
    let wal = Wal::open(dir, opts(shape.segment_size))?;
    let fds_before = open_files()?;
    let start = Instant::now();
    let mut bytes = 0u64;
    for raw in wal.iter()? {
        bytes += raw?.payload().len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let fds_after_scan = open_files()?.saturating_sub(fds_before);
    if bytes != shape.entries * entry as u64 {
        return Err(format!("replayed {bytes} bytes").into());
    }
    drop(wal);
    #[allow(clippy::cast_precision_loss)]
    Ok(Row {
        name: shape.name.clone(),
        segments,
        open_read_last: times[times.len() / 2],
        rss,
        replay_gbps: bytes as f64 / secs / 1e9,
        fds_after_scan,
    })
}

fn main() -> Result<()> {
    if let Some(dir) = std::env::var_os(MEASURE_ENV) {
        let segment: u64 = std::env::var("WAL_BENCH_SEGMENT")?.parse()?;
        return measure(Path::new(&dir), segment);
    }
    let args = Args::parse()?;
    let entry = args.entry.unwrap_or(4096);
    let per_gib = (1u64 << 30) / entry as u64;
    let mut shapes: Vec<Shape> = [1u64, 4, 16]
        .into_iter()
        .map(|g| Shape {
            name: format!("{g} GiB, 64 MiB segments"),
            entries: g * per_gib,
            segment_size: 64 << 20,
        })
        .collect();
    // 64 KiB segments hold 15 entries of 4 KiB.
    let per_small = (64u64 << 10) / (entry as u64 + 22);
    for n in [10u64, 1_000, 10_000] {
        shapes.push(Shape {
            name: format!("{n} segments of 64 KiB"),
            entries: n * per_small,
            segment_size: 64 << 10,
        });
    }
    println!(
        "Cost as the log grows ({entry} B entries, warm page cache; open + read last: median of 5):\n"
    );
    println!(
        "| log | segments | open + read last | memory after open | per segment | replay | descriptors held after a full scan |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // The rows as data, for `charts` (in the working directory).
    let mut tsv = String::from("log\tsegments\topen_read_last_ms\trss_bytes\treplay_gbps\n");
    for shape in &shapes {
        let r = run(&args.dir, shape, entry)?;
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.name,
            r.segments,
            r.open_read_last.as_secs_f64() * 1e3,
            r.rss,
            r.replay_gbps
        ));
        std::fs::write("scaling.tsv", &tsv)?;
        println!(
            "| {} | {} | {:.2?} | {} KiB | {} B | {:.2} GB/s | {} |",
            r.name,
            r.segments,
            r.open_read_last,
            r.rss / 1024,
            r.rss / r.segments.max(1) as u64,
            r.replay_gbps,
            r.fds_after_scan
        );
    }
    Ok(())
}
