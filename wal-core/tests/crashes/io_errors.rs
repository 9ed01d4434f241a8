//! I/O errors at every operation (E-01 to E-04, see `docs/testing.md`): the failing call reports
//! the error, the log is poisoned from then on (INV-POISON), and after a crash and a reopen
//! with the fault gone, every acknowledged entry is there and the log is a prefix.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Blob, dir, read_all};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Options, SyncPolicy, Wal};

fn opts(fs: &SimFs, policy: SyncPolicy) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .sync(policy)
}

/// Entry `i`, padded to at least `pad` bytes.
fn entry(i: u64, pad: usize) -> Blob {
    let mut b = Blob::nth(i);
    if b.data.len() < pad {
        b.data.resize(pad, i as u8);
    }
    b
}

/// What a workload saw.
struct Outcome {
    /// Highest index a returned call proved durable (`append` under `Always`, `sync()`).
    durable: u64,
    /// Highest index appended.
    appended: u64,
    /// Whether every call after the first error (of any kind) failed too.
    poisoned_after: bool,
    /// Whether any call (the open included) returned an error.
    saw_error: bool,
}

/// Appends 120 entries (some in batches), syncing every 16 under the non-durable policies,
/// then syncs once more.
fn workload(fs: &SimFs, policy: SyncPolicy) -> Outcome {
    workload_padded(fs, policy, 0)
}

/// [`workload`] with entries of at least `pad` bytes.
fn workload_padded(fs: &SimFs, policy: SyncPolicy, pad: usize) -> Outcome {
    run(opts(fs, policy), pad, false)
}

/// [`workload`] with a write-behind sync started every `every` bytes, each entry read back
/// after its append (which writes it to the file, as a reader's `get` does): background
/// syncs throughout, racing the appends and the policy's syncs.
fn workload_behind(fs: &SimFs, policy: SyncPolicy, every: u64) -> Outcome {
    run(opts(fs, policy).write_behind(Some(every)), 0, true)
}

fn run(opts: Options, pad: usize, read_back: bool) -> Outcome {
    let policy = opts.sync;
    let mut out = Outcome {
        durable: 0,
        appended: 0,
        poisoned_after: true,
        saw_error: true,
    };
    let Ok(wal) = Wal::open(dir(), opts) else {
        return out;
    };
    out.saw_error = false;
    for i in 1..=120u64 {
        let r = if i % 15 == 0 {
            wal.append_batch(&[entry(out.appended + 1, pad), entry(out.appended + 2, pad)])
                .map(|r| r.end - 1)
        } else {
            wal.append(&entry(out.appended + 1, pad))
        };
        let r = r.and_then(|last| {
            if read_back {
                wal.get_raw(last)?;
            }
            if policy != SyncPolicy::Always && i % 16 == 0 {
                wal.sync()?;
            }
            Ok(last)
        });
        match r {
            Ok(last) if out.saw_error => {
                out.poisoned_after = false;
                out.appended = last;
            }
            Ok(last) => {
                out.appended = last;
                if policy == SyncPolicy::Always || i % 16 == 0 {
                    out.durable = last;
                }
            }
            // The first error a caller sees may be `Poisoned` (a background sync failed):
            // every call after it must fail as well.
            Err(_) => out.saw_error = true,
        }
    }
    match wal.sync() {
        Ok(()) if out.saw_error => out.poisoned_after = false,
        Ok(()) => out.durable = out.appended,
        Err(_) => out.saw_error = true,
    }
    std::mem::forget(wal);
    out
}

fn check_after_crash(fs: &SimFs, durable: u64, appended: u64, what: &str) {
    check_after_crash_padded(fs, durable, appended, what, 0);
}

fn check_after_crash_padded(fs: &SimFs, durable: u64, appended: u64, what: &str, pad: usize) {
    for crash in [Crash::DropUnsynced, Crash::ProcessKill] {
        let img = fs.crash(crash);
        let wal = Wal::open(dir(), opts(&img, SyncPolicy::Never))
            .unwrap_or_else(|e| panic!("{what} {crash:?}: {e}"));
        let entries = read_all(&wal);
        assert!(
            wal.last_index() >= durable,
            "{what} {crash:?}: acknowledged entry lost ({} < {durable})",
            wal.last_index()
        );
        assert!(
            wal.last_index() <= appended + 2,
            "{what} {crash:?}: entries never appended"
        );
        assert!(
            entries
                .iter()
                .enumerate()
                .all(|(k, (i, b))| *i == k as u64 + 1 && *b == entry(*i, pad)),
            "{what}: not a prefix"
        );
    }
}

/// The checks after a workload ran with a fault planned: every call after the failure
/// failed, a failure reached a caller exactly when the fault fired (every operation of the
/// workload matters: a failure no caller saw is a failure hidden), and after a crash with
/// the fault gone nothing acknowledged is lost. Clears the fault; returns whether it fired.
fn check_fault_case(fs: &SimFs, out: &Outcome, what: &str) -> bool {
    let fired = fs.fault_fired();
    fs.set_fault(None);
    assert!(
        out.poisoned_after,
        "{what}: a call succeeded after a failed write or sync"
    );
    assert_eq!(out.saw_error, fired, "{what}: fault fired {fired}");
    check_after_crash(fs, out.durable, out.appended, what);
    fired
}

