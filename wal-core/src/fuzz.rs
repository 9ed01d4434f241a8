//! The bodies of the fuzz targets under `fuzz/` (Z-01 to Z-04 in `docs/testing.md`), kept
//! here so that their corpora also run
//! as ordinary tests on stable (`tests/fuzz_corpus.rs`). Each must never panic, allocate
//! beyond the entry size limit, or hang, whatever the input.
#![allow(
    clippy::cast_possible_truncation,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "fuzz inputs: truncation is how bytes are made"
)]

use std::path::Path;
use std::sync::Arc;

use crate::bytes_entry::Bytes;
use crate::format::SegmentHeader;
use crate::io::FileSystem;
use crate::io::sim::{Crash, SimFs};
use crate::{EntryRegistry, Error, Options, RecoveryMode, Wal};

const DIR: &str = "/fuzz";
const LOG_ID: u64 = 0x00f0_0d00_f00d;
const MODES: [RecoveryMode; 4] = [
    RecoveryMode::Strict,
    RecoveryMode::TolerateTornTail,
    RecoveryMode::PointInTime,
    RecoveryMode::Salvage,
];

fn opts(fs: &SimFs, mode: RecoveryMode) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .max_entry_size(64 * 1024)
        .sync(crate::SyncPolicy::Never)
        .recovery(mode)
}

/// Opens the log in every recovery mode and reads every entry; returns what salvage read.
fn open_and_read_all(fs: &SimFs) -> Vec<(u64, u8, Vec<u8>)> {
    let mut salvaged = Vec::new();
    for mode in MODES {
        let image = fs.crash(Crash::ProcessKill);
        let Ok(wal) = Wal::open(DIR, opts(&image, mode)) else {
            continue;
        };
        let Ok(iter) = wal.iter() else { continue };
        let (mut read, mut damaged) = (Vec::new(), false);
        for raw in iter {
            let Ok(raw) = raw else {
                damaged = true;
                break;
            };
            read.push((raw.index(), raw.type_id(), raw.payload().len()));
            if mode == RecoveryMode::Salvage {
                salvaged.push((raw.index(), raw.type_id(), raw.payload().to_vec()));
            }
            let _ = EntryRegistry::new().decode(&raw);
        }
        same_as_the_iterator(&wal, &read, damaged);
        let _ = wal.get_raw(wal.last_index());
        let _ = wal.get_raw(wal.first_index());
    }
    salvaged
}

/// `Wal::verify_each` against what the iterator read (`read`, ended by damage when
/// `damaged`): damage the iterator finds, the pass finds too; where the iterator finds
/// none, the pass tells of exactly the entries it read, or finds what only it checks (a
/// footer, the order of indexes).
fn same_as_the_iterator(wal: &Wal, read: &[(u64, u8, usize)], damaged: bool) {
    let mut told = Vec::new();
    let verified = wal.verify_each(|h| {
        told.push((h.index(), h.type_id(), h.payload_len() as usize));
    });
    match verified {
        Ok(()) => {
            assert!(!damaged, "the pass missed damage the iterator found");
            assert_eq!(told, read, "the pass and the iterator disagree");
        }
        Err(_) if damaged => {}
        Err(Error::Corruption {
            segment,
            offset,
            kind,
        }) => {
            let at_footer = wal
                .segments()
                .iter()
                .any(|s| s.path == segment && s.sealed && s.bytes == offset);
            assert!(
                at_footer || matches!(kind, crate::CorruptionKind::IndexOrder { .. }),
                "the pass found {kind} at {offset} where the iterator read every entry"
            );
        }
        Err(e) => panic!("the pass failed where the iterator read every entry: {e}"),
    }
}

/// Z-01: arbitrary bytes as a log's only segment; with an odd first byte, after a valid
/// header. Recovery is deterministic: salvaging twice reads the same entries.
pub fn segment(data: &[u8]) {
    let fs = SimFs::new();
    let _ = fs.create_dir_all(Path::new(DIR));
    let mut bytes = Vec::new();
    if data.first().is_some_and(|b| b & 1 == 1) {
        bytes.extend_from_slice(
            &SegmentHeader {
                log_id: LOG_ID,
                seq: 1,
                first_index: 1,
                prev_last_index: 0,
                prev_crc: 0,
            }
            .encode(),
        );
    }
    bytes.extend_from_slice(data);
    fs.write_file(&Path::new(DIR).join("00000000000000000001.wal"), &bytes);
    let first = open_and_read_all(&fs);
    let second = open_and_read_all(&fs);
    assert_eq!(first, second, "salvage is not deterministic");
}

