//! Damaged logs: recovery by the sync-marker rule, corruption of every kind, the corrupted-log
//! matrix (M-01) and the bad-input table (d01..d28).
//! Crash models, invariants and ids: `docs/testing.md`.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]

#[path = "../common/mod.rs"]
mod common;

mod bad_inputs;
mod corruption;
mod corruption_matrix;
mod recovery;
mod window_reads;
