//! Independent gRPC interop peers for switchboard: servers of gRPC's
//! standard `grpc.testing.TestService` that the interop tests start
//! themselves.
//!
//! - [`InteropServer`]: a tonic server on its own tokio runtime. It serves
//!   every server feature of the non-cloud cases of gRPC's
//!   `doc/interop-test-descriptions.md`, and it checks client compression
//!   for real: [`wire`] reads the compressed-flag byte of every request frame,
//!   so `expect_compressed` is enforced.
//! - [`python::PythonServer`] (Unix): the same service written with Python
//!   grpcio (gRPC's C core), run from a pinned virtualenv that
//!   [`python::Venv`] creates on first use. grpcio cannot see a request's
//!   compressed flag, so it skips `expect_compressed` checks; the
//!   client-compression cases belong to the tonic peer.
//!
//! The schema is the project's own copy of `grpc.testing`
//! (`tests/interop/proto`), compiled into [`pb`].
//!
//! Layers, bottom up: [`frame`] (the 5-byte gRPC message prefix) →
//! [`wire`] (request/response body wrappers and the per-call
//! [`MessageFlags`](wire::MessageFlags)) → `service` (the handlers) →
//! [`server`] (the runtime and listener). [`python`] stands apart.

#![forbid(unsafe_code)]

pub mod frame;
pub mod metadata;
pub mod pb;
#[cfg(unix)]
pub mod python;
pub mod server;
pub mod wire;

mod payload;
mod service;

pub use server::{GracefulStop, InteropServer, ServerSettings};
pub use service::TestServiceImpl;
