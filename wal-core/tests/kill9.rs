//! kill -9 on real files (RELIABILITY.md K-01): a child process appends and reports what was
//! acknowledged over a pipe; the parent kills it at a random moment, reopens and verifies.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Blob, read_all};
use wal_core::{Options, SyncPolicy, Wal};

const CHILD_ENV: &str = "WAL_KILL9_CHILD";

fn policy(n: u64) -> SyncPolicy {
    match n % 4 {
        0 => SyncPolicy::Always,
        1 => SyncPolicy::Batch {
            max_delay: Duration::from_millis(2),
            max_bytes: 8192,
        },
        2 => SyncPolicy::Interval(Duration::from_millis(3)),
        _ => SyncPolicy::Never,
    }
}

fn opts(n: u64) -> Options {
    Options::default()
        .segment_size(if n.is_multiple_of(3) { 4096 } else { 64 * 1024 })
        .sync(policy(n))
}

/// The child: appends (single entries and batches) until killed, printing
/// `ack INDEX durable` for entries known durable and `ack INDEX` for the others.
#[test]
#[ignore = "run by k01_kill9_loop as its child process"]
fn kill9_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (n, dir) = spec.split_once(':').unwrap();
    let n: u64 = n.parse().unwrap();
    let wal = Wal::open(dir, opts(n)).unwrap();
    let mut out = std::io::stdout().lock();
    let mut i = wal.last_index();
    loop {
        let last = if i % 7 == 3 {
            wal.append_batch(&[Blob::nth(i + 1), Blob::nth(i + 2), Blob::nth(i + 3)])
                .unwrap()
                .end
                - 1
        } else {
            wal.append(&Blob::nth(i + 1)).unwrap()
        };
        i = last;
        if policy(n) != SyncPolicy::Always && i.is_multiple_of(50) {
            wal.sync().unwrap();
        }
        let durable = wal.durable_index() >= last;
        writeln!(out, "ack {last}{}", if durable { " durable" } else { "" }).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn k01_kill9_loop() {
    let iterations = 300;
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let (mut total_acked, mut total_durable) = (0, 0);
    for n in 0..iterations {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let dir = tmp.path().join(format!("log-{n}"));
        // Half the iterations continue an earlier log, so recovery runs on logs with history.
        let dir = if n % 2 == 1 {
            tmp.path().join(format!("log-{}", n - 1))
        } else {
            dir
        };
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "kill9_child",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD_ENV, format!("{n}:{}", dir.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut acked, mut durable) = (0u64, 0u64);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("ack ") {
                    let (index, is_durable) = rest
                        .split_once(' ')
                        .map_or((rest, false), |(i, _)| (i, true));
                    let index: u64 = index.parse().unwrap();
                    acked = acked.max(index);
                    if is_durable {
                        durable = durable.max(index);
                    }
                }
            }
            (acked, durable)
        });
        std::thread::sleep(Duration::from_micros(2_000 + seed % 40_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let (acked, durable) = reader.join().unwrap();
        let wal =
            Wal::open(&dir, Options::default()).unwrap_or_else(|e| panic!("iteration {n}: {e}"));
        let entries = read_all(&wal);
        let what = format!("iteration {n} ({:?})", policy(n));
        assert!(
            entries
                .iter()
                .enumerate()
                .all(|(k, (i, b))| *i == k as u64 + 1 && *b == Blob::nth(*i)),
            "{what}: not a prefix"
        );
        // A process kill keeps what reached the kernel: durable entries always, and under
        // `Always` every acknowledged one.
        assert!(
            wal.last_index() >= durable,
            "{what}: durable entry {durable} lost ({} recovered)",
            wal.last_index()
        );
        if policy(n) == SyncPolicy::Always {
            assert!(
                wal.last_index() >= acked,
                "{what}: acknowledged entry {acked} lost"
            );
        }
        total_acked += acked;
        total_durable += durable;
    }
    common::report(&format!(
        "K-01: {iterations} kill -9 iterations; {total_acked} acknowledged, {total_durable} durable entries verified"
    ));
}
