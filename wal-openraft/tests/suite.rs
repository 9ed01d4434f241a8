//! openraft's own storage test suite (`openraft::testing::Suite::test_all`, every case) run
//! against `LogStore`, each case on a fresh log directory.
#![allow(clippy::unwrap_used, clippy::result_large_err, reason = "test code")]

use std::sync::Arc;

use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;
use wal_openraft::LogStore;
use wal_openraft::testing::{NodeId, StateMachine, TypeConfig};

struct Builder;

impl StoreBuilder<TypeConfig, LogStore<TypeConfig>, Arc<StateMachine>, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore<TypeConfig>, Arc<StateMachine>), StorageError<NodeId>> {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::open(dir.path()).unwrap();
        Ok((dir, store, Arc::default()))
    }
}

#[test]
fn openrafts_storage_suite_passes() -> Result<(), StorageError<NodeId>> {
    Suite::test_all(Builder)
}
