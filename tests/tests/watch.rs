//! Connectivity watching: following a channel's states with
//! `wait_for_state_change` / `state_changed`, and waiting for READY with
//! `wait_for_ready` / `ready`, against a port where a tonic server starts
//! only once the channel's first attempt has failed.
//!
//! Every wait is on the channel's own signals (the new API); the deadlines
//! passed are [`WAIT_LIMIT`] fail-safes, except where a test wants one to
//! pass, and nothing asserts on timing. The async forms run under
//! `futures::executor::block_on`, on a thread with no tokio context.

use std::error::Error as _;
use std::net::SocketAddr;
use std::time::Duration;

use futures::executor::block_on;
use switchboard::status::Origin;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, ConnectivityState, Deadline, Status};
use switchboard_tests::methods::UNARY;
use switchboard_tests::support::{fast_backoff, hello};
use switchboard_tests::wait::WAIT_LIMIT;
use switchboard_tests::{TonicServer, free_port};

use ConnectivityState::{Connecting, Idle, Ready, Shutdown, TransientFailure};

/// A channel to `addr` that retries quickly.
fn channel_to(addr: SocketAddr) -> Channel {
    Channel::builder(format!("http://{addr}"))
        .backoff(fast_backoff())
        .build()
        .unwrap()
}

/// The fail-safe deadline of a wait that should end on a signal.
fn fail_safe() -> Deadline {
    Deadline::after(WAIT_LIMIT)
}

/// Connects `channel` (to a dead port) and waits, state by state, until it
/// reports TRANSIENT_FAILURE: its first attempt has failed.
fn wait_for_failure(channel: &Channel) {
    channel.connect();
    let mut state = channel.state(false);
    while state != TransientFailure {
        state = channel
            .wait_for_state_change(state, fail_safe())
            .expect("the attempt failed before the fail-safe deadline");
    }
}

#[test]
fn a_watcher_sees_idle_connecting_transient_failure_then_ready_in_order() {
    let addr = free_port();
    let channel = channel_to(addr);
    let mut seen = vec![channel.state(false)];

    // Registered before connecting: the first change cannot be missed.
    let first = channel.state_changed(Idle);
    channel.connect();
    let mut state = block_on(first);
    seen.push(state);
    // Nothing listens: the attempt fails.
    state = channel.wait_for_state_change(state, fail_safe()).unwrap();
    seen.push(state);
    assert_eq!(state, TransientFailure);

    // Only now does the server listen. The channel backs off and tries
    // again, perhaps several times before the server is up; each retry is
    // CONNECTING inside, but gRPC's sticky TRANSIENT_FAILURE (pick_first)
    // keeps reporting TRANSIENT_FAILURE until a connection is READY, so the
    // next reported change is READY itself.
    let server = TonicServer::start_on(addr).expect("the port is still free");
    state = channel.wait_for_state_change(state, fail_safe()).unwrap();
    seen.push(state);

    assert_eq!(seen, [Idle, Connecting, TransientFailure, Ready]);
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("up")).unwrap();
    assert_eq!(reply.message, "up");
    assert_eq!(server.counters().calls(), 1);

    // READY → SHUTDOWN is heard too; SHUTDOWN is final: a wait from it
    // ends only at its deadline, with `None`.
    let changed = channel.state_changed(Ready);
    channel.shutdown();
    assert_eq!(block_on(changed), Shutdown);
    let soon = Deadline::after(Duration::from_millis(20));
    assert_eq!(channel.wait_for_state_change(Shutdown, soon), None);
}

#[test]
fn wait_for_ready_on_a_dead_port_is_deadline_exceeded_naming_the_connect_error() {
    let addr = free_port();
    let channel = channel_to(addr);
    wait_for_failure(&channel);

    let soon = Deadline::after(Duration::from_millis(50));
    let status = channel.wait_for_ready(soon).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status
            .message()
            .contains("last connection error: UNAVAILABLE"),
        "{status}"
    );
    assert!(
        status.message().contains(&addr.port().to_string()),
        "names the address: {status}"
    );
    // The connect error itself is the source.
    let source = status.source().expect("the connect error");
    let error = source.downcast_ref::<Status>().expect("a Status");
    assert_eq!(error.code(), Code::Unavailable, "{error}");
    assert_eq!(error.origin(), Origin::Connect, "{error}");
}

#[test]
fn wait_for_ready_succeeds_once_the_server_is_up() {
    // A server already up: the wait connects an IDLE channel itself.
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    assert_eq!(channel.state(false), Idle);
    channel.wait_for_ready(fail_safe()).unwrap();
    assert_eq!(channel.state(false), Ready);

    // A server that comes up after a failed attempt.
    let addr = free_port();
    let channel = channel_to(addr);
    wait_for_failure(&channel);
    let waiting = {
        let channel = channel.clone();
        std::thread::spawn(move || channel.wait_for_ready(fail_safe()))
    };
    let server = TonicServer::start_on(addr).expect("the port is still free");
    waiting
        .join()
        .unwrap()
        .expect("READY once the server listens");
    assert_eq!(channel.state(false), Ready);
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("ok")).unwrap();
    assert_eq!(reply.message, "ok");
    assert_eq!(server.counters().calls(), 1);

    // After a shutdown: UNAVAILABLE, at once.
    channel.shutdown();
    let status = channel.wait_for_ready(fail_safe()).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[test]
fn the_async_forms_run_on_any_executor() {
    // Plain `futures` executor, on a thread with no tokio context.
    assert!(tokio::runtime::Handle::try_current().is_err());
    let addr = free_port();
    let channel = channel_to(addr);

    let changed = channel.state_changed(Idle);
    channel.connect();
    let mut state = block_on(changed);
    assert_eq!(state, Connecting);
    while state != TransientFailure {
        state = block_on(channel.state_changed(state));
    }

    let soon = Deadline::after(Duration::from_millis(50));
    let status = block_on(channel.ready(soon)).unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("last connection error"),
        "{status}"
    );

    let ready = channel.ready(fail_safe());
    let _server = TonicServer::start_on(addr).expect("the port is still free");
    block_on(ready).expect("READY once the server listens");
    assert_eq!(channel.state(false), Ready);

    let changed = channel.state_changed(Ready);
    channel.shutdown();
    assert_eq!(block_on(changed), Shutdown);
    let status = block_on(channel.ready(fail_safe())).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}
