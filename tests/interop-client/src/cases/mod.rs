//! The interop cases: one function per non-cloud client case of gRPC's
//! `doc/interop-test-descriptions.md`, each taking the [`Channel`] to the
//! server under test and returning `Err` with a precise message when
//! something the spec says the client must check does not hold.
//!
//! Grouped by what they exercise:
//! - `unary`: [`empty_unary`], [`large_unary`];
//! - `streaming`: [`client_streaming`], [`server_streaming`],
//!   [`ping_pong`], [`empty_stream`];
//! - `compression`: [`client_compressed_unary`],
//!   [`server_compressed_unary`], [`client_compressed_streaming`],
//!   [`server_compressed_streaming`];
//! - `metadata`: [`custom_metadata`];
//! - `status`: [`status_code_and_message`], [`special_status_message`],
//!   [`unimplemented_method`], [`unimplemented_service`];
//! - `cancel`: [`cancel_after_begin`], [`cancel_after_first_response`],
//!   [`timeout_on_sleeping_server`].
//!
//! Both stub flavours are exercised across the suite: blocking stubs (no
//! async runtime) and async stubs driven by `futures::executor::block_on`.
//! Every call gets a deadline ([`CALL_TIMEOUT`], or the case's own), so a
//! silent server fails a case instead of hanging it.
//!
//! What no case can check: whether a *received* message had its
//! compressed flag set. switchboard decompresses below its public API and
//! does not expose the flag; the spec makes that check "if supported by the
//! implementation". The server-compression cases check what is visible
//! instead (see `compression`).

mod cancel;
mod compression;
mod metadata;
mod status;
mod streaming;
mod unary;

use std::fmt;
use std::time::Duration;

use switchboard::Channel;
use switchboard::prelude::*;

use crate::pb::test_service_client::{TestServiceAsyncStub, TestServiceBlockingStub};

pub use cancel::{cancel_after_begin, cancel_after_first_response, timeout_on_sleeping_server};
pub use compression::{
    client_compressed_streaming, client_compressed_unary, server_compressed_streaming,
    server_compressed_unary,
};
pub use metadata::custom_metadata;
pub use status::{
    special_status_message, status_code_and_message, unimplemented_method, unimplemented_service,
};
pub use streaming::{client_streaming, empty_stream, ping_pong, server_streaming};
pub use unary::{empty_unary, large_unary};

/// The deadline of every call a case makes (except where the case is about
/// deadlines): long enough for a slow CI machine, short enough that a
/// server that never answers fails the case.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What running one case gives: `Err` says which check failed and why.
pub type CaseResult = Result<(), String>;

/// One named interop case.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's name in the spec and on the command line (`--test_case`).
    pub name: &'static str,
    /// Runs the case against the server behind the channel.
    pub run: fn(&Channel) -> CaseResult,
    /// Whether the case needs a server that can see the compressed flag of
    /// each *request* message (the spec's CompressedRequest feature): only
    /// such a server fails the cases' feature probe as they require.
    pub needs_compressed_request: bool,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

const fn case(name: &'static str, run: fn(&Channel) -> CaseResult) -> Case {
    Case {
        name,
        run,
        needs_compressed_request: false,
    }
}

/// Every case, in the spec's order; `--test_case=all` runs them in this
/// order.
pub const ALL: &[Case] = &[
    case("empty_unary", empty_unary),
    case("large_unary", large_unary),
    Case {
        needs_compressed_request: true,
        ..case("client_compressed_unary", client_compressed_unary)
    },
    case("server_compressed_unary", server_compressed_unary),
    case("client_streaming", client_streaming),
    Case {
        needs_compressed_request: true,
        ..case("client_compressed_streaming", client_compressed_streaming)
    },
    case("server_streaming", server_streaming),
    case("server_compressed_streaming", server_compressed_streaming),
    case("ping_pong", ping_pong),
    case("empty_stream", empty_stream),
    case("custom_metadata", custom_metadata),
    case("status_code_and_message", status_code_and_message),
    case("special_status_message", special_status_message),
    case("unimplemented_method", unimplemented_method),
    case("unimplemented_service", unimplemented_service),
    case("cancel_after_begin", cancel_after_begin),
    case("cancel_after_first_response", cancel_after_first_response),
    case("timeout_on_sleeping_server", timeout_on_sleeping_server),
];

/// The case called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Case> {
    ALL.iter().find(|case| case.name == name)
}

/// A blocking `TestService` stub on `channel` with the [`CALL_TIMEOUT`]
/// deadline.
fn blocking_stub(channel: &Channel) -> TestServiceBlockingStub {
    TestServiceBlockingStub::new(channel.clone()).with_deadline_after(CALL_TIMEOUT)
}

/// An async `TestService` stub on `channel` with the [`CALL_TIMEOUT`]
/// deadline.
fn async_stub(channel: &Channel) -> TestServiceAsyncStub {
    TestServiceAsyncStub::new(channel.clone()).with_deadline_after(CALL_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_is_listed_once_and_found_by_name() {
        assert_eq!(ALL.len(), 18);
        for case in ALL {
            assert_eq!(find(case.name).map(|c| c.name), Some(case.name));
            assert_eq!(ALL.iter().filter(|c| c.name == case.name).count(), 1);
        }
        assert!(find("all").is_none());
        let probing: Vec<&str> = ALL
            .iter()
            .filter(|c| c.needs_compressed_request)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            probing,
            ["client_compressed_unary", "client_compressed_streaming"]
        );
    }
}
