//! Smoke tests of the Echo peer's streaming methods (`Echo/ServerStream`,
//! `Echo/ClientStream`, `Echo/Bidi`) and of [`ServerOptions`].

use bytes::Bytes;
use http::StatusCode;

use super::{Responses, block_on, connect, connect_with, counts, message_frame, start};
use crate::peer::echo::{
    ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, EchoRequest, EchoResponse,
    StreamRequest,
};
use crate::support::rss_bytes;
use crate::{ServerOptions, TonicServer};

fn echo(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_owned(),
        ..EchoRequest::default()
    }
}

#[test]
fn server_stream_sends_count_messages_then_ok() {
    let server = TonicServer::start();
    let (status, headers, messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(
            &mut client,
            ECHO_SERVER_STREAM_PATH,
            &[("x-echo-foo", "bar"), ("x-other", "no")],
        );
        let stream_request = StreamRequest {
            count: 3,
            size: 10,
            message: "tick".into(),
            ..StreamRequest::default()
        };
        request
            .send_data(message_frame(&stream_request), true)
            .expect("send request");
        let responses = Responses::new(response).await;
        let (status, headers) = (responses.status, responses.headers.clone());
        let (messages, trailers) = responses.finish().await;
        (status, headers, messages, trailers)
    });
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["x-echo-foo"], "bar");
    assert!(!headers.contains_key("x-other"));
    let expected: Vec<_> = (0..3)
        .map(|index| EchoResponse {
            message: "tick".into(),
            payload: vec![0xAB; 10],
            index,
            total_bytes: 0,
        })
        .collect();
    assert_eq!(messages, expected);
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-echo-foo"], "bar");
    assert!(!trailers.contains_key("x-other"));
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn server_stream_ends_with_the_requested_status_after_its_messages() {
    let server = TonicServer::start();
    let (messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) =
            start(&mut client, ECHO_SERVER_STREAM_PATH, &[("x-echo-k", "v")]);
        let stream_request = StreamRequest {
            count: 2,
            size: 3,
            status_code: 9,
            status_message: "not now".into(),
            // The peer's pacing knob, exercised once (20 ms between the
            // two messages): part of what this smoke test checks.
            sleep_ms: 20,
            message: "boom".into(),
        };
        request
            .send_data(message_frame(&stream_request), true)
            .expect("send request");
        Responses::new(response).await.finish().await
    });
    assert_eq!(messages.len(), 2);
    assert_eq!(messages.iter().map(|m| m.index).collect::<Vec<_>>(), [0, 1]);
    assert!(messages.iter().all(|m| m.payload == [0xAB; 3]));
    assert_eq!(trailers["grpc-status"], "9");
    assert_eq!(trailers["grpc-message"], "not%20now");
    // base64("details:boom"), unpadded.
    assert_eq!(trailers["grpc-status-details-bin"], "ZGV0YWlsczpib29t");
    assert_eq!(trailers["x-error-trailer"], "yes");
    assert_eq!(trailers["x-echo-k"], "v");
    assert_eq!(trailers.get_all("x-echo-k").iter().count(), 1);
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn server_stream_of_zero_messages_is_just_ok() {
    let server = TonicServer::start();
    let (messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(&mut client, ECHO_SERVER_STREAM_PATH, &[]);
        request
            .send_data(message_frame(&StreamRequest::default()), true)
            .expect("send request");
        Responses::new(response).await.finish().await
    });
    assert!(messages.is_empty());
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(counts(&server), (1, 1, 0));
}

/// A client that stops reading stalls a 1 GiB stream (the server does not
/// buffer it), and resetting the stream mid-way counts the call as cancelled.
#[test]
fn server_stream_is_flow_controlled_and_cancellable() {
    /// The client's stream and connection windows: never credited again.
    const WINDOW: u32 = 1 << 20;
    let server = TonicServer::start();
    let rss_before = rss_bytes();
    block_on(async {
        let mut builder = h2::client::Builder::new();
        builder
            .initial_window_size(WINDOW)
            .initial_connection_window_size(WINDOW);
        let mut client = connect_with(&server, builder).await;
        let (response, mut request) = start(&mut client, ECHO_SERVER_STREAM_PATH, &[]);
        let stream_request = StreamRequest {
            count: 16384,
            size: 65536,
            ..StreamRequest::default()
        };
        request
            .send_data(message_frame(&stream_request), true)
            .expect("send request");
        // A reader that returns no flow-control credit at all.
        let mut responses = Responses::new(response).await;
        responses.release = false;
        let first = responses.next().await.expect("first message");
        assert_eq!((first.index, first.payload.len()), (0, 65536));
        // Once the window is used up the server can send nothing more of
        // its 1 GiB, and the handler has not finished.
        let received = responses.read_until_window_used(WINDOW as usize).await;
        assert_eq!(
            received, WINDOW as usize,
            "the server filled the window, no more"
        );
        assert_eq!(counts(&server), (1, 0, 0));
        request.send_reset(h2::Reason::CANCEL);
        server.counters().reached(|c| c.cancelled == 1).await;
    });
    assert_eq!(counts(&server), (1, 0, 1));
    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(grown < 256 << 20, "resident memory grew by {grown} bytes");
}

