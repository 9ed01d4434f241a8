//! Crashes and faults: simulated crash states (C-01..C-04), I/O errors (E-01..E-04), the model
//! test (P-01) and the regression tests of the black-box hunts.
//! Crash models, invariants and ids: `docs/testing.md`.
#![allow(
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::case_sensitive_file_extension_comparisons,
    reason = "test code"
)]

#[path = "../common/mod.rs"]
mod common;

mod crash_states;
mod descriptors;
mod hunt;
mod io_errors;
mod model;
