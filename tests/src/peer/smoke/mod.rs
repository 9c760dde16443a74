//! Smoke tests of the Echo peer itself, driven by a raw `h2` client so that
//! they depend on nothing in `switchboard`: the echo behaviour, error
//! statuses, cancellation accounting, the hold gate, kill, the TCP and Unix
//! listeners ([`unary`]) and the streaming methods with [`ServerOptions`]
//! ([`streaming`]). They live with the peer they test (not with the client's
//! tests) and run as the kit library's unit tests.
//!
//! This file holds the raw client both share: connecting, sending a
//! request, and reading the response message by message.

mod streaming;
mod unary;

use std::future::Future;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use h2::RecvStream;
use h2::client::SendRequest;
use http::{HeaderMap, StatusCode};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::mock::grpc_frame;
use crate::peer::echo::EchoResponse;
use crate::{Counts, TonicServer};

/// Bounds every test's whole conversation with the server: a fail-safe
/// against a hang, not a timing.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `future` to completion on a current-thread runtime, bounded by
/// [`TIMEOUT`].
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { tokio::time::timeout(TIMEOUT, future).await })
        .expect("test timed out")
}

/// An h2 client handshake over `io`, the connection driven by a task.
async fn handshake<T>(io: T, builder: h2::client::Builder) -> SendRequest<Bytes>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = builder.handshake(io).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A connection to `server` with h2's default (64 KiB) flow-control windows.
async fn connect(server: &TonicServer) -> SendRequest<Bytes> {
    connect_with(server, h2::client::Builder::new()).await
}

/// A connection to `server` with the settings of `builder`.
async fn connect_with(server: &TonicServer, builder: h2::client::Builder) -> SendRequest<Bytes> {
    let io = TcpStream::connect(server.addr()).await.expect("connect");
    // Without this, every small WINDOW_UPDATE of a long stream waits on
    // Nagle's algorithm and delayed ACKs (1 GiB took over 10 s, not ~1 s).
    io.set_nodelay(true).expect("TCP_NODELAY");
    handshake(io, builder).await
}

/// One length-prefixed, uncompressed gRPC message.
fn message_frame(message: &impl Message) -> Bytes {
    grpc_frame(&message.encode_to_vec())
}

/// Sends the request headers (with `metadata`) of a call to `path` and
/// returns the response future and the request body stream.
fn start(
    client: &mut SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, &str)],
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut builder = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in metadata {
        builder = builder.header(*name, *value);
    }
    client
        .send_request(builder.body(()).unwrap(), false)
        .expect("send request headers")
}

/// Sends a whole call: headers, one request message and the half-close.
/// Returns the response future; the caller keeps the stream to reset it.
fn send(
    client: &mut SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, &str)],
    request: &impl Message,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let (response, mut stream) = start(client, path, metadata);
    stream
        .send_data(message_frame(request), true)
        .expect("send request body");
    (response, stream)
}

/// The response side of one call, read message by message.
struct Responses {
    status: StatusCode,
    headers: HeaderMap,
    body: RecvStream,
    buf: BytesMut,
    /// Whether reading returns flow-control credit (a normal reader).
    release: bool,
    /// Bytes of DATA taken in so far.
    received: usize,
}

impl Responses {
    async fn new(response: h2::client::ResponseFuture) -> Responses {
        let (parts, body) = response.await.expect("response headers").into_parts();
        Responses {
            status: parts.status,
            headers: parts.headers,
            body,
            buf: BytesMut::new(),
            release: true,
            received: 0,
        }
    }

    /// The next response message, or `None` at the end of the body.
    async fn next(&mut self) -> Option<EchoResponse> {
        loop {
            if self.buf.len() >= 5 {
                assert_eq!(self.buf[0], 0, "compressed flag");
                let len = u32::from_be_bytes(self.buf[1..5].try_into().unwrap()) as usize;
                if self.buf.len() >= 5 + len {
                    self.buf.advance(5);
                    let message = self.buf.split_to(len);
                    return Some(EchoResponse::decode(&message[..]).expect("decode EchoResponse"));
                }
            }
            match self.body.data().await {
                Some(chunk) => {
                    let chunk = chunk.expect("response body");
                    self.received += chunk.len();
                    if self.release {
                        let _ = self.body.flow_control().release_capacity(chunk.len());
                    }
                    self.buf.extend_from_slice(&chunk);
                }
                None => {
                    assert!(self.buf.is_empty(), "partial message: {:?}", self.buf);
                    return None;
                }
            }
        }
    }

    /// For a reader that never returned credit (`release` off from the
    /// start) on a connection whose windows are `window` bytes: takes in
    /// what the server sends until the window is used up, so the server
    /// can send nothing more (HTTP/2 forbids it). Returns the bytes of DATA
    /// taken in, all told: `window`, unless the stream ended first.
    async fn read_until_window_used(&mut self, window: usize) -> usize {
        assert!(!self.release, "credit returned: the window never shuts");
        while self.received < window {
            let Some(chunk) = self.body.data().await else {
                break;
            };
            self.received += chunk.expect("response body").len();
        }
        self.received
    }

    /// Every remaining message, then the trailers (or, for a trailers-only
    /// response, the headers).
    async fn finish(mut self) -> (Vec<EchoResponse>, HeaderMap) {
        let mut messages = Vec::new();
        while let Some(message) = self.next().await {
            messages.push(message);
        }
        let trailers = self.body.trailers().await.expect("response trailers");
        (messages, trailers.unwrap_or(self.headers))
    }
}

/// What came back for one unary call, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

impl Reply {
    /// A gRPC status field: from the trailers, or from the headers of a
    /// trailers-only response.
    fn grpc(&self, name: &str) -> Option<&str> {
        self.trailers
            .as_ref()
            .unwrap_or(&self.headers)
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// The one response message.
    fn message(&self) -> EchoResponse {
        let body = &self.body[..];
        assert!(body.len() >= 5, "short body: {body:?}");
        assert_eq!(body[0], 0, "compressed flag");
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        assert_eq!(body.len(), 5 + len, "exactly one message");
        EchoResponse::decode(&body[5..]).expect("decode EchoResponse")
    }
}

/// One whole unary call: sends `request`, reads the whole response.
async fn call(
    client: &mut SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, &str)],
    request: &impl Message,
) -> Reply {
    let (response, _stream) = send(client, path, metadata, request);
    let response = response.await.expect("response headers");
    let (parts, mut body) = response.into_parts();
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("response body");
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = body.trailers().await.expect("response trailers");
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: data.freeze(),
        trailers,
    }
}

/// The server's counts as `(calls, completed, cancelled)`.
fn counts(server: &TonicServer) -> (u64, u64, u64) {
    let Counts {
        calls,
        completed,
        cancelled,
    } = server.counters().counts();
    (calls, completed, cancelled)
}
