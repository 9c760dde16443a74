//! Generates the `grpc.reflection.v1` and `grpc.reflection.v1alpha`
//! messages and stubs from the vendored protos (protoc is vendored by
//! switchboard-build: nothing to install).

fn main() -> Result<(), switchboard_build::Error> {
    switchboard_build::compile_protos(
        &[
            "proto/grpc/reflection/v1/reflection.proto",
            "proto/grpc/reflection/v1alpha/reflection.proto",
        ],
        &["proto"],
    )
}
