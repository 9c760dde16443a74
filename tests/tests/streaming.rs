//! Streaming calls (server, client, bidi), blocking and async, against an
//! independent tonic server: messages, error ends, deadlines and cancels
//! mid-stream, empty streams, many messages, many concurrent streams, large
//! messages and outbound flow control.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use switchboard::call::{ClientCall, Listener};
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{
    async_bidi_streaming_call, async_client_streaming_call, async_server_streaming_call,
    blocking_bidi_streaming_call, blocking_client_streaming_call, blocking_server_streaming_call,
};
use switchboard::{
    CallOptions, Channel, Code, Metadata, MethodDescriptor, MethodKind, ProstCodec, Status,
};
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::{
    ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, ServerOptions, TonicServer,
};

const SERVER_STREAM: MethodDescriptor<StreamRequest, EchoResponse> = MethodDescriptor::new(
    ECHO_SERVER_STREAM_PATH,
    MethodKind::ServerStreaming,
    ProstCodec,
);
const CLIENT_STREAM: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
    ECHO_CLIENT_STREAM_PATH,
    MethodKind::ClientStreaming,
    ProstCodec,
);
const BIDI: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_BIDI_PATH, MethodKind::BidiStreaming, ProstCodec);

fn channel(server: &TonicServer) -> Channel {
    Channel::builder(server.url())
        .build()
        .expect("valid target")
}

fn stream_of(count: u32, size: u32) -> StreamRequest {
    StreamRequest {
        count,
        size,
        message: "s".into(),
        ..Default::default()
    }
}

fn echo(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.into(),
        ..Default::default()
    }
}

fn no_options() -> CallOptions {
    CallOptions::new()
}

#[test]
fn blocking_server_stream_yields_every_message_then_ends() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut mdata = Metadata::new();
    mdata.insert("x-echo-who", "me").unwrap();
    let options = CallOptions::new().with_metadata(mdata);
    let mut stream =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &options, stream_of(5, 3));
    assert_eq!(stream.headers().unwrap().get("x-echo-who"), Some("me"));
    let mut indexes = Vec::new();
    for item in stream.by_ref() {
        let message = item.unwrap();
        assert_eq!(message.payload, vec![0xAB; 3]);
        indexes.push(message.index);
    }
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    assert!(stream.next().is_none(), "stays ended");
    assert_eq!(
        stream
            .trailers()
            .expect("trailers after the end")
            .get("x-echo-who"),
        Some("me")
    );
}

#[test]
fn async_server_stream_on_futures_and_tokio() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let collect = |n| {
        let stream =
            async_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), stream_of(n, 1));
        async move {
            stream
                .map(|item| item.unwrap().index)
                .collect::<Vec<_>>()
                .await
        }
    };
    assert_eq!(futures::executor::block_on(collect(4)), [0, 1, 2, 3]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(collect(3)), [0, 1, 2]);
}

#[test]
fn server_stream_error_after_n_messages_is_yielded_once() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = StreamRequest {
        status_code: Code::Aborted.as_i32(),
        status_message: "gave up after three".into(),
        ..stream_of(3, 1)
    };
    let items: Vec<_> =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request.clone())
            .collect();
    assert_eq!(items.len(), 4, "three messages and the error");
    assert!(items[..3].iter().all(|i| i.is_ok()));
    let status = items[3].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(status.message(), "gave up after three");
    // Async: the same sequence.
    let items: Vec<_> = futures::executor::block_on(
        async_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request)
            .collect::<Vec<_>>(),
    );
    assert_eq!(items.len(), 4);
    assert_eq!(items[3].as_ref().unwrap_err().code(), Code::Aborted);
}

#[test]
fn deadline_hit_mid_stream() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = StreamRequest {
        sleep_ms: 50,
        ..stream_of(1000, 1)
    };
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(400));
    let items: Vec<_> =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &options, request).collect();
    let (last, messages) = items.split_last().unwrap();
    assert!(
        !messages.is_empty(),
        "some messages arrive before the deadline"
    );
    assert!(messages.len() < 1000);
    assert_eq!(last.as_ref().unwrap_err().code(), Code::DeadlineExceeded);
}

