//! Resident memory, measured (one test in its own binary: the process's peak RSS is its
//! own). Every recovery mode opens a log in memory bounded by a few segments, whatever the
//! log's length; an entry a reader keeps costs about its payload.
#![allow(clippy::unwrap_used, reason = "test code")]
mod common;

use common::Blob;
use wal_core::{Options, RecoveryMode, SyncPolicy, Wal};

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb / 1024
}

/// Resets the peak to the current resident set (Linux: `echo 5 > clear_refs`).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}

#[test]
fn open_is_bounded_by_a_few_segments_and_a_kept_entry_by_its_payload() {
    const SEGMENT: u64 = 4 << 20;
    let dir = tempfile::tempdir().unwrap();
    let opts = || {
        Options::default()
            .segment_size(SEGMENT)
            .sync(SyncPolicy::Never)
    };
    // 256 MiB of log in 64 segments.
    let wal = Wal::open(dir.path(), opts()).unwrap();
    let payload = Blob::new(1, vec![0x5a; 4000]);
    for _ in 0..65_000 {
        wal.append(&payload).unwrap();
    }
    wal.close().unwrap();
    for mode in [
        RecoveryMode::TolerateTornTail,
        RecoveryMode::Strict,
        RecoveryMode::PointInTime,
        RecoveryMode::Salvage,
    ] {
        reset_peak();
        let before = peak_rss_mib();
        let wal = Wal::open(dir.path(), opts().recovery(mode)).unwrap();
        assert_eq!(wal.last_index(), 65_000);
        let grew = peak_rss_mib().saturating_sub(before);
        drop(wal);
        common::report(&format!(
            "open in {mode:?}: peak RSS grew {grew} MiB (log 256 MiB)"
        ));
        // Documented bound: a few segments (4 MiB each here), not the log.
        assert!(grew <= (6 * SEGMENT) >> 20, "{mode:?}: {grew} MiB");
    }
    // Keeping every 1,000th entry of a full iteration: 65 entries of 4 KB.
    let wal = Wal::open(dir.path(), opts()).unwrap();
    reset_peak();
    let before = peak_rss_mib();
    let kept: Vec<_> = wal
        .iter()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.index() % 1000 == 0)
        .collect();
    let grew = peak_rss_mib().saturating_sub(before);
    assert_eq!(kept.len(), 65);
    assert!(kept.iter().all(|e| e.payload() == &[0x5a; 4000][..]));
    common::report(&format!(
        "65 kept entries of 4 KB: peak RSS grew {grew} MiB"
    ));
    // Their payloads are 260 KB; the read buffer (1 MiB) may be live once.
    assert!(grew <= 4, "{grew} MiB for 65 kept entries");
}
