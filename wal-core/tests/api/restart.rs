//! `restart_at`: the log emptied and continued at a later index (a consensus log after a
//! snapshot past its end, a follower starting at 5,000), crash-safe at every operation.
use crate::common;

use std::sync::Arc;

use common::{Blob, dir};
use wal_core::testing::{Crash, SimFs, explore_crashes};
use wal_core::{Error, Options, RecoveryMode, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .max_segment_entries(Some(8))
        .sync(SyncPolicy::Always)
}

/// The entries from `first` to the end, checking each is `Blob::nth` of its index.
fn check_entries(wal: &Wal, what: &str) -> u64 {
    let mut next = wal.first_index();
    for raw in wal.iter().unwrap() {
        let raw = raw.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(raw.index(), next, "{what}: hole");
        assert_eq!(
            raw.decode::<Blob>().unwrap(),
            Blob::nth(next),
            "{what}: {next}"
        );
        next += 1;
    }
    assert_eq!(next - 1, wal.last_index(), "{what}");
    next - 1
}

#[test]
fn a_log_restarted_past_its_end_continues_there_across_reopens() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    for i in 1..=20 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.restart_at(1_000).unwrap();
    assert_eq!((wal.first_index(), wal.last_index()), (1_000, 999));
    assert_eq!(wal.durable_index(), 999);
    assert!(matches!(
        wal.get::<Blob>(20),
        Err(Error::IndexOutOfRange { first: 1_000, .. })
    ));
    assert_eq!(wal.iter().unwrap().count(), 0);
    assert_eq!(
        common::first_indexes(&fs, &dir()),
        [1_000],
        "old segments removed"
    );
    for i in 1_000..1_020 {
        assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
    }
    wal.close().unwrap();
    for mode in [
        RecoveryMode::TolerateTornTail,
        RecoveryMode::Strict,
        RecoveryMode::Salvage,
    ] {
        let wal = Wal::open(dir(), opts(&fs).recovery(mode)).unwrap();
        assert!(
            wal.recovery_report().is_clean(),
            "{mode:?} {:?}",
            wal.recovery_report()
        );
        assert_eq!(wal.first_index(), 1_000, "{mode:?}");
        assert_eq!(check_entries(&wal, "reopened"), 1_019);
    }
}

#[test]
fn a_new_log_starts_at_any_index_and_a_restart_inside_the_log_is_refused() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.restart_at(5_000).unwrap();
    assert_eq!(
        wal.append_batch_at(5_000, &[Blob::nth(5_000), Blob::nth(5_001)])
            .unwrap(),
        5_000..5_002
    );
    for bad in [0, 4_999, 5_000, 5_001] {
        assert!(
            matches!(wal.restart_at(bad), Err(Error::IndexOutOfRange { index, .. }) if index == bad),
            "{bad}"
        );
    }
    // At the next index it empties the log as `truncate_front` does.
    wal.restart_at(5_002).unwrap();
    assert_eq!((wal.first_index(), wal.last_index()), (5_002, 5_001));
    wal.append(&Blob::nth(5_002)).unwrap();
    // Twice in a row, the second time on an empty log.
    wal.restart_at(9_000).unwrap();
    wal.restart_at(10_000).unwrap();
    wal.append(&Blob::nth(10_000)).unwrap();
    wal.close().unwrap();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(
        wal.recovery_report().is_clean(),
        "{:?}",
        wal.recovery_report()
    );
    assert_eq!(
        (wal.first_index(), check_entries(&wal, "reopened")),
        (10_000, 10_000)
    );
}

/// Appends 1..=20, restarts at 1,000 and appends 1,000..=1,010. Returns the last index
/// acknowledged before the restart, whether the restart was acknowledged, and the last
/// index acknowledged after it.
fn appends_around_a_restart(fs: &SimFs) -> (u64, bool, u64) {
    let Ok(wal) = Wal::open(dir(), opts(fs)) else {
        return (0, false, 0);
    };
    let mut before = 0;
    for i in 1..=20 {
        if wal.append(&Blob::nth(i)).is_err() {
            return (before, false, 0);
        }
        before = i;
    }
    if wal.restart_at(1_000).is_err() {
        return (before, false, 0);
    }
    let mut after = 999;
    for i in 1_000..=1_010 {
        if wal.append(&Blob::nth(i)).is_err() {
            break;
        }
        after = i;
    }
    (before, true, after)
}

#[test]
fn a_crash_at_every_operation_of_a_restart_recovers_the_old_log_or_the_new_one() {
    let models = common::crash_models(2);
    let mut restarted = 0;
    let states = explore_crashes(
        SimFs::new,
        &models,
        appends_around_a_restart,
        |point, image, &(before, acked, after)| {
            let what = format!("{point:?}");
            let wal = Wal::open(dir(), opts(&image)).unwrap_or_else(|e| panic!("{what}: {e}"));
            let last = check_entries(&wal, &what);
            if wal.first_index() == 1_000 {
                restarted += 1;
                assert!(last >= after, "{what}: entry lost after the restart");
            } else {
                assert_eq!(wal.first_index(), 1, "{what}");
                assert!(!acked, "{what}: an acknowledged restart was undone");
                assert!(last >= before, "{what}: entry lost before the restart");
            }
            let names = image.file_names(&dir());
            assert!(
                common::first_indexes(&image, &dir())
                    .iter()
                    .all(|&f| f >= wal.first_index() || wal.first_index() == 1),
                "{what}: old segments left: {names:?}"
            );
            drop(wal);
            let again = Wal::open(dir(), opts(&image.crash(Crash::ProcessKill))).unwrap();
            assert!(
                again.recovery_report().is_clean(),
                "{what}: {:?}",
                again.recovery_report()
            );
            assert_eq!(again.last_index(), last, "{what}");
        },
    );
    common::report(&format!(
        "restart_at: {states} crash states, {restarted} recovered the restarted log"
    ));
    assert!(states > 1_000 && restarted > 100, "{states} {restarted}");
}
