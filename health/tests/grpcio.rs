//! `HealthClient` against grpcio's health servicer (grpcio-health-checking,
//! in the Python interop peer), and against a server without one (the
//! tonic interop peer).
//!
//! The Python peer starts with `""` and `grpc.testing.TestService`
//! SERVING; `PythonServer::set_health` changes a status and returns once
//! the server has it. Watch tests wait for each status to arrive (the
//! iterator or stream blocks until the server sends it); nothing sleeps.
//! Each test that changes a status uses a service name of its own, so the
//! tests can share one server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt as _;
use futures::executor::block_on;
use switchboard::prelude::*;
use switchboard::{Channel, Code};
use switchboard_health::{HealthClient, ServingStatus};
use switchboard_interop_peer::InteropServer;
use switchboard_interop_peer::python::PythonServer;

const TEST_SERVICE: &str = "grpc.testing.TestService";

/// A backstop: every call here ends by then, whatever the server does.
const DEADLINE: Duration = Duration::from_secs(20);

fn peer() -> &'static PythonServer {
    static PEER: OnceLock<Result<PythonServer, String>> = OnceLock::new();
    match PEER.get_or_init(PythonServer::start) {
        Ok(peer) => peer,
        Err(error) => panic!("{error}"),
    }
}

fn health() -> HealthClient {
    let channel = Channel::builder(peer().url()).build().unwrap();
    HealthClient::new(channel).with_deadline_after(DEADLINE)
}

#[test]
fn check_says_the_server_and_test_service_are_serving() {
    let health = health();
    assert_eq!(health.check("").unwrap(), ServingStatus::Serving);
    assert_eq!(health.check(TEST_SERVICE).unwrap(), ServingStatus::Serving);
}

#[test]
fn check_async_says_the_same_on_any_executor() {
    let health = health();
    let whole = health.check_async("");
    let test_service = health.check_async(TEST_SERVICE);
    assert_eq!(block_on(whole).unwrap(), ServingStatus::Serving);
    assert_eq!(test_service.wait().unwrap(), ServingStatus::Serving);
}

#[test]
fn check_of_an_unknown_service_is_not_found_naming_it() {
    let health = health();
    let status = health.check("no.such.Service").unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status}");
    assert!(
        status.message().contains("\"no.such.Service\""),
        "the message should name the service: {status}"
    );

    let status = block_on(health.check_async("no.such.Service")).unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status}");
    assert!(status.message().contains("\"no.such.Service\""), "{status}");
}

#[test]
fn check_follows_a_status_the_server_changes() {
    let service = "switchboard.health.Checked";
    let health = health();
    peer().set_health(service, "NOT_SERVING").unwrap();
    assert_eq!(health.check(service).unwrap(), ServingStatus::NotServing);
    peer().set_health(service, "SERVING").unwrap();
    assert_eq!(health.check(service).unwrap(), ServingStatus::Serving);
}

#[test]
fn watch_as_a_blocking_iterator_sees_every_change() {
    let service = "switchboard.health.BlockingWatch";
    let mut watch = health().watch(service);
    // Unknown at first: the watch goes on, and sees the service appear.
    assert_eq!(
        watch.next().unwrap().unwrap(),
        ServingStatus::ServiceUnknown
    );
    peer().set_health(service, "SERVING").unwrap();
    assert_eq!(watch.next().unwrap().unwrap(), ServingStatus::Serving);
    peer().set_health(service, "NOT_SERVING").unwrap();
    assert_eq!(watch.next().unwrap().unwrap(), ServingStatus::NotServing);
}

#[test]
fn watch_as_an_async_stream_sees_every_change() {
    let service = "switchboard.health.AsyncWatch";
    peer().set_health(service, "SERVING").unwrap();
    let mut watch = health().watch_async(service);
    block_on(async {
        assert_eq!(watch.next().await.unwrap().unwrap(), ServingStatus::Serving);
        peer().set_health(service, "NOT_SERVING").unwrap();
        assert_eq!(
            watch.next().await.unwrap().unwrap(),
            ServingStatus::NotServing
        );
        peer().set_health(service, "SERVING").unwrap();
        assert_eq!(watch.next().await.unwrap().unwrap(), ServingStatus::Serving);
    });
}

#[test]
fn a_server_without_health_checking_answers_unimplemented() {
    let server = InteropServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    let health = HealthClient::new(channel).with_deadline_after(DEADLINE);
    assert_eq!(health.check("").unwrap_err().code(), Code::Unimplemented);

    let mut watch = health.watch("");
    assert_eq!(
        watch.next().unwrap().unwrap_err().code(),
        Code::Unimplemented
    );
    assert!(watch.next().is_none(), "the watch ends after its error");
}

#[test]
fn the_async_handles_are_send() {
    fn send<T: Send>(_: &T) {}
    let channel = Channel::builder("http://127.0.0.1:1").build().unwrap();
    let health = HealthClient::new(channel);
    send(&health.check_async(""));
    send(&health.watch_async(""));
}
