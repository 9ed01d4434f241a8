//! A derived 3-field struct against a hand-written `Entry` of the same struct and layout.
#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]
//!
//! `cargo bench -p wal-derive --bench codec`
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wal_core::{DecodeError, EncodeError, Entry, Reader, WalEntry};

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 1)]
struct Derived {
    id: u64,
    key: String,
    value: Vec<u8>,
}

#[derive(Debug, PartialEq)]
struct Manual {
    id: u64,
    key: String,
    value: Vec<u8>,
}

/// The same byte layout as the derive's: `u64`, then `u32` length + bytes, twice.
impl Entry for Manual {
    const TYPE_IDS: &'static [u8] = &[1];

    fn type_id(&self) -> u8 {
        1
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(
            &u32::try_from(self.key.len())
                .map_err(EncodeError::new)?
                .to_le_bytes(),
        );
        out.extend_from_slice(self.key.as_bytes());
        out.extend_from_slice(
            &u32::try_from(self.value.len())
                .map_err(EncodeError::new)?
                .to_le_bytes(),
        );
        out.extend_from_slice(&self.value);
        Ok(())
    }

    fn decode(_: u8, payload: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(payload);
        let id = u64::from_le_bytes(r.take_array()?);
        let len = u32::from_le_bytes(r.take_array()?) as usize;
        let key = std::str::from_utf8(r.take(len)?)
            .map_err(DecodeError::custom)?
            .to_owned();
        let len = u32::from_le_bytes(r.take_array()?) as usize;
        let value = r.take(len)?.to_vec();
        r.finish()?;
        Ok(Self { id, key, value })
    }
}

fn bench(c: &mut Criterion) {
    let derived = Derived {
        id: 42,
        key: "user:0042".into(),
        value: vec![7; 64],
    };
    let manual = Manual {
        id: 42,
        key: "user:0042".into(),
        value: vec![7; 64],
    };
    let mut out = Vec::with_capacity(256);
    derived.encode(&mut out).unwrap();
    let bytes = out.clone();
    out.clear();
    manual.encode(&mut out).unwrap();
    assert_eq!(
        out, bytes,
        "the two layouts must be identical for the comparison to mean anything"
    );

    let mut g = c.benchmark_group("encode");
    g.bench_function("derived", |b| {
        b.iter(|| {
            out.clear();
            black_box(&derived).encode(&mut out).unwrap();
            black_box(out.len())
        });
    });
    g.bench_function("hand-written", |b| {
        b.iter(|| {
            out.clear();
            black_box(&manual).encode(&mut out).unwrap();
            black_box(out.len())
        });
    });
    g.finish();
    let mut g = c.benchmark_group("decode");
    g.bench_function("derived", |b| {
        b.iter(|| Derived::decode(1, black_box(&bytes)).unwrap());
    });
    g.bench_function("hand-written", |b| {
        b.iter(|| Manual::decode(1, black_box(&bytes)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
