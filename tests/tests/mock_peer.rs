//! The wire contract, tested against a mock HTTP/2 peer that sends exact
//! frames (see `switchboard_tests::mock`): request headers and body, how
//! responses split or packed into DATA frames are read, trailers-only
//! responses, HTTP status mapping, RST_STREAM and GOAWAY, the inbound
//! message limit, and peers that break the protocol.
//!
//! Each test asserts what a caller sees. Every call carries a 10 s deadline
//! (or runs under a watchdog), so a client that hangs fails the test with
//! DEADLINE_EXCEEDED instead of hanging it.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::Reason;
use prost::Message;
use switchboard::call::{ClientCall, Listener};
use switchboard::deadline::parse_grpc_timeout;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard::{
    CallOptions, Channel, Code, Metadata, MethodDescriptor, MethodKind, ProstCodec, Status,
};
use switchboard_tests::ECHO_UNARY_PATH;
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::mock::{MockServer, MockStream, goaway_frame, grpc_frame, grpc_prefix};
use tokio::sync::Semaphore;

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);

/// Response headers of a well-behaved gRPC server.
const GRPC: (&str, &str) = ("content-type", "application/grpc");
const OK: (&str, &str) = ("grpc-status", "0");

/// What an HTTP/1.1 server might send: no HTTP/2 frame at all (read as a
/// frame header, it declares a 4.7 MB frame).
const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nnot HTTP/2\n";

/// The bound on every call: a hang shows up as DEADLINE_EXCEEDED.
const DEADLINE: Duration = Duration::from_secs(10);

fn channel(server: &MockServer) -> Channel {
    Channel::builder(server.url())
        .build()
        .expect("valid target")
}

fn options() -> CallOptions {
    CallOptions::new().with_deadline_after(DEADLINE)
}

fn hello(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_owned(),
        ..EchoRequest::default()
    }
}

fn reply(message: &str) -> EchoResponse {
    EchoResponse {
        message: message.to_owned(),
        payload: vec![0xAB; 20],
        ..EchoResponse::default()
    }
}

/// One unary call on a new channel to `server`, bounded by [`DEADLINE`].
fn call(server: &MockServer) -> Result<EchoResponse, Status> {
    blocking_unary_call(&channel(server), &UNARY, &options(), hello("hi"))
}

/// One unary call with request metadata `key: value`, bounded by [`DEADLINE`].
fn call_with(channel: &Channel, key: &str, value: &str) -> Result<EchoResponse, Status> {
    let mut metadata = Metadata::new();
    metadata.insert(key, value).unwrap();
    let options = options().with_metadata(metadata);
    blocking_unary_call(channel, &UNARY, &options, hello("hi"))
}

/// Runs `f` on another thread and fails the test if it takes over 20 s:
/// for calls that carry no deadline of their own.
fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call hung (no result after 20 s)")
}

fn assert_status(result: Result<EchoResponse, Status>, code: Code, words: &[&str]) -> Status {
    let status = result.expect_err("the call fails");
    assert_eq!(status.code(), code, "{status}");
    for word in words {
        assert!(status.message().contains(word), "{word:?} not in {status}");
    }
    status
}

#[test]
fn request_headers_and_body_follow_protocol_http2() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&reply("ok"));
    });
    let channel = channel(&server);
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
    assert_eq!(response, reply("ok"));
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
fn message_split_one_byte_per_data_frame_is_reassembled() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        for byte in grpc_frame(&reply("split").encode_to_vec()) {
            stream.send_data(Bytes::copy_from_slice(&[byte]));
        }
        stream.send_trailers(&[OK]);
    });
    let channel = channel(&server);
    // Through the future API this time, on an executor that is not tokio.
    let response =
        futures::executor::block_on(future_unary_call(&channel, &UNARY, &options(), hello("hi")));
    assert_eq!(response.unwrap(), reply("split"));
}

#[test]
fn two_messages_in_one_data_frame_fail_a_unary_call() {
    let server = MockServer::start(|mut stream| async move {
        let mut both = BytesMut::new();
        both.extend_from_slice(&grpc_frame(&reply("one").encode_to_vec()));
        both.extend_from_slice(&grpc_frame(&reply("two").encode_to_vec()));
        stream.send_headers(200, &[GRPC]);
        stream.send_data(both.freeze());
        stream.send_trailers(&[OK]);
    });
    assert_status(call(&server), Code::Internal, &["more than one response"]);
}

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
    let status = assert_status(call(&server), Code::PermissionDenied, &[]);
    assert_eq!(status.message(), "no access: 100% sure ✓");
    assert_eq!(status.trailers().get("x-why"), Some("policy"));
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
    let channel = channel(&server);
    for (http, code) in [
        (503, Code::Unavailable),
        (404, Code::Unimplemented),
        (401, Code::Unauthenticated),
        (429, Code::Unavailable),
        (500, Code::Unknown),
    ] {
        let http = http.to_string();
        let status = call_with(&channel, "x-http-status", &http).expect_err("fails");
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
    assert_status(call(&server), Code::Unknown, &["text/html"]);
}

