//! `Wal::open_read_only`: reads a log another handle is writing, takes no lock, never
//! changes a byte on disk, and reports a torn tail instead of cutting it.
use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::{Blob, dir, read_all};
use wal_core::testing::SimFs;
use wal_core::{Error, Options, RecoveryMode, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
}

/// Every file in the log's directory and its bytes.
fn files(fs: &SimFs) -> BTreeMap<String, Option<Vec<u8>>> {
    fs.file_names(&dir())
        .into_iter()
        .map(|n| {
            let bytes = fs.read_file(&dir().join(&n));
            (n, bytes)
        })
        .collect()
}

#[test]
fn a_reader_sees_what_the_writer_wrote_and_cannot_write() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    for k in 1..=200 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    let before = files(&fs);
    let reader = Wal::open_read_only(dir(), opts(&fs)).unwrap();
    assert_eq!(read_all(&reader), read_all(&wal));
    assert!(matches!(reader.append(&Blob::nth(1)), Err(Error::ReadOnly)));
    assert!(matches!(reader.truncate_front(10), Err(Error::ReadOnly)));
    assert!(matches!(reader.save_state("s", b"1"), Err(Error::ReadOnly)));
    reader.close().unwrap();
    assert_eq!(files(&fs), before, "the reader changed the directory");
    // The writer goes on; a new reader sees the later entries.
    wal.append(&Blob::nth(201)).unwrap();
    let reader = Wal::open_read_only(dir(), opts(&fs)).unwrap();
    assert_eq!(reader.last_index(), 201);
}

#[test]
fn a_torn_tail_is_reported_not_cut() {
    let torn = common::torn_sixth_entry(opts, 4);
    let before = files(&torn);
    let reader = Wal::open_read_only(dir(), opts(&torn)).unwrap();
    assert_eq!(reader.last_index(), 5);
    assert_eq!(reader.recovery_report().cuts.len(), 1, "reported");
    drop(reader);
    assert_eq!(files(&torn), before, "nothing cut, nothing quarantined");
    let writer = Wal::open(dir(), opts(&torn)).unwrap();
    assert_eq!(writer.recovery_report().cuts.len(), 1);
    assert_ne!(files(&torn), before, "the writer's open cuts it");
}

#[test]
fn a_missing_directory_is_not_created_and_damage_is_refused_as_open_refuses_it() {
    let fs = SimFs::new();
    let err = Wal::open_read_only(dir(), opts(&fs)).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(fs.file_names(&PathBuf::from("/")).is_empty());
    let wal = Wal::open(dir(), opts(&fs).sync(SyncPolicy::Never)).unwrap();
    for k in 1..=300 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    wal.close().unwrap();
    let first = common::segment_files(&fs, &dir())
        .into_iter()
        .min()
        .unwrap();
    let mut bytes = fs.read_file(&first).unwrap();
    bytes[200] ^= 0x40;
    fs.write_file(&first, &bytes);
    let strict = opts(&fs).recovery(RecoveryMode::Strict);
    let err = Wal::open_read_only(dir(), strict).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    let salvage = Wal::open_read_only(dir(), opts(&fs).recovery(RecoveryMode::Salvage)).unwrap();
    assert!(!salvage.recovery_report().cuts.is_empty());
    assert!(salvage.last_index() >= 290);
}

#[test]
fn readers_opening_while_a_writer_appends_see_a_consistent_prefix() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs).sync(SyncPolicy::Never)).unwrap());
    wal.append(&Blob::nth(1)).unwrap();
    let writer = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            let mut k = 2;
            while k < 3_000 {
                wal.append(&Blob::nth(k)).unwrap();
                std::thread::yield_now();
                if k % 7 == 0 {
                    wal.get_raw(k).unwrap(); // writes the buffer to the file
                }
                k += 1;
            }
        })
    };
    let mut last_seen = 0;
    let mut opens = 0;
    while !writer.is_finished() || opens < 10 {
        opens += 1;
        let reader = Wal::open_read_only(dir(), opts(&fs)).unwrap();
        let all = read_all(&reader);
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, (k, b))| *k == i as u64 + 1 && *b == Blob::nth(*k))
        );
        assert!(all.len() as u64 >= last_seen, "a later reader saw less");
        last_seen = all.len() as u64;
    }
    writer.join().unwrap();
    let written = wal.stats().durable_index;
    let last = Wal::open_read_only(dir(), opts(&fs)).unwrap();
    assert!(
        last.last_index() >= written,
        "{} < {written}",
        last.last_index()
    );
    assert_eq!(read_all(&last).len() as u64, last.last_index());
    common::report(&format!(
        "read-only: {opens} opens beside a writer, the last saw {last_seen}"
    ));
}
