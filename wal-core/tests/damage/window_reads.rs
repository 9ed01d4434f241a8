//! Sequential reads verify a whole sync-marker window with one CRC where it fits in the read
//! buffer, and each frame's own CRC elsewhere. They must find every damage the per-frame
//! check finds and name the same frame: a byte flipped anywhere in a sealed segment's frames
//! (after open, which trusts a sealed segment's footer) ends `iter`, `next_ref` and `replay`
//! with an error at the offset of the frame holding it, after exactly the entries before it.
use crate::common;

use std::path::{Path, PathBuf};

use common::{Blob, dir, segment_files, sim_opts};
use wal_core::format::{
    self, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN, KIND_BATCH_END, decode_marker,
};
use wal_core::testing::SimFs;
use wal_core::{Error, Options, SyncPolicy, Wal};

/// 200 entries in 4 KiB segments, synced every third append (a marker each time), with a
/// batch of four every 20th, closed: its file system, options and segment files.
fn windowed_log() -> (SimFs, Options, Vec<PathBuf>) {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=200u64 {
        if i % 20 == 0 {
            let batch: Vec<Blob> = (0..4).map(|k| Blob::nth(i * 10 + k)).collect();
            wal.append_batch(&batch).unwrap();
        } else {
            wal.append(&Blob::nth(i)).unwrap();
        }
        if i % 3 == 0 {
            wal.sync().unwrap();
        }
    }
    wal.close().unwrap();
    let segs = segment_files(&fs, &dir());
    assert!(segs.len() >= 3, "{} segments", segs.len());
    (fs, opts, segs)
}

/// A frame of a segment: where it starts and ends, and its entry's index (`None` for the
/// log's own frames).
struct Frame {
    start: usize,
    end: usize,
    index: Option<u64>,
}

/// The frames of a sealed segment before its footer, parsed by their headers.
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut p = HEADER_LEN;
    while let Some(h) = FrameHeader::peek(&bytes[p..]) {
        let end = p + h.frame_len();
        let payload = &bytes[p + FRAME_HEADER_LEN..end];
        let own = h.type_id == 0;
        if own && decode_marker(payload).is_none() && payload != [KIND_BATCH_END] {
            break; // the footer
        }
        out.push(Frame {
            start: p,
            end,
            index: (!own).then_some(h.index),
        });
        p = end;
    }
    out
}

/// What a read gives: the indexes before the first error, and the error's segment and
/// offset.
fn outcome(
    entries: impl Iterator<Item = wal_core::Result<u64>>,
) -> (Vec<u64>, Option<(PathBuf, u64)>) {
    let mut got = Vec::new();
    for e in entries {
        match e {
            Ok(index) => got.push(index),
            Err(Error::Corruption {
                segment, offset, ..
            }) => return (got, Some((segment, offset))),
            Err(e) => panic!("{e:?}"),
        }
    }
    (got, None)
}

/// A read of the whole log through the iterator.
fn read(wal: &Wal) -> (Vec<u64>, Option<(PathBuf, u64)>) {
    outcome(wal.iter().unwrap().map(|e| e.map(|e| e.index())))
}

/// The same through the lending form.
fn read_ref(wal: &Wal) -> (Vec<u64>, Option<(PathBuf, u64)>) {
    let mut iter = wal.iter().unwrap();
    outcome(std::iter::from_fn(|| {
        iter.next_ref().map(|e| e.map(|e| e.index()))
    }))
}

#[test]
fn a_byte_flipped_anywhere_in_a_window_is_found_at_its_frame() {
    let (fs, opts, segs) = windowed_log();
    for seg in [&segs[0], &segs[1]] {
        let clean = fs.read_file(seg).unwrap();
        let frames = frames(&clean);
        assert!(frames.iter().filter(|f| f.index.is_none()).count() > 5);
        let wal = Wal::open(dir(), opts.clone()).unwrap();
        let (all, none) = read(&wal);
        assert_eq!(none, None);
        let first = frames.iter().find_map(|f| f.index).unwrap();
        let before: Vec<u64> = all.iter().copied().filter(|&i| i < first).collect();
        for f in &frames {
            // The entries before this frame: the earlier segments', then this one's.
            let mut expected = before.clone();
            expected.extend(
                frames
                    .iter()
                    .take_while(|g| g.start < f.start)
                    .filter_map(|g| g.index),
            );
            for at in f.start..f.end {
                let mut bytes = clean.clone();
                bytes[at] ^= 0x04;
                fs.write_file(seg, &bytes);
                let want = (expected.clone(), Some((seg.clone(), f.start as u64)));
                assert_eq!(read(&wal), want, "flip at {at} of {}", seg.display());
                assert_eq!(read_ref(&wal), want, "next_ref, flip at {at}");
                let mut replayed = 0;
                let err = wal.replay(|_, _: Blob| replayed += 1).unwrap_err();
                assert!(
                    matches!(&err, Error::Corruption { offset, .. } if *offset == f.start as u64),
                    "replay, flip at {at}: {err:?}"
                );
                assert_eq!(replayed, expected.len());
                assert_eq!(
                    verified(&wal),
                    Some((seg.clone(), f.start as u64)),
                    "verify_each, flip at {at}"
                );
            }
        }
        fs.write_file(seg, &clean);
    }
}

