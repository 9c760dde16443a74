//! switchboard's gRPC interop client: the non-cloud client cases of gRPC's
//! [`doc/interop-test-descriptions.md`](https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md),
//! run through switchboard's own generated `grpc.testing` stubs.
//!
//! - [`pb`]: the messages, stubs and method descriptors `switchboard-build`
//!   generated from the project's schema (`tests/interop/proto`).
//! - [`cases`]: one function per case, each checking what the spec says
//!   the client must check, and [`cases::ALL`], the named list.
//! - [`runner`]: runs a case with a time limit, so a hung call is a failure
//!   with a message, not a hung process.
//! - [`cli`]: the standard interop client flags (`--server_host`,
//!   `--server_port`, `--server_host_override`, `--test_case`, `--use_tls`,
//!   `--use_test_ca`), parsed for the `interop-client` binary.
//!
//! Layers, bottom up: [`pb`] → `check` (assertion helpers) and `recorder`
//! (a low-level call that keeps headers, messages, status and trailers) →
//! [`cases`] → [`runner`] → [`cli`] and the binary.
//!
//! ```no_run
//! use switchboard::Channel;
//! use switchboard_interop_client::cases;
//!
//! let channel = Channel::builder("http://127.0.0.1:10000").build()?;
//! cases::large_unary(&channel)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod cases;
pub mod cli;
pub mod pb;
pub mod runner;

mod check;
mod recorder;
