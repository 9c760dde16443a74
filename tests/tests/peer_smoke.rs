//! Smoke tests of the tonic peer itself, driven by a raw `h2` client so that
//! they depend on nothing in `switchboard`: the echo behaviour, error
//! statuses, cancellation accounting, kill, and the TCP/Unix listeners.

use std::future::Future;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use h2::client::SendRequest;
use http::{HeaderMap, StatusCode};
use prost::Message;
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::{ECHO_UNARY_PATH, TonicServer, free_port};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What came back for one call.
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

    fn message(&self) -> EchoResponse {
        let body = &self.body[..];
        assert!(body.len() >= 5, "short body: {body:?}");
        assert_eq!(body[0], 0, "compressed flag");
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        assert_eq!(body.len(), 5 + len, "exactly one message");
        EchoResponse::decode(&body[5..]).expect("decode EchoResponse")
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

async fn handshake<T>(io: T) -> SendRequest<Bytes>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = h2::client::handshake(io).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn connect(server: &TonicServer) -> SendRequest<Bytes> {
    handshake(TcpStream::connect(server.addr()).await.expect("connect")).await
}

fn grpc_frame(request: &EchoRequest) -> Bytes {
    let encoded = request.encode_to_vec();
    let mut frame = BytesMut::with_capacity(5 + encoded.len());
    frame.put_u8(0);
    frame.put_u32(encoded.len() as u32);
    frame.put_slice(&encoded);
    frame.freeze()
}

fn grpc_request(path: &str, metadata: &[(&str, &str)]) -> http::Request<()> {
    let mut builder = http::Request::post(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in metadata {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

/// Sends the request and returns the response future; the caller keeps the
/// stream to reset it.
fn send(
    client: &mut SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, &str)],
    request: &EchoRequest,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let (response, mut stream) = client
        .send_request(grpc_request(path, metadata), false)
        .expect("send request headers");
    stream
        .send_data(grpc_frame(request), true)
        .expect("send request body");
    (response, stream)
}

async fn call(
    client: &mut SendRequest<Bytes>,
    path: &str,
    metadata: &[(&str, &str)],
    request: &EchoRequest,
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

fn echo(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_owned(),
        ..EchoRequest::default()
    }
}

#[test]
fn unary_echoes_message_payload_and_metadata() {
    let server = TonicServer::start();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let reply = block_on(async {
        let mut client = connect(&server).await;
        let request = EchoRequest {
            payload: vec![1, 2, 3],
            ..echo("hello")
        };
        let metadata = [
            ("x-echo-foo", "bar"),
            ("x-echo-data-bin", "AAEC/w"),
            ("x-other", "not echoed"),
        ];
        call(&mut client, ECHO_UNARY_PATH, &metadata, &request).await
    });

    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert_eq!(reply.headers["x-echo-foo"], "bar");
    assert_eq!(reply.headers["x-echo-data-bin"], "AAEC/w");
    assert!(!reply.headers.contains_key("x-other"));
    assert!(!reply.headers.contains_key("grpc-status"));

    let trailers = reply.trailers.as_ref().expect("trailers on an OK response");
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(trailers["x-echo-foo"], "bar");
    assert_eq!(trailers["x-echo-data-bin"], "AAEC/w");
    assert!(!trailers.contains_key("x-other"));

    assert_eq!(
        reply.message(),
        EchoResponse {
            message: "hello".into(),
            payload: vec![1, 2, 3],
            ..EchoResponse::default()
        }
    );
    let counters = server.counters();
    assert_eq!(
        (counters.calls(), counters.completed(), counters.cancelled()),
        (1, 1, 0)
    );
}

#[test]
fn response_size_fills_payload_beyond_default_limits() {
    let server = TonicServer::start();
    let size = 5 * 1024 * 1024; // above tonic's 4 MiB default, below the peer's 64 MiB
    let (small, large) = block_on(async {
        let mut client = connect(&server).await;
        let small = EchoRequest {
            payload: vec![7; 100],
            response_size: 10,
            ..echo("sized")
        };
        let small = call(&mut client, ECHO_UNARY_PATH, &[], &small).await;
        let large = EchoRequest {
            payload: vec![7; size],
            response_size: size as u32,
            ..echo("large")
        };
        let large = call(&mut client, ECHO_UNARY_PATH, &[], &large).await;
        (small, large)
    });
    assert_eq!(small.grpc("grpc-status"), Some("0"));
    assert_eq!(small.message().payload, vec![0xAB; 10]);
    assert_eq!(large.grpc("grpc-status"), Some("0"));
    assert_eq!(large.message().payload, vec![0xAB; size]);
}

#[test]
fn error_status_is_trailers_only_with_details_and_metadata() {
    let server = TonicServer::start();
    let reply = block_on(async {
        let mut client = connect(&server).await;
        let request = EchoRequest {
            status_code: 5,
            status_message: "no such thing".into(),
            ..echo("boom")
        };
        call(&mut client, ECHO_UNARY_PATH, &[("x-echo-k", "v")], &request).await
    });
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty());
    assert!(reply.trailers.is_none(), "trailers-only response");
    assert_eq!(reply.grpc("grpc-status"), Some("5"));
    assert_eq!(reply.grpc("grpc-message"), Some("no%20such%20thing"));
    // base64("details:boom"), unpadded.
    assert_eq!(
        reply.grpc("grpc-status-details-bin"),
        Some("ZGV0YWlsczpib29t")
    );
    assert_eq!(reply.grpc("x-error-trailer"), Some("yes"));
    assert_eq!(reply.grpc("x-echo-k"), Some("v"));
    assert_eq!(server.counters().completed(), 1);
}

#[test]
fn unknown_method_is_unimplemented() {
    let server = TonicServer::start();
    let reply = block_on(async {
        let mut client = connect(&server).await;
        call(&mut client, "/switchboard.test.Echo/Nope", &[], &echo("x")).await
    });
    assert_eq!(reply.grpc("grpc-status"), Some("12"));
    assert_eq!(server.counters().calls(), 0);
}

#[test]
fn reset_stream_cancels_the_sleeping_handler() {
    let server = TonicServer::start();
    block_on(async {
        let mut client = connect(&server).await;
        let request = EchoRequest {
            sleep_ms: 30_000,
            ..echo("slow")
        };
        let (_response, mut stream) = send(&mut client, ECHO_UNARY_PATH, &[], &request);
        // Wait until the handler runs, then reset the stream.
        while server.counters().calls() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stream.send_reset(h2::Reason::CANCEL);
        // Give the connection task a turn to write the RST_STREAM.
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
    assert!(server.wait_for_cancelled(1, Duration::from_secs(5)));
    assert_eq!(server.counters().completed(), 0);
    assert!(!server.wait_for_cancelled(2, Duration::from_millis(20)));
}

#[test]
fn kill_closes_open_connections_mid_call() {
    let server = TonicServer::start();
    let addr = server.addr();
    let counters = server.counters().clone();
    let error = block_on(async move {
        let mut client = connect(&server).await;
        let request = EchoRequest {
            sleep_ms: 30_000,
            ..echo("slow")
        };
        let (response, _stream) = send(&mut client, ECHO_UNARY_PATH, &[], &request);
        while server.counters().calls() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill();
        tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("the call ends once the server is killed")
            .expect_err("the call fails")
    });
    assert!(
        error.is_io() || error.is_go_away() || error.is_reset(),
        "{error:?}"
    );
    assert_eq!(
        (counters.calls(), counters.completed(), counters.cancelled()),
        (1, 0, 1)
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "listener closed"
    );
}

#[test]
fn start_on_a_reserved_port() {
    let addr = free_port();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens yet"
    );
    let server = TonicServer::start_on(addr).expect("bind the reserved port");
    assert_eq!(server.addr(), addr);
    assert_eq!(server.url(), format!("http://{addr}"));
    assert!(TonicServer::start_on(addr).is_err(), "the port is taken");
    let reply = block_on(async {
        let mut client = connect(&server).await;
        call(&mut client, ECHO_UNARY_PATH, &[], &echo("later")).await
    });
    assert_eq!(reply.message().message, "later");

    // The same address can be served again once the first server is gone.
    drop(server);
    let again = TonicServer::start_on(addr).expect("rebind after kill");
    let reply = block_on(async {
        let mut client = connect(&again).await;
        call(&mut client, ECHO_UNARY_PATH, &[], &echo("again")).await
    });
    assert_eq!(reply.message().message, "again");
}

#[cfg(unix)]
#[test]
fn serves_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("switchboard-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);

    let server = TonicServer::start_unix(&path);
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let reply = block_on(async {
        let stream = tokio::net::UnixStream::connect(&path)
            .await
            .expect("connect");
        let mut client = handshake(stream).await;
        call(&mut client, ECHO_UNARY_PATH, &[], &echo("over uds")).await
    });
    assert_eq!(reply.grpc("grpc-status"), Some("0"));
    assert_eq!(reply.message().message, "over uds");

    drop(server);
    assert!(!path.exists(), "socket file removed");
    let _ = std::fs::remove_dir(&dir);
}
