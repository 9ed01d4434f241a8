//! `Wal::verify_each`: one sequential pass that checks every frame and tells of each entry
//! by its header, beside what the iterator yields: the same entries, types and lengths on
//! every kind of log, nothing below the first index, the salvage mode's entries, and no
//! false damage while other threads append and truncate.
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Blob, dir, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{Options, RecoveryMode, SyncPolicy, Wal};

/// What the pass tells: index, type and payload length of each entry.
fn told(wal: &Wal) -> Vec<(u64, u8, usize)> {
    let mut out = Vec::new();
    wal.verify_each(|h| out.push((h.index(), h.type_id(), h.payload_len() as usize)))
        .unwrap();
    out
}

/// The same, read through the iterator.
fn iterated(wal: &Wal) -> Vec<(u64, u8, usize)> {
    wal.iter()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.index(), e.type_id(), e.payload().len())
        })
        .collect()
}

#[test]
fn the_pass_tells_of_what_the_iterator_yields_on_every_kind_of_log() {
    for (name, policy, sync_every) in [
        ("synced every append", SyncPolicy::Always, 0),
        ("synced every 7th", SyncPolicy::Never, 7),
        ("synced only by seals", SyncPolicy::Never, 0),
    ] {
        let fs = SimFs::new();
        let opts = sim_opts(&fs).segment_size(4096).sync(policy);
        let wal = Wal::open(dir(), opts.clone()).unwrap();
        assert!(told(&wal).is_empty(), "{name}: empty log");
        for i in 1..=400u64 {
            if i.is_multiple_of(25) {
                let batch: Vec<Blob> = (0..3).map(|k| Blob::nth(i * 10 + k)).collect();
                wal.append_batch(&batch).unwrap();
            } else {
                wal.append(&Blob::nth(i)).unwrap();
            }
            if sync_every > 0 && i.is_multiple_of(sync_every) {
                wal.sync().unwrap();
            }
        }
        let all = iterated(&wal);
        assert_eq!(all.len(), 400 + 16 * 2, "{name}");
        assert_eq!(told(&wal), all, "{name}: open");
        assert!(wal.segments().len() > 5, "{name}");
        // The first entries removed: a pass starts at the new first index, inside a segment.
        wal.truncate_front(150).unwrap();
        let kept: Vec<_> = all
            .iter()
            .copied()
            .filter(|e| e.0 >= wal.first_index())
            .collect();
        assert_eq!(told(&wal), kept, "{name}: after truncate_front");
        wal.truncate_back(300).unwrap();
        assert_eq!(told(&wal), iterated(&wal), "{name}: after truncate_back");
        wal.close().unwrap();
        for mode in [
            RecoveryMode::TolerateTornTail,
            RecoveryMode::Strict,
            RecoveryMode::Salvage,
        ] {
            let wal = Wal::open_read_only(dir(), opts.clone().recovery(mode)).unwrap();
            assert_eq!(told(&wal), iterated(&wal), "{name}: reopened, {mode:?}");
            assert_eq!(
                told(&wal).len() as u64,
                300 - wal.first_index() + 1,
                "{name}"
            );
        }
    }
}

#[test]
fn appends_and_truncations_beside_the_pass_are_never_damage() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .segment_size(16 * 1024)
        .sync(SyncPolicy::Never);
    let wal = Arc::new(Wal::open(dir.path(), opts).unwrap());
    for i in 1..=2_000u64 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (wal, stop) = (Arc::clone(&wal), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut i, mut spare) = (0u64, 100);
            while common::goes_on(&stop, i == 0, &mut spare) {
                i += 1;
                wal.append(&Blob::nth(i)).unwrap();
                if i.is_multiple_of(97) {
                    wal.sync().unwrap();
                }
                if i.is_multiple_of(501) {
                    wal.truncate_back(wal.last_index() - 40).unwrap();
                }
                if i.is_multiple_of(1_003) {
                    wal.truncate_front(wal.first_index() + 300).unwrap();
                }
            }
            i
        })
    };
    let mut passes = 0;
    let mut entries = 0;
    let start = std::time::Instant::now();
    while passes < 50 || start.elapsed().as_millis() < 300 {
        let mut last: Option<u64> = None;
        let result = wal.verify_each(|h| {
            // One after the other, with no gap.
            if let Some(l) = last {
                assert_eq!(h.index(), l + 1);
            }
            last = Some(h.index());
        });
        // A segment deleted by truncate_front before the pass reached it is said plainly.
        if let Err(e) = result
            && !matches!(e, wal_core::Error::IndexOutOfRange { .. })
        {
            panic!("pass {passes}: {e}");
        }
        entries += last.map_or(0, |_| 1);
        passes += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let appended = writer.join().unwrap();
    common::report(&format!(
        "verify_each: {passes} passes beside {appended} appends with truncations, none found damage"
    ));
    assert!(entries > 0 && appended > 0);
    assert_eq!(told(&wal), iterated(&wal));
}
