//! The interop peers serve the interop cases: each case of gRPC's
//! `doc/interop-test-descriptions.md` that needs server behaviour runs
//! against the tonic peer and the Python grpcio peer, with tonic's client
//! (or, where flags and trailers must be seen exactly, a raw h2 client).
//!
//! These tests validate the peers, not switchboard: switchboard's own
//! interop client runs the same cases against them.
//!
//! The client-compression cases (`expect_compressed`) run against the tonic
//! peer only: grpcio cannot see whether a request arrived compressed.

mod support;

use std::time::Duration;

use http::HeaderValue;
use switchboard_interop_peer::metadata::{
    ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE, ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE,
    STREAMING_INPUT_CALL_PATH, STREAMING_OUTPUT_CALL_PATH, UNARY_CALL_PATH,
};
use switchboard_interop_peer::pb::unimplemented_service_client::UnimplementedServiceClient;
use switchboard_interop_peer::pb::{
    BoolValue, EchoStatus, Empty, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request};

use support::raw::{self, Outgoing};
use support::{Peer, zero_body_len, zeros};

/// No case may take longer than this; a hang fails the test.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Generates one `#[tokio::test]` per case in module `$module`, each
/// starting its own peer with `$start`.
macro_rules! cases_on {
    ($module:ident, $start:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let peer: Peer = $start;
                    tokio::time::timeout(CASE_TIMEOUT, super::cases::$case(&peer))
                        .await
                        .expect("the case timed out");
                }
            )*
        }
    };
}

cases_on!(
    tonic_peer,
    Peer::tonic(),
    [
        empty_unary,
        large_unary,
        server_streaming,
        client_streaming,
        ping_pong,
        empty_stream,
        half_duplex,
        interval_us,
        status_code_and_message,
        special_status_message,
        custom_metadata,
        unimplemented_method,
        unimplemented_service,
        server_compressed_unary,
        server_compressed_streaming,
        client_compressed_unary,
        client_compressed_streaming,
    ]
);

cases_on!(
    python_peer,
    Peer::python(),
    [
        empty_unary,
        large_unary,
        server_streaming,
        client_streaming,
        ping_pong,
        empty_stream,
        half_duplex,
        interval_us,
        status_code_and_message,
        special_status_message,
        custom_metadata,
        unimplemented_method,
        unimplemented_service,
        server_compressed_unary,
        server_compressed_streaming,
    ]
);

fn params(size: i32) -> ResponseParameters {
    ResponseParameters {
        size,
        ..ResponseParameters::default()
    }
}

fn echo_status(code: i32, message: &str) -> Option<EchoStatus> {
    Some(EchoStatus {
        code,
        message: message.to_owned(),
    })
}

fn large_request() -> SimpleRequest {
    SimpleRequest {
        response_size: 314_159,
        payload: zeros(271_828),
        ..SimpleRequest::default()
    }
}

/// Attaches the custom_metadata case's two entries.
fn add_echo_metadata(metadata: &mut MetadataMap) {
    metadata.insert(ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE.parse().unwrap());
    metadata.insert_bin(
        ECHO_TRAILING_KEY,
        MetadataValue::from_bytes(&ECHO_TRAILING_VALUE),
    );
}

mod cases {
    use super::*;

    pub async fn empty_unary(peer: &Peer) {
        let response = peer.client().await.empty_call(Empty {}).await.unwrap();
        assert_eq!(response.into_inner(), Empty {});
    }

    pub async fn large_unary(peer: &Peer) {
        let response = peer
            .client()
            .await
            .unary_call(large_request())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(zero_body_len(response.payload.as_ref()), 314_159);
    }

    pub async fn server_streaming(peer: &Peer) {
        let request = StreamingOutputCallRequest {
            response_parameters: [31_415, 9, 2_653, 58_979].map(params).to_vec(),
            ..StreamingOutputCallRequest::default()
        };
        let mut responses = peer
            .client()
            .await
            .streaming_output_call(request)
            .await
            .unwrap()
            .into_inner();
        let mut sizes = Vec::new();
        while let Some(response) = responses.message().await.unwrap() {
            sizes.push(zero_body_len(response.payload.as_ref()));
        }
        assert_eq!(sizes, [31_415, 9, 2_653, 58_979]);
    }