#[test]
fn dropping_a_stream_mid_way_cancels_on_the_server() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = StreamRequest {
        sleep_ms: 5,
        ..stream_of(100_000, 1)
    };
    let mut stream =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request.clone());
    assert!(stream.next().unwrap().is_ok());
    assert!(stream.next().unwrap().is_ok());
    drop(stream);
    assert!(
        server.wait_for_cancelled(1, Duration::from_secs(10)),
        "server never saw the cancel"
    );
    // Async stream: same.
    let mut stream = async_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request);
    futures::executor::block_on(async { stream.next().await.unwrap().unwrap() });
    drop(stream);
    assert!(
        server.wait_for_cancelled(2, Duration::from_secs(10)),
        "server never saw the second cancel"
    );
}

#[test]
fn server_killed_mid_stream_is_unavailable() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = StreamRequest {
        sleep_ms: 20,
        ..stream_of(100_000, 1)
    };
    let mut stream =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request);
    assert!(stream.next().unwrap().is_ok());
    server.kill();
    let status = stream
        .find_map(Result::err)
        .expect("an error ends the stream");
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[test]
fn empty_streams_in_each_direction() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut stream =
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), stream_of(0, 0));
    assert!(stream.next().is_none());
    let reply = blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), Vec::new())
        .unwrap();
    assert_eq!(reply.message, "0");
    let reply = futures::executor::block_on(async_client_streaming_call(
        &channel,
        &CLIENT_STREAM,
        &no_options(),
        futures::stream::empty(),
    ))
    .unwrap();
    assert_eq!(reply.message, "0");
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &no_options());
    bidi.half_close();
    assert!(bidi.recv().is_none());
    assert!(bidi.trailers().is_some());
}

#[test]
fn client_stream_blocking_and_async() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let requests = (0..3).map(|i| EchoRequest {
        payload: vec![1; 10 * (i + 1)],
        ..Default::default()
    });
    let reply =
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), requests).unwrap();
    assert_eq!(reply.message, "3");
    assert_eq!(reply.total_bytes, 60);
    let requests = futures::stream::iter((0..5).map(|_| echo("x")));
    let reply = futures::executor::block_on(async_client_streaming_call(
        &channel,
        &CLIENT_STREAM,
        &no_options(),
        requests,
    ))
    .unwrap();
    assert_eq!(reply.message, "5");
}

#[test]
fn client_stream_stops_taking_requests_once_the_server_answered_with_an_error() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let failing = EchoRequest {
        status_code: Code::InvalidArgument.as_i32(),
        status_message: "bad third".into(),
        ..Default::default()
    };
    // An endless iterator: the call must end anyway, with the server's error.
    let requests = (0..).map(move |i| if i == 2 { failing.clone() } else { echo("ok") });
    let status = blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), requests)
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
}

#[test]
fn bidi_blocking_send_and_recv_alternately() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &no_options());
    for i in 0..10 {
        bidi.send(echo(&format!("m{i}"))).unwrap();
        let reply = bidi.recv().unwrap().unwrap();
        assert_eq!(reply.message, format!("m{i}"));
        assert_eq!(reply.index, i);
    }
    bidi.half_close();
    assert!(bidi.recv().is_none());
    assert!(
        bidi.send(echo("late")).is_err(),
        "no sends after half-close"
    );
}

#[test]
fn bidi_blocking_one_thread_sends_while_another_receives() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let bidi = Arc::new(blocking_bidi_streaming_call(&channel, &BIDI, &no_options()));
    let sender = {
        let bidi = bidi.clone();
        std::thread::spawn(move || {
            for i in 0..2000 {
                bidi.send(echo(&i.to_string())).unwrap();
            }
            bidi.half_close();
        })
    };
    let mut count = 0;
    while let Some(item) = bidi.recv() {
        assert_eq!(item.unwrap().message, count.to_string());
        count += 1;
    }
    sender.join().unwrap();
    assert_eq!(count, 2000);
}

