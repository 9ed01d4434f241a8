//! The API, feature by feature: one module per feature.
//! Crash models, invariants and ids: `docs/testing.md`.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]

#[path = "../common/mod.rs"]
mod common;

mod async_append;
#[cfg(all(feature = "lz4", feature = "zstd"))]
mod compression;
mod follow;
mod golden;
mod group_commit;
mod lazy;
mod lock;
mod notify;
mod open_files;
mod options_change;
mod random_access;
mod read_only;
mod registry;
mod restart;
mod rotation;
mod roundtrip;
mod state;
mod stats;
mod tracing_events;
mod truncation;
mod verify_each;
mod write_behind;
