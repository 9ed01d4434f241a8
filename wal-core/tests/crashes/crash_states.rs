//! Simulated crashes by the hundred thousand (C-01 to C-04; ids, crash models and
//! invariants are defined in `docs/testing.md`): after each,
//! recovery must give a prefix of what was written (INV-PREFIX), keep every acknowledged
//! entry (INV-DURABLE), never refuse to open after an ordinary crash (INV-NOFALSEALARM),
//! never return wrong data, and reach the same result when run again (INV-IDEM).
use crate::common;

use std::sync::Arc;

use common::{Blob, dir};
use wal_core::testing::{Crash, SimFs, explore_crashes};
use wal_core::{Options, SyncPolicy, Wal};

const SEGMENT: &str = "/log/00000000000000000001.wal";

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(64 * 1024)
        .sync(SyncPolicy::Never)
}

/// Entry `i` of the test sequence, `0..=200` bytes.
fn entry(i: u64, seed: u64) -> Blob {
    let len = ((i * 2_654_435_761 + seed * 97) % 201) as usize;
    Blob {
        ty: (i % 7 + 1) as u8,
        data: (0..len).map(|k| (k as u64 ^ i ^ seed) as u8).collect(),
    }
}

/// Opens `image`, checks that the log starts at one of `firsts` (1, or where an
/// acknowledged `truncate_front` put it), that it is contiguous (INV-PREFIX) and that no
/// wrong data comes back, and returns the last index recovered. Opens it a second time
/// (after a second crash that keeps everything) to check INV-IDEM.
fn recover(image: &SimFs, firsts: &[u64], expected: impl Fn(u64) -> Blob, what: &str) -> u64 {
    let wal = Wal::open(dir(), opts(image))
        .unwrap_or_else(|e| panic!("{what}: recovery refused an ordinary crash: {e}"));
    assert!(
        firsts.contains(&wal.first_index()),
        "{what}: the log starts at {}, not at one of {firsts:?}",
        wal.first_index()
    );
    let mut n = wal.first_index() - 1;
    for raw in wal.iter().unwrap() {
        let raw = raw.unwrap_or_else(|e| panic!("{what}: {e}"));
        n += 1;
        assert_eq!(raw.index(), n, "{what}: hole");
        assert_eq!(
            raw.decode::<Blob>().unwrap(),
            expected(n),
            "{what}: wrong data at {n}"
        );
    }
    assert_eq!(n, wal.last_index(), "{what}");
    drop(wal);
    let again = Wal::open(dir(), opts(&image.crash(Crash::ProcessKill))).unwrap();
    assert!(
        again.recovery_report().is_clean(),
        "{what}: second recovery differs: {:?}",
        again.recovery_report()
    );
    assert_eq!(again.last_index(), n, "{what}: second recovery differs");
    n
}

/// A log with `synced` entries synced, then `batch` more written unsynced, as one batch or
/// one by one. Returns the file system and the byte range of each unsynced frame.
fn unsynced_batch(
    seed: u64,
    synced: u64,
    batch: u64,
    atomic: bool,
) -> (SimFs, Vec<(usize, usize)>) {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    for i in 1..=synced {
        wal.append(&entry(i, seed)).unwrap();
    }
    wal.sync().unwrap();
    let entries: Vec<Blob> = (synced + 1..=synced + batch)
        .map(|i| entry(i, seed))
        .collect();
    if atomic {
        wal.append_batch(&entries).unwrap();
    } else {
        for e in &entries {
            wal.append(e).unwrap();
        }
    }
    let _ = wal.iter().unwrap().count(); // written, not synced
    std::mem::forget(wal);
    // Header, the synced frames, one sync marker, then the unsynced frames.
    let frame = |i: u64| 18 + entry(i, seed).data.len();
    let mut at = 64 + (1..=synced).map(frame).sum::<usize>() + 27;
    let frames = (synced + 1..=synced + batch)
        .map(|i| {
            let start = at;
            at += frame(i);
            (start, at)
        })
        .collect();
    (fs, frames)
}

