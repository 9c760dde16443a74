//! Unary calls, blocking and future, against an independent tonic server.
//!
//! Each test starts its own tonic server on 127.0.0.1 port 0 (or a Unix
//! socket) and asserts what a caller sees: replies, statuses, metadata,
//! limits, deadlines, and what the server saw (cancellations).

use std::sync::Arc;
use std::time::Duration;

use switchboard::call::{ClientCall, Listener};
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard::{
    CallOptions, Channel, Code, Metadata, MethodDescriptor, MethodKind, ProstCodec, Status,
};
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::support::{fast_backoff, hello};
use switchboard_tests::{ECHO_UNARY_PATH, TonicServer, free_port};

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);

fn channel(server: &TonicServer) -> Channel {
    Channel::builder(server.url())
        .build()
        .expect("valid target")
}

#[test]
fn blocking_unary_ok() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("hi")).unwrap();
    assert_eq!(reply.message, "hi");
    // A second call reuses the connection.
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("again")).unwrap();
    assert_eq!(reply.message, "again");
    assert_eq!(server.counters().calls(), 2);
}

#[test]
fn future_under_futures_block_on_without_tokio() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let reply = futures::executor::block_on(future_unary_call(
        &channel,
        &UNARY,
        &CallOptions::new(),
        hello("no tokio here"),
    ))
    .unwrap();
    assert_eq!(reply.message, "no tokio here");
}

#[test]
fn future_under_a_tokio_runtime() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let replies = runtime.block_on(async {
        let a = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("a"));
        let b = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("b"));
        let (a, b) = tokio::join!(a, b);
        (a.unwrap().message, b.unwrap().message)
    });
    assert_eq!(replies, ("a".to_string(), "b".to_string()));
}

#[test]
fn future_wait_blocks_for_the_reply() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("wait"));
    assert_eq!(future.wait().unwrap().message, "wait");
}

#[test]
fn error_status_carries_message_details_and_trailers() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-tag", "seven").unwrap();
    let request = EchoRequest {
        message: "m".into(),
        status_code: Code::NotFound.as_i32(),
        status_message: "no such thing: 100% gone ✓".into(),
        ..Default::default()
    };
    let options = CallOptions::new().with_metadata(metadata);
    let status = blocking_unary_call(&channel, &UNARY, &options, request).unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "no such thing: 100% gone ✓");
    assert_eq!(&status.details()[..], b"details:m");
    assert_eq!(status.trailers().get("x-error-trailer"), Some("yes"));
    assert_eq!(status.trailers().get("x-echo-tag"), Some("seven"));
}

/// Records everything a listener hears, for tests of the low-level API.
#[derive(Default)]
struct Heard {
    headers: Option<Metadata>,
    messages: Vec<EchoResponse>,
    close: Option<(Status, Metadata)>,
}

struct Recorder(Arc<std::sync::Mutex<Heard>>);

impl Listener<EchoResponse> for Recorder {
    fn on_headers(&mut self, headers: Metadata) {
        self.0.lock().unwrap().headers = Some(headers);
    }
    fn on_message(&mut self, message: EchoResponse) {
        self.0.lock().unwrap().messages.push(message);
    }
    fn on_close(&mut self, status: Status, trailers: Metadata) {
        self.0.lock().unwrap().close = Some((status, trailers));
    }
}

/// Drives one call through the low-level `ClientCall` API on this thread.
fn call_with_recorder(channel: &Channel, metadata: Metadata, request: EchoRequest) -> Heard {
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&UNARY, &CallOptions::new(), executor.clone());
    let heard = Arc::new(std::sync::Mutex::new(Heard::default()));
    call.start(Box::new(Recorder(heard.clone())), metadata);
    call.request(1);
    call.send_message(request);
    call.half_close();
    while heard.lock().unwrap().close.is_none() {
        executor.wait_and_drain();
    }
    std::mem::take(&mut *heard.lock().unwrap())
}

#[test]
fn metadata_round_trip_ascii_and_binary() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-text", "hello metadata").unwrap();
    metadata
        .insert_bin("x-echo-raw-bin", vec![0u8, 1, 2, 0xff, 0xfe])
        .unwrap();
    metadata.insert("x-not-echoed", "private").unwrap();
    let heard = call_with_recorder(&channel, metadata, hello("md"));
    let headers = heard.headers.expect("headers were delivered");
    assert_eq!(headers.get("x-echo-text"), Some("hello metadata"));
    assert_eq!(
        headers.get_bin("x-echo-raw-bin"),
        Some(&[0u8, 1, 2, 0xff, 0xfe][..])
    );
    assert_eq!(headers.get("x-not-echoed"), None);
    let (status, trailers) = heard.close.expect("closed");
    assert!(status.is_ok(), "{status}");
    assert_eq!(trailers.get("x-echo-text"), Some("hello metadata"));
    assert_eq!(
        trailers.get_bin("x-echo-raw-bin"),
        Some(&[0u8, 1, 2, 0xff, 0xfe][..])
    );
    assert_eq!(heard.messages.len(), 1);
    assert_eq!(heard.messages[0].message, "md");
}

