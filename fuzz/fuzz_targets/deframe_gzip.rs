//! Fuzz target `deframe_gzip`: feeds libFuzzer's input to
//! [`switchboard::fuzzing::deframe_gzip`], which documents the input layout and the
//! invariants it checks.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::deframe_gzip(data));
