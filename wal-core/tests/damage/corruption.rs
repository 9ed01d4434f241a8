//! Damage to acknowledged data is refused with file and offset; a torn tail is cut.
use crate::common;

use std::path::Path;

use common::{Blob, dir, read_all, segment_files, sim_opts};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{CorruptionKind, Error, RecoveryMode, SyncPolicy, Wal};

const SEGMENT: &str = "/log/00000000000000000001.wal";
const HEADER: usize = 64;
const MARKER: usize = 27;

fn frame_len(i: u64) -> usize {
    18 + Blob::nth(i).data.len()
}

/// Five entries each synced on its own (a marker after each), then `tail` unsynced entries.
fn log(tail: u64) -> SimFs {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs).sync(SyncPolicy::Never)).unwrap();
    for i in 1..=5 {
        wal.append(&Blob::nth(i)).unwrap();
        wal.sync().unwrap();
    }
    for i in 6..6 + tail {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let _ = wal.iter().unwrap().count();
    std::mem::forget(wal);
    fs.crash(Crash::ProcessKill)
}

/// Offset of entry `i`'s frame when entries 1..=5 each have a marker after them.
fn offset_of(i: u64) -> usize {
    HEADER
        + (1..i)
            .map(|k| frame_len(k) + if k <= 5 { MARKER } else { 0 })
            .sum::<usize>()
}

fn flip(fs: &SimFs, path: &str, at: usize) {
    let mut bytes = fs.read_file(path.as_ref()).unwrap();
    bytes[at] ^= 0x10;
    fs.write_file(path.as_ref(), &bytes);
}

fn open(fs: &SimFs, mode: RecoveryMode) -> wal_core::Result<Wal> {
    Wal::open(dir(), sim_opts(fs).recovery(mode))
}

#[test]
fn bit_flip_before_the_last_sync_marker_is_an_error_naming_file_and_offset() {
    let fs = log(0);
    flip(&fs, SEGMENT, offset_of(2) + 20);
    let before = fs.read_file(SEGMENT.as_ref()).unwrap();
    let err = open(&fs, RecoveryMode::TolerateTornTail).unwrap_err();
    match &err {
        Error::Corruption {
            segment,
            offset,
            kind: CorruptionKind::Checksum { .. },
        } => {
            assert_eq!(segment, Path::new(SEGMENT));
            assert_eq!(*offset, offset_of(2) as u64);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains(SEGMENT) && err.to_string().contains(&offset_of(2).to_string()),
        "{err}"
    );
    assert_eq!(
        fs.read_file(SEGMENT.as_ref()).unwrap(),
        before,
        "a refused open modifies nothing"
    );
    assert!(matches!(
        open(&fs, RecoveryMode::Strict),
        Err(Error::Corruption { .. })
    ));
}

#[test]
fn bit_flip_after_the_last_sync_marker_is_cut_and_reported() {
    let fs = log(3);
    flip(&fs, SEGMENT, offset_of(7) + 19);
    assert!(
        matches!(
            open(&fs, RecoveryMode::Strict),
            Err(Error::Corruption { .. })
        ),
        "strict refuses a torn tail"
    );
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    // Entry 8 is valid but follows the damage in the unsynced window: never acknowledged.
    assert_eq!(read_all(&wal).len(), 6);
    let report = wal.recovery_report();
    assert_eq!(report.cuts.len(), 1);
    assert_eq!(report.cuts[0].offset, offset_of(7) as u64);
    assert_eq!(report.cuts[0].segment, Path::new(SEGMENT));
    assert!(matches!(
        report.cuts[0].reason,
        CorruptionKind::Checksum { .. }
    ));
    let q = &report.quarantined[0];
    assert_eq!(fs.read_file(q).unwrap().len() as u64, report.cuts[0].bytes);
}

#[test]
fn point_in_time_keeps_the_prefix_before_the_damage() {
    let fs = log(0);
    flip(&fs, SEGMENT, offset_of(3) + 20);
    let wal = open(&fs, RecoveryMode::PointInTime).unwrap();
    assert_eq!(read_all(&wal).len(), 2);
    assert_eq!(wal.recovery_report().cuts[0].offset, offset_of(3) as u64);
    assert_eq!(wal.append(&Blob::nth(3)).unwrap(), 3);
}

#[test]
fn salvage_reads_every_valid_record_and_writes_nothing() {
    let fs = log(0);
    flip(&fs, SEGMENT, offset_of(3) + 20);
    let before = fs.read_file(SEGMENT.as_ref()).unwrap();
    let wal = open(&fs, RecoveryMode::Salvage).unwrap();
    let got: Vec<u64> = read_all(&wal).into_iter().map(|(i, _)| i).collect();
    assert_eq!(got, vec![1, 2, 4, 5]);
    assert_eq!(wal.recovery_report().cuts[0].offset, offset_of(3) as u64);
    assert!(matches!(wal.append(&Blob::nth(9)), Err(Error::ReadOnly)));
    drop(wal);
    assert_eq!(fs.read_file(SEGMENT.as_ref()).unwrap(), before);
}

#[test]
fn zeros_before_a_valid_marker_are_a_hole() {
    let fs = log(0);
    let mut bytes = fs.read_file(SEGMENT.as_ref()).unwrap();
    let at = offset_of(2);
    bytes[at..at + frame_len(2)].fill(0);
    fs.write_file(SEGMENT.as_ref(), &bytes);
    let err = open(&fs, RecoveryMode::TolerateTornTail).unwrap_err();
    assert!(
        matches!(err, Error::Corruption { offset, kind: CorruptionKind::Hole, .. } if offset == at as u64),
        "{err:?}"
    );
}

/// 300 entries over 4 KiB segments, closed: its options and segment files.
fn sealed_log() -> (SimFs, wal_core::Options, Vec<std::path::PathBuf>) {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=300 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    let segs = segment_files(&fs, &dir());
    (fs, opts, segs)
}

#[test]
fn damage_in_a_sealed_segment_is_refused_even_at_its_end() {
    let (fs, opts, segs) = sealed_log();
    assert!(segs.len() >= 3);
    let first = segs[0].to_str().unwrap();
    // Cut the footer off a sealed segment.
    let bytes = fs.read_file(segs[0].as_ref()).unwrap();
    fs.write_file(segs[0].as_ref(), &bytes[..bytes.len() - 10]);
    let err = Wal::open(dir(), opts.clone()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { segment, .. } if segment.to_str() == Some(first)),
        "{err:?}"
    );
    // Flip a payload bit in the middle of it. Open trusts a sealed segment's footer (its
    // time must not grow with history), so the damage is found when the entry is read;
    // `Strict` reads everything at open and refuses.
    fs.write_file(segs[0].as_ref(), &bytes);
    flip(&fs, first, 200);
    assert!(matches!(
        Wal::open(dir(), opts.clone().recovery(RecoveryMode::Strict)),
        Err(Error::Corruption { .. })
    ));
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    let err = wal.iter().unwrap().find_map(Result::err).unwrap();
    assert!(
        matches!(&err, Error::Corruption { segment, .. } if segment.to_str() == Some(first)),
        "{err:?}"
    );
    let damaged = (1..=300).find(|&i| wal.get_raw(i).is_err()).unwrap();
    assert!(matches!(
        wal.get_raw(damaged),
        Err(Error::Corruption {
            kind: CorruptionKind::Checksum { .. },
            ..
        })
    ));
    drop(wal);
    // Point in time keeps what precedes the damage and removes the later segments.
    let wal = Wal::open(dir(), opts.recovery(RecoveryMode::PointInTime)).unwrap();
    assert_eq!(wal.last_index(), damaged - 1);
    assert_eq!(wal.recovery_report().removed_segments.len(), segs.len() - 1);
}

