//! Message framing: gRPC's length-prefixed messages over DATA frames —
//! split, packed, padded, truncated, over the size limits in either
//! direction (a declared length is checked before the body arrives), and
//! large messages that need many frames and window updates.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::Reason;
use prost::Message;
use switchboard::stub::{blocking_bidi_streaming_call, blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Code};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::EchoRequest;
use switchboard_tests::methods::{BIDI, UNARY};
use switchboard_tests::mock::{MockServer, RawFrame, grpc_frame, grpc_prefix, raw_frame};
use switchboard_tests::support::{
    GRPC, GRPC_OK, assert_status, bounded, call_unary, channel_to, hello, reply, reply_with_payload,
};

#[test]
fn message_split_one_byte_per_data_frame_is_reassembled() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        for byte in grpc_frame(&reply_with_payload("split").encode_to_vec()) {
            stream.send_data(Bytes::copy_from_slice(&[byte]));
        }
        stream.send_trailers(&[GRPC_OK]);
    });
    let channel = channel_to(server.url());
    // Through the future API this time, on an executor that is not tokio.
    let response =
        futures::executor::block_on(future_unary_call(&channel, &UNARY, &bounded(), hello("hi")));
    assert_eq!(response.unwrap(), reply_with_payload("split"));
}

#[test]
fn two_messages_in_one_data_frame_fail_a_unary_call() {
    let server = MockServer::start(|mut stream| async move {
        let mut both = BytesMut::new();
        both.extend_from_slice(&grpc_frame(&reply_with_payload("one").encode_to_vec()));
        both.extend_from_slice(&grpc_frame(&reply_with_payload("two").encode_to_vec()));
        stream.send_headers(200, &[GRPC]);
        stream.send_data(both.freeze());
        stream.send_trailers(&[GRPC_OK]);
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["more than one response"],
    );
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
        let data = raw_frame(RawFrame::DATA, RawFrame::PADDED, request.stream_id, payload);
        conn.answer_ok(request.stream_id, &data).await;
        conn.hold().await;
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(call_unary(&channel, "x").unwrap(), reply("padded"));
}

#[test]
fn body_truncated_mid_message_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        let frame = grpc_frame(&reply_with_payload("cut short").encode_to_vec());
        stream.send_headers(200, &[GRPC]);
        stream.send_data_end(frame.slice(..frame.len() - 4));
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["middle of a message"],
    );
}

#[test]
fn oversized_prefix_fails_before_the_body_and_resets_the_stream() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        // Declares 100 MiB; the body never comes.
        stream.send_data(grpc_prefix(false, 100 << 20));
    });
    // `call` drops its channel as soon as the call returns, so the
    // connection closes right behind the call: the RST_STREAM must already
    // be on its way by then, not left to h2's reset-on-drop.
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::ResourceExhausted,
        &["104857600", "4194304"],
    );
    assert_eq!(
        server.wait_for_reset(Duration::from_secs(10)),
        Some(Reason::CANCEL),
        "the client resets the stream it gave up on"
    );
}

#[test]
fn a_four_gib_length_prefix_is_resource_exhausted() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        stream.send_data(grpc_prefix(false, u32::MAX));
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = call_unary(&channel, "x").unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("4294967295"), "{status}");
}

#[test]
fn inbound_message_over_the_limit_is_resource_exhausted() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    // Default limit: 4 MiB.
    let request = EchoRequest {
        response_size: 5 * 1024 * 1024,
        ..Default::default()
    };
    let status = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), request).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert!(status.message().contains("4194304"), "{status}");
    // A per-call limit.
    let options = CallOptions::new().with_max_inbound_message_size(1000);
    let request = EchoRequest {
        response_size: 2000,
        ..Default::default()
    };
    let status = blocking_unary_call(&channel, &UNARY, &options, request).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    // The channel still works afterwards.
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("after")).unwrap();
    assert_eq!(reply.message, "after");
}

#[test]
fn outbound_message_over_the_limit_never_reaches_the_server() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let options = CallOptions::new().with_max_outbound_message_size(10);
    let request = EchoRequest {
        payload: vec![1; 100],
        ..Default::default()
    };
    let status = blocking_unary_call(&channel, &UNARY, &options, request).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    assert_eq!(server.counters().calls(), 0);
}

#[test]
fn three_mib_request_and_response() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let size = 3 * 1024 * 1024;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let request = EchoRequest {
        payload: payload.clone(),
        ..Default::default()
    };
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), request).unwrap();
    assert_eq!(reply.payload.len(), size);
    assert!(reply.payload == payload, "echoed payload differs");
    let request = EchoRequest {
        response_size: size as u32,
        ..Default::default()
    };
    let reply = futures::executor::block_on(future_unary_call(
        &channel,
        &UNARY,
        &CallOptions::new(),
        request,
    ))
    .unwrap();
    assert_eq!(reply.payload, vec![0xAB; size]);
}

#[test]
fn sixteen_mib_messages_both_ways() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
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
    let bidi = blocking_bidi_streaming_call(&channel, &BIDI, &CallOptions::new());
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
