//! `truncate_back` and `truncate_front`: at segment boundaries and inside segments, across
//! reopens, with crashes at every operation inside them, and beside readers and a writer.
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Blob, dir, read_all, segment_files, sim_opts};
use wal_core::testing::{Crash, Fault, FaultError, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    sim_opts(fs).segment_size(4096).sync(SyncPolicy::Never)
}

/// Entries of about 100 bytes: 40 to a 4 KiB segment.
fn entry(i: u64) -> Blob {
    let mut b = Blob::nth(i);
    b.data.resize(80, (i % 251) as u8);
    b
}

/// A log of `n` entries over many 4 KiB segments; returns the first index of each segment.
fn build(fs: &SimFs, n: u64) -> Vec<u64> {
    let wal = Wal::open(dir(), opts(fs)).unwrap();
    for i in 1..=n {
        wal.append(&entry(i)).unwrap();
    }
    wal.close().unwrap();
    common::first_indexes(fs, &dir())
}

fn expect_range(wal: &Wal, first: u64, last: u64) {
    assert_eq!((wal.first_index(), wal.last_index()), (first, last));
    let got: Vec<u64> = read_all(wal)
        .into_iter()
        .map(|(i, b)| {
            assert_eq!(b, entry(i), "entry {i}");
            i
        })
        .collect();
    assert_eq!(got, (first..=last).collect::<Vec<_>>());
}

#[test]
fn truncate_back_at_boundaries_and_inside_segments_then_reopen() {
    let fs = SimFs::new();
    let firsts = build(&fs, 400);
    let b = firsts[3];
    for index in [400, 399, b + 5, b, b - 1, b + 1, firsts[1] + 2, 1, 0] {
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        wal.truncate_back(index).unwrap();
        expect_range(&wal, 1, index);
        // Appends continue at index + 1, and the result survives a reopen.
        for i in index + 1..=index + 3 {
            assert_eq!(wal.append(&entry(i)).unwrap(), i);
        }
        wal.truncate_back(index).unwrap();
        drop(wal);
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        assert!(
            wal.recovery_report().is_clean(),
            "{index}: {:?}",
            wal.recovery_report()
        );
        expect_range(&wal, 1, index);
        // Refill for the next round.
        for i in index + 1..=400 {
            wal.append(&entry(i)).unwrap();
        }
        wal.close().unwrap();
    }
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(matches!(
        wal.truncate_back(401),
        Err(Error::IndexOutOfRange { .. })
    ));
}

#[test]
fn truncate_front_at_boundaries_and_inside_segments_then_reopen() {
    let fs = SimFs::new();
    let firsts = build(&fs, 400);
    assert!(firsts.len() >= 7, "{} segments", firsts.len());
    let segments_before = firsts.len();
    let mut first = 1;
    for index in [
        1,
        2,
        firsts[1] - 1,
        firsts[1],
        firsts[2] + 1,
        firsts[5] + 7,
        400,
        401,
    ] {
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        wal.truncate_front(index).unwrap();
        first = first.max(index);
        expect_range(&wal, first, 400);
        assert!(matches!(wal.get_raw(first - 1), Err(Error::IndexOutOfRange { .. })) || first == 1);
        drop(wal);
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        expect_range(&wal, first, 400);
        // Whole segments below the first index are gone from disk.
        let on_disk = segment_files(&fs, &dir()).len();
        let below = firsts.windows(2).take_while(|w| w[1] <= first).count();
        assert_eq!(on_disk, segments_before - below, "index {index}");
    }
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(matches!(
        wal.truncate_front(402),
        Err(Error::IndexOutOfRange { .. })
    ));
    // An empty log keeps its place: appends continue at 401.
    assert_eq!(wal.append(&entry(401)).unwrap(), 401);
    assert_eq!(wal.get::<Blob>(401).unwrap(), entry(401));
}

