//! The corrupted-log matrix (M-01): damage style x offset x segment x recovery
//! mode x preallocation = 5 x 20 x 3 x 4 x 2 = 2,400 instances, each with its mode's outcome.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]
mod common;

use std::path::Path;
use std::sync::Arc;

use common::{Blob, dir, segment_files};
use wal_core::testing::{Crash, SimFs};
use wal_core::{Error, Options, RecoveryMode, SyncPolicy, Wal};

fn opts(fs: &SimFs, preallocate: bool) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .preallocate(preallocate)
        .sync(SyncPolicy::Always)
}

const ENTRIES: u64 = 150;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    Truncate,
    BitFlip,
    Zero,
    Garbage,
    DropSegment,
}

/// Offsets of the frames in a segment, found by their lengths.
fn frames(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p = 64;
    while p + 18 <= bytes.len() && bytes[p..p + 18].iter().any(|&b| b != 0) {
        out.push(p);
        p += 18 + u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
    }
    out
}

/// 20 offsets: three frames' starts and their neighbours, six times, the middle, the end.
fn offsets(bytes: &[u8]) -> Vec<usize> {
    let f = frames(bytes);
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
    let mut out: Vec<usize> = (0..6)
        .flat_map(|k| {
            let p = f[k * (f.len() - 1) / 5];
            [p - 1, p, p + 1]
        })
        .collect();
    out.extend([end / 2, end - 1]);
    out
}

fn damaged(base: &SimFs, seg: &Path, style: Damage, at: usize) -> SimFs {
    let img = base.crash(Crash::ProcessKill);
    let mut b = img.read_file(seg).unwrap();
    let span = |b: &mut Vec<u8>| at..(at + 16).min(b.len());
    match style {
        Damage::Truncate => b.truncate(at),
        Damage::BitFlip => b[at] ^= 0x20,
        Damage::Zero => {
            let r = span(&mut b);
            b[r].fill(0);
        }
        Damage::Garbage => {
            let r = span(&mut b);
            for (k, x) in b[r].iter_mut().enumerate() {
                *x = 0x5a ^ (k as u8).wrapping_mul(47);
            }
        }
        Damage::DropSegment => {
            assert!(img.delete_file(seg));
            return img;
        }
    }
    img.write_file(seg, &b);
    img
}

