//! Cancellation: a call the caller gives up on — a dropped future, a
//! dropped stream, a call made by hand and dropped, `cancel` on a bidi
//! call, from any thread — ends for the caller with CANCELLED and is
//! cancelled on the server, which counts it.

use std::sync::{Arc, mpsc};

use futures::StreamExt;
use switchboard::call::ClientCall;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{
    async_server_streaming_call, blocking_bidi_streaming_call, blocking_server_streaming_call,
    blocking_unary_call, future_unary_call,
};
use switchboard::{CallOptions, Code, Metadata};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::EchoRequest;
use switchboard_tests::listener::Recorder;
use switchboard_tests::methods::{BIDI, SERVER_STREAM, UNARY};
use switchboard_tests::support::{channel_to, hello, ready_channel_to, stream_of};

#[test]
fn dropped_future_cancels_on_the_server() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("warm")).unwrap();
    // The call stays in the handler until the client gives up on it.
    server.hold();
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("held"));
    server.wait_until_calls(2);
    drop(future);
    server.wait_until_cancelled(1);
    assert_eq!(
        server.counters().completed(),
        1,
        "only the warm-up call completed"
    );
}

#[test]
fn dropping_a_stream_mid_way_cancels_on_the_server() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    // Far more than flow control lets the server send ahead: the stream
    // is still going when it is dropped.
    let request = stream_of(100_000, 1024);
    let mut stream = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        request.clone(),
    );
    assert!(stream.next().unwrap().is_ok());
    assert!(stream.next().unwrap().is_ok());
    drop(stream);
    server.wait_until_cancelled(1);
    // Async stream: same.
    let mut stream =
        async_server_streaming_call(&channel, &SERVER_STREAM, &CallOptions::new(), request);
    futures::executor::block_on(async { stream.next().await.unwrap().unwrap() });
    drop(stream);
    server.wait_until_cancelled(2);
    assert_eq!(
        server.counters().completed(),
        0,
        "neither stream ran to its end"
    );
}

/// A call made by hand and dropped before its end, without `cancel`, is
/// cancelled: the server hears of it and nothing keeps reading its stream.
#[test]
fn dropping_a_call_made_by_hand_cancels_it_on_the_server() {
    let server = TonicServer::start();
    let channel = ready_channel_to(server.url());
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&SERVER_STREAM, &CallOptions::new(), executor.clone());
    let recorder = Recorder::new();
    call.start(recorder.listener(), Metadata::new());
    call.request(1);
    // Far more than flow control lets the server send ahead.
    call.send_last(stream_of(100_000, 1024));
    // Once a message came back the stream is going; then walk away from it.
    recorder.drain_until(&executor, |heard| !heard.messages.is_empty());
    drop(call);
    server.wait_until_cancelled(1);
    assert_eq!(
        server.counters().completed(),
        1,
        "only the warm-up completed"
    );
}

#[test]
fn bidi_error_and_cancel() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &CallOptions::new());
    bidi.send(hello("a")).unwrap();
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

    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &CallOptions::new());
    bidi.send(hello("b")).unwrap();
    assert_eq!(bidi.recv().unwrap().unwrap().message, "b");
    bidi.cancel();
    assert_eq!(bidi.recv().unwrap().unwrap_err().code(), Code::Cancelled);
    server.wait_until_cancelled(1);
}

#[test]
fn bidi_stress_sender_receiver_and_a_cancelling_third_thread() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    for round in 0..20 {
        let bidi = Arc::new(blocking_bidi_streaming_call(
            &channel,
            &BIDI,
            &CallOptions::new(),
        ));
        let sender = {
            let bidi = bidi.clone();
            std::thread::spawn(move || {
                let mut sent = 0u32;
                // Sends until the call refuses: it must, once cancelled.
                while bidi.send(hello("x")).is_ok() {
                    sent += 1;
                }
                sent
            })
        };
        // The receiver signals once it has received `traffic` messages: a
        // different point of the conversation each round.
        let traffic = 1 + (round % 7) * 5;
        let (flowed, has_flowed) = mpsc::channel();
        let receiver = {
            let bidi = bidi.clone();
            std::thread::spawn(move || {
                let mut received = 0u32;
                loop {
                    match bidi.recv() {
                        Some(Ok(_)) => {
                            received += 1;
                            if received == traffic {
                                let _ = flowed.send(());
                            }
                        }
                        Some(Err(status)) => return (received, Some(status.code())),
                        None => return (received, None),
                    }
                }
            })
        };
        // Cancel from a third thread once that much traffic has flowed.
        has_flowed.recv().expect("the receiver got its messages");
        bidi.cancel();
        let sent = sender.join().expect("sender thread");
        let (received, end) = receiver.join().expect("receiver thread");
        assert_eq!(
            end,
            Some(Code::Cancelled),
            "round {round}: receiver ended with {end:?}"
        );
        assert!(received >= traffic, "round {round}: cancelled mid-traffic");
        assert!(
            received <= sent,
            "round {round}: {received} received > {sent} sent"
        );
    }
}
