//! The Echo peer: a tonic 0.14 server of the hand-written
//! `switchboard.test.Echo` service (see `tests/proto/echo.proto`), the
//! independent server most end-to-end tests call.
//!
//! Layers, bottom up: [`echo`] (the messages and paths) → `counters` (call
//! accounting and the hold gate, with signals) → `handler` (what each
//! method does) → `trailers` and `service` (tonic plumbing) → `server`
//! ([`TonicServer`](crate::TonicServer): runtime and listener). Its own
//! smoke tests, which drive it with a raw `h2` client and nothing of
//! switchboard, live in `smoke`.

pub mod echo;

pub(crate) mod counters;
pub(crate) mod handler;
pub(crate) mod server;
pub(crate) mod service;
pub(crate) mod trailers;

#[cfg(test)]
mod smoke;
