//! Registries of separate entry types: duplicates refused, unknown types named.
use crate::common;

use common::{Blob, dir, sim_opts};
use wal_core::testing::SimFs;
use wal_core::{DecodeError, Dispatcher, EncodeError, Entry, EntryRegistry, Error, Wal};

#[derive(Debug, PartialEq)]
struct Put(String);
#[derive(Debug, PartialEq)]
struct Del(String);
struct AlsoOne;

macro_rules! string_entry {
    ($t:ident, $id:expr) => {
        impl Entry for $t {
            const TYPE_IDS: &'static [u8] = &[$id];
            fn type_id(&self) -> u8 {
                $id
            }
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                out.extend_from_slice(self.0.as_bytes());
                Ok(())
            }
            fn decode(_: u8, p: &[u8]) -> Result<Self, DecodeError> {
                String::from_utf8(p.to_vec())
                    .map($t)
                    .map_err(DecodeError::custom)
            }
        }
    };
}
string_entry!(Put, 1);
string_entry!(Del, 2);

impl Entry for AlsoOne {
    const TYPE_IDS: &'static [u8] = &[1];
    fn type_id(&self) -> u8 {
        1
    }
    fn encode(&self, _: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
    fn decode(_: u8, _: &[u8]) -> Result<Self, DecodeError> {
        Ok(AlsoOne)
    }
}

#[test]
fn a_second_type_for_one_id_is_refused() {
    let err = EntryRegistry::new()
        .with::<Put>()
        .unwrap()
        .with::<AlsoOne>()
        .unwrap_err();
    match err {
        Error::DuplicateEntryType {
            type_id: 1,
            first,
            second,
        } => {
            assert!(
                first.ends_with("Put") && second.ends_with("AlsoOne"),
                "{first} {second}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Dispatcher::new()
            .on(|_, _: Put| ())
            .unwrap()
            .on(|_, _: AlsoOne| ()),
        Err(Error::DuplicateEntryType { type_id: 1, .. })
    ));
}

#[test]
fn registry_decodes_boxed_values_and_names_unknown_types_with_their_index() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    wal.append(&Put("a".into())).unwrap();
    wal.append(&Del("a".into())).unwrap();
    wal.append(&Blob::new(9, b"?".to_vec())).unwrap();
    let registry = EntryRegistry::new()
        .with::<Put>()
        .unwrap()
        .with::<Del>()
        .unwrap();
    let mut it = wal.iter().unwrap();
    let put = registry.decode(&it.next().unwrap().unwrap()).unwrap();
    assert_eq!(put.downcast_ref::<Put>(), Some(&Put("a".into())));
    let del = registry.decode(&it.next().unwrap().unwrap()).unwrap();
    assert_eq!(del.downcast_ref::<Del>(), Some(&Del("a".into())));
    let raw = it.next().unwrap().unwrap();
    let err = registry.decode(&raw).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnknownEntryType {
                index: 3,
                type_id: 9
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "unknown entry type 9 at index 3");
    // Typed decoding names them too.
    assert!(matches!(
        raw.decode::<Put>(),
        Err(Error::UnknownEntryType {
            index: 3,
            type_id: 9
        })
    ));
    assert!(matches!(
        wal.replay(|_, _: Put| ()),
        Err(Error::UnknownEntryType {
            index: 2,
            type_id: 2
        })
    ));
}

#[test]
fn dispatcher_calls_the_typed_handler_and_skips_only_ignorable_unknowns() {
    let fs = SimFs::new();
    let wal = Wal::open(dir(), sim_opts(&fs)).unwrap();
    wal.append(&Put("k".into())).unwrap();
    wal.append(&Del("k".into())).unwrap();
    let (mut puts, mut dels) = (Vec::new(), Vec::new());
    {
        let mut d = Dispatcher::new()
            .on(|i, p: Put| puts.push((i, p.0)))
            .unwrap()
            .on(|i, d: Del| dels.push((i, d.0)))
            .unwrap();
        for raw in wal.iter().unwrap() {
            d.dispatch(&raw.unwrap()).unwrap();
        }
    }
    assert_eq!(puts, vec![(1, "k".to_string())]);
    assert_eq!(dels, vec![(2, "k".to_string())]);
    let mut only_puts = Dispatcher::new().on(|_, _: Put| ()).unwrap();
    let raws: Vec<_> = wal.iter().unwrap().map(Result::unwrap).collect();
    assert!(matches!(
        only_puts.dispatch(&raws[1]),
        Err(Error::UnknownEntryType {
            index: 2,
            type_id: 2
        })
    ));
    // A bad payload is a decode error naming the index.
    wal.append(&Blob::new(1, vec![0xff, 0xfe])).unwrap();
    let raw = wal.iter_from(3).unwrap().next().unwrap().unwrap();
    assert!(matches!(
        raw.decode::<Put>(),
        Err(Error::Decode {
            index: 3,
            type_id: 1,
            ..
        })
    ));
}
