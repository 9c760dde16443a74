//! The hostile HTTP/2 server cases of gRPC's HTTP/2 interop descriptions
//! that the mock-peer suite does not already cover, plus the extra ones the
//! interop issue asks for. Every case ends in the right Status (or a
//! success): no panic, no hang, and the channel stays usable.
//!
//! Raw-mode cases write frames by hand; the HPACK blocks they need are two
//! tiny literals, spelled out below (RFC 7541: an indexed `:status: 200`,
//! a literal with an indexed name, a literal with a new name).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use h2::Reason;
use prost::Message;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec, Status};
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::mock::{MockServer, RawConn, RawFrame, grpc_frame, grpc_prefix};
use switchboard_tests::{ECHO_UNARY_PATH, ServerOptions, TonicServer};

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);
const GRPC: (&str, &str) = ("content-type", "application/grpc");

fn options() -> CallOptions {
    CallOptions::new().with_deadline_after(Duration::from_secs(10))
}

fn call(channel: &Channel, message: &str) -> Result<EchoResponse, Status> {
    let request = EchoRequest {
        message: message.into(),
        ..Default::default()
    };
    blocking_unary_call(channel, &UNARY, &options(), request)
}

fn reply(message: &str) -> EchoResponse {
    EchoResponse {
        message: message.into(),
        ..Default::default()
    }
}

/// HPACK: `:status: 200` (static index 8) and `content-type:
/// application/grpc` (literal without indexing, name at static index 31).
fn response_headers_block() -> Vec<u8> {
    let mut block = vec![0x88, 0x0f, 0x10, 16];
    block.extend_from_slice(b"application/grpc");
    block
}

/// HPACK: `grpc-status: 0` (literal without indexing, new name).
fn ok_trailers_block() -> Vec<u8> {
    let mut block = vec![0x00, 11];
    block.extend_from_slice(b"grpc-status");
    block.extend_from_slice(&[1, b'0']);
    block
}

fn frame(kind: u8, flags: u8, stream_id: u32, payload: impl Into<Bytes>) -> Bytes {
    RawFrame {
        kind,
        flags,
        stream_id,
        payload: payload.into(),
    }
    .encode()
}

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const ACK: u8 = 0x1;

/// Answers the request on `stream_id` with headers, `data` (one DATA frame,
/// as given) and OK trailers.
async fn answer_raw(conn: &mut RawConn, stream_id: u32, data: Bytes) {
    conn.write(&frame(
        RawFrame::HEADERS,
        END_HEADERS,
        stream_id,
        response_headers_block(),
    ))
    .await;
    conn.write(&data).await;
    conn.write(&frame(
        RawFrame::HEADERS,
        END_HEADERS | END_STREAM,
        stream_id,
        ok_trailers_block(),
    ))
    .await;
}

#[test]
fn data_frame_padding_is_decoded() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.handshake().await;
        let Some(request) = conn.read_request_headers().await else {
            return;
        };
        let message = grpc_frame(&reply("padded").encode_to_vec());
        let mut payload = vec![7u8]; // pad length
        payload.extend_from_slice(&message);
        payload.extend_from_slice(&[0u8; 7]);
        let data = frame(RawFrame::DATA, PADDED, request.stream_id, payload);
        answer_raw(&mut conn, request.stream_id, data).await;
        conn.hold().await;
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(call(&channel, "x").unwrap(), reply("padded"));
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
                conn.write(&frame(RawFrame::PING, 0, 0, payload.to_vec()))
                    .await;
                while let Some(got) = conn.read_frame().await {
                    if got.kind == RawFrame::PING
                        && got.flags & ACK != 0
                        && got.payload[..] == payload
                    {
                        seen.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
            let data = frame(
                RawFrame::DATA,
                0,
                request.stream_id,
                grpc_frame(&reply("pong").encode_to_vec()),
            );
            answer_raw(&mut conn, request.stream_id, data).await;
            conn.hold().await;
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(call(&channel, "x").unwrap(), reply("pong"));
    assert_eq!(
        acks.load(Ordering::SeqCst),
        3,
        "each of the server's PINGs got an ACK"
    );
}

#[test]
fn a_four_gib_length_prefix_is_resource_exhausted() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_prefix(false, u32::MAX));
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = call(&channel, "x").unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("4294967295"), "{status}");
}

