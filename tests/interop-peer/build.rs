//! Generates the `grpc.testing` messages, the tonic `TestService` server and
//! a tonic client (used by this crate's tests) from the schema in
//! `tests/interop/proto`, with the vendored `protoc`.

use std::path::Path;

/// Where the interop schema lives, relative to this crate.
const PROTO_ROOT: &str = "../interop/proto";

/// The schema files, relative to [`PROTO_ROOT`].
const PROTOS: [&str; 3] = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos: Vec<String> = PROTOS
        .iter()
        .map(|file| Path::new(PROTO_ROOT).join(file).display().to_string())
        .collect();
    for proto in &protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        // The generated client connects through tonic's `channel` feature,
        // which only the tests enable.
        .build_transport(false)
        .compile_with_config(config, &protos, &[PROTO_ROOT.to_owned()])?;
    Ok(())
}
