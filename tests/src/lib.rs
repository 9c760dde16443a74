//! Test support for the workspace-level tests: independent gRPC peers that
//! `switchboard` is exercised against.
//!
//! The main peer is [`TonicServer`], a tonic 0.14 server for the hand-written
//! `switchboard.test.Echo` service (see `tests/proto/echo.proto` and
//! [`echo`]). It runs on its own tokio runtime, so it can be started and
//! inspected from plain `#[test]` functions.

pub mod echo;

mod counters;
mod handler;
mod server;
mod service;
mod trailers;

pub use counters::Counters;
pub use echo::ECHO_UNARY_PATH;
pub use server::{TonicServer, free_port};
