//! Per-frame compression (`Options::compression`): compressed and plain entries mixed in one
//! log, read back through every read path, across batches, rotation and reopen; damage to a
//! compressed payload is an error that names the entry, never a panic; the checked-in
//! fixture pins compressed frames.
use crate::common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Blob, dir, read_all, segment_files};
use proptest::prelude::*;
use wal_core::io::FileSystem;
use wal_core::testing::SimFs;
use wal_core::{Compression, Error, Options, RecoveryMode, SyncPolicy, Wal};

const CODECS: [Compression; 2] = [Compression::Lz4, Compression::Zstd { level: 3 }];

/// A JSON-like event of about `len` bytes: repetitive, as real events are.
fn event(i: u64, len: usize) -> Blob {
    let mut s = String::new();
    while s.len() < len {
        let _ = write!(
            s,
            r#"{{"id":{i},"kind":"order_placed","customer":"c-{}","items":[1,2,3],"note":"ok"}}"#,
            i % 97
        );
    }
    s.truncate(len);
    Blob::new((i % 3 + 1) as u8, s.into_bytes())
}

/// Incompressible bytes.
fn noise(i: u64, len: usize) -> Blob {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    Blob::new(
        4,
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[2]
            })
            .collect::<Vec<u8>>(),
    )
}

fn entries() -> Vec<Blob> {
    (0..200u64)
        .map(|i| match i % 4 {
            0 => event(i, 100), // below the threshold: stored as is
            1 | 2 => event(i, 300 + 17 * i as usize),
            _ => noise(i, 800), // does not shrink: stored as is
        })
        .collect()
}

/// An entry type of id 200 only: every other type is one it skips (if ignorable).
#[derive(Debug)]
struct OtherType;

impl wal_core::Entry for OtherType {
    const TYPE_IDS: &'static [u8] = &[200];
    fn type_id(&self) -> u8 {
        200
    }
    fn encode(&self, _: &mut Vec<u8>) -> Result<(), wal_core::EncodeError> {
        Ok(())
    }
    fn decode(_: u8, _: &[u8]) -> Result<Self, wal_core::DecodeError> {
        Ok(Self)
    }
}

fn opts(fs: &SimFs, codec: Option<Compression>) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(64 << 10)
        .sync(SyncPolicy::Never)
        .compression(codec)
}

fn disk_bytes(fs: &SimFs) -> usize {
    segment_files(fs, &dir())
        .iter()
        .map(|p| {
            fs.read_file(p)
                .unwrap()
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |p| p + 1)
        })
        .sum()
}

#[test]
fn every_read_path_returns_what_was_appended_and_disk_shrinks() {
    let plain = SimFs::new();
    let wal = Wal::open(dir(), opts(&plain, None)).unwrap();
    for e in entries() {
        wal.append(&e).unwrap();
    }
    wal.close().unwrap();
    for codec in CODECS {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs, Some(codec))).unwrap();
        let all = entries();
        for e in &all[..100] {
            wal.append(e).unwrap();
        }
        wal.append_batch(&all[100..150]).unwrap();
        let mut follower = wal.follow(1).unwrap().include_unsynced(true);
        for e in &all[150..] {
            wal.append(e).unwrap();
        }
        let expected: Vec<(u64, Blob)> = (1..).zip(all.iter().cloned()).collect();
        assert_eq!(read_all(&wal), expected, "{codec:?}: replay");
        let raw: Vec<(u64, Blob)> = wal
            .iter()
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                assert!(!r.is_ignorable());
                (r.index(), Blob::new(r.type_id(), r.payload().to_vec()))
            })
            .collect();
        assert_eq!(raw, expected, "{codec:?}: iter's payloads are restored");
        let mut told = Vec::new();
        let mut compressed = 0;
        wal.verify_each(|h| {
            told.push((h.index(), h.type_id(), h.payload_len() as usize));
            compressed += usize::from(h.is_compressed());
        })
        .unwrap();
        let want: Vec<_> = expected
            .iter()
            .map(|(i, e)| (*i, e.ty, e.data.len()))
            .collect();
        assert_eq!(told, want, "{codec:?}: verify_each tells restored lengths");
        assert!(compressed > 50, "{codec:?}: {compressed} compressed");
        for (i, e) in expected.iter().step_by(7) {
            assert_eq!(&wal.get::<Blob>(*i).unwrap(), e, "{codec:?}: get {i}");
        }
        assert_eq!(wal.get_range::<Blob>(40..60).unwrap(), all[39..59].to_vec());
        for (i, e) in &expected {
            let r = follower.try_next().unwrap().unwrap();
            assert_eq!(
                (r.index(), r.payload()),
                (*i, &e.data[..]),
                "{codec:?}: follow"
            );
        }
        wal.close().unwrap();
        let wal = Wal::open(dir(), opts(&fs, None).recovery(RecoveryMode::Strict)).unwrap();
        assert_eq!(
            read_all(&wal),
            expected,
            "{codec:?}: reopened without compression"
        );
        let (with, without) = (disk_bytes(&fs), disk_bytes(&plain));
        common::report(&format!(
            "compression {codec:?}: {with} bytes on disk, {without} without"
        ));
        assert!(with * 10 < without * 7, "{codec:?}: {with} vs {without}");
    }
}

