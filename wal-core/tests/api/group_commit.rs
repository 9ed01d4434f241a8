//! Concurrent durable appends share fsyncs; a failed fsync poisons the log.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Blob, dir, read_all, sim_opts};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Error, SyncPolicy, Wal};

/// Eight threads appending `n` durable entries each (thread `t` type `t + 1`, payload its
/// count), each checked durable when acknowledged: every index they were given.
fn eight_appenders(wal: &Arc<Wal>, n: u32) -> Vec<u64> {
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let wal = Arc::clone(wal);
            std::thread::spawn(move || {
                (0..n)
                    .map(|k| {
                        let i = wal
                            .append(&Blob::new(t + 1, k.to_le_bytes().to_vec()))
                            .unwrap();
                        assert!(wal.durable_index() >= i, "acknowledged before durable");
                        i
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

#[test]
fn eight_threads_of_durable_appends_share_fsyncs() {
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_micros(200));
    let wal = Arc::new(Wal::open(dir(), sim_opts(&fs).segment_size(1 << 20)).unwrap());
    let syncs_before = fs.stats().syncs;
    let mut indexes = eight_appenders(&wal, 1000);
    let syncs = fs.stats().syncs - syncs_before;
    indexes.sort_unstable();
    assert_eq!(indexes, (1..=8000).collect::<Vec<_>>(), "unique and dense");
    common::report(&format!("8 threads x 1000 durable appends: {syncs} fsyncs"));
    assert!(syncs < 8000, "{syncs} fsyncs for 8000 appends");

    // Every acknowledged entry survives power loss, each thread's in its own order.
    let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::DropUnsynced))).unwrap();
    let all = read_all(&wal);
    assert_eq!(all.len(), 8000);
    for t in 1..=8u8 {
        let seq: Vec<u32> = all
            .iter()
            .filter(|(_, b)| b.ty == t)
            .map(|(_, b)| u32::from_le_bytes(b.data[..4].try_into().unwrap()))
            .collect();
        assert_eq!(seq, (0..1000).collect::<Vec<_>>());
    }
}

#[test]
fn a_failed_fsync_poisons_the_log_and_nothing_after_it_is_acknowledged() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    for i in 1..=3 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 0,
        persistent: false,
        error: FaultError::Eio,
    }));
    let err = wal.append(&Blob::nth(4)).unwrap_err();
    assert!(matches!(&err, Error::Io { op: "sync", .. }), "{err:?}");
    assert_eq!(wal.durable_index(), 3);
    // The next fsync would succeed, but the log must not trust it.
    for call in [
        wal.append(&Blob::nth(5)).map(|_| ()),
        wal.sync(),
        wal.append_batch(&[Blob::nth(6)]).map(|_| ()),
    ] {
        assert!(matches!(call, Err(Error::Poisoned { .. })), "{call:?}");
    }
    assert!(wal.iter().is_ok(), "reads still work");
    assert!(matches!(wal.close(), Err(Error::Poisoned { .. })));
    let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::DropUnsynced))).unwrap();
    assert_eq!(wal.last_index(), 3);
}

#[test]
fn interval_and_batch_policies_sync_in_the_background() {
    for policy in [
        SyncPolicy::Interval(Duration::from_millis(2)),
        SyncPolicy::Batch {
            max_delay: Duration::from_millis(2),
            max_bytes: 1 << 30,
        },
    ] {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), sim_opts(&fs).sync(policy)).unwrap();
        let i = wal.append(&Blob::nth(1)).unwrap();
        let start = std::time::Instant::now();
        while wal.durable_index() < i {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{policy:?}: never synced"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let wal2 = Wal::open(dir(), sim_opts(&fs.crash(Crash::DropUnsynced))).unwrap();
        assert_eq!(wal2.last_index(), 1, "{policy:?}");
        wal.close().unwrap();
    }
    // Batch syncs inline once max_bytes have been appended.
    let fs = SimFs::new();
    let wal = Wal::open(
        dir(),
        sim_opts(&fs).sync(SyncPolicy::Batch {
            max_delay: Duration::from_secs(3600),
            max_bytes: 100,
        }),
    )
    .unwrap();
    for i in 1..=10 {
        wal.append(&Blob::new(1, vec![0; 30])).unwrap();
        assert!(wal.durable_index() + 4 >= i, "at most 100 bytes unsynced");
    }
}

#[test]
fn never_policy_syncs_only_when_asked_and_wait_durable_syncs() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs).sync(SyncPolicy::Never)).unwrap();
    let syncs = fs.stats().syncs;
    for i in 1..=100 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    assert_eq!(fs.stats().syncs, syncs);
    assert_eq!(wal.durable_index(), 0);
    wal.wait_durable(50).unwrap();
    assert_eq!(
        wal.durable_index(),
        100,
        "one sync covers everything buffered"
    );
    assert!(matches!(
        wal.wait_durable(101),
        Err(Error::IndexOutOfRange { index: 101, .. })
    ));
}

