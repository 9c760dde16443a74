//! `ReflectionClient` against grpcio's reflection servicer
//! (grpcio-reflection, in the Python interop peer): served as v1 and
//! v1alpha, as v1alpha alone (the fall-back), and against a server without
//! reflection (the tonic interop peer).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::Duration;

use futures::executor::block_on;
use switchboard::prelude::*;
use switchboard::{Channel, Code};
use switchboard_interop_peer::InteropServer;
use switchboard_interop_peer::python::PythonServer;
use switchboard_reflection::{FileDescriptorProto, ReflectionClient, ReflectionVersion};

const TEST_SERVICE: &str = "grpc.testing.TestService";
const HEALTH: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// A backstop: every call here ends by then, whatever the server does.
const DEADLINE: Duration = Duration::from_secs(20);

/// The peer serving reflection v1 and v1alpha.
fn peer() -> &'static PythonServer {
    static PEER: OnceLock<Result<PythonServer, String>> = OnceLock::new();
    match PEER.get_or_init(PythonServer::start) {
        Ok(peer) => peer,
        Err(error) => panic!("{error}"),
    }
}

/// The peer serving reflection v1alpha only.
fn v1alpha_peer() -> &'static PythonServer {
    static PEER: OnceLock<Result<PythonServer, String>> = OnceLock::new();
    match PEER.get_or_init(PythonServer::start_reflection_v1alpha_only) {
        Ok(peer) => peer,
        Err(error) => panic!("{error}"),
    }
}

fn client(url: String) -> ReflectionClient {
    let channel = Channel::builder(url).build().unwrap();
    ReflectionClient::new(channel).with_deadline_after(DEADLINE)
}

/// Checks the files of `grpc.testing.TestService`: test.proto first, with
/// the service and its methods, then its imports.
fn assert_describes_test_service(files: &[FileDescriptorProto]) {
    let names: Vec<&str> = files.iter().map(|f| f.name()).collect();
    assert_eq!(names.first(), Some(&"grpc/testing/test.proto"), "{names:?}");
    for import in ["grpc/testing/empty.proto", "grpc/testing/messages.proto"] {
        assert!(names.contains(&import), "{import} missing from {names:?}");
    }
    assert_eq!(names.len(), 3, "each file once: {names:?}");

    let file = &files[0];
    assert_eq!(file.package(), "grpc.testing");
    let service = file
        .service
        .iter()
        .find(|s| s.name() == "TestService")
        .expect("test.proto defines TestService");
    let method = |name: &str| {
        service
            .method
            .iter()
            .find(|m| m.name() == name)
            .unwrap_or_else(|| panic!("TestService has no {name}"))
    };
    let empty = method("EmptyCall");
    assert_eq!(empty.input_type(), ".grpc.testing.Empty");
    assert_eq!(empty.output_type(), ".grpc.testing.Empty");
    let unary = method("UnaryCall");
    assert_eq!(unary.input_type(), ".grpc.testing.SimpleRequest");
    assert_eq!(unary.output_type(), ".grpc.testing.SimpleResponse");
    assert!(!unary.client_streaming() && !unary.server_streaming());
    let output = method("StreamingOutputCall");
    assert!(!output.client_streaming() && output.server_streaming());
    let input = method("StreamingInputCall");
    assert!(input.client_streaming() && !input.server_streaming());
    let duplex = method("FullDuplexCall");
    assert!(duplex.client_streaming() && duplex.server_streaming());
}

#[test]
fn list_services_names_test_service_health_and_reflection() {
    let reflection = client(peer().url());
    assert_eq!(reflection.version(), None);
    let services = reflection.list_services().unwrap();
    for service in [TEST_SERVICE, HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA] {
        assert!(
            services.iter().any(|s| s == service),
            "{service} missing from {services:?}"
        );
    }
    assert_eq!(reflection.version(), Some(ReflectionVersion::V1));
}

#[test]
fn file_containing_symbol_describes_test_service_with_its_methods() {
    let reflection = client(peer().url());
    let files = reflection.file_containing_symbol(TEST_SERVICE).unwrap();
    assert_describes_test_service(&files);
    assert_eq!(reflection.version(), Some(ReflectionVersion::V1));

    // A message's full name finds its file too. (grpcio's descriptor pool
    // does not find methods, `grpc.testing.TestService.UnaryCall`: NOT_FOUND.)
    let by_message = reflection
        .file_containing_symbol("grpc.testing.SimpleRequest")
        .unwrap();
    assert_eq!(by_message[0].name(), "grpc/testing/messages.proto");
}

