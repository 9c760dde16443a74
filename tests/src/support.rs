//! Small helpers the end-to-end tests share: requests and client settings
//! for the Echo peer. No logic of the client under test lives here.

use std::time::Duration;

use switchboard::channel::BackoffConfig;

use crate::echo::EchoRequest;

/// An Echo request carrying only `message`.
pub fn hello(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_string(),
        ..Default::default()
    }
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
