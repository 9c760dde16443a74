//! gRPC status codes and the `Status` a call ends with.
//!
//! Layer: plain data, next to `metadata` (the only module it imports). It owns
//! [`Code`], [`Status`], and every mapping from something the wire or HTTP/2
//! reports into a `Status`: received `grpc-status` / `grpc-message` /
//! `grpc-status-details-bin` trailers, an HTTP status that came without a
//! `grpc-status`, and an HTTP/2 `RST_STREAM` or `GOAWAY` error code. Other
//! modules call these functions rather than choosing codes themselves, so the
//! mapping lives in one place.
//!
//! Invariants: building a `Status` from peer input never fails and never
//! panics (bad input becomes a `Status` that says what was wrong), and a
//! `Status`'s trailers never hold reserved headers.
//!
//! Specs implemented: gRPC's `doc/statuscodes.md` (codes and their names),
//! PROTOCOL-HTTP2 (`Status`, `Status-Message` percent-encoding,
//! `grpc-status-details-bin`, the "Errors" table mapping HTTP/2 error codes),
//! and `doc/http-grpc-status-mapping.md` (HTTP status to gRPC code).

use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, utf8_percent_encode};

use crate::metadata::{BASE64_BIN, Metadata};

/// A gRPC status code, as defined in gRPC's `doc/statuscodes.md`.
///
/// The discriminants are the values sent in the `grpc-status` trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// Not an error: the call succeeded.
    Ok = 0,
    /// The call was cancelled, typically by the caller.
    Cancelled = 1,
    /// An unknown error, or an error from a peer that gave no usable code.
    Unknown = 2,
    /// The client specified an invalid argument.
    InvalidArgument = 3,
    /// The deadline expired before the call could complete.
    DeadlineExceeded = 4,
    /// A requested entity was not found.
    NotFound = 5,
    /// The entity a client tried to create already exists.
    AlreadyExists = 6,
    /// The caller is not permitted to do this.
    PermissionDenied = 7,
    /// A resource (quota, message size, memory) is exhausted.
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation.
    FailedPrecondition = 9,
    /// The operation was aborted, typically due to a concurrency conflict.
    Aborted = 10,
    /// The operation went past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or supported by the server.
    Unimplemented = 12,
    /// An internal invariant was broken, in the server or in this library.
    Internal = 13,
    /// The service is currently unavailable; retrying may succeed.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request lacks valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    /// The code with wire value `v`; values outside `0..=16` give
    /// [`Code::Unknown`], as gRPC's spec asks.
    pub fn from_i32(v: i32) -> Code {
        match v {
            0 => Code::Ok,
            1 => Code::Cancelled,
            2 => Code::Unknown,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The wire value of this code.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// The canonical upper-case name, e.g. `"OK"`, `"DEADLINE_EXCEEDED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a call ended: a [`Code`], a human-readable message, optional binary
/// details (the raw `grpc-status-details-bin`, typically an encoded
/// `google.rpc.Status`), and the custom metadata of the trailers.
///
/// A `Status` with [`Code::Ok`] means success; any other code is the error
/// a failed call returns.
#[derive(Clone)]
pub struct Status {
    code: Code,
    message: String,
    details: Bytes,
    trailers: Metadata,
}

macro_rules! shorthand {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with `code` and `message`, no details and no trailers.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            details: Bytes::new(),
            trailers: Metadata::new(),
        }
    }

    /// The status of a successful call: [`Code::Ok`], empty message.
    pub fn ok() -> Status {
        Status::new(Code::Ok, "")
    }

    /// This status with its binary details replaced by `details`.
    pub fn with_details(self, details: Bytes) -> Status {
        Status { details, ..self }
    }

    /// This status with its trailing metadata replaced by `trailers`.
    pub fn with_trailers(self, trailers: Metadata) -> Status {
        Status { trailers, ..self }
    }

    /// The status code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message: from the server's `grpc-message` (already
    /// percent-decoded), or written by this library for local failures.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The binary details (`grpc-status-details-bin`, base64-decoded); empty
    /// if there were none.
    pub fn details(&self) -> &Bytes {
        &self.details
    }

    /// The custom metadata the server sent in its trailers.
    pub fn trailers(&self) -> &Metadata {
        &self.trailers
    }

    /// Whether the code is [`Code::Ok`].
    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok
    }

    shorthand! {
        /// A [`Code::Cancelled`] status with `message`.
        cancelled => Cancelled;
        /// A [`Code::Unknown`] status with `message`.
        unknown => Unknown;
        /// A [`Code::InvalidArgument`] status with `message`.
        invalid_argument => InvalidArgument;
        /// A [`Code::DeadlineExceeded`] status with `message`.
        deadline_exceeded => DeadlineExceeded;
        /// A [`Code::NotFound`] status with `message`.
        not_found => NotFound;
        /// A [`Code::ResourceExhausted`] status with `message`.
        resource_exhausted => ResourceExhausted;
        /// A [`Code::FailedPrecondition`] status with `message`.
        failed_precondition => FailedPrecondition;
        /// A [`Code::Unimplemented`] status with `message`.
        unimplemented => Unimplemented;
        /// A [`Code::Internal`] status with `message`.
        internal => Internal;
        /// A [`Code::Unavailable`] status with `message`.
        unavailable => Unavailable;
        /// A [`Code::Unauthenticated`] status with `message`.
        unauthenticated => Unauthenticated;
        /// A [`Code::PermissionDenied`] status with `message`.
        permission_denied => PermissionDenied;
    }

    /// The status for a response whose HTTP status is `status` and which
    /// carried no `grpc-status`, per gRPC's
    /// `doc/http-grpc-status-mapping.md`: 400 → INTERNAL,
    /// 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → UNIMPLEMENTED,
    /// 429, 502, 503, 504 → UNAVAILABLE, anything else → UNKNOWN.
    ///
    /// The message reads like `HTTP status 503 (no grpc-status in response)`.
    pub(crate) fn from_http_status(status: http::StatusCode) -> Status {
        let code = match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        };
        Status::new(
            code,
            format!(
                "HTTP status {} (no grpc-status in response)",
                status.as_u16()
            ),
        )
    }

    /// The status for a stream reset (`RST_STREAM`) or connection shutdown
    /// (`GOAWAY`) with HTTP/2 error code `reason`, per the "Errors" table of
    /// PROTOCOL-HTTP2: REFUSED_STREAM → UNAVAILABLE, CANCEL → CANCELLED,
    /// ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED, INADEQUATE_SECURITY →
    /// PERMISSION_DENIED; every other code, known or not, → INTERNAL.
    ///
    /// The message is `"{context}: {REASON_NAME}"`, e.g.
    /// `stream reset by server: REFUSED_STREAM`.
    pub(crate) fn from_h2_reason(reason: h2::Reason, context: &str) -> Status {
        let code = match reason {
            h2::Reason::REFUSED_STREAM => Code::Unavailable,
            h2::Reason::CANCEL => Code::Cancelled,
            h2::Reason::ENHANCE_YOUR_CALM => Code::ResourceExhausted,
            h2::Reason::INADEQUATE_SECURITY => Code::PermissionDenied,
            // NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR,
            // SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR,
            // COMPRESSION_ERROR, CONNECT_ERROR, HTTP_1_1_REQUIRED and codes
            // this version of HTTP/2 does not define.
            _ => Code::Internal,
        };
        Status::new(code, format!("{context}: {reason:?}"))
    }

    /// Reads a status from received trailers, or from the headers of a
    /// trailers-only response.
    ///
    /// Returns `None` if there is no `grpc-status`. Otherwise:
    /// - `grpc-status` gives the code; a value that is not a decimal integer
    ///   gives [`Code::Unknown`] with a message saying so, and an integer
    ///   outside the known codes gives [`Code::Unknown`] as well;
    /// - `grpc-message` is percent-decoded into the message (invalid UTF-8 is
    ///   replaced, never an error);
    /// - `grpc-status-details-bin` is base64-decoded, padded or not, into the
    ///   details; undecodable details are dropped with a debug event;
    /// - every other non-reserved entry becomes the status's trailers.
    pub(crate) fn from_header_map(headers: &http::HeaderMap) -> Option<Status> {
        let raw_status = headers.get("grpc-status")?;
        let message = headers
            .get("grpc-message")
            .map(|v| decode_grpc_message(v.as_bytes()))
            .unwrap_or_default();

        let parsed = std::str::from_utf8(raw_status.as_bytes())
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<i32>().ok());
        let (code, message) = match parsed {
            Some(v) => (Code::from_i32(v), message),
            None => {
                let shown = String::from_utf8_lossy(raw_status.as_bytes());
                let mut text = format!("invalid grpc-status {shown:?} in response");
                if !message.is_empty() {
                    text.push_str(": ");
                    text.push_str(&message);
                }
                (Code::Unknown, text)
            }
        };

        let details = match headers.get("grpc-status-details-bin") {
            None => Bytes::new(),
            Some(v) => match BASE64_BIN.decode(v.as_bytes().trim_ascii()) {
                Ok(bytes) => Bytes::from(bytes),
                Err(err) => {
                    tracing::debug!(%err, "dropping grpc-status-details-bin that is not valid base64");
                    Bytes::new()
                }
            },
        };

        Some(Status {
            code,
            message,
            details,
            trailers: Metadata::from_headers(headers),
        })
    }
}

