//! Fuzz target `status_details`: feeds libFuzzer's input to
//! [`switchboard::fuzzing::status_details`], which documents the input layout and the
//! invariants it checks.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::status_details(data));
