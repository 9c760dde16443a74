//! The call's status, from what the server sent: a status in the trailers
//! or a trailers-only response (code, percent-encoded message, details,
//! trailing metadata), and the mapping of responses that carry no
//! `grpc-status` — an HTTP status, a non-gRPC content type, a body without
//! trailers, trailers without a status.

use bytes::Bytes;
use prost::Message;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, Metadata, MethodDescriptor, MethodKind, ProstCodec};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::methods::UNARY;
use switchboard_tests::mock::{MockServer, grpc_frame};
use switchboard_tests::support::{
    GRPC, assert_status, call_unary, call_unary_with, channel_to, reply_with_payload,
};

#[test]
fn trailers_only_response_carries_the_status() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_trailers_only(
            200,
            &[
                GRPC,
                ("grpc-status", "7"),
                ("grpc-message", "no%20access%3A%20100%25%20sure%20%E2%9C%93"),
                ("x-why", "policy"),
            ],
        );
    });
    let status = assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::PermissionDenied,
        &[],
    );
    assert_eq!(status.message(), "no access: 100% sure ✓");
    assert_eq!(status.trailers().get("x-why"), Some("policy"));
}

#[test]
fn error_status_carries_message_details_and_trailers() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-tag", "seven").unwrap();
    let request = EchoRequest {
        message: "m".into(),
        status_code: Code::NotFound.as_i32(),
        status_message: "no such thing: 100% gone ✓".into(),
        ..Default::default()
    };
    let options = CallOptions::new().with_metadata(metadata);
    let status = blocking_unary_call(&channel, &UNARY, &options, request).unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "no such thing: 100% gone ✓");
    assert_eq!(&status.details()[..], b"details:m");
    assert_eq!(status.trailers().get("x-error-trailer"), Some("yes"));
    assert_eq!(status.trailers().get("x-echo-tag"), Some("seven"));
}

#[test]
fn end_of_stream_without_trailers_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data_end(grpc_frame(&reply_with_payload("r").encode_to_vec()));
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["without trailers"],
    );
}

#[test]
fn trailers_without_grpc_status_are_internal() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_frame(&reply_with_payload("r").encode_to_vec()));
        stream.send_trailers(&[("x-something", "else")]);
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["grpc-status"],
    );
}

#[test]
fn http_status_without_grpc_status_maps_to_a_code() {
    // The status comes from the request, so one server answers every case.
    let server = MockServer::start(|mut stream| async move {
        let status = stream
            .request()
            .header("x-http-status")
            .unwrap()
            .parse()
            .unwrap();
        stream.send_headers(status, &[("content-type", "text/plain")]);
        stream.send_data_end("proxy says no");
    });
    let channel = channel_to(server.url());
    for (http, code) in [
        (503, Code::Unavailable),
        (404, Code::Unimplemented),
        (401, Code::Unauthenticated),
        (429, Code::Unavailable),
        (500, Code::Unknown),
    ] {
        let http = http.to_string();
        let status = call_unary_with(&channel, "x-http-status", &http).expect_err("fails");
        assert_eq!(status.code(), code, "HTTP {http}: {status}");
        assert!(status.message().contains(&http), "HTTP {http}: {status}");
    }
}

#[test]
fn ok_with_a_non_grpc_content_type_names_it() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[("content-type", "text/html; charset=utf-8")]);
        stream.send_data("<html>not gRPC</html>");
        // No END_STREAM: the client must not wait for one.
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Unknown,
        &["text/html"],
    );
}

#[test]
fn http_503_with_an_html_body_is_unavailable() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(503, &[("content-type", "text/html")]);
        stream.send_data_end(Bytes::from_static(
            b"<html><body><h1>503 Service Unavailable</h1></body></html>",
        ));
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = call_unary(&channel, "x").unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("503"), "{status}");
}

/// The caller's side of the Echo peer's `unknown_method_is_unimplemented`
/// smoke test: a method the server does not have ends the call with
/// UNIMPLEMENTED (a trailers-only response from a real server), and never
/// reaches a handler.
#[test]
fn a_method_the_server_lacks_is_unimplemented() {
    const NOPE: MethodDescriptor<EchoRequest, EchoResponse> =
        MethodDescriptor::new("/switchboard.test.Echo/Nope", MethodKind::Unary, ProstCodec);
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let status = blocking_unary_call(&channel, &NOPE, &CallOptions::new(), EchoRequest::default())
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    assert_eq!(server.counters().calls(), 0);
    // The channel is unharmed.
    assert_eq!(call_unary(&channel, "after").unwrap().message, "after");
}
