//! Random access by index against a model, across many segments and a reopen.
use crate::common;

use common::{Blob, dir, segment_files, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{Error, SyncPolicy, Wal};

/// A small deterministic generator (xorshift), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn random_get_matches_the_model_for_100_000_entries() {
    const N: u64 = 100_000;
    let fs = SimFs::new();
    let opts = sim_opts(&fs)
        .segment_size(128 * 1024)
        .sync(SyncPolicy::Never);
    let wal = Wal::open(dir(), opts.clone()).unwrap();
    for i in 1..=N {
        assert_eq!(wal.append(&Blob::nth(i)).unwrap(), i);
    }
    let check = |wal: &Wal, seed: u64| {
        let mut rng = Rng(seed);
        for _ in 0..20_000 {
            let i = 1 + rng.below(N);
            assert_eq!(wal.get::<Blob>(i).unwrap(), Blob::nth(i), "index {i}");
        }
        for i in [1, 2, N / 2, N - 1, N] {
            assert_eq!(wal.get::<Blob>(i).unwrap(), Blob::nth(i));
            assert_eq!(
                wal.iter_from(i).unwrap().next().unwrap().unwrap().index(),
                i
            );
        }
        assert!(matches!(
            wal.get_raw(0),
            Err(Error::IndexOutOfRange { index: 0, .. })
        ));
        assert!(matches!(
            wal.get_raw(N + 1),
            Err(Error::IndexOutOfRange { .. })
        ));
        let range: Vec<Blob> = wal.get_range(500..520).unwrap();
        assert_eq!(range, (500..520).map(Blob::nth).collect::<Vec<_>>());
        assert!(wal.get_range::<Blob>(N..N + 2).is_err());
        assert!(wal.get_range::<Blob>(N + 1..N + 1).unwrap().is_empty());
    };
    check(&wal, 0x9e37_79b9_7f4a_7c15);
    wal.close().unwrap();
    assert!(segment_files(&fs, &dir()).len() > 20);
    // After a reopen the positions come from the sealed segments' footers.
    let wal = Wal::open(dir(), opts).unwrap();
    assert_eq!(wal.recovery_report().entries, N);
    check(&wal, 42);
}

#[test]
fn append_at_refuses_duplicate_and_out_of_order_indexes() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    wal.append_at(1, &Blob::nth(1)).unwrap();
    wal.append_at(2, &Blob::nth(2)).unwrap();
    let err = wal.append_at(2, &Blob::nth(2)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::IndexMismatch {
                expected: 3,
                given: 2
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "append at index 2 refused: the next index is 3"
    );
    assert!(matches!(
        wal.append_at(5, &Blob::nth(5)),
        Err(Error::IndexMismatch {
            expected: 3,
            given: 5
        })
    ));
    assert_eq!(wal.last_index(), 2);
}

#[test]
fn append_batch_at_takes_a_batch_only_at_the_next_index() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    let batch = |from: u64| (from..from + 3).map(Blob::nth).collect::<Vec<_>>();
    assert_eq!(wal.append_batch_at(1, &batch(1)).unwrap(), 1..4);
    for (given, entries) in [(3, batch(3)), (5, batch(5)), (5, Vec::new())] {
        assert!(
            matches!(
                wal.append_batch_at(given, &entries),
                Err(Error::IndexMismatch { expected: 4, given: g }) if g == given
            ),
            "{given}"
        );
    }
    assert_eq!(wal.append_batch_at(4, &Vec::<Blob>::new()).unwrap(), 4..4);
    assert_eq!(wal.append_batch_at(4, &batch(4)).unwrap(), 4..7);
    assert_eq!(wal.last_index(), 6);
    let all: Vec<_> = wal.get_range::<Blob>(1..7).unwrap();
    assert_eq!(all, (1..7).map(Blob::nth).collect::<Vec<_>>());
}
