//! Entries come back exactly as appended: sizes, types, batches, reopen, seeking.
use crate::common;

use common::{Blob, dir, read_all, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{Error, Options, SyncPolicy, Wal};

#[test]
fn zero_one_and_max_size_entries_round_trip_across_reopen() {
    let fs = SimFs::new();
    let max = 100_000;
    let opts = sim_opts(&fs).max_entry_size(max).segment_size(1 << 20);
    let entries = vec![
        Blob::new(1, vec![]),
        Blob::new(2, vec![7]),
        Blob::new(255, vec![0xab; max as usize]),
    ];
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(wal.append(e).unwrap(), i as u64 + 1);
    }
    let too_big = Blob::new(1, vec![0; max as usize + 1]);
    assert!(
        matches!(wal.append(&too_big), Err(Error::EntryTooLarge { size, max: m }) if size == max as usize + 1 && m == max)
    );
    assert!(matches!(
        wal.append(&Blob::new(0, vec![])),
        Err(Error::ReservedEntryType)
    ));
    assert_eq!(wal.last_index(), 3, "failed appends take no index");
    wal.close().unwrap();

    let wal = Wal::open(dir(), opts).unwrap();
    assert!(wal.recovery_report().is_clean());
    let got: Vec<Blob> = read_all(&wal).into_iter().map(|(_, b)| b).collect();
    assert_eq!(got, entries);
}

#[test]
fn real_files_round_trip_and_iter_from_seeks() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options::default()
        .segment_size(4096)
        .sync(SyncPolicy::Never);
    let wal = Wal::open(tmp.path(), opts.clone()).unwrap();
    for i in 1..=500 {
        assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
    }
    let range = wal.append_batch(&[Blob::nth(501), Blob::nth(502)]).unwrap();
    assert_eq!(range, 501..503);
    assert_eq!(wal.append_batch::<Blob>(&[]).unwrap(), 503..503);
    wal.close().unwrap();
    let wal = Wal::open(tmp.path(), opts).unwrap();
    assert_eq!((wal.first_index(), wal.last_index()), (1, 502));
    for start in [1, 2, 77, 250, 501, 502] {
        let got: Vec<u64> = wal
            .iter_from(start)
            .unwrap()
            .map(|r| r.unwrap().index())
            .collect();
        assert_eq!(got, (start..=502).collect::<Vec<_>>(), "from {start}");
        let first = wal.iter_from(start).unwrap().next().unwrap().unwrap();
        assert_eq!(first.decode::<Blob>().unwrap(), Blob::nth(start));
    }
    assert_eq!(wal.iter_from(503).unwrap().count(), 0);
    assert!(matches!(
        wal.iter_from(504),
        Err(Error::IndexOutOfRange {
            index: 504,
            first: 1,
            last: 502
        })
    ));
    assert!(matches!(
        wal.iter_from(0),
        Err(Error::IndexOutOfRange { .. })
    ));
}

#[test]
fn readers_see_entries_appended_before_they_start_under_every_policy() {
    for policy in [
        SyncPolicy::Never,
        SyncPolicy::Always,
        SyncPolicy::Interval(std::time::Duration::from_millis(5)),
    ] {
        let fs = SimFs::new();
        let wal = Wal::open(dir(), sim_opts(&fs).sync(policy)).unwrap();
        wal.append(&Blob::nth(1)).unwrap();
        assert_eq!(read_all(&wal), vec![(1, Blob::nth(1))], "{policy:?}");
    }
}

#[test]
fn open_refuses_bad_paths_and_options() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        Wal::open(&file, Options::default()),
        Err(Error::NotADirectory { .. })
    ));
    let missing = tmp.path().join("missing");
    assert!(matches!(
        Wal::open(&missing, Options::default().create_if_missing(false)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        Wal::open(tmp.path(), Options::default().segment_size(10)),
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        Wal::open(tmp.path(), Options::default().max_segment_entries(Some(0))),
        Err(Error::InvalidOptions(_))
    ));
}

/// The caller's own error, for `try_replay_from`.
#[derive(Debug)]
enum AppError {
    Wal(Error),
    Rejected(u64),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        Self::Wal(e)
    }
}

#[test]
fn try_replay_from_stops_with_the_callers_error_or_the_logs() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    for i in 1..=20 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let mut seen = Vec::new();
    let r = wal.try_replay_from(5, |i, b: Blob| {
        assert_eq!(b, Blob::nth(i));
        seen.push(i);
        if i == 12 {
            Err(AppError::Rejected(i))
        } else {
            Ok(())
        }
    });
    assert!(matches!(r, Err(AppError::Rejected(12))), "{r:?}");
    assert_eq!(seen, (5..=12).collect::<Vec<_>>());
    let r = wal.try_replay_from(50, |_, _: Blob| Ok::<(), AppError>(()));
    assert!(
        matches!(
            r,
            Err(AppError::Wal(Error::IndexOutOfRange { index: 50, .. }))
        ),
        "{r:?}"
    );
    let mut n = 0;
    wal.try_replay_from(1, |_, _: Blob| {
        n += 1;
        Ok::<(), Error>(())
    })
    .unwrap();
    assert_eq!(n, 20);
}

#[test]
fn iter_as_yields_typed_pairs_from_an_index() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    for i in 1..=30 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    let got: Vec<(u64, Blob)> = wal.iter_as(11).unwrap().map(Result::unwrap).collect();
    assert_eq!(
        got,
        (11..=30).map(|i| (i, Blob::nth(i))).collect::<Vec<_>>()
    );
    assert!(matches!(
        wal.iter_as::<Blob>(40).map(|_| ()),
        Err(Error::IndexOutOfRange { index: 40, .. })
    ));
}
