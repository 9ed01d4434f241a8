//! The expansion compiles cleanly under strict lints in the user's crate.
#![deny(warnings, unused_qualifications, missing_docs, unused_results)]
#![allow(clippy::unwrap_used, reason = "test code")]

use wal_core::{Entry, WalCodec, WalEntry};

/// A documented entry enum.
#[derive(WalEntry, Debug, PartialEq)]
pub enum Op {
    /// Put.
    #[wal(type_id = 1)]
    Put {
        /// Key.
        key: String,
    },
    /// Nothing.
    #[wal(type_id = 2)]
    Nop,
}

/// A documented struct entry.
#[derive(WalEntry)]
#[wal(type_id = 3)]
pub struct Mark(pub u64);

/// A documented codec type.
#[derive(WalCodec)]
pub struct Pair(pub u8, pub u8);

#[test]
fn compiles_under_deny_warnings() {
    let mut out = Vec::new();
    Op::Put { key: "k".into() }.encode(&mut out).unwrap();
    assert_eq!(Op::decode(1, &out).unwrap(), Op::Put { key: "k".into() });
    assert_eq!(Mark::TYPE_ID, 3);
}
