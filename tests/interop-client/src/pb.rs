//! The `grpc.testing` package as `switchboard-build` generates it from
//! `tests/interop/proto` (see `build.rs`): prost messages, the
//! `test_service_client` and `unimplemented_service_client` stub modules,
//! and one `MethodDescriptor` constant per method.
//!
//! Generated code only; nothing here is written by hand.

switchboard::include_proto!("grpc.testing");
