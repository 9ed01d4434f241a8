//! `Wal::stats` counts what the simulated file system saw; `Wal::shutdown` closes a log
//! shared through an `Arc`, reporting errors; the `metrics` feature publishes the counters.
use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Blob, dir, segment_files};
use wal_core::testing::{Crash, Fault, FaultError, Op, SimFs};
use wal_core::{Error, Options, SyncPolicy, Wal};

fn opts(fs: &SimFs) -> Options {
    Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096)
}

#[test]
fn stats_count_what_the_file_system_counted() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    let at_open = wal.stats();
    assert_eq!(at_open.fsyncs, fs.stats().syncs, "open's syncs are counted");
    assert_eq!(at_open.dir_syncs, fs.stats().dir_syncs);
    assert!(at_open.recovery.clean);
    for k in 1..=200 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    wal.append_batch(&(201..=210).map(Blob::nth).collect::<Vec<_>>())
        .unwrap();
    wal.truncate_back(205).unwrap();
    wal.truncate_front(50).unwrap();
    wal.truncate_front(50).unwrap(); // removes nothing more: not counted
    let follower = wal.follow(100).unwrap();
    let s = wal.stats();
    let fs_stats = fs.stats();
    assert_eq!(s.appends, 210);
    assert_eq!(s.fsyncs, fs_stats.syncs);
    assert_eq!(s.dir_syncs, fs_stats.dir_syncs);
    assert_eq!(s.truncations, 2);
    assert_eq!(s.followers, 1);
    assert_eq!(s.segments, segment_files(&fs, &dir()).len());
    assert!(s.rotations >= s.segments as u64 - 1 && s.rotations > 0);
    assert_eq!(
        (s.first_index, s.last_index, s.durable_index),
        (50, 205, 205)
    );
    assert!(s.written_bytes >= 210 * 18, "{}", s.written_bytes);
    assert_eq!(s.fsync_latency.samples as u64, s.fsyncs.min(1024));
    assert!(s.fsync_latency.p50 <= s.fsync_latency.p99);
    assert!(s.fsync_latency.p99 <= s.fsync_latency.max);
    assert!(
        (s.appends_per_fsync * f64::from(u32::try_from(s.fsyncs).unwrap()) - 210.0).abs() < 1e-6
    );
    drop(follower);
    assert_eq!(wal.stats().followers, 0);
    wal.close().unwrap();
}

#[test]
fn latency_percentiles_reflect_slow_syncs() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), opts(&fs)).unwrap();
    fs.set_sync_delay(Duration::from_millis(5));
    for k in 1..=20 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    let l = wal.stats().fsync_latency;
    assert!(l.p90 >= Duration::from_millis(5), "{l:?}");
    assert!(l.max >= Duration::from_millis(5), "{l:?}");
}

#[test]
fn recovery_is_summarized() {
    // Power lost while the sixth frame was written: its first 3 bytes reached the disk.
    let image = common::torn_sixth_entry(opts, 3);
    let wal = Wal::open(dir(), opts(&image)).unwrap();
    let r = wal.stats().recovery;
    assert_eq!(r.entries, 5);
    assert_eq!(r.segments_scanned, 1);
    assert!(!r.clean);
    assert_eq!(r.cuts, 1);
    assert_eq!(r.cut_bytes, wal.recovery_report().cuts[0].bytes);
    assert!((1..=3).contains(&r.cut_bytes), "{r:?}");
}

#[test]
fn shutdown_closes_a_shared_log_and_later_writes_are_refused() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs).sync(SyncPolicy::Never)).unwrap());
    let other = Arc::clone(&wal);
    for k in 1..=30 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    let mut follower = wal.follow(1).unwrap();
    other.shutdown().unwrap();
    assert!(other.shutdown().is_ok(), "a second shutdown does nothing");
    assert!(matches!(wal.append(&Blob::nth(31)), Err(Error::Closed)));
    assert!(matches!(wal.sync(), Err(Error::Closed)));
    assert!(matches!(wal.truncate_back(10), Err(Error::Closed)));
    assert!(matches!(wal.save_state("s", b"x"), Err(Error::Closed)));
    assert_eq!(
        wal.get::<Blob>(30).unwrap(),
        Blob::nth(30),
        "reads still work"
    );
    assert_eq!(follower.by_ref().count(), 30, "the follower ends after 30");
    // Everything was synced and the directory released while both handles live.
    let image = fs.crash(Crash::DropUnsynced);
    let reopened = Wal::open(dir(), opts(&image)).unwrap();
    assert_eq!(reopened.last_index(), 30);
    assert!(reopened.recovery_report().is_clean());
    drop(reopened);
    let second = Wal::open(dir(), opts(&fs)).unwrap();
    assert_eq!(second.last_index(), 30);
    drop((wal, other));
    assert_eq!(
        second.append(&Blob::nth(31)).unwrap(),
        31,
        "dropping the old handles does not touch the reopened log"
    );
}

#[test]
fn shutdown_reports_the_error_that_kept_entries_from_being_durable() {
    let fs = SimFs::new();
    let wal = Arc::new(Wal::open(dir(), opts(&fs).sync(SyncPolicy::Never)).unwrap());
    wal.append(&Blob::nth(1)).unwrap();
    fs.set_fault(Some(Fault {
        op: Some(Op::Sync),
        skip: 0,
        persistent: true,
        error: FaultError::Eio,
    }));
    let err = wal.shutdown().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("sync"), "{err}");
}

#[cfg(feature = "metrics")]
#[test]
fn the_metrics_feature_publishes_the_counters() {
    use metrics_util::MetricKind;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let fs = SimFs::new();
    let wal = metrics::with_local_recorder(&recorder, || Wal::open(dir(), opts(&fs)).unwrap());
    for k in 1..=100 {
        wal.append(&Blob::nth(k)).unwrap();
    }
    let stats = wal.stats();
    let values: std::collections::HashMap<(MetricKind, String), DebugValue> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let dir_label = key
                .labels()
                .find(|l| l.key() == "dir")
                .map(|l| l.value().to_string());
            assert_eq!(dir_label.as_deref(), Some("/log"), "{key:?}");
            ((kind, key.name().to_string()), value)
        })
        .collect();
    let counter = |name: &str| match values.get(&(MetricKind::Counter, name.into())) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(counter("wal_appends_total"), 100);
    assert_eq!(counter("wal_fsyncs_total"), stats.fsyncs);
    assert_eq!(counter("wal_rotations_total"), stats.rotations);
    assert_eq!(counter("wal_written_bytes_total"), stats.written_bytes);
    match values.get(&(MetricKind::Histogram, "wal_fsync_seconds".into())) {
        Some(DebugValue::Histogram(v)) => assert_eq!(v.len() as u64, stats.fsyncs),
        other => panic!("wal_fsync_seconds: {other:?}"),
    }
    match values.get(&(MetricKind::Gauge, "wal_durable_index".into())) {
        Some(DebugValue::Gauge(v)) => assert!((v.into_inner() - 100.0).abs() < f64::EPSILON),
        other => panic!("wal_durable_index: {other:?}"),
    }
}
