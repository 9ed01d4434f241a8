//! Every row of the bad-input table (`docs/testing.md`), as a named test with the
//! expected outcome. Rows already covered elsewhere name the test that covers them.
use crate::common;

use std::path::Path;
use std::sync::Arc;

use common::{Blob, dir, read_all, segment_files};
use wal_core::format;
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{CorruptionKind, Error, Options, RecoveryMode, SyncPolicy, Wal};

const SEG: &str = "/log/00000000000000000001.wal";

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .sync(SyncPolicy::Never)
}

/// `synced` entries each with its sync marker, then `tail` unsynced ones; a process crash.
fn log(synced: u64, tail: u64) -> SimFs {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).segment_size(1 << 20)).unwrap();
    for i in 1..=synced {
        wal.append(&Blob::nth(i)).unwrap();
        wal.sync().unwrap();
    }
    for i in synced + 1..=synced + tail {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let _ = wal.iter().unwrap().count();
    std::mem::forget(wal);
    fs.crash(Crash::ProcessKill)
}

fn bytes(fs: &SimFs) -> Vec<u8> {
    fs.read_file(SEG.as_ref()).unwrap()
}

/// Offset of entry `i` in a `log(5, _)`.
fn at(i: u64) -> usize {
    64 + (1..i)
        .map(|k| 18 + Blob::nth(k).data.len() + if k <= 5 { 27 } else { 0 })
        .sum::<usize>()
}

fn open(fs: &SimFs, mode: RecoveryMode) -> wal_core::Result<Wal> {
    Wal::open(dir(), opts(fs).recovery(mode))
}

fn log_id(fs: &SimFs) -> u64 {
    format::SegmentHeader::decode(&bytes(fs)).unwrap().log_id
}