#[test]
fn bidi_error_and_cancel() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &no_options());
    bidi.send(echo("a")).unwrap();
    bidi.send(EchoRequest {
        status_code: Code::FailedPrecondition.as_i32(),
        status_message: "stop".into(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(bidi.recv().unwrap().unwrap().message, "a");
    let status = bidi.recv().unwrap().unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(bidi.recv().is_none());

    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &no_options());
    bidi.send(echo("b")).unwrap();
    assert_eq!(bidi.recv().unwrap().unwrap().message, "b");
    bidi.cancel();
    assert_eq!(bidi.recv().unwrap().unwrap_err().code(), Code::Cancelled);
    assert!(server.wait_for_cancelled(1, Duration::from_secs(10)));
}

#[test]
fn bidi_async_with_a_request_stream() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let requests = futures::stream::iter((0..50).map(|i| echo(&i.to_string())));
    let replies: Vec<_> = futures::executor::block_on(
        async_bidi_streaming_call(&channel, &BIDI, &no_options(), requests)
            .map(|r| r.unwrap().message)
            .collect::<Vec<_>>(),
    );
    let expected: Vec<_> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(replies, expected);
}

#[test]
fn a_hundred_thousand_small_messages_on_one_stream() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut count = 0;
    for item in blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &no_options(),
        stream_of(100_000, 10),
    ) {
        assert_eq!(item.unwrap().payload.len(), 10);
        count += 1;
    }
    assert_eq!(count, 100_000);
    let requests = (0..100_000).map(|_| EchoRequest {
        payload: vec![7; 10],
        ..Default::default()
    });
    let reply =
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), requests).unwrap();
    assert_eq!(reply.message, "100000");
    assert_eq!(reply.total_bytes, 1_000_000);
}

#[test]
fn more_streams_than_the_server_allows_at_once_wait_instead_of_failing() {
    let server = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(4),
    });
    let channel = channel(&server);
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                let request = StreamRequest {
                    sleep_ms: 20,
                    ..stream_of(5, 1)
                };
                blocking_server_streaming_call(&channel, &SERVER_STREAM, &no_options(), request)
                    .map(|item| item.map(|m| m.index))
                    .collect::<Result<Vec<_>, Status>>()
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), [0, 1, 2, 3, 4]);
    }
    assert_eq!(server.counters().completed(), 20);
}

#[test]
fn sixteen_mib_messages_both_ways() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let size = 16 * 1024 * 1024;
    let options = CallOptions::new().with_max_inbound_message_size(32 * 1024 * 1024);
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &options);
    bidi.send(EchoRequest {
        payload: vec![3; size],
        ..Default::default()
    })
    .unwrap();
    let reply = bidi.recv().unwrap().unwrap();
    assert_eq!(reply.payload.len(), size);
    assert!(reply.payload.iter().all(|b| *b == 3));
    bidi.half_close();
    assert!(bidi.recv().is_none());
    // And the default limit refuses it.
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &no_options());
    bidi.send(EchoRequest {
        response_size: size as u32,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        bidi.recv().unwrap().unwrap_err().code(),
        Code::ResourceExhausted
    );
}

struct Ignore;
impl Listener<EchoResponse> for Ignore {
    fn on_message(&mut self, _: EchoResponse) {}
    fn on_close(&mut self, _: Status, _: Metadata) {}
}

#[test]
fn outbound_sending_stops_at_the_peer_window() {
    let server = TonicServer::start();
    let channel = channel(&server);
    // Warm the channel so the call below is a real stream at once.
    blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), [echo("warm")])
        .unwrap();
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&CLIENT_STREAM, &no_options(), executor.clone());
    call.start(Box::new(Ignore), Metadata::new());
    // The handler sleeps after reading the first request, so it stops
    // reading and the server's window stops growing.
    call.send_message(EchoRequest {
        sleep_ms: 60_000,
        ..Default::default()
    });
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
            }
            Poll::Ready(false) => panic!("call ended unexpectedly"),
            Poll::Pending => {
                // Give the connection a moment to flush, then ask again: it
                // must stay pending while the server does not read.
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
    call.cancel(Status::cancelled("done"));
}