/// Z-02: arbitrary (name, bytes) pairs as the log directory, opened read-only: never a
/// panic, and no file changes.
pub fn directory(data: &[u8]) {
    let fs = SimFs::new();
    let _ = fs.create_dir_all(Path::new(DIR));
    let mut rest = data;
    while let [kind, len_lo, len_hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*len_lo, *len_hi])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        let name = match kind % 6 {
            0..=2 => format!("{:020}.wal", 1 + u64::from(*kind / 6) * 3),
            3 => if kind & 64 == 0 {
                "LOW_WATER"
            } else {
                "HIGH_WATER"
            }
            .to_owned(),
            4 => format!("{:020}.wal.tmp", u64::from(*kind)),
            _ => format!("junk-{kind}"),
        };
        fs.write_file(&Path::new(DIR).join(name), bytes);
        rest = next;
    }
    // The whole directory, names and bytes: a file created, removed or changed shows.
    let listing = |fs: &SimFs| -> Vec<(String, Option<Vec<u8>>)> {
        fs.file_names(Path::new(DIR))
            .into_iter()
            .map(|n| {
                let bytes = fs.read_file(&Path::new(DIR).join(&n));
                (n, bytes)
            })
            .collect()
    };
    let before = listing(&fs);
    if let Ok(wal) = Wal::open(DIR, opts(&fs, RecoveryMode::Salvage)) {
        if let Ok(iter) = wal.iter() {
            for raw in iter.flatten() {
                let _ = raw.payload().len();
            }
        }
        assert!(matches!(wal.append(&Bytes(vec![1])), Err(Error::ReadOnly)));
    }
    assert_eq!(
        before,
        listing(&fs),
        "a read-only open changed the directory"
    );
}

/// Z-03: a valid log built from the input's first bytes, then mutated (cut, flip, zero,
/// garbage, delete or duplicate a segment) as the rest says. The default open gives the
/// entries written from the first on, without a hole or a duplicate, each exactly as
/// written, up to a corruption error if any; or it refuses. Never wrong data.
pub fn mutate(data: &[u8]) {
    let (spec, mutations) = data.split_at(data.len().min(8));
    let n = spec.first().map_or(10, |b| u64::from(*b) % 120 + 1);
    let size = spec.get(1).map_or(30, |b| usize::from(*b) % 200);
    let entry = |i: u64| {
        Bytes(
            (0..(size + usize::try_from(i % 7).unwrap_or(0)))
                .map(|k| (k as u64 ^ i) as u8)
                .collect(),
        )
    };
    let fs = SimFs::new();
    {
        let Ok(wal) = Wal::open(
            DIR,
            opts(&fs, RecoveryMode::TolerateTornTail).fixed_log_id(LOG_ID),
        ) else {
            return;
        };
        for i in 1..=n {
            if wal.append(&entry(i)).is_err() {
                return;
            }
            if i % 5 == 0 {
                let _ = wal.sync();
            }
        }
        let _ = wal.close();
    }
    let segments: Vec<_> = fs
        .file_names(Path::new(DIR))
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .collect();
    for m in mutations.chunks(4) {
        let [what, which, a, b] = [
            m[0],
            *m.get(1).unwrap_or(&0),
            *m.get(2).unwrap_or(&0),
            *m.get(3).unwrap_or(&0),
        ];
        let Some(name) = segments.get(usize::from(which) % segments.len().max(1)) else {
            return;
        };
        let path = Path::new(DIR).join(name);
        let Some(mut bytes) = fs.read_file(&path) else {
            continue;
        };
        let at = (usize::from(a) << 8 | usize::from(b)) % bytes.len().max(1);
        match what % 6 {
            0 => bytes.truncate(at),
            1 => {
                if let Some(x) = bytes.get_mut(at) {
                    *x ^= 1 << (b % 8);
                }
            }
            2 => bytes
                .iter_mut()
                .skip(at)
                .take(usize::from(a) + 1)
                .for_each(|x| *x = 0),
            3 => bytes
                .iter_mut()
                .skip(at)
                .take(usize::from(b) + 1)
                .enumerate()
                .for_each(|(k, x)| *x = (k as u8).wrapping_mul(a) ^ 0x5c),
            4 => {
                let _ = fs.delete_file(&path);
                continue;
            }
            _ => {
                let copy = Path::new(DIR).join(format!("{:020}.wal", u64::from(a) + 1));
                fs.write_file(&copy, &bytes);
                continue;
            }
        }
        fs.write_file(&path, &bytes);
    }
    let Ok(wal) = Wal::open(DIR, opts(&fs, RecoveryMode::TolerateTornTail)) else {
        return;
    };
    // No truncation ran: the log starts at 1 (the low-water mark says so).
    assert_eq!(wal.first_index(), 1, "the log lost its start");
    let Ok(iter) = wal.iter() else { return };
    let (mut read, mut damaged) = (Vec::new(), false);
    for (raw, next) in iter.zip(1u64..) {
        // A read may find damage (a sealed segment is trusted by its footer until read):
        // a corruption error, and nothing after it.
        let raw = match raw {
            Ok(raw) => raw,
            Err(Error::Corruption { .. }) => {
                damaged = true;
                break;
            }
            Err(e) => panic!("{e}"),
        };
        read.push((raw.index(), raw.type_id(), raw.payload().len()));
        assert_eq!(raw.index(), next, "a hole or a duplicate");
        let expected = entry(raw.index()).0;
        assert!(
            raw.index() <= n && raw.payload() == expected.as_slice(),
            "wrong data at index {}",
            raw.index()
        );
    }
    same_as_the_iterator(&wal, &read, damaged);
}

