//! Write-behind (`Options::write_behind`): bulk appends reach the disk in the background
//! before any sync the policy makes, and a background sync that fails fails the next sync
//! (it may have dropped the data the writer's own sync would then report as synced).
use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Blob, dir};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

/// 3 MiB of 1 KiB entries: the buffer is written out three times (at 1 MiB each).
const ENTRIES: u64 = 3 * 1024;

fn opts(fs: &SimFs, behind: Option<u64>) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(8 << 20)
        .sync(SyncPolicy::Never)
        .write_behind(behind)
}

fn append_all(wal: &Wal) {
    for i in 0..ENTRIES {
        wal.append(&Blob::new(1, vec![i as u8; 1024])).unwrap();
    }
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Entries a reopen finds after power loss.
fn after_power_loss(fs: &SimFs) -> u64 {
    let fs = fs.crash(Crash::DropUnsynced);
    let wal = Wal::open(dir(), opts(&fs, None)).unwrap();
    wal.iter().unwrap().map(Result::unwrap).count() as u64
}

#[test]
fn bulk_appends_reach_the_disk_before_any_sync() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, Some(64 << 10))).unwrap();
    let opened = fs.stats().syncs;
    append_all(&wal);
    wait_for("a background sync", || fs.stats().syncs > opened);
    // The durable index moves only with the policy's syncs.
    assert_eq!(wal.durable_index(), 0);
    let kept = after_power_loss(&fs);
    assert!(
        kept >= 1024,
        "a power loss kept {kept} entries: the first MiB was synced in the background"
    );
    drop(wal);

    // Turned off: nothing reaches the disk before a sync.
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, None)).unwrap();
    let opened = fs.stats().syncs;
    append_all(&wal);
    assert_eq!(fs.stats().syncs, opened);
    assert_eq!(after_power_loss(&fs), 0);
    drop(wal);
}

#[test]
fn a_failed_background_sync_fails_the_next_sync_and_poisons() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs, Some(64 << 10))).unwrap();
    // The first fdatasync from now on fails and drops its data from the disk, yet a later
    // one succeeds (Linux reports a writeback error once).
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 0,
        persistent: false,
        error: FaultError::EioLosingData,
    }));
    for i in 0..1024u64 + 64 {
        wal.append(&Blob::new(1, vec![i as u8; 1024])).unwrap();
    }
    // The buffer's first MiB was written out, and the background sync took the fault.
    wait_for("the background sync's fault", || fs.fault_fired());
    let err = wal.sync().unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("os error 5"),
        "{err}"
    );
    assert_eq!(wal.durable_index(), 0, "nothing was acknowledged");
    assert!(matches!(
        wal.append(&Blob::new(1, vec![0u8; 8])),
        Err(Error::Poisoned { .. })
    ));
    drop(wal);
    // Nothing acknowledged, so nothing is owed: the log opens, with what the disk kept.
    let kept = after_power_loss(&fs);
    assert!(kept <= 1024 + 64, "{kept}");
}

#[test]
fn a_write_behind_of_zero_bytes_is_refused() {
    let fs = SimFs::new();
    let err = Wal::open(dir(), opts(&fs, Some(0))).unwrap_err();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err:?}");
    assert!(err.to_string().contains("write_behind"), "{err}");
}
