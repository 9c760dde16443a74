//! GOAWAY from the server: below a stream (not processed: retried
//! transparently on a new connection, the caller never sees it), with an
//! error mid-call (UNAVAILABLE), the channel reconnecting either way; and
//! above a call in flight (it finishes on the old connection while new
//! calls go to a new one at once).

use std::sync::Arc;

use h2::Reason;
use switchboard::Code;
use switchboard::stub::blocking_unary_call;
use switchboard_tests::methods::UNARY;
use switchboard_tests::mock::{MockServer, RawFrame, goaway_frame, grpc_frame, raw_frame};
use switchboard_tests::support::{
    GRPC, assert_status, bounded, channel_to, hello, reply_with_payload,
};
use switchboard_tests::wait::WAIT_LIMIT;

#[test]
fn goaway_below_the_stream_is_retried_transparently_on_a_new_connection() {
    let server = MockServer::start_raw(|mut conn| async move {
        if conn.index() > 0 {
            return conn
                .serve_h2(|mut stream| async move {
                    stream.send_unary_ok(&reply_with_payload("second connection"));
                })
                .await;
        }
        conn.handshake().await;
        if conn.read_request_headers().await.is_some() {
            // Stream 1 was not processed; keep the TCP connection open.
            conn.write(&goaway_frame(0, Reason::NO_ERROR)).await;
            conn.hold().await;
        }
    });
    let channel = channel_to(server.url());
    // The server provably did not process the call (its stream is above the
    // GOAWAY's last stream id): it is sent again on a new connection, and
    // the caller never sees the GOAWAY.
    let first = blocking_unary_call(&channel, &UNARY, &bounded(), hello("first"));
    assert_eq!(first.unwrap(), reply_with_payload("second connection"));
    assert_eq!(server.connections(), 2);
    let second = blocking_unary_call(&channel, &UNARY, &bounded(), hello("second"));
    assert_eq!(second.unwrap(), reply_with_payload("second connection"));
    assert_eq!(server.connections(), 2, "the new connection is reused");
}

#[test]
fn goaway_with_an_error_mid_call_is_unavailable_then_the_channel_reconnects() {
    let server = MockServer::start(|mut stream| async move {
        if stream.request().connection > 0 {
            return stream.send_unary_ok(&reply_with_payload("second connection"));
        }
        stream.send_headers(200, &[GRPC]);
        stream.send_goaway(Reason::INTERNAL_ERROR);
    });
    let channel = channel_to(server.url());
    let first = blocking_unary_call(&channel, &UNARY, &bounded(), hello("first"));
    assert_status(first, Code::Unavailable, &[]);
    let second = blocking_unary_call(&channel, &UNARY, &bounded(), hello("second"));
    assert_eq!(second.unwrap(), reply_with_payload("second connection"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].connection, 1);
}

#[test]
fn after_a_goaway_new_calls_go_to_a_new_connection_while_old_calls_finish() {
    // Lets the call held on the first connection answer.
    let release = Arc::new(tokio::sync::Notify::new());
    let released = release.clone();
    let server = MockServer::start_raw(move |mut conn| {
        let released = released.clone();
        async move {
            if conn.index() > 0 {
                return conn
                    .serve_h2(|mut stream| async move {
                        stream.send_unary_ok(&reply_with_payload("second connection"));
                    })
                    .await;
            }
            conn.handshake().await;
            if conn.read_request_headers().await.is_none() {
                return;
            }
            // Stream 1 is at the last stream id: it will be processed. Then
            // the server keeps it open until the test lets it answer.
            conn.write(&goaway_frame(1, Reason::NO_ERROR)).await;
            released.notified().await;
            let message = reply_with_payload("first connection");
            let data = grpc_frame(&prost::Message::encode_to_vec(&message));
            let data = raw_frame(RawFrame::DATA, 0, 1, data);
            conn.answer_ok(1, &data).await;
            conn.hold().await;
        }
    });
    let channel = channel_to(server.url());
    let in_flight = {
        let channel = channel.clone();
        std::thread::spawn(move || {
            blocking_unary_call(&channel, &UNARY, &bounded(), hello("first"))
        })
    };
    // The GOAWAY alone makes the channel connect anew, at once: the call
    // in flight keeps it in use. No new call has been made yet (rule 14).
    assert!(
        server.wait_for_connections(2, WAIT_LIMIT),
        "the channel reconnects as soon as the GOAWAY arrives"
    );
    // A call made now goes on the new connection and finishes, while the
    // first is still held on the old one.
    let second = blocking_unary_call(&channel, &UNARY, &bounded(), hello("second"));
    assert_eq!(second.unwrap(), reply_with_payload("second connection"));
    assert!(!in_flight.is_finished(), "the first call is still held");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one request on the new connection");
    assert_eq!(requests[0].connection, 1);
    // The call in flight below the GOAWAY's last stream id ends OK on the
    // old connection.
    release.notify_one();
    let first = in_flight.join().unwrap();
    assert_eq!(first.unwrap(), reply_with_payload("first connection"));
    assert_eq!(server.connections(), 2);
    let third = blocking_unary_call(&channel, &UNARY, &bounded(), hello("third"));
    assert_eq!(third.unwrap(), reply_with_payload("second connection"));
    assert_eq!(server.connections(), 2, "the new connection is reused");
}
