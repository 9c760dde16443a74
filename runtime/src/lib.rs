//! switchboard: a gRPC client with blocking and async stubs over one call stack.
//!
//! Every call, blocking or async, goes through the same stack:
//!
//! ```text
//! stub helper ─► Channel ─► pending call (DelayedClientCall) ──set_call──► real call (h2 stream)
//!                                                                  │
//! listener callbacks ◄── the caller's ThreadlessExecutor ◄─────────┘
//! ```
//!
//! - [`Channel`] owns the connection: it connects on first use, reconnects
//!   with backoff and goes idle when unused. Calls made before it is ready
//!   wait as pending calls.
//! - [`blocking_unary_call`](stub::blocking_unary_call) blocks the calling
//!   thread; [`future_unary_call`](stub::future_unary_call) returns a future
//!   that runs on any executor. Neither needs the caller to be inside tokio.
//! - [`CompletionQueue`] drives many calls, of all four kinds, from plain
//!   threads: gRPC's completion queue, with typed events.
//! - Every failure reaches the caller as a [`Status`].
//!
//! A hand-written unary call (generated stubs do the same for you):
//!
//! ```no_run
//! use switchboard::{CallOptions, Channel, MethodDescriptor, MethodKind, ProstCodec};
//!
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct HelloRequest { #[prost(string, tag = "1")] name: String }
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct HelloReply { #[prost(string, tag = "1")] message: String }
//!
//! const SAY_HELLO: MethodDescriptor<HelloRequest, HelloReply> =
//!     MethodDescriptor::new("/helloworld.Greeter/SayHello", MethodKind::Unary, ProstCodec);
//!
//! let channel = Channel::builder("http://127.0.0.1:50051").build()?;
//! let options = CallOptions::new().with_deadline_after(std::time::Duration::from_secs(5));
//! let reply = switchboard::stub::blocking_unary_call(
//!     &channel, &SAY_HELLO, &options, HelloRequest { name: "world".into() })?;
//! println!("{}", reply.message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
// Unit tests may unwrap: a failed unwrap is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod address;
pub mod call;
pub mod channel;
pub mod codec;
#[doc(hidden)]
#[path = "codegen_support.rs"]
pub mod codegen;
pub mod completion_queue;
pub mod compression;
pub mod deadline;
pub mod executor;
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod handoff;
pub mod interceptor;
pub mod metadata;
pub mod method;
pub mod options;
pub mod resolver;
mod rt;
pub mod status;
pub mod stub;
mod sync;
mod transport;
mod user_code;
mod wake_batch;
mod wire;

pub use channel::{Channel, ChannelBuilder, ConnectivityState};
pub use codec::{Codec, ProstCodec};
pub use completion_queue::CompletionQueue;
pub use deadline::Deadline;
pub use metadata::{Metadata, MetadataError};
pub use method::{MethodDescriptor, MethodKind};
pub use options::CallOptions;
pub use status::{Code, Origin, Status};
pub use transport::TlsConfig;

/// What users of generated stubs bring into scope: `use switchboard::prelude::*;`
/// makes the [`Stub`](stub::Stub) options (`with_deadline_after`, …) callable.
pub mod prelude {
    pub use crate::stub::Stub;
}

/// Includes the code `switchboard-build` generated for proto package
/// `package` (from `OUT_DIR`), e.g. `switchboard::include_proto!("helloworld")`
/// inside `pub mod helloworld { ... }`.
///
/// The package is written as in the `.proto` file, Rust keywords and all:
/// `include_proto!("google.type")` inside `pub mod google { pub mod r#type
/// { ... } }`. Files without a package: `include_proto!("_")`.
#[macro_export]
macro_rules! include_proto {
    ($package:tt) => {
        include!(concat!(env!("OUT_DIR"), concat!("/", $package, ".rs")));
    };
}
