//! Live logs: async durable appends against threads, and how soon a follower sees an entry.
//!
//! - Durable appends of 100 B under `SyncPolicy::Always` from 1, 8 (W3's shape) and 64 OS
//!   threads, and `append_async` from 64 and from 1,000 tokio tasks on a 2-thread runtime:
//!   the same 16,000 appends (2,000 from one thread), appends/s and appends per fsync, each
//!   the median of `--runs`; against the disk's limit, threads ÷ the median fdatasync of
//!   100 B written into a preallocated file.
//! - Follower latency: one thread appends under `Always`, a follower (blocking `next`)
//!   yields each entry; the time from `append` returning to the follower yielding the
//!   entry, median and p99 (an entry the follower yields before `append` returned counts
//!   as 0: both wait for the same fsync).
//! - A follower replaying a backlog of 1,000,000 × 100 B from the start, against `iter`.
//!
//!   cargo run --release --bin live -- [--runs N] [--dir DIR]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wal_benchmarks::args::{Args, Bytes, median};
use wal_core::{Options, SyncPolicy, Wal};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

const TOTAL: u64 = 16_000;
const SMALL: usize = 100;
const BACKLOG: u64 = 1_000_000;

fn payload(i: u64) -> Bytes {
    let mut p = vec![0x5a; SMALL];
    p[..8].copy_from_slice(&i.to_le_bytes());
    Bytes(p)
}

/// Appends/s and appends per fsync of 16,000 durable appends from `n` threads (2,000 from
/// one).
fn threads(dir: &Path, n: u64) -> Result<(f64, f64)> {
    let wal = Wal::open(dir, Options::default())?;
    let before = wal.stats().fsyncs;
    let total = if n == 1 { TOTAL / 8 } else { TOTAL };
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|t| {
                let wal = &wal;
                s.spawn(move || -> wal_core::Result<()> {
                    for k in 0..total / n {
                        wal.append(&payload(t * TOTAL + k))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| Error::from("panicked"))?
                .map_err(Error::from)
        })
    })?;
    let secs = start.elapsed().as_secs_f64();
    let fsyncs = wal.stats().fsyncs - before;
    check_all(&wal)?;
    wal.close()?;
    Ok((total as f64 / secs, total as f64 / fsyncs as f64))
}

/// The median time of an fdatasync after writing 100 B into a preallocated file (2,000
/// of them at successive offsets): the disk's limit on durable appends, one per fsync.
fn fdatasync_latency(dir: &Path) -> Result<Duration> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let path = dir.join("preallocated");
    let mut f = std::fs::File::create(&path)?;
    f.write_all(&vec![0u8; 16 << 20])?;
    f.sync_all()?;
    let mut times = Vec::new();
    for k in 0..2_000u64 {
        let start = Instant::now();
        f.write_all_at(&[0x5a; SMALL], k * SMALL as u64)?;
        f.sync_data()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// The same appends from `tasks` tokio tasks on a 2-thread runtime, each awaiting
/// `append_async` in turn.
fn tasks(dir: &Path, tasks: u64) -> Result<(f64, f64)> {
    let wal = Arc::new(Wal::open(dir, Options::default())?);
    let before = wal.stats().fsyncs;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let wal = Arc::clone(&wal);
                tokio::spawn(async move {
                    for k in 0..TOTAL / tasks {
                        wal.append_async(&payload(t * TOTAL + k)).await?;
                    }
                    Ok::<_, wal_core::Error>(())
                })
            })
            .collect();
        for h in handles {
            h.await??;
        }
        Ok::<_, Error>(())
    })?;
    let secs = start.elapsed().as_secs_f64();
    let done = TOTAL / tasks * tasks;
    let fsyncs = wal.stats().fsyncs - before;
    if wal.durable_index() != done {
        return Err(format!("{} durable, want {done}", wal.durable_index()).into());
    }
    check_all(&wal)?;
    Arc::try_unwrap(wal).map_err(|_| "still shared")?.close()?;
    Ok((done as f64 / secs, done as f64 / fsyncs as f64))
}

/// Every entry of the log reads back as one of the payloads written.
fn check_all(wal: &Wal) -> Result<()> {
    let mut n = 0;
    for raw in wal.iter()? {
        if raw?.payload().len() != SMALL {
            return Err("a payload changed".into());
        }
        n += 1;
    }
    if n != wal.last_index() {
        return Err(format!("{n} entries read, {} appended", wal.last_index()).into());
    }
    Ok(())
}