#[test]
fn http_503_with_an_html_body_is_unavailable() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(503, &[("content-type", "text/html")]);
        stream.send_data_end(Bytes::from_static(
            b"<html><body><h1>503 Service Unavailable</h1></body></html>",
        ));
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = call(&channel, "x").unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("503"), "{status}");
}

/// `rst_after_header`, `rst_during_data`, `rst_after_data`: each call fails
/// with a clear status, and the next call on the same channel succeeds.
#[test]
fn resets_at_each_point_fail_the_call_and_leave_the_channel_usable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = MockServer::start(move |mut stream| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let message = grpc_frame(&reply("whole").encode_to_vec());
            match n {
                // rst_after_header
                0 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                // rst_during_data: half a message, then the reset
                2 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_data(message.slice(..message.len() / 2));
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                // rst_after_data: a whole message, no trailers, the reset
                4 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_data(message);
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                _ => stream.send_unary_ok(&reply("fine")),
            }
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    for case in ["rst_after_header", "rst_during_data", "rst_after_data"] {
        let status = call(&channel, case).expect_err(case);
        assert_eq!(status.code(), Code::Internal, "{case}: {status}");
        assert!(
            status.message().contains("INTERNAL_ERROR"),
            "{case}: {status}"
        );
        assert_eq!(
            call(&channel, "next").expect("channel still usable"),
            reply("fine"),
            "after {case}"
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "one connection served all six calls"
    );
}

/// `max_streams`: MAX_CONCURRENT_STREAMS=1 and 10 concurrent calls: all
/// succeed, queued rather than failed.
#[test]
fn max_concurrent_streams_one_queues_ten_calls() {
    let server = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(1),
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let threads: Vec<_> = (0..10)
        .map(|i| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                let request = EchoRequest {
                    message: i.to_string(),
                    sleep_ms: 20,
                    ..Default::default()
                };
                blocking_unary_call(&channel, &UNARY, &options(), request)
            })
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap().unwrap().message, i.to_string());
    }
    assert_eq!(server.counters().completed(), 10);
}

/// A server stream reset by the server after two messages: the caller gets
/// both messages, then the reset's status. Written frame by frame, so both
/// messages are really on the wire before the RST_STREAM.
#[test]
fn a_server_stream_reset_mid_way_yields_its_messages_then_the_status() {
    use switchboard::stub::blocking_server_streaming_call;
    const SERVER_STREAM: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
        "/switchboard.test.Echo/ServerStream",
        MethodKind::ServerStreaming,
        ProstCodec,
    );
    const RST_STREAM: u8 = 0x3;
    const INTERNAL_ERROR: u32 = 0x2;
    let server = MockServer::start_raw(|mut conn| async move {
        conn.handshake().await;
        let Some(request) = conn.read_request_headers().await else {
            return;
        };
        let id = request.stream_id;
        conn.write(&frame(
            RawFrame::HEADERS,
            END_HEADERS,
            id,
            response_headers_block(),
        ))
        .await;
        for message in ["one", "two"] {
            let data = grpc_frame(&reply(message).encode_to_vec());
            conn.write(&frame(RawFrame::DATA, 0, id, data)).await;
        }
        conn.write(&frame(
            RST_STREAM,
            0,
            id,
            INTERNAL_ERROR.to_be_bytes().to_vec(),
        ))
        .await;
        conn.hold().await;
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let items: Vec<_> = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &options(),
        EchoRequest::default(),
    )
    .collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &reply("one"));
    assert_eq!(items[1].as_ref().unwrap(), &reply("two"));
    let status = items[2].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status}");
    assert!(status.message().contains("INTERNAL_ERROR"), "{status}");
}
