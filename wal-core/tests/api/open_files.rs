//! The bound on open segment files (`Options::max_open_files`): the writer and readers
//! together never hold more than it allows, whatever the number of segments, and a reader
//! overtaken by `truncate_front` says where the log now starts.
use crate::common;

use std::sync::Arc;

use common::{Blob, dir};
use wal_core::testing::SimFs;
use wal_core::{Error, Options, SyncPolicy, Wal};

const MAX_OPEN: usize = 4;
/// Held besides the bound: the tail segment's file and the directory lock.
const BESIDES: usize = 2;

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .max_segment_entries(Some(2))
        .max_open_files(MAX_OPEN)
        .sync(SyncPolicy::Never)
}

/// A log of `n` entries, two to a segment.
fn build(fs: &SimFs, n: u64) -> Wal {
    let wal = Wal::open(dir(), opts(fs)).unwrap();
    for i in 1..=n {
        wal.append(&Blob::nth(i)).unwrap();
        assert!(
            fs.open_files() <= MAX_OPEN + BESIDES,
            "after append {i}: {} files open",
            fs.open_files()
        );
    }
    wal
}

/// Reads everything, 1,000 random entries, and two interleaved iterators, checking the
/// files held all along; returns the peak.
fn read_through_the_bound(fs: &SimFs, wal: &Wal) -> usize {
    fs.reset_peak_open_files();
    let mut n = 0;
    for raw in wal.iter().unwrap() {
        n += 1;
        assert_eq!(raw.unwrap().decode::<Blob>().unwrap(), Blob::nth(n));
        // The iterator holds the file it reads.
        assert!(fs.open_files() <= MAX_OPEN + BESIDES + 1, "at {n}");
    }
    assert_eq!(n, 400);
    for k in 0..1_000u64 {
        let i = 1 + k * 7919 % 400;
        assert_eq!(wal.get::<Blob>(i).unwrap(), Blob::nth(i));
        assert!(fs.open_files() <= MAX_OPEN + BESIDES, "get {i}");
    }
    // Each iterator keeps its own file.
    let (mut a, mut b) = (wal.iter().unwrap(), wal.iter_from(201).unwrap());
    for i in 1..=200 {
        assert_eq!(a.next().unwrap().unwrap().index(), i);
        assert_eq!(b.next().unwrap().unwrap().index(), 200 + i);
        assert!(fs.open_files() <= MAX_OPEN + BESIDES + 2, "at {i}");
    }
    // Besides: a file opened before the least recently used is closed.
    let peak = fs.peak_open_files();
    assert!(peak <= MAX_OPEN + BESIDES + 3, "{peak}");
    peak
}

#[test]
fn the_writer_and_its_readers_hold_no_more_files_than_the_bound() {
    let fs = SimFs::new();
    let wal = build(&fs, 400);
    wal.sync().unwrap();
    assert_eq!(common::segment_files(&fs, &dir()).len(), 200);
    let writing = read_through_the_bound(&fs, &wal);
    wal.close().unwrap();
    assert_eq!(fs.open_files(), 0, "closing the log closes every file");
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    let reopened = read_through_the_bound(&fs, &wal);
    common::report(&format!(
        "open files: 200 segments read through a bound of {MAX_OPEN}: peak {writing} \
         (log being written), {reopened} (reopened)"
    ));
}

#[test]
fn an_iterator_overtaken_by_truncate_front_says_where_the_log_now_starts() {
    let fs = SimFs::new();
    let wal = build(&fs, 40);
    let mut it = wal.iter().unwrap();
    assert_eq!(it.next().unwrap().unwrap().index(), 1);
    wal.truncate_front(15).unwrap();
    // The segment it has open is read to its end; the next one was deleted.
    assert_eq!(it.next().unwrap().unwrap().index(), 2);
    match it.next() {
        Some(Err(Error::IndexOutOfRange { index, first, last })) => {
            assert_eq!((index, first, last), (3, 15, 40));
        }
        other => panic!("{other:?}"),
    }
    assert!(it.next().is_none(), "nothing after an error");
    assert!(matches!(
        wal.iter_from(3),
        Err(Error::IndexOutOfRange { first: 15, .. })
    ));
}

#[test]
fn a_bound_of_zero_files_is_refused() {
    let fs = SimFs::new();
    let err = Wal::open(dir(), opts(&fs).max_open_files(0)).unwrap_err();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err}");
    assert!(err.to_string().contains("max_open_files"), "{err}");
}