#[test]
fn bidi_stress_sender_receiver_and_a_cancelling_third_thread() {
    let server = TonicServer::start();
    let channel = channel(&server);
    for round in 0..20 {
        let bidi = Arc::new(blocking_bidi_streaming_call(&channel, &BIDI, &no_options()));
        let sender = {
            let bidi = bidi.clone();
            std::thread::spawn(move || {
                let mut sent = 0u32;
                // Sends until the call refuses: it must, once cancelled.
                while bidi.send(echo("x")).is_ok() {
                    sent += 1;
                }
                sent
            })
        };
        let receiver = {
            let bidi = bidi.clone();
            std::thread::spawn(move || {
                let mut received = 0u32;
                loop {
                    match bidi.recv() {
                        Some(Ok(_)) => received += 1,
                        Some(Err(status)) => return (received, Some(status.code())),
                        None => return (received, None),
                    }
                }
            })
        };
        // Cancel from a third thread once some traffic has flowed.
        std::thread::sleep(Duration::from_millis(5 + round % 7));
        bidi.cancel();
        let sent = sender.join().expect("sender thread");
        let (received, end) = receiver.join().expect("receiver thread");
        assert_eq!(
            end,
            Some(Code::Cancelled),
            "round {round}: receiver ended with {end:?}"
        );
        assert!(
            received <= sent,
            "round {round}: {received} received > {sent} sent"
        );
    }
}

/// Data for a response nobody is reading yet (a stream not iterated, a
/// future not polled) is still taken out of h2, up to the call's own buffer
/// limit, so that it does not hold the connection's flow-control window
/// shut for every other call on the connection.
#[test]
fn an_unread_stream_does_not_stall_the_other_calls_on_its_connection() {
    const UNARY: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
        switchboard_tests::ECHO_UNARY_PATH,
        MethodKind::Unary,
        ProstCodec,
    );
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
    switchboard::stub::blocking_unary_call(&channel, &UNARY, &options, warm).expect("warm-up");
    // Twice the connection window, for a stream not iterated yet.
    let unread = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        stream_of(128, 1024),
    );
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..10 {
        let request = EchoRequest {
            message: format!("call {i}"),
            payload: vec![1; 1024],
            ..Default::default()
        };
        let reply = switchboard::stub::blocking_unary_call(&channel, &UNARY, &options, request)
            .expect("a call next to an unread stream completes");
        assert_eq!(reply.message, format!("call {i}"));
    }
    let messages: Vec<_> = unread
        .collect::<Result<_, _>>()
        .expect("the stream ends OK");
    assert_eq!(messages.len(), 128);
}

/// A call made by hand and dropped before its end, without `cancel`, is
/// cancelled: the server hears of it and nothing keeps reading its stream.
#[test]
fn dropping_a_call_made_by_hand_cancels_it_on_the_server() {
    let server = TonicServer::start();
    let channel = channel(&server);
    // Warm the channel so the call below is a real stream at once.
    blocking_client_streaming_call(&channel, &CLIENT_STREAM, &no_options(), [echo("warm")])
        .unwrap();
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&SERVER_STREAM, &no_options(), executor.clone());
    call.start(Box::new(Ignore), Metadata::new());
    call.request(1);
    call.send_last(StreamRequest {
        sleep_ms: 5,
        ..stream_of(100_000, 1)
    });
    // Let the stream get going on the server, then walk away from it.
    std::thread::sleep(Duration::from_millis(100));
    drop(call);
    assert!(
        server.wait_for_cancelled(1, Duration::from_secs(10)),
        "server never saw the dropped call end"
    );
}
