//! The plan's rules, one test each, on synthetic segment lists (no file is read).
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    reason = "test code: small synthetic values"
)]

use std::path::PathBuf;

use super::super::read::OnDisk;
use super::super::{Body, Found, RecoveryReport};
use super::{Decision, plan};
use crate::error::{CorruptionKind, Error};
use crate::format::{FooterSummary, SegmentHeader};
use crate::options::RecoveryMode::{self, PointInTime, Salvage, Strict, TolerateTornTail};
use crate::segment::{Scan, Stop};

const ENTRY: u64 = 10;

fn path(first: u64) -> PathBuf {
    PathBuf::from(format!("/log/{first:020}.wal"))
}

fn header(seq: u64, first: u64) -> SegmentHeader {
    SegmentHeader {
        log_id: 1,
        seq,
        first_index: first,
        prev_last_index: first - 1,
        prev_crc: if seq == 1 { 0 } else { (seq - 1) as u32 * 1000 },
    }
}

/// A sealed segment known by its footer: `n` entries from `first`.
fn sealed(seq: u64, first: u64, n: u32) -> Found {
    Found {
        path: path(first),
        len: 4096,
        header: header(seq, first),
        body: Body::Sealed(FooterSummary {
            crc: seq as u32 * 1000,
            entries: n,
            first_index: first,
            last_index: first + u64::from(n) - 1,
            offset: 4000,
        }),
    }
}

/// A scanned segment of `n` entries of `ENTRY` bytes, its scan ending as `stop` says.
fn scanned(seq: u64, first: u64, n: u64, stop: Stop) -> Found {
    let end = 64 + n * ENTRY;
    Found {
        path: path(first),
        len: end,
        header: header(seq, first),
        body: Body::Scanned {
            bytes: vec![0; end as usize + 64],
            scan: Scan {
                positions: (0..n).map(|k| (64 + k * ENTRY) as u32).collect(),
                valid_end: end,
                stop_offset: end,
                stop,
                marker_end: 64,
                window_crc: 0,
                footer: None,
                nonzero_after: false,
                closed_by_cut: false,
            },
        },
    }
}

/// A log of two sealed segments of 30 entries and a tail of `tail` entries.
fn log(tail: u64) -> Vec<Found> {
    vec![
        sealed(1, 1, 30),
        sealed(2, 31, 30),
        scanned(3, 61, tail, Stop::Eof),
    ]
}

fn disk(found: Vec<Found>) -> OnDisk {
    OnDisk {
        names: found
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_string())
            .collect(),
        segments_scanned: found.len(),
        found,
        temps: Vec::new(),
        short_tail: None,
        log_id: Some(1),
        cut_mark: None,
        low_water: None,
        high_water: Some(3),
    }
}

fn decide(d: &mut OnDisk, mode: RecoveryMode) -> (Result<Decision, Error>, RecoveryReport) {
    let mut report = RecoveryReport::default();
    let decision = plan(d, "/log".as_ref(), mode, 1 << 20, &mut report);
    (decision, report)
}

fn refusal(d: &mut OnDisk, mode: RecoveryMode) -> (PathBuf, CorruptionKind) {
    match decide(d, mode).0 {
        Err(Error::Corruption { segment, kind, .. }) => (segment, kind),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("{mode:?} accepted it"),
    }
}

#[test]
fn a_log_that_continues_is_kept_whole() {
    for mode in [TolerateTornTail, Strict, PointInTime, Salvage] {
        let (d, report) = decide(&mut disk(log(5)), mode);
        let d = d.unwrap();
        assert_eq!((d.first_index, d.keep, d.cut_at), (1, 3, None), "{mode:?}");
        assert!(
            d.plan.stale.is_empty() && d.plan.trim.is_empty(),
            "{mode:?}"
        );
        assert!(report.is_clean(), "{mode:?}");
    }
}

#[test]
fn segments_above_the_high_water_mark_are_stale() {
    let mut d = disk(log(5));
    d.high_water = Some(2);
    let (decision, _) = decide(&mut d, TolerateTornTail);
    assert_eq!(decision.unwrap().plan.stale, vec![path(61)]);
    assert_eq!(d.found.len(), 2);
}

#[test]
fn a_missing_newest_segment_is_refused_unless_point_in_time_accepts_it() {
    let mut found = log(5);
    found.pop();
    for mode in [TolerateTornTail, Strict] {
        let (at, kind) = refusal(&mut disk(found.clone_shallow()), mode);
        assert_eq!(at, path(31));
        assert_eq!(
            kind,
            CorruptionKind::MissingSegment {
                expected_seq: 3,
                newest_seq: 2
            }
        );
    }
    let (d, report) = decide(&mut disk(found), PointInTime);
    assert_eq!(d.unwrap().plan.record_high_water, Some(2));
    assert_eq!(report.missing_newest_seq, Some(3));
}

#[test]
fn a_short_newest_file_the_mark_records_is_refused() {
    let mut found = log(5);
    found.pop();
    let mut d = disk(found);
    d.short_tail = Some((path(61), true));
    assert_eq!(
        refusal(&mut d, TolerateTornTail),
        (path(61), CorruptionKind::TruncatedHeader)
    );
}