/// Runs `op` on a copy of `base` with every operation from the `k`-th on failing, for
/// every `k` until `op` succeeds, then checks each crash image with `verify(ok, wal)`.
fn crash_at_every_op(
    base: &SimFs,
    op: impl Fn(&Wal) -> wal_core::Result<()>,
    verify: impl Fn(bool, &Wal),
) -> usize {
    let mut states = 0;
    for k in 0.. {
        let fs = base.crash(Crash::ProcessKill);
        let wal = Wal::open(dir(), opts(&fs)).unwrap();
        fs.set_fault(Some(Fault {
            op: None,
            skip: k,
            persistent: true,
            error: FaultError::Eio,
        }));
        let ok = op(&wal).is_ok();
        std::mem::forget(wal);
        fs.set_fault(None);
        for crash in common::crash_models(3) {
            let img = fs.crash(crash);
            let wal =
                Wal::open(dir(), opts(&img)).unwrap_or_else(|e| panic!("op {k} {crash:?}: {e}"));
            verify(ok, &wal);
            // A second crash after appending still satisfies the invariants.
            let next = wal.append(&entry(wal.last_index() + 1)).unwrap();
            wal.sync().unwrap();
            drop(wal);
            let wal = Wal::open(dir(), opts(&img.crash(Crash::DropUnsynced))).unwrap();
            assert_eq!(wal.last_index(), next);
            states += 1;
        }
        if ok {
            return states;
        }
    }
    unreachable!()
}

#[test]
fn a_crash_at_every_operation_inside_truncate_back_resurrects_nothing_and_loses_nothing() {
    let base = SimFs::new();
    let firsts = build(&base, 300);
    let mut states = 0;
    for index in [firsts[2] + 3, firsts[4] - 1, 299] {
        states += crash_at_every_op(
            &base,
            |wal| wal.truncate_back(index),
            |ok, wal| {
                let last = wal.last_index();
                if ok {
                    assert_eq!(last, index, "a finished truncate_back must hold");
                } else {
                    // Later segments go newest first: an interrupted cut leaves a shorter prefix,
                    // never a hole and never less than what was to stay.
                    assert!(
                        (index..=300).contains(&last),
                        "last {last} after a failed truncate_back({index})"
                    );
                }
                let entries = read_all(wal);
                assert_eq!(entries.len() as u64, last);
                assert!(entries.iter().all(|(i, b)| *b == entry(*i)));
            },
        );
    }
    common::report(&format!("truncate_back: {states} crash states checked"));
}

#[test]
fn a_crash_at_every_operation_inside_truncate_front_resurrects_nothing_and_loses_nothing() {
    let base = SimFs::new();
    let firsts = build(&base, 300);
    let mut states = 0;
    for index in [firsts[1], firsts[3] + 2, 301] {
        states += crash_at_every_op(
            &base,
            |wal| wal.truncate_front(index),
            |ok, wal| {
                let first = wal.first_index();
                if ok {
                    assert_eq!(first, index, "a finished truncate_front must hold");
                } else {
                    assert!(first == 1 || first == index, "first {first}");
                }
                assert_eq!(
                    wal.last_index(),
                    300,
                    "truncate_front never loses entries it keeps"
                );
                assert!(
                    read_all(wal)
                        .iter()
                        .all(|(i, b)| *b == entry(*i) && *i >= first)
                );
            },
        );
    }
    common::report(&format!("truncate_front: {states} crash states checked"));
}

#[test]
fn retention_keeps_the_newest_segments_only() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).max_segments(Some(3))).unwrap();
    for i in 1..=400 {
        wal.append(&entry(i)).unwrap();
    }
    wal.sync().unwrap();
    assert!(segment_files(&fs, &dir()).len() <= 3);
    let first = wal.first_index();
    assert!(first > 1);
    expect_range(&wal, first, 400);
    drop(wal);
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    expect_range(&wal, first, 400);

    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).max_total_bytes(Some(10_000))).unwrap();
    for i in 1..=400 {
        wal.append(&entry(i)).unwrap();
    }
    wal.sync().unwrap();
    let total: usize = segment_files(&fs, &dir())
        .iter()
        .map(|p| fs.read_file(p).unwrap().len())
        .sum();
    assert!(total <= 10_000 + 4096 + 1024, "{total} bytes kept");
    expect_range(&wal, wal.first_index(), 400);
}

