//! switchboard-build: `.proto` files → switchboard stubs, from `build.rs`.
//!
//! ```no_run
//! // build.rs — nothing to install: protoc is vendored.
//! fn main() -> Result<(), switchboard_build::Error> {
//!     switchboard_build::compile_protos(&["proto/helloworld.proto"], &["proto"])
//! }
//! ```
//!
//! ```ignore
//! // src/main.rs
//! pub mod helloworld {
//!     switchboard::include_proto!("helloworld");
//! }
//! use helloworld::greeter_client::{GreeterAsyncStub, GreeterBlockingStub};
//! use switchboard::prelude::*; // the stubs' `with_*` call options
//! ```
//!
//! Each proto package becomes one file in `OUT_DIR`, named after the package
//! as the `.proto` spells it (`helloworld.rs`; `a.b.rs` for package `a.b`;
//! `google.type.rs` for `google.type`, whose module is `google::r#type`;
//! `_.rs` for files without a package), which is the name `include_proto!`
//! takes. Each holds
//! the prost messages and, per service, a `<service>_client` module with a
//! blocking stub, an async stub (both implement `switchboard::stub::Stub`,
//! which gives them their call options) and a `MethodDescriptor` per
//! method. The code needs only `switchboard` and `prost` (plus
//! `prost-types` if the protos use the well-known types).
//!
//! protoc is `PROTOC` if set, else the one from `protoc-bin-vendored`.
//! Problems in the input come back as an [`Error`] whose message names the
//! file and the line, e.g. `proto/a.proto:6:1: Expected ";".`; nothing
//! panics. [`configure`] gives a [`Builder`] for the prost settings
//! (`bytes`, `extern_path`, attributes, …), `build_client`, an include
//! file, and bring-your-own descriptor sets.
//!
//! Layers: [`error`] (the error type) → `protoc` (runs protoc, classifies
//! its diagnostics) → [`Builder`] (the pipeline and the files it writes);
//! the code itself comes from `switchboard-codegen`.

#![forbid(unsafe_code)]
// Unit tests may unwrap: a failed unwrap is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

mod builder;
pub mod error;
mod protoc;

pub use builder::Builder;
pub use error::{Error, NameCollision, SourcePos};

/// A [`Builder`] with the defaults: client stubs on, output to `OUT_DIR`,
/// `cargo:rerun-if-changed` on.
pub fn configure() -> Builder {
    Builder::default()
}

/// Compiles `protos` with `includes` as import paths into `OUT_DIR`, with
/// the default settings. Include the result with
/// `switchboard::include_proto!("package")`.
#[track_caller]
pub fn compile_protos(
    protos: &[impl AsRef<std::path::Path>],
    includes: &[impl AsRef<std::path::Path>],
) -> Result<(), Error> {
    configure().compile(protos, includes)
}