/// Z-04: arbitrary bytes as a compressed payload. The first byte picks the codec bits; the
/// rest is decompressed directly (never more than the limit allocated, never a panic), then
/// stored in a frame whose CRC and sync marker hold, and read through every mode and read
/// path; and, as a plain payload, compressed and restored exactly.
pub fn compressed(data: &[u8]) {
    use crate::compression::{self, CODEC_MASK};
    use crate::format::{HEADER_LEN, crc, crc_seed, encode_frame, encode_marker};

    let Some((&pick, stored)) = data.split_first() else {
        return;
    };
    let flags = (pick << 2) & CODEC_MASK;
    let max = 64 * 1024;
    if let Ok(out) = compression::decompress(1, flags | 0b100, stored, max) {
        assert!(out.len() <= max as usize, "restored beyond the limit");
    }
    if let Ok(out) = compression::decompress(1, flags, stored, max) {
        assert!(out.len() <= max as usize, "restored beyond the limit");
    }
    for codec in [
        crate::Compression::Lz4,
        crate::Compression::Zstd { level: 1 },
    ] {
        let mut out = Vec::new();
        if let Some(bits) = compression::compress(codec, stored, &mut out) {
            let back =
                compression::decompress(1, bits, &out, u32::MAX).expect("own output restores");
            assert_eq!(back, stored, "{codec:?} does not round-trip");
        }
    }
    // As a segment: header, the frame, a sync marker over it.
    let seed = crc_seed(LOG_ID);
    let mut seg = SegmentHeader {
        log_id: LOG_ID,
        seq: 1,
        first_index: 1,
        prev_last_index: 0,
        prev_crc: 0,
    }
    .encode()
    .to_vec();
    encode_frame(&mut seg, seed, 1 + (pick >> 4), flags, 1, stored);
    let window = u32::try_from(seg.len() - HEADER_LEN).unwrap_or(u32::MAX);
    let window_crc = crc(seed, &seg[HEADER_LEN..]);
    encode_marker(&mut seg, seed, 1, window, window_crc);
    let fs = SimFs::new();
    let _ = fs.create_dir_all(Path::new(DIR));
    fs.write_file(&Path::new(DIR).join("00000000000000000001.wal"), &seg);
    open_and_read_all(&fs);
    if let Ok(wal) = Wal::open(DIR, opts(&fs, RecoveryMode::TolerateTornTail)) {
        let _ = wal.replay(|_, _: Bytes| ());
        let _ = wal.get::<Bytes>(1);
    }
}