#[test]
fn a_broken_chain_is_refused_or_ends_the_log_in_point_in_time() {
    let mut found = log(5);
    found[2].header.prev_crc = 7;
    assert_eq!(
        refusal(&mut disk(found.clone_shallow()), TolerateTornTail),
        (path(61), CorruptionKind::Chain)
    );
    let d = decide(&mut disk(found.clone_shallow()), PointInTime)
        .0
        .unwrap();
    assert_eq!((d.plan.remove_from, d.keep), (Some(2), 2));
    // Salvage reads every segment, chained or not.
    assert_eq!(decide(&mut disk(found), Salvage).0.unwrap().keep, 3);
}

#[test]
fn damage_in_the_last_segment_with_no_marker_after_it_is_a_torn_tail() {
    let mut found = log(5);
    found[2] = scanned(3, 61, 5, Stop::Damage(CorruptionKind::Truncated));
    let d = decide(&mut disk(found.clone_shallow()), TolerateTornTail)
        .0
        .unwrap();
    assert_eq!(d.cut_at, Some((2, 64 + 5 * ENTRY)));
    // Strict refuses any damage, a torn tail included.
    assert_eq!(
        refusal(&mut disk(found), Strict),
        (path(61), CorruptionKind::Truncated)
    );
}

#[test]
fn damage_in_a_sealed_segment_is_refused_or_cut_with_what_follows() {
    let mut found = log(5);
    found[1] = scanned(2, 31, 12, Stop::Damage(CorruptionKind::BadMarker));
    assert_eq!(
        refusal(&mut disk(found.clone_shallow()), TolerateTornTail),
        (path(31), CorruptionKind::BadMarker)
    );
    let (d, _) = decide(&mut disk(found.clone_shallow()), PointInTime);
    let d = d.unwrap();
    assert_eq!(
        (d.cut_at, d.plan.remove_from, d.keep),
        (Some((1, 64 + 12 * ENTRY)), Some(2), 2)
    );
    // Salvage keeps every segment and reports the damage.
    let (d, report) = decide(&mut disk(found), Salvage);
    assert_eq!(d.unwrap().keep, 3);
    assert_eq!(report.cuts.len(), 1);
}

#[test]
fn a_segment_before_the_last_without_a_footer_is_damage() {
    let mut found = log(5);
    found[1] = scanned(2, 31, 30, Stop::Eof);
    assert_eq!(
        refusal(&mut disk(found), TolerateTornTail),
        (path(31), CorruptionKind::MissingFooter)
    );
}

#[test]
fn the_low_water_mark_sets_the_first_index_and_drops_the_segments_below_it() {
    let mut d = disk(log(5));
    d.low_water = Some((1, 40));
    let decision = decide(&mut d, TolerateTornTail).0.unwrap();
    assert_eq!((decision.first_index, decision.plan.remove_below), (40, 1));
}

#[test]
fn a_low_water_mark_below_the_first_segment_means_the_start_is_missing() {
    let mut found = log(5);
    found.remove(0);
    let mut d = disk(found);
    d.low_water = Some((1, 1));
    assert_eq!(
        refusal(&mut d, TolerateTornTail),
        (path(31), CorruptionKind::Chain)
    );
}

#[test]
fn a_low_water_mark_past_the_end_is_refused() {
    // Just past the last entry (65) is an emptied log; one more is refused.
    let mut d = disk(log(5));
    d.low_water = Some((1, 66));
    assert_eq!(decide(&mut d, TolerateTornTail).0.unwrap().first_index, 66);
    let mut d = disk(log(5));
    d.low_water = Some((1, 67));
    assert_eq!(
        refusal(&mut d, TolerateTornTail),
        (
            PathBuf::from("/log/LOW_WATER"),
            CorruptionKind::LowWater {
                first_index: 67,
                last_index: 65
            }
        )
    );
}

#[test]
fn a_footer_followed_by_zeros_is_trimmed() {
    let mut found = log(0);
    found[2] = scanned(3, 61, 8, Stop::Footer);
    found[2].len += 512;
    let d = decide(&mut disk(found), TolerateTornTail).0.unwrap();
    assert_eq!(d.plan.trim, vec![(path(61), 64 + 8 * ENTRY)]);
}

#[test]
fn quarantine_files_of_segments_below_the_first_index_are_orphans() {
    let mut d = disk(log(5));
    d.low_water = Some((1, 40));
    d.names.push("00000000000000000001.wal.cut-100".into());
    d.names.push("00000000000000000061.wal.cut-90".into());
    let decision = decide(&mut d, TolerateTornTail).0.unwrap();
    assert_eq!(
        decision.plan.orphans,
        vec![PathBuf::from("/log/00000000000000000001.wal.cut-100")]
    );
}

/// `Found` holds a scan, not cloned in the library: the tests copy what they need.
trait CloneShallow {
    fn clone_shallow(&self) -> Self;
}

impl CloneShallow for Vec<Found> {
    fn clone_shallow(&self) -> Self {
        self.iter()
            .map(|f| Found {
                path: f.path.clone(),
                len: f.len,
                header: f.header,
                body: match &f.body {
                    Body::Sealed(s) => Body::Sealed(*s),
                    Body::Scanned { bytes, scan } => Body::Scanned {
                        bytes: bytes.clone(),
                        scan: Scan {
                            positions: scan.positions.clone(),
                            valid_end: scan.valid_end,
                            stop: scan.stop.clone(),
                            stop_offset: scan.stop_offset,
                            marker_end: scan.marker_end,
                            window_crc: scan.window_crc,
                            footer: None,
                            nonzero_after: scan.nonzero_after,
                            closed_by_cut: scan.closed_by_cut,
                        },
                    },
                },
            })
            .collect()
    }
}
