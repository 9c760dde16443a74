//! The `describe` example, run as a user runs it: with no arguments it
//! starts the Python grpcio interop peer and lists its services and
//! methods over reflection; a bad symbol ends in an error and exit code 1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::process::Command;

const DESCRIBE: &str = env!("CARGO_BIN_EXE_describe");

#[test]
fn describe_lists_the_interop_peers_services_and_methods() {
    let output = Command::new(DESCRIBE).output().expect("run describe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "describe failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "# reflection: grpc.reflection.v1.ServerReflection",
        "service grpc.testing.TestService (grpc/testing/test.proto, 7 methods)",
        "  rpc UnaryCall(grpc.testing.SimpleRequest) returns (grpc.testing.SimpleResponse); // unary",
        "  rpc FullDuplexCall(stream grpc.testing.StreamingOutputCallRequest) returns (stream grpc.testing.StreamingOutputCallResponse); // bidi streaming",
        "  rpc Watch(grpc.health.v1.HealthCheckRequest) returns (stream grpc.health.v1.HealthCheckResponse); // server streaming",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
}

#[test]
fn an_unreachable_target_is_an_error_naming_it() {
    // Port 1 on loopback: nothing listens there.
    let output = Command::new(DESCRIBE)
        .arg("127.0.0.1:1")
        .output()
        .expect("run describe");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("describe: "), "{stderr}");
    assert!(
        stderr.contains("UNAVAILABLE") || stderr.contains("Unavailable"),
        "{stderr}"
    );
}