/// Reads everything; returns the indexes and whether a read error ended it. Every entry
/// returned must be the one written at its index.
fn read(wal: &Wal, what: &str) -> (Vec<u64>, bool) {
    let mut got = Vec::new();
    for raw in wal.iter().unwrap() {
        match raw {
            Ok(raw) => {
                assert_eq!(
                    raw.decode::<Blob>().unwrap(),
                    Blob::nth(raw.index()),
                    "{what}: wrong data"
                );
                got.push(raw.index());
            }
            Err(Error::Corruption { .. }) => return (got, true),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    (got, false)
}

#[test]
fn m01_corrupted_log_matrix() {
    let mut instances = 0;
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for preallocate in [true, false] {
        let base = SimFs::new();
        let wal = Wal::open(dir(), opts(&base, preallocate)).unwrap();
        for i in 1..=ENTRIES {
            wal.append(&Blob::nth(i)).unwrap();
        }
        drop(wal);
        let segs = segment_files(&base, &dir());
        assert!(segs.len() >= 3, "{} segments", segs.len());
        let picks = [
            ("first", 0),
            ("middle", segs.len() / 2),
            ("last", segs.len() - 1),
        ];
        for (place, k) in picks {
            let seg = &segs[k];
            let original = base.read_file(seg).unwrap();
            let is_last = k == segs.len() - 1;
            // A marker follows every entry; damage in the final window (the last entry and its
            // marker) looks exactly like a torn final write, so it is cut, not refused.
            let all = frames(&original);
            let last_marker = all[all.len() - 2];
            for style in [
                Damage::Truncate,
                Damage::BitFlip,
                Damage::Zero,
                Damage::Garbage,
                Damage::DropSegment,
            ] {
                for at in offsets(&original) {
                    for mode in [
                        RecoveryMode::Strict,
                        RecoveryMode::TolerateTornTail,
                        RecoveryMode::PointInTime,
                        RecoveryMode::Salvage,
                    ] {
                        let img = damaged(&base, seg, style, at);
                        let what =
                            format!("prealloc {preallocate} {place} {style:?} at {at} {mode:?}");
                        let before: Vec<_> = segment_files(&img, &dir())
                            .iter()
                            .map(|p| img.read_file(p))
                            .collect();
                        let opened = Wal::open(dir(), opts(&img, preallocate).recovery(mode));
                        let header = at < 64 && style != Damage::DropSegment;
                        // A segment cut at a frame boundary looks like a shorter log; a missing
                        // newest segment is caught by the high-water mark.
                        let undetectable = is_last && style == Damage::Truncate;
                        let outcome = match &opened {
                            Err(e) => {
                                assert!(
                                    matches!(
                                        e,
                                        Error::Corruption { .. }
                                            | Error::NotASegment { .. }
                                            | Error::UnsupportedVersion { .. }
                                            | Error::ForeignSegment { .. }
                                    ),
                                    "{what}: {e}"
                                );
                                match mode {
                                    RecoveryMode::PointInTime | RecoveryMode::Salvage => assert!(
                                        header || (style == Damage::DropSegment && k == 0),
                                        "{what}: refused: {e}"
                                    ),
                                    // Strict refuses any damage, a torn tail included.
                                    RecoveryMode::Strict => {}
                                    _ => assert!(!undetectable || header, "{what}: refused: {e}"),
                                }
                                "refused".to_string()
                            }
                            Ok(wal) => {
                                let (got, read_error) = read(wal, &what);
                                let prefix = got
                                    .iter()
                                    .enumerate()
                                    .all(|(n, &i)| i == wal.first_index() + n as u64);
                                match mode {
                                    RecoveryMode::Strict => assert!(
                                        undetectable
                                            || !read_error
                                                && prefix
                                                && got.len() as u64 == ENTRIES
                                                && style != Damage::DropSegment,
                                        "{what}: strict accepted damage"
                                    ),
                                    RecoveryMode::TolerateTornTail => {
                                        // Damage before the last marker must show: at open, or when read (sealed).
                                        let hidden = !read_error && got.len() as u64 == ENTRIES;
                                        assert!(
                                            undetectable
                                                || read_error
                                                || (is_last && at >= last_marker)
                                                || hidden
                                                    && style == Damage::BitFlip
                                                    && at >= last_marker,
                                            "{what}: damage to acknowledged data was not reported ({} entries)",
                                            got.len()
                                        );
                                        assert!(prefix, "{what}: not a prefix");
                                    }
                                    RecoveryMode::PointInTime => assert!(
                                        prefix && !read_error,
                                        "{what}: point in time gave {got:?}, error {read_error}"
                                    ),
                                    _ => {
                                        assert!(!read_error, "{what}: salvage read error");
                                        let after: Vec<_> = segment_files(&img, &dir())
                                            .iter()
                                            .map(|p| img.read_file(p))
                                            .collect();
                                        assert_eq!(before, after, "{what}: salvage modified files");
                                    }
                                }
                                format!(
                                    "opened, {} entries{}",
                                    got.len(),
                                    if read_error { ", read error" } else { "" }
                                )
                            }
                        };
                        *outcomes
                            .entry(format!("{mode:?}: {}", outcome.split(',').next().unwrap()))
                            .or_default() += 1;
                        instances += 1;
                    }
                }
            }
        }
    }
    common::report(&format!(
        "M-01 corrupted-log matrix: {instances} instances; outcomes {outcomes:?}"
    ));
    assert_eq!(instances, 2400);
}