#[test]
fn a_missing_middle_segment_is_refused() {
    let (fs, opts, segs) = sealed_log();
    assert!(fs.delete_file(&segs[1]));
    let err = Wal::open(dir(), opts).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { segment, kind: CorruptionKind::Chain, offset: 0 } if *segment == segs[2]),
        "{err:?}"
    );
}

#[test]
fn headers_foreign_segments_versions_and_junk() {
    let fs = log(0);
    let good = fs.read_file(SEGMENT.as_ref()).unwrap();
    // Bad magic.
    let mut b = good.clone();
    b[0] = b'X';
    fs.write_file(SEGMENT.as_ref(), &b);
    assert!(matches!(
        open(&fs, RecoveryMode::TolerateTornTail),
        Err(Error::NotASegment { .. })
    ));
    // A newer version.
    let mut b = good.clone();
    b[8] = 2;
    fs.write_file(SEGMENT.as_ref(), &b);
    assert!(matches!(
        open(&fs, RecoveryMode::Salvage),
        Err(Error::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        })
    ));
    // Header CRC.
    let mut b = good.clone();
    b[30] ^= 1;
    fs.write_file(SEGMENT.as_ref(), &b);
    assert!(matches!(
        open(&fs, RecoveryMode::TolerateTornTail),
        Err(Error::Corruption {
            offset: 0,
            kind: CorruptionKind::HeaderChecksum,
            ..
        })
    ));
    fs.write_file(SEGMENT.as_ref(), &good);
    // A segment from another log.
    let other = log(0);
    let foreign = other.read_file(SEGMENT.as_ref()).unwrap();
    // Its header continues ours in every field but the log identity (a valid header CRC).
    let ours = wal_core::format::SegmentHeader::decode(&good).unwrap();
    let mut header = wal_core::format::SegmentHeader::decode(&foreign).unwrap();
    assert_ne!(header.log_id, ours.log_id);
    header.seq = ours.seq + 1;
    header.first_index = 6;
    header.prev_last_index = 5;
    header.prev_crc = 0; // ours is not sealed: no chain value to repeat
    let mut continuing = header.encode().to_vec();
    continuing.extend_from_slice(&foreign[HEADER..]);
    fs.write_file("/log/00000000000000000006.wal".as_ref(), &continuing);
    match open(&fs, RecoveryMode::TolerateTornTail) {
        Err(Error::ForeignSegment {
            path,
            expected,
            found,
        }) => {
            assert_eq!(path, Path::new("/log/00000000000000000006.wal"));
            assert_eq!((expected, found), (ours.log_id, header.log_id));
        }
        other => panic!("{:?}", other.map(|w| w.last_index())),
    }
    assert!(fs.delete_file("/log/00000000000000000006.wal".as_ref()));
    // Files not named like segments are ignored.
    fs.write_file("/log/notes.txt".as_ref(), b"hello");
    fs.write_file("/log/1.wal".as_ref(), b"junk");
    let wal = open(&fs, RecoveryMode::Strict).unwrap();
    assert_eq!(read_all(&wal).len(), 5);
}