/// Where `verify_each` finds damage (`None`: nothing found), having been told of every
/// entry of the log when it finds none.
fn verified(wal: &Wal) -> Option<(PathBuf, u64)> {
    let mut told = Vec::new();
    match wal.verify_each(|h| told.push(h.index())) {
        Ok(()) => {
            let all: Vec<u64> = (wal.first_index()..=wal.last_index()).collect();
            assert_eq!(told, all);
            None
        }
        Err(Error::Corruption {
            segment, offset, ..
        }) => Some((segment, offset)),
        Err(e) => panic!("{e:?}"),
    }
}

/// 300 entries in 4 KiB segments, never synced but by the seals, left open (the last ones
/// still buffered): its file system, options and the log.
fn sealed_only_log() -> (SimFs, Options, Wal) {
    let fs = SimFs::new();
    let opts = sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=300u64 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    (fs, opts, wal)
}

/// Flips `bit` of byte `at` of `seg` (whose intact bytes are `clean`) and checks that
/// `verify_each` finds damage at `frame`, the offset of the frame holding the byte. `what`
/// names the case.
fn flip_is_found_at(
    (fs, wal, what): (&SimFs, &Wal, &str),
    seg: &Path,
    clean: &[u8],
    (at, bit): (usize, u8),
    frame: usize,
) {
    let mut bytes = clean.to_vec();
    bytes[at] ^= bit;
    fs.write_file(seg, &bytes);
    assert_eq!(
        verified(wal),
        Some((seg.to_path_buf(), frame as u64)),
        "{what}: flip at {at} of {}, in the frame at {frame}",
        seg.display()
    );
}

#[test]
fn a_byte_flipped_anywhere_in_a_segment_synced_only_at_its_seal_is_found_at_its_frame() {
    // One window per sealed segment, much larger than a read; the tail's frames after its
    // last marker are checked one by one.
    let (fs, _, wal) = sealed_only_log();
    // The pass writes the buffered entries to the file first.
    assert_eq!(verified(&wal), None);
    let segs = segment_files(&fs, &dir());
    for seg in [&segs[0], segs.last().unwrap()] {
        let clean = fs.read_file(seg).unwrap();
        let frames = frames(&clean);
        for f in &frames {
            for at in f.start..f.end {
                flip_is_found_at((&fs, &wal, "sealed only"), seg, &clean, (at, 0x10), f.start);
            }
        }
        fs.write_file(seg, &clean);
    }
    assert_eq!(verified(&wal), None);
}

#[test]
fn a_read_from_the_middle_of_a_window_checks_frame_by_frame_until_the_next_marker() {
    let (fs, opts, segs) = windowed_log();
    let clean = fs.read_file(&segs[0]).unwrap();
    let frames = frames(&clean);
    let wal = Wal::open(dir(), opts).unwrap();
    // Damage the third entry after a marker, then read from the second one (neither is a
    // window's start).
    let marker = frames.iter().position(|f| f.index.is_none()).unwrap();
    let (start, damaged) = (&frames[marker + 2], &frames[marker + 3]);
    let mut bytes = clean.clone();
    bytes[damaged.start + FRAME_HEADER_LEN] ^= 1;
    fs.write_file(&segs[0], &bytes);
    let from = start.index.unwrap();
    let results: Vec<_> = wal.iter_from(from).unwrap().collect();
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().index(), from);
    assert!(
        matches!(&results[1], Err(Error::Corruption { offset, .. }) if *offset == damaged.start as u64),
        "{:?}",
        results[1]
    );
}

/// Inside a window whose CRC verified, a frame's own CRC is not what is checked: a frame
/// whose CRC field was rewritten together with its window's marker reads back, where
/// `get` (which checks the frame's CRC) refuses it. This pins that the window path runs.
#[test]
fn a_verified_window_stands_for_the_frames_inside_it() {
    let (fs, opts, segs) = windowed_log();
    let wal = Wal::open(dir(), opts).unwrap();
    let seed = format::crc_seed(wal.log_id());
    let mut bytes = fs.read_file(&segs[0]).unwrap();
    let frames = frames(&bytes);
    let m = frames.iter().position(|f| f.index.is_none()).unwrap();
    let (victim, marker) = (&frames[m - 1], &frames[m]);
    bytes[victim.start] ^= 0xff;
    let window_crc = format::crc(seed, &bytes[HEADER_LEN..marker.start]);
    bytes[marker.start + FRAME_HEADER_LEN + 5..marker.start + FRAME_HEADER_LEN + 9]
        .copy_from_slice(&window_crc.to_le_bytes());
    let frame_crc = format::mask(format::crc(seed, &bytes[marker.start + 4..marker.end]));
    bytes[marker.start..marker.start + 4].copy_from_slice(&frame_crc.to_le_bytes());
    fs.write_file(&segs[0], &bytes);
    let index = victim.index.unwrap();
    assert!(matches!(
        wal.get_raw(index),
        Err(Error::Corruption { offset, .. }) if offset == victim.start as u64
    ));
    assert!(wal.iter().unwrap().all(|e| e.is_ok()));
    assert_eq!(wal.iter().unwrap().count() as u64, wal.last_index());
}

