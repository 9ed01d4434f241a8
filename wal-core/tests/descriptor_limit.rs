//! Real files under a descriptor limit of 128 (E-07, see `docs/testing.md`): this test starts
//! its own binary again with `ulimit -n 128`, and that child writes 2,000 segments, reopens
//! the log, reads everything, makes 1,000 random gets, then runs four readers beside a writer
//! with retention, counting the descriptors it holds (`/proc/self/fd`) all along.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::Blob;
use wal_core::{Error, Options, SyncPolicy, Wal};

/// The child's descriptor limit.
const LIMIT: usize = 128;
/// Descriptors the child may hold beyond `Options::max_open_files`: standard streams, the
/// directory lock, the tail segment, one per live iterator (four readers), the test
/// harness's own, and the listing of `/proc/self/fd` that counts them.
const BESIDES: usize = 16;
const ENV: &str = "WAL_DESCRIPTOR_LIMIT_DIR";

/// Descriptors this process holds now (the one reading the directory not counted).
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
}

/// Counts descriptors every few hundred microseconds until stopped; returns the peak.
fn sampler(stop: Arc<AtomicBool>, peak: Arc<AtomicUsize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            peak.fetch_max(open_descriptors(), Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
    })
}

fn opts() -> Options {
    // The default bound: 64 files.
    Options::default()
        .segment_size(4096)
        .max_segment_entries(Some(2))
        .sync(SyncPolicy::Never)
}

#[test]
fn e07_two_thousand_segments_under_a_limit_of_128_descriptors() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args([
            "--exact",
            "descriptor_limit_child",
            "--ignored",
            "--nocapture",
        ])
        .env(ENV, tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    let line = stderr
        .lines()
        .find(|l| l.starts_with("E-07"))
        .unwrap_or_else(|| panic!("no report from the child:\n{stdout}\n{stderr}"));
    common::report(line);
}

/// The child: run only by `e07_…`, under the lowered limit.
#[test]
#[ignore = "run by e07_two_thousand_segments_under_a_limit_of_128_descriptors"]
fn descriptor_limit_child() {
    let dir = std::path::PathBuf::from(std::env::var(ENV).expect("started by the parent test"));
    let limit = soft_descriptor_limit();
    assert_eq!(limit, LIMIT, "the parent lowers the limit");
    let bound = Options::default().max_open_files;
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let sampling = sampler(Arc::clone(&stop), Arc::clone(&peak));
    let mut checked = 0usize;
    let mut check = |what: &str| {
        let now = open_descriptors();
        peak.fetch_max(now, Ordering::Relaxed);
        assert!(now <= bound + BESIDES, "{what}: {now} descriptors open");
        checked += 1;
    };

    // 4,000 entries, two to a segment: 2,000 segments.
    let wal = Wal::open(&dir, opts()).unwrap();
    for i in 1..=4_000u64 {
        assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
        if i % 10 == 0 {
            check("writing");
        }
    }
    wal.close().unwrap();
    let segments = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("wal".as_ref()))
        .count();
    assert_eq!(segments, 2_000);

    let wal = Wal::open(&dir, opts()).unwrap();
    check("reopened");
    let mut n = 0;
    for raw in wal.iter().unwrap() {
        n += 1;
        assert_eq!(raw.unwrap().decode::<Blob>().unwrap(), Blob::nth(n));
        if n % 10 == 0 {
            check("iterating");
        }
    }
    assert_eq!(n, 4_000);
    for k in 0..1_000u64 {
        let i = 1 + k * 7919 % 4_000;
        assert_eq!(wal.get::<Blob>(i).unwrap(), Blob::nth(i));
        check("random gets");
    }
    wal.close().unwrap();

    let (read, overtaken) = readers_beside_a_writer(&dir, &mut check);
    stop.store(true, Ordering::Relaxed);
    sampling.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak <= bound + BESIDES, "peak {peak}");
    common::report(&format!(
        "E-07: 2,000 segments under ulimit -n {LIMIT}, max_open_files {bound}: peak {peak} \
         descriptors open ({checked} counts and a sampler); 4 readers read {read} entries \
         beside a writer with retention ({overtaken} overtaken by it)"
    ));
}

/// Four readers (full scans and random gets) while a writer appends 2,000 more entries
/// with retention keeping 1,000 segments. Returns the entries read and how many times a
/// reader was overtaken by retention (which it then says plainly).
fn readers_beside_a_writer(dir: &std::path::Path, check: &mut impl FnMut(&str)) -> (u64, u64) {
    let wal = Arc::new(Wal::open(dir, opts().max_segments(Some(1_000))).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4u64)
        .map(|r| {
            let (wal, done) = (Arc::clone(&wal), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut read, mut overtaken, mut spare) = (0u64, 0u64, 100);
                while common::goes_on(&done, read == 0, &mut spare) {
                    let first = wal.first_index();
                    let it = match wal.iter_from(first) {
                        Ok(it) => it,
                        Err(Error::IndexOutOfRange { .. }) => continue,
                        Err(e) => panic!("reader {r}: {e}"),
                    };
                    for raw in it.take(1_500) {
                        match raw {
                            Ok(raw) => {
                                assert_eq!(raw.decode::<Blob>().unwrap(), Blob::nth(raw.index()));
                                read += 1;
                            }
                            Err(Error::IndexOutOfRange { first: now, .. }) if now > first => {
                                overtaken += 1;
                                break;
                            }
                            Err(e) => panic!("reader {r}: {e}"),
                        }
                    }
                    let i = wal.first_index() + (read * 7919 + r) % 1_000;
                    match wal.get::<Blob>(i) {
                        Ok(b) => assert_eq!(b, Blob::nth(i)),
                        Err(Error::IndexOutOfRange { .. }) => {}
                        Err(e) => panic!("reader {r} get {i}: {e}"),
                    }
                }
                (read, overtaken)
            })
        })
        .collect();
    for i in 4_001..=6_000u64 {
        assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
        if i % 10 == 0 {
            check("writing beside readers");
        }
    }
    done.store(true, Ordering::Relaxed);
    let mut total = (0, 0);
    for h in readers {
        let (read, overtaken) = h.join().unwrap();
        assert!(read > 0, "a reader read nothing");
        total = (total.0 + read, total.1 + overtaken);
    }
    check("after the readers");
    assert!(wal.first_index() > 1, "retention removed segments");
    Arc::into_inner(wal).unwrap().close().unwrap();
    total
}

/// The soft descriptor limit of this process, as `/proc/self/limits` gives it.
fn soft_descriptor_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}
