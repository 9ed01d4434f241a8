//! Durability notices (`Wal::submit_batch_at`, `Wal::on_durable`): run exactly once, never
//! before the entries are durable, with the error when the log is poisoned first; a
//! submitted batch is readable at once and made durable by the log's own syncer.
use crate::common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{Blob, dir};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

fn opts(fs: &SimFs, policy: SyncPolicy) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .sync(policy)
}

#[test]
fn a_submitted_batch_is_readable_at_once_and_its_notice_runs_once_when_it_is_durable() {
    for policy in [SyncPolicy::Always, SyncPolicy::Never] {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), opts(&fs, policy)).unwrap();
        let (tx, rx) = mpsc::channel();
        // Each notice records what power loss at that moment would keep.
        let images = Arc::new(Mutex::new(Vec::new()));
        for k in 0..50u64 {
            let batch: Vec<_> = (1 + 3 * k..4 + 3 * k).map(Blob::nth).collect();
            let (tx, fs2, images) = (tx.clone(), fs.clone(), Arc::clone(&images));
            let range = wal
                .submit_batch_at(1 + 3 * k, &batch, move |r| {
                    images
                        .lock()
                        .unwrap()
                        .push((3 + 3 * k, fs2.crash(Crash::DropUnsynced)));
                    tx.send((k, r.is_ok())).unwrap();
                })
                .unwrap();
            assert_eq!(range, 1 + 3 * k..4 + 3 * k);
            // Readable when it returns, durable or not.
            assert_eq!(wal.get::<Blob>(3 + 3 * k).unwrap(), Blob::nth(3 + 3 * k));
        }
        let mut seen: Vec<_> = (0..50)
            .map(|_| rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..50).map(|k| (k, true)).collect::<Vec<_>>(),
            "{policy:?}"
        );
        wal.close().unwrap();
        assert!(rx.try_recv().is_err(), "{policy:?}: a notice ran twice");
        for (last, image) in images.lock().unwrap().drain(..) {
            let w = Wal::open(dir(), opts(&image, SyncPolicy::Never)).unwrap();
            assert!(
                w.last_index() >= last,
                "{policy:?}: notice for {last} before it was durable"
            );
        }
    }
}

#[test]
fn on_durable_runs_at_once_for_durable_entries_and_after_the_sync_for_others() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Never)).unwrap();
    wal.append_batch(&[Blob::nth(1), Blob::nth(2)]).unwrap();
    let fired = Arc::new(Mutex::new(Vec::new()));
    let note = |i: u64| {
        let fired = Arc::clone(&fired);
        move |r: wal_core::Result<()>| fired.lock().unwrap().push((i, r.is_ok()))
    };
    wal.on_durable(2, note(2)).unwrap();
    assert!(fired.lock().unwrap().is_empty(), "not durable yet");
    assert!(matches!(
        wal.on_durable(3, note(3)),
        Err(Error::IndexOutOfRange { .. })
    ));
    wal.sync().unwrap();
    assert_eq!(*fired.lock().unwrap(), [(2, true)]);
    wal.on_durable(1, note(1)).unwrap();
    assert_eq!(
        *fired.lock().unwrap(),
        [(2, true), (1, true)],
        "already durable: at once"
    );
}

#[test]
fn a_poisoned_log_runs_every_waiting_notice_with_the_error_once() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, SyncPolicy::Never)).unwrap();
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 0,
        persistent: true,
        error: FaultError::Eio,
    }));
    let (tx, rx) = mpsc::channel();
    for k in 0..10u64 {
        let tx = tx.clone();
        // The first submit's sync fails; later ones are refused or get the error.
        let r = wal.submit_batch_at(1 + k, &[Blob::nth(1 + k)], move |r| {
            tx.send(r.map_err(|e| e.to_string())).unwrap();
        });
        if r.is_err() {
            break;
        }
    }
    drop(tx);
    let outcomes: Vec<_> = rx.iter().collect();
    assert!(!outcomes.is_empty());
    for o in &outcomes {
        let e = o.as_ref().unwrap_err();
        assert!(e.contains("poisoned") && e.contains("(os error 5)"), "{e}");
    }
    assert!(matches!(
        wal.submit_batch_at(wal.last_index() + 1, &[Blob::nth(99)], |_| {}),
        Err(Error::Poisoned { .. })
    ));
    common::report(&format!(
        "notices: {} ran with the poisoning error",
        outcomes.len()
    ));
}

#[test]
fn a_thousand_submits_from_eight_threads_each_get_exactly_one_notice() {
    let fs = SimFs::new();
    fs.set_sync_delay(std::time::Duration::from_micros(200));
    let wal = Arc::new(Wal::open(dir(), opts(&fs, SyncPolicy::Always)).unwrap());
    let (tx, rx) = mpsc::channel();
    let next = Arc::new(Mutex::new(1u64));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (wal, tx, next) = (Arc::clone(&wal), tx.clone(), Arc::clone(&next));
            std::thread::spawn(move || {
                for _ in 0..125 {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    let tx = tx.clone();
                    wal.submit_batch_at(i, &[Blob::nth(i)], move |r| {
                        tx.send((i, r.is_ok())).unwrap();
                    })
                    .unwrap();
                    *n += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    drop(tx);
    let mut got: Vec<_> = rx.iter().collect();
    got.sort_unstable();
    assert_eq!(got, (1..=1000).map(|i| (i, true)).collect::<Vec<_>>());
    assert_eq!(wal.durable_index(), 1000);
}
