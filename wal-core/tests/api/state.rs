//! State records (`Wal::save_state`, `Wal::state`): small values kept beside the log,
//! replaced whole, durable when saved, never torn by a crash.
use crate::common;

use std::sync::Arc;

use common::{Blob, dir, read_all};
use wal_core::testing::{Crash, SimFs, explore_crashes};
use wal_core::{CorruptionKind, Error, Options, RecoveryMode, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .sync(SyncPolicy::Always)
}

fn vote(term: u64) -> Vec<u8> {
    format!("term {term}, voted for node {}", term % 3).into_bytes()
}

#[test]
fn a_state_record_is_saved_replaced_and_kept_across_reopens() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert_eq!(wal.state("vote").unwrap(), None);
    wal.save_state("vote", &vote(1)).unwrap();
    wal.save_state("committed", b"17").unwrap();
    wal.save_state("vote", &vote(2)).unwrap();
    wal.save_state("empty", b"").unwrap();
    assert_eq!(wal.state("vote").unwrap(), Some(vote(2)));
    wal.append(&Blob::nth(1)).unwrap();
    wal.close().unwrap();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(
        wal.recovery_report().is_clean(),
        "{:?}",
        wal.recovery_report()
    );
    assert_eq!(wal.state("vote").unwrap(), Some(vote(2)));
    assert_eq!(wal.state("committed").unwrap(), Some(b"17".to_vec()));
    assert_eq!(wal.state("empty").unwrap(), Some(Vec::new()));
    assert_eq!(read_all(&wal).len(), 1);
    // Read-only (salvage) opens read them and refuse to save.
    drop(wal);
    let ro = Wal::open(dir(), opts(&fs).recovery(RecoveryMode::Salvage)).unwrap();
    assert_eq!(ro.state("vote").unwrap(), Some(vote(2)));
    assert!(matches!(ro.save_state("vote", b"x"), Err(Error::ReadOnly)));
}

#[test]
fn bad_names_and_values_too_large_are_refused_before_anything_is_written() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    let before = fs.file_names(&dir());
    let long = "x".repeat(65);
    for name in [
        "",
        "Vote",
        "a.b",
        "../escape",
        "a/b",
        "tmp.tmp",
        long.as_str(),
    ] {
        let err = wal.save_state(name, b"1").unwrap_err();
        assert!(matches!(err, Error::InvalidState(_)), "{name:?}: {err}");
        assert!(wal.state(name).is_err(), "{name:?}");
    }
    let err = wal.save_state("big", &vec![0; (1 << 20) + 1]).unwrap_err();
    assert!(err.to_string().contains("1048577 bytes"), "{err}");
    wal.save_state("big", &vec![7; 1 << 20]).unwrap();
    assert_eq!(wal.state("big").unwrap().unwrap().len(), 1 << 20);
    let after: Vec<_> = fs.file_names(&dir());
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
}

#[test]
fn a_damaged_or_foreign_state_record_is_refused_naming_the_file() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.save_state("vote", &vote(5)).unwrap();
    let path = dir().join("STATE.vote");
    let good = fs.read_file(&path).unwrap();
    for at in [0, 9, 17, 25, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 1;
        fs.write_file(&path, &bad);
        match wal.state("vote") {
            Err(Error::Corruption {
                segment,
                kind: CorruptionKind::BadMarkFile,
                ..
            }) => assert_eq!(segment, path),
            other => panic!("byte {at}: {other:?}"),
        }
    }
    // A record of another log, copied in.
    let other = SimFs::new();
    let w2 = Wal::open(dir(), opts(&other)).unwrap();
    w2.save_state("vote", &vote(9)).unwrap();
    fs.write_file(&path, &other.read_file(&path).unwrap());
    assert!(matches!(
        wal.state("vote"),
        Err(Error::ForeignSegment { .. })
    ));
    // Saving replaces it.
    wal.save_state("vote", &vote(6)).unwrap();
    assert_eq!(wal.state("vote").unwrap(), Some(vote(6)));
}

#[test]
fn concurrent_saves_leave_one_of_their_values() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs)).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for k in 0..50 {
                    wal.save_state("vote", &vote(t * 1000 + k)).unwrap();
                    wal.append(&Blob::nth(t * 1000 + k)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let last: Vec<_> = (0..4).map(|t| vote(t * 1000 + 49)).collect();
    assert!(last.contains(&wal.state("vote").unwrap().unwrap()));
    assert_eq!(wal.last_index(), 200);
}

/// Saves of increasing votes between appends; returns the last vote acknowledged and the
/// last index acknowledged.
fn saves_and_appends(fs: &SimFs) -> (u64, u64) {
    let Ok(wal) = Wal::open(dir(), opts(fs)) else {
        return (0, 0);
    };
    let (mut saved, mut appended) = (0, 0);
    for term in 1..=6 {
        if wal.save_state("vote", &vote(term)).is_err() {
            break;
        }
        saved = term;
        match wal.append(&Blob::nth(appended + 1)) {
            Ok(i) => appended = i,
            Err(_) => break,
        }
    }
    (saved, appended)
}

#[test]
fn a_crash_at_every_operation_leaves_the_old_or_the_new_value_never_a_mix() {
    let models = common::crash_models(3);
    let states = explore_crashes(
        SimFs::new,
        &models,
        saves_and_appends,
        |point, image, &(saved, appended)| {
            let wal = Wal::open(dir(), opts(&image)).unwrap_or_else(|e| panic!("{point:?}: {e}"));
            let got = wal
                .state("vote")
                .unwrap_or_else(|e| panic!("{point:?}: the record is damaged: {e}"));
            // The last acknowledged value, or the one being saved when the crash came.
            let allowed: Vec<Option<Vec<u8>>> = [saved, saved + 1]
                .iter()
                .map(|&t| (t > 0).then(|| vote(t)))
                .collect();
            assert!(allowed.contains(&got), "{point:?}: {got:?}, saved {saved}");
            assert!(wal.last_index() >= appended, "{point:?}: entry lost");
            // A record's temporary file left by the crash is removed at open.
            let names = image.file_names(&dir());
            assert!(
                names.iter().all(|n| !n.ends_with(".tmp")),
                "{point:?}: {names:?}"
            );
            drop(wal);
            // Nothing left to repair the second time.
            let again = Wal::open(dir(), opts(&image.crash(Crash::ProcessKill))).unwrap();
            assert!(
                again.recovery_report().is_clean(),
                "{point:?}: {:?}",
                again.recovery_report()
            );
        },
    );
    common::report(&format!("state records: {states} crash states"));
    assert!(states > 500, "{states}");
}