fn corruption_kind(r: wal_core::Result<Wal>) -> CorruptionKind {
    match r {
        Err(Error::Corruption { kind, .. }) => kind,
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

#[test]
fn d01_segment_shorter_than_its_header() {
    // Newest: dropped and reported (see also recovery::issue_5_...). Not newest: refused.
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    for i in 1..=300 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    let segs = segment_files(&fs, &dir());
    let b = fs.read_file(&segs[1]).unwrap();
    fs.write_file(&segs[1], &b[..30]);
    assert!(matches!(
        open(&fs, RecoveryMode::TolerateTornTail),
        Err(Error::Corruption {
            offset: 0,
            kind: CorruptionKind::TruncatedHeader,
            ..
        })
    ));
}

#[test]
fn d02_d03_truncated_header_or_payload_at_the_tail() {
    for cut in [at(7) + 10, at(7) + 25] {
        let fs = log(5, 2);
        let b = bytes(&fs);
        fs.write_file(SEG.as_ref(), &b[..cut]);
        assert_eq!(
            corruption_kind(open(&fs, RecoveryMode::Strict)),
            CorruptionKind::Truncated
        );
        let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
        assert_eq!(wal.last_index(), 6);
        let cut_report = &wal.recovery_report().cuts[0];
        assert_eq!(
            (cut_report.offset, cut_report.reason.clone()),
            (at(7) as u64, CorruptionKind::Truncated)
        );
        assert_eq!(wal.recovery_report().quarantined.len(), 1);
    }
}

#[test]
fn d04_length_above_the_maximum_or_beyond_the_file() {
    // In the last window: torn. Before the last marker: refused, and never allocated.
    let fs = log(5, 2);
    let mut b = bytes(&fs);
    b[at(7) + 4..at(7) + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    fs.write_file(SEG.as_ref(), &b);
    assert_eq!(
        open(&fs, RecoveryMode::TolerateTornTail)
            .unwrap()
            .last_index(),
        6
    );
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b[at(3) + 4..at(3) + 8].copy_from_slice(&(1u32 << 30).to_le_bytes());
    fs.write_file(SEG.as_ref(), &b);
    assert_eq!(
        corruption_kind(open(&fs, RecoveryMode::TolerateTornTail)),
        CorruptionKind::BadLength(1 << 30)
    );
}

#[test]
fn d05_checksum_mismatch_after_the_last_marker_even_with_valid_records_after() {
    let fs = log(5, 3);
    let mut b = bytes(&fs);
    b[at(6) + 19] ^= 1;
    fs.write_file(SEG.as_ref(), &b);
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    assert_eq!(
        wal.last_index(),
        5,
        "entries 7 and 8 were never acknowledged"
    );
    assert!(matches!(
        wal.recovery_report().cuts[0].reason,
        CorruptionKind::Checksum { .. }
    ));
}

#[test]
fn d06_checksum_mismatch_before_the_last_marker() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b[at(2) + 19] ^= 1;
    fs.write_file(SEG.as_ref(), &b);
    match open(&fs, RecoveryMode::TolerateTornTail) {
        Err(Error::Corruption {
            segment,
            offset,
            kind: CorruptionKind::Checksum { .. },
        }) => {
            assert_eq!((segment.as_path(), offset), (Path::new(SEG), at(2) as u64));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        open(&fs, RecoveryMode::PointInTime).unwrap().last_index(),
        1
    );
}

#[test]
fn d07_bogus_internal_frame_type_with_a_valid_crc() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    let end = at(6);
    let mut frame = Vec::new();
    format::encode_frame(
        &mut frame,
        format::crc_seed(log_id(&fs)),
        0,
        0,
        5,
        &[9, 9, 9],
    );
    b[end..end + frame.len()].copy_from_slice(&frame);
    fs.write_file(SEG.as_ref(), &b);
    assert_eq!(
        corruption_kind(open(&fs, RecoveryMode::Strict)),
        CorruptionKind::UnknownInternalFrame
    );
}

#[test]
fn d08_unknown_user_entry_type_with_a_valid_crc() {
    #[derive(Debug)]
    struct OnlyOne;
    impl wal_core::Entry for OnlyOne {
        const TYPE_IDS: &'static [u8] = &[1];
        fn type_id(&self) -> u8 {
            1
        }
        fn encode(&self, _: &mut Vec<u8>) -> Result<(), wal_core::EncodeError> {
            Ok(())
        }
        fn decode(_: u8, _: &[u8]) -> Result<Self, wal_core::DecodeError> {
            Ok(OnlyOne)
        }
    }
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    wal.append(&Blob::new(1, vec![])).unwrap();
    wal.append(&Blob::new(200, vec![1])).unwrap();
    wal.close().unwrap();
    let wal = open(&fs, RecoveryMode::Strict).unwrap();
    assert_eq!(
        wal.last_index(),
        2,
        "the log opens and nothing is skipped or cut"
    );
    assert!(matches!(
        wal.get::<OnlyOne>(2),
        Err(Error::UnknownEntryType {
            index: 2,
            type_id: 200
        })
    ));
    assert!(matches!(
        wal.replay(|_, _: OnlyOne| ()),
        Err(Error::UnknownEntryType {
            index: 2,
            type_id: 200
        })
    ));
}

#[test]
fn d09_zeroed_tail_is_the_end_of_the_log() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b.resize(b.len() + 8192, 0);
    fs.write_file(SEG.as_ref(), &b);
    let wal = open(&fs, RecoveryMode::Strict).unwrap();
    assert_eq!(wal.last_index(), 5);
    assert!(wal.recovery_report().is_clean());
}

#[test]
fn d10_zeros_followed_by_a_valid_marker_are_a_hole() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b[at(3)..at(4)].fill(0);
    fs.write_file(SEG.as_ref(), &b);
    assert_eq!(
        corruption_kind(open(&fs, RecoveryMode::TolerateTornTail)),
        CorruptionKind::Hole
    );
}

#[test]
fn d11_wrong_magic_on_a_file_named_like_a_segment() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b[..8].copy_from_slice(b"NOTAWAL!");
    fs.write_file(SEG.as_ref(), &b);
    assert!(
        matches!(open(&fs, RecoveryMode::Salvage), Err(Error::NotASegment { path }) if path == Path::new(SEG))
    );
    assert_eq!(bytes(&fs), b, "not touched");
}

#[test]
fn d12_files_not_named_like_segments_are_ignored() {
    let fs = log(5, 0);
    for junk in [
        "/log/README",
        "/log/1.wal",
        "/log/00000000000000000001.wal.bak",
        "/log/0000000000000000000x.wal",
    ] {
        fs.write_file(junk.as_ref(), b"junk");
    }
    assert_eq!(open(&fs, RecoveryMode::Strict).unwrap().last_index(), 5);
}

#[test]
fn d13_leftover_temporary_files_are_removed_and_reported() {
    let fs = log(5, 0);
    fs.write_file(
        "/log/00000000000000000006.wal.tmp".as_ref(),
        b"half-made segment",
    );
    fs.write_file("/log/LOW_WATER.tmp".as_ref(), b"half-made mark");
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    assert_eq!(wal.recovery_report().removed_temp_files.len(), 2);
    assert!(fs.file_names(&dir()).iter().all(|n| !n.ends_with(".tmp")));
}

