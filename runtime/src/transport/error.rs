//! How the transport's own failures become a [`Status`] (layer: transport).
//!
//! Owns the choice of code, message, [`Origin`] and source for a failure the
//! transport sees: an `h2::Error` on a connection or a stream, and an I/O
//! error while connecting. The codes for HTTP/2 error codes come from `wire`
//! ([`Status::from_h2_reason`]), which owns every mapping of the wire.
//!
//! gRPC's PROTOCOL-HTTP2 "Errors" section fixes most of this table:
//! a stream reset by the peer maps through its HTTP/2 error code; a
//! connection that failed, closed or went away maps to `UNAVAILABLE`; an
//! HTTP/2 protocol violation that h2 detected locally maps to `INTERNAL`.
//! Every message says what happened.
//!
//! Invariants: every status made here has origin [`Origin::Http2`] (h2
//! errors) or [`Origin::Connect`] (connecting), and keeps the error as its
//! source where it can: [`status_from_h2_owned`] keeps the `h2::Error`;
//! [`status_from_h2`] only borrows it and `h2::Error` cannot be cloned, so
//! its status has no source; [`status_from_connect`] keeps a faithful copy
//! of the `std::io::Error` (which cannot be cloned either).

use crate::status::{Origin, Status};

/// Maps an h2 error seen by one call or connection to the status its caller
/// gets, with origin [`Origin::Http2`] and no source (see
/// [`status_from_h2_owned`], which keeps the error). `context` says what
/// the call was doing, e.g. "receiving response".
pub(crate) fn status_from_h2(error: &h2::Error, context: &str) -> Status {
    classify_h2(error, context).with_origin(Origin::Http2)
}

/// [`status_from_h2`], keeping `error` as the status's source (an I/O
/// failure is reachable through it: `h2::Error::get_io`).
pub(crate) fn status_from_h2_owned(error: h2::Error, context: &str) -> Status {
    status_from_h2(&error, context).with_source(error)
}

fn classify_h2(error: &h2::Error, context: &str) -> Status {
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

/// Maps a failure to connect to `target` to `UNAVAILABLE`, with origin
/// [`Origin::Connect`] and a copy of `error` as the source (see
/// [`copy_io_error`]).
pub(crate) fn status_from_connect(error: &std::io::Error, target: &str) -> Status {
    Status::unavailable(format!("failed to connect to {target}: {error}"))
        .with_origin(Origin::Connect)
        .with_source(copy_io_error(error))
}

/// An I/O error equal to `error` for a caller: an OS error is rebuilt from
/// its code (same kind, same message, same `raw_os_error`); any other keeps
/// its kind and message. `std::io::Error` is not `Clone`, and the callers
/// of [`status_from_connect`] keep theirs.
fn copy_io_error(error: &std::io::Error) -> std::io::Error {
    match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::new(error.kind(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;
    use std::io;

    #[test]
    fn a_connect_failure_keeps_a_faithful_io_error() {
        let refused = io::Error::from_raw_os_error(111);
        let status = status_from_connect(&refused, "127.0.0.1:1");
        assert_eq!(status.origin(), Origin::Connect);
        let source = status.source().expect("a source");
        let io = source.downcast_ref::<io::Error>().expect("an io error");
        assert_eq!(io.raw_os_error(), Some(111));
        assert_eq!(io.kind(), refused.kind());
        assert_eq!(io.to_string(), refused.to_string());
        assert_eq!(
            status.message(),
            format!("failed to connect to 127.0.0.1:1: {refused}")
        );

        let custom = io::Error::new(io::ErrorKind::TimedOut, "too slow");
        let status = status_from_connect(&custom, "x");
        let io = status.source().and_then(|s| s.downcast_ref::<io::Error>());
        let io = io.expect("an io error");
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        assert_eq!(io.to_string(), "too slow");
    }

    #[test]
    fn an_h2_failure_has_origin_http2_and_the_owned_one_keeps_the_error() {
        let error = h2::Error::from(h2::Reason::PROTOCOL_ERROR);
        let borrowed = status_from_h2(&error, "ctx");
        assert_eq!(borrowed.origin(), Origin::Http2);
        assert!(borrowed.source().is_none());

        let owned = status_from_h2_owned(error, "ctx");
        assert_eq!(owned.origin(), Origin::Http2);
        assert_eq!(owned.code(), borrowed.code());
        assert_eq!(owned.message(), borrowed.message());
        let h2 = owned.source().and_then(|s| s.downcast_ref::<h2::Error>());
        assert_eq!(
            h2.and_then(h2::Error::reason),
            Some(h2::Reason::PROTOCOL_ERROR)
        );
    }
}
