//! Connectivity: what a caller sees of the channel's connection — idle
//! until asked, connecting, TRANSIENT_FAILURE and recovery, idle timeout,
//! shutdown, targets (TCP, Unix socket, authority), a server that dies or
//! talks garbage mid-call, and the connection-level PINGs it must answer.
//!
//! Peers: the Echo peer (`TonicServer`, held in its handler where a call
//! must stay open) and the mock (`MockServer`) for exact frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prost::Message;
use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Code, ConnectivityState, Deadline};
use switchboard_tests::echo::StreamRequest;
use switchboard_tests::methods::{SERVER_STREAM, UNARY};
use switchboard_tests::mock::{MockServer, RawFrame, grpc_frame, grpc_prefix, raw_frame};
use switchboard_tests::support::{
    GRPC, assert_status, bounded, call_unary, channel_to, fast_backoff, hello, one_worker_runtime,
    ready_channel_to, reply, reply_with_payload, stream_of,
};
use switchboard_tests::wait::{WAIT_LIMIT, wait_for_state};
use switchboard_tests::{TonicServer, free_port};

/// What an HTTP/1.1 server might send: no HTTP/2 frame at all (read as a
/// frame header, it declares a 4.7 MB frame).
const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\nnot HTTP/2\n";

#[test]
fn build_does_no_io_and_state_true_connects() {
    let server = TonicServer::start();
    // On a runtime of the test's own, whose tasks can be counted: I/O needs
    // a task, and building the channel starts none.
    let runtime = one_worker_runtime();
    let channel = Channel::builder(server.url())
        .runtime(runtime.handle().clone())
        .build()
        .unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    assert_eq!(
        runtime.metrics().num_alive_tasks(),
        0,
        "nothing connects without a call"
    );
    assert_eq!(channel.state(true), ConnectivityState::Connecting);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Ready),
        ConnectivityState::Ready
    );
    assert!(
        runtime.metrics().num_alive_tasks() > 0,
        "the connection runs on the channel's runtime"
    );
    assert_eq!(server.counters().calls(), 0, "connecting makes no call");
}

#[test]
fn failed_connection_goes_transient_failure_then_recovers() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    channel.state(true);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::TransientFailure),
        ConnectivityState::TransientFailure
    );
    // Fail-fast calls fail at once while the channel keeps retrying.
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    let _server = TonicServer::start_on(addr).unwrap();
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Ready),
        ConnectivityState::Ready
    );
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("back")).unwrap();
    assert_eq!(reply.message, "back");
}

#[test]
fn idle_timeout_returns_to_idle_and_the_next_call_reconnects() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("one")).unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Idle),
        ConnectivityState::Idle
    );
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("two")).unwrap();
    assert_eq!(reply.message, "two");
}

#[test]
fn shutdown_fails_pending_and_new_calls() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let waiting = {
        let channel = channel.clone();
        std::thread::spawn(move || {
            let options = CallOptions::new().with_wait_for_ready(true);
            blocking_unary_call(&channel, &UNARY, &options, hello("x"))
        })
    };
    // The call is pending once it has made the idle channel connect (only
    // a call does that); then shut down under it.
    assert!(
        channel
            .wait_for_state_change(ConnectivityState::Idle, Deadline::after(WAIT_LIMIT))
            .is_some(),
        "the waiting call never asked for a connection"
    );
    assert!(!waiting.is_finished(), "the call waits for a connection");
    channel.shutdown();
    let status = waiting.join().unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("shut down"), "{status}");
    assert_eq!(channel.state(true), ConnectivityState::Shutdown);
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("y")).unwrap_err();
    assert!(status.message().contains("shut down"), "{status}");
}

#[test]
fn invalid_targets_fail_at_build_with_the_reason() {
    // https:// targets are valid (TLS); a bad one is refused like any other.
    let err = Channel::builder("https://secure.example:notaport")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
    let err = Channel::builder("http://host:notaport")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}

#[test]
fn call_before_the_server_listens() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    // Without wait-for-ready: UNAVAILABLE, naming the address.
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(
        status.message().contains(&addr.port().to_string()),
        "{status}"
    );

    // With wait-for-ready: the call waits and succeeds once the server is up.
    let waiting = {
        let channel = channel.clone();
        std::thread::spawn(move || {
            let options = CallOptions::new()
                .with_wait_for_ready(true)
                .with_deadline_after(Duration::from_secs(20));
            blocking_unary_call(&channel, &UNARY, &options, hello("patient"))
        })
    };
    // The call waits through failed attempts: the channel has failed at
    // least once more since the call was made.
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::TransientFailure),
        ConnectivityState::TransientFailure
    );
    assert!(!waiting.is_finished(), "the call waits through the failure");
    let server = TonicServer::start_on(addr).expect("port still free");
    let reply = waiting
        .join()
        .unwrap()
        .expect("wait-for-ready call succeeds");
    assert_eq!(reply.message, "patient");
    assert_eq!(server.counters().calls(), 1);
}