#[test]
fn damage_inside_a_compressed_payload_is_an_error_naming_the_entry() {
    // A compressed payload whose bytes are wrong but whose CRC holds: what a writer bug or
    // a crafted file gives. Built by compressing, then rewriting the frame with a new CRC.
    for codec in CODECS {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs, Some(codec)).preallocate(false)).unwrap();
        let e = event(1, 2000);
        wal.append(&e).unwrap();
        wal.close().unwrap();
        let seg = segment_files(&fs, &dir()).remove(0);
        let bytes = fs.read_file(&seg).unwrap();
        let at = 64; // the first frame
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        assert_ne!(
            bytes[at + 9] & 0b1100,
            0,
            "{codec:?}: the frame is compressed"
        );
        for (what, patch) in [("garbled", 30usize), ("declared size over the limit", 0)] {
            let mut bad = bytes.clone();
            if patch == 0 {
                bad[at + 18..at + 22].copy_from_slice(&(64u32 << 20).to_le_bytes());
            } else {
                for b in &mut bad[at + 18 + patch..at + 18 + len - 4] {
                    *b ^= 0x5a;
                }
            }
            let log_id = Wal::open_read_only(dir(), opts(&fs, None))
                .unwrap()
                .log_id();
            let seed = wal_core::format::crc_seed(log_id);
            // Marked ignorable: a typed reader of other types may skip it.
            let (flags, index) = (
                bad[at + 9] | wal_core::format::FLAG_IGNORABLE,
                u64::from_le_bytes(bad[at + 10..at + 18].try_into().unwrap()),
            );
            let mut frame = Vec::new();
            wal_core::format::encode_frame(
                &mut frame,
                seed,
                bad[at + 8],
                flags,
                index,
                &bad[at + 18..at + 18 + len],
            );
            bad[at..at + frame.len()].copy_from_slice(&frame);
            // The sync marker after it covers the frame's bytes: its window CRC is redone.
            let m = at + frame.len();
            let marker_index = u64::from_le_bytes(bad[m + 10..m + 18].try_into().unwrap());
            let window_len = u32::try_from(m - 64).unwrap();
            let mut marker = Vec::new();
            wal_core::format::encode_marker(
                &mut marker,
                seed,
                marker_index,
                window_len,
                wal_core::format::crc(seed, &bad[64..m]),
            );
            bad[m..m + marker.len()].copy_from_slice(&marker);
            let image = SimFs::new();
            image.create_dir_all(&dir()).unwrap();
            for name in fs.file_names(&dir()) {
                let p = dir().join(&name);
                image.write_file(
                    &p,
                    &if p == seg {
                        bad.clone()
                    } else {
                        fs.read_file(&p).unwrap()
                    },
                );
            }
            let wal = Wal::open(dir(), opts(&image, None)).unwrap();
            let err = wal.get::<Blob>(1).unwrap_err();
            assert!(
                matches!(err, Error::Compression { index: 1, .. }),
                "{codec:?} {what}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("entry 1") && msg.contains(codec.name()),
                "{msg}"
            );
            assert!(matches!(
                wal.iter().unwrap().next(),
                Some(Err(Error::Compression { .. }))
            ));
            assert!(matches!(
                wal.replay(|_, _: Blob| ()),
                Err(Error::Compression { .. })
            ));
            assert!(matches!(
                wal.verify_each(|_| ()),
                Err(Error::Compression { index: 1, .. })
            ));
            // Typed readers of other types skip it without decompressing it.
            wal.replay(|_, _: OtherType| ()).unwrap();
            assert_eq!(wal.iter_as::<OtherType>(1).unwrap().count(), 0);
        }
    }
}