#[test]
fn end_of_stream_without_trailers_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data_end(grpc_frame(&reply("r").encode_to_vec()));
    });
    assert_status(call(&server), Code::Internal, &["without trailers"]);
}

#[test]
fn trailers_without_grpc_status_are_internal() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_frame(&reply("r").encode_to_vec()));
        stream.send_trailers(&[("x-something", "else")]);
    });
    assert_status(call(&server), Code::Internal, &["grpc-status"]);
}

#[test]
fn rst_stream_before_the_response_maps_to_a_code() {
    // The reason is chosen by the request, so one server answers every case.
    let server = MockServer::start(|mut stream| async move {
        let reason: u32 = stream.request().header("x-reset").unwrap().parse().unwrap();
        stream.send_reset(Reason::from(reason));
    });
    let channel = channel(&server);
    for (reason, code) in [
        (Reason::REFUSED_STREAM, Code::Unavailable),
        (Reason::CANCEL, Code::Cancelled),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
    ] {
        let status = call_with(&channel, "x-reset", &u32::from(reason).to_string())
            .expect_err("a reset call fails");
        assert_eq!(status.code(), code, "{reason:?}: {status}");
        assert!(
            status.message().contains(&format!("{reason:?}")),
            "{reason:?}: {status}"
        );
    }
}

/// What a listener heard, for tests that act between a call's events.
#[derive(Default)]
struct Heard {
    headers: usize,
    messages: usize,
    close: Option<Status>,
}

struct Recorder(Arc<Mutex<Heard>>);

impl Listener<EchoResponse> for Recorder {
    fn on_headers(&mut self, _: Metadata) {
        self.0.lock().unwrap().headers += 1;
    }
    fn on_message(&mut self, _: EchoResponse) {
        self.0.lock().unwrap().messages += 1;
    }
    fn on_close(&mut self, status: Status, _: Metadata) {
        self.0.lock().unwrap().close = Some(status);
    }
}

#[test]
fn rst_stream_after_the_response_headers_maps_to_a_code() {
    // The mock resets only once the caller has heard the response headers
    // (the test adds a permit), so the reset meets a client that is reading
    // the response body, not one still waiting for headers.
    let go = Arc::new(Semaphore::new(0));
    let server = MockServer::start({
        let go = go.clone();
        move |mut stream| {
            let go = go.clone();
            async move {
                let reason: u32 = stream.request().header("x-reset").unwrap().parse().unwrap();
                stream.send_headers(200, &[GRPC]);
                go.acquire().await.unwrap().forget();
                stream.send_reset(Reason::from(reason));
            }
        }
    });
    let channel = channel(&server);
    for (reason, code) in [
        (Reason::CANCEL, Code::Cancelled),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        // After headers the server has processed the call: no retry.
        (Reason::REFUSED_STREAM, Code::Unavailable),
    ] {
        let mut metadata = Metadata::new();
        metadata
            .insert("x-reset", &u32::from(reason).to_string())
            .unwrap();
        let executor = ThreadlessExecutor::new();
        let call = channel.new_call(&UNARY, &options(), executor.clone());
        let heard = Arc::new(Mutex::new(Heard::default()));
        call.start(Box::new(Recorder(heard.clone())), metadata);
        call.request(1);
        call.send_message(hello("hi"));
        call.half_close();
        let drain_until = |done: &dyn Fn(&Heard) -> bool| {
            while !done(&heard.lock().unwrap()) {
                executor.wait_and_drain();
            }
        };
        drain_until(&|heard| heard.headers > 0 || heard.close.is_some());
        assert_eq!(
            heard.lock().unwrap().headers,
            1,
            "{reason:?}: headers first"
        );
        go.add_permits(1);
        drain_until(&|heard| heard.close.is_some());
        let heard = heard.lock().unwrap();
        let status = heard.close.as_ref().unwrap();
        assert_eq!(status.code(), code, "{reason:?}: {status}");
        assert!(
            status.message().contains(&format!("{reason:?}")),
            "{reason:?}: {status}"
        );
        assert_eq!((heard.headers, heard.messages), (1, 0), "{reason:?}");
    }
    assert_eq!(server.requests().len(), 3, "no call was sent twice");
}

/// The second connection's behaviour in the reconnect tests.
async fn answer_second(mut stream: MockStream) {
    stream.send_unary_ok(&reply("second connection"));
}

#[test]
fn goaway_below_the_stream_is_retried_transparently_on_a_new_connection() {
    let server = MockServer::start_raw(|mut conn| async move {
        if conn.index() > 0 {
            return conn.serve_h2(answer_second).await;
        }
        conn.handshake().await;
        if conn.read_request_headers().await.is_some() {
            // Stream 1 was not processed; keep the TCP connection open.
            conn.write(&goaway_frame(0, Reason::NO_ERROR)).await;
            conn.hold().await;
        }
    });
    let channel = channel(&server);
    // The server provably did not process the call (its stream is above the
    // GOAWAY's last stream id): it is sent again on a new connection, and
    // the caller never sees the GOAWAY.
    let first = blocking_unary_call(&channel, &UNARY, &options(), hello("first"));
    assert_eq!(first.unwrap(), reply("second connection"));
    assert_eq!(server.connections(), 2);
    let second = blocking_unary_call(&channel, &UNARY, &options(), hello("second"));
    assert_eq!(second.unwrap(), reply("second connection"));
    assert_eq!(server.connections(), 2, "the new connection is reused");
}

