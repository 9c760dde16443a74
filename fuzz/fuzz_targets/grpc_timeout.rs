//! Fuzz target `grpc_timeout`: feeds libFuzzer's input to
//! [`switchboard::fuzzing::grpc_timeout`], which documents the input layout and the
//! invariants it checks.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::grpc_timeout(data));
