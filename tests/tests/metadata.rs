//! Metadata: what the client puts in the request headers (PROTOCOL-HTTP2:
//! pseudo-headers, `te`, `grpc-timeout`, user-agent, custom and binary
//! metadata) and the metadata it hands back from response headers and
//! trailers, ASCII and binary.

use std::time::Duration;

use prost::Message;
use switchboard::call::ClientCall;
use switchboard::deadline::parse_grpc_timeout;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Metadata};
use switchboard_tests::echo::EchoRequest;
use switchboard_tests::listener::{Heard, Recorder};
use switchboard_tests::methods::UNARY;
use switchboard_tests::mock::{MockServer, grpc_frame};
use switchboard_tests::support::{channel_to, hello, reply_with_payload};
use switchboard_tests::wait::watchdog;
use switchboard_tests::{ECHO_UNARY_PATH, TonicServer};

/// Drives one call through the low-level `ClientCall` API on this thread.
fn call_with_recorder(channel: &Channel, metadata: Metadata, request: EchoRequest) -> Heard {
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&UNARY, &CallOptions::new(), executor.clone());
    let recorder = Recorder::new();
    call.start(recorder.listener(), metadata);
    call.request(1);
    call.send_message(request);
    call.half_close();
    recorder.drain_to_close(&executor)
}

#[test]
fn request_headers_and_body_follow_protocol_http2() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&reply_with_payload("ok"));
    });
    let channel = channel_to(server.url());
    let mut metadata = Metadata::new();
    metadata.insert("x-custom", "hello world").unwrap();
    metadata
        .insert_bin("x-trace-bin", vec![0u8, 1, 2, 0xff, 0xfe])
        .unwrap();
    let options = CallOptions::new()
        .with_deadline_after(Duration::from_secs(5))
        .with_metadata(metadata);
    let request = EchoRequest {
        payload: vec![1, 2, 3],
        ..hello("on the wire")
    };
    let response = blocking_unary_call(&channel, &UNARY, &options, request.clone()).unwrap();
    assert_eq!(response, reply_with_payload("ok"));
    // The same without a deadline or metadata.
    let plain = channel.clone();
    watchdog(move || blocking_unary_call(&plain, &UNARY, &CallOptions::new(), hello("plain")))
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.scheme.as_deref(), Some("http"));
    assert_eq!(first.path, ECHO_UNARY_PATH);
    assert_eq!(first.authority, Some(server.addr().to_string()));
    assert_eq!(first.header("content-type"), Some("application/grpc"));
    assert_eq!(first.header("te"), Some("trailers"));
    let user_agent = first.header("user-agent").expect("user-agent");
    assert!(user_agent.starts_with("switchboard/"), "{user_agent}");
    let timeout = first.header("grpc-timeout").expect("grpc-timeout");
    let timeout = parse_grpc_timeout(timeout).expect("a valid grpc-timeout");
    assert!(
        timeout <= Duration::from_secs(5) && timeout > Duration::from_secs(4),
        "{timeout:?}"
    );
    assert_eq!(first.header("x-custom"), Some("hello world"));
    // Binary metadata: base64 without padding.
    assert_eq!(first.header("x-trace-bin"), Some("AAEC//4"));
    // The body: one uncompressed length-prefixed message.
    assert_eq!(first.body, grpc_frame(&request.encode_to_vec()));

    let second = &requests[1];
    assert_eq!(second.header("grpc-timeout"), None);
    assert_eq!(second.header("x-custom"), None);
    assert_eq!(second.body, grpc_frame(&hello("plain").encode_to_vec()));
}

#[test]
fn metadata_round_trip_ascii_and_binary() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-text", "hello metadata").unwrap();
    metadata
        .insert_bin("x-echo-raw-bin", vec![0u8, 1, 2, 0xff, 0xfe])
        .unwrap();
    metadata.insert("x-not-echoed", "private").unwrap();
    let heard = call_with_recorder(&channel, metadata, hello("md"));
    let headers = heard.headers.expect("headers were delivered");
    assert_eq!(headers.get("x-echo-text"), Some("hello metadata"));
    assert_eq!(
        headers.get_bin("x-echo-raw-bin"),
        Some(&[0u8, 1, 2, 0xff, 0xfe][..])
    );
    assert_eq!(headers.get("x-not-echoed"), None);
    let (status, trailers) = heard.close.expect("closed");
    assert!(status.is_ok(), "{status}");
    assert_eq!(trailers.get("x-echo-text"), Some("hello metadata"));
    assert_eq!(
        trailers.get_bin("x-echo-raw-bin"),
        Some(&[0u8, 1, 2, 0xff, 0xfe][..])
    );
    assert_eq!(heard.messages.len(), 1);
    assert_eq!(heard.messages[0].message, "md");
}

#[test]
fn with_metadata_gives_headers_and_trailers_of_a_unary_call() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-color", "green").unwrap();
    let options = CallOptions::new().with_metadata(metadata);
    let response = future_unary_call(&channel, &UNARY, &options, hello("md"))
        .with_metadata()
        .wait()
        .unwrap();
    assert_eq!(response.message.message, "md");
    assert_eq!(response.headers.get("x-echo-color"), Some("green"));
    assert_eq!(response.trailers.get("x-echo-color"), Some("green"));
    // Async, same thing.
    let response = futures::executor::block_on(
        future_unary_call(&channel, &UNARY, &options, hello("again")).with_metadata(),
    )
    .unwrap();
    assert_eq!(response.headers.get("x-echo-color"), Some("green"));
}
