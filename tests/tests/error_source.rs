//! Where a failed call failed, as a caller sees it: `Status::origin` and the
//! error chain behind `Status::source` (std's `Error::source`), for each
//! step of reaching a server: resolving the name, connecting, HTTP/2, and
//! the server's own answer; and the `Local` default for what the client
//! decides itself.
//!
//! Each failure is provoked for real: a port nothing listens on, a name
//! under `.invalid` (RFC 6761: never resolves), a tonic server asked for an
//! error status, and the mock peer breaking HTTP/2. Every call carries a
//! 10 s deadline, so a hang fails the test instead of hanging it.

use std::error::Error;
use std::io;
use std::time::Duration;

use h2::Reason;
use switchboard::status::Origin;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec, Status};
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::mock::MockServer;
use switchboard_tests::support::hello;
use switchboard_tests::{ECHO_UNARY_PATH, TonicServer, free_port};

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);

/// What an HTTP/1.1 server might send: no HTTP/2 frame at all.
const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nnot HTTP/2\n";

fn options() -> CallOptions {
    CallOptions::new().with_deadline_after(Duration::from_secs(10))
}

/// One unary call to `target` on a new channel; it must fail.
fn failed_call(target: &str, request: EchoRequest) -> Status {
    let channel = Channel::builder(target).build().expect("a valid target");
    blocking_unary_call(&channel, &UNARY, &options(), request).expect_err("the call fails")
}

/// The first error of type `E` in the chain that starts at `status.source()`.
fn find_in_chain<E: Error + 'static>(status: &Status) -> Option<&E> {
    let mut next = status.source();
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[test]
fn nothing_listening_is_a_connect_failure_caused_by_connection_refused() {
    let addr = free_port();
    let status = failed_call(&format!("http://{addr}"), hello("anyone?"));
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert_eq!(status.origin(), Origin::Connect, "{status}");
    let io = find_in_chain::<io::Error>(&status).expect("an io::Error in the chain");
    assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused, "{io}");
}

#[test]
fn a_name_that_does_not_resolve_is_a_resolve_failure() {
    let status = failed_call("http://switchboard-test.invalid:50051", hello("anyone?"));
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert_eq!(status.origin(), Origin::Resolve, "{status}");
    assert!(status.message().contains("failed to resolve"), "{status}");
    assert!(
        find_in_chain::<io::Error>(&status).is_some(),
        "the resolver's io::Error is the source: {status:?}"
    );
}

#[test]
fn a_status_the_server_sent_has_origin_server_and_no_source() {
    let server = TonicServer::start();
    let request = EchoRequest {
        status_code: Code::NotFound.as_i32(),
        status_message: "no such echo".into(),
        ..hello("missing")
    };
    let status = failed_call(&server.url(), request);
    assert_eq!(status.code(), Code::NotFound, "{status}");
    assert_eq!(status.message(), "no such echo");
    assert_eq!(status.origin(), Origin::Server, "{status}");
    assert!(status.source().is_none(), "{status:?}");
}

#[test]
fn an_http_status_without_grpc_status_has_origin_server() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_trailers_only(503, &[("content-type", "text/html")]);
    });
    let status = failed_call(&server.url(), hello("hi"));
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("HTTP status 503"), "{status}");
    assert_eq!(status.origin(), Origin::Server, "{status}");
}

#[test]
fn a_peer_that_breaks_http2_is_an_http2_failure_caused_by_an_h2_error() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.write(GARBAGE).await;
        conn.hold().await;
    });
    let status = failed_call(&server.url(), hello("hi"));
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert_eq!(status.origin(), Origin::Http2, "{status}");
    assert!(
        find_in_chain::<h2::Error>(&status).is_some(),
        "an h2::Error in the chain: {status:?}"
    );
}

#[test]
fn a_stream_reset_by_the_server_has_origin_http2() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_reset(Reason::ENHANCE_YOUR_CALM);
    });
    let status = failed_call(&server.url(), hello("hi"));
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert_eq!(status.origin(), Origin::Http2, "{status}");
    let reset = find_in_chain::<h2::Error>(&status).expect("the h2::Error is the source");
    assert_eq!(
        reset.reason(),
        Some(Reason::ENHANCE_YOUR_CALM),
        "{status:?}"
    );
}

#[test]
fn a_deadline_the_client_enforces_has_origin_local() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .build()
        .expect("a valid target");
    // Already expired: the client ends the call itself.
    let options = CallOptions::new().with_deadline_after(Duration::ZERO);
    let status =
        blocking_unary_call(&channel, &UNARY, &options, hello("late")).expect_err("the call fails");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert_eq!(status.origin(), Origin::Local, "{status}");
    assert!(status.source().is_none(), "{status:?}");
}
