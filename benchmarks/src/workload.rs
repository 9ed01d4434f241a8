//! The six workloads, and what one measurement of one of them is.
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use crate::{Result, Subject, payload};

/// One workload of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// 1,000,000 × 100 B appends, one sync at the end (fastest mode).
    W1,
    /// 10,000 durable 100 B appends from one thread (durable mode).
    W2,
    /// 8 threads × 2,000 durable 100 B appends (durable mode).
    W3,
    /// 100,000 × 4 KiB appends, one sync at the end (fastest mode).
    W4,
    /// Reopen and replay the W1 log, checksums verified.
    W5Small,
    /// Reopen and replay the W4 log, checksums verified.
    W5Large,
    /// Reopen a 1 GiB log of 4 KiB entries and read its last entry.
    W6,
}

/// Every workload, in table order.
pub const ALL: [Workload; 7] = [
    Workload::W1,
    Workload::W2,
    Workload::W3,
    Workload::W4,
    Workload::W5Small,
    Workload::W5Large,
    Workload::W6,
];

const W1_N: u64 = 1_000_000;
const W4_N: u64 = 100_000;
const SMALL: usize = 100;
const LARGE: usize = 4096;
const W6_N: u64 = (1 << 30) / LARGE as u64;

impl Workload {
    /// The short name used on the command line and in the table.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::W1 => "W1",
            Self::W2 => "W2",
            Self::W3 => "W3",
            Self::W4 => "W4",
            Self::W5Small => "W5a",
            Self::W5Large => "W5b",
            Self::W6 => "W6",
        }
    }

    /// Parses [`Workload::name`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|w| w.name().eq_ignore_ascii_case(s))
    }

    /// The table's column heading.
    #[must_use]
    pub fn heading(self) -> &'static str {
        match self {
            Self::W1 => "W1 1M×100 B, one sync (entries/s)",
            Self::W2 => "W2 durable, 1 thread (appends/s)",
            Self::W3 => "W3 durable, 8 threads (appends/s)",
            Self::W4 => "W4 100k×4 KiB, one sync (MB/s)",
            Self::W5Small => "W5 replay W1 log (entries/s)",
            Self::W5Large => "W5 replay W4 log (GB/s)",
            Self::W6 => "W6 open 1 GiB + read last (ms)",
        }
    }

    /// Whether a bigger figure is better (rates) or a smaller one (times).
    #[must_use]
    pub fn higher_is_better(self) -> bool {
        self != Self::W6
    }

    /// Whether this workload needs durable appends, so libraries that never fsync do not count.
    #[must_use]
    pub fn durable(self) -> bool {
        matches!(self, Self::W2 | Self::W3)
    }

    /// The log a read workload reads, written by [`Workload::prepare`]: entries and size.
    fn prepared(self) -> Option<(u64, usize)> {
        match self {
            Self::W5Small => Some((W1_N, SMALL)),
            Self::W5Large => Some((W4_N, LARGE)),
            Self::W6 => Some((W6_N, LARGE)),
            _ => None,
        }
    }

    /// For the read workloads (W5, W6), writes the log they read into `root/log` in the
    /// subject's fastest mode, and what locates its last entry into `root/locator`. Run in a
    /// process of its own, so the measured one starts as after a restart. Does nothing for
    /// the others.
    pub fn prepare(self, subject: &dyn Subject, root: &Path) -> Result<()> {
        if let Some((n, size)) = self.prepared() {
            let locator = subject.bulk(&root.join("log"), n, size)?;
            std::fs::write(root.join("locator"), locator)?;
        }
        Ok(())
    }

    /// Runs the workload once on `subject` with its log in `root/log` (empty, or written by
    /// [`Workload::prepare`]), checks what it read, and returns the figure for the table (in
    /// the unit of [`Workload::heading`]).
    pub fn run(self, subject: &dyn Subject, root: &Path) -> Result<f64> {
        let dir = &root.join("log");
        match self {
            Self::W1 => rate(W1_N, || subject.bulk(dir, W1_N, SMALL).map(drop)),
            // What the durable workloads wrote is read back (untimed): every entry, one
            // thread's in order.
            Self::W2 => {
                let r = rate(10_000, || subject.durable(dir, 1, 10_000, SMALL))?;
                expect_replay(subject, dir, 10_000, SMALL, false)?;
                Ok(r)
            }
            Self::W3 => {
                let r = rate(16_000, || subject.durable(dir, 8, 2_000, SMALL))?;
                expect_replay(subject, dir, 16_000, SMALL, true)?;
                Ok(r)
            }
            Self::W4 => {
                Ok(rate(W4_N, || subject.bulk(dir, W4_N, LARGE).map(drop))? * LARGE as f64 / 1e6)
            }
            Self::W5Small => rate(W1_N, || expect_replay(subject, dir, W1_N, SMALL, false)),
            Self::W5Large => Ok(
                rate(W4_N, || expect_replay(subject, dir, W4_N, LARGE, false))? * LARGE as f64
                    / 1e9,
            ),
            Self::W6 => {
                let locator = std::fs::read_to_string(root.join("locator"))?;
                let start = Instant::now();
                let last = subject.open_last(dir, &locator)?;
                let ms = start.elapsed().as_secs_f64() * 1e3;
                let want = payload::payload(W6_N - 1, LARGE);
                if last != want {
                    return Err(format!(
                        "W6 read entry #{:?} ({} bytes), want #{} ({LARGE} bytes)",
                        payload::number(&last),
                        last.len(),
                        W6_N - 1
                    )
                    .into());
                }
                Ok(ms)
            }
        }
    }
}

