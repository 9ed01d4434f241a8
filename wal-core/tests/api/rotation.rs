//! Rotation across many small segments, with reopens between.
use crate::common;

use common::{Blob, dir, read_all, segment_files, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{SyncPolicy, Wal};

#[test]
fn many_small_segments_with_a_reopen_between_appends() {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let mut expected = Vec::new();
    for round in 0..5u64 {
        let wal = Wal::open(dir(), opts.clone()).unwrap();
        assert!(
            wal.recovery_report().is_clean(),
            "round {round}: {:?}",
            wal.recovery_report()
        );
        assert_eq!(wal.last_index(), round * 300);
        for _ in 0..300 {
            let i = wal.last_index() + 1;
            assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
            expected.push((i, Blob::nth(i)));
        }
        assert_eq!(read_all(&wal), expected);
        wal.close().unwrap();
    }
    let segments = segment_files(&fs, &dir());
    assert!(segments.len() > 10, "only {} segments", segments.len());
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(wal.recovery_report().segments_scanned, segments.len());
    assert_eq!(read_all(&wal), expected);
}

#[test]
fn max_entries_per_segment_rotates_and_batches_stay_in_one_segment() {
    let fs = SimFs::new();
    let opts = sim_opts(&fs)
        .max_segment_entries(Some(10))
        .sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=25 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    // 25 entries at 10 per segment: 1..=10, 11..=20, then a batch of 4 that does not fit
    // beside 21..=25 goes to a segment of its own.
    wal.append_batch(&(26..=29).map(Blob::nth).collect::<Vec<_>>())
        .unwrap();
    wal.append_batch(&(30..=37).map(Blob::nth).collect::<Vec<_>>())
        .unwrap();
    wal.close().unwrap();
    let names: Vec<String> = segment_files(&fs, &dir())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let firsts: Vec<u64> = names.iter().map(|n| n[..20].parse().unwrap()).collect();
    assert_eq!(firsts, vec![1, 11, 21, 30]);
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(read_all(&wal).len(), 37);
}

/// A sync marker or footer that lands past `segment_size` grows the file by what it needs,
/// not by a whole preallocation step: a 4 KiB segment once became 4 MiB + 4 KiB on disk
/// (and in memory at the next open).
#[test]
fn preallocation_never_runs_past_the_segment_size_by_a_step() {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts).unwrap();
    for i in 1..=400 {
        wal.append(&Blob::nth(i)).unwrap();
        wal.sync().unwrap();
        for path in segment_files(&fs, &dir()) {
            let len = fs.read_file(&path).unwrap().len();
            assert!(
                len <= 2 * 4096,
                "after entry {i}: {} is {len} bytes, segment size 4096",
                path.display()
            );
        }
    }
    assert!(segment_files(&fs, &dir()).len() >= 5);
}

#[test]
fn the_sealed_segment_hook_is_told_of_each_segment_once_complete() {
    let fs = SimFs::new();
    let sealed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&sealed);
    let opts = sim_opts(&fs)
        .segment_size(4096)
        .on_sealed(move |s| seen.lock().unwrap().push(s.clone()));
    let wal = Wal::open(dir(), opts).unwrap();
    for i in 1..=600 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    let sealed = sealed.lock().unwrap();
    let files = segment_files(&fs, &dir());
    assert!(sealed.len() >= 5, "{}", sealed.len());
    assert_eq!(sealed.len(), files.len() - 1, "every segment but the tail");
    let mut next = 1;
    for s in sealed.iter() {
        assert_eq!(s.first_index, next, "{s:?}");
        assert!(s.last_index >= s.first_index);
        next = s.last_index + 1;
        // Complete when told: its bytes are the file's, footer included.
        let bytes = fs.read_file(&s.path).unwrap();
        assert_eq!(bytes.len() as u64, s.bytes, "{s:?}");
        assert_eq!(&bytes[bytes.len() - 4..], b"WFTR", "{s:?}");
    }
}

/// Open reads a sealed segment's footer from one read of its end when the footer is short,
/// and from a second read when it is not: logs with both kinds of sealed segment open
/// clean and read back.
#[test]
fn sealed_segments_with_short_and_long_footers_open_from_their_footers() {
    let fs = SimFs::new();
    let opts = |per_segment| {
        sim_opts(&fs)
            .segment_size(1 << 20)
            .max_segment_entries(Some(per_segment))
            .sync(SyncPolicy::Never)
    };
    let mut expected = Vec::new();
    // Sealed segments of 3 entries (a footer of a few dozen bytes) and of 2,000 (8 KiB of
    // positions), then a tail of 3.
    for (per_segment, n) in [(3, 4), (2_000, 2_002)] {
        let wal = Wal::open(dir(), opts(per_segment)).unwrap();
        for _ in 0..n {
            let i = wal.last_index() + 1;
            wal.append(&Blob::nth(i)).unwrap();
            expected.push((i, Blob::nth(i)));
        }
        wal.close().unwrap();
    }
    assert_eq!(segment_files(&fs, &dir()).len(), 3);
    let wal = Wal::open(dir(), opts(2_000)).unwrap();
    let report = wal.recovery_report();
    assert!(report.is_clean(), "{report:?}");
    for &(i, ref blob) in &expected {
        if i <= 4 || i >= 2_003 || i % 97 == 0 {
            assert_eq!(&wal.get::<Blob>(i).unwrap(), blob, "entry {i}");
        }
    }
    assert_eq!(read_all(&wal), expected);
}
