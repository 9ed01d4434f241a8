//! Arbitrary values of a derived enum that uses every supported field type round-trip.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use wal_core::{Entry, WalCodec, WalEntry};

#[derive(WalCodec, Debug, Clone, PartialEq)]
enum Inner {
    A,
    B(u16, String),
    C { v: Vec<i8> },
}

#[derive(WalEntry, Debug, Clone, PartialEq)]
enum Every {
    #[wal(type_id = 1)]
    Ints {
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: u128,
        f: i8,
        g: i16,
        h: i32,
        i: i64,
        j: i128,
        k: usize,
        l: isize,
    },
    #[wal(type_id = 2)]
    Floats(f32, f64),
    #[wal(type_id = 3)]
    Text { b: bool, c: char, s: String },
    #[wal(type_id = 4)]
    Containers {
        bytes: Vec<u8>,
        words: Vec<u32>,
        opt: Option<String>,
        arr: [u16; 3],
        tup: (u8, String, bool),
        boxed: Box<i64>,
    },
    #[wal(type_id = 5)]
    Maps {
        bt: BTreeMap<u32, String>,
        hm: HashMap<String, Vec<u8>>,
    },
    #[wal(type_id = 6)]
    Nested {
        inner: Inner,
        many: Vec<Inner>,
        maybe: Option<Box<Inner>>,
    },
    #[wal(type_id = 7)]
    Unit,
}

fn inner() -> impl Strategy<Value = Inner> {
    prop_oneof![
        Just(Inner::A),
        (any::<u16>(), ".{0,8}").prop_map(|(a, s)| Inner::B(a, s)),
        proptest::collection::vec(any::<i8>(), 0..8).prop_map(|v| Inner::C { v }),
    ]
}

fn every() -> impl Strategy<Value = Every> {
    prop_oneof![
        (
            any::<(u8, u16, u32, u64, u128, i8)>(),
            any::<(i16, i32, i64, i128, usize, isize)>()
        )
            .prop_map(|((a, b, c, d, e, f), (g, h, i, j, k, l))| Every::Ints {
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                h,
                i,
                j,
                k,
                l
            }),
        (
            any::<f32>().prop_filter("NaN", |f| !f.is_nan()),
            any::<f64>().prop_filter("NaN", |f| !f.is_nan())
        )
            .prop_map(|(a, b)| Every::Floats(a, b)),
        (any::<bool>(), any::<char>(), ".{0,16}").prop_map(|(b, c, s)| Every::Text { b, c, s }),
        (
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u32>(), 0..8),
            proptest::option::of(".{0,4}"),
            any::<[u16; 3]>(),
            (any::<u8>(), ".{0,4}", any::<bool>()),
            any::<i64>()
        )
            .prop_map(|(bytes, words, opt, arr, tup, b)| Every::Containers {
                bytes,
                words,
                opt,
                arr,
                tup,
                boxed: Box::new(b)
            }),
        (
            proptest::collection::btree_map(any::<u32>(), ".{0,4}", 0..4),
            proptest::collection::hash_map(
                ".{0,4}",
                proptest::collection::vec(any::<u8>(), 0..4),
                0..4
            )
        )
            .prop_map(|(bt, hm)| Every::Maps { bt, hm }),
        (
            inner(),
            proptest::collection::vec(inner(), 0..4),
            proptest::option::of(inner().prop_map(Box::new))
        )
            .prop_map(|(inner, many, maybe)| Every::Nested { inner, many, maybe }),
        Just(Every::Unit),
    ]
}

proptest! {
    #[test]
    fn every_field_type_round_trips(v in every()) {
        let mut out = Vec::new();
        v.encode(&mut out).unwrap();
        prop_assert_eq!(Every::decode(v.type_id(), &out).unwrap(), v.clone());
        // Every strict prefix is an error (no field has a default), never a panic or a value.
        for cut in 0..out.len() {
            let w = Every::decode(v.type_id(), &out[..cut]);
            prop_assert!(w.is_err(), "prefix of {} bytes decoded: {:?}", cut, w);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(t in 1u8..=8, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Every::decode(t, &bytes);
    }
}
