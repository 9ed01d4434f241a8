//! Schema evolution: entries written by version 1 of a type are read by version 2.
#![allow(clippy::unwrap_used, reason = "test code")]

use wal_core::{Options, SyncPolicy, Wal, WalEntry};

mod v1 {
    use wal_core::WalEntry;

    #[derive(WalEntry, Debug, PartialEq)]
    pub enum Account {
        #[wal(type_id = 1)]
        Open { id: u32, owner: String },
        #[wal(type_id = 2)]
        Deposit { id: u32, cents: u64 },
    }
}

mod v2 {
    use wal_core::WalEntry;

    /// Version 2: a field added at the end with a default, a variant added.
    #[derive(WalEntry, Debug, PartialEq)]
    pub enum Account {
        #[wal(type_id = 1)]
        Open {
            id: u32,
            owner: String,
            #[wal(default)]
            currency: Option<String>,
        },
        #[wal(type_id = 2)]
        Deposit { id: u32, cents: u64 },
        #[wal(type_id = 3)]
        Close { id: u32 },
    }
}

#[test]
fn version_1_entries_are_read_by_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::default().sync(SyncPolicy::Never);
    let wal = Wal::open(dir.path(), opts.clone()).unwrap();
    wal.append(&v1::Account::Open {
        id: 1,
        owner: "ann".into(),
    })
    .unwrap();
    wal.append(&v1::Account::Deposit { id: 1, cents: 500 })
        .unwrap();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), opts).unwrap();
    wal.append(&v2::Account::Open {
        id: 2,
        owner: "bo".into(),
        currency: Some("EUR".into()),
    })
    .unwrap();
    wal.append(&v2::Account::Close { id: 1 }).unwrap();
    let mut got = Vec::new();
    wal.replay(|_, a: v2::Account| got.push(a)).unwrap();
    assert_eq!(
        got,
        vec![
            v2::Account::Open {
                id: 1,
                owner: "ann".into(),
                currency: None
            },
            v2::Account::Deposit { id: 1, cents: 500 },
            v2::Account::Open {
                id: 2,
                owner: "bo".into(),
                currency: Some("EUR".into())
            },
            v2::Account::Close { id: 1 },
        ]
    );
    // Version 1 cannot read what only version 2 knows, and says which entry.
    let err = wal.replay(|_, _: v1::Account| ()).unwrap_err();
    assert!(
        matches!(
            err,
            wal_core::Error::Decode {
                index: 3,
                type_id: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Derived structs are entries too, and the registry of separate structs is one line.
#[test]
fn separate_struct_entries_share_a_log_through_a_registry() {
    #[derive(WalEntry, Debug, PartialEq)]
    #[wal(type_id = 1)]
    struct A(u8);
    #[derive(WalEntry, Debug, PartialEq)]
    #[wal(type_id = 2)]
    struct B(String);
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), Options::default()).unwrap();
    wal.append(&A(1)).unwrap();
    wal.append(&B("b".into())).unwrap();
    let registry = wal_core::EntryRegistry::new()
        .with::<A>()
        .unwrap()
        .with::<B>()
        .unwrap();
    let values: Vec<_> = wal
        .iter()
        .unwrap()
        .map(|r| registry.decode(&r.unwrap()).unwrap())
        .collect();
    assert_eq!(values[0].downcast_ref::<A>(), Some(&A(1)));
    assert_eq!(values[1].downcast_ref::<B>(), Some(&B("b".into())));
}