#[test]
fn a_writer_a_truncator_and_two_readers_run_together() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = SyncPolicy::Batch {
        max_delay: std::time::Duration::from_millis(1),
        max_bytes: 4096,
    };
    let wal = Arc::new(
        Wal::open(
            tmp.path(),
            Options::default().segment_size(8192).sync(policy),
        )
        .unwrap(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            for i in 1..=20_000 {
                assert_eq!(wal.append(&entry(i)).unwrap(), i);
            }
        })
    };
    let truncator = {
        let (wal, done) = (Arc::clone(&wal), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut n, mut spare) = (0, 100);
            while common::goes_on(&done, n == 0, &mut spare) {
                let last = wal.last_index();
                if last > 500 {
                    wal.truncate_front(last - 500).unwrap();
                    n += 1;
                }
                std::thread::yield_now();
            }
            n
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (wal, done) = (Arc::clone(&wal), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut seen, mut spare) = (0u64, 100);
                while common::goes_on(&done, seen == 0, &mut spare) {
                    let first = wal.first_index();
                    let it = match wal.iter_from(first) {
                        Ok(it) => it,
                        Err(Error::IndexOutOfRange { .. }) => continue,
                        Err(e) => panic!("reader {r}: {e}"),
                    };
                    for raw in it.take(200) {
                        match raw {
                            Ok(raw) => {
                                assert_eq!(raw.decode::<Blob>().unwrap(), entry(raw.index()));
                                seen += 1;
                            }
                            // Its next segment was deleted before it opened it.
                            Err(Error::IndexOutOfRange {
                                index, first: now, ..
                            }) if now > first && index < now => {
                                break;
                            }
                            Err(e) => panic!("reader {r}: {e}"),
                        }
                    }
                    let i = wal.last_index();
                    match wal.get::<Blob>(i) {
                        Ok(b) => assert_eq!(b, entry(i)),
                        Err(Error::IndexOutOfRange { .. }) => {}
                        Err(e) => panic!("reader {r} get {i}: {e}"),
                    }
                }
                seen
            })
        })
        .collect();
    writer.join().unwrap();
    done.store(true, Ordering::Relaxed);
    let truncations = truncator.join().unwrap();
    let seen: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    common::report(&format!(
        "{truncations} truncations, {seen} entries read concurrently"
    ));
    assert!(truncations > 0 && seen > 0);
    assert_eq!(wal.last_index(), 20_000);
    let first = wal.first_index();
    assert_eq!(wal.iter().unwrap().count() as u64, 20_001 - first);
}

/// Found by the model test: `truncate_back` inside a batch left its kept frames marked as
/// "more of the batch follows"; the cut failed and after a crash they would be dropped.
#[test]
fn issue_5_truncate_back_inside_a_batch_keeps_the_kept_entries_after_a_crash() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.append(&entry(1)).unwrap();
    wal.append_batch(&[entry(2), entry(3), entry(4)]).unwrap();
    wal.truncate_back(3).unwrap();
    expect_range(&wal, 1, 3);
    std::mem::forget(wal);
    for crash in [Crash::ProcessKill, Crash::DropUnsynced] {
        let wal = Wal::open(dir(), opts(&fs.crash(crash))).unwrap();
        assert!(
            wal.recovery_report().is_clean(),
            "{crash:?}: {:?}",
            wal.recovery_report()
        );
        expect_range(&wal, 1, 3);
    }
}

/// Found by the model test: `truncate_front` past entries still buffered, then a crash that
/// lost them, left a low-water mark beyond the log's end, and the log refused to open.
#[test]
fn issue_5_truncate_front_past_buffered_entries_then_a_crash_reopens() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.append(&entry(1)).unwrap();
    wal.truncate_front(2).unwrap();
    std::mem::forget(wal);
    let wal = Wal::open(dir(), opts(&fs.crash(Crash::ProcessKill))).unwrap();
    assert_eq!((wal.first_index(), wal.last_index()), (2, 1));
    assert_eq!(wal.append(&entry(2)).unwrap(), 2);
}