#[test]
fn e01_e02_a_failure_at_every_operation_once_and_persistent_under_every_policy() {
    let policies = [
        SyncPolicy::Always,
        SyncPolicy::Batch {
            max_delay: Duration::from_secs(60),
            max_bytes: 2048,
        },
        SyncPolicy::Interval(Duration::from_secs(60)),
        SyncPolicy::Never,
    ];
    let mut cases = 0;
    for policy in policies {
        for persistent in [false, true] {
            for k in 0.. {
                let fs = SimFs::new();
                fs.set_fault(Some(Fault {
                    op: None,
                    skip: k,
                    persistent,
                    error: FaultError::Eio,
                }));
                let out = workload(&fs, policy);
                let what = format!("{policy:?} persistent {persistent} op {k}");
                cases += 1;
                if !check_fault_case(&fs, &out, &what) {
                    break;
                }
            }
        }
    }
    common::report(&format!(
        "E-01/E-02: {cases} fault cases checked (every operation index, once and persistent, 4 policies)"
    ));
}

#[test]
fn e08_a_failure_at_every_operation_and_a_lying_fsync_with_write_behind_running() {
    // The background syncs do run in this workload. A sync the writer's own overtakes
    // before the thread starts it is dropped, so on a loaded machine a run may have none:
    // some run out of twenty must.
    let without = SimFs::new();
    run(
        opts(&without, SyncPolicy::Never).write_behind(None),
        0,
        true,
    );
    let without = without.stats().syncs;
    let with = (0..20)
        .map(|_| {
            let with = SimFs::new();
            workload_behind(&with, SyncPolicy::Never, 256);
            with.stats().syncs
        })
        .max()
        .unwrap_or(0);
    assert!(
        with > without,
        "at most {with} fdatasyncs with write-behind in 20 runs, {without} without"
    );
    let mut cases = 0;
    for policy in [
        SyncPolicy::Batch {
            max_delay: Duration::from_secs(60),
            max_bytes: 2048,
        },
        SyncPolicy::Never,
    ] {
        // Reads are left alone: the workload reads back to write, and a failed read does
        // not poison.
        for (op, error) in [
            (Op::Write, FaultError::Eio),
            (Op::Sync, FaultError::Eio),
            (Op::Sync, FaultError::EioLosingData),
        ] {
            for k in 0.. {
                let fs = SimFs::new();
                fs.set_fault(Some(Fault {
                    op: Some(op),
                    skip: k,
                    persistent: false,
                    error,
                }));
                // A background sync's failure must reach a caller too: at the next sync.
                let out = workload_behind(&fs, policy, 256);
                let what = format!("{policy:?} write-behind, {error:?} at {op:?} {k}");
                cases += 1;
                if !check_fault_case(&fs, &out, &what) {
                    break;
                }
            }
        }
    }
    common::report(&format!(
        "E-08: {cases} fault cases with write-behind syncing every 256 bytes (every write, every fdatasync, every fdatasync losing its data); {with} fdatasyncs in the busiest of 20 fault-free runs against {without} without write-behind"
    ));
}

#[test]
fn e03_fsync_that_fails_and_drops_its_data_poisons_and_nothing_after_is_acknowledged() {
    for skip in 0..30 {
        let fs = SimFs::new();
        fs.set_fault(Some(Fault {
            op: Some(Op::Sync),
            skip,
            persistent: false,
            error: FaultError::EioLosingData,
        }));
        let out = workload(&fs, SyncPolicy::Always);
        let fired = fs.fault_fired();
        fs.set_fault(None);
        assert!(out.poisoned_after, "sync {skip}");
        assert_eq!(out.saw_error, fired, "sync {skip}");
        check_after_crash(
            &fs,
            out.durable,
            out.appended,
            &format!("lying fsync {skip}"),
        );
    }
}

#[test]
fn e04_enospc_at_every_byte_of_a_64_kib_window_and_at_every_rotation() {
    // Entries of about 500 bytes: the workload writes past 64 KiB and rotates 4 KiB segments
    // a dozen times, so every capacity in the window stops it somewhere.
    let (mut cases, mut hit) = (0, 0);
    for capacity in 0..65_536u64 {
        let fs = SimFs::new();
        fs.set_capacity(Some(capacity));
        let out = workload_padded(&fs, SyncPolicy::Always, 500);
        let full = out.appended < 120;
        fs.set_capacity(None);
        let what = format!("capacity {capacity}");
        assert!(out.poisoned_after, "{what}");
        assert_eq!(out.saw_error, full, "{what}");
        check_after_crash_padded(&fs, out.durable, out.appended, &what, 500);
        cases += 1;
        hit += u64::from(full);
    }
    common::report(&format!(
        "E-04: ENOSPC at {cases} capacities, every byte of a 64 KiB window ({hit} ran out of space)"
    ));
    assert!(hit > 65_000, "only {hit} capacities were reached");
}
