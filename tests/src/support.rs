//! Small helpers the end-to-end tests share: requests, replies, call
//! options and client settings for the Echo peer and the mock, a user
//! runtime, and the process's memory. No logic of the client under test
//! lives here.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use switchboard::channel::BackoffConfig;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, Metadata, Status};

use crate::methods::UNARY;
use crate::peer::echo::{EchoRequest, EchoResponse, StreamRequest};

/// Response headers of a well-behaved gRPC server, for mock scripts.
pub const GRPC: (&str, &str) = ("content-type", "application/grpc");

/// The trailer of a successful gRPC response, for mock scripts.
pub const GRPC_OK: (&str, &str) = ("grpc-status", "0");

/// The deadline of [`bounded`] calls: a hang shows up as DEADLINE_EXCEEDED
/// instead of hanging the test.
pub const CALL_BOUND: Duration = Duration::from_secs(10);

/// An Echo request carrying only `message`.
pub fn hello(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_string(),
        ..Default::default()
    }
}

/// An Echo response carrying only `message`, as a mock answers.
pub fn reply(message: &str) -> EchoResponse {
    EchoResponse {
        message: message.to_owned(),
        ..EchoResponse::default()
    }
}

/// An Echo response carrying `message` and 20 bytes of `0xAB`, so that a
/// mock's answer has a bytes field to decode too.
pub fn reply_with_payload(message: &str) -> EchoResponse {
    EchoResponse {
        payload: vec![0xAB; 20],
        ..reply(message)
    }
}

/// A server-stream request: `count` messages of `size` bytes, each with
/// message `"s"`.
pub fn stream_of(count: u32, size: u32) -> StreamRequest {
    StreamRequest {
        count,
        size,
        message: "s".into(),
        ..Default::default()
    }
}

/// Call options with a deadline `d` from the start of each call.
pub fn deadline(d: Duration) -> CallOptions {
    CallOptions::new().with_deadline_after(d)
}

/// Call options bounded by [`CALL_BOUND`].
pub fn bounded() -> CallOptions {
    deadline(CALL_BOUND)
}

/// Reconnect backoff for tests: retries within tens of milliseconds, so a
/// test that waits for a server to come up does not wait for gRPC's 1 s.
pub fn fast_backoff() -> BackoffConfig {
    BackoffConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        min_connect_timeout: Duration::from_secs(2),
        ..BackoffConfig::default()
    }
}

/// A user-supplied runtime with one worker, for channels built with
/// `ChannelBuilder::runtime`.
///
/// # Panics
/// If the runtime cannot be built.
pub fn one_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("build a one-worker runtime")
}

/// The resident set size of this process, in bytes, where `/proc` has it
/// (0 elsewhere).
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A channel to `url` with default settings.
///
/// # Panics
/// If the target is invalid.
pub fn channel_to(url: impl Into<String>) -> Channel {
    Channel::builder(url).build().expect("valid target")
}

/// A channel to `url` that is READY: one call went through it, so the next
/// call is a real stream at once, not a pending call.
///
/// # Panics
/// If the target is invalid or the warming call fails.
pub fn ready_channel_to(url: impl Into<String>) -> Channel {
    let channel = channel_to(url);
    if let Err(status) = call_unary(&channel, "warm") {
        panic!("warming the channel failed: {status}");
    }
    channel
}

/// One blocking `Echo/Unary` call of [`hello`]`(message)` on `channel`,
/// bounded by [`CALL_BOUND`].
pub fn call_unary(channel: &Channel, message: &str) -> Result<EchoResponse, Status> {
    blocking_unary_call(channel, &UNARY, &bounded(), hello(message))
}

/// [`call_unary`] of `"hi"` with the request metadata `key: value`, for
/// mocks that take their cue from the request.
///
/// # Panics
/// If `key: value` is not valid ASCII metadata.
pub fn call_unary_with(channel: &Channel, key: &str, value: &str) -> Result<EchoResponse, Status> {
    let mut metadata = Metadata::new();
    metadata.insert(key, value).expect("valid metadata");
    let options = bounded().with_metadata(metadata);
    blocking_unary_call(channel, &UNARY, &options, hello("hi"))
}

/// Asserts that `result` failed with `code` and a message containing each
/// of `words`; returns the status.
///
/// # Panics
/// If it did not.
pub fn assert_status(result: Result<EchoResponse, Status>, code: Code, words: &[&str]) -> Status {
    let status = result.expect_err("the call fails");
    assert_eq!(status.code(), code, "{status}");
    for word in words {
        assert!(status.message().contains(word), "{word:?} not in {status}");
    }
    status
}

/// Bytes that arrived from `server` and sit unread in this machine's TCP
/// receive buffers: the sum of `rx_queue` over the IPv4 sockets whose remote
/// end is `server`, from `/proc/net/tcp`. `None` where that file is missing
/// (not Linux) or `server` is not IPv4.
///
/// For tests that hold a client's reader on purpose and must know that the
/// server's answer has reached the client's socket.
pub fn unread_bytes_from(server: SocketAddr) -> Option<usize> {
    let IpAddr::V4(ip) = server.ip() else {
        return None;
    };
    // The kernel prints the address as one 32-bit word in host order.
    let remote = format!(
        "{:08X}:{:04X}",
        u32::from_ne_bytes(ip.octets()),
        server.port()
    );
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let unread = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let queues = fields.get(4)?;
            if *fields.get(2)? != remote {
                return None;
            }
            let rx_queue = queues.split(':').nth(1)?;
            usize::from_str_radix(rx_queue, 16).ok()
        })
        .sum();
    Some(unread)
}
