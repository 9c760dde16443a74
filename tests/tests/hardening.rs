//! Every call ends: regression tests for the ways a call could hang, leak
//! or panic, whatever the server or the caller does (issue 10). Each test
//! names the point it guards and failed before its fix.
//!
//! Every call here runs under a watchdog (the kit's `within`): a call that
//! hangs fails its test instead of hanging the suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::Context;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use h2::Reason;
use prost::Message;
use switchboard::channel::BackoffConfig;
use switchboard::stub::{
    blocking_bidi_streaming_call, blocking_server_streaming_call, blocking_unary_call,
    future_unary_call,
};
use switchboard::{
    CallOptions, Channel, Code, Codec, ConnectivityState, MethodDescriptor, MethodKind, ProstCodec,
    Status,
};
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::methods::{BIDI, CLIENT_STREAM, SERVER_STREAM, UNARY};
use switchboard_tests::mock::{MockServer, goaway_frame, grpc_frame, settings_with_initial_window};
use switchboard_tests::support::{
    GRPC, deadline, fast_backoff, hello, one_worker_runtime, reply, rss_bytes, unread_bytes_from,
};
use switchboard_tests::wait::{WAIT_LIMIT, poll_until, within};
use switchboard_tests::{ECHO_BIDI_PATH, ECHO_UNARY_PATH, TonicServer};

/// One blocking unary call of `method` with deadline `d`, under a 20 s
/// watchdog.
fn unary_within<C: Codec<EchoRequest, EchoResponse> + Clone>(
    channel: Channel,
    method: &'static MethodDescriptor<EchoRequest, EchoResponse, C>,
    d: Duration,
) -> Result<Result<EchoResponse, Status>, String> {
    within(Duration::from_secs(20), move || {
        blocking_unary_call(&channel, method, &deadline(d), hello("x"))
    })
}

/// A mock that answers every call with HEADERS, `count` messages and, if
/// `trailers`, `grpc-status: 0`; then holds the stream open.
fn answering_with(count: usize, trailers: bool) -> MockServer {
    MockServer::start(move |mut stream| async move {
        stream.send_headers(200, &[GRPC]);
        for i in 0..count {
            stream.send_data(grpc_frame(&reply(&format!("r{i}")).encode_to_vec()));
        }
        if trailers {
            stream.send_trailers(&[("grpc-status", "0")]);
        } else {
            stream.wait_for_reset().await;
        }
    })
}

/// Point 2: a unary call answered with three messages (and an OK end) ends
/// with INTERNAL at once, long before its deadline, and is cancelled on the
/// wire. Before: it hung forever, deadline included.
#[test]
fn a_unary_call_answered_with_three_messages_fails_internal_at_once() {
    for trailers in [true, false] {
        let server = answering_with(3, trailers);
        let channel = Channel::builder(server.url()).build().unwrap();
        let started = Instant::now();
        let result = unary_within(channel, &UNARY, Duration::from_secs(30)).expect("the call ends");
        let status = result.expect_err("three responses to a unary call");
        assert_eq!(
            status.code(),
            Code::Internal,
            "trailers {trailers}: {status}"
        );
        assert!(
            status.message().contains("more than one response"),
            "{status}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        if !trailers {
            assert_eq!(
                server.wait_for_reset(Duration::from_secs(10)),
                Some(Reason::CANCEL),
                "the stream is cancelled"
            );
        }
    }
}

/// Point 2, client streaming: two responses end the call with INTERNAL.
#[test]
fn a_client_streaming_call_answered_twice_fails_internal() {
    let server = answering_with(2, false);
    let channel = Channel::builder(server.url()).build().unwrap();
    let result = within(Duration::from_secs(20), move || {
        switchboard::stub::blocking_client_streaming_call(
            &channel,
            &CLIENT_STREAM,
            &deadline(Duration::from_secs(30)),
            [hello("a"), hello("b")],
        )
    })
    .expect("the call ends");
    assert_eq!(result.expect_err("two responses").code(), Code::Internal);
    assert_eq!(
        server.wait_for_reset(Duration::from_secs(10)),
        Some(Reason::CANCEL)
    );
}

