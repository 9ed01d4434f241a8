//! kill -9 on real files (K-01, K-02, see `docs/testing.md`): a child process appends and reports what was
//! acknowledged over a pipe; the parent kills it at a random moment, reopens and verifies.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Blob, read_all};
use wal_core::{Options, SyncPolicy, Wal};

const CHILD_ENV: &str = "WAL_KILL9_CHILD";
const MIXED_ENV: &str = "WAL_KILL9_MIXED";

/// Starts this test binary running the ignored test `name`, with `spec` in `env`, kills
/// it `delay` after its first acknowledgement, and returns the lines it printed.
///
/// Fails when the child acknowledged nothing within 60 s, or ended other than by the kill
/// (a panic, an exit): the message then holds its stderr.
fn run_and_kill(name: &str, env: &str, spec: String, delay: Duration, what: &str) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(env, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (first_ack, acked) = std::sync::mpsc::channel();
    let lines = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.is_empty() && line.starts_with("ack ") {
                let _ = first_ack.send(());
            }
            if line.starts_with("ack ") || !lines.is_empty() {
                lines.push(line);
            }
        }
        lines
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let started = acked.recv_timeout(Duration::from_secs(60)).is_ok();
    if started {
        std::thread::sleep(delay);
    }
    // A child that already ended cannot be killed: its status below says how it ended.
    let _ = child.kill();
    let status = child.wait().unwrap();
    let lines = lines.join().unwrap();
    let errors = errors.join().unwrap();
    assert!(
        started,
        "{what}: the child acknowledged nothing ({status}); stderr:\n{errors}"
    );
    assert_eq!(
        status.signal(),
        Some(9),
        "{what}: the child ended other than by the kill ({status}); stderr:\n{errors}"
    );
    lines
}

/// A xorshift step: the kill delays.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

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

/// The child: appends (single entries and batches) until killed, printing `ack LAST` after
/// each append returns and, under the policies that need it, `synced LAST` after each
/// `sync()` returns.
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
    // The test harness's "test NAME ... " has no newline: start on a line of our own.
    writeln!(out).unwrap();
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
        writeln!(out, "ack {last}").unwrap();
        if policy(n) != SyncPolicy::Always && i.is_multiple_of(50) {
            wal.sync().unwrap();
            writeln!(out, "synced {last}").unwrap();
        }
        out.flush().unwrap();
    }
}

/// Bytes of the frames of entries `from..=to` of the `Blob::nth` sequence.
fn frame_bytes(from: u64, to: u64) -> usize {
    (from..=to).map(|i| 18 + Blob::nth(i).data.len()).sum()
}

