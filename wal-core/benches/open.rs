//! Open time does not grow with history: a log with 1 GiB in sealed segments is opened
//! and its last entry read. `cargo bench -p wal-core --bench open`
#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use wal_core::{Options, SyncPolicy, Wal};

fn build(dir: &std::path::Path, entry: usize, total: u64) -> u64 {
    let wal = Wal::open(dir, Options::default().sync(SyncPolicy::Never)).unwrap();
    let e = Bytes(vec![0xab; entry]);
    let n = total / (entry as u64 + 18) + 100;
    for _ in 0..n {
        wal.append(&e).unwrap();
    }
    wal.close().unwrap();
    n
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("open 1 GiB and read the last entry");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    for entry in [100usize, 4096] {
        let dir = tempfile::tempdir().unwrap();
        let n = build(dir.path(), entry, 1 << 30);
        g.bench_function(format!("{entry} B entries ({n} entries)"), |b| {
            b.iter(|| {
                let wal = Wal::open(dir.path(), Options::default()).unwrap();
                let last = wal.get_raw(wal.last_index()).unwrap();
                black_box(last.payload().len());
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
