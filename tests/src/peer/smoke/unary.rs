//! Smoke tests of the Echo peer's unary method, its error statuses,
//! cancellation accounting and hold gate, kill, and its TCP and Unix
//! listeners.

use http::StatusCode;

use super::{block_on, call, connect, counts, handshake, send};
use crate::peer::echo::{ECHO_UNARY_PATH, EchoRequest, EchoResponse};
use crate::{TonicServer, free_port};

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
    assert_eq!(counts(&server), (1, 1, 0));
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
        // The peer's `sleep_ms` knob is what this test checks: a handler
        // sleeping far longer than the test runs.
        let request = EchoRequest {
            sleep_ms: 30_000,
            ..echo("slow")
        };
        let (_response, mut stream) = send(&mut client, ECHO_UNARY_PATH, &[], &request);
        // The handler signals that it runs; then reset the stream and keep
        // the connection task running until the server saw the reset.
        server.counters().reached(|c| c.calls == 1).await;
        stream.send_reset(h2::Reason::CANCEL);
        server.counters().reached(|c| c.cancelled == 1).await;
    });
    assert_eq!(
        counts(&server),
        (1, 0, 1),
        "cancelled once, never completed"
    );
}

#[test]
fn kill_closes_open_connections_mid_call() {
    let server = TonicServer::start();
    let addr = server.addr();
    let counters = server.counters().clone();
    let error = block_on(async move {
        let mut client = connect(&server).await;
        // The handler is held in the server until it is killed.
        server.hold();
        let (response, _stream) = send(&mut client, ECHO_UNARY_PATH, &[], &echo("held"));
        server.counters().reached(|c| c.calls == 1).await;
        server.kill();
        response
            .await
            .expect_err("the call fails once the server is killed")
    });
    assert!(
        error.is_io() || error.is_go_away() || error.is_reset(),
        "{error:?}"
    );
    assert_eq!(
        (counters.calls(), counters.completed(), counters.cancelled()),
        (1, 0, 1),
        "the held call was cut by the kill"
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
        let mut client = handshake(stream, h2::client::Builder::new()).await;
        call(&mut client, ECHO_UNARY_PATH, &[], &echo("over uds")).await
    });
    assert_eq!(reply.grpc("grpc-status"), Some("0"));
    assert_eq!(reply.message().message, "over uds");

    drop(server);
    assert!(!path.exists(), "socket file removed");
    let _ = std::fs::remove_dir(&dir);
}
