//! Test support for the workspace-level tests: independent gRPC peers that
//! `switchboard` is exercised against.
//!
//! The main peer is [`TonicServer`], a tonic 0.14 server for the hand-written
//! `switchboard.test.Echo` service (see `tests/proto/echo.proto` and
//! [`echo`]). It runs on its own tokio runtime, so it can be started and
//! inspected from plain `#[test]` functions.
//!
//! For wire-level tests there is also [`mock::MockServer`], a scriptable
//! HTTP/2 peer that sends exactly the frames a test asks for (or raw bytes)
//! and records what the client sent; [`script::ScriptedPeer`] builds on its
//! raw mode to run a server behaviour written as data, for property tests.

pub mod echo;
pub mod methods;
pub mod mock;
pub mod script;
pub mod support;

mod counters;
mod handler;
mod server;
mod service;
mod trailers;

pub use counters::Counters;
pub use echo::{ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH};
pub use server::{ServerOptions, TonicServer, free_port};
