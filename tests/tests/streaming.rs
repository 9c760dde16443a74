//! Streaming calls (server, client, bidi), blocking and async, against the
//! Echo peer: every message in order, error ends, empty streams, a server
//! that answers early, one stream fed and drained by two threads, and many
//! messages on one stream.

use std::sync::Arc;

use futures::StreamExt;
use switchboard::stub::{
    async_bidi_streaming_call, async_client_streaming_call, async_server_streaming_call,
    blocking_bidi_streaming_call, blocking_client_streaming_call, blocking_server_streaming_call,
};
use switchboard::{CallOptions, Code, Metadata};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::{EchoRequest, StreamRequest};
use switchboard_tests::methods::{BIDI, CLIENT_STREAM, SERVER_STREAM};
use switchboard_tests::support::{channel_to, hello, stream_of};

#[test]
fn blocking_server_stream_yields_every_message_then_ends() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
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
    let channel = channel_to(server.url());
    let collect = |n| {
        let stream = async_server_streaming_call(
            &channel,
            &SERVER_STREAM,
            &CallOptions::new(),
            stream_of(n, 1),
        );
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
    let channel = channel_to(server.url());
    let request = StreamRequest {
        status_code: Code::Aborted.as_i32(),
        status_message: "gave up after three".into(),
        ..stream_of(3, 1)
    };
    let items: Vec<_> = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        request.clone(),
    )
    .collect();
    assert_eq!(items.len(), 4, "three messages and the error");
    assert!(items[..3].iter().all(|i| i.is_ok()));
    let status = items[3].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(status.message(), "gave up after three");
    // Async: the same sequence.
    let items: Vec<_> = futures::executor::block_on(
        async_server_streaming_call(&channel, &SERVER_STREAM, &CallOptions::new(), request)
            .collect::<Vec<_>>(),
    );
    assert_eq!(items.len(), 4);
    assert_eq!(items[3].as_ref().unwrap_err().code(), Code::Aborted);
}

#[test]
fn empty_streams_in_each_direction() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let mut stream = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        stream_of(0, 0),
    );
    assert!(stream.next().is_none());
    let reply =
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &CallOptions::new(), Vec::new())
            .unwrap();
    assert_eq!(reply.message, "0");
    let reply = futures::executor::block_on(async_client_streaming_call(
        &channel,
        &CLIENT_STREAM,
        &CallOptions::new(),
        futures::stream::empty(),
    ))
    .unwrap();
    assert_eq!(reply.message, "0");
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &CallOptions::new());
    bidi.half_close();
    assert!(bidi.recv().is_none());
    assert!(bidi.trailers().is_some());
}

#[test]
fn client_stream_blocking_and_async() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let requests = (0..3).map(|i| EchoRequest {
        payload: vec![1; 10 * (i + 1)],
        ..Default::default()
    });
    let reply =
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &CallOptions::new(), requests)
            .unwrap();
    assert_eq!(reply.message, "3");
    assert_eq!(reply.total_bytes, 60);
    let requests = futures::stream::iter((0..5).map(|_| hello("x")));
    let reply = futures::executor::block_on(async_client_streaming_call(
        &channel,
        &CLIENT_STREAM,
        &CallOptions::new(),
        requests,
    ))
    .unwrap();
    assert_eq!(reply.message, "5");
}

#[test]
fn client_stream_stops_taking_requests_once_the_server_answered_with_an_error() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let failing = EchoRequest {
        status_code: Code::InvalidArgument.as_i32(),
        status_message: "bad third".into(),
        ..Default::default()
    };
    // An endless iterator: the call must end anyway, with the server's error.
    let requests = (0..).map(move |i| if i == 2 { failing.clone() } else { hello("ok") });
    let status =
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &CallOptions::new(), requests)
            .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
}

#[test]
fn bidi_blocking_send_and_recv_alternately() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &CallOptions::new());
    for i in 0..10 {
        bidi.send(hello(&format!("m{i}"))).unwrap();
        let reply = bidi.recv().unwrap().unwrap();
        assert_eq!(reply.message, format!("m{i}"));
        assert_eq!(reply.index, i);
    }
    bidi.half_close();
    assert!(bidi.recv().is_none());
    assert!(
        bidi.send(hello("late")).is_err(),
        "no sends after half-close"
    );
}

#[test]
fn bidi_blocking_one_thread_sends_while_another_receives() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let bidi = Arc::new(blocking_bidi_streaming_call(
        &channel,
        &BIDI,
        &CallOptions::new(),
    ));
    let sender = {
        let bidi = bidi.clone();
        std::thread::spawn(move || {
            for i in 0..2000 {
                bidi.send(hello(&i.to_string())).unwrap();
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
fn bidi_async_with_a_request_stream() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let requests = futures::stream::iter((0..50).map(|i| hello(&i.to_string())));
    let replies: Vec<_> = futures::executor::block_on(
        async_bidi_streaming_call(&channel, &BIDI, &CallOptions::new(), requests)
            .map(|r| r.unwrap().message)
            .collect::<Vec<_>>(),
    );
    let expected: Vec<_> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(replies, expected);
}

#[test]
fn a_hundred_thousand_small_messages_on_one_stream() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let mut count = 0;
    for item in blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
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
        blocking_client_streaming_call(&channel, &CLIENT_STREAM, &CallOptions::new(), requests)
            .unwrap();
    assert_eq!(reply.message, "100000");
    assert_eq!(reply.total_bytes, 1_000_000);
}
