//! Every `Options` change between two runs of the same log: the log written under one set of
//! options opens under the other with every entry intact, takes appends under the new
//! options, and opens again under the first.
use crate::common;

use common::{Blob, dir, sim_opts};
use wal_core::testing::{Crash, SimFs};
use wal_core::{Options, RecoveryMode, SyncPolicy, Wal};

/// Entry `i`: up to 1,500 bytes, so a smaller `max_entry_size` meets some on disk.
fn entry(i: u64) -> Blob {
    let len = (i * 389 % 1500) as usize;
    Blob::new(
        (i % 3 + 1) as u8,
        (0..len).map(|k| (k as u64 ^ i) as u8).collect::<Vec<_>>(),
    )
}

fn variants(fs: &SimFs) -> Vec<(&'static str, Options)> {
    let base = || sim_opts(fs).segment_size(8192).sync(SyncPolicy::Never);
    vec![
        ("base", base()),
        ("segment 4 KiB", base().segment_size(4096)),
        ("segment 1 MiB", base().segment_size(1 << 20)),
        ("max entry 1000", base().max_entry_size(1000)),
        ("max entry 64 KiB", base().max_entry_size(64 << 10)),
        ("5 entries a segment", base().max_segment_entries(Some(5))),
        ("no preallocation", base().preallocate(false)),
        ("always", base().sync(SyncPolicy::Always)),
        ("strict", base().recovery(RecoveryMode::Strict)),
        ("point in time", base().recovery(RecoveryMode::PointInTime)),
    ]
}

/// Appends `from..from + n` under `opts`, skipping none: entries above its limit are cut to fit.
fn append(wal: &Wal, opts: &Options, from: u64, n: u64) {
    for i in from..from + n {
        let mut e = entry(i);
        e.data.truncate(opts.max_entry_size as usize);
        assert_eq!(wal.append(&e).unwrap(), i);
    }
}

fn check(wal: &Wal, last: u64, limits: &[(u64, u32)], what: &str) {
    assert_eq!((wal.first_index(), wal.last_index()), (1, last), "{what}");
    let mut n = 0;
    for raw in wal.iter().unwrap() {
        let raw = raw.unwrap_or_else(|e| panic!("{what}: {e}"));
        n += 1;
        assert_eq!(raw.index(), n, "{what}");
        // The limit in force when entry n was appended.
        let max = limits.iter().rev().find(|(from, _)| *from <= n).unwrap().1;
        let mut e = entry(n);
        e.data.truncate(max as usize);
        assert_eq!(raw.decode::<Blob>().unwrap(), e, "{what}: entry {n}");
    }
    assert_eq!(n, last, "{what}");
}

#[test]
fn every_options_change_between_runs_reads_what_is_there() {
    let mut pairs = 0;
    let names: Vec<&str> = variants(&SimFs::new()).iter().map(|v| v.0).collect();
    for a in 0..names.len() {
        for b in 0..names.len() {
            let fs = SimFs::new();
            let v = variants(&fs);
            let ((na, oa), (nb, ob)) = (&v[a], &v[b]);
            let what = format!("{na} -> {nb}");
            let wal = Wal::open(dir(), oa.clone()).unwrap();
            append(&wal, oa, 1, 60);
            wal.close().unwrap();
            let mut limits = vec![(1, oa.max_entry_size)];
            let wal = Wal::open(dir(), ob.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                wal.recovery_report().is_clean(),
                "{what}: {:?}",
                wal.recovery_report()
            );
            check(&wal, 60, &limits, &what);
            append(&wal, ob, 61, 40);
            limits.push((61, ob.max_entry_size));
            wal.close().unwrap();
            // Back under the first options, after a power loss (close synced everything).
            let wal = Wal::open(
                dir(),
                oa.clone()
                    .file_system(std::sync::Arc::new(fs.crash(Crash::DropUnsynced))),
            )
            .unwrap_or_else(|e| panic!("{what} -> {na}: {e}"));
            check(&wal, 100, &limits, &format!("{what} -> {na}"));
            pairs += 1;
        }
    }
    common::report(&format!("{pairs} option changes between runs"));
    assert_eq!(pairs, names.len() * names.len());
}
