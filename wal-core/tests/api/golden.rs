//! The bytes of a small known log are checked in: the format can never change silently.
//!
//! `GOLDEN_BLESS=1 cargo test -p wal-core --test golden` rewrites the fixture; a change to it
//! is a format change and needs a new format version.
use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Blob, read_all};
use wal_core::testing::SimFs;
use wal_core::{Options, SyncPolicy, Wal};

const LOG_ID: u64 = 0x5eed_0000_0000_0001;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden-v1")
}

fn entries() -> Vec<Blob> {
    vec![
        Blob::new(1, b"".to_vec()),
        Blob::new(2, b"a".to_vec()),
        Blob::new(3, b"hello, log".to_vec()),
        Blob::new(255, vec![0xee; 4000]),
    ]
}

/// Writes the known log: three single appends (each synced), a batch of two, and an entry
/// big enough to seal the first segment and fill a second, then one more in a third.
fn write_known_log(fs: &SimFs) {
    let opts = Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .preallocate(false)
        .fixed_log_id(LOG_ID);
    let wal = Wal::open("/golden", opts).unwrap();
    let e = entries();
    wal.append(&e[0]).unwrap();
    wal.append(&e[1]).unwrap();
    wal.append(&e[2]).unwrap();
    wal.append_batch(&[
        Blob::new(4, b"batch-1".to_vec()),
        Blob::new(4, b"batch-2".to_vec()),
    ])
    .unwrap();
    wal.append(&e[3]).unwrap();
    wal.append(&Blob::new(5, b"tail".to_vec())).unwrap();
    wal.close().unwrap();
}

fn expected() -> Vec<(u64, Blob)> {
    let e = entries();
    vec![
        (1, e[0].clone()),
        (2, e[1].clone()),
        (3, e[2].clone()),
        (4, Blob::new(4, b"batch-1".to_vec())),
        (5, Blob::new(4, b"batch-2".to_vec())),
        (6, e[3].clone()),
        (7, Blob::new(5, b"tail".to_vec())),
    ]
}

#[test]
fn golden_log_bytes_are_reproduced_exactly() {
    let fs = SimFs::new();
    write_known_log(&fs);
    // Every file the log keeps: segments and mark files.
    let names: Vec<String> = fs.file_names(Path::new("/golden"));
    assert_eq!(
        names,
        [
            "00000000000000000001.wal",
            "00000000000000000006.wal",
            "00000000000000000007.wal",
            "HIGH_WATER",
            "LOW_WATER",
        ]
    );
    if std::env::var_os("GOLDEN_BLESS").is_some() {
        std::fs::create_dir_all(fixture_dir()).unwrap();
        for n in &names {
            std::fs::write(
                fixture_dir().join(n),
                fs.read_file(&Path::new("/golden").join(n)).unwrap(),
            )
            .unwrap();
        }
    }
    for n in &names {
        let golden = std::fs::read(fixture_dir().join(n)).unwrap();
        let written = fs.read_file(&Path::new("/golden").join(n)).unwrap();
        assert_eq!(
            written, golden,
            "{n} differs from the golden file: the on-disk format changed"
        );
    }
}

#[test]
fn golden_log_reads_back_exactly() {
    let tmp = common::copy_fixture(&fixture_dir());
    let wal = Wal::open(
        tmp.path(),
        Options::default()
            .recovery(wal_core::RecoveryMode::Strict)
            .sync(SyncPolicy::Never),
    )
    .unwrap();
    assert!(wal.recovery_report().is_clean());
    assert_eq!(read_all(&wal), expected());
    let mut told = Vec::new();
    wal.verify_each(|h| told.push((h.index(), h.type_id(), h.payload_len() as usize)))
        .unwrap();
    let want: Vec<_> = expected()
        .into_iter()
        .map(|(i, e)| (i, e.ty, e.data.len()))
        .collect();
    assert_eq!(told, want, "verify_each on the fixture");
    // The first segment's header, byte by byte: magic, version, flags, log id, seq, first index.
    let head = std::fs::read(fixture_dir().join("00000000000000000001.wal")).unwrap();
    assert_eq!(&head[0..8], b"TYPEDWAL");
    assert_eq!(head[8..12], 1u32.to_le_bytes());
    assert_eq!(head[16..24], LOG_ID.to_le_bytes());
    assert_eq!(head[24..32], 1u64.to_le_bytes());
    assert_eq!(head[32..40], 1u64.to_le_bytes());
    // It is sealed: it ends with its footer's magic.
    assert_eq!(&head[head.len() - 4..], b"WFTR");
    // The mark files: magic, log identity, value (the first index; the newest segment's
    // sequence number), masked CRC.
    for (name, magic, value) in [
        ("LOW_WATER", *b"TWALLOW1", 1u64),
        ("HIGH_WATER", *b"TWALHIW1", 3),
    ] {
        let mark = std::fs::read(fixture_dir().join(name)).unwrap();
        assert_eq!(mark.len(), 28, "{name}");
        assert_eq!(&mark[0..8], &magic, "{name}");
        assert_eq!(mark[8..16], LOG_ID.to_le_bytes(), "{name}");
        assert_eq!(mark[16..24], value.to_le_bytes(), "{name}");
    }
}