#[test]
fn client_stream_counts_sums_and_keeps_the_last_payload() {
    let server = TonicServer::start();
    let (headers, messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(
            &mut client,
            ECHO_CLIENT_STREAM_PATH,
            &[("x-echo-foo", "bar")],
        );
        for (i, len) in [1usize, 20, 300].into_iter().enumerate() {
            let message = EchoRequest {
                payload: vec![i as u8; len],
                ..echo("part")
            };
            request
                .send_data(message_frame(&message), false)
                .expect("send request message");
        }
        request
            .send_data(Bytes::new(), true)
            .expect("half-close the request");
        let responses = Responses::new(response).await;
        let headers = responses.headers.clone();
        let (messages, trailers) = responses.finish().await;
        (headers, messages, trailers)
    });
    assert_eq!(headers["x-echo-foo"], "bar");
    assert_eq!(
        messages,
        [EchoResponse {
            message: "3".into(),
            payload: vec![2; 300],
            total_bytes: 321,
            index: 0,
        }]
    );
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-echo-foo"], "bar");
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn client_stream_fails_at_the_first_request_asking_for_a_status() {
    let server = TonicServer::start();
    let (messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) =
            start(&mut client, ECHO_CLIENT_STREAM_PATH, &[("x-echo-k", "v")]);
        request
            .send_data(message_frame(&echo("fine")), false)
            .expect("send request message");
        let failing = EchoRequest {
            status_code: 7,
            status_message: "denied".into(),
            ..echo("boom")
        };
        request
            .send_data(message_frame(&failing), false)
            .expect("send request message");
        // No half-close: the server answers without reading further.
        Responses::new(response).await.finish().await
    });
    assert!(messages.is_empty());
    assert_eq!(trailers["grpc-status"], "7");
    assert_eq!(trailers["grpc-message"], "denied");
    assert_eq!(trailers["grpc-status-details-bin"], "ZGV0YWlsczpib29t");
    assert_eq!(trailers["x-error-trailer"], "yes");
    assert_eq!(trailers["x-echo-k"], "v");
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn bidi_answers_each_request_then_ok_on_half_close() {
    let server = TonicServer::start();
    let (first, second, rest, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(&mut client, ECHO_BIDI_PATH, &[("x-echo-foo", "bar")]);
        let mut responses = Responses::new(response).await;
        assert_eq!(responses.headers["x-echo-foo"], "bar");

        // Each response arrives before the next request is sent.
        let one = EchoRequest {
            payload: vec![1, 2, 3],
            ..echo("one")
        };
        request
            .send_data(message_frame(&one), false)
            .expect("send request message");
        let first = responses.next().await.expect("first response");
        let two = EchoRequest {
            payload: vec![9; 5],
            response_size: 4,
            ..echo("two")
        };
        request
            .send_data(message_frame(&two), false)
            .expect("send request message");
        let second = responses.next().await.expect("second response");

        request
            .send_data(Bytes::new(), true)
            .expect("half-close the request");
        let (rest, trailers) = responses.finish().await;
        (first, second, rest, trailers)
    });
    assert_eq!(
        first,
        EchoResponse {
            message: "one".into(),
            payload: vec![1, 2, 3],
            index: 0,
            total_bytes: 3,
        }
    );
    assert_eq!(
        second,
        EchoResponse {
            message: "two".into(),
            payload: vec![0xAB; 4],
            index: 1,
            total_bytes: 8,
        }
    );
    assert!(rest.is_empty());
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-echo-foo"], "bar");
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn bidi_ends_with_the_status_a_request_asks_for() {
    let server = TonicServer::start();
    let (messages, trailers) = block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(&mut client, ECHO_BIDI_PATH, &[]);
        request
            .send_data(message_frame(&echo("ok")), false)
            .expect("send request message");
        let failing = EchoRequest {
            status_code: 3,
            status_message: "bad".into(),
            ..echo("boom")
        };
        request
            .send_data(message_frame(&failing), false)
            .expect("send request message");
        Responses::new(response).await.finish().await
    });
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message, "ok");
    assert_eq!(trailers["grpc-status"], "3");
    assert_eq!(trailers["grpc-message"], "bad");
    assert_eq!(trailers["x-error-trailer"], "yes");
    assert_eq!(counts(&server), (1, 1, 0));
}

#[test]
fn bidi_reset_mid_stream_counts_as_cancelled() {
    let server = TonicServer::start();
    block_on(async {
        let mut client = connect(&server).await;
        let (response, mut request) = start(&mut client, ECHO_BIDI_PATH, &[]);
        request
            .send_data(message_frame(&echo("one")), false)
            .expect("send request message");
        let mut responses = Responses::new(response).await;
        responses.next().await.expect("first response");
        request.send_reset(h2::Reason::CANCEL);
        server.counters().reached(|c| c.cancelled == 1).await;
    });
    assert_eq!(counts(&server), (1, 0, 1));
}

#[test]
fn max_concurrent_streams_is_announced() {
    let limited = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(1),
    });
    let default = TonicServer::start_with(ServerOptions::default());
    let (limited_max, default_max) = block_on(async {
        let mut limited_client = connect(&limited).await;
        let mut default_client = connect(&default).await;
        // The SETTINGS are applied once a request has gone through.
        for client in [&mut limited_client, &mut default_client] {
            let (response, mut request) = start(client, ECHO_SERVER_STREAM_PATH, &[]);
            request
                .send_data(message_frame(&StreamRequest::default()), true)
                .expect("send request");
            Responses::new(response).await.finish().await;
        }
        (
            limited_client.current_max_send_streams(),
            default_client.current_max_send_streams(),
        )
    });
    assert_eq!(limited_max, 1);
    assert!(default_max > 1, "{default_max}");
    limited.wait_until_completed(1);
    assert_eq!(counts(&limited), (1, 1, 0));
}