#[test]
fn server_killed_mid_call_is_unavailable_not_a_hang() {
    let server = TonicServer::start();
    // READY, so the call below is a real stream at once.
    let channel = ready_channel_to(server.url());
    // The call stays in the server's handler until the kill.
    server.hold();
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("held"));
    server.wait_until_calls(2);
    server.kill();
    let status = future.wait().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[test]
fn server_killed_mid_stream_is_unavailable() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    // The handler sends its first message, then idles mid-stream (the
    // Echo peer's pacing, far longer than the test) until it is killed.
    let request = StreamRequest {
        sleep_ms: 60_000,
        ..stream_of(2, 1)
    };
    let mut stream =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &CallOptions::new(), request);
    assert!(stream.next().unwrap().is_ok());
    let server_alive_then_killed = server.counters().completed() == 0;
    server.kill();
    let status = stream
        .find_map(Result::err)
        .expect("an error ends the stream");
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(server_alive_then_killed, "the stream was cut mid-way");
}

#[test]
fn connection_dropped_mid_call_is_unavailable_then_the_channel_reconnects() {
    let server = MockServer::start(|mut stream| async move {
        if stream.request().connection > 0 {
            return stream.send_unary_ok(&reply_with_payload("second connection"));
        }
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_prefix(false, 100));
        stream.drop_connection();
    });
    let channel = channel_to(server.url());
    let first = blocking_unary_call(&channel, &UNARY, &bounded(), hello("first"));
    assert_status(first, Code::Unavailable, &["connection"]);
    let second = blocking_unary_call(&channel, &UNARY, &bounded(), hello("second"));
    assert_eq!(second.unwrap(), reply_with_payload("second connection"));
    assert_eq!(server.connections(), 2);
}

#[test]
fn garbage_instead_of_http2_fails_without_a_hang() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.write(GARBAGE).await;
        conn.hold().await;
    });
    // The connection fails while the client waits for the server's
    // SETTINGS, so the call fails fast as a failed connection attempt.
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Unavailable,
        &["HTTP/2"],
    );
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
    let status = assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["HTTP/2 protocol error"],
    );
    assert!(!status.message().contains("by the server"), "{status}");
}

#[test]
fn every_server_ping_is_answered() {
    let acks = Arc::new(AtomicUsize::new(0));
    let seen = acks.clone();
    let server = MockServer::start_raw(move |mut conn| {
        let seen = seen.clone();
        async move {
            conn.handshake().await;
            let Some(request) = conn.read_request_headers().await else {
                return;
            };
            for i in 0u8..3 {
                let payload = [b'h', b'o', b's', b't', b'i', b'l', b'e', i];
                conn.write(&raw_frame(RawFrame::PING, 0, 0, payload.to_vec()))
                    .await;
                while let Some(got) = conn.read_frame().await {
                    if got.kind == RawFrame::PING
                        && got.flags & RawFrame::ACK != 0
                        && got.payload[..] == payload
                    {
                        seen.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
            let data = raw_frame(
                RawFrame::DATA,
                0,
                request.stream_id,
                grpc_frame(&reply("pong").encode_to_vec()),
            );
            conn.answer_ok(request.stream_id, &data).await;
            conn.hold().await;
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(call_unary(&channel, "x").unwrap(), reply("pong"));
    assert_eq!(
        acks.load(Ordering::SeqCst),
        3,
        "each of the server's PINGs got an ACK"
    );
}

#[cfg(unix)]
#[test]
fn unix_socket_target() {
    let dir = std::env::temp_dir().join(format!("switchboard-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let _server = TonicServer::start_unix(&path);
    let channel = Channel::builder(format!("unix:{}", path.display()))
        .build()
        .unwrap();
    let reply =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("over uds")).unwrap();
    assert_eq!(reply.message, "over uds");
}

#[test]
fn the_authority_can_be_overridden() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&reply_with_payload("ok"));
    });
    let channel = Channel::builder(server.url())
        .authority("api.example.test:443")
        .build()
        .unwrap();
    blocking_unary_call(&channel, &UNARY, &bounded(), hello("hi")).unwrap();
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
