//! Generates the `grpc.health.v1` messages and stubs from the vendored
//! `proto/grpc/health/v1/health.proto` (protoc is vendored by
//! switchboard-build: nothing to install).

fn main() -> Result<(), switchboard_build::Error> {
    switchboard_build::compile_protos(&["proto/grpc/health/v1/health.proto"], &["proto"])
}
