//! Unit tests of the channel's state machine against a fake connection
//! (layer: channel).
//!
//! The fake (`fake.rs`): the connector hands each connection attempt to the
//! test, which completes or fails it by hand; the connection records every
//! call the channel opens on it. Time is tokio's paused clock: backoff and
//! idle timeouts pass when every task waits, not in real time.

mod fake;

use std::time::Duration;

use futures::FutureExt;

use crate::channel::backoff::BackoffConfig;
use crate::channel::watch::{Outcome, Watch};
use crate::channel::{ConnectivityState, ConnectivityState::*};
use crate::deadline::Deadline;
use crate::status::{Code, Status};

use fake::*;

#[tokio::test(start_paused = true)]
async fn a_call_on_an_idle_channel_connects_and_is_served_when_ready() {
    let mut h = Harness::with_defaults();
    assert_eq!(h.reported(), Idle);

    let first = h.call(false);
    assert_eq!(h.reported(), Connecting);
    let attempt = h.next_attempt().await;
    assert_eq!(
        attempt.timeout,
        Duration::from_secs(20),
        "min_connect_timeout"
    );
    assert!(first.closed().is_none(), "a pending call waits");

    let connection = FakeConnection::new("one");
    attempt.succeed(&connection);
    settle().await;
    assert_eq!(h.reported(), Ready);
    let opened = connection.opened();
    assert_eq!(
        opened.len(),
        1,
        "the pending call moved onto the connection"
    );
    assert_eq!(opened[0].path, "/test.Fake/Call");
    assert!(!opened[0].wait_for_ready);
    assert_eq!(
        opened[0].call.ops(),
        UNARY_OPS,
        "buffered ops replayed in order"
    );

    // On a READY channel a call goes straight onto the connection.
    let second = h.call(true);
    assert_eq!(connection.opened().len(), 2);
    assert!(connection.opened()[1].wait_for_ready);
    settle().await;
    assert!(h.no_attempt(), "a READY channel does not connect again");

    opened[0].call.close(Status::ok());
    assert_eq!(first.closed().map(|s| s.code()), Some(Code::Ok));
    assert!(second.closed().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_is_sticky_for_fail_fast_calls_until_ready() {
    let mut h = Harness::with_defaults();
    let fail_fast = h.call(false);
    let waits = h.call(true);
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    settle().await;
    assert_eq!(h.reported(), TransientFailure);
    assert_status(fail_fast.closed(), Code::Unavailable, "connection refused");
    assert!(
        waits.closed().is_none(),
        "wait-for-ready calls keep waiting"
    );

    // New fail-fast calls fail at once with the last error; wait-for-ready
    // ones join the pending calls.
    let refused = h.call(false);
    assert_status(refused.closed(), Code::Unavailable, "connection refused");
    let waits_too = h.call(true);
    assert!(waits_too.closed().is_none());

    // The backoff passes: the reconnect attempt still reports (and acts as)
    // TRANSIENT_FAILURE.
    let retry = h.next_attempt().await;
    assert!(retry.timeout >= Duration::from_secs(20));
    assert_eq!(h.reported(), TransientFailure);
    let still_refused = h.call(false);
    assert_status(
        still_refused.closed(),
        Code::Unavailable,
        "connection refused",
    );

    let connection = FakeConnection::new("one");
    retry.succeed(&connection);
    settle().await;
    assert_eq!(h.reported(), Ready);
    let opened = connection.opened();
    assert_eq!(opened.len(), 2, "both wait-for-ready calls were served");
    assert!(opened.iter().all(|o| o.wait_for_ready));
    assert!(waits.closed().is_none() && waits_too.closed().is_none());

    // READY clears the failure: fail-fast calls go through again.
    let after = h.call(false);
    assert_eq!(connection.opened().len(), 3);
    assert!(after.closed().is_none());
}

#[tokio::test(start_paused = true)]
async fn the_idle_timeout_returns_a_ready_or_failed_channel_to_idle() {
    let idle = Duration::from_secs(10);
    let backoff = BackoffConfig {
        initial_backoff: Duration::from_secs(60),
        max_backoff: Duration::from_secs(120),
        ..BackoffConfig::default()
    };
    let mut h = Harness::new(idle, backoff.clone());
    assert_eq!(h.core.connectivity(true), Connecting);
    let connection = FakeConnection::new("one");
    h.next_attempt().await.succeed(&connection);
    settle().await;
    assert_eq!(h.reported(), Ready);

    // A call in use keeps the channel READY however long it lasts.
    let call = h.call(false);
    tokio::time::sleep(idle * 3).await;
    assert_eq!(h.reported(), Ready);
    drop(call);
    tokio::time::sleep(idle * 2).await;
    assert_eq!(h.reported(), Idle, "no call in use for the idle timeout");

    // A channel in TRANSIENT_FAILURE with nothing waiting goes IDLE too,
    // and stops reconnecting.
    assert_eq!(h.core.connectivity(true), Connecting);
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    settle().await;
    assert_eq!(h.reported(), TransientFailure);
    tokio::time::sleep(idle * 2).await;
    assert_eq!(h.reported(), Idle);
    tokio::time::sleep(backoff.max_backoff * 2).await;
    assert!(
        h.no_attempt(),
        "an IDLE channel does not reconnect by itself"
    );
    assert_eq!(h.reported(), Idle);
    // The next call finds it IDLE, without the old failure.
    let _call = h.call(false);
    assert_eq!(h.reported(), Connecting);
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_returns_to_idle_and_the_next_call_reconnects() {
    let mut h = Harness::with_defaults();
    h.core.connectivity(true);
    let first = FakeConnection::new("first");
    let first_link = h.next_attempt().await.succeed(&first);
    settle().await;
    assert_eq!(h.reported(), Ready);

    first_link.closed(Status::unavailable("connection reset"));
    assert_eq!(h.reported(), Idle);
    settle().await;
    assert!(h.no_attempt(), "going IDLE does not reconnect by itself");

    let call = h.call(false);
    assert_eq!(h.reported(), Connecting);
    let second = FakeConnection::new("second");
    h.next_attempt().await.succeed(&second);
    settle().await;
    assert_eq!(h.reported(), Ready);
    assert_eq!((first.opened().len(), second.opened().len()), (0, 1));
    assert!(call.closed().is_none());

    // A late close of the old connection leaves the new one alone.
    first_link.closed(Status::unavailable("connection reset"));
    assert_eq!(h.reported(), Ready);

    // A connection found broken (GOAWAY) before it reports its end: the
    // next call sends the channel back through IDLE to a new connection.
    second.set_broken();
    let _after_goaway = h.call(false);
    assert_eq!(h.reported(), Connecting);
    assert_eq!(second.opened().len(), 1, "no call on a broken connection");
    let third = FakeConnection::new("third");
    h.next_attempt().await.succeed(&third);
    settle().await;
    assert_eq!(h.reported(), Ready);
    assert_eq!(third.opened().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_fails_pending_and_new_calls_but_not_calls_on_a_connection() {
    let mut h = Harness::with_defaults();
    h.core.connectivity(true);
    let connection = FakeConnection::new("one");
    h.next_attempt().await.succeed(&connection);
    settle().await;
    let in_flight = h.call(false);
    assert_eq!(connection.opened().len(), 1);

    // The connection goes away for new calls: these two wait for the next.
    connection.set_broken();
    let pending_wait = h.call(true);
    let pending_fast = h.call(false);
    let attempt = h.next_attempt().await;

    h.core.shutdown();
    assert_eq!(h.reported(), Shutdown);
    for pending in [&pending_wait, &pending_fast] {
        assert_status(pending.closed(), Code::Unavailable, "channel was shut down");
    }
    for wait_for_ready in [false, true] {
        let late = h.call(wait_for_ready);
        assert_status(late.closed(), Code::Unavailable, "channel was shut down");
    }

    // The call already on the connection is not cancelled: it runs to its end.
    let opened = connection.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].call.ops(), UNARY_OPS);
    assert!(in_flight.closed().is_none());
    opened[0].call.close(Status::ok());
    assert_eq!(in_flight.closed().map(|s| s.code()), Some(Code::Ok));

    // An attempt that connects after the shutdown is dropped.
    let late = FakeConnection::new("late");
    attempt.succeed(&late);
    settle().await;
    assert_eq!(h.core.connectivity(true), Shutdown);
    assert!(late.opened().is_empty());
    assert!(h.no_attempt());
}

#[tokio::test(start_paused = true)]
async fn retried_calls_wait_for_the_next_ready_connection() {
    let mut h = Harness::with_defaults();
    h.core.connectivity(true);
    let first = FakeConnection::new("first");
    let link = h.next_attempt().await.succeed(&first);
    settle().await;

    // On a READY channel: its connection, at once.
    let now = link.ready_connection(false).now_or_never();
    let now = now.expect("decided at once").expect("a connection");
    assert_eq!(now.name, "first");

    // A broken connection is not handed out: the channel reconnects.
    first.set_broken();
    let mut fail_fast = Box::pin(link.ready_connection(false));
    let mut waits = Box::pin(link.ready_connection(true));
    assert_eq!(h.reported(), Connecting);
    assert!((&mut fail_fast).now_or_never().is_none());
    assert!((&mut waits).now_or_never().is_none());

    // A failed attempt: the fail-fast retry hears of it, the other waits on.
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    settle().await;
    let failed = fail_fast.await.expect_err("a fail-fast retry fails");
    assert_eq!(failed.message(), "connection refused");
    assert!((&mut waits).now_or_never().is_none());

    let second = FakeConnection::new("second");
    h.next_attempt().await.succeed(&second);
    settle().await;
    assert_eq!(waits.await.expect("the next connection").name, "second");

    // Shutdown: waiting retries fail, and so do new ones, at once.
    second.set_broken();
    let orphan = link.ready_connection(true);
    h.core.shutdown();
    let after = link.ready_connection(true).now_or_never();
    for result in [orphan.await, after.expect("decided at once")] {
        assert_eq!(
            result.expect_err("shut down").message(),
            "channel was shut down"
        );
    }
}

/// The deadline `timeout` from now on tokio's (paused) clock, which the
/// deadline timers sleep on.
fn deadline_in(timeout: Duration) -> Deadline {
    Deadline::at((tokio::time::Instant::now() + timeout).into_std())
}

/// The state a watch resolved with, or `None` if it is still waiting.
fn changed(watch: &mut Watch) -> Option<(ConnectivityState, Option<Status>)> {
    match watch.now_or_never()? {
        Outcome::Changed { to, error } => Some((to, error)),
        other => panic!("the watch ended without a change: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_watcher_sees_every_reported_transition_in_order() {
    let mut h = Harness::with_defaults();
    let mut seen = Vec::new();

    // IDLE → CONNECTING.
    let mut watch = h.core.watch(Idle, None);
    assert!(changed(&mut watch).is_none(), "nothing changed yet");
    h.core.connectivity(true);
    seen.push(changed(&mut watch).expect("CONNECTING"));

    // CONNECTING → TRANSIENT_FAILURE, with the attempt's error.
    let mut watch = h.core.watch(Connecting, None);
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    settle().await;
    seen.push(changed(&mut watch).expect("TRANSIENT_FAILURE"));

    // TRANSIENT_FAILURE → CONNECTING after the backoff: still reported as
    // TRANSIENT_FAILURE (sticky), so no change to hear of.
    let mut watch = h.core.watch(TransientFailure, None);
    let retry = h.next_attempt().await;
    assert_eq!(h.reported(), TransientFailure);
    assert!(
        changed(&mut watch).is_none(),
        "a sticky failure is no change"
    );

    // CONNECTING (reported TRANSIENT_FAILURE) → READY.
    let connection = FakeConnection::new("one");
    let link = retry.succeed(&connection);
    settle().await;
    seen.push(changed(&mut watch).expect("READY"));

    // READY → IDLE (connection lost) → SHUTDOWN.
    let mut watch = h.core.watch(Ready, None);
    link.closed(Status::unavailable("connection reset"));
    seen.push(changed(&mut watch).expect("IDLE"));
    let mut watch = h.core.watch(Idle, None);
    h.core.shutdown();
    seen.push(changed(&mut watch).expect("SHUTDOWN"));

    let states: Vec<ConnectivityState> = seen.iter().map(|(state, _)| *state).collect();
    assert_eq!(
        states,
        [Connecting, TransientFailure, Ready, Idle, Shutdown]
    );
    let errors: Vec<Option<&str>> = seen
        .iter()
        .map(|(_, error)| error.as_ref().map(|e| e.message()))
        .collect();
    assert_eq!(
        errors,
        [None, Some("connection refused"), None, None, None],
        "TRANSIENT_FAILURE carries its error"
    );

    // SHUTDOWN is final: a watch from it waits until its deadline.
    let deadline = deadline_in(Duration::from_secs(5));
    let outcome = h.core.watch(Shutdown, Some(deadline)).await;
    assert!(matches!(outcome, Outcome::TimedOut), "{outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn a_watcher_hears_the_first_change_even_if_the_channel_moves_on() {
    let mut h = Harness::with_defaults();
    h.core.connectivity(true);
    let connection = FakeConnection::new("one");
    h.next_attempt().await.succeed(&connection);
    settle().await;

    // A broken connection: the next call takes the channel READY → IDLE →
    // CONNECTING under one lock. The watcher hears IDLE; a watch from IDLE
    // then hears CONNECTING at once.
    let mut watch = h.core.watch(Ready, None);
    connection.set_broken();
    let _call = h.call(true);
    assert_eq!(h.reported(), Connecting);
    assert_eq!(changed(&mut watch).map(|(state, _)| state), Some(Idle));
    let mut watch = h.core.watch(Idle, None);
    assert_eq!(
        changed(&mut watch).map(|(state, _)| state),
        Some(Connecting)
    );

    // A watch dropped before the change is forgotten; the others are told.
    let dropped = h.core.watch(Connecting, None);
    let mut kept = h.core.watch(Connecting, None);
    drop(dropped);
    h.core.shutdown();
    assert_eq!(changed(&mut kept).map(|(state, _)| state), Some(Shutdown));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_channel_tells_its_watchers_shutdown() {
    let h = Harness::with_defaults();
    let watch = h.core.watch(Idle, None);
    drop(h);
    assert!(matches!(watch.await, Outcome::Changed { to: Shutdown, .. }));
}

#[tokio::test(start_paused = true)]
async fn ready_connects_and_waits_naming_the_last_error_at_its_deadline() {
    let mut h = Harness::with_defaults();

    // Nothing connects before the deadline: DEADLINE_EXCEEDED, naming the
    // failed attempt's error (while a retry hangs).
    let ready = tokio::spawn(h.core.ready(deadline_in(Duration::from_secs(60))));
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    let _hanging_retry = h.next_attempt().await;
    let status = ready.await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");
    assert!(
        status
            .message()
            .contains("last connection error: UNAVAILABLE: connection refused"),
        "{status}"
    );
    assert!(std::error::Error::source(&status).is_some());
    drop(_hanging_retry);
    settle().await;

    // A channel that connects: `Ok` once READY.
    let mut h = Harness::with_defaults();
    let ready = tokio::spawn(h.core.ready(deadline_in(Duration::from_secs(60))));
    let attempt = h.next_attempt().await;
    assert_eq!(h.reported(), Connecting, "waiting for READY connects");
    let connection = FakeConnection::new("one");
    attempt.succeed(&connection);
    ready.await.unwrap().expect("READY");
    // At once when READY.
    let at_once = h.core.ready(deadline_in(Duration::from_secs(1)));
    assert!(matches!(at_once.now_or_never(), Some(Ok(()))));

    // Shutdown ends a wait with UNAVAILABLE.
    let h = Harness::with_defaults();
    let mut ready = Box::pin(h.core.ready(deadline_in(Duration::from_secs(60))));
    assert!((&mut ready).now_or_never().is_none());
    h.core.shutdown();
    let status = ready.await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[tokio::test(start_paused = true)]
async fn a_goaway_moves_new_calls_off_the_connection_at_once() {
    let mut h = Harness::with_defaults();
    h.core.connectivity(true);
    let first = FakeConnection::new("first");
    let first_link = h.next_attempt().await.succeed(&first);
    settle().await;
    let in_flight = h.call(false);
    assert_eq!(first.opened().len(), 1);

    // With a call in use, the channel connects anew at once, before any
    // new call asks, and the call in flight stays on the old connection.
    first.set_broken();
    first_link.going_away();
    assert_eq!(h.reported(), Connecting);
    let attempt = h.next_attempt().await;
    let waiting = h.call(false);
    let second = FakeConnection::new("second");
    let second_link = attempt.succeed(&second);
    settle().await;
    assert_eq!(h.reported(), Ready);
    assert_eq!((first.opened().len(), second.opened().len()), (1, 1));
    assert!(in_flight.closed().is_none() && waiting.closed().is_none());
    first.opened()[0].call.close(Status::ok());
    assert_eq!(in_flight.closed().map(|s| s.code()), Some(Code::Ok));

    // A late GOAWAY or close of the old connection changes nothing.
    first_link.going_away();
    first_link.closed(Status::unavailable("connection closed"));
    assert_eq!(h.reported(), Ready);

    // With no call in use, the channel goes IDLE and connects on the next
    // call (as grpc-java's pick_first).
    second.opened()[0].call.close(Status::ok());
    assert_eq!(waiting.closed().map(|s| s.code()), Some(Code::Ok));
    drop((in_flight, waiting));
    second.set_broken();
    second_link.going_away();
    assert_eq!(h.reported(), Idle);
    settle().await;
    assert!(
        h.no_attempt(),
        "an unused channel does not reconnect by itself"
    );
    let _next = h.call(false);
    assert_eq!(h.reported(), Connecting);
}

/// A connect loop left from before the channel went IDLE must not make the
/// next loop's retry: after the new loop's attempt fails, the next attempt
/// waits out that failure's backoff, not what was left of the old one.
#[tokio::test(start_paused = true)]
async fn a_connect_loop_from_before_idle_does_not_retry_early_for_the_next_one() {
    let idle = Duration::from_secs(10);
    let backoff = BackoffConfig {
        initial_backoff: Duration::from_secs(60),
        multiplier: 1.6,
        jitter: 0.0,
        max_backoff: Duration::from_secs(600),
        ..BackoffConfig::default()
    };
    let mut h = Harness::new(idle, backoff);
    // The first loop fails and sleeps its 60 s backoff; meanwhile the idle
    // timer takes the channel from TRANSIENT_FAILURE to IDLE.
    assert_eq!(h.core.connectivity(true), Connecting);
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    settle().await;
    assert_eq!(h.reported(), TransientFailure);
    tokio::time::sleep(idle * 2).await;
    assert_eq!(h.reported(), Idle);

    // A waiting call starts a second loop (on a new subchannel: going IDLE
    // dropped the old one, as grpc-java does), whose attempt fails too: its
    // backoff is a fresh 60 s, from this failure. The old loop, had it
    // survived, would retry 40 s after it.
    let _call = h.call(true);
    h.next_attempt()
        .await
        .fail(Status::unavailable("connection refused"));
    let failed_at = tokio::time::Instant::now();
    settle().await;
    assert_eq!(h.reported(), TransientFailure);

    let next = h.next_attempt().await;
    let waited = failed_at.elapsed();
    assert!(
        waited >= Duration::from_secs(60),
        "the next attempt came {waited:?} after the failure, before its 60 s backoff"
    );
    next.fail(Status::unavailable("connection refused"));
}

/// pick_first over two addresses, the first silent: after 250 ms without
/// an answer the second is tried too (Happy Eyeballs); it wins, and the
/// first attempt is dropped.
#[tokio::test(start_paused = true)]
async fn a_silent_first_address_does_not_hold_up_the_next_one_for_long() {
    let mut h = Harness::over(
        vec![address(1), address(2)],
        Duration::from_secs(30 * 60),
        BackoffConfig::default(),
    );
    let call = h.call(false);
    let started = tokio::time::Instant::now();
    let first = h.next_attempt().await;
    assert_eq!(first.address, address(1));
    let second = h.next_attempt().await;
    assert_eq!(second.address, address(2));
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    let connection = FakeConnection::new("second");
    second.succeed(&connection);
    settle().await;
    assert_eq!(h.reported(), Ready);
    assert_eq!(connection.opened().len(), 1, "the call went to the second");
    assert!(first.outcome.is_closed(), "the first attempt was dropped");
    assert!(call.closed().is_none());
}
