//! Fuzz target: `wal_core::fuzz::compressed` (see its documentation).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wal_core::fuzz::compressed(data));