#[test]
fn a_codec_whose_feature_is_off_is_refused_at_open() {
    for codec in CODECS.into_iter().filter(|c| !c.is_available()) {
        let err = Wal::open(dir(), opts(&SimFs::new(), Some(codec))).unwrap_err();
        assert!(err.to_string().contains("feature"), "{err}");
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden-v1-compressed")
}

/// The compressed fixture: one plain entry, one lz4, one zstd (written by two opens).
fn write_fixture(fs: &SimFs) {
    let base = Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(1 << 20)
        .preallocate(false)
        .fixed_log_id(0x5eed_0000_0000_0002);
    let wal = Wal::open("/golden", base.clone().compression(Some(Compression::Lz4))).unwrap();
    wal.append(&Blob::new(1, b"short, stored as is".to_vec()))
        .unwrap();
    wal.append(&event(2, 1000)).unwrap();
    wal.close().unwrap();
    let wal = Wal::open(
        "/golden",
        base.compression(Some(Compression::Zstd { level: 3 })),
    )
    .unwrap();
    wal.append(&event(3, 1000)).unwrap();
    wal.close().unwrap();
}

#[test]
fn the_compressed_fixture_reads_back_and_its_frames_name_their_codecs() {
    if std::env::var_os("GOLDEN_BLESS").is_some() {
        let fs = SimFs::new();
        write_fixture(&fs);
        std::fs::create_dir_all(fixture_dir()).unwrap();
        for n in fs.file_names(Path::new("/golden")) {
            std::fs::write(
                fixture_dir().join(&n),
                fs.read_file(&Path::new("/golden").join(&n)).unwrap(),
            )
            .unwrap();
        }
    }
    let tmp = common::copy_fixture(&fixture_dir());
    let wal = Wal::open(
        tmp.path(),
        Options::default().recovery(RecoveryMode::Strict),
    )
    .unwrap();
    assert_eq!(
        read_all(&wal),
        vec![
            (1, Blob::new(1, b"short, stored as is".to_vec())),
            (2, event(2, 1000)),
            (3, event(3, 1000)),
        ]
    );
    // The frames' flag bits 2-3: none, lz4 (01), zstd (10).
    let seg = std::fs::read(fixture_dir().join("00000000000000000001.wal")).unwrap();
    let mut at = 64;
    let mut codecs = Vec::new();
    while codecs.len() < 3 {
        let len = u32::from_le_bytes(seg[at + 4..at + 8].try_into().unwrap()) as usize;
        if seg[at + 8] != 0 {
            codecs.push(seg[at + 9] & 0b1100);
        }
        at += 18 + len;
    }
    assert_eq!(codecs, [0b0000, 0b0100, 0b1000]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_payload_round_trips_under_either_codec(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 1..20),
        repeat in 1usize..8,
        codec in 0usize..2,
    ) {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs, Some(CODECS[codec])).compress_above(16)).unwrap();
        let blobs: Vec<Blob> = payloads.iter().map(|p| Blob::new(9, p.repeat(repeat))).collect();
        wal.append_batch(&blobs).unwrap();
        let got: Vec<Blob> = wal.iter().unwrap().map(|r| r.unwrap().decode().unwrap()).collect();
        prop_assert_eq!(got, blobs);
    }
}