#[test]
fn a_failed_preallocation_poisons_the_log_like_a_failed_write() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs).segment_size(1 << 30)).unwrap();
    // The first 4 MiB were preallocated with the segment; growing past them allocates again.
    fs.set_fault(Some(Fault {
        op: Some(Op::Allocate),
        skip: 0,
        persistent: false,
        error: FaultError::NoSpace,
    }));
    let big = Blob::new(1, vec![7; 1 << 20]);
    let (mut result, mut acked) = (Ok(0), 0);
    for _ in 0..6 {
        result = wal.append(&big);
        match &result {
            // Under `Always`, an append that returned is durable.
            Ok(index) => acked = *index,
            Err(_) => break,
        }
    }
    assert!(
        acked >= 3,
        "{acked}: the fault fired before the 4 MiB were used"
    );
    assert!(matches!(&result, Err(Error::Io { .. })), "{result:?}");
    assert!(matches!(
        wal.append(&Blob::nth(1)),
        Err(Error::Poisoned { .. })
    ));
    std::mem::forget(wal);
    let wal = Wal::open(
        dir(),
        sim_opts(&fs.crash(Crash::DropUnsynced)).segment_size(1 << 30),
    )
    .unwrap();
    assert_eq!(wal.last_index(), acked);
}

/// A leader waits a moment (at most half its last sync's time) for the appenders the last
/// sync released, so one fsync covers all of a steady set of appenders instead of every
/// other one covering half of them; one thread alone never waits.
#[test]
fn a_leader_gathers_the_appenders_the_last_sync_released() {
    let fs = SimFs::new();
    // Slow enough that appending again takes a small part of it, even on a busy machine.
    fs.set_sync_delay(Duration::from_millis(4));
    let wal = Arc::new(Wal::open(dir(), sim_opts(&fs).segment_size(1 << 20)).unwrap());
    let syncs_before = fs.stats().syncs;
    let indexes = eight_appenders(&wal, 40);
    assert_eq!(indexes.len(), 320);
    let syncs = fs.stats().syncs - syncs_before;
    common::report(&format!("8 threads x 40 durable appends: {syncs} fsyncs"));
    // Half groups would take 80 fsyncs; full groups 40 and a few to settle.
    assert!(syncs <= 60, "{syncs} fsyncs for 320 appends from 8 threads");
    assert_eq!(wal.last_index(), 320);
}

/// Joins `threads`, failing the test if they have not all ended within a minute (a waiter
/// nobody woke).
fn join_within_a_minute<T>(threads: Vec<std::thread::JoinHandle<T>>) -> Vec<T> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !threads.iter().all(std::thread::JoinHandle::is_finished) {
        assert!(
            std::time::Instant::now() < deadline,
            "an appender never woke"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    threads.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn waiters_wake_when_a_failed_fsync_poisons_the_log() {
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_millis(2));
    let wal = Arc::new(Wal::open(dir(), sim_opts(&fs)).unwrap());
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 5,
        persistent: true,
        error: FaultError::Eio,
    }));
    let threads = (0..8u8)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for k in 0..50u32 {
                    match wal.append(&Blob::new(t + 1, k.to_le_bytes().to_vec())) {
                        Ok(i) => acknowledged.push(i),
                        Err(Error::Io { .. } | Error::Poisoned { .. }) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                // Once failed, every later append fails too.
                assert!(wal.append(&Blob::new(t + 1, vec![])).is_err());
                acknowledged
            })
        })
        .collect();
    let acknowledged: Vec<u64> = join_within_a_minute(threads).concat();
    assert!(fs.fault_fired());
    let durable = wal.durable_index();
    assert!(acknowledged.iter().all(|&i| i <= durable));
    drop(wal);
    let wal = Wal::open(dir(), sim_opts(&fs.crash(Crash::DropUnsynced))).unwrap();
    assert!(
        wal.last_index() >= durable,
        "an acknowledged entry was lost"
    );
}

#[test]
fn waiters_wake_when_truncate_back_starts_an_epoch() {
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_millis(1));
    let wal = Arc::new(Wal::open(dir(), sim_opts(&fs)).unwrap());
    let appenders: Vec<_> = (0..4u8)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for k in 0..100u32 {
                    wal.append(&Blob::new(t + 1, k.to_le_bytes().to_vec()))
                        .unwrap();
                }
            })
        })
        .collect();
    let truncator = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            let mut cuts = 0;
            while cuts < 20 {
                let last = wal.last_index();
                if last > 2 {
                    wal.truncate_back(last - 2).unwrap();
                    cuts += 1;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            cuts
        })
    };
    join_within_a_minute(appenders);
    assert_eq!(truncator.join().unwrap(), 20);
    let (first, last) = (wal.first_index(), wal.last_index());
    let read = read_all(&wal);
    assert_eq!(read.len() as u64, last + 1 - first);
    assert!(read.iter().zip(first..).all(|((i, _), want)| *i == want));
    assert_eq!(wal.durable_index(), last);
}

/// A thread's park token is the application's: an appender that waits for another's
/// fsync must not use up a token an `unpark` left it, or the application's own `park`
/// after the append would sleep until the next unpark, if any.
#[test]
fn a_waiting_appender_keeps_its_threads_park_token() {
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_millis(300));
    let wal = Arc::new(Wal::open(dir(), sim_opts(&fs)).unwrap());
    let leader = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.append(&Blob::nth(1)).unwrap())
    };
    // The leader's fsync is in flight: the next appender waits for it.
    std::thread::sleep(Duration::from_millis(100));
    let waiter = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || {
            std::thread::current().unpark();
            assert_eq!(wal.append(&Blob::nth(2)).unwrap(), 2);
            let parked = std::time::Instant::now();
            std::thread::park_timeout(Duration::from_secs(10));
            parked.elapsed()
        })
    };
    assert_eq!(leader.join().unwrap(), 1);
    let parked = waiter.join().unwrap();
    assert!(
        parked < Duration::from_secs(5),
        "the token was used up: park slept {parked:?}"
    );
    assert_eq!(wal.durable_index(), 2);
}
