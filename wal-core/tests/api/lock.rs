//! One `Wal` per directory at a time.
use wal_core::{Error, Options, Wal};

#[test]
fn the_directory_lock_refuses_a_second_open_until_the_first_closes() {
    let tmp = tempfile::tempdir().unwrap();
    let first = Wal::open(tmp.path(), Options::default()).unwrap();
    let err = Wal::open(tmp.path(), Options::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { path } if path == tmp.path()),
        "{err:?}"
    );
    first.close().unwrap();
    let again = Wal::open(tmp.path(), Options::default()).unwrap();
    drop(again);
    Wal::open(tmp.path(), Options::default()).unwrap();
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<wal_core::Iter>();
}
