//! gzip on the wire, against the scriptable mock peer (which shows the exact
//! bytes): what the client sends with compression on, what it accepts, and
//! how it fails on compression it cannot or must not decode.

use std::io::{Read, Write};

use bytes::{BufMut, Bytes, BytesMut};
use prost::Message;
use switchboard::call::ClientCall;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::blocking_unary_call;
use switchboard::{Channel, Code, Metadata};
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::listener::Recorder;
use switchboard_tests::methods::UNARY;
use switchboard_tests::mock::{MockServer, grpc_prefix};
use switchboard_tests::support::{
    GRPC, GRPC_OK, assert_status, bounded, call_unary, channel_to, reply_with_payload,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A length-prefixed message with the compressed flag set.
fn compressed_frame(body: &[u8]) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_u8(1);
    frame.put_u32(body.len() as u32);
    frame.put_slice(body);
    frame.freeze()
}

fn request() -> EchoRequest {
    EchoRequest {
        message: "compress me ".repeat(50),
        ..Default::default()
    }
}

#[test]
fn the_client_compresses_requests_and_says_so() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&EchoResponse::default());
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    blocking_unary_call(
        &channel,
        &UNARY,
        &bounded().with_compression("gzip"),
        request(),
    )
    .unwrap();
    let sent = &server.requests()[0];
    assert_eq!(sent.header("grpc-encoding"), Some("gzip"));
    assert!(
        sent.header("grpc-accept-encoding")
            .unwrap()
            .contains("gzip")
    );
    assert_eq!(sent.body[0], 1, "compressed flag");
    let len = u32::from_be_bytes(sent.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(len, sent.body.len() - 5);
    let decoded = EchoRequest::decode(&gunzip(&sent.body[5..])[..]).unwrap();
    assert_eq!(decoded, request());

    // Without compression the flag is clear and no grpc-encoding is sent.
    blocking_unary_call(&channel, &UNARY, &bounded(), request()).unwrap();
    let sent = &server.requests()[1];
    assert_eq!(sent.header("grpc-encoding"), None);
    assert_eq!(sent.body[0], 0);
}

#[test]
fn gzip_responses_are_decoded() {
    let reply = EchoResponse {
        message: "zipped".repeat(100),
        ..Default::default()
    };
    let body = gzip(&reply.encode_to_vec());
    let server = MockServer::start(move |mut stream| {
        let body = body.clone();
        async move {
            stream.send_headers(
                200,
                &[
                    ("content-type", "application/grpc"),
                    ("grpc-encoding", "gzip"),
                ],
            );
            stream.send_data(compressed_frame(&body));
            stream.send_trailers(&[("grpc-status", "0")]);
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let got = blocking_unary_call(&channel, &UNARY, &bounded(), request()).unwrap();
    assert_eq!(got, reply);
}

#[test]
fn a_compressed_message_in_an_unsupported_encoding_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_headers(
            200,
            &[
                ("content-type", "application/grpc"),
                ("grpc-encoding", "snappy"),
            ],
        );
        stream.send_data(compressed_frame(b"whatever"));
        stream.send_trailers(&[("grpc-status", "0")]);
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = blocking_unary_call(&channel, &UNARY, &bounded(), request()).unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status}");
    assert!(status.message().contains("snappy"), "{status}");
}

#[test]
fn a_zip_bomb_is_resource_exhausted_not_an_oom() {
    // 64 MiB of zeros, about 64 KiB compressed: well under the 4 MiB limit
    // on the wire, far over it once decompressed.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let server = MockServer::start(move |mut stream| {
        let bomb = bomb.clone();
        async move {
            stream.send_headers(
                200,
                &[
                    ("content-type", "application/grpc"),
                    ("grpc-encoding", "gzip"),
                ],
            );
            stream.send_data(compressed_frame(&bomb));
            stream.send_trailers(&[("grpc-status", "0")]);
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = blocking_unary_call(&channel, &UNARY, &bounded(), request()).unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
}

#[test]
fn an_unknown_compression_choice_fails_without_touching_the_network() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&EchoResponse::default());
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let status = blocking_unary_call(
        &channel,
        &UNARY,
        &bounded().with_compression("brotli"),
        request(),
    )
    .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    assert!(status.message().contains("brotli"), "{status}");
    assert!(server.requests().is_empty());
}

#[test]
fn compression_can_be_switched_per_message() {
    let server = MockServer::start(|mut stream| async move {
        stream.send_unary_ok(&EchoResponse::default());
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(
        &UNARY,
        &bounded().with_compression("gzip"),
        executor.clone(),
    );
    let recorder = Recorder::new();
    call.start(recorder.listener(), Metadata::new());
    call.request(1);
    call.send_message(request());
    call.set_message_compression(false);
    call.send_message(request());
    call.half_close();
    recorder.drain_to_close(&executor);
    let body = server.requests()[0].body.clone();
    let first_len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
    assert_eq!(body[0], 1, "first message compressed");
    let second = &body[5 + first_len..];
    assert_eq!(second[0], 0, "second message not compressed");
    assert_eq!(EchoRequest::decode(&second[5..]).unwrap(), request());
}

#[test]
fn compressed_message_without_grpc_encoding_is_internal() {
    let server = MockServer::start(|mut stream| async move {
        let body = reply_with_payload("squeezed?").encode_to_vec();
        let mut message = BytesMut::from(&grpc_prefix(true, body.len() as u32)[..]);
        message.extend_from_slice(&body);
        stream.send_headers(200, &[GRPC]);
        stream.send_data(message.freeze());
        stream.send_trailers(&[GRPC_OK]);
    });
    assert_status(
        call_unary(&channel_to(server.url()), "hi"),
        Code::Internal,
        &["compressed"],
    );
}
