//! switchboard-codegen: protobuf service descriptors → switchboard stubs.
//!
//! This crate turns `.proto` descriptors into the Rust that
//! `switchboard::include_proto!` includes: prost-build writes the messages,
//! and this crate adds, per service, a `<service>_client` module with a
//! `MethodDescriptor` constant per method, a blocking stub and an async
//! stub (see ARCHITECTURE.md, "Generated code"). Most users want
//! `switchboard-build` (for `build.rs`) or the `protoc-gen-switchboard`
//! binary of this crate (for protoc); both go through [`generate()`], so
//! they produce the same bytes for the same input and options.
//!
//! The layers, bottom up:
//!
//! - [`ident`], [`model`], `docs`: the naming scheme, the description of a
//!   service, and proto comments → rustdoc;
//! - `client`, `stub_parts` and [`SwitchboardServiceGenerator`]: one
//!   service's client module, built with `quote!`, plugged into prost-build;
//! - [`names`] and `undocumented`: Rust-name collisions, found before
//!   generating; docs for what the `.proto` left undocumented;
//! - [`generate()`] and [`plugin`]: descriptors → formatted files, and the
//!   protoc plugin protocol.
//!
//! Generated code refers only to `::switchboard::codegen::…`, `::prost` and
//! the message types, compiles without warnings under `-D warnings` and
//! `missing_docs`, and is formatted by prettyplease.

#![forbid(unsafe_code)]
// Unit tests may unwrap: a failed unwrap is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

mod client;
mod docs;
pub mod generate;
pub mod ident;
pub mod model;
pub mod names;
pub mod plugin;
mod service_generator;
mod stub_parts;
mod undocumented;

pub use generate::{GenerateError, GeneratedFile, Options, generate};
pub use names::NameCollision;
pub use service_generator::SwitchboardServiceGenerator;
