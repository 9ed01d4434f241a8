//! The log store on the simulated file system, crashed at every operation of a sequence of
//! appends, votes, purges and truncations, under every crash model: after recovery the vote
//! is never older than one acknowledged, no acknowledged entry is lost, no purged entry
//! reappears, and openraft's invariants hold (last purged ≤ last log id, indexes contiguous).
#![allow(clippy::unwrap_used, reason = "test code")]

use std::sync::Arc;

use openraft::storage::RaftLogStorage;
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload, RaftLogReader, Vote};
use wal_core::Options;
use wal_core::testing::{Crash, SimFs, explore_crashes};
use wal_openraft::LogStore;
use wal_openraft::testing::{Request, TypeConfig};

fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
    Entry {
        log_id: log_id(term, 1, index),
        payload: EntryPayload::Normal(Request::Set {
            key: format!("k{index}"),
            value: format!("{term}-{index}"),
        }),
    }
}

fn open(fs: &SimFs) -> wal_core::Result<LogStore<TypeConfig>> {
    let opts = Options::default()
        .file_system(Arc::new(fs.clone()))
        .segment_size(4096);
    LogStore::open_with("/raft", opts)
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// What the sequence saw acknowledged.
#[derive(Debug, Default, Clone)]
struct Acked {
    /// The newest vote term acknowledged.
    vote: u64,
    /// Entries acknowledged and not since truncated: `(index, term)`.
    entries: Vec<(u64, u64)>,
    /// The highest purged index acknowledged.
    purged: Option<u64>,
}

/// Appends in batches, votes, purges and truncates; stops at the first error.
fn sequence(fs: &SimFs) -> Acked {
    let mut acked = Acked::default();
    let Ok(mut s) = open(fs) else { return acked };
    run(async {
        for round in 0..4u64 {
            let term = round + 1;
            if s.save_vote(&Vote::new(term, 1)).await.is_err() {
                return;
            }
            acked.vote = term;
            let next = acked
                .entries
                .last()
                .map_or(acked.purged.map_or(0, |p| p + 1), |&(i, _)| i + 1);
            let batch: Vec<_> = (next..next + 12).map(|i| entry(term, i)).collect();
            if s.append_entries(&batch).is_err() {
                return;
            }
            acked.entries.extend((next..next + 12).map(|i| (i, term)));
            // A conflicting suffix: from the call on, those entries may be gone.
            let cut = next + 9;
            acked.entries.retain(|&(i, _)| i < cut);
            if s.truncate(log_id(term, 1, cut)).await.is_err() {
                return;
            }
            let purge = next + 3;
            acked.entries.retain(|&(i, _)| i > purge);
            if s.purge(log_id(term, 1, purge)).await.is_err() {
                return;
            }
            acked.purged = Some(purge);
        }
        // A snapshot past the end: purge beyond the last entry, then continue after it.
        let far = acked.entries.last().map_or(0, |&(i, _)| i) + 50;
        acked.entries.clear();
        if s.purge(log_id(9, 1, far)).await.is_err() {
            return;
        }
        acked.purged = Some(far);
        if s.append_entries(&[entry(9, far + 1)]).is_ok() {
            acked.entries.push((far + 1, 9));
        }
    });
    acked
}

#[test]
fn a_crash_at_every_operation_keeps_the_vote_the_entries_and_the_purge() {
    let models = common_models();
    let states = explore_crashes(SimFs::new, &models, sequence, |point, image, acked| {
        let what = format!("{point:?}");
        let mut s = open(&image).unwrap_or_else(|e| panic!("{what}: {e}"));
        run(async {
            let vote = s.read_vote().await.unwrap();
            assert!(
                vote.map_or(0, |v| v.leader_id().term) >= acked.vote,
                "{what}: vote {vote:?} older than term {}",
                acked.vote
            );
            let state = s.get_log_state().await.unwrap();
            let purged = state.last_purged_log_id.map(|l| l.index);
            assert!(purged >= acked.purged, "{what}: purge undone: {purged:?}");
            assert!(
                state.last_purged_log_id <= state.last_log_id,
                "{what}: last purged {:?} > last log {:?}",
                state.last_purged_log_id,
                state.last_log_id
            );
            let entries = s.try_get_log_entries(0..).await.unwrap();
            for (expected, e) in (purged.map_or(0, |p| p + 1)..).zip(&entries) {
                assert_eq!(e.log_id.index, expected, "{what}: not contiguous");
                assert!(
                    purged.is_none_or(|p| e.log_id.index > p),
                    "{what}: purged entry back"
                );
                assert_eq!(*e, entry(e.log_id.leader_id.term, e.log_id.index), "{what}");
            }
            for &(i, term) in &acked.entries {
                assert!(
                    entries.iter().any(|e| e.log_id == log_id(term, 1, i)),
                    "{what}: acknowledged entry {i} (term {term}) lost"
                );
            }
            if let Some(last) = entries.last() {
                assert_eq!(state.last_log_id, Some(last.log_id), "{what}");
            }
        });
    });
    eprintln!("wal-openraft crash: {states} crash states");
    assert!(states > 1_000, "{states}");
}

/// A kill, power loss dropping or tearing what was not synced, and directory operations
/// reordered.
fn common_models() -> Vec<Crash> {
    let mut models = vec![Crash::ProcessKill, Crash::DropUnsynced];
    for seed in 0..2 {
        models.push(Crash::TornPrefix(seed * 37 + 5));
        models.push(Crash::NamespaceChaos { seed });
    }
    models
}
