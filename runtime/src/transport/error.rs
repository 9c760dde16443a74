//! The one place where transport failures become a [`Status`] (layer: plain
//! data, beside `status`).
//!
//! gRPC's PROTOCOL-HTTP2 "Errors" section fixes most of this table:
//! a stream reset by the peer maps through its HTTP/2 error code
//! ([`Status::from_h2_reason`]); a connection that failed, closed or went
//! away maps to `UNAVAILABLE`; an HTTP/2 protocol violation that h2 detected
//! locally maps to `INTERNAL`. Every message says what happened.

use crate::status::Status;

/// Maps an h2 error seen by one call to the status its caller gets.
/// `context` says what the call was doing, e.g. "receiving response".
pub(crate) fn status_from_h2(error: &h2::Error, context: &str) -> Status {
    if let Some(io) = error.get_io() {
        return Status::unavailable(format!("{context}: connection failed: {io}"));
    }
    // A GOAWAY that h2 itself sent (`is_library`) means the server broke
    // HTTP/2 (e.g. sent bytes that are not frames): that is the locally
    // detected protocol violation below, INTERNAL, not a server that closed
    // the connection. Found by the mock peer's garbage-preface test.
    if error.is_go_away() && !error.is_library() {
        let reason = error.reason().map(|r| format!("{r:?}")).unwrap_or_default();
        return Status::unavailable(format!(
            "{context}: connection closed by the server (GOAWAY {reason})"
        ));
    }
    if error.is_reset()
        && let Some(reason) = error.reason()
    {
        let who = if error.is_remote() {
            "stream reset by the server"
        } else {
            "stream reset locally"
        };
        return Status::from_h2_reason(reason, &format!("{context}: {who}"));
    }
    if error.is_library() {
        return Status::internal(format!("{context}: HTTP/2 protocol error: {error}"));
    }
    Status::unavailable(format!("{context}: {error}"))
}

/// Maps a failure to connect to `target` to `UNAVAILABLE`.
pub(crate) fn status_from_connect(error: &std::io::Error, target: &str) -> Status {
    Status::unavailable(format!("failed to connect to {target}: {error}"))
}
