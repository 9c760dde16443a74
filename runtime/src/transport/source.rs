//! Where a transparently retried call gets its next connection, and which
//! failures allow that retry (layer: transport).
//!
//! gRPC lets a client re-send a call the server provably did not process:
//! refused with `RST_STREAM(REFUSED_STREAM)`, or above the last stream id of
//! a `GOAWAY`. [`unprocessed`] tells those failures apart; a
//! [`ConnectionSource`] (the channel) hands out the next ready connection.

use std::future::Future;
use std::pin::Pin;

use crate::status::Status;
use crate::transport::H2Connection;

/// Where a retried call gets its next connection: the channel.
pub(crate) trait ConnectionSource: Send + Sync {
    /// Resolves to a ready connection other than a broken one, connecting
    /// if need be. Fails like a connection attempt would, unless
    /// `wait_for_ready`: then it waits through failed attempts and fails
    /// only when the channel shuts down (the call's deadline bounds it).
    fn next_ready(
        &self,
        wait_for_ready: bool,
    ) -> Pin<Box<dyn Future<Output = Result<H2Connection, Status>> + Send>>;
}

/// Whether an h2 error says the server did not process the stream.
pub(crate) fn unprocessed(error: &h2::Error) -> bool {
    (error.is_go_away() && error.is_remote())
        || (error.is_reset()
            && error.is_remote()
            && error.reason() == Some(h2::Reason::REFUSED_STREAM))
}