impl Default for Status {
    /// The same as [`Status::ok`].
    fn default() -> Status {
        Status::ok()
    }
}

impl fmt::Display for Status {
    /// `status: UNAVAILABLE, message: "connection refused"`, followed by
    /// `, details: N bytes` when there are details.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status: {}, message: {:?}", self.code, self.message)?;
        if !self.details.is_empty() {
            write!(f, ", details: {} bytes", self.details.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Status")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("details_len", &self.details.len())
            .field("trailers", &self.trailers)
            .finish()
    }
}

impl std::error::Error for Status {}

/// Bytes PROTOCOL-HTTP2 asks to percent-encode in `grpc-message`: everything
/// outside `0x20..=0x7E` (`CONTROLS` covers `0x00..=0x1F` and `0x7F`; bytes
/// of non-ASCII characters are always encoded), and `%` itself.
const GRPC_MESSAGE_ENCODE: &AsciiSet = &CONTROLS.add(b'%');

/// Percent-encodes a `grpc-message` value per PROTOCOL-HTTP2: each UTF-8
/// byte outside `0x20..=0x7E`, and `%`, becomes `%XX` with uppercase hex.
///
/// ```
/// # use switchboard::status::encode_grpc_message;
/// assert_eq!(encode_grpc_message("50% off \u{e9}"), "50%25 off %C3%A9");
/// ```
pub fn encode_grpc_message(message: &str) -> String {
    utf8_percent_encode(message, GRPC_MESSAGE_ENCODE).to_string()
}

/// Decodes a received `grpc-message` value: each `%XX` becomes byte `XX`; a
/// `%` not followed by two hex digits is kept as it is (this never fails);
/// the resulting bytes are read as UTF-8, replacing invalid sequences with
/// U+FFFD.
pub fn decode_grpc_message(raw: &[u8]) -> String {
    percent_decode(raw).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, StatusCode};

