//! The test kit of the workspace-level tests: independent gRPC peers that
//! `switchboard` is exercised against, and the helpers every test file
//! shares (written once here, not once per file).
//!
//! - The Echo peer ([`peer`]): [`TonicServer`], a tonic 0.14 server for the
//!   hand-written `switchboard.test.Echo` service (messages in [`echo`]),
//!   on its own tokio runtime, so it can be started and inspected from
//!   plain `#[test]` functions. Its [`Counters`] signal every call that
//!   starts, completes or is cancelled, and it can hold its handlers
//!   ([`TonicServer::hold`]), so tests wait on the server instead of
//!   sleeping.
//! - [`methods`]: the Echo method descriptors for calls made by hand.
//! - [`mock::MockServer`]: a scriptable HTTP/2 peer that sends exactly the
//!   frames a test asks for (or raw bytes) and records what the client
//!   sent; [`script::ScriptedPeer`] builds on its raw mode to run a server
//!   behaviour written as data, for property tests.
//! - [`proxy::Proxy`]: a TCP proxy that can go silent both ways without
//!   closing its sockets (a dead network path), for keepalive tests.
//! - [`tls`]: test certificates made at test time, the Echo peer's TLS
//!   settings ([`TonicServer::start_tls`]) and a TLS server without ALPN.
//! - [`support`] (requests, replies, options, runtimes), [`wait`] (the one
//!   poll-until helper and the watchdog) and [`listener`] (a recording
//!   listener for calls made by hand).
//!
//! The client's tests (`tests/tests/`) are named by protocol area, as h2's
//! are: `unary`, `streaming`, `metadata`, `status`, `framing`,
//! `compression`, `flow_control` (and `flow_control_memory`, alone in its
//! process), `concurrency`, `deadlines`, `cancellation`, `reset`, `goaway`,
//! `connectivity`, `watch`, `keepalive`, `tls`, `api` and `completion_queue`
//! (many calls driven through one queue); `hardening` holds
//! the issue-10 regressions, `every_call_ends` the deadline property test,
//! `loom_models` the runtime's model checks. Tests wait on signals (the peer's counters and hold gate,
//! the mock's log, a listener's record), never on a fixed sleep.

pub mod listener;
pub mod methods;
pub mod mock;
pub mod peer;
pub mod proxy;
pub mod script;
pub mod support;
pub mod tls;
pub mod wait;

mod peer_runtime;

pub use peer::counters::{Counters, Counts};
pub use peer::echo;
pub use peer::echo::{
    ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH,
};
pub use peer::server::{ServerOptions, TonicServer, free_port};
