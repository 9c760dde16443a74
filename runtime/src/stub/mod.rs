//! What generated stubs call (layer: stub, the top).
//!
//! The call helpers run one RPC of each kind through the channel's one call
//! stack, with a [`ThreadlessExecutor`](crate::executor::ThreadlessExecutor)
//! per call so every listener callback runs on the caller's thread:
//! [`blocking_unary_call`] parks the calling thread in it, and
//! [`UnaryFuture`] drains it inside `poll`.

mod unary;

pub use unary::{UnaryFuture, blocking_unary_call, future_unary_call};
