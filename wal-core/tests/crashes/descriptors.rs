//! Running out of file descriptors (E-05, E-06, see `docs/testing.md`): `EMFILE` at every
//! open and every create of a workload that rotates and reads, and a crash at every
//! operation around a rotation that failed for lack of a descriptor. Every error says what
//! ran out, nothing panics, nothing acknowledged is lost, and the log works again once
//! descriptors are free.
use crate::common;

use std::sync::Arc;

use common::{Blob, dir, read_all};
use wal_core::testing::{Fault, FaultError, Op, SimFs, explore_crashes};
use wal_core::{Error, Options, SyncPolicy, Wal};

/// The bound on open sealed-segment files the workloads run under.
const MAX_OPEN: usize = 2;

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
        .max_open_files(MAX_OPEN)
        .sync(SyncPolicy::Always)
}

/// Entry `i`, about 300 bytes: a dozen to a 4 KiB segment.
fn entry(i: u64) -> Blob {
    let mut b = Blob::nth(i);
    b.data.resize(300, (i % 251) as u8);
    b
}

/// Whether an error's one-line message says the process ran out of descriptors.
fn says_descriptors(e: &Error) -> bool {
    let line = e.to_string();
    line.contains("(os error 24)") && line.contains("ulimit -n")
}

/// What the workload saw.
#[derive(Debug, Default)]
struct Seen {
    /// Last index an `append` acknowledged (durable: the policy is `Always`).
    acked: u64,
    /// Every error, with the call that returned it.
    errors: Vec<(&'static str, Error)>,
    /// Appends that succeeded after a read had failed and before any write failed.
    appends_after_read_error: u64,
}

/// Opens the log and appends 60 entries over a few segments; every seventh append it reads
/// an earlier entry by index and iterates the whole log, so that sealed segments' files
/// are closed and reopened. Carries on past errors.
fn workload(fs: &SimFs) -> Seen {
    let mut seen = Seen::default();
    let wal = match Wal::open(dir(), opts(fs)) {
        Ok(wal) => wal,
        Err(e) => {
            seen.errors.push(("open", e));
            return seen;
        }
    };
    let mut write_failed = false;
    let mut read_failed = false;
    for i in 1..=60u64 {
        match wal.append(&entry(seen.acked + 1)) {
            Ok(index) => {
                assert_eq!(index, seen.acked + 1, "an index was skipped");
                seen.acked = index;
                if read_failed && !write_failed {
                    seen.appends_after_read_error += 1;
                }
            }
            Err(e) => {
                write_failed = true;
                seen.errors.push(("append", e));
            }
        }
        if i % 7 == 0 && seen.acked > 0 {
            let at = 1 + (i * 31) % seen.acked;
            match wal.get::<Blob>(at) {
                Ok(b) => assert_eq!(b, entry(at), "wrong entry at {at}"),
                Err(e) => {
                    read_failed = true;
                    seen.errors.push(("get", e));
                }
            }
            let all: Result<Vec<_>, _> = wal.iter().and_then(Iterator::collect);
            match all {
                Ok(all) => assert!(all.len() as u64 >= seen.acked),
                Err(e) => {
                    read_failed = true;
                    seen.errors.push(("iter", e));
                }
            }
        }
    }
    if let Err(e) = wal.close() {
        seen.errors.push(("close", e));
    }
    seen
}

/// Opens `fs` with descriptors free again: every acknowledged entry is there, in order, and
/// the log takes appends.
fn check_reopens(fs: &SimFs, acked: u64, what: &str) {
    let wal = Wal::open(dir(), opts(fs)).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
    let entries = read_all(&wal);
    assert!(
        entries.len() as u64 >= acked,
        "{what}: acknowledged entries lost ({} < {acked})",
        entries.len()
    );
    for (k, (i, b)) in entries.iter().enumerate() {
        assert_eq!(*i, k as u64 + 1, "{what}: not a prefix");
        assert_eq!(*b, entry(*i), "{what}: wrong data at {i}");
    }
    let next = wal.last_index() + 1;
    assert_eq!(wal.append(&entry(next)).unwrap(), next, "{what}");
    wal.close().unwrap();
}

#[test]
fn e05_emfile_at_every_open_and_create_says_so_and_loses_nothing() {
    let mut cases = 0;
    let mut by_call = std::collections::BTreeMap::<&str, u64>::new();
    for op in [Op::Open, Op::Create] {
        for k in 0.. {
            let fs = SimFs::new();
            fs.set_fault(Some(Fault {
                op: Some(op),
                skip: k,
                persistent: false,
                error: FaultError::TooManyOpenFiles,
            }));
            let seen = workload(&fs);
            if !fs.fault_fired() {
                assert!(seen.errors.is_empty(), "{op:?} {k}: {:?}", seen.errors);
                break;
            }
            let what = format!("EMFILE at {op:?} number {k}");
            assert!(
                !seen.errors.is_empty(),
                "{what}: the failure was not reported"
            );
            for (call, e) in &seen.errors {
                // The call that met EMFILE says so; the ones after a poisoning carry it.
                assert!(says_descriptors(e), "{what}: {call}: {e}");
                *by_call.entry(call).or_default() += 1;
            }
            // A read that found no descriptor does not stop the writer.
            if seen.errors[0].0 != "open" && seen.errors[0].0 != "append" {
                assert!(
                    seen.appends_after_read_error > 0,
                    "{what}: {:?}",
                    seen.errors
                );
            }
            check_reopens(&fs, seen.acked, &what);
            cases += 1;
        }
    }
    assert!(cases > 20, "{cases}");
    assert!(
        by_call.contains_key("get") || by_call.contains_key("iter"),
        "{by_call:?}"
    );
    assert!(by_call.contains_key("append"), "{by_call:?}");
    common::report(&format!(
        "E-05: EMFILE at {cases} opens and creates; errors by call: {by_call:?}"
    ));
}

/// Appends until a segment is about to rotate, then leaves no descriptor free: the
/// rotation cannot create the next segment.
fn starve_a_rotation(fs: &SimFs) -> (u64, Option<Error>, Option<Error>) {
    let Ok(wal) = Wal::open(dir(), opts(fs)) else {
        return (0, None, None);
    };
    let mut acked = 0;
    for i in 1..=30 {
        if wal.append(&entry(i)).is_err() {
            return (acked, None, None);
        }
        acked = i;
    }
    fs.set_max_open_files(Some(fs.open_files()));
    let mut failure = None;
    for i in 31..=60 {
        match wal.append(&entry(i)) {
            Ok(_) => acked = i,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    fs.set_max_open_files(None);
    let after = wal.append(&entry(acked + 1)).err();
    if after.is_none() {
        acked += 1;
    }
    drop(wal);
    // A reopen once descriptors are free takes appends again.
    if let Ok(wal) = Wal::open(dir(), opts(fs))
        && wal.append(&entry(acked + 1)).is_ok()
    {
        acked += 1;
    }
    (acked, failure, after)
}

#[test]
fn e06_a_rotation_without_a_descriptor_fails_clearly_and_poisons_and_a_reopen_recovers() {
    let fs = SimFs::new();
    let (acked, failure, after) = starve_a_rotation(&fs);
    let failure = failure.expect("the rotation failed");
    assert!(says_descriptors(&failure), "{failure}");
    // Which step meets the limit depends on whether sealing closed another file first.
    let line = failure.to_string();
    assert!(
        line.contains("during create on /log/") || line.contains("during sync directory on /log"),
        "{line}"
    );
    // The log poisons itself: the entries of the failed append got indexes that later ones
    // would follow, so going on would either reorder them or acknowledge them late.
    let after = after.expect("an append after the failure is refused");
    assert!(matches!(after, Error::Poisoned { .. }), "{after}");
    assert!(says_descriptors(&after), "{after}");
    // No half-created segment is visible after the reopen.
    let names = fs.file_names(&dir());
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    check_reopens(&fs, acked, "after the starved rotation");

    let models = common::crash_models(2);
    let states = explore_crashes(
        SimFs::new,
        &models,
        starve_a_rotation,
        |point, image, out| {
            check_reopens(&image, out.0, &format!("{point:?}"));
        },
    );
    common::report(&format!(
        "E-06: {states} crash states around a rotation starved of descriptors"
    ));
    assert!(states > 500, "{states}");
}
