//! Async appends (`Wal::append_async`, `Wal::append_batch_async`) and async followers
//! (`Follower::next_async`, `Stream`): a future resolves only once its entries are durable,
//! with the error on a poisoned or closed log; many tasks on two threads share fsyncs.
use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Blob, dir};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(64 << 10)
        .sync(SyncPolicy::Never)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn a_thousand_tasks_on_two_threads_share_fsyncs_and_none_resolves_before_its_sync() {
    const ROUNDS: u64 = 3;
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_millis(2));
    let wal = Arc::new(Wal::open(dir(), opts(&fs)).unwrap());
    let syncs_at_open = fs.stats().syncs;
    // Every 25th task keeps what power loss at the moment it resolved would leave.
    let images = Arc::new(Mutex::new(Vec::new()));
    let rt = runtime();
    let indexes = rt.block_on(async {
        let tasks: Vec<_> = (0..1000u64)
            .map(|k| {
                let (wal, fs, images) = (Arc::clone(&wal), fs.clone(), Arc::clone(&images));
                tokio::spawn(async move {
                    let mut indexes = Vec::new();
                    for round in 0..ROUNDS {
                        let syncs_before = fs.stats().syncs;
                        let index = wal.append_async(&Blob::nth(k)).await.unwrap();
                        assert!(wal.durable_index() >= index, "resolved before durable");
                        assert!(
                            fs.stats().syncs > syncs_before,
                            "resolved with no fsync since"
                        );
                        if k % 25 == 0 && round == 1 {
                            images
                                .lock()
                                .unwrap()
                                .push((index, fs.crash(Crash::DropUnsynced)));
                        }
                        indexes.push(index);
                    }
                    indexes
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.extend(t.await.unwrap());
        }
        out
    });
    let mut sorted = indexes.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=1000 * ROUNDS).collect::<Vec<_>>(),
        "each index once"
    );
    let syncs = fs.stats().syncs - syncs_at_open;
    let stats = wal.stats();
    common::report(&format!(
        "async: 1,000 tasks on 2 threads, {} appends, {syncs} fsyncs",
        stats.appends
    ));
    assert!(
        syncs <= 250 * ROUNDS,
        "{syncs} fsyncs for 3,000 appends: not shared"
    );
    let images = std::mem::take(&mut *images.lock().unwrap());
    assert_eq!(images.len(), 40);
    for (index, image) in images {
        let w = Wal::open(dir(), opts(&image)).unwrap();
        assert!(
            w.last_index() >= index,
            "{index} lost after its future resolved"
        );
    }
    Arc::try_unwrap(wal).unwrap().close().unwrap();
}

#[test]
fn a_batch_resolves_with_its_range_and_a_refused_entry_with_its_error() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs).max_entry_size(100)).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let batch: Vec<_> = (1..=5).map(Blob::nth).collect();
        assert_eq!(wal.append_batch_async(&batch).await.unwrap(), 1..6);
        let too_large = Blob::new(1, vec![0; 200]);
        assert!(matches!(
            wal.append_async(&too_large).await,
            Err(Error::EntryTooLarge { .. })
        ));
        assert_eq!(wal.append_async(&Blob::nth(6)).await.unwrap(), 6);
    });
    assert_eq!(wal.durable_index(), 6);
    assert_eq!(wal.last_index(), 6);
}

#[test]
fn on_a_poisoned_log_pending_and_later_futures_resolve_with_the_error() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs)).unwrap());
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 0,
        persistent: true,
        error: FaultError::Eio,
    }));
    let rt = runtime();
    rt.block_on(async {
        let tasks: Vec<_> = (0..20u64)
            .map(|k| {
                let wal = Arc::clone(&wal);
                tokio::spawn(async move { wal.append_async(&Blob::nth(k)).await })
            })
            .collect();
        for t in tasks {
            let r = t.await.unwrap();
            assert!(
                matches!(r, Err(Error::Poisoned { .. })),
                "a failed sync resolved {r:?}"
            );
        }
        assert!(matches!(
            wal.append_async(&Blob::nth(99)).await,
            Err(Error::Poisoned { .. })
        ));
    });
    assert_eq!(wal.durable_index(), 0);
}

#[test]
fn after_shutdown_an_async_append_resolves_with_closed() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs)).unwrap());
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(wal.append_async(&Blob::nth(1)).await.unwrap(), 1);
        wal.shutdown().unwrap();
        assert!(matches!(
            wal.append_async(&Blob::nth(2)).await,
            Err(Error::Closed)
        ));
    });
}

#[test]
fn an_async_follower_sees_every_entry_once_in_order_and_ends_on_close() {
    let fs = SimFs::new();
    fs.set_sync_delay(Duration::from_micros(200));
    let wal =
        Arc::new(Wal::open(dir(), opts(&fs).segment_size(4096).sync(SyncPolicy::Always)).unwrap());
    let rt = runtime();
    let follower = wal.follow(1).unwrap();
    let seen = rt.spawn(async move {
        let mut follower = follower;
        let mut seen = Vec::new();
        while let Some(item) = follower.next_async().await {
            let raw = item.unwrap();
            seen.push((raw.index(), raw.decode::<Blob>().unwrap()));
        }
        seen
    });
    let writers: Vec<_> = (0..8u64)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for k in 0..50 {
                    wal.append(&Blob::nth(t * 1000 + k)).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let expected = common::read_all(&wal);
    wal.shutdown().unwrap();
    let seen = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), seen)
            .await
            .expect("the follower did not end when the log closed")
            .unwrap()
    });
    assert_eq!(seen.len(), 400);
    assert_eq!(seen, expected);
    assert!(wal.stats().rotations > 0, "the follower crossed segments");
}

#[cfg(feature = "stream")]
#[test]
fn a_follower_is_a_stream() {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_core::Stream;

    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs)).unwrap());
    let mut follower = wal.follow(1).unwrap();
    let rt = runtime();
    let writer = Arc::clone(&wal);
    rt.block_on(async move {
        let append = tokio::spawn(async move {
            for k in 1..=10 {
                writer.append_async(&Blob::nth(k)).await.unwrap();
            }
        });
        for k in 1..=10 {
            let raw = poll_fn(|cx| Pin::new(&mut follower).poll_next(cx))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(raw.index(), k);
        }
        append.await.unwrap();
    });
}
