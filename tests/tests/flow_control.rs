//! Flow control of the streams' windows, end to end: a sender stops at
//! the peer's window (outbound), and a response nobody reads yet does not
//! hold the connection's window shut for the other calls (inbound). The
//! memory bound of inbound flow control has a file of its own
//! (`flow_control_memory.rs`), as it measures the process.

use std::task::{Context, Poll};
use std::time::Duration;

use switchboard::call::ClientCall;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call};
use switchboard::{CallOptions, Channel, Metadata};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::EchoRequest;
use switchboard_tests::listener::Recorder;
use switchboard_tests::methods::{CLIENT_STREAM, SERVER_STREAM, UNARY};
use switchboard_tests::support::{hello, ready_channel_to, stream_of};

#[test]
fn outbound_sending_stops_at_the_peer_window() {
    let server = TonicServer::start();
    let channel = ready_channel_to(server.url());
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&CLIENT_STREAM, &CallOptions::new(), executor.clone());
    let recorder = Recorder::new();
    // The server holds the handler before it reads anything, so the
    // server's window stops growing.
    server.hold();
    call.start(recorder.listener(), Metadata::new());
    call.send_message(hello("first"));
    let mut messages = 1;
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let chunk = vec![9u8; 16 * 1024];
    let mut sent = 0usize;
    let mut pending_seen = false;
    // Bounded loop: a client without outbound flow control would send all
    // 64 MiB here without ever seeing Pending.
    for _ in 0..4096 {
        match call.poll_ready(&mut cx) {
            Poll::Ready(true) => {
                call.send_message(EchoRequest {
                    payload: chunk.clone(),
                    ..Default::default()
                });
                sent += chunk.len();
                messages += 1;
            }
            Poll::Ready(false) => panic!("call ended unexpectedly"),
            Poll::Pending => {
                // Give the connection a moment to flush, then ask again: it
                // must stay pending while the server does not read. (An
                // observation window for a negative property: kept.)
                std::thread::sleep(Duration::from_millis(50));
                if call.poll_ready(&mut cx).is_pending() {
                    pending_seen = true;
                    break;
                }
            }
        }
    }
    assert!(
        pending_seen,
        "never saw flow control push back after {sent} bytes"
    );
    assert!(
        sent < 8 * 1024 * 1024,
        "buffered {sent} bytes before pushing back"
    );
    // Once the server reads again, everything held back gets through.
    server.release();
    call.half_close();
    call.request(1);
    let heard = recorder.drain_to_close(&executor);
    let (status, _) = heard.close.expect("the call ends");
    assert!(status.is_ok(), "{status}");
    assert_eq!(heard.messages[0].message, messages.to_string());
}

/// Data for a response nobody is reading yet (a stream not iterated, a
/// future not polled) is still taken out of h2, up to the call's own buffer
/// limit, so that it does not hold the connection's flow-control window
/// shut for every other call on the connection.
#[test]
fn an_unread_stream_does_not_stall_the_other_calls_on_its_connection() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .flow_control_windows(64 * 1024, 64 * 1024)
        .build()
        .expect("valid target");
    let options = CallOptions::new().with_deadline_after(Duration::from_secs(10));
    let warm = EchoRequest {
        message: "warm".into(),
        ..Default::default()
    };
    // A ready connection: the stream's request goes out now, not on the
    // first `next`.
    blocking_unary_call(&channel, &UNARY, &options, warm).expect("warm-up");
    // Twice the connection window, for a stream not iterated yet.
    let unread = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        stream_of(128, 1024),
    );
    // The whole response left the server (the warm-up and the stream
    // completed): the client took it out of h2 though nobody reads it.
    server.wait_until_completed(2);
    for i in 0..10 {
        let request = EchoRequest {
            message: format!("call {i}"),
            payload: vec![1; 1024],
            ..Default::default()
        };
        let reply = blocking_unary_call(&channel, &UNARY, &options, request)
            .expect("a call next to an unread stream completes");
        assert_eq!(reply.message, format!("call {i}"));
    }
    let messages: Vec<_> = unread
        .collect::<Result<_, _>>()
        .expect("the stream ends OK");
    assert_eq!(messages.len(), 128);
}
