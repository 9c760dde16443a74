//! Fuzz target `metadata_from_headers`: feeds libFuzzer's input to
//! [`switchboard::fuzzing::metadata_from_headers`], which documents the input layout and the
//! invariants it checks.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::metadata_from_headers(data));
