//! Iteration reads frames by length and never calls a decoder.
use crate::common;

use common::{Blob, DECODES, dir, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{SyncPolicy, Wal};

#[test]
fn lazy_iteration_never_calls_decode() {
    let fs = SimFs::new();
    let wal = Wal::open(
        dir(),
        sim_opts(&fs).segment_size(4096).sync(SyncPolicy::Never),
    )
    .unwrap();
    for i in 1..=1000 {
        wal.append(&Blob::nth(i)).unwrap();
    }
    DECODES.set(0);
    let mut n = 0;
    let mut bytes = 0;
    for raw in wal.iter().unwrap() {
        let raw = raw.unwrap();
        n += 1;
        bytes += raw.payload().len();
        assert_eq!(raw.type_id(), Blob::nth(raw.index()).ty);
    }
    let skipped = wal
        .iter_from(900)
        .unwrap()
        .filter(|r| r.as_ref().unwrap().type_id() == 3)
        .count();
    assert_eq!(n, 1000);
    assert_eq!(
        bytes,
        (1..=1000).map(|i| Blob::nth(i).data.len()).sum::<usize>()
    );
    assert_eq!(skipped, 20);
    assert_eq!(DECODES.get(), 0, "iteration decoded entries");
    wal.replay(|_, _: Blob| ()).unwrap();
    assert_eq!(DECODES.get(), 1000);
}
