//! switchboard-reflection: ask a gRPC server what it serves, through gRPC
//! server reflection (`grpc.reflection.v1`, falling back to the older
//! `grpc.reflection.v1alpha`).
//!
//! ```no_run
//! use std::time::Duration;
//! use switchboard::Channel;
//! use switchboard::prelude::*; // `with_deadline_after` and the other call options
//! use switchboard_reflection::ReflectionClient;
//!
//! let channel = Channel::builder("http://127.0.0.1:50051").build()?;
//! let reflection = ReflectionClient::new(channel).with_deadline_after(Duration::from_secs(5));
//!
//! for service in reflection.list_services()? {
//!     // The file that defines the service comes first, then what it imports.
//!     let files = reflection.file_containing_symbol(&service)?;
//!     let file = &files[0];
//!     for described in file.service.iter() {
//!         if format!("{}.{}", file.package(), described.name()) != service {
//!             continue;
//!         }
//!         for method in &described.method {
//!             println!(
//!                 "{service}/{}({}) returns ({})",
//!                 method.name(),
//!                 method.input_type(),
//!                 method.output_type()
//!             );
//!         }
//!     }
//! }
//! println!("answered by {:?}", reflection.version());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every operation also comes as an `async fn` (`list_services_async`, …)
//! that runs on any executor.
//!
//! The client asks `grpc.reflection.v1` first; if the server answers
//! `UNIMPLEMENTED` it asks `grpc.reflection.v1alpha` (what grpcio, for one,
//! serves), and remembers which one worked. The two protocols carry the
//! same messages (same fields, same numbers), so the client speaks both
//! with the [`pb::v1`] types. An `ErrorResponse` from the server (a symbol
//! or file it does not know: `NOT_FOUND`) becomes a [`Status`] with its
//! code and message.
//!
//! Modules: [`pb`] is the code `switchboard-build` generated from the
//! vendored `proto/grpc/reflection/{v1,v1alpha}/reflection.proto` (gRPC's,
//! Apache-2.0). `wire` owns the requests and the reading of answers (pure
//! functions: an answer → a `Result`, and the set of files collected while
//! following imports); `client` owns [`ReflectionClient`]: the calls, the
//! fall-back and the memory of the version, blocking and async. Neither
//! knows descriptors beyond `prost-types`' `FileDescriptorProto`.
//!
//! [`Status`]: switchboard::Status

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod client;
mod wire;

/// The generated reflection packages.
pub mod pb {
    /// `grpc.reflection.v1`: `ServerReflectionRequest`,
    /// `ServerReflectionResponse`, … and
    /// `server_reflection_client::{ServerReflectionBlockingStub,
    /// ServerReflectionAsyncStub}`.
    pub mod v1 {
        switchboard::include_proto!("grpc.reflection.v1");
    }
    /// `grpc.reflection.v1alpha`: the deprecated first version, with the
    /// same messages as [`v1`] in another package.
    pub mod v1alpha {
        switchboard::include_proto!("grpc.reflection.v1alpha");
    }
}

pub use client::{ReflectionClient, ReflectionVersion};
pub use prost_types::FileDescriptorProto;
