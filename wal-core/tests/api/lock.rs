//! One `Wal` per directory at a time.
use wal_core::{Error, Options, Wal};

#[test]
fn the_directory_lock_refuses_a_second_open_until_the_first_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let first = Wal::open(tmp.path(), Options::default()).unwrap();
    let err = Wal::open(tmp.path(), Options::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { path } if path == tmp.path()),
        "{err:?}"
    );
    first.close().unwrap();
    let again = Wal::open(tmp.path(), Options::default()).unwrap();
    drop(again);
    Wal::open(tmp.path(), Options::default()).unwrap();
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<wal_core::Iter>();
}

/// Found while hardening K-02: with an `flock` directory lock, a process spawned by another
/// thread holds a copy of the lock's descriptor until it calls `exec`, and a log closed and
/// reopened meanwhile was refused as `Locked` (2,782 of 3,000 reopens here). The lock now
/// belongs to the process (a POSIX record lock, which a child does not inherit) and, within
/// the process, to the open `Wal`: a reopen while other threads spawn processes succeeds.
#[test]
fn a_reopen_succeeds_while_other_threads_spawn_processes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let spawner = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut processes = 0;
            while !stop.load(Ordering::Relaxed) {
                std::process::Command::new("true").status().unwrap();
                processes += 1;
            }
            processes
        })
    };
    let opts = || Options::default().sync(wal_core::SyncPolicy::Never);
    let mut refused = 0;
    for _ in 0..300 {
        match Wal::open(tmp.path(), opts()) {
            Ok(wal) => drop(wal),
            Err(Error::Locked { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let processes = spawner.join().unwrap();
    assert!(processes > 0, "no process was spawned");
    assert_eq!(
        refused, 0,
        "{refused} of 300 reopens refused ({processes} processes spawned)"
    );
}
