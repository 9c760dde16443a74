//! switchboard-health: gRPC health checking (`grpc.health.v1`) for
//! switchboard clients.
//!
//! Ask a server whether it serves, as a whole or one service at a time,
//! with [`HealthClient`]:
//!
//! ```no_run
//! use std::time::Duration;
//! use switchboard::Channel;
//! use switchboard::prelude::*; // `with_deadline_after` and the other call options
//! use switchboard_health::{HealthClient, ServingStatus};
//!
//! let channel = Channel::builder("http://127.0.0.1:50051").build()?;
//! let health = HealthClient::new(channel).with_deadline_after(Duration::from_secs(5));
//!
//! // The server as a whole (""), then one service.
//! assert_eq!(health.check("")?, ServingStatus::Serving);
//! println!("grpc.testing.TestService: {}", health.check("grpc.testing.TestService")?);
//!
//! // Every change of a service's status, as it happens (a blocking iterator;
//! // `watch_async` gives the same as a `futures::Stream`).
//! for status in HealthClient::new(Channel::builder("http://127.0.0.1:50051").build()?)
//!     .watch("grpc.testing.TestService")
//! {
//!     println!("now {}", status?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Asynchronously, on any executor:
//!
//! ```no_run
//! # use switchboard::Channel;
//! # use switchboard_health::{HealthClient, ServingStatus};
//! # let channel = Channel::builder("http://127.0.0.1:50051").build()?;
//! let health = HealthClient::new(channel);
//! let status = futures::executor::block_on(health.check_async(""))?;
//! assert!(status.is_serving());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A server that does not know the service answers `check` with
//! `NOT_FOUND`; [`HealthClient::check`] passes that on as a [`Status`] whose
//! message names the service. A server without the health service answers
//! `UNIMPLEMENTED`.
//!
//! Modules: [`pb`] is the code `switchboard-build` generated from the
//! vendored `proto/grpc/health/v1/health.proto` (gRPC's, Apache-2.0): the
//! messages and the raw `HealthBlockingStub` / `HealthAsyncStub`. `status`
//! owns [`ServingStatus`] (the answer, decoded without panicking on values
//! a newer server may send); `client` owns [`HealthClient`] and its call
//! handles, which only translate between [`pb`] and [`ServingStatus`] and
//! add nothing to the calls themselves (no retries, no caching).
//!
//! [`Status`]: switchboard::Status

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod client;
mod status;

/// The generated `grpc.health.v1` package: `HealthCheckRequest`,
/// `HealthCheckResponse` (with its `ServingStatus` enum), the `List`
/// messages, and `health_client::{HealthBlockingStub, HealthAsyncStub}`.
///
/// Use it for what [`HealthClient`] does not wrap (e.g. the `List` method,
/// which few servers implement yet).
pub mod pb {
    switchboard::include_proto!("grpc.health.v1");
}

pub use client::{CheckFuture, HealthClient, Watch, WatchStream};
pub use status::ServingStatus;