    pub async fn client_streaming(peer: &Peer) {
        let requests = [27_182, 8, 1_828, 45_904].map(|len| StreamingInputCallRequest {
            payload: zeros(len),
            ..StreamingInputCallRequest::default()
        });
        let response = peer
            .client()
            .await
            .streaming_input_call(tokio_stream::iter(requests))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.aggregated_payload_size, 74_922);
    }

    pub async fn ping_pong(peer: &Peer) {
        let exchanges = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)];
        let request = |(response_size, request_size)| StreamingOutputCallRequest {
            response_parameters: vec![params(response_size)],
            payload: zeros(request_size),
            ..StreamingOutputCallRequest::default()
        };
        // The first request goes out before the response headers are
        // awaited: a server may hold its headers until its first response.
        let (tx, rx) = mpsc::channel(1);
        tx.send(request(exchanges[0])).await.unwrap();
        let mut responses = peer
            .client()
            .await
            .full_duplex_call(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        for (i, (response_size, _)) in exchanges.into_iter().enumerate() {
            if i > 0 {
                tx.send(request(exchanges[i])).await.unwrap();
            }
            let response = responses.message().await.unwrap().expect("a response");
            assert_eq!(
                zero_body_len(response.payload.as_ref()),
                response_size as usize
            );
        }
        drop(tx);
        assert!(responses.message().await.unwrap().is_none());
    }

    pub async fn empty_stream(peer: &Peer) {
        let mut responses = peer
            .client()
            .await
            .full_duplex_call(tokio_stream::empty())
            .await
            .unwrap()
            .into_inner();
        assert!(responses.message().await.unwrap().is_none());
    }

    /// HalfDuplexCall answers only after the half-close, then all of it.
    pub async fn half_duplex(peer: &Peer) {
        let (tx, rx) = mpsc::channel(4);
        for sizes in [vec![10, 20], vec![30]] {
            tx.send(StreamingOutputCallRequest {
                response_parameters: sizes.into_iter().map(params).collect(),
                ..StreamingOutputCallRequest::default()
            })
            .await
            .unwrap();
        }
        // Headers may only come with the first response, so the call runs
        // on a task of its own while this one decides when to half-close.
        let mut client = peer.client().await;
        let call = tokio::spawn(async move {
            let mut responses = client
                .half_duplex_call(ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            let mut sizes = Vec::new();
            while let Some(response) = responses.message().await.unwrap() {
                sizes.push(zero_body_len(response.payload.as_ref()));
            }
            sizes
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!call.is_finished(), "the call ended before the half-close");
        drop(tx);
        assert_eq!(call.await.unwrap(), [10, 20, 30]);
    }

    /// `interval_us` delays each response, accumulating (a lower bound
    /// only: the peer may be slower, never faster).
    pub async fn interval_us(peer: &Peer) {
        let request = StreamingOutputCallRequest {
            response_parameters: vec![
                ResponseParameters {
                    size: 1,
                    interval_us: 100_000,
                    ..ResponseParameters::default()
                };
                3
            ],
            ..StreamingOutputCallRequest::default()
        };
        let mut client = peer.client().await;
        let started = tokio::time::Instant::now();
        let mut responses = client
            .streaming_output_call(request)
            .await
            .unwrap()
            .into_inner();
        let mut count = 0;
        while responses.message().await.unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, 3);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    pub async fn status_code_and_message(peer: &Peer) {
        check_echo_status(peer, "test status message").await;
    }

    pub async fn special_status_message(peer: &Peer) {
        check_echo_status(
            peer,
            "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n",
        )
        .await;
    }

    /// Echo Status through UnaryCall and FullDuplexCall.
    async fn check_echo_status(peer: &Peer, message: &str) {
        let mut client = peer.client().await;
        let status = client
            .unary_call(SimpleRequest {
                response_status: echo_status(2, message),
                ..SimpleRequest::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(status.message(), message);

        let request = StreamingOutputCallRequest {
            response_status: echo_status(2, message),
            ..StreamingOutputCallRequest::default()
        };
        let outcome = match client.full_duplex_call(tokio_stream::iter([request])).await {
            Err(status) => status,
            Ok(response) => response
                .into_inner()
                .message()
                .await
                .expect_err("the call should end with the echoed status"),
        };
        assert_eq!(outcome.code(), Code::Unknown);
        assert_eq!(outcome.message(), message);
    }

    pub async fn custom_metadata(peer: &Peer) {
        // UnaryCall, raw: the initial entry must be in the headers, the
        // trailing one in the trailers.
        let metadata = [
            (
                ECHO_INITIAL_KEY,
                HeaderValue::from_static(ECHO_INITIAL_VALUE),
            ),
            (ECHO_TRAILING_KEY, HeaderValue::from_static("q6ur")),
        ];
        let response = raw::call(
            peer.addr(),
            UNARY_CALL_PATH,
            &metadata,
            &[Outgoing::plain(&large_request())],
        )
        .await;
        assert_eq!(response.status(), 0);
        assert_eq!(response.headers[ECHO_INITIAL_KEY], ECHO_INITIAL_VALUE);
        assert!(response.headers.get(ECHO_TRAILING_KEY).is_none());
        let trailers = response.trailers.as_ref().expect("trailers");
        let trailing = trailers[ECHO_TRAILING_KEY].to_str().unwrap();
        // Base64 of 0xababab, padded or not.
        assert_eq!(trailing.trim_end_matches('='), "q6ur");
        let messages = response.messages::<SimpleResponse>();
        assert_eq!(zero_body_len(messages[0].payload.as_ref()), 314_159);

        // FullDuplexCall, through tonic's client.
        let mut request = Request::new(tokio_stream::iter([StreamingOutputCallRequest {
            response_parameters: vec![params(314_159)],
            payload: zeros(271_828),
            ..StreamingOutputCallRequest::default()
        }]));
        add_echo_metadata(request.metadata_mut());
        let response = peer.client().await.full_duplex_call(request).await.unwrap();
        assert_eq!(
            response.metadata().get(ECHO_INITIAL_KEY).unwrap(),
            ECHO_INITIAL_VALUE
        );
        let mut responses = response.into_inner();
        let mut sizes = Vec::new();
        while let Some(message) = responses.message().await.unwrap() {
            sizes.push(zero_body_len(message.payload.as_ref()));
        }
        assert_eq!(sizes, [314_159]);
        let trailers = responses.trailers().await.unwrap().expect("trailers");
        assert_eq!(
            trailers
                .get_bin(ECHO_TRAILING_KEY)
                .unwrap()
                .to_bytes()
                .unwrap(),
            &ECHO_TRAILING_VALUE[..]
        );
    }

    pub async fn unimplemented_method(peer: &Peer) {
        let status = peer
            .client()
            .await
            .unimplemented_call(Empty {})
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    }

    pub async fn unimplemented_service(peer: &Peer) {
        let status = UnimplementedServiceClient::new(peer.channel().await)
            .unimplemented_call(Empty {})
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    }

    /// `response_compressed` decides the response's compressed flag.
    pub async fn server_compressed_unary(peer: &Peer) {
        for compressed in [true, false] {
            let request = SimpleRequest {
                response_compressed: Some(BoolValue { value: compressed }),
                ..large_request()
            };
            let response = raw::call(
                peer.addr(),
                UNARY_CALL_PATH,
                &[],
                &[Outgoing::plain(&request)],
            )
            .await;
            assert_eq!(response.status(), 0);
            if compressed {
                assert_eq!(response.headers["grpc-encoding"], "gzip");
            }
            assert_eq!(response.flags(), [compressed]);
            let messages = response.messages::<SimpleResponse>();
            assert_eq!(zero_body_len(messages[0].payload.as_ref()), 314_159);
        }
    }

    /// `ResponseParameters.compressed` decides each message's flag.
    pub async fn server_compressed_streaming(peer: &Peer) {
        let request = StreamingOutputCallRequest {
            response_parameters: vec![
                ResponseParameters {
                    compressed: Some(BoolValue { value: true }),
                    ..params(31_415)
                },
                ResponseParameters {
                    compressed: Some(BoolValue { value: false }),
                    ..params(92_653)
                },
            ],
            ..StreamingOutputCallRequest::default()
        };
        let response = raw::call(
            peer.addr(),
            STREAMING_OUTPUT_CALL_PATH,
            &[],
            &[Outgoing::plain(&request)],
        )
        .await;
        assert_eq!(response.status(), 0);
        assert_eq!(response.flags(), [true, false]);
        let sizes: Vec<usize> = response
            .messages::<StreamingOutputCallResponse>()
            .iter()
            .map(|m| zero_body_len(m.payload.as_ref()))
            .collect();
        assert_eq!(sizes, [31_415, 92_653]);
    }

    /// CompressedRequest on UnaryCall: a mismatch either way is
    /// INVALID_ARGUMENT (the first call is the clients' feature probe).
    pub async fn client_compressed_unary(peer: &Peer) {
        let expecting = |value| SimpleRequest {
            expect_compressed: Some(BoolValue { value }),
            ..large_request()
        };
        let cases = [
            (Outgoing::plain(&expecting(true)), Code::InvalidArgument),
            (Outgoing::gzipped(&expecting(true)), Code::Ok),
            (Outgoing::plain(&expecting(false)), Code::Ok),
            (Outgoing::gzipped(&expecting(false)), Code::InvalidArgument),
        ];
        for (outgoing, expected) in cases {
            let compressed = outgoing.compressed;
            let response = raw::call(peer.addr(), UNARY_CALL_PATH, &[], &[outgoing]).await;
            assert_eq!(
                response.status(),
                expected as i32,
                "compressed: {compressed}"
            );
            if expected == Code::Ok {
                let messages = response.messages::<SimpleResponse>();
                assert_eq!(zero_body_len(messages[0].payload.as_ref()), 314_159);
            }
        }

        // tonic's own client compression is recognised too.
        let mut client = peer
            .client()
            .await
            .send_compressed(CompressionEncoding::Gzip);
        client.unary_call(expecting(true)).await.unwrap();
        let status = client.unary_call(expecting(false)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    /// CompressedRequest on StreamingInputCall, per message.
    pub async fn client_compressed_streaming(peer: &Peer) {
        let message = |value, len| StreamingInputCallRequest {
            expect_compressed: Some(BoolValue { value }),
            payload: zeros(len),
        };
        let probe = raw::call(
            peer.addr(),
            STREAMING_INPUT_CALL_PATH,
            &[],
            &[Outgoing::plain(&message(true, 27_182))],
        )
        .await;
        assert_eq!(probe.status(), Code::InvalidArgument as i32);

        let response = raw::call(
            peer.addr(),
            STREAMING_INPUT_CALL_PATH,
            &[],
            &[
                Outgoing::gzipped(&message(true, 27_182)),
                Outgoing::plain(&message(false, 45_904)),
            ],
        )
        .await;
        assert_eq!(response.status(), 0);
        let messages = response.messages::<StreamingInputCallResponse>();
        assert_eq!(messages[0].aggregated_payload_size, 73_086);

        // A compressed message expected plain, after a good one.
        let response = raw::call(
            peer.addr(),
            STREAMING_INPUT_CALL_PATH,
            &[],
            &[
                Outgoing::plain(&message(false, 8)),
                Outgoing::gzipped(&message(false, 8)),
            ],
        )
        .await;
        assert_eq!(response.status(), Code::InvalidArgument as i32);
    }
}

/// The handles stop their servers: after a drop, nothing accepts on the
/// port any more.
mod lifecycle {
    use super::*;

    fn refused(addr: std::net::SocketAddr) -> bool {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
    }

    #[test]
    fn tonic_peer_stops_when_dropped() {
        let peer = Peer::tonic();
        let addr = peer.addr();
        assert!(!refused(addr));
        drop(peer);
        assert!(refused(addr));
    }

    #[test]
    fn python_peer_stops_when_dropped() {
        let peer = Peer::python();
        let addr = peer.addr();
        assert!(!refused(addr));
        drop(peer);
        assert!(refused(addr));
    }
}