#[test]
fn d14_unknown_newer_format_version() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    fs.write_file(SEG.as_ref(), &b);
    for mode in [RecoveryMode::TolerateTornTail, RecoveryMode::Salvage] {
        assert!(matches!(
            open(&fs, mode),
            Err(Error::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            })
        ));
    }
}

#[test]
fn d15_segment_from_another_log() {
    let fs = log(5, 0);
    let other = log(5, 0);
    fs.write_file("/log/00000000000000000006.wal".as_ref(), &bytes(&other));
    assert!(matches!(
        open(&fs, RecoveryMode::TolerateTornTail),
        Err(Error::ForeignSegment { .. })
    ));
}

#[test]
fn d16_stale_record_of_an_older_generation_is_the_end() {
    // A frame of this log with a valid CRC but an index that does not follow: after the
    // last marker it is cut; it is never returned.
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    let mut stale = Vec::new();
    format::encode_frame(
        &mut stale,
        format::crc_seed(log_id(&fs)),
        3,
        0,
        42,
        b"old generation",
    );
    b.truncate(at(6));
    b.extend_from_slice(&stale);
    fs.write_file(SEG.as_ref(), &b);
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    assert_eq!(wal.last_index(), 5);
    assert_eq!(
        wal.recovery_report().cuts[0].reason,
        CorruptionKind::IndexOrder {
            expected: 6,
            found: 42
        }
    );
}

#[test]
fn d17_missing_middle_segment_is_refused() {
    // See corruption::a_missing_middle_segment_is_refused; the oldest one missing too:
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    for i in 1..=300 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    wal.close().unwrap();
    assert!(fs.delete_file(&segment_files(&fs, &dir())[0]));
    assert_eq!(
        corruption_kind(open(&fs, RecoveryMode::TolerateTornTail)),
        CorruptionKind::Chain
    );
}

#[test]
fn d18_missing_newest_segment_that_held_acknowledged_entries() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).sync(SyncPolicy::Always)).unwrap();
    for i in 1..=300 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    drop(wal);
    let segs = segment_files(&fs, &dir());
    let lost_from = *common::first_indexes(&fs, &dir()).last().unwrap();
    assert!(fs.delete_file(segs.last().unwrap()));
    match open(&fs, RecoveryMode::TolerateTornTail) {
        Err(Error::Corruption {
            kind:
                CorruptionKind::MissingSegment {
                    expected_seq,
                    newest_seq,
                },
            ..
        }) => {
            assert_eq!(expected_seq, newest_seq + 1);
        }
        other => panic!("{other:?}"),
    }
    // Point in time accepts the prefix that is left, and records it: later opens accept it.
    let wal = open(&fs, RecoveryMode::PointInTime).unwrap();
    let kept = wal.last_index();
    assert_eq!(kept, lost_from - 1);
    assert_eq!(
        wal.recovery_report().missing_newest_seq,
        Some(segs.len() as u64)
    );
    drop(wal);
    assert_eq!(
        open(&fs, RecoveryMode::TolerateTornTail)
            .unwrap()
            .last_index(),
        kept
    );
}

#[test]
fn d19_missing_directory_and_a_path_that_is_a_file() {
    let fs = SimFs::new();
    let missing = Wal::open(dir(), opts(&fs).create_if_missing(false));
    assert!(matches!(missing, Err(Error::NotFound { .. })));
    wal_core::io::FileSystem::create_dir_all(&fs, Path::new("/data")).unwrap();
    fs.write_file("/data/file".as_ref(), b"x");
    assert!(matches!(
        Wal::open("/data/file", opts(&fs)),
        Err(Error::NotADirectory { .. })
    ));
}

#[test]
fn d20_already_open_is_refused() {
    let fs = SimFs::new();
    let _first = Wal::open(dir(), opts(&fs)).unwrap();
    assert!(matches!(
        Wal::open(dir(), opts(&fs)),
        Err(Error::Locked { .. })
    ));
}