#[test]
fn a_segment_sealed_after_unsynced_appends_closes_its_window_with_a_marker() {
    // Never synced before rotation: each sealed segment's entries form one open window,
    // which the seal closes with a marker (before the footer), so a reader checks the whole
    // segment with one CRC instead of one per frame.
    let (fs, opts, wal) = sealed_only_log();
    wal.close().unwrap();
    let segs = segment_files(&fs, &dir());
    assert!(segs.len() >= 3, "{} segments", segs.len());
    let sealed = &segs[..segs.len() - 1];
    for seg in sealed {
        let bytes = fs.read_file(seg).unwrap();
        let seed = format::crc_seed(format::SegmentHeader::decode(&bytes).unwrap().log_id);
        let frames = frames(&bytes);
        let last = frames.last().unwrap();
        let marker = decode_marker(&bytes[last.start + FRAME_HEADER_LEN..last.end]);
        let marker =
            marker.unwrap_or_else(|| panic!("{}: no marker before the footer", seg.display()));
        assert_eq!(marker.window_len as usize, last.start - HEADER_LEN);
        assert_eq!(
            marker.window_crc,
            format::crc(seed, &bytes[HEADER_LEN..last.start])
        );
        assert_eq!(frames.iter().filter(|f| f.index.is_none()).count(), 1);
    }
    // Readers take the marker in their stride.
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(read(&wal), ((1..=300).collect(), None));
    assert_eq!(read_ref(&wal), ((1..=300).collect(), None));
}

#[test]
fn a_pass_reading_ahead_finds_a_flipped_byte_at_its_frame_across_chunk_boundaries() {
    // Segments of several MiB are read ahead by a second thread a MiB at a time: frames
    // cross chunk boundaries, some longer than what the pass moves between chunks.
    for sync_every in [0u64, 40] {
        let fs = SimFs::new();
        let opts = sim_opts(&fs)
            .segment_size(12 << 20)
            .max_entry_size(1 << 20)
            .sync(SyncPolicy::Never);
        let wal = Wal::open(dir(), opts.clone()).unwrap();
        for i in 1..=900u64 {
            let len = match i % 9 {
                0 => 70_000 + i as usize,
                1..=3 => 3_000 + i as usize,
                _ => 100,
            };
            wal.append(&Blob::new((i % 5 + 1) as u8, vec![i as u8; len]))
                .unwrap();
            if sync_every > 0 && i % sync_every == 0 {
                wal.sync().unwrap();
            }
        }
        wal.close().unwrap();
        let wal = Wal::open(dir(), opts).unwrap();
        let segs = segment_files(&fs, &dir());
        assert!(
            fs.read_file(&segs[0]).unwrap().len() > 6 << 20,
            "{sync_every}"
        );
        assert_eq!(verified(&wal), None);
        let seg = &segs[0];
        let clean = fs.read_file(seg).unwrap();
        let frames = frames(&clean);
        // The frames holding each MiB boundary, and every 37th frame.
        let mut picked: Vec<&Frame> = frames.iter().step_by(37).collect();
        for mib in 1..=6usize {
            if let Some(f) = frames
                .iter()
                .find(|f| f.start <= mib << 20 && f.end > mib << 20)
            {
                picked.push(f);
            }
        }
        for f in picked {
            for at in [
                f.start,
                f.start + 5,
                f.start + 12,
                usize::midpoint(f.start, f.end),
                f.end - 1,
            ] {
                let what = format!("sync every {sync_every}");
                flip_is_found_at((&fs, &wal, &what), seg, &clean, (at, 0x40), f.start);
            }
        }
        fs.write_file(seg, &clean);
        assert_eq!(verified(&wal), None);
    }
}

#[test]
fn a_byte_flipped_in_a_footer_is_found_at_the_footer() {
    let (fs, opts, segs) = windowed_log();
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(verified(&wal), None);
    let seg = &segs[0];
    let clean = fs.read_file(seg).unwrap();
    let footer = frames(&clean).last().unwrap().end;
    for at in footer..clean.len() {
        flip_is_found_at((&fs, &wal, "footer"), seg, &clean, (at, 0x01), footer);
    }
    fs.write_file(seg, &clean);
    assert_eq!(verified(&wal), None);
}