#[test]
fn file_by_filename_gives_the_file_and_its_imports() {
    let reflection = client(peer().url());
    let files = reflection
        .file_by_filename("grpc/testing/test.proto")
        .unwrap();
    assert_describes_test_service(&files);
}

#[test]
fn reflection_describes_its_own_v1_service() {
    let reflection = client(peer().url());
    let files = reflection.file_containing_symbol(REFLECTION_V1).unwrap();
    let file = &files[0];
    assert_eq!(file.package(), "grpc.reflection.v1");
    let service = &file.service[0];
    assert_eq!(service.name(), "ServerReflection");
    let method = &service.method[0];
    assert_eq!(method.name(), "ServerReflectionInfo");
    assert_eq!(
        method.input_type(),
        ".grpc.reflection.v1.ServerReflectionRequest"
    );
    assert!(method.client_streaming() && method.server_streaming());
}

#[test]
fn async_operations_give_the_same_answers() {
    let reflection = client(peer().url());
    block_on(async {
        let services = reflection.list_services_async().await.unwrap();
        assert!(services.iter().any(|s| s == TEST_SERVICE), "{services:?}");
        let files = reflection
            .file_containing_symbol_async(TEST_SERVICE)
            .await
            .unwrap();
        assert_describes_test_service(&files);
        let files = reflection
            .file_by_filename_async("grpc/testing/test.proto")
            .await
            .unwrap();
        assert_describes_test_service(&files);
        let status = reflection
            .file_containing_symbol_async("no.such.Symbol")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{status}");
    });
    assert_eq!(reflection.version(), Some(ReflectionVersion::V1));
}

#[test]
fn an_unknown_symbol_or_file_is_not_found() {
    let reflection = client(peer().url());
    let status = reflection
        .file_containing_symbol("no.such.Symbol")
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status}");
    assert!(
        status.message().contains("\"no.such.Symbol\""),
        "the message should say what was asked: {status}"
    );
    let status = reflection.file_by_filename("no/such.proto").unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status}");
    assert!(status.message().contains("\"no/such.proto\""), "{status}");
    // The client goes on working after an error answer.
    assert!(reflection.list_services().is_ok());
}

#[test]
fn falls_back_to_v1alpha_and_remembers_it() {
    let reflection = client(v1alpha_peer().url());
    assert_eq!(reflection.version(), None);
    let services = reflection.list_services().unwrap();
    assert_eq!(reflection.version(), Some(ReflectionVersion::V1Alpha));
    assert!(services.iter().any(|s| s == TEST_SERVICE), "{services:?}");
    assert!(
        services.iter().any(|s| s == REFLECTION_V1ALPHA),
        "{services:?}"
    );
    assert!(
        !services.iter().any(|s| s == REFLECTION_V1),
        "this server has no v1: {services:?}"
    );

    // A clone shares what was learnt; its calls go to v1alpha directly.
    let clone = reflection.clone();
    assert_eq!(clone.version(), Some(ReflectionVersion::V1Alpha));
    assert_describes_test_service(&clone.file_containing_symbol(TEST_SERVICE).unwrap());
    let status = clone.file_containing_symbol("no.such.Symbol").unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status}");
}

#[test]
fn async_falls_back_to_v1alpha_too() {
    let reflection = client(v1alpha_peer().url());
    let files = block_on(reflection.file_containing_symbol_async(TEST_SERVICE)).unwrap();
    assert_describes_test_service(&files);
    assert_eq!(reflection.version(), Some(ReflectionVersion::V1Alpha));
}

#[test]
fn a_server_without_reflection_is_unimplemented_naming_both_versions() {
    let server = InteropServer::start();
    let reflection = client(server.url());
    let status = reflection.list_services().unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    assert!(
        status.message().contains(REFLECTION_V1) && status.message().contains(REFLECTION_V1ALPHA),
        "{status}"
    );
    assert_eq!(reflection.version(), None);
    let status = block_on(reflection.list_services_async()).unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
}

#[test]
fn the_async_operations_are_send() {
    fn send<T: Send>(_: &T) {}
    let reflection = client("http://127.0.0.1:1".to_owned());
    send(&reflection.list_services_async());
    send(&reflection.file_containing_symbol_async(TEST_SERVICE));
    send(&reflection.file_by_filename_async("a.proto"));
}
