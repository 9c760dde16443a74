//! Compiles the project's own `grpc.testing` schema (`tests/interop/proto`)
//! into switchboard messages and stubs (`OUT_DIR/grpc.testing.rs`), so the
//! interop client talks to servers through our own generated code.

fn main() -> Result<(), switchboard_build::Error> {
    switchboard_build::compile_protos(
        &[
            "../interop/proto/grpc/testing/empty.proto",
            "../interop/proto/grpc/testing/messages.proto",
            "../interop/proto/grpc/testing/test.proto",
        ],
        &["../interop/proto"],
    )
}
