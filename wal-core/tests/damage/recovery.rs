//! Recovery after power loss, by the sync-marker rule (simulated file system).
use crate::common;

use common::{Blob, dir, read_all, sim_opts};
use wal_core::testing::{Crash, SimFs};
use wal_core::{CorruptionKind, Error, SyncPolicy, Wal};

const SEGMENT: &str = "/log/00000000000000000001.wal";

/// A log with `synced` entries synced and then `unsynced` more written but not synced.
fn log_with_unsynced_tail(synced: u64, unsynced: u64) -> (SimFs, usize) {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs).sync(SyncPolicy::Never)).unwrap();
    for i in 1..=synced {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.sync().unwrap();
    let before = fs.read_file(SEGMENT.as_ref()).unwrap();
    for i in synced + 1..=synced + unsynced {
        wal.append(&Blob::nth(i)).unwrap();
    }
    // `iter` writes the buffer to the file without syncing.
    assert_eq!(wal.iter().unwrap().count() as u64, synced + unsynced);
    let after = fs.read_file(SEGMENT.as_ref()).unwrap();
    let written = after
        .iter()
        .zip(&before)
        .rposition(|(a, b)| a != b)
        .map_or(0, |p| p + 1);
    std::mem::forget(wal); // a crash: no close, no flush
    (fs, written)
}

#[test]
fn torn_tail_at_every_byte_of_the_last_record_recovers_exactly_the_prefix() {
    let (fs, _) = log_with_unsynced_tail(5, 1);
    let frame_len = 18 + Blob::nth(6).data.len() as u64;
    for k in 0..=frame_len {
        let img = fs.crash(Crash::TornPrefix(k));
        let wal = Wal::open(dir(), sim_opts(&img)).unwrap_or_else(|e| panic!("cut {k}: {e}"));
        let full = k == frame_len;
        let expected: Vec<(u64, Blob)> = (1..=if full { 6 } else { 5 })
            .map(|i| (i, Blob::nth(i)))
            .collect();
        assert_eq!(read_all(&wal), expected, "cut {k}");
        let report = wal.recovery_report().clone();
        if k == 0 || full {
            assert!(report.cuts.is_empty(), "cut {k}: {report:?}");
        } else {
            assert_eq!(report.cuts.len(), 1, "cut {k}");
            // Trailing zero bytes of the torn frame read like preallocated space.
            assert!(
                (1..=k).contains(&report.cuts[0].bytes),
                "cut {k}: {report:?}"
            );
            assert_eq!(report.quarantined.len(), 1, "cut {k}");
        }
        // Appending after recovery continues at the next index and survives a second restart.
        let next = wal.append(&Blob::new(9, b"after".to_vec())).unwrap();
        assert_eq!(next, expected.len() as u64 + 1);
        drop(wal);
        let img2 = img.crash(Crash::DropUnsynced);
        let wal = Wal::open(dir(), sim_opts(&img2)).unwrap();
        assert!(
            wal.recovery_report().is_clean(),
            "cut {k}: {:?}",
            wal.recovery_report()
        );
        let all = read_all(&wal);
        assert_eq!(all.len() as u64, next, "cut {k}");
        assert_eq!(all.last().unwrap().1, Blob::new(9, b"after".to_vec()));
    }
}

#[test]
fn recovery_is_idempotent_and_the_second_open_is_clean() {
    let (fs, written) = log_with_unsynced_tail(3, 2);
    let img = fs.crash(Crash::TornPrefix(written as u64 / 2));
    let first = Wal::open(dir(), sim_opts(&img)).unwrap();
    let entries = read_all(&first);
    drop(first);
    let again = Wal::open(dir(), sim_opts(&img.crash(Crash::DropUnsynced))).unwrap();
    assert!(again.recovery_report().is_clean());
    assert_eq!(read_all(&again), entries);
}

