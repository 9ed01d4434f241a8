//! `#[wal(serde = json | postcard | bincode)]` and the wrappers of `wal_core::formats`:
//! round trips (proptest), schema evolution per format, enums whose variants keep their
//! type ids, decode errors that name the entry, and a protobuf message as an entry.
#![allow(clippy::unwrap_used, reason = "test code")]

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use wal_core::formats::{Bincode, Json, Postcard, Prost};
use wal_core::{Entry, Error, Options, Wal, WalEntry};

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 1, serde = json)]
struct JsonEvent {
    id: u64,
    name: String,
    tags: Vec<String>,
    amount: Option<i64>,
}

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 2, serde = postcard)]
struct PostcardEvent {
    id: u64,
    name: String,
    tags: Vec<String>,
    amount: Option<i64>,
}

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(type_id = 3, serde = "bincode")]
struct BincodeEvent {
    id: u64,
    name: String,
    tags: Vec<String>,
    amount: Option<i64>,
}

#[derive(WalEntry, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[wal(serde = postcard)]
enum Account {
    #[wal(type_id = 10)]
    Opened { owner: String },
    #[wal(type_id = 11)]
    Deposited { cents: u64 },
    #[wal(type_id = 12, ignorable)]
    Noted(String),
}

fn log() -> (tempfile::TempDir, Wal) {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), Options::default()).unwrap();
    (dir, wal)
}

fn event() -> impl Strategy<Value = (u64, String, Vec<String>, Option<i64>)> {
    (
        any::<u64>(),
        ".{0,40}",
        prop::collection::vec(".{0,10}", 0..5),
        any::<Option<i64>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_format_round_trips_through_the_log((id, name, tags, amount) in event()) {
        let (_dir, wal) = log();
        let j = JsonEvent { id, name: name.clone(), tags: tags.clone(), amount };
        let p = PostcardEvent { id, name: name.clone(), tags: tags.clone(), amount };
        let b = BincodeEvent { id, name: name.clone(), tags: tags.clone(), amount };
        let w = Json::<(u64, String), 40>((id, name.clone()));
        wal.append(&j).unwrap();
        wal.append(&p).unwrap();
        wal.append(&b).unwrap();
        wal.append(&w).unwrap();
        wal.append(&Postcard::<Vec<String>, 41>(tags.clone())).unwrap();
        wal.append(&Bincode::<Option<i64>, 42>(amount)).unwrap();
        prop_assert_eq!(wal.get::<JsonEvent>(1).unwrap(), j);
        prop_assert_eq!(wal.get::<PostcardEvent>(2).unwrap(), p);
        prop_assert_eq!(wal.get::<BincodeEvent>(3).unwrap(), b);
        prop_assert_eq!(wal.get::<Json<(u64, String), 40>>(4).unwrap(), w);
        prop_assert_eq!(wal.get::<Postcard<Vec<String>, 41>>(5).unwrap().0, tags);
        prop_assert_eq!(wal.get::<Bincode<Option<i64>, 42>>(6).unwrap().0, amount);
    }
}

#[test]
fn enum_variants_keep_their_type_ids_and_a_mismatch_is_refused() {
    let (_dir, wal) = log();
    let ops = vec![
        Account::Opened {
            owner: "ada".into(),
        },
        Account::Deposited { cents: 500 },
        Account::Noted("fine".into()),
    ];
    for op in &ops {
        wal.append(op).unwrap();
    }
    let types: Vec<u8> = wal.iter().unwrap().map(|r| r.unwrap().type_id()).collect();
    assert_eq!(types, [10, 11, 12]);
    let mut back = Vec::new();
    wal.replay(|_, a: Account| back.push(a)).unwrap();
    assert_eq!(back, ops);
    assert_eq!(Account::type_name(11), Some("Deposited"));
    // A payload of one variant under another's type id is refused, naming both.
    let payload = wal.get_raw(1).unwrap().payload().to_vec();
    let err = Account::decode(11, &payload).unwrap_err();
    assert!(err.to_string().contains("type id 10, not 11"), "{err}");
}

#[test]
fn json_evolves_by_serde_default() {
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(type_id = 1, serde = json)]
    struct V1 {
        id: u64,
    }
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(type_id = 1, serde = json)]
    struct V2 {
        id: u64,
        #[serde(default)]
        note: Option<String>,
    }
    let (_dir, wal) = log();
    wal.append(&V1 { id: 7 }).unwrap();
    wal.append(&V2 {
        id: 8,
        note: Some("x".into()),
    })
    .unwrap();
    assert_eq!(
        wal.get::<V2>(1).unwrap(),
        V2 { id: 7, note: None },
        "new reads old"
    );
    assert_eq!(
        wal.get::<V1>(2).unwrap(),
        V1 { id: 8 },
        "old reads new (unknown field ignored)"
    );
}

