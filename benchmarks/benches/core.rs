//! Criterion benchmarks of this library's hot paths: frame encode and verify, append under
//! `SyncPolicy::Never`, replay, and derived encode and decode.
//! `cargo bench --bench core` (from `benchmarks/`).
#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark code")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wal_core::format::{FrameCheck, check_frame, crc_seed, encode_frame};
use wal_core::{Entry, Options, SyncPolicy, Wal, WalEntry};

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 1)]
struct Put {
    key: String,
    value: Vec<u8>,
    version: u64,
}

#[derive(WalEntry)]
#[wal(type_id = 2)]
struct Blob(#[wal(with = "raw")] Vec<u8>);

mod raw {
    pub fn encode(v: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(v);
    }
    pub fn decode(r: &mut wal_core::Reader<'_>) -> Result<Vec<u8>, wal_core::DecodeError> {
        Ok(r.take(r.remaining())?.to_vec())
    }
}

const SIZES: [usize; 2] = [100, 4096];

fn frame(c: &mut Criterion) {
    let seed = crc_seed(7);
    let mut g = c.benchmark_group("frame");
    for size in SIZES {
        let payload = wal_benchmarks::payload::payload(1, size);
        g.throughput(Throughput::Bytes(size as u64));
        let mut out = Vec::with_capacity(size + 64);
        g.bench_with_input(BenchmarkId::new("encode", size), &payload, |b, p| {
            b.iter(|| {
                out.clear();
                black_box(encode_frame(&mut out, seed, 1, 0, 42, black_box(p)))
            });
        });
        let mut frame = Vec::new();
        encode_frame(&mut frame, seed, 1, 0, 42, &payload);
        g.bench_with_input(BenchmarkId::new("verify", size), &frame, |b, f| {
            b.iter(|| {
                let check = check_frame(black_box(f), seed, 1 << 20);
                assert!(matches!(check, FrameCheck::Valid(_)));
            });
        });
    }
    g.finish();
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append, SyncPolicy::Never");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(
            dir.path(),
            Options::default()
                .sync(SyncPolicy::Never)
                .max_segments(Some(4)),
        )
        .unwrap();
        let e = Blob(wal_benchmarks::payload::payload(1, size));
        g.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| black_box(wal.append(&e).unwrap()));
        });
    }
    g.finish();
}

fn replay(c: &mut Criterion) {
    let mut g = c.benchmark_group("replay (open + iterate, CRC checked)");
    g.sample_size(10);
    for (size, n) in [(100usize, 200_000u64), (4096, 20_000)] {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path(), Options::default().sync(SyncPolicy::Never)).unwrap();
        let e = Blob(wal_benchmarks::payload::payload(1, size));
        for _ in 0..n {
            wal.append(&e).unwrap();
        }
        wal.close().unwrap();
        g.throughput(Throughput::Elements(n));
        g.bench_function(BenchmarkId::new(format!("{size} B"), n), |b| {
            b.iter(|| {
                let wal = Wal::open(dir.path(), Options::default()).unwrap();
                let mut bytes = 0;
                for e in wal.iter().unwrap() {
                    bytes += e.unwrap().payload().len();
                }
                assert_eq!(bytes as u64, n * size as u64);
            });
        });
    }
    g.finish();
}

fn derived(c: &mut Criterion) {
    let put = Put {
        key: "user:1234".to_owned(),
        value: vec![7; 64],
        version: 99,
    };
    let mut bytes = Vec::new();
    put.encode(&mut bytes).unwrap();
    let mut g = c.benchmark_group("derived");
    let mut out = Vec::with_capacity(128);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&put).encode(&mut out).unwrap();
        });
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(Put::decode(1, black_box(&bytes)).unwrap()));
    });
    g.finish();
}

criterion_group!(benches, frame, append, replay, derived);
criterion_main!(benches);