/// Found by the model test: `truncate_back(last_index())` returned without syncing, unlike
/// every other `truncate_back`; now every entry it keeps is durable when it returns.
#[test]
fn issue_5_truncate_back_at_the_last_index_makes_it_durable() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.append(&entry(1)).unwrap();
    wal.truncate_back(1).unwrap();
    assert_eq!(wal.durable_index(), 1);
    std::mem::forget(wal);
    let wal = Wal::open(dir(), opts(&fs.crash(Crash::DropUnsynced))).unwrap();
    expect_range(&wal, 1, 1);
}

/// A failure once, at any operation inside a truncation, leaves a live log that is either
/// poisoned or right: appends acknowledged after it are at the indexes they were given and
/// survive power loss, and `close` returns.
#[test]
fn a_fault_once_inside_truncation_leaves_the_live_log_poisoned_or_right() {
    let base = SimFs::new();
    let firsts = build(&base, 300);
    let mut runs = 0;
    for front in [false, true] {
        let index = if front { firsts[3] + 2 } else { firsts[2] + 3 };
        for k in 0.. {
            let fs = base.crash(Crash::ProcessKill);
            let wal = Wal::open(dir(), opts(&fs).sync(SyncPolicy::Always)).unwrap();
            fs.set_fault(Some(Fault {
                op: None,
                skip: k,
                persistent: false,
                error: FaultError::Eio,
            }));
            let result = if front {
                wal.truncate_front(index)
            } else {
                wal.truncate_back(index)
            };
            if !fs.fault_fired() {
                assert!(result.is_ok());
                break;
            }
            let what = format!("front {front} fault at op {k}: {result:?}");
            let mut acked = Vec::new();
            for n in 0..5u8 {
                match wal.append(&Blob::new(9, vec![n; 20])) {
                    Ok(i) => acked.push((i, n)),
                    Err(Error::Poisoned { .. }) => break,
                    Err(e) => panic!("{what}: {e}"),
                }
            }
            for w in acked.windows(2) {
                assert_eq!(w[1].0, w[0].0 + 1, "{what}");
            }
            common::within(std::time::Duration::from_secs(20), move || wal.close())
                .unwrap_or_else(|e| assert!(acked.is_empty(), "{what}: close: {e}"));
            let img = fs.crash(Crash::DropUnsynced);
            let wal = Wal::open(dir(), opts(&img)).unwrap_or_else(|e| panic!("{what}: {e}"));
            for &(i, n) in &acked {
                assert_eq!(
                    wal.get::<Blob>(i)
                        .unwrap_or_else(|e| panic!("{what}: {i}: {e}")),
                    Blob::new(9, vec![n; 20]),
                    "{what}"
                );
            }
            // Everything else is the original sequence, a prefix of it, or less the front.
            let kept = read_all(&wal);
            let first_new = acked.first().map_or(u64::MAX, |a| a.0);
            assert!(
                kept.iter()
                    .filter(|(i, _)| *i < first_new)
                    .all(|(i, b)| *b == entry(*i)),
                "{what}"
            );
            runs += 1;
        }
    }
    common::report(&format!("truncation: {runs} runs with a fault once inside"));
    assert!(runs > 20, "{runs}");
}

/// Found by the model test once it rotated often: `truncate_front` past every entry cannot
/// delete the segment being written; that segment, sealed by the next rotation, was left
/// on disk until the next open removed it (and reported it).
#[test]
fn the_segment_a_truncate_front_past_the_end_kept_is_removed_when_it_is_sealed() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).max_segment_entries(Some(5))).unwrap();
    wal.append_batch(&[entry(1), entry(2)]).unwrap();
    wal.append(&entry(3)).unwrap();
    wal.truncate_front(4).unwrap();
    assert_eq!(
        common::first_indexes(&fs, &dir()),
        [1],
        "the tail is never removed"
    );
    wal.append_batch(&[entry(4), entry(5), entry(6)]).unwrap();
    wal.sync().unwrap();
    assert_eq!(common::first_indexes(&fs, &dir()), [4]);
    wal.close().unwrap();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(
        wal.recovery_report().is_clean(),
        "{:?}",
        wal.recovery_report()
    );
    expect_range(&wal, 4, 6);
}
