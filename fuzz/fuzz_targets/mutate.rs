//! Fuzz target: `wal_core::fuzz::mutate` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wal_core::fuzz::mutate(data));
