//! Channel behaviour a caller can observe: connectivity states, idle mode,
//! shutdown, per-call deadlines (rule 4), listener panics (rule 6), and the
//! auto traits of the public types. The peer is an independent tonic server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard::call::{ClientCall, Listener};
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::blocking_unary_call;
use switchboard::{
    CallOptions, Channel, Code, ConnectivityState, Metadata, MethodDescriptor, MethodKind,
    ProstCodec, Status,
};
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::support::{fast_backoff, hello};
use switchboard_tests::{ECHO_UNARY_PATH, TonicServer, free_port};

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);

/// Polls `channel.state(false)` until it equals `want`, for at most 10 s.
fn wait_for_state(channel: &Channel, want: ConnectivityState) -> ConnectivityState {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let state = channel.state(false);
        if state == want || Instant::now() > give_up {
            return state;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn build_does_no_io_and_state_true_connects() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Idle);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        channel.state(false),
        ConnectivityState::Idle,
        "nothing connects without a call"
    );
    assert_eq!(channel.state(true), ConnectivityState::Connecting);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Ready),
        ConnectivityState::Ready
    );
    assert_eq!(server.counters().calls(), 0, "connecting makes no call");
}

#[test]
fn failed_connection_goes_transient_failure_then_recovers() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    channel.state(true);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::TransientFailure),
        ConnectivityState::TransientFailure
    );
    // Fail-fast calls fail at once while the channel keeps retrying.
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    let _server = TonicServer::start_on(addr).unwrap();
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Ready),
        ConnectivityState::Ready
    );
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("back")).unwrap();
    assert_eq!(reply.message, "back");
}

#[test]
fn idle_timeout_returns_to_idle_and_the_next_call_reconnects() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url())
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("one")).unwrap();
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Idle),
        ConnectivityState::Idle
    );
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("two")).unwrap();
    assert_eq!(reply.message, "two");
}

#[test]
fn shutdown_fails_pending_and_new_calls() {
    let addr = free_port();
    let channel = Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let waiting = {
        let channel = channel.clone();
        std::thread::spawn(move || {
            let options = CallOptions::new().with_wait_for_ready(true);
            blocking_unary_call(&channel, &UNARY, &options, hello("x"))
        })
    };
    // Let the call become pending, then shut down under it.
    std::thread::sleep(Duration::from_millis(100));
    channel.shutdown();
    let status = waiting.join().unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(status.message().contains("shut down"), "{status}");
    assert_eq!(channel.state(true), ConnectivityState::Shutdown);
    let status =
        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("y")).unwrap_err();
    assert!(status.message().contains("shut down"), "{status}");
}

#[test]
fn deadline_after_is_fresh_for_every_call() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let options = CallOptions::new().with_deadline_after(Duration::from_millis(300));
    blocking_unary_call(&channel, &UNARY, &options, hello("first")).unwrap();
    // Longer than the timeout: a deadline fixed when the options were made
    // would have passed by now.
    std::thread::sleep(Duration::from_millis(400));
    let reply = blocking_unary_call(&channel, &UNARY, &options, hello("second")).unwrap();
    assert_eq!(reply.message, "second");
}

#[test]
fn invalid_targets_fail_at_build_with_the_reason() {
    let err = Channel::builder("https://secure.example:443")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    let err = Channel::builder("http://host:notaport")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
}

/// A listener that panics in `on_message` and records its close.
struct Panicky(Arc<Mutex<Option<Status>>>);

impl Listener<EchoResponse> for Panicky {
    fn on_message(&mut self, _: EchoResponse) {
        panic!("user code blew up");
    }
    fn on_close(&mut self, status: Status, _: Metadata) {
        *self.0.lock().unwrap() = Some(status);
    }
}

fn call_with_panicking_listener(channel: &Channel) -> Status {
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&UNARY, &CallOptions::new(), executor.clone());
    let closed = Arc::new(Mutex::new(None));
    call.start(Box::new(Panicky(closed.clone())), Metadata::new());
    call.request(1);
    call.send_message(hello("boom"));
    call.half_close();
    loop {
        if let Some(status) = closed.lock().unwrap().take() {
            return status;
        }
        executor.wait_and_drain();
    }
}

#[test]
fn panicking_listener_closes_the_call_instead_of_stranding_the_caller() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    // Cold channel: the call is pending first, its callbacks pass the gate.
    let status = call_with_panicking_listener(&channel);
    assert_eq!(status.code(), Code::Cancelled, "{status}");
    assert!(status.message().contains("user code blew up"), "{status}");
    // Warm channel: straight onto the real call.
    let status = call_with_panicking_listener(&channel);
    assert_eq!(status.code(), Code::Cancelled, "{status}");
    assert!(status.message().contains("panicked"), "{status}");
    // The channel is unharmed.
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("fine")).unwrap();
}

#[test]
fn public_types_have_the_expected_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send_unpin<T: Send + Unpin>() {}
    fn clone<T: Clone>() {}
    send_sync::<Channel>();
    clone::<Channel>();
    send_sync::<switchboard::channel::ChannelCall<EchoRequest, EchoResponse>>();
    send_sync::<switchboard::call::DelayedClientCall<EchoRequest, EchoResponse>>();
    send_sync::<ThreadlessExecutor>();
    send_sync::<Status>();
    send_sync::<Metadata>();
    send_sync::<CallOptions>();
    send_sync::<MethodDescriptor<EchoRequest, EchoResponse>>();
    send_unpin::<switchboard::stub::UnaryFuture<EchoResponse>>();
}