/// K-01: kill -9 while appending under every policy, on real files. Durability is judged
/// from what the parent saw: under `Always` every acknowledged entry, under the others every
/// entry a returned `sync()` covered; and a process crash loses at most the log's buffer
/// (under 1 MiB of frames), never under `Always`.
#[test]
fn k01_kill9_loop() {
    let iterations = 300;
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let (mut total_acked, mut total_durable, mut max_lost) = (0, 0, 0);
    let mut last_seen = BTreeMap::new();
    for n in 0..iterations {
        next(&mut seed);
        // Half the iterations continue an earlier log, so recovery runs on logs with history.
        let dir = tmp.path().join(format!("log-{}", n - n % 2));
        let what = format!("iteration {n} ({:?})", policy(n));
        let before: u64 = last_seen.get(&dir).copied().unwrap_or(0);
        let lines = run_and_kill(
            "kill9_child",
            CHILD_ENV,
            format!("{n}:{}", dir.display()),
            Duration::from_micros(2_000 + seed % 40_000),
            &what,
        );
        let number = |prefix: &str| {
            lines
                .iter()
                .filter_map(|l| l.strip_prefix(prefix))
                .map(|i| i.parse::<u64>().unwrap())
                .max()
        };
        let acked = number("ack ").unwrap();
        let synced = number("synced ").unwrap_or(before);
        let durable = if policy(n) == SyncPolicy::Always {
            acked
        } else {
            synced.max(before)
        };
        let wal = Wal::open(&dir, Options::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let entries = read_all(&wal);
        let last = wal.last_index();
        assert_eq!(wal.first_index(), 1, "{what}");
        assert!(
            entries
                .iter()
                .enumerate()
                .all(|(k, (i, b))| *i == k as u64 + 1 && *b == Blob::nth(*i)),
            "{what}: not a prefix"
        );
        assert_eq!(entries.len() as u64, last, "{what}");
        assert!(
            last >= durable,
            "{what}: durable entry {durable} lost ({last} recovered)"
        );
        // Entries past the last acknowledged one were being appended (a batch is three).
        assert!(
            last <= acked + 3,
            "{what}: {last} recovered, {acked} acknowledged"
        );
        let lost_bytes = if last < acked {
            frame_bytes(last + 1, acked)
        } else {
            0
        };
        if policy(n) == SyncPolicy::Always {
            assert_eq!(
                lost_bytes,
                0,
                "{what}: acknowledged entries {}..={acked} lost",
                last + 1
            );
        }
        assert!(
            lost_bytes < 1 << 20,
            "{what}: {lost_bytes} bytes of acknowledged entries lost"
        );
        max_lost = max_lost.max(lost_bytes);
        last_seen.insert(dir, last);
        total_acked += acked;
        total_durable += durable;
    }
    common::report(&format!(
        "K-01: {iterations} kill -9 iterations; {total_acked} acknowledged, {total_durable} durable entries verified; at most {max_lost} bytes of buffered entries lost"
    ));
}

/// Options of the mixed workload: small segments (rotation every few dozen entries) and
/// retention, under `Always`.
fn mixed_opts() -> Options {
    Options::default()
        .segment_size(4096)
        .max_segments(Some(6))
        .sync(SyncPolicy::Always)
}

/// Entry `id`: 100 bytes, the id first.
fn tagged(id: u64) -> Blob {
    let mut data = id.to_le_bytes().to_vec();
    data.resize(100, (id % 251) as u8);
    Blob::new(1, data)
}

/// The child of K-02: batches, single appends, `truncate_back` inside the last batch and
/// `truncate_front`, until killed. It prints `ack INDEX ID` for each acknowledged entry,
/// `back I`/`front I` before a truncation and `done` after it.
#[test]
#[ignore = "run by k02_kill9_mixed_workload as its child process"]
fn kill9_mixed_child() {
    let Ok(spec) = std::env::var(MIXED_ENV) else {
        return;
    };
    let (n, dir) = spec.split_once(':').unwrap();
    let n: u64 = n.parse().unwrap();
    let wal = Wal::open(dir, mixed_opts()).unwrap();
    let mut out = std::io::stdout().lock();
    // The test harness's "test NAME ... " has no newline: start on a line of our own.
    writeln!(out).unwrap();
    let mut id = n << 32;
    for round in 0u64.. {
        let ids: Vec<u64> = (0..10).map(|k| id + k).collect();
        id += 10;
        let range = wal
            .append_batch(&ids.iter().map(|&i| tagged(i)).collect::<Vec<_>>())
            .unwrap();
        for (index, i) in range.clone().zip(&ids) {
            writeln!(out, "ack {index} {i}").unwrap();
        }
        if round % 2 == 0 {
            let index = wal.append(&tagged(id)).unwrap();
            writeln!(out, "ack {index} {id}").unwrap();
            id += 1;
        }
        out.flush().unwrap();
        if round % 3 == 1 {
            let keep = range.start + 4;
            writeln!(out, "back {keep}").unwrap();
            out.flush().unwrap();
            wal.truncate_back(keep).unwrap();
            writeln!(out, "done").unwrap();
        }
        if round % 5 == 4 {
            let first = wal.last_index().saturating_sub(40).max(wal.first_index());
            writeln!(out, "front {first}").unwrap();
            out.flush().unwrap();
            wal.truncate_front(first).unwrap();
            writeln!(out, "done").unwrap();
        }
        out.flush().unwrap();
    }
}

/// What the parent saw acknowledged: index to id, and the truncation in flight, if any.
#[derive(Default)]
struct Model {
    entries: BTreeMap<u64, u64>,
    pending: Option<(char, u64)>,
}

impl Model {
    fn apply(&mut self, line: &str) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["ack", index, id] => {
                self.entries
                    .insert(index.parse().unwrap(), id.parse().unwrap());
            }
            ["back", keep] => self.pending = Some(('b', keep.parse().unwrap())),
            ["front", first] => self.pending = Some(('f', first.parse().unwrap())),
            ["done"] => match self.pending.take() {
                Some(('b', keep)) => drop(self.entries.split_off(&(keep + 1))),
                Some((_, first)) => self.entries = self.entries.split_off(&first),
                None => panic!("done without a truncation"),
            },
            _ => {}
        }
    }

    /// Checks the log in `dir` against what was acknowledged; returns what it holds.
    fn check(&self, dir: &Path, what: &str) -> BTreeMap<u64, u64> {
        let wal = Wal::open(dir, mixed_opts()).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (first, last) = (wal.first_index(), wal.last_index());
        // Every entry read is the one acknowledged at its index (nothing removed comes
        // back), or one written and not yet acknowledged when the kill came, after them all.
        let acked_end = self.entries.last_key_value().map_or(0, |(&i, _)| i);
        let mut seen = BTreeMap::new();
        for raw in wal.iter().unwrap() {
            let raw = raw.unwrap_or_else(|e| panic!("{what}: {e}"));
            let id = u64::from_le_bytes(raw.payload()[..8].try_into().unwrap());
            match self.entries.get(&raw.index()) {
                Some(&acked) => assert_eq!(acked, id, "{what}: wrong entry at {}", raw.index()),
                None => assert!(
                    raw.index() > acked_end,
                    "{what}: entry {} was never acknowledged (up to {acked_end} were)",
                    raw.index()
                ),
            }
            assert_eq!(raw.index(), first + seen.len() as u64, "{what}: hole");
            seen.insert(raw.index(), id);
        }
        // Every acknowledged entry is there, but what a truncation in flight removes
        // (and what retention or `truncate_front` removed below the first index).
        let must_end = match self.pending {
            Some(('b', keep)) => keep,
            _ => self.entries.last_key_value().map_or(0, |(&i, _)| i),
        };
        let missing: Vec<u64> = self
            .entries
            .range(first..=must_end)
            .map(|(&i, _)| i)
            .filter(|&i| i > last)
            .collect();
        assert!(
            missing.is_empty(),
            "{what}: lost acknowledged {missing:?} (pending {:?}; log {first}..={last})",
            self.pending
        );
        assert!(
            first <= must_end + 1,
            "{what}: first {first} past {must_end}"
        );
        seen
    }
}