/// Median and p99 of the time from `append` returning to the follower yielding the entry.
fn follower_latency(dir: &Path, n: u64) -> Result<(Duration, Duration)> {
    let wal = Arc::new(Wal::open(dir, Options::default())?);
    let returned: Arc<Mutex<Vec<Option<Instant>>>> =
        Arc::new(Mutex::new(vec![None; n as usize + 1]));
    let mut follower = wal.follow(1)?;
    let seen = std::thread::spawn(move || -> Result<Vec<(u64, Instant)>> {
        let mut seen = Vec::new();
        while seen.len() < n as usize {
            let raw = follower.next().ok_or("the follower ended early")??;
            seen.push((raw.index(), Instant::now()));
        }
        Ok(seen)
    });
    for i in 1..=n {
        let index = wal.append(&payload(i))?;
        returned.lock().map_err(|_| "poisoned")?[index as usize] = Some(Instant::now());
        // An application's pace, not a flood: one entry every 200 µs.
        std::thread::sleep(Duration::from_micros(200));
    }
    let seen = seen.join().map_err(|_| "follower panicked")??;
    let returned = returned.lock().map_err(|_| "poisoned")?;
    let mut lat: Vec<Duration> = seen
        .iter()
        .map(|&(i, at)| {
            returned[i as usize].map_or(Duration::ZERO, |r| at.saturating_duration_since(r))
        })
        .collect();
    lat.sort_unstable();
    Ok((lat[lat.len() / 2], lat[lat.len() * 99 / 100]))
}

/// Entries/s of a follower from the start of a 1,000,000-entry log, and of `iter`.
fn backlog(dir: &Path) -> Result<(f64, f64)> {
    {
        let wal = Wal::open(dir, Options::default().sync(SyncPolicy::Never))?;
        for i in 0..BACKLOG {
            wal.append(&payload(i))?;
        }
        wal.close()?;
    }
    let wal = Wal::open(dir, Options::default())?;
    let start = Instant::now();
    let mut n = 0u64;
    let mut follower = wal.follow(1)?;
    while n < BACKLOG {
        let raw = follower.try_next().ok_or("the follower stopped early")??;
        n += raw.payload().len() as u64 / SMALL as u64;
    }
    let follow_rate = BACKLOG as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut m = 0u64;
    for raw in wal.iter()? {
        m += raw?.payload().len() as u64 / SMALL as u64;
    }
    let iter_rate = BACKLOG as f64 / start.elapsed().as_secs_f64();
    if m != BACKLOG {
        return Err(format!("iter read {m}").into());
    }
    Ok((follow_rate, iter_rate))
}

fn main() -> Result<()> {
    let Args {
        runs, dir: root, ..
    } = Args::parse()?;
    let fresh = || tempfile::tempdir_in(&root);
    println!(
        "Live logs (wal-core, 100 B entries, durable: SyncPolicy::Always), median of {runs}\n"
    );
    let fsync = fdatasync_latency(fresh()?.path())?;
    println!(
        "| appenders | appends/s | appends per fsync | vs 8 threads | vs threads ÷ fdatasync |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut rows: Vec<(String, f64, f64, Option<u64>)> = Vec::new();
    for n in [1, 8, 64] {
        let (mut r, mut p) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (rate, per) = threads(fresh()?.path(), n)?;
            r.push(rate);
            p.push(per);
        }
        let name = match n {
            1 => "1 OS thread (W2)".to_owned(),
            8 => "8 OS threads (W3)".to_owned(),
            n => format!("{n} OS threads"),
        };
        rows.push((name, median(r), median(p), Some(n)));
    }
    for n in [64, 1000] {
        let (mut r, mut p) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (rate, per) = tasks(fresh()?.path(), n)?;
            r.push(rate);
            p.push(per);
        }
        rows.push((
            format!("{n} tokio tasks, 2 threads (append_async)"),
            median(r),
            median(p),
            None,
        ));
    }
    let base = rows[1].1;
    for (name, rate, per, threads) in &rows {
        let limit = threads.map_or_else(
            || "—".to_owned(),
            |n| format!("{:.2}x", rate / (n as f64 / fsync.as_secs_f64())),
        );
        println!(
            "| {name} | {rate:.0} | {per:.1} | {:.2}x | {limit} |",
            rate / base
        );
    }
    println!(
        "\nfdatasync of 100 B written into a preallocated file: median {fsync:.1?} (one thread: {:.0}/s, 8 threads at most {:.0}/s)",
        1.0 / fsync.as_secs_f64(),
        8.0 / fsync.as_secs_f64()
    );
    let (p50, p99) = follower_latency(fresh()?.path(), 2_000)?;
    println!(
        "\nFollower latency, append returned -> follower yielded (2,000 entries, one per 200 µs): median {p50:.1?}, p99 {p99:.1?}"
    );
    let (follow, iter) = backlog(fresh()?.path())?;
    println!(
        "Backlog of 1,000,000 × 100 B: follower {:.2} M entries/s, iter {:.2} M entries/s ({:.2}x)",
        follow / 1e6,
        iter / 1e6,
        follow / iter
    );
    Ok(())
}