#[test]
fn a_read_error_at_open_is_an_io_error_and_nothing_is_cut() {
    let fs = log(3);
    flip(&fs, SEGMENT, offset_of(7) + 19); // a torn tail that a successful open would cut
    let before = fs.read_file(SEGMENT.as_ref()).unwrap();
    // The first reads are of the HIGH_WATER mark (before the listing), then the segment's:
    // whichever fails, it is an I/O error naming its file, and nothing is cut.
    let mut named = Vec::new();
    for skip in 0..8 {
        fs.set_fault(Some(Fault {
            op: Some(Op::Read),
            skip,
            persistent: false,
            error: FaultError::Eio,
        }));
        let Err(err) = open(&fs, RecoveryMode::TolerateTornTail) else {
            continue;
        };
        match &err {
            Error::Io {
                op: "read", path, ..
            } => named.push(path.clone()),
            other => panic!("skip {skip}: {other:?}"),
        }
        assert_eq!(fs.read_file(SEGMENT.as_ref()).unwrap(), before);
    }
    assert!(
        named.contains(&Path::new("/log/HIGH_WATER").to_path_buf()),
        "{named:?}"
    );
    assert!(
        named.contains(&Path::new(SEGMENT).to_path_buf()),
        "{named:?}"
    );
}

#[test]
fn a_frame_damaged_after_open_is_reported_by_the_reader() {
    let fs = log(0);
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    flip(&fs, SEGMENT, offset_of(4) + 20);
    let results: Vec<_> = wal.iter().unwrap().collect();
    assert_eq!(
        results.len(),
        4,
        "three entries, then the error, then nothing"
    );
    assert!(
        matches!(&results[3], Err(Error::Corruption { offset, .. }) if *offset == offset_of(4) as u64)
    );
}

/// `Wal::segments` describes a log's segments alike in every recovery mode, whether a
/// sealed segment was trusted by its footer or read in full: `bytes` stops at the footer,
/// and a segment salvaged around damage is still sealed when its footer is there.
#[test]
fn every_mode_describes_sealed_segments_alike_damaged_or_not() {
    let (fs, opts, segs) = sealed_log();
    let described = |fs: &SimFs, mode| {
        Wal::open(
            dir(),
            opts.clone()
                .file_system(std::sync::Arc::new(fs.clone()))
                .recovery(mode),
        )
        .unwrap()
        .segments()
    };
    let trusted = described(&fs, RecoveryMode::TolerateTornTail);
    assert!(
        trusted.iter().rev().skip(1).all(|s| s.sealed),
        "{trusted:?}"
    );
    for mode in [
        RecoveryMode::Strict,
        RecoveryMode::PointInTime,
        RecoveryMode::Salvage,
    ] {
        assert_eq!(described(&fs, mode), trusted, "{mode:?}");
    }
    flip(&fs, segs[0].to_str().unwrap(), HEADER + 30);
    assert_eq!(described(&fs, RecoveryMode::Salvage), trusted);
}

/// Salvage takes a segment for sealed only when its footer ends it: entries found after
/// the footer (bytes appended to a sealed file) make it an open segment that reaches them.
#[test]
fn salvage_does_not_take_a_footer_followed_by_entries_for_a_seal() {
    let (fs, opts, segs) = sealed_log();
    let mut first = fs.read_file(segs[0].as_ref()).unwrap();
    let second = fs.read_file(segs[1].as_ref()).unwrap();
    let frame = &second[HEADER..HEADER + frame_len(85)];
    first.extend_from_slice(frame);
    first[HEADER + 30] ^= 0x10;
    fs.write_file(segs[0].as_ref(), &first);
    let wal = Wal::open(dir(), opts.recovery(RecoveryMode::Salvage)).unwrap();
    let described = &wal.segments()[0];
    assert!(!described.sealed, "{described:?}");
    assert_eq!(described.bytes, first.len() as u64, "{described:?}");
}
