//! `#[wal(with = "module")]` with an encoder that may fail, and `each` for `Option`/`Vec`
//! fields of a type only the module knows.
#![allow(
    clippy::unwrap_used,
    clippy::trivially_copy_pass_by_ref,
    reason = "test code; a `with` encoder takes its value by reference"
)]

use wal_core::{Entry, WalEntry};

/// Another crate's type (the orphan rule forbids `impl Codec for Ipv4Addr` here), written
/// by a `with` module whose encoder may fail: the unspecified address is refused.
mod ipv4 {
    use std::net::Ipv4Addr;

    use wal_core::codec::Reader;
    use wal_core::{Codec, DecodeError};

    pub fn encode(ip: &Ipv4Addr, out: &mut Vec<u8>) -> Result<(), String> {
        if ip.is_unspecified() {
            return Err(format!("{ip} is not an address a peer can have"));
        }
        out.extend_from_slice(&ip.octets());
        Ok(())
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Ipv4Addr, DecodeError> {
        <[u8; 4] as Codec>::decode(r).map(Ipv4Addr::from)
    }
}

#[derive(WalEntry, Debug, PartialEq)]
#[wal(type_id = 30)]
struct Peers {
    #[wal(with = "ipv4")]
    primary: std::net::Ipv4Addr,
    #[wal(with = "ipv4", each)]
    backup: Option<std::net::Ipv4Addr>,
    #[wal(with = "ipv4", each)]
    others: Vec<std::net::Ipv4Addr>,
}

#[test]
fn a_fallible_with_module_also_serves_option_and_vec_fields() {
    use std::net::Ipv4Addr;
    let dir = tempfile::tempdir().unwrap();
    let wal = wal_core::Wal::open(dir.path(), wal_core::Options::default()).unwrap();
    let peers = Peers {
        primary: Ipv4Addr::new(10, 0, 0, 1),
        backup: Some(Ipv4Addr::new(10, 0, 0, 2)),
        others: vec![Ipv4Addr::new(10, 0, 0, 3), Ipv4Addr::new(10, 0, 0, 4)],
    };
    wal.append(&peers).unwrap();
    let lonely = Peers {
        backup: None,
        others: vec![],
        ..peers
    };
    wal.append(&lonely).unwrap();
    assert_eq!(wal.get::<Peers>(1).unwrap().others.len(), 2);
    assert_eq!(wal.get::<Peers>(2).unwrap(), lonely);
    // The encoder's refusal is the append's error; nothing is appended.
    let bad = Peers {
        others: vec![Ipv4Addr::UNSPECIFIED],
        ..lonely
    };
    let err = wal.append(&bad).unwrap_err();
    assert!(
        matches!(err, wal_core::Error::Encode { type_id: 30, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("0.0.0.0 is not an address"),
        "{err}"
    );
    assert_eq!(wal.last_index(), 2);
    // A count beyond the bytes left is refused before anything is allocated.
    let mut payload = vec![10, 0, 0, 1, 0];
    payload.extend_from_slice(&u32::MAX.to_le_bytes());
    let err = Peers::decode(30, &payload).unwrap_err();
    assert!(
        err.to_string().starts_with("field `Peers.others`: "),
        "{err}"
    );
}