#[test]
fn a_batch_is_all_or_nothing_after_a_crash_at_every_byte() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs).sync(SyncPolicy::Never)).unwrap();
    wal.append(&Blob::nth(1)).unwrap();
    wal.append(&Blob::nth(2)).unwrap();
    wal.sync().unwrap();
    let batch: Vec<Blob> = (3..=7).map(Blob::nth).collect();
    wal.append_batch(&batch).unwrap();
    let _ = wal.iter().unwrap().count();
    std::mem::forget(wal);
    let total: u64 = batch.iter().map(|b| 18 + b.data.len() as u64).sum();
    for k in 0..=total {
        let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::TornPrefix(k)))).unwrap();
        let n = read_all(&wal).len();
        assert_eq!(n, if k == total { 7 } else { 2 }, "cut {k}");
    }
}

#[test]
fn acknowledged_entries_survive_power_loss_under_always() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    for i in 1..=50 {
        wal.append(&Blob::nth(i)).unwrap();
        assert_eq!(wal.durable_index(), i);
    }
    let img = fs.crash(Crash::DropUnsynced);
    let wal = Wal::open(dir(), sim_opts(&img)).unwrap();
    assert_eq!(read_all(&wal).len(), 50);
    assert!(wal.recovery_report().is_clean());
}

#[test]
fn unsynced_entries_may_be_lost_but_recovery_gives_a_prefix() {
    let (fs, _) = log_with_unsynced_tail(10, 20);
    let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::DropUnsynced))).unwrap();
    assert_eq!(
        read_all(&wal),
        (1..=10).map(|i| (i, Blob::nth(i))).collect::<Vec<_>>()
    );
    let wal2 = Wal::open("/other", sim_opts(&fs.crash(Crash::ProcessKill))).unwrap();
    drop(wal2);
    drop(wal);
    // A process kill keeps every written byte.
    let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::ProcessKill))).unwrap();
    assert_eq!(read_all(&wal).len(), 30);
    assert_eq!(wal.durable_index(), 30, "open syncs what it found");
}

#[test]
fn a_crash_while_creating_a_segment_leaves_no_trace_of_it() {
    use wal_core::testing::{Fault, FaultError, Op};
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    // The rename that would put the second segment in place fails: the log is poisoned.
    fs.set_fault(Some(Fault {
        op: Some(Op::Rename),
        skip: 0,
        persistent: true,
        error: FaultError::Eio,
    }));
    for i in 1..=200 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let err = wal.sync().unwrap_err();
    assert!(
        matches!(err, wal_core::Error::Io { op: "rename", .. }),
        "{err}"
    );
    let acked = wal.durable_index();
    assert!(acked > 0, "the seal synced the first segment");
    assert!(matches!(
        wal.append(&Blob::nth(1)),
        Err(wal_core::Error::Poisoned { .. })
    ));
    fs.set_fault(None);
    std::mem::forget(wal);
    for crash in [Crash::ProcessKill, Crash::DropUnsynced] {
        let img = fs.crash(crash);
        let wal = Wal::open(
            dir(),
            opts.clone().file_system(std::sync::Arc::new(img.clone())),
        )
        .unwrap();
        let report = wal.recovery_report();
        // The first segment was sealed (synced) before the second was created.
        assert_eq!(wal.last_index(), acked, "{crash:?}");
        assert_eq!(
            report.removed_temp_files.len(),
            usize::from(crash == Crash::ProcessKill),
            "{crash:?}: {report:?}"
        );
        assert!(img.file_names(&dir()).iter().all(|n| !n.ends_with(".tmp")));
    }
}

/// Found by the corrupted-log matrix: when the newest segment is shorter than a header (a
/// crash while creating it) and is dropped, the sealed segment before it becomes the tail;
/// the log used to open unwritable ("read-only"). One the high-water mark records as created
/// is damage, and refused.
#[test]
fn issue_5_a_short_newest_segment_after_a_sealed_one_reopens_writable() {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=300 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    let segs = common::segment_files(&fs, &dir());
    let newest = segs.last().unwrap();
    let last_before = newest.file_name().unwrap().to_str().unwrap()[..20]
        .parse::<u64>()
        .unwrap()
        - 1;
    let bytes = fs.read_file(newest).unwrap();
    fs.write_file(newest, &bytes[..40]);
    // The high-water mark records the newest segment as created (whole: creation syncs its
    // header before the rename), so it was damaged, not torn by a crash: refused.
    match Wal::open(dir(), opts.clone()) {
        Err(Error::Corruption { segment, kind, .. }) => {
            assert_eq!((&segment, kind), (newest, CorruptionKind::TruncatedHeader));
        }
        other => panic!("{:?}", other.map(|w| w.last_index())),
    }
    // Without the mark (a log of an older writer, or the crash came before the mark was
    // written) it is the remains of an interrupted creation.
    assert!(fs.delete_file(&dir().join("HIGH_WATER")));
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    assert_eq!(wal.recovery_report().removed_segments, vec![newest.clone()]);
    assert_eq!(wal.last_index(), last_before);
    assert_eq!(
        wal.append(&Blob::nth(last_before + 1)).unwrap(),
        last_before + 1
    );
    wal.close().unwrap();
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(read_all(&wal).len() as u64, last_before + 1);
}