    #[test]
    fn code_wire_values_and_names() {
        for v in 0..=16 {
            assert_eq!(Code::from_i32(v).as_i32(), v);
        }
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::DeadlineExceeded.as_i32(), 4);
        assert_eq!(Code::Unauthenticated.as_i32(), 16);
        assert_eq!(Code::Ok.to_string(), "OK");
        assert_eq!(Code::Cancelled.to_string(), "CANCELLED");
        assert_eq!(Code::DeadlineExceeded.as_str(), "DEADLINE_EXCEEDED");
        assert_eq!(Code::ResourceExhausted.as_str(), "RESOURCE_EXHAUSTED");
    }

    #[test]
    fn constructors_and_accessors() {
        assert!(Status::ok().is_ok());
        assert!(Status::default().is_ok());
        let s = Status::unavailable("connection refused");
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(s.message(), "connection refused");
        assert!(!s.is_ok());
        assert_eq!(Status::cancelled("x").code(), Code::Cancelled);
        assert_eq!(Status::unknown("x").code(), Code::Unknown);
        assert_eq!(Status::invalid_argument("x").code(), Code::InvalidArgument);
        assert_eq!(
            Status::deadline_exceeded("x").code(),
            Code::DeadlineExceeded
        );
        assert_eq!(Status::not_found("x").code(), Code::NotFound);
        assert_eq!(
            Status::resource_exhausted("x").code(),
            Code::ResourceExhausted
        );
        assert_eq!(
            Status::failed_precondition("x").code(),
            Code::FailedPrecondition
        );
        assert_eq!(Status::unimplemented("x").code(), Code::Unimplemented);
        assert_eq!(Status::internal("x").code(), Code::Internal);
        assert_eq!(Status::unauthenticated("x").code(), Code::Unauthenticated);
        assert_eq!(
            Status::permission_denied("x").code(),
            Code::PermissionDenied
        );

        let mut md = Metadata::new();
        md.insert("k", "v").unwrap();
        let s = s
            .with_details(Bytes::from_static(b"\x01\x02"))
            .with_trailers(md.clone());
        assert_eq!(s.details().as_ref(), b"\x01\x02");
        assert_eq!(s.trailers(), &md);
    }

    #[test]
    fn display_and_debug_are_readable() {
        let s = Status::unavailable("connection refused");
        assert_eq!(
            s.to_string(),
            r#"status: UNAVAILABLE, message: "connection refused""#
        );
        let s = s.with_details(Bytes::from_static(b"abc"));
        assert!(s.to_string().ends_with(", details: 3 bytes"));
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("Unavailable") && dbg.contains("details_len: 3"),
            "{dbg}"
        );
        let as_error: &dyn std::error::Error = &s;
        assert!(as_error.to_string().contains("UNAVAILABLE"));
    }

    #[test]
    fn grpc_message_encoding() {
        assert_eq!(encode_grpc_message("plain text ok"), "plain text ok");
        assert_eq!(encode_grpc_message("100%"), "100%25");
        assert_eq!(encode_grpc_message("a\nb\tc\x7f"), "a%0Ab%09c%7F");
        assert_eq!(encode_grpc_message("caf\u{e9}"), "caf%C3%A9");
        assert_eq!(encode_grpc_message("\u{1F600}"), "%F0%9F%98%80");
    }

    #[test]
    fn grpc_message_round_trip() {
        for msg in [
            "",
            "simple",
            "100% done",
            "%41 is not A",
            "line1\nline2\r\n",
            "caf\u{e9} \u{65e5}\u{672c} \u{1F600}",
            "\x00\x01 ~ \x7f",
        ] {
            let encoded = encode_grpc_message(msg);
            assert!(
                encoded.bytes().all(|b| (0x20..=0x7E).contains(&b)),
                "{encoded}"
            );
            assert_eq!(decode_grpc_message(encoded.as_bytes()), msg);
        }
    }

    #[test]
    fn grpc_message_decoding_is_lenient() {
        // Malformed sequences are kept literally.
        assert_eq!(decode_grpc_message(b"50% off"), "50% off");
        assert_eq!(decode_grpc_message(b"bad %ZZ end %4"), "bad %ZZ end %4");
        assert_eq!(decode_grpc_message(b"%"), "%");
        // Lowercase hex is accepted.
        assert_eq!(decode_grpc_message(b"caf%c3%a9"), "caf\u{e9}");
        // Invalid UTF-8 is replaced, not an error.
        assert_eq!(decode_grpc_message(b"x%FFy"), "x\u{FFFD}y");
    }

    #[test]
    fn http_status_mapping() {
        let cases = [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (200, Code::Unknown),
            (418, Code::Unknown),
            (500, Code::Unknown),
        ];
        for (http, code) in cases {
            let status = StatusCode::from_u16(http).unwrap();
            let s = Status::from_http_status(status);
            assert_eq!(s.code(), code, "HTTP {http}");
            assert!(s.message().contains(&http.to_string()), "{}", s.message());
        }
        assert_eq!(
            Status::from_http_status(StatusCode::SERVICE_UNAVAILABLE).message(),
            "HTTP status 503 (no grpc-status in response)"
        );
    }

    #[test]
    fn h2_reason_mapping() {
        use h2::Reason;
        let cases = [
            (Reason::NO_ERROR, Code::Internal),
            (Reason::PROTOCOL_ERROR, Code::Internal),
            (Reason::INTERNAL_ERROR, Code::Internal),
            (Reason::FLOW_CONTROL_ERROR, Code::Internal),
            (Reason::SETTINGS_TIMEOUT, Code::Internal),
            (Reason::FRAME_SIZE_ERROR, Code::Internal),
            (Reason::REFUSED_STREAM, Code::Unavailable),
            (Reason::CANCEL, Code::Cancelled),
            (Reason::COMPRESSION_ERROR, Code::Internal),
            (Reason::CONNECT_ERROR, Code::Internal),
            (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
            (Reason::INADEQUATE_SECURITY, Code::PermissionDenied),
            (Reason::from(0xFFu32), Code::Internal),
        ];
        for (reason, code) in cases {
            assert_eq!(
                Status::from_h2_reason(reason, "ctx").code(),
                code,
                "{reason:?}"
            );
        }
        assert_eq!(
            Status::from_h2_reason(Reason::REFUSED_STREAM, "stream reset by server").message(),
            "stream reset by server: REFUSED_STREAM"
        );
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn header_map_without_grpc_status_is_none() {
        assert!(Status::from_header_map(&headers(&[("grpc-message", "hi")])).is_none());
        assert!(Status::from_header_map(&HeaderMap::new()).is_none());
    }

    #[test]
    fn header_map_with_full_status() {
        let map = headers(&[
            ("content-type", "application/grpc"),
            ("grpc-status", "5"),
            ("grpc-message", "no such thing: caf%C3%A9 100%25"),
            // "\x08\x05" padded.
            ("grpc-status-details-bin", "CAU="),
            ("x-served-by", "node-1"),
            ("trace-bin", "AAEC"),
        ]);
        let s = Status::from_header_map(&map).unwrap();
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "no such thing: caf\u{e9} 100%");
        assert_eq!(s.details().as_ref(), b"\x08\x05");
        let entries: Vec<_> = s.trailers().iter().map(|(k, _)| k).collect();
        assert_eq!(entries, vec!["x-served-by", "trace-bin"]);
        assert_eq!(s.trailers().get("x-served-by"), Some("node-1"));
        assert_eq!(s.trailers().get_bin("trace-bin"), Some(&[0u8, 1, 2][..]));
    }

    #[test]
    fn header_map_details_unpadded_and_ok() {
        let s = Status::from_header_map(&headers(&[
            ("grpc-status", "0"),
            ("grpc-status-details-bin", "CAU"),
        ]))
        .unwrap();
        assert!(s.is_ok());
        assert_eq!(s.message(), "");
        assert_eq!(s.details().as_ref(), b"\x08\x05");
        assert!(s.trailers().is_empty());

        // Undecodable details are dropped, the status survives.
        let s = Status::from_header_map(&headers(&[
            ("grpc-status", "13"),
            ("grpc-status-details-bin", "!!!"),
        ]))
        .unwrap();
        assert_eq!(s.code(), Code::Internal);
        assert!(s.details().is_empty());
    }

    #[test]
    fn header_map_with_bad_grpc_status() {
        let s = Status::from_header_map(&headers(&[
            ("grpc-status", "abc"),
            ("grpc-message", "boom"),
        ]))
        .unwrap();
        assert_eq!(s.code(), Code::Unknown);
        assert!(
            s.message().contains("invalid grpc-status \"abc\""),
            "{}",
            s.message()
        );
        assert!(s.message().contains("boom"), "{}", s.message());

        for raw in ["-1", "99", "+3", "", "99999999999"] {
            let s = Status::from_header_map(&headers(&[("grpc-status", raw)])).unwrap();
            assert_eq!(s.code(), Code::Unknown, "{raw:?}");
        }
    }
}
