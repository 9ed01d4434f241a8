//! The corrupted-log matrix (M-01, see `docs/testing.md`): damage style x offset x segment x recovery mode x
//! preallocation. Four styles (truncate, bit flip, 16 zero bytes, 16 garbage bytes) at 20
//! offsets, plus the loss of the whole segment, for the first, a middle and the last segment,
//! in four modes, with and without preallocation: (4 x 20 + 1) x 3 x 4 x 2 = 1,944 instances.
//!
//! Each instance's outcome is computed from the frames the damage touched (an oracle that
//! parses the undamaged segment independently of the library), and the outcome must be
//! exactly it: which entries come back, whether open refuses (and naming which file),
//! whether a read reports the damage, whether the report shows a cut, and that Salvage
//! changes no file.
use crate::common;

use std::collections::BTreeMap;
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
const HEADER: usize = 64;
const FRAME_HEADER: usize = 18;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Damage {
    Truncate,
    BitFlip,
    Zero,
    Garbage,
    DropSegment,
}

/// A frame of the undamaged segment, parsed here from the format's definition.
#[derive(Debug, Clone, Copy)]
struct Frame {
    start: usize,
    end: usize,
    /// The entry's index (user frames), or `None` (the log's own frames).
    index: Option<u64>,
    /// For a sync marker: where its window starts.
    window_start: Option<usize>,
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// The frames of a segment, up to the zeros after them.
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut p = HEADER;
    while p + FRAME_HEADER <= bytes.len() && bytes[p..p + FRAME_HEADER].iter().any(|&b| b != 0) {
        let end = p + FRAME_HEADER + le32(bytes, p + 4);
        let (ty, kind) = (bytes[p + 8], bytes[p + FRAME_HEADER]);
        out.push(Frame {
            start: p,
            end,
            index: (ty != 0).then(|| u64::from_le_bytes(bytes[p + 10..p + 18].try_into().unwrap())),
            window_start: (ty == 0 && kind == 1).then(|| p - le32(bytes, p + FRAME_HEADER + 1)),
        });
        p = end;
    }
    out
}