#[test]
fn three_mib_request_and_response() {
    let server = TonicServer::start();
    let channel = channel(&server);
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
fn inbound_message_over_the_limit_is_resource_exhausted() {
    let server = TonicServer::start();
    let channel = channel(&server);
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
    let channel = channel(&server);
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
fn deadline_exceeded_against_a_slow_handler() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = EchoRequest {
        sleep_ms: 10_000,
        ..Default::default()
    };
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(200));
    let status = blocking_unary_call(&channel, &UNARY, &options, request.clone()).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        server.wait_for_cancelled(1, Duration::from_secs(10)),
        "server never saw the cancel"
    );
    // Same through a future.
    let status =
        futures::executor::block_on(future_unary_call(&channel, &UNARY, &options, request))
            .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
}

#[test]
fn deadline_while_waiting_for_a_connection_names_the_wait() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let options = CallOptions::new()
        .with_wait_for_ready(true)
        .with_deadline_after(Duration::from_millis(300));
    let status = blocking_unary_call(&channel, &UNARY, &options, hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("waiting for a ready connection"),
        "{status}"
    );
}

#[test]
fn call_before_the_server_listens() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    // Without wait-for-ready: UNAVAILABLE, naming the address.
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(
        status.message().contains(&addr.port().to_string()),
        "{status}"
    );

    // With wait-for-ready: the call waits and succeeds once the server is up.
    let waiting = {
        let channel = channel.clone();
        std::thread::spawn(move || {
            let options = CallOptions::new()
                .with_wait_for_ready(true)
                .with_deadline_after(Duration::from_secs(20));
            blocking_unary_call(&channel, &UNARY, &options, hello("patient"))
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let server = TonicServer::start_on(addr).expect("port still free");
    let reply = waiting
        .join()
        .unwrap()
        .expect("wait-for-ready call succeeds");
    assert_eq!(reply.message, "patient");
    assert_eq!(server.counters().calls(), 1);
}

#[test]
fn server_killed_mid_call_is_unavailable_not_a_hang() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = EchoRequest {
        sleep_ms: 30_000,
        ..Default::default()
    };
    // Warm the channel: on a READY channel the request goes out at once, even
    // though the future below is never polled. (On a cold channel its
    // buffered request is replayed on the caller's executor, when polled.)
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("warm")).unwrap();
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), request);
    // Let the request reach the handler.
    for _ in 0..500 {
        if server.counters().calls() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.counters().calls(), 2);
    server.kill();
    let status = future.wait().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[test]
fn dropped_future_cancels_on_the_server() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let request = EchoRequest {
        sleep_ms: 30_000,
        ..Default::default()
    };
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("warm")).unwrap();
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), request);
    for _ in 0..500 {
        if server.counters().calls() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(future);
    assert!(
        server.wait_for_cancelled(1, Duration::from_secs(10)),
        "server never saw RST_STREAM"
    );
    assert_eq!(
        server.counters().completed(),
        1,
        "only the warm-up call completed"
    );
}

#[test]
fn sixteen_threads_share_one_channel() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let text = format!("{t}-{i}");
                    let reply =
                        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello(&text))
                            .unwrap_or_else(|s| panic!("call {text} failed: {s}"));
                    assert_eq!(reply.message, text);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(server.counters().calls(), 16_000);
}

#[cfg(unix)]
#[test]
fn unix_socket_target() {
    let dir = std::env::temp_dir().join(format!("switchboard-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let _server = TonicServer::start_unix(&path);
    let channel = Channel::builder(format!("unix:{}", path.display()))
        .build()
        .unwrap();
    let reply =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("over uds")).unwrap();
    assert_eq!(reply.message, "over uds");
}

#[test]
fn with_metadata_gives_headers_and_trailers_of_a_unary_call() {
    let server = TonicServer::start();
    let channel = channel(&server);
    let mut metadata = Metadata::new();
    metadata.insert("x-echo-color", "green").unwrap();
    let options = CallOptions::new().with_metadata(metadata);
    let response = future_unary_call(&channel, &UNARY, &options, hello("md"))
        .with_metadata()
        .wait()
        .unwrap();
    assert_eq!(response.message.message, "md");
    assert_eq!(response.headers.get("x-echo-color"), Some("green"));
    assert_eq!(response.trailers.get("x-echo-color"), Some("green"));
    // Async, same thing.
    let response = futures::executor::block_on(
        future_unary_call(&channel, &UNARY, &options, hello("again")).with_metadata(),
    )
    .unwrap();
    assert_eq!(response.headers.get("x-echo-color"), Some("green"));
}
