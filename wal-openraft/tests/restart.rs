//! Everything the log store keeps survives a reopen: entries, vote, committed and purged
//! log ids, after appends, purges and truncations.
#![allow(clippy::unwrap_used, reason = "test code")]

use openraft::storage::RaftLogStorage;
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload, RaftLogReader, Vote};
use wal_openraft::LogStore;
use wal_openraft::testing::{Request, TypeConfig};

fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(term, 1, index),
        payload: EntryPayload::Normal(Request::Set {
            key: format!("k{index}"),
            value: format!("v{index}"),
        }),
    }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn entries_vote_committed_and_purged_ids_are_read_back_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    run(async {
        let mut s = LogStore::<TypeConfig>::open(dir.path()).unwrap();
        s.append_entries(&(0..100).map(|i| entry(1 + i / 40, i)).collect::<Vec<_>>())
            .unwrap();
        s.save_vote(&Vote::new(3, 2)).await.unwrap();
        s.save_committed(Some(log_id(2, 1, 60))).await.unwrap();
        s.purge(log_id(1, 1, 29)).await.unwrap();
        s.truncate(log_id(3, 1, 90)).await.unwrap();
        s.append_entries(&[entry(4, 90), entry(4, 91)]).unwrap();
    });
    run(async {
        let mut s = LogStore::<TypeConfig>::open(dir.path()).unwrap();
        assert_eq!(s.read_vote().await.unwrap(), Some(Vote::new(3, 2)));
        assert_eq!(s.read_committed().await.unwrap(), Some(log_id(2, 1, 60)));
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 29)));
        assert_eq!(state.last_log_id, Some(log_id(4, 1, 91)));
        let all = s.try_get_log_entries(0..).await.unwrap();
        let want: Vec<_> = (30..90)
            .map(|i| entry(1 + i / 40, i))
            .chain([entry(4, 90), entry(4, 91)])
            .collect();
        assert_eq!(all, want);
        assert_eq!(s.try_get_log_entries(89..=90).await.unwrap(), want[59..61]);
        // Purged past the end: the log is empty and continues after the purged id.
        s.purge(log_id(5, 1, 500)).await.unwrap();
        s.append_entries(&[entry(5, 501)]).unwrap();
    });
    run(async {
        let mut s = LogStore::<TypeConfig>::open(dir.path()).unwrap();
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(5, 1, 500)));
        assert_eq!(state.last_log_id, Some(log_id(5, 1, 501)));
        assert_eq!(s.try_get_log_entries(0..).await.unwrap(), [entry(5, 501)]);
        assert!(s.wal().recovery_report().is_clean());
    });
}