/// 20 offsets: three frames' starts and their neighbours, six times, the middle, the end.
fn offsets(f: &[Frame]) -> Vec<usize> {
    let end = f.last().unwrap().end;
    let mut out: Vec<usize> = (0..6)
        .flat_map(|k| {
            let p = f[k * (f.len() - 1) / 5].start;
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

/// Every file of the log directory with its bytes.
fn listing(fs: &SimFs) -> BTreeMap<String, Option<Vec<u8>>> {
    fs.file_names(&dir())
        .into_iter()
        .map(|n| {
            let bytes = fs.read_file(&dir().join(&n));
            (n, bytes)
        })
        .collect()
}

/// Reads everything; returns the indexes and whether a corruption error ended it. Every
/// entry returned must be the one written at its index.
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

/// What one instance must give.
#[derive(Debug, PartialEq)]
enum Expected {
    /// Open refuses, naming one of these files.
    Refused(Vec<String>),
    /// Open succeeds; reading returns exactly these entries, then a corruption error if
    /// `read_error`; the report shows a cut if `cut`.
    Opened {
        entries: Vec<u64>,
        read_error: bool,
        cut: bool,
    },
}

/// The undamaged log: its segments' names, first indexes and frames.
struct Log {
    names: Vec<String>,
    first: Vec<u64>,
    frames: Vec<Vec<Frame>>,
}

impl Log {
    fn range(&self, k: usize) -> std::ops::Range<u64> {
        self.first[k]..self.first.get(k + 1).copied().unwrap_or(ENTRIES + 1)
    }

    /// The expected outcome of damaging segment `k` as `image` (its bytes after the damage,
    /// `None` when dropped) shows, in `mode`.
    fn expected(
        &self,
        k: usize,
        original: &[u8],
        image: Option<&[u8]>,
        mode: RecoveryMode,
    ) -> Expected {
        use RecoveryMode::{PointInTime, Strict, TolerateTornTail};
        let last = k + 1 == self.names.len();
        let refused = |k: usize| Expected::Refused(vec![self.names[k].clone()]);
        let opened = |entries: Vec<u64>, read_error, cut| Expected::Opened {
            entries,
            read_error,
            cut,
        };
        let all: Vec<u64> = (1..=ENTRIES).collect();
        let before = |k: usize| -> Vec<u64> { (1..self.first[k]).collect() };
        let without = |r: std::ops::Range<u64>| -> Vec<u64> {
            all.iter().copied().filter(|i| !r.contains(i)).collect()
        };
        let Some(image) = image else {
            // The whole segment is gone.
            return match (mode, k) {
                // The low-water mark says where the log starts: the segments holding it
                // are missing.
                (_, 0) => refused(1),
                // A gap in the chain, or the newest segment named by the high-water mark.
                (Strict | TolerateTornTail, _) => refused(if last { k - 1 } else { k + 1 }),
                (PointInTime, _) => opened(before(k), false, true),
                _ => opened(without(self.range(k)), false, last),
            };
        };
        let frames = &self.frames[k];
        let data_end = frames.last().unwrap().end;
        // The first byte the damage changed (a truncation changes everything after it).
        let changed: Vec<bool> = (0..original.len())
            .map(|i| image.get(i) != Some(&original[i]) && (i < data_end || image.len() > i))
            .collect();
        let Some(d) = changed.iter().position(|&c| c) else {
            return opened(all, false, false);
        };
        if d < HEADER {
            // A newest segment shorter than a header: the modes that accept loss open the
            // log before it (it was recorded as created by the high-water mark, so the
            // others refuse). Any other damaged header is refused by every mode.
            return match mode {
                PointInTime if last && image.len() < HEADER => opened(before(k), false, true),
                Strict | TolerateTornTail | PointInTime => refused(k),
                _ if last && image.len() < HEADER => opened(before(k), false, false),
                _ => refused(k),
            };
        }
        let touched = |f: &Frame| changed[f.start..f.end].iter().any(|&c| c);
        let first_bad = frames.iter().position(touched).unwrap();
        let bad = frames[first_bad];
        let kept: Vec<u64> = frames[..first_bad].iter().filter_map(|f| f.index).collect();
        let prefix = |upto: Option<&u64>| -> Vec<u64> {
            let end = upto.map_or(self.first[k], |&i| i + 1);
            (1..end).collect()
        };
        // A truncation at a frame boundary of the newest segment leaves a shorter, undamaged
        // log: nothing can tell. (So does one that leaves only zero bytes of the next frame,
        // such as a CRC that starts with a zero byte: zeros after the frames are
        // preallocated space.)
        let boundary = image.len() < data_end
            && frames
                .iter()
                .rfind(|f| f.start <= image.len())
                .is_some_and(|f| image[f.start..].iter().all(|&b| b == 0));
        if last && boundary {
            return opened(prefix(kept.last()), false, false);
        }
        match mode {
            Strict => refused(k),
            PointInTime => opened(prefix(kept.last()), false, true),
            TolerateTornTail if last => {
                // A sync marker after the damage whose frame and window are intact proves
                // the damaged bytes were synced: acknowledged data, refused.
                let proven = frames[first_bad + 1..].iter().any(|f| {
                    f.window_start
                        .is_some_and(|w| w >= HEADER && !changed[w..f.end].iter().any(|&c| c))
                });
                if proven {
                    return refused(k);
                }
                let cut = image
                    .get(bad.start..)
                    .is_some_and(|r| r.iter().any(|&b| b != 0));
                opened(prefix(kept.last()), false, cut)
            }
            TolerateTornTail => {
                // A sealed segment is trusted by its footer at open: damage to the footer
                // refuses the open; damage to a frame is reported when it is read.
                let footer = frames.last().unwrap();
                if touched(footer) {
                    // The footer's CRC is the chain value the next header repeats: damage
                    // there may show as the next segment not continuing this one.
                    return Expected::Refused(vec![
                        self.names[k].clone(),
                        self.names[k + 1].clone(),
                    ]);
                }
                opened(prefix(kept.last()), true, false)
            }
            _ => {
                let damaged_entries: Vec<u64> = frames
                    .iter()
                    .filter(|f| touched(f))
                    .filter_map(|f| f.index)
                    .collect();
                opened(
                    all.into_iter()
                        .filter(|i| !damaged_entries.contains(i))
                        .collect(),
                    false,
                    true,
                )
            }
        }
    }
}

/// Checks one instance against its expected outcome; returns the outcome's name.
fn check(
    opened: Result<Wal, Error>,
    expected: &Expected,
    unchanged: impl FnOnce() -> bool,
    mode: RecoveryMode,
    what: &str,
) -> &'static str {
    match (opened, expected) {
        (Err(e), Expected::Refused(names)) => {
            let path = match &e {
                Error::Corruption { segment, .. } => segment,
                Error::NotASegment { path }
                | Error::UnsupportedVersion { path, .. }
                | Error::ForeignSegment { path, .. } => path,
                _ => panic!("{what}: refused with {e}"),
            };
            assert!(
                names.iter().any(|n| path.ends_with(n)),
                "{what}: refused naming {}: {e}",
                path.display()
            );
            "refused"
        }
        (
            Ok(wal),
            Expected::Opened {
                entries,
                read_error,
                cut,
            },
        ) => {
            let (got, error) = read(&wal, what);
            assert_eq!(
                (&got, error),
                (entries, *read_error),
                "{what}: entries and read error"
            );
            // The log starts where the oracle says (Salvage keeps a damaged first entry's
            // index), and ends at its last entry unless the damage is found when read.
            if let Some(&first) = entries.first().filter(|_| mode != RecoveryMode::Salvage) {
                assert_eq!(wal.first_index(), first, "{what}: first index");
            }
            if !read_error {
                let last = entries.last().copied().unwrap_or(0);
                assert_eq!(wal.last_index(), last, "{what}: last index");
            }
            let report = wal.recovery_report();
            if *cut {
                assert!(
                    !report.is_clean(),
                    "{what}: lost entries without a cut reported: {report:?}"
                );
            } else if mode != RecoveryMode::Salvage {
                assert!(report.cuts.is_empty(), "{what}: {report:?}");
            }
            drop(wal);
            if mode == RecoveryMode::Salvage {
                assert!(unchanged(), "{what}: salvage modified files");
            }
            if *read_error {
                "opened, read error"
            } else {
                "opened"
            }
        }
        (Err(e), Expected::Opened { .. }) => panic!("{what}: refused ({e}), expected {expected:?}"),
        (Ok(wal), Expected::Refused(_)) => {
            let (got, error) = read(&wal, what);
            panic!(
                "{what}: opened ({} entries, read error {error}), expected {expected:?}",
                got.len()
            )
        }
    }
}

#[test]
fn m01_corrupted_log_matrix() {
    let mut instances = 0;
    let mut outcomes = BTreeMap::<String, u32>::new();
    for preallocate in [true, false] {
        let base = SimFs::new();
        let wal = Wal::open(dir(), opts(&base, preallocate)).unwrap();
        for i in 1..=ENTRIES {
            wal.append(&Blob::nth(i)).unwrap();
        }
        drop(wal);
        let segs = segment_files(&base, &dir());
        assert!(segs.len() >= 3, "{} segments", segs.len());
        let log = Log {
            names: segs
                .iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
                .collect(),
            first: segs
                .iter()
                .map(|p| p.file_stem().unwrap().to_str().unwrap().parse().unwrap())
                .collect(),
            frames: segs
                .iter()
                .map(|p| frames(&base.read_file(p).unwrap()))
                .collect(),
        };
        assert_eq!(log.first[0], 1);
        let picks = [
            ("first", 0),
            ("middle", segs.len() / 2),
            ("last", segs.len() - 1),
        ];
        for (place, k) in picks {
            let seg = &segs[k];
            let original = base.read_file(seg).unwrap();
            let mut cases: Vec<(Damage, usize)> = [
                Damage::Truncate,
                Damage::BitFlip,
                Damage::Zero,
                Damage::Garbage,
            ]
            .into_iter()
            .flat_map(|s| offsets(&log.frames[k]).into_iter().map(move |at| (s, at)))
            .collect();
            cases.push((Damage::DropSegment, 0));
            for (style, at) in cases {
                for mode in [
                    RecoveryMode::Strict,
                    RecoveryMode::TolerateTornTail,
                    RecoveryMode::PointInTime,
                    RecoveryMode::Salvage,
                ] {
                    let img = damaged(&base, seg, style, at);
                    let what = format!("prealloc {preallocate} {place} {style:?} at {at} {mode:?}");
                    let image = img.read_file(seg);
                    let expected = log.expected(k, &original, image.as_deref(), mode);
                    let before = listing(&img);
                    let opened = Wal::open(dir(), opts(&img, preallocate).recovery(mode));
                    let outcome = check(opened, &expected, || listing(&img) == before, mode, &what);
                    *outcomes.entry(format!("{mode:?}: {outcome}")).or_default() += 1;
                    instances += 1;
                }
            }
        }
    }
    common::report(&format!(
        "M-01 corrupted-log matrix: {instances} instances, each with its computed outcome; {outcomes:?}"
    ));
    assert_eq!(instances, 1944);
    // Every kind of outcome is reached in every mode it can occur in.
    for kind in [
        "Strict: refused",
        "Strict: opened",
        "TolerateTornTail: refused",
        "TolerateTornTail: opened",
        "TolerateTornTail: opened, read error",
        "PointInTime: refused",
        "PointInTime: opened",
        "Salvage: refused",
        "Salvage: opened",
    ] {
        assert!(
            outcomes.get(kind).is_some_and(|&n| n > 0),
            "{kind} never reached: {outcomes:?}"
        );
    }
}
