//! `Wal::follow`: every entry once, in order, only once durable (unless asked), waiting for
//! new ones; truncations at either end reported; the close ends it.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Blob, dir};
use wal_core::testing::{Crash, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

fn opts(fs: &SimFs, policy: SyncPolicy) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .sync(policy)
}

#[test]
fn a_follower_sees_every_entry_once_in_order_while_eight_threads_append() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap());
    let mut follower = wal.follow(1).unwrap();
    let writers: Vec<_> = (0..8u64)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for k in 0..250 {
                    wal.append(&Blob::nth(t * 1000 + k)).unwrap();
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    while seen.len() < 2_000 {
        let raw = follower.next().unwrap().unwrap();
        seen.push(raw.index());
        assert!(
            raw.index() <= wal.durable_index(),
            "not durable when yielded"
        );
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(seen, (1..=2_000).collect::<Vec<_>>());
    assert!(follower.try_next().is_none());
    assert!(
        common::segment_files(&fs, &dir()).len() > 10,
        "across rotations"
    );
}

#[test]
fn only_durable_entries_unless_asked_and_never_one_a_crash_then_loses() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Never)).unwrap();
    let mut durable = wal.follow(1).unwrap();
    let mut written = wal.follow(1).unwrap().include_unsynced(true);
    for i in 1..=10 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    assert!(durable.try_next().is_none(), "nothing synced yet");
    assert_eq!(written.try_next().unwrap().unwrap().index(), 1);
    wal.sync().unwrap();
    let got: Vec<u64> = std::iter::from_fn(|| durable.try_next())
        .map(|r| r.unwrap().index())
        .collect();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
    wal.append(&Blob::nth(11)).unwrap();
    assert!(durable.try_next().is_none());
    // Power fails now: everything the durable follower saw survives.
    let image = fs.crash(Crash::DropUnsynced);
    let after = Wal::open(dir(), opts(&image, SyncPolicy::Never)).unwrap();
    assert!(after.last_index() >= 10);
    assert_eq!(after.get::<Blob>(10).unwrap(), Blob::nth(10));
}

#[test]
fn truncations_at_either_end_are_reported_and_the_follower_goes_on() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap();
    for i in 1..=100 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let mut f = wal.follow(1).unwrap();
    for i in 1..=60 {
        assert_eq!(f.try_next().unwrap().unwrap().index(), i);
    }
    wal.truncate_back(50).unwrap();
    match f.try_next() {
        Some(Err(
            e @ Error::Truncated {
                yielded: 60,
                last: 50,
            },
        )) => {
            assert!(e.to_string().contains("after 50"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(f.next_index(), 51);
    wal.append(&Blob::nth(51)).unwrap();
    assert_eq!(f.try_next().unwrap().unwrap().index(), 51);
    wal.truncate_front(40).unwrap();
    let mut behind = wal.follow(40).unwrap();
    wal.truncate_front(45).unwrap();
    assert!(matches!(
        behind.try_next(),
        Some(Err(Error::IndexOutOfRange {
            index: 40,
            first: 45,
            ..
        }))
    ));
    assert_eq!(behind.try_next().unwrap().unwrap().index(), 45);
}

#[test]
fn a_waiting_follower_wakes_for_new_entries_and_ends_when_the_log_closes() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap();
    let mut f = wal.follow(1).unwrap();
    assert!(f.next_timeout(Duration::from_millis(20)).is_none());
    let waiting = std::thread::spawn(move || {
        let first = f.next().map(|r| r.unwrap().index());
        let after_close = f.next().map(|r| r.map(|e| e.index()));
        (first, after_close, f.is_closed())
    });
    std::thread::sleep(Duration::from_millis(20));
    wal.append(&Blob::nth(1)).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    wal.close().unwrap();
    let (first, after_close, closed) =
        common::within(Duration::from_secs(30), move || waiting.join().unwrap());
    assert_eq!(first, Some(1));
    assert!(after_close.is_none(), "{after_close:?}");
    assert!(closed);
}

#[test]
fn a_follower_kept_after_the_close_does_not_keep_the_log_locked() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap();
    wal.append(&Blob::nth(1)).unwrap();
    let mut f = wal.follow(1).unwrap();
    wal.close().unwrap();
    let again = Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap();
    assert_eq!(again.last_index(), 1);
    // What was durable at the close is still yielded, then the follower ends.
    assert_eq!(f.next().unwrap().unwrap().index(), 1);
    assert!(f.next().is_none());
}

#[test]
fn a_follower_reading_a_backlog_sees_entries_rewritten_after_a_truncation() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap();
    for i in 1..=500 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let mut f = wal.follow(1).unwrap();
    for i in 1..=100 {
        let raw = f.try_next().unwrap().unwrap();
        assert_eq!(
            (raw.index(), raw.decode::<Blob>().unwrap()),
            (i, Blob::nth(i))
        );
    }
    // Cut below what the backlog reader has buffered, then write other entries there.
    wal.truncate_back(120).unwrap();
    for i in 121..=300 {
        wal.append(&Blob::new(7, format!("new {i}"))).unwrap();
    }
    for i in 101..=300 {
        let raw = f.try_next().unwrap().unwrap();
        let want = if i <= 120 {
            Blob::nth(i)
        } else {
            Blob::new(7, format!("new {i}"))
        };
        assert_eq!((raw.index(), raw.decode::<Blob>().unwrap()), (i, want));
    }
    assert!(f.try_next().is_none());
    // Removed from the front while it had a backlog buffered: reported, then from there.
    wal.truncate_back(100).unwrap();
    for i in 101..=400 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let mut g = wal.follow(101).unwrap();
    assert_eq!(g.try_next().unwrap().unwrap().index(), 101);
    wal.truncate_front(350).unwrap();
    assert!(matches!(
        g.try_next(),
        Some(Err(Error::IndexOutOfRange {
            index: 102,
            first: 350,
            ..
        }))
    ));
    assert_eq!(g.try_next().unwrap().unwrap().index(), 350);
    let rest: Vec<u64> = std::iter::from_fn(|| g.try_next())
        .map(|r| r.unwrap().index())
        .collect();
    assert_eq!(rest, (351..=400).collect::<Vec<_>>());
}