/// How many of `frames` are intact, from the first, in `image` compared with `original`.
fn intact(image: &[u8], original: &[u8], frames: &[(usize, usize)]) -> u64 {
    frames
        .iter()
        .take_while(|&&(s, e)| image.get(s..e) == original.get(s..e))
        .count() as u64
}

/// Entries a crash image of `unsynced_batch(_, 8, 64, atomic)` must recover: the 8 synced
/// ones, then the intact frames (one by one), or the whole batch only if it is all intact.
fn expected(image: &SimFs, original: &[u8], frames: &[(usize, usize)], atomic: bool) -> u64 {
    let complete = intact(
        &image.read_file(SEGMENT.as_ref()).unwrap(),
        original,
        frames,
    );
    match (atomic, complete) {
        (false, n) => 8 + n,
        (true, 64) => 72,
        (true, _) => 8,
    }
}

#[test]
fn c01_c02_torn_zeroed_and_garbage_tails_at_every_byte_of_64_entry_batches() {
    let mut states = 0u64;
    for seed in 0..3u64 {
        for atomic in [false, true] {
            let (fs, frames) = unsynced_batch(seed, 8, 64, atomic);
            let original = fs.read_file(SEGMENT.as_ref()).unwrap();
            let (start, end) = (frames[0].0, frames[63].1);
            for k in 0..=(end - start) {
                let torn = fs.crash(Crash::TornPrefix(k as u64));
                // The bytes after the cut as power loss may leave them: gone, zeros, garbage.
                let mut variants = vec![("torn", torn.clone())];
                if k < end - start {
                    let image = torn.read_file(SEGMENT.as_ref()).unwrap();
                    for (name, fill) in [("zeroed", 0u8), ("garbage", 0xa5)] {
                        let mut b = image.clone();
                        b.resize(b.len().max(end), 0);
                        for (n, byte) in b[start + k..end].iter_mut().enumerate() {
                            *byte = if fill == 0 {
                                0
                            } else {
                                fill ^ (n as u8).wrapping_mul(31)
                            };
                        }
                        let v = torn.crash(Crash::ProcessKill);
                        v.write_file(SEGMENT.as_ref(), &b);
                        variants.push((name, v));
                    }
                }
                for (name, image) in variants {
                    let what = format!("seed {seed} atomic {atomic} cut {k} {name}");
                    let n = recover(&image, &[1], |i| entry(i, seed), &what);
                    assert_eq!(n, expected(&image, &original, &frames, atomic), "{what}");
                    states += 1;
                }
            }
        }
    }
    common::report(&format!(
        "C-01/C-02 torn, zeroed and garbage tails: {states} crash states checked"
    ));
    assert!(states > 60_000);
}

#[test]
fn c03_sector_chaos_in_the_unsynced_window_never_raises_a_false_alarm() {
    let (mut states, mut refused, mut opened_damaged) = (0u64, 0u64, 0u64);
    for seed in 0..2u64 {
        for atomic in [false, true] {
            let (fs, frames) = unsynced_batch(seed, 8, 64, atomic);
            let original = fs.read_file(SEGMENT.as_ref()).unwrap();
            // Header, the synced frames and their sync marker.
            let synced = frames[0].0;
            for chaos in 0..4_000u64 {
                for sector in [512, 4096] {
                    let what = format!("seed {seed} atomic {atomic} chaos {chaos} sector {sector}");
                    let image = fs.crash(Crash::SectorChaos {
                        seed: chaos,
                        sector,
                        psow: true,
                    });
                    let n = recover(&image, &[1], |i| entry(i, seed), &what);
                    assert_eq!(n, expected(&image, &original, &frames, atomic), "{what}");
                    // Without power-safe overwrite, a torn sector may garble synced bytes
                    // that share it with unsynced ones: then the open may refuse, or cut to
                    // an earlier point, but never return wrong data. While the synced bytes
                    // are intact, it is exactly the outcome above.
                    let what = format!("{what} psow off");
                    let image = fs.crash(Crash::SectorChaos {
                        seed: chaos,
                        sector,
                        psow: false,
                    });
                    let bytes = image.read_file(SEGMENT.as_ref()).unwrap();
                    let intact = bytes.get(..synced) == original.get(..synced);
                    if intact {
                        let n = recover(&image, &[1], |i| entry(i, seed), &what);
                        assert_eq!(n, expected(&image, &original, &frames, atomic), "{what}");
                    } else {
                        match Wal::open(dir(), opts(&image)) {
                            Err(
                                wal_core::Error::Corruption { segment: path, .. }
                                | wal_core::Error::NotASegment { path }
                                | wal_core::Error::UnsupportedVersion { path, .. },
                            ) => {
                                assert_eq!(path, std::path::Path::new(SEGMENT), "{what}");
                                refused += 1;
                            }
                            Err(e) => panic!("{what}: {e}"),
                            Ok(wal) => {
                                drop(wal);
                                recover(&image, &[1], |i| entry(i, seed), &what);
                                opened_damaged += 1;
                            }
                        }
                    }
                    states += 2;
                }
            }
        }
    }
    common::report(&format!(
        "C-03 sector chaos: {states} crash states checked; with power-safe overwrite off, synced bytes garbled in {} ({refused} refused, {opened_damaged} opened with a verified prefix)",
        refused + opened_damaged
    ));
    assert_eq!(states, 64_000);
    assert!(
        refused > 0 && opened_damaged > 0,
        "{refused} {opened_damaged}"
    );
}