/// Point 3: on a cold channel, a future's whole request goes out when the
/// connection is ready, without the future being polled. `Wait` answers
/// only once a `Signal` call's request has fully arrived; the `Signal`
/// future is never polled before `Wait` is waited on. Before: DEADLINE_EXCEEDED.
#[test]
fn a_future_made_on_a_cold_channel_starts_without_being_polled() {
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = signalled.clone();
    let server = MockServer::start(move |mut stream| {
        let signalled = notify.clone();
        async move {
            let request = EchoRequest::decode(stream.request().body.get(5..).unwrap_or_default())
                .unwrap_or_default();
            if request.message == "signal" {
                signalled.notify_one();
                stream.send_unary_ok(&reply("signalled"));
            } else {
                signalled.notified().await;
                stream.send_unary_ok(&reply("waited"));
            }
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    let result = within(Duration::from_secs(20), move || {
        let options = deadline(Duration::from_secs(5));
        let wait = future_unary_call(&channel, &UNARY, &options, hello("wait"));
        let signal = future_unary_call(&channel, &UNARY, &options, hello("signal"));
        let waited = wait.wait();
        (waited, signal.wait())
    })
    .expect("the calls end");
    assert_eq!(result.0.expect("Wait answers").message, "waited");
    assert_eq!(result.1.expect("Signal answers").message, "signalled");
}

/// Point 3: a cancel that lands while a cold channel is still connecting
/// never opens a stream, and a call dropped before the connection is ready
/// is not sent at all.
#[test]
fn a_future_dropped_on_a_cold_channel_never_reaches_the_server() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let dropped = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("dropped"));
    drop(dropped);
    let kept = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("kept"));
    let reply = within(Duration::from_secs(20), move || kept.wait())
        .expect("ends")
        .expect("the kept call succeeds");
    assert_eq!(reply.message, "kept");
    assert_eq!(
        server.counters().calls(),
        1,
        "only the kept call reached the server"
    );
}

/// Point 4: a blocking bidi call with a sender and a slow receiver on two
/// threads never deadlocks. The server answers one request at a time;
/// 500 × 64 KiB requests; the receiver sleeps 5 ms after each message.
/// Before: the sender held the receiver's lock while it waited for send
/// window, which only the receiver could free.
#[test]
fn a_blocking_bidi_sender_and_slow_receiver_never_deadlock() {
    const N: usize = 500;
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let result = within(Duration::from_secs(90), move || {
        let call = Arc::new(blocking_bidi_streaming_call(
            &channel,
            &BIDI,
            &deadline(Duration::from_secs(80)),
        ));
        let sender = {
            let call = call.clone();
            std::thread::spawn(move || {
                for i in 0..N {
                    let request = EchoRequest {
                        message: format!("m{i}"),
                        payload: vec![7; 64 * 1024],
                        ..Default::default()
                    };
                    call.send(request).expect("send");
                }
                call.half_close();
            })
        };
        let mut received = 0;
        while let Some(item) = call.recv() {
            let message = item.expect("a response");
            assert_eq!(message.message, format!("m{received}"));
            received += 1;
            // Part of the scenario (a slow consumer), not synchronisation.
            std::thread::sleep(Duration::from_millis(5));
        }
        sender.join().expect("sender");
        received
    });
    assert_eq!(result, Ok(N));
}

/// Point 5: no timer or call state outlives its call. 100,000 futures with
/// a 1 h deadline are made and dropped on a user runtime; afterwards the
/// runtime's alive tasks are back near where they were, and the process's
/// memory did not grow with them. Before: each deadline timer lived (and
/// kept its call alive) for the hour.
#[test]
fn dropped_futures_leave_no_timer_or_call_behind() {
    // A server that reads and discards everything: it never answers, and
    // (unlike a real server) does not mind 120,000 resets.
    let server = MockServer::start_raw(|conn| conn.hold());
    let runtime = one_worker_runtime();
    let channel = Channel::builder(server.url())
        .runtime(runtime.handle().clone())
        .build()
        .unwrap();
    let options = deadline(Duration::from_secs(3600));
    let metrics = runtime.metrics();
    let settle = |limit: usize| {
        // Aborted tasks are reaped by the runtime's worker; wait for it.
        poll_until(Duration::from_secs(30), || {
            metrics.num_alive_tasks() <= limit
        });
        metrics.num_alive_tasks()
    };
    let make_and_drop = |n: usize| {
        for _ in 0..n {
            drop(future_unary_call(
                &channel,
                &UNARY,
                &options,
                hello("dropped"),
            ));
        }
    };
    // The channel's own tasks (connection, idle timer, flushes): a few.
    const OWN_TASKS: usize = 16;
    make_and_drop(20_000);
    let warm_alive = settle(OWN_TASKS);
    let warm_rss = rss_bytes();
    make_and_drop(100_000);
    let alive = settle(OWN_TASKS);
    let grown = rss_bytes().saturating_sub(warm_rss);
    assert!(
        warm_alive <= OWN_TASKS && alive <= OWN_TASKS,
        "alive tasks: {warm_alive} after 20,000 dropped futures, {alive} after 100,000 more"
    );
    assert!(
        grown < 64 << 20,
        "RSS grew by {} MiB over 100,000 dropped futures",
        grown >> 20
    );
}