#[test]
fn d21_permission_denied_names_the_path_and_repairs_nothing() {
    let fs = log(5, 2);
    let mut b = bytes(&fs);
    b[at(7) + 19] ^= 1; // a torn tail that a successful open would cut
    fs.write_file(SEG.as_ref(), &b);
    fs.set_fault(Some(Fault {
        op: Some(Op::Open),
        skip: 2,
        persistent: true,
        error: FaultError::PermissionDenied,
    }));
    match open(&fs, RecoveryMode::TolerateTornTail) {
        Err(Error::Io { path, source, .. }) => {
            assert_eq!(source.raw_os_error(), Some(13));
            assert!(path.starts_with("/log"), "{path:?}");
        }
        other => panic!("{other:?}"),
    }
    fs.set_fault(None);
    assert_eq!(bytes(&fs), b, "no partial repair");
    // Opening only for reading still works where reads work.
    fs.set_fault(Some(Fault {
        op: Some(Op::Create),
        skip: 0,
        persistent: true,
        error: FaultError::PermissionDenied,
    }));
    let wal = open(&fs, RecoveryMode::Salvage).unwrap();
    assert_eq!(
        read_all(&wal).len(),
        6,
        "every entry but the damaged seventh"
    );
}

#[test]
fn d22_to_d25_io_errors_are_covered_by_the_fault_suites() {
    // ENOSPC: io_errors::e04_enospc_at_every_byte_of_a_64_kib_window_and_at_every_rotation.
    // EIO on write and fsync: io_errors::e01_e02_..., group_commit::a_failed_fsync_poisons_....
    // EIO on read during recovery: corruption::a_read_error_at_open_is_an_io_error_and_nothing_is_cut.
    let fs = log(5, 0);
    fs.set_fault(Some(Fault {
        op: Some(Op::Write),
        skip: 0,
        persistent: false,
        error: FaultError::NoSpace,
    }));
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    assert!(matches!(
        wal.append(&Blob::nth(6)).and_then(|_| wal.sync()),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        wal.append(&Blob::nth(7)),
        Err(Error::Poisoned { .. })
    ));
}

#[test]
fn d26_short_writes_and_eintr_are_retried_to_identical_bytes() {
    let reference = {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs).fixed_log_id(7)).unwrap();
        for i in 1..=50 {
            wal.append(&Blob::nth(i)).unwrap();
        }
        wal.close().unwrap();
        bytes(&fs)
    };
    for skip in 0..20 {
        let fs = SimFs::new();
        fs.set_fault(Some(Fault {
            op: Some(Op::Write),
            skip,
            persistent: false,
            error: FaultError::Interrupted,
        }));
        let wal = Wal::open(dir(), opts(&fs).fixed_log_id(7)).unwrap();
        for i in 1..=50 {
            wal.append(&Blob::nth(i)).unwrap();
        }
        wal.close().unwrap();
        assert_eq!(bytes(&fs), reference, "EINTR at write {skip}");
    }
}

#[test]
fn d27_a_crash_during_recoverys_own_repair_reaches_the_same_result() {
    let fs = log(5, 3);
    let mut b = bytes(&fs);
    b[at(7) + 19] ^= 1;
    fs.write_file(SEG.as_ref(), &b);
    // The torn tail is cut at entry 7: entries 1 to 6 are left, as written.
    let clean: Vec<(u64, Blob)> = (1..=6).map(|i| (i, Blob::nth(i))).collect();
    let first = open(
        &fs.crash(Crash::ProcessKill),
        RecoveryMode::TolerateTornTail,
    )
    .unwrap();
    assert_eq!(read_all(&first), clean);
    for k in 0..40 {
        let img = fs.crash(Crash::ProcessKill);
        img.set_fault(Some(Fault {
            op: None,
            skip: k,
            persistent: true,
            error: FaultError::Eio,
        }));
        let _ = open(&img, RecoveryMode::TolerateTornTail);
        img.set_fault(None);
        for crash in [Crash::ProcessKill, Crash::DropUnsynced] {
            let again = open(&img.crash(crash), RecoveryMode::TolerateTornTail).unwrap();
            assert_eq!(
                read_all(&again),
                clean,
                "crash after op {k} of recovery, {crash:?}"
            );
        }
    }
}

#[test]
fn d28_clean_shutdown_but_trailing_garbage() {
    let fs = log(5, 0);
    let mut b = bytes(&fs);
    let end = at(6);
    b[end..end + 12].copy_from_slice(b"garbage here");
    fs.write_file(SEG.as_ref(), &b);
    assert!(matches!(
        open(&fs, RecoveryMode::Strict),
        Err(Error::Corruption { .. })
    ));
    let wal = open(&fs, RecoveryMode::TolerateTornTail).unwrap();
    assert_eq!(wal.last_index(), 5);
    assert_eq!(wal.recovery_report().cuts.len(), 1);
}