/// What the C-04 workload acknowledged before it stopped.
#[derive(Debug, Default)]
struct Acked {
    /// Highest index acknowledged as durable.
    durable: u64,
    /// Indexes of the entries appended.
    appended: u64,
    /// First index of a `truncate_front` that returned Ok.
    front: u64,
    /// Whether that `truncate_front` was called (it may not have returned).
    front_called: bool,
}

/// C-04: appends under `Always` (single and in batches) over many 4 KiB segments, a
/// `truncate_front`, a clean close and reopen, and more appends.
fn workload(fs: &SimFs) -> Acked {
    let mut acked = Acked::default();
    let o = || opts(fs).segment_size(4096).sync(SyncPolicy::Always);
    let mut run = || -> wal_core::Result<()> {
        let wal = Wal::open(dir(), o())?;
        for i in 1..=100 {
            if i % 10 == 0 {
                let batch: Vec<Blob> = (0..3).map(|k| entry(acked.appended + 1 + k, 9)).collect();
                acked.appended = wal.append_batch(&batch)?.end - 1;
            } else {
                acked.appended = wal.append(&entry(acked.appended + 1, 9))?;
            }
            acked.durable = acked.appended;
            if i == 60 {
                acked.front_called = true;
                wal.truncate_front(30)?;
                acked.front = 30;
            }
        }
        wal.close()?;
        let wal = Wal::open(dir(), o())?;
        for _ in 0..10 {
            acked.appended = wal.append(&entry(acked.appended + 1, 9))?;
            acked.durable = acked.appended;
        }
        Ok(())
    };
    let _ = run();
    acked
}

#[test]
fn c04_a_crash_after_every_operation_of_a_rotating_truncating_workload() {
    let models = common::crash_models(16);
    let states = explore_crashes(SimFs::new, &models, workload, |point, image, acked| {
        let what = format!("{point:?}");
        let wal = Wal::open(dir(), opts(&image))
            .unwrap_or_else(|e| panic!("{what}: recovery refused an ordinary crash: {e}"));
        let (first, last) = (wal.first_index(), wal.last_index());
        drop(wal);
        assert!(
            last >= acked.durable,
            "{what}: acknowledged entry lost ({last} < {})",
            acked.durable
        );
        assert!(last <= acked.appended + 3, "{what}: entries never appended");
        // The log starts at 1, or exactly where an acknowledged `truncate_front` put it
        // (either, while it was in flight).
        let firsts: &[u64] = match (acked.front, acked.front_called) {
            (0, false) => &[1],
            (0, true) => &[1, 30],
            _ => &[30],
        };
        assert!(firsts.contains(&first), "{what}: first {first}");
        let n = recover(&image, firsts, |i| entry(i, 9), &what);
        assert_eq!(n, last, "{what}");
    });
    common::report(&format!(
        "C-04 crash at every operation x {} models: {states} crash states checked",
        models.len()
    ));
    // 347 operations x 50 models (a sync's frames and marker are one write).
    assert!(states > 15_000);
}
