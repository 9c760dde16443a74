//! Deadlines (rule 4): a deadline is fresh for every call, and it
//! ends a call whatever the call is waiting for — a slow (held) handler, a
//! connection that never comes, a stream mid-way — and the server hears of
//! it.

use std::time::Duration;

use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Code};
use switchboard_tests::echo::StreamRequest;
use switchboard_tests::methods::{SERVER_STREAM, UNARY};
use switchboard_tests::support::{channel_to, fast_backoff, hello, stream_of};
use switchboard_tests::{TonicServer, free_port};

#[test]
fn deadline_after_is_fresh_for_every_call() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(300));
    blocking_unary_call(&channel, &UNARY, &options, hello("first")).unwrap();
    // A call the server holds ends by the same options' deadline: by then
    // more than the timeout has passed since the options were made, so a
    // deadline fixed then would have passed too.
    server.hold();
    let status = blocking_unary_call(&channel, &UNARY, &options, hello("held")).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    server.wait_until_cancelled(1);
    server.release();
    let reply = blocking_unary_call(&channel, &UNARY, &options, hello("second")).unwrap();
    assert_eq!(reply.message, "second");
    assert_eq!(
        server.counters().completed(),
        2,
        "first and second completed"
    );
}

#[test]
fn deadline_exceeded_against_a_slow_handler() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    // The handler is held: slower than any deadline.
    server.hold();
    let request = hello("slow");
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(200));
    let status = blocking_unary_call(&channel, &UNARY, &options, request.clone()).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    server.wait_until_cancelled(1);
    // Same through a future.
    let status =
        futures::executor::block_on(future_unary_call(&channel, &UNARY, &options, request))
            .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    server.wait_until_cancelled(2);
    assert_eq!(server.counters().completed(), 0);
}

#[test]
fn deadline_while_waiting_for_a_connection_names_the_wait() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let options = CallOptions::new()
        .with_wait_for_ready(true)
        .with_deadline_after(Duration::from_millis(300));
    let status = blocking_unary_call(&channel, &UNARY, &options, hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("waiting for a ready connection"),
        "{status}"
    );
}

#[test]
fn deadline_hit_mid_stream() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    // One message at once, then the handler idles mid-stream (the Echo
    // peer's pacing, far longer than the deadline): the behaviour under
    // test is a stream slower than its deadline.
    let request = StreamRequest {
        sleep_ms: 60_000,
        ..stream_of(1000, 1)
    };
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(400));
    let items: Vec<_> =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &options, request).collect();
    let (last, messages) = items.split_last().unwrap();
    assert_eq!(messages.len(), 1, "the message sent before the deadline");
    assert_eq!(last.as_ref().unwrap_err().code(), Code::DeadlineExceeded);
    server.wait_until_cancelled(1);
}