/// Ten unary calls on `channel`, each answered with `response_size`
/// bytes, must all complete (under a watchdog) next to whatever the test
/// left on the connection.
fn ten_calls_beside(channel: Channel, options: CallOptions, response_size: u32) {
    let others = within(Duration::from_secs(30), move || {
        (0..10)
            .map(|i| {
                let request = EchoRequest {
                    response_size,
                    ..hello(&format!("c{i}"))
                };
                blocking_unary_call(&channel, &UNARY, &options, request).map(|r| r.message)
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .expect("the calls end");
    assert_eq!(others.expect("the other calls complete").len(), 10);
}

/// A codec whose decoder panics: user code that misbehaves.
#[derive(Clone)]
struct PanickingDecoder;

impl Codec<EchoRequest, EchoResponse> for PanickingDecoder {
    fn encode(&self, message: &EchoRequest, dst: &mut BytesMut) -> Result<(), Status> {
        Codec::<EchoRequest, EchoResponse>::encode(&ProstCodec, message, dst)
    }
    fn decode(&self, _src: Bytes) -> Result<EchoResponse, Status> {
        panic!("decoder bug")
    }
}

/// Point 6: a panicking decoder gives INTERNAL on a blocking call instead
/// of unwinding into the caller.
#[test]
fn a_panicking_decoder_gives_internal_on_a_blocking_call() {
    const PANICKY: MethodDescriptor<EchoRequest, EchoResponse, PanickingDecoder> =
        MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, PanickingDecoder);
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let result = unary_within(channel, &PANICKY, Duration::from_secs(10))
        .expect("the call returns rather than panicking or hanging");
    let status = result.expect_err("the decoder panicked");
    assert_eq!(status.code(), Code::Internal, "{status}");
    assert!(status.message().contains("decoder bug"), "{status}");
}

/// Point 6: with a bidi call's decoder panicking, two threads blocked in
/// `recv` on the same call both return.
#[test]
fn a_panicking_decoder_strands_no_thread_in_recv() {
    const PANICKY_BIDI: MethodDescriptor<EchoRequest, EchoResponse, PanickingDecoder> =
        MethodDescriptor::new(ECHO_BIDI_PATH, MethodKind::BidiStreaming, PanickingDecoder);
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let call = Arc::new(blocking_bidi_streaming_call(
        &channel,
        &PANICKY_BIDI,
        &deadline(Duration::from_secs(60)),
    ));
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let call = call.clone();
            let (done, result) = mpsc::channel();
            std::thread::spawn(move || {
                let item = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    call.recv().map(|item| item.map(|_| ()))
                }));
                let _ = done.send(item.is_ok());
            });
            result
        })
        .collect();
    call.send(hello("boom")).expect("send");
    for result in receivers {
        assert_eq!(
            result.recv_timeout(Duration::from_secs(20)),
            Ok(true),
            "each thread in recv returns, without panicking"
        );
    }
}