fn rate(n: u64, f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    #[allow(clippy::cast_precision_loss)]
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Replays the log in `dir` and checks it holds payloads `0..n` of `size` bytes, in order
/// (each stamped with its position), or with `any_order`, `n` of them.
fn expect_replay(
    subject: &dyn Subject,
    dir: &Path,
    n: u64,
    size: usize,
    any_order: bool,
) -> Result<()> {
    let t = subject.replay(dir)?;
    if (t.entries, t.bytes) != (n, n * size as u64) || !(t.in_order || any_order) {
        return Err(format!(
            "replay read {} entries / {} bytes (stamps in order: {}), want {n} / {} in order",
            t.entries,
            t.bytes,
            t.in_order,
            n * size as u64
        )
        .into());
    }
    Ok(())
}

/// The read yardstick of W5: the log this library wrote for the workload (in `root/log`),
/// every file read sequentially with 1 MiB `read` calls and one CRC-32 over all its bytes
/// (what verifying every byte costs at the least). In W5's unit: entries/s for W5a, GB/s of
/// payload for W5b.
pub fn sequential_read(workload: Workload, root: &Path) -> Result<f64> {
    use std::io::Read;
    let (n, size) = workload.prepared().ok_or("not a read workload")?;
    let mut files: Vec<_> = std::fs::read_dir(root.join("log"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let start = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut crc = crc32fast::Hasher::new();
    for p in files {
        let mut f = std::fs::File::open(p)?;
        loop {
            let k = f.read(&mut buf)?;
            if k == 0 {
                break;
            }
            crc.update(&buf[..k]);
        }
    }
    std::hint::black_box(crc.finalize());
    let secs = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    Ok(match workload {
        Workload::W5Small => n as f64 / secs,
        _ => (n * size as u64) as f64 / secs / 1e9,
    })
}

/// The machine's sequential write bandwidth in MB/s: W4's bytes written with 1 MiB `write`
/// calls to a fresh file in `root`, then one `fdatasync`. W4's yardstick.
pub fn sequential_write(root: &Path) -> Result<f64> {
    let total = W4_N * LARGE as u64;
    let chunk = payload::noise(1 << 20);
    let start = Instant::now();
    let mut f = std::fs::File::create(root.join("sequential"))?;
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        f.write_all(&chunk[..usize::try_from(n)?])?;
        left -= n;
    }
    f.sync_data()?;
    #[allow(clippy::cast_precision_loss)]
    Ok(total as f64 / start.elapsed().as_secs_f64() / 1e6)
}