/// K-02: kill -9 during a workload that mixes batches, `truncate_back` inside a batch,
/// `truncate_front`, retention and rotation on real files; every acknowledged entry is
/// checked against what the parent saw acknowledged.
#[test]
fn k02_kill9_mixed_workload() {
    let iterations = 200;
    let tmp = tempfile::tempdir().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let (mut checked, mut in_flight) = (0, 0);
    let mut model = Model::default();
    for n in 0..iterations {
        let delay = 1_000 + next(&mut seed) % 25_000;
        // Each log lives for four iterations: recovery runs on logs with history.
        if n % 4 == 0 {
            model = Model::default();
        }
        let dir = tmp.path().join(format!("log-{}", n / 4));
        let what = format!("iteration {n}");
        let lines = run_and_kill(
            "kill9_mixed_child",
            MIXED_ENV,
            format!("{n}:{}", dir.display()),
            Duration::from_micros(delay),
            &what,
        );
        for line in lines {
            model.apply(&line);
        }
        in_flight += u64::from(model.pending.is_some());
        // The next child starts from what recovery kept, now checked.
        model.entries = model.check(&dir, &what);
        model.pending = None;
        checked += model.entries.len();
    }
    common::report(&format!(
        "K-02: {iterations} kill -9 iterations of a mixed workload, {in_flight} during a truncation; {checked} entries checked"
    ));
    assert!(in_flight > 0, "no kill landed during a truncation");
}

const LOCK_ENV: &str = "WAL_LOCK_CHILD";

/// The child of `the_lock_excludes_another_process`: tries to open the log and says how it
/// went.
#[test]
#[ignore = "run by the_lock_excludes_another_process as its child process"]
fn lock_child() {
    let Ok(dir) = std::env::var(LOCK_ENV) else {
        return;
    };
    match Wal::open(&dir, Options::default()) {
        Ok(_) => println!("\nopened"),
        Err(wal_core::Error::Locked { .. }) => println!("\nlocked"),
        Err(e) => println!("\nerror {e}"),
    }
}

/// The directory lock excludes another process while the log is open, and only then.
#[test]
fn the_lock_excludes_another_process() {
    let tmp = tempfile::tempdir().unwrap();
    let child = || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "lock_child", "--ignored", "--nocapture"])
            .env(LOCK_ENV, tmp.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        ["opened", "locked"]
            .into_iter()
            .find(|w| text.lines().any(|l| l == *w))
            .unwrap_or_else(|| panic!("child said: {text}"))
    };
    let wal = Wal::open(tmp.path(), Options::default()).unwrap();
    assert_eq!(child(), "locked");
    drop(wal);
    assert_eq!(child(), "opened");
}