#[test]
fn goaway_with_an_error_mid_call_is_unavailable_then_the_channel_reconnects() {
    let server = MockServer::start(|mut stream| async move {
        if stream.request().connection > 0 {
            return answer_second(stream).await;
        }
        stream.send_headers(200, &[GRPC]);
        stream.send_goaway(Reason::INTERNAL_ERROR);
    });
    let channel = channel(&server);
    let first = blocking_unary_call(&channel, &UNARY, &options(), hello("first"));
    assert_status(first, Code::Unavailable, &[]);
    let second = blocking_unary_call(&channel, &UNARY, &options(), hello("second"));
    assert_eq!(second.unwrap(), reply("second connection"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].connection, 1);
}

#[test]
fn connection_dropped_mid_call_is_unavailable_then_the_channel_reconnects() {
    let server = MockServer::start(|mut stream| async move {
        if stream.request().connection > 0 {
            return answer_second(stream).await;
        }
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_prefix(false, 100));
        stream.drop_connection();
    });
    let channel = channel(&server);
    let first = blocking_unary_call(&channel, &UNARY, &options(), hello("first"));
    assert_status(first, Code::Unavailable, &["connection"]);
    let second = blocking_unary_call(&channel, &UNARY, &options(), hello("second"));
    assert_eq!(second.unwrap(), reply("second connection"));
    assert_eq!(server.connections(), 2);
}

#[test]
fn oversized_prefix_fails_before_the_body_and_resets_the_stream() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        // Declares 100 MiB; the body never comes.
        stream.send_data(grpc_prefix(false, 100 << 20));
    });
    // `call` drops its channel as soon as the call returns, so the
    // connection closes right behind the call: the RST_STREAM must already
    // be on its way by then, not left to h2's reset-on-drop.
    assert_status(
        call(&server),
        Code::ResourceExhausted,
        &["104857600", "4194304"],
    );
    assert_eq!(
        server.wait_for_reset(Duration::from_secs(10)),
        Some(Reason::CANCEL),
        "the client resets the stream it gave up on"
    );
}

#[test]
fn compressed_message_without_grpc_encoding_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        let body = reply("squeezed?").encode_to_vec();
        let mut message = BytesMut::from(&grpc_prefix(true, body.len() as u32)[..]);
        message.extend_from_slice(&body);
        stream.send_headers(200, &[GRPC]);
        stream.send_data(message.freeze());
        stream.send_trailers(&[OK]);
    });
    assert_status(call(&server), Code::Internal, &["compressed"]);
}

#[test]
fn garbage_instead_of_http2_fails_without_a_hang() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.write(GARBAGE).await;
        conn.hold().await;
    });
    // The connection fails while the client waits for the server's
    // SETTINGS, so the call fails fast as a failed connection attempt.
    assert_status(call(&server), Code::Unavailable, &["HTTP/2"]);
}

#[test]
fn garbage_mid_call_is_an_internal_protocol_error() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.handshake().await;
        if conn.read_request_headers().await.is_some() {
            conn.write(GARBAGE).await;
            conn.hold().await;
        }
    });
    // h2 finds no frame in those bytes and closes the connection itself: a
    // protocol violation by the server, INTERNAL, and not reported as a
    // GOAWAY from the server.
    let status = assert_status(call(&server), Code::Internal, &["HTTP/2 protocol error"]);
    assert!(!status.message().contains("by the server"), "{status}");
}

#[test]
fn body_truncated_mid_message_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        let frame = grpc_frame(&reply("cut short").encode_to_vec());
        stream.send_headers(200, &[GRPC]);
        stream.send_data_end(frame.slice(..frame.len() - 4));
    });
    assert_status(call(&server), Code::Internal, &["middle of a message"]);
}

#[test]
fn a_refused_stream_is_retried_transparently_on_the_same_connection() {
    let streams = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = MockServer::start(move |mut stream| {
        let first = streams.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        async move {
            if first {
                stream.send_reset(Reason::REFUSED_STREAM);
            } else {
                stream.send_unary_ok(&reply("retried"));
            }
        }
    });
    let channel = channel(&server);
    let got = blocking_unary_call(&channel, &UNARY, &options(), hello("once"));
    assert_eq!(got.unwrap(), reply("retried"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the refused call was sent again");
    assert_eq!(requests[0].body, requests[1].body, "with the same request");
    assert_eq!(server.connections(), 1);
}

#[test]
fn the_authority_can_be_overridden() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&reply("ok"));
    });
    let channel = Channel::builder(server.url())
        .authority("api.example.test:443")
        .build()
        .unwrap();
    blocking_unary_call(&channel, &UNARY, &options(), hello("hi")).unwrap();
    assert_eq!(
        server.requests()[0].authority.as_deref(),
        Some("api.example.test:443")
    );
    let err = Channel::builder(server.url())
        .authority("not a host")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("authority"), "{err}");
}