/// Open verifies a tail a sync-marker window at a time, reading it in 1 MiB pieces: a
/// window of many reads, with frames across every read boundary and one frame larger
/// than a read, opens with every entry, and one flipped byte deep inside it is still found
/// (by the per-frame scan the window's failure hands over to) and named.
#[test]
fn a_window_longer_than_a_read_verifies_and_damage_inside_it_is_named() {
    let fs = SimFs::new();
    let wal = Wal::open(
        dir(),
        sim_opts(&fs).segment_size(64 << 20).sync(SyncPolicy::Never),
    )
    .unwrap();
    for i in 1..=60_000 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.append(&Blob::new(7, vec![0x5a; 5 << 20])).unwrap();
    for i in 60_002..=70_000 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.sync().unwrap();
    for i in 70_001..=70_100 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.sync().unwrap();
    wal.append(&Blob::nth(70_101)).unwrap();
    wal.close().unwrap();
    let fs = fs.crash(Crash::ProcessKill);
    let clean = fs.read_file(SEGMENT.as_ref()).unwrap();
    assert!(clean.len() > 8 << 20, "the window spans several reads");

    let wal = Wal::open(dir(), sim_opts(&fs).segment_size(64 << 20)).unwrap();
    assert!(wal.recovery_report().cuts.is_empty());
    assert_eq!(wal.last_index(), 70_101);
    let all = read_all(&wal);
    assert_eq!(all.len(), 70_101);
    assert_eq!(all[60_000].1.data.len(), 5 << 20);
    assert_eq!(all[69_999].1, Blob::nth(70_000));
    wal.close().unwrap();

    let at = 7 << 20;
    let mut damaged = clean.clone();
    damaged[at] ^= 0x10;
    fs.write_file(SEGMENT.as_ref(), &damaged);
    match Wal::open(dir(), sim_opts(&fs).segment_size(64 << 20)) {
        Err(wal_core::Error::Corruption { offset, .. }) => {
            assert!(
                offset <= at as u64 && at as u64 - offset < 6 << 20,
                "offset {offset}"
            );
        }
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(wal) => panic!("opened, report {:?}", wal.recovery_report().cuts),
    }
}

/// Found while adding `restart_at`: when recovery rewrites a mark (here point in time
/// lowering `HIGH_WATER` past a missing newest segment), the rewrite removed the mark's
/// leftover temporary file itself, and the removal of leftovers then failed the open with
/// "not found".
#[test]
fn a_mark_rewritten_at_open_beside_its_leftover_temporary_file_opens() {
    let fs = SimFs::new();
    let opts = || sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Always);
    let wal = Wal::open(dir(), opts()).unwrap();
    for i in 1..=100 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    let newest = common::segment_files(&fs, &dir())
        .into_iter()
        .max()
        .unwrap();
    assert!(fs.delete_file(&newest));
    fs.write_file(&dir().join("HIGH_WATER.tmp"), b"half a mark");
    let wal = Wal::open(dir(), opts().recovery(wal_core::RecoveryMode::PointInTime)).unwrap();
    assert!(wal.recovery_report().missing_newest_seq.is_some());
    assert_eq!(
        wal.recovery_report().removed_temp_files,
        [dir().join("HIGH_WATER.tmp")]
    );
    assert!(
        !fs.file_names(&dir())
            .contains(&"HIGH_WATER.tmp".to_string())
    );
    drop(wal);
    assert!(
        Wal::open(dir(), opts())
            .unwrap()
            .recovery_report()
            .is_clean()
    );
}
