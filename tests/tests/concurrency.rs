//! Concurrent streams: a server's SETTINGS_MAX_CONCURRENT_STREAMS is a
//! queue, not a failure — on a channel held to one connection
//! (`max_connections_per_address(1)`; by default a channel opens more, see
//! `balancing.rs`), calls beyond it wait for a stream and all succeed. The Echo peer holds its handlers until every call was made, so
//! the limit is really reached while the others wait.

use std::sync::mpsc;

use switchboard::Channel;
use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call};
use switchboard::{CallOptions, Status};
use switchboard_tests::echo::EchoRequest;
use switchboard_tests::methods::{SERVER_STREAM, UNARY};
use switchboard_tests::support::{bounded, stream_of};
use switchboard_tests::{ServerOptions, TonicServer};

/// A channel to `url` that keeps to one connection, whatever the server's
/// stream limit.
fn one_connection_to(url: String) -> Channel {
    Channel::builder(url)
        .max_connections_per_address(1)
        .build()
        .expect("valid target")
}

/// `max_streams`: MAX_CONCURRENT_STREAMS=1 and 10 concurrent calls: all
/// succeed, queued rather than failed.
#[test]
fn max_concurrent_streams_one_queues_ten_calls() {
    let server = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(1),
    });
    let channel = one_connection_to(server.url());
    // The server holds the one call it takes; each thread says when it
    // makes its call.
    server.hold();
    let (making, made) = mpsc::channel();
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let channel = channel.clone();
            let making = making.clone();
            std::thread::spawn(move || {
                let request = EchoRequest {
                    message: i.to_string(),
                    ..Default::default()
                };
                let _ = making.send(());
                blocking_unary_call(&channel, &UNARY, &bounded(), request)
            })
        })
        .collect();
    for _ in 0..10 {
        made.recv().expect("a thread makes its call");
    }
    // One call in the server, nine waiting for its stream.
    server.wait_until_calls(1);
    assert_eq!(server.counters().calls(), 1, "the limit holds");
    server.release();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap().unwrap().message, i.to_string());
    }
    assert_eq!(server.counters().completed(), 10);
}

#[test]
fn more_streams_than_the_server_allows_at_once_wait_instead_of_failing() {
    let server = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(4),
    });
    let channel = one_connection_to(server.url());
    // The server holds the calls it takes; each thread says when it makes
    // its call.
    server.hold();
    let (making, made) = mpsc::channel();
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let channel = channel.clone();
            let making = making.clone();
            std::thread::spawn(move || {
                let _ = making.send(());
                blocking_server_streaming_call(
                    &channel,
                    &SERVER_STREAM,
                    &CallOptions::new(),
                    stream_of(5, 1),
                )
                .map(|item| item.map(|m| m.index))
                .collect::<Result<Vec<_>, Status>>()
            })
        })
        .collect();
    for _ in 0..20 {
        made.recv().expect("a thread makes its call");
    }
    // Four calls in the server, sixteen waiting for a stream.
    server.wait_until_calls(4);
    assert_eq!(server.counters().calls(), 4, "the limit holds");
    server.release();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), [0, 1, 2, 3, 4]);
    }
    assert_eq!(server.counters().completed(), 20);
}
