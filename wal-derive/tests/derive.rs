//! Expansions used through `wal_core`, compiled without the implicit prelude (hygiene).
#![no_implicit_prelude]
#![allow(clippy::unwrap_used, reason = "test code")]

extern crate std;
extern crate wal_core;

use std::assert;
use std::assert_eq;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::default::Default;
use std::matches;
use std::option::Option::{self, None, Some};
use std::result::Result::Ok;
use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use wal_core::{Entry, WalCodec, WalEntry};

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 10)]
struct Named {
    id: u64,
    tags: Vec<String>,
}

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 11, ignorable)]
struct Tuple(u8, i32);

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 12)]
struct Unit;

#[derive(WalCodec, Debug, PartialEq, Clone, Default)]
struct Point {
    x: f32,
    y: f32,
}

#[derive(WalCodec, Debug, PartialEq)]
enum Shape {
    Dot,
    Circle(Point, f32),
    Poly { points: Vec<Point> },
}

mod upper {
    use ::std::string::String;
    use ::std::vec::Vec;
    use ::wal_core::codec::Reader;
    use ::wal_core::{Codec, DecodeError};

    pub fn encode(s: &str, out: &mut Vec<u8>) {
        Codec::encode(&s.to_uppercase(), out);
    }

    pub fn decode(r: &mut Reader<'_>) -> ::std::result::Result<String, DecodeError> {
        <String as Codec>::decode(r).map(|s| s.to_lowercase())
    }
}

#[derive(WalEntry, Debug, PartialEq)]
enum Op {
    #[wal(type_id = 1)]
    Put { key: String, value: Vec<u8> },
    #[wal(type_id = 2)]
    Delete(String),
    #[wal(type_id = 3, ignorable)]
    Note,
    #[wal(type_id = 4)]
    Draw {
        shape: Shape,
        #[wal(skip)]
        cached: Option<u32>,
        #[wal(with = "upper")]
        label: String,
        #[wal(default)]
        layer: u8,
    },
}

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 20)]
struct Generic<T> {
    items: Vec<T>,
    map: BTreeMap<u8, Box<T>>,
}

fn round_trip<E: Entry + std::fmt::Debug + std::cmp::PartialEq>(e: &E) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode(&mut out).unwrap();
    assert_eq!(&E::decode(e.type_id(), &out).unwrap(), e);
    out
}

#[test]
fn structs_of_every_shape_round_trip() {
    round_trip(&Named {
        id: 7,
        tags: vec!["a".to_string()],
    });
    assert_eq!(round_trip(&Tuple(1, -2)), vec![1, 0xfe, 0xff, 0xff, 0xff]);
    assert!(round_trip(&Unit).is_empty());
    assert_eq!(
        (Named::TYPE_ID, Tuple::TYPE_ID, Unit::TYPE_ID),
        (10, 11, 12)
    );
    assert!(Tuple(0, 0).ignorable() && !Unit.ignorable());
    let mut m = BTreeMap::new();
    m.insert(1, Box::new("x".to_string()));
    round_trip(&Generic {
        items: vec!["y".to_string()],
        map: m,
    });
}

#[test]
fn enums_round_trip_with_skip_with_and_default() {
    round_trip(&Op::Put {
        key: "k".to_string(),
        value: vec![1, 2],
    });
    round_trip(&Op::Delete("k".to_string()));
    round_trip(&Op::Note);
    assert_eq!(Op::TYPE_IDS, &[1, 2, 3, 4]);
    assert!(Op::Note.ignorable() && !Op::Delete(String::new()).ignorable());
    let draw = Op::Draw {
        shape: Shape::Poly {
            points: vec![Point { x: 1.0, y: 2.0 }],
        },
        cached: Some(9),
        label: "abc".to_string(),
        layer: 2,
    };
    let mut out = Vec::new();
    draw.encode(&mut out).unwrap();
    let back = Op::decode(4, &out).unwrap();
    // `skip` is not written; `with` went through the module (upper-cased on disk).
    assert_eq!(
        back,
        Op::Draw {
            shape: Shape::Poly {
                points: vec![Point { x: 1.0, y: 2.0 }]
            },
            cached: None,
            label: "abc".to_string(),
            layer: 2
        }
    );
    assert!(std::iter::Iterator::any(&mut out.windows(3), |w| w == b"ABC"));
    // A payload written before `layer` existed decodes with its default.
    out.pop();
    assert!(matches!(Op::decode(4, &out), Ok(Op::Draw { layer: 0, .. })));
    let shapes = [Shape::Dot, Shape::Circle(Point::default(), 2.5)];
    for s in shapes {
        let e = Op::Draw {
            shape: s,
            cached: None,
            label: String::new(),
            layer: 0,
        };
        round_trip(&e);
    }
}

#[test]
fn unknown_types_and_bad_payloads_are_errors_not_panics() {
    assert!(matches!(
        Op::decode(9, &[]),
        std::result::Result::Err(wal_core::DecodeError::UnknownType(9))
    ));
    assert!(matches!(
        Named::decode(11, &[]),
        std::result::Result::Err(wal_core::DecodeError::UnknownType(11))
    ));
    assert!(matches!(
        Tuple::decode(11, &[1, 0, 0, 0, 0, 9]),
        std::result::Result::Err(wal_core::DecodeError::TrailingBytes(1))
    ));
    // A bad field is named: the type (or variant) and the field, then the cause.
    let err = Op::decode(4, &[7]).unwrap_err();
    assert!(
        matches!(&err, wal_core::DecodeError::InField { ty: "Op::Draw", field: "shape", inner }
            if matches!(**inner, wal_core::DecodeError::Invalid(_))),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("field `Op::Draw.shape`: "),
        "{err}"
    );
    let err = Named::decode(10, &[1, 0, 0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `Named.id`: payload ended early: 8 bytes needed at byte 0, 3 remain"
    );
    let registry = Op::registry();
    assert!(registry.contains(1) && registry.contains(4) && !registry.contains(5));
    let _: Option<u8> = None;
    let _: u8 = Default::default();
}

#[test]
fn type_names_are_the_struct_or_the_variant() {
    assert_eq!(Named::type_name(10), Some("Named"));
    assert_eq!(Named::type_name(11), None);
    assert_eq!(Unit::type_name(12), Some("Unit"));
    assert_eq!(Op::type_name(1), Some("Put"));
    assert_eq!(Op::type_name(2), Some("Delete"));
    assert_eq!(Op::type_name(200), None);
}