#[test]
fn a_decode_error_names_the_entry_and_the_formats_reason() {
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(type_id = 1, serde = json)]
    struct Narrow {
        id: u8,
    }
    let (_dir, wal) = log();
    wal.append(&Json::<serde_json::Value, 1>(
        serde_json::json!({"id": 300}),
    ))
    .unwrap();
    wal.append(&Json::<serde_json::Value, 1>(
        serde_json::json!({"other": 1}),
    ))
    .unwrap();
    let err = wal.get::<Narrow>(1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                index: 1,
                type_id: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("300"), "{err}");
    let err = wal.get::<Narrow>(2).unwrap_err().to_string();
    assert!(
        err.contains("index 2") && err.contains("missing field `id`"),
        "{err}"
    );
    // Postcard refuses bytes left over.
    wal.append(&Postcard::<(u8, u8), 2>((1, 2))).unwrap();
    let err = wal.get::<Postcard<u8, 2>>(3).unwrap_err().to_string();
    assert!(err.contains("unexpected bytes"), "{err}");
}

#[derive(Clone, PartialEq, prost::Message)]
struct Transfer {
    #[prost(string, tag = "1")]
    from: String,
    #[prost(uint64, tag = "2")]
    cents: u64,
}

#[test]
fn a_protobuf_message_is_an_entry() {
    let (_dir, wal) = log();
    let t = Transfer {
        from: "ada".into(),
        cents: 42,
    };
    wal.append(&Prost::<Transfer, 20>(t.clone())).unwrap();
    assert_eq!(wal.get::<Prost<Transfer, 20>>(1).unwrap().0, t);
    let err = wal.get::<Prost<Transfer, 21>>(1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnknownEntryType {
                index: 1,
                type_id: 20
            }
        ),
        "{err}"
    );
}

#[test]
fn postcard_and_bincode_evolve_by_new_type_ids_not_new_fields() {
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(serde = postcard)]
    enum V1 {
        #[wal(type_id = 1)]
        Put { key: String },
    }
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(serde = postcard)]
    enum V2 {
        #[wal(type_id = 1)]
        Put { key: String },
        #[wal(type_id = 2)]
        PutWithTtl { key: String, ttl: u32 },
    }
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(type_id = 1, serde = bincode)]
    struct B1 {
        key: String,
    }
    #[derive(WalEntry, Serialize, Deserialize, Debug, PartialEq)]
    #[wal(type_id = 1, serde = bincode)]
    struct B2 {
        key: String,
        #[serde(default)]
        ttl: Option<u32>,
    }
    let (_dir, wal) = log();
    wal.append(&V1::Put { key: "a".into() }).unwrap();
    wal.append(&V2::PutWithTtl {
        key: "b".into(),
        ttl: 5,
    })
    .unwrap();
    // A new variant (a new type id) reads old entries; an old reader names the type it lacks.
    assert_eq!(wal.get::<V2>(1).unwrap(), V2::Put { key: "a".into() });
    assert!(matches!(
        wal.get::<V1>(2),
        Err(Error::UnknownEntryType {
            index: 2,
            type_id: 2
        })
    ));
    // A field added to a non-self-describing format does not read old entries: an error
    // naming the entry, never a wrong value.
    wal.append(&B1 { key: "c".into() }).unwrap();
    let err = wal.get::<B2>(3).unwrap_err();
    assert!(matches!(err, Error::Decode { index: 3, .. }), "{err}");
}

#[derive(Clone, PartialEq, prost::Message)]
struct TransferV2 {
    #[prost(string, tag = "1")]
    from: String,
    #[prost(uint64, tag = "2")]
    cents: u64,
    #[prost(string, tag = "3")]
    memo: String,
}

#[test]
fn protobuf_evolves_by_new_field_numbers() {
    let (_dir, wal) = log();
    wal.append(&Prost::<Transfer, 20>(Transfer {
        from: "ada".into(),
        cents: 1,
    }))
    .unwrap();
    wal.append(&Prost::<TransferV2, 20>(TransferV2 {
        from: "bob".into(),
        cents: 2,
        memo: "rent".into(),
    }))
    .unwrap();
    let old_as_new = wal.get::<Prost<TransferV2, 20>>(1).unwrap().0;
    assert_eq!((old_as_new.cents, old_as_new.memo.as_str()), (1, ""));
    let new_as_old = wal.get::<Prost<Transfer, 20>>(2).unwrap().0;
    assert_eq!((new_as_old.from.as_str(), new_as_old.cents), ("bob", 2));
}
