//! Runnable examples for `wal-core`, one per use case:
//!
//! | example | shows |
//! |---|---|
//! | `quickstart` | derive an enum, append, reopen, replay typed |
//! | `kv_store` | a key/value store rebuilt from Put/Delete entries; lazy iteration skips a type undecoded |
//! | `json_ops` | JSON-encoded CREATE/UPDATE/DELETE operations: a payload may be any encoding |
//! | `registry` | separate entry structs (one hand-written) replayed through an `EntryRegistry` |
//! | `crash_recovery` | a child appending durably is killed; every acknowledged entry is found; a torn tail is cut; corruption is reported |
//! | `sync_policies` | one workload under each sync policy, with its rate and its promise |
//! | `indexed` | writes at chosen indexes, a duplicate refused, get and iterate, repair of a damaged log |
//! | `crash_test` | `wal_core::testing`: crash a program that uses the log at every point and check its recovery |
//! | `raft_log` | entries with a term, `get_range`, `truncate_back` on conflict, `truncate_front` after a snapshot |
//! | `replicated_kv` | three openraft nodes in one process on `wal-openraft`, a restart and a leader change |
//! | `job_queue` | a producer appends jobs; a consumer follows, saves its position, resumes after a restart, drops processed jobs |
//! | `inspect` | your own `wal` inspector in three lines, typed with your entries |
//! | `events_serde` | serde event types as postcard entries, lz4-compressed, replayed typed |
//! | `async_server` | 1,000 tokio tasks each answer once their entry is durable (`append_async`), sharing fsyncs |
//!
//! Run one with `cargo run --release -p wal-examples --example quickstart`.

use std::error::Error;

/// The result every example returns: any error ends it with a non-zero exit status.
pub type Outcome = Result<(), Box<dyn Error>>;

/// Fails the example with `what` unless `ok`.
///
/// # Errors
/// A message naming the check that failed.
pub fn check(ok: bool, what: &str) -> Outcome {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}
