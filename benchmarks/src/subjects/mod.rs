//! One module per library under test.
mod commitlog;
mod okaywal;
mod raft_engine;
mod simple_wal;
mod wal_core;
mod wal_db;
mod walcraft;

use crate::Subject;

/// Every subject, this library first.
#[must_use]
pub fn all() -> Vec<Box<dyn Subject>> {
    vec![
        Box::new(wal_core::WalCore),
        Box::new(okaywal::OkayWal),
        Box::new(raft_engine::RaftEngine),
        Box::new(commitlog::CommitLog),
        Box::new(simple_wal::SimpleWal),
        Box::new(walcraft::Walcraft),
        Box::new(wal_db::WalDb),
    ]
}

/// The subject called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<Box<dyn Subject>> {
    all().into_iter().find(|s| s.name() == name)
}