/// Point 7: while a call waits for a transparent retry (its first stream
/// was refused by a GOAWAY, the next connection is not ready yet), a
/// client-streaming sender is not told "ready" forever: it pulls about one
/// window of messages, not every message it can make. Before: millions.
#[test]
fn a_sender_waiting_for_a_transparent_retry_pulls_a_bounded_number_of_messages() {
    let server = MockServer::start_raw(|mut conn| async move {
        conn.handshake().await;
        // A 1 KiB stream window: whatever the sender hands over, h2 can
        // put little of it on the wire, so the call stays replayable.
        conn.write(&settings_with_initial_window(Some(1024))).await;
        if conn.index() == 0 {
            // Refuse the first stream: GOAWAY below it, then close.
            conn.read_request_headers().await;
            conn.write(&goaway_frame(0, Reason::NO_ERROR)).await;
        }
        // Later connections: never answer; the client waits out its
        // SETTINGS wait, retries there and the server never reads.
        conn.hold().await;
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let requests = std::iter::repeat_with(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        EchoRequest {
            payload: vec![1; 1024],
            ..Default::default()
        }
    });
    let result = within(Duration::from_secs(30), move || {
        switchboard::stub::blocking_client_streaming_call(
            &channel,
            &CLIENT_STREAM,
            &deadline(Duration::from_secs(3)),
            requests,
        )
    })
    .expect("the call ends by its deadline");
    assert_eq!(
        result.expect_err("never answered").code(),
        Code::DeadlineExceeded
    );
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(
        pulled <= 400,
        "pulled {pulled} messages of 1 KiB with nowhere to send them"
    );
}

/// Point 8: invalid settings are refused by `build()`, not by a panic in
/// the connect loop later.
#[test]
fn invalid_channel_settings_are_refused_at_build() {
    let bad = [
        BackoffConfig {
            multiplier: -1.6,
            ..BackoffConfig::default()
        },
        BackoffConfig {
            jitter: 1.5,
            ..BackoffConfig::default()
        },
        BackoffConfig {
            multiplier: f64::NAN,
            ..BackoffConfig::default()
        },
        BackoffConfig {
            initial_backoff: Duration::MAX,
            ..BackoffConfig::default()
        },
        BackoffConfig {
            max_backoff: Duration::MAX,
            multiplier: 1e300,
            ..BackoffConfig::default()
        },
    ];
    for backoff in bad {
        let built = Channel::builder("http://127.0.0.1:1")
            .backoff(backoff.clone())
            .build();
        let error = built.expect_err(&format!("{backoff:?} is refused"));
        assert!(error.to_string().contains("backoff"), "{error}");
    }
    let error = Channel::builder("http://127.0.0.1:1")
        .flow_control_windows(u32::MAX, 1 << 20)
        .build()
        .expect_err("a window over 2^31-1 is refused");
    assert!(error.to_string().contains("window"), "{error}");
    // A valid but aggressive backoff still works end to end.
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .backoff(BackoffConfig {
            jitter: 1.0,
            multiplier: 1.0,
            ..fast_backoff()
        })
        .build()
        .unwrap();
    blocking_unary_call(
        &channel,
        &UNARY,
        &deadline(Duration::from_secs(10)),
        hello("x"),
    )
    .expect("works");
}

/// Point 9: after a connection failure, fail-fast calls fail at once with
/// UNAVAILABLE until the channel is READY again, even while a reconnect
/// attempt is under way (sticky TRANSIENT_FAILURE). Before: the call
/// queued behind the attempt (here one that never completes) until its
/// deadline.
#[test]
fn fail_fast_calls_fail_at_once_while_a_reconnect_is_under_way() {
    let (accepted, attempts) = mpsc::channel();
    let accepted = Mutex::new(accepted);
    let server = MockServer::start_raw(move |conn| {
        let _ = accepted.lock().unwrap().send(conn.index());
        async move {
            if conn.index() == 0 {
                drop(conn); // the first attempt fails
            } else {
                conn.hold().await; // later attempts never finish
            }
        }
    });
    let channel = Channel::builder(server.url())
        .backoff(BackoffConfig {
            min_connect_timeout: Duration::from_secs(60),
            ..fast_backoff()
        })
        .build()
        .unwrap();
    let options = deadline(Duration::from_secs(5));
    let first = blocking_unary_call(&channel, &UNARY, &options, hello("1"));
    assert_eq!(first.expect_err("nothing serves").code(), Code::Unavailable);
    // Wait for the reconnect attempt to be accepted (and hang).
    while attempts
        .recv_timeout(Duration::from_secs(10))
        .expect("a reconnect")
        == 0
    {}
    let second = within(Duration::from_secs(20), move || {
        blocking_unary_call(&channel, &UNARY, &options, hello("2"))
    })
    .expect("ends");
    let status = second.expect_err("still failing");
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

/// Point 9: a wait-for-ready call that was transparently retried keeps
/// waiting through failed connection attempts instead of failing on the
/// next one. Before: UNAVAILABLE (the GOAWAY) as soon as one attempt failed.
#[test]
fn a_retried_wait_for_ready_call_waits_through_failed_attempts() {
    let server = MockServer::start_raw(|mut conn| async move {
        match conn.index() {
            0 => {
                conn.handshake().await;
                conn.read_request_headers().await;
                conn.write(&goaway_frame(0, Reason::NO_ERROR)).await;
            }
            1..=3 => drop(conn),
            _ => {
                conn.serve_h2(|mut stream| async move {
                    stream.send_unary_ok(&reply("finally"));
                })
                .await
            }
        }
    });
    let channel = Channel::builder(server.url())
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let options = deadline(Duration::from_secs(20)).with_wait_for_ready(true);
    let result = within(Duration::from_secs(30), move || {
        blocking_unary_call(&channel, &UNARY, &options, hello("x"))
    })
    .expect("ends");
    assert_eq!(result.expect("served after the retries").message, "finally");
}

/// Point 10: a future polled once (its waker registered) and then set
/// aside does not hold the connection's flow-control window shut for the
/// other calls. Its whole response arrives in one read of the connection
/// (the channel's runtime is held busy meanwhile), so the call is woken
/// once, and that wake-up goes to a waker nobody polls. Before: the other
/// calls stalled until their deadline.
#[test]
fn a_future_polled_once_and_parked_does_not_stall_its_connection() {
    let server = TonicServer::start();
    let runtime = one_worker_runtime();
    let channel = Channel::builder(server.url())
        .runtime(runtime.handle().clone())
        .flow_control_windows(64 * 1024, 64 * 1024)
        .build()
        .unwrap();
    let options = deadline(Duration::from_secs(10));
    blocking_unary_call(&channel, &UNARY, &options, hello("warm")).expect("warm-up");
    // Nearly all of the connection's window.
    let big = EchoRequest {
        response_size: 63 * 1024,
        ..hello("big")
    };
    // The server holds the call until the client's worker is held too, so
    // the answer cannot be read as it comes.
    server.hold();
    let mut parked = Box::pin(future_unary_call(&channel, &UNARY, &options, big));
    let waker = futures::task::noop_waker();
    assert!(
        parked
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    // The request is in the server's handler...
    server.wait_until_calls(2);
    // ... then hold the channel's one I/O worker while the server answers.
    let (release, held) = mpsc::channel::<()>();
    let (busy, is_busy) = mpsc::channel();
    runtime.spawn(async move {
        let _ = busy.send(());
        let _ = held.recv();
    });
    is_busy.recv().unwrap();
    server.release();
    // The server signals that it answered (warm-up and the big call), and
    // the answer's bytes must sit in the client's socket before the worker
    // goes on (a late byte only makes this test pass without taking the
    // path it names): the socket's receive queue shows them.
    server.wait_until_completed(2);
    assert!(
        poll_until(WAIT_LIMIT, || {
            unread_bytes_from(server.addr()).is_some_and(|unread| unread >= 63 * 1024)
        }),
        "the answer never reached the client's socket: {:?} bytes unread",
        unread_bytes_from(server.addr())
    );
    release.send(()).unwrap();
    ten_calls_beside(channel, options, 4 * 1024);
    let big = futures::executor::block_on(parked).expect("the parked call completes too");
    assert_eq!(big.payload.len(), 63 * 1024);
}

/// Point 10: server streams whose undelivered bytes reached the per-call
/// limit (nobody iterates them) do not hold the connection window shut.
#[test]
fn streams_at_their_buffer_limit_do_not_stall_their_connection() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .flow_control_windows(64 * 1024, 64 * 1024)
        .build()
        .unwrap();
    let options = deadline(Duration::from_secs(20));
    blocking_unary_call(&channel, &UNARY, &options, hello("warm")).expect("warm-up");
    // Each far over the per-call buffer plus the stream window.
    let unread: Vec<_> = (0..3)
        .map(|_| {
            let request = StreamRequest {
                count: 64,
                size: 16 * 1024,
                ..Default::default()
            };
            blocking_server_streaming_call(&channel, &SERVER_STREAM, &options, request)
        })
        .collect();
    ten_calls_beside(channel, options, 16 * 1024);
    for stream in unread {
        let messages: Vec<_> = stream
            .collect::<Result<_, _>>()
            .expect("each stream ends OK");
        assert_eq!(messages.len(), 64);
    }
}
