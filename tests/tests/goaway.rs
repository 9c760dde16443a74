//! GOAWAY from the server: below a stream (not processed: retried
//! transparently on a new connection, the caller never sees it) and with an
//! error mid-call (UNAVAILABLE), the channel reconnecting either way.

use h2::Reason;
use switchboard::Code;
use switchboard::stub::blocking_unary_call;
use switchboard_tests::methods::UNARY;
use switchboard_tests::mock::{MockServer, goaway_frame};
use switchboard_tests::support::{
    GRPC, assert_status, bounded, channel_to, hello, reply_with_payload,
};

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
