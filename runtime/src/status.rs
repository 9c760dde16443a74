//! gRPC status codes and the `Status` a call ends with.
//!
//! Layer: plain data, next to `metadata` (the only module it imports). It owns
//! the types: [`Code`], [`Status`] (code, message, details, trailers, and
//! where the failure came from: its [`Origin`] and, through
//! [`std::error::Error::source`], the error that caused it), and the text form
//! of `grpc-message` ([`encode_grpc_message`], [`decode_grpc_message`]).
//!
//! It does not map the wire: reading `grpc-status` / `grpc-message` /
//! `grpc-status-details-bin` out of trailers, and mapping an HTTP status or an
//! HTTP/2 error code to a [`Code`], live in `wire`, whose `impl Status` block
//! adds `from_header_map`, `from_http_status` and `from_h2_reason`. The
//! transport's I/O and h2 failures become a `Status` in `transport::error`.
//!
//! Invariants: a `Status` is cheap to clone and `Send + Sync` (the source is
//! shared, never copied), and its trailers never hold reserved headers.
//!
//! Specs implemented: gRPC's `doc/statuscodes.md` (codes and their names) and
//! PROTOCOL-HTTP2's `Status-Message` percent-encoding.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode, utf8_percent_encode};

use crate::metadata::Metadata;

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
///
/// A failed call also says where it failed: [`Status::origin`] tells name
/// resolution, connecting, TLS, HTTP/2, the server and this library apart,
/// and [`std::error::Error::source`] gives the error that caused it, if
/// there was one (an [`std::io::Error`] from connecting, an `h2::Error` from
/// the HTTP/2 connection). The message already describes that error, so
/// `Display` does not repeat it.
///
/// `Status` does not implement `PartialEq`: compare [`Status::code`],
/// [`Status::message`] and [`Status::origin`] instead.
///
/// ```
/// # use switchboard::Status;
/// use std::error::Error as _;
/// use switchboard::status::Origin;
///
/// # let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// # let status = Status::unavailable("failed to connect").with_origin(Origin::Connect).with_source(refused);
/// // `status` is the error of a failed call.
/// if status.origin() == Origin::Connect {
///     let mut cause = status.source();
///     while let Some(error) = cause {
///         if let Some(io) = error.downcast_ref::<std::io::Error>() {
///             assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
///         }
///         cause = error.source();
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Status {
    code: Code,
    message: String,
    details: Bytes,
    trailers: Metadata,
    origin: Origin,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

/// Where a failed call failed: which step of reaching the server, or the
/// server itself, or this library. Read it with [`Status::origin`].
///
/// Use it to tell failures apart without parsing messages: a name that does
/// not resolve, a server that is not listening, a connection that broke, and
/// an answer the server chose can all be `UNAVAILABLE`. This is what tonic's
/// issue #1608 asks for ("distinguish between DNS errors, TCP connection
/// error and HTTP/2 connection error", where tonic reports only
/// "transport error"); here each of those has its own variant, and
/// [`std::error::Error::source`] gives the underlying error.
///
/// The transport sets `Resolve`, `Connect`, `Tls` and `Http2`, reading the server's trailers sets `Server`; every other status
/// is `Local`, the default, including one built with [`Status::new`].
/// New variants may be added (for example when the channel gains resolvers
/// of its own), so a `match` needs a wildcard arm.
///
/// ```
/// # use switchboard::Status;
/// use switchboard::status::Origin;
///
/// fn worth_alerting(status: &Status) -> bool {
///     match status.origin() {
///         // Misconfiguration or an outage of DNS, the network or the server.
///         Origin::Resolve | Origin::Connect | Origin::Tls => true,
///         // The server answered: its code says what happened.
///         Origin::Server => false,
///         _ => false,
///     }
/// }
/// assert!(!worth_alerting(&Status::unavailable("made up")));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Resolving the target's host name failed (the system resolver found no
    /// address, or could not be asked). The source, if any, is the
    /// [`std::io::Error`] the resolver returned. Check the target's name;
    /// retry if the resolver may be overloaded.
    Resolve,
    /// Opening the TCP connection or the Unix socket failed: nothing listens
    /// there, the host is unreachable, or the attempt timed out. The source
    /// is the [`std::io::Error`] (e.g. of kind `ConnectionRefused` or
    /// `TimedOut`). The server never saw the call; retrying later may work.
    Connect,
    /// The TLS handshake or the TLS session failed: the server's
    /// certificate was refused (unknown issuer, expired, not valid for the
    /// name), the server refused ours or required one, or the server did not
    /// agree on ALPN `h2`. The message says which and what to change; the
    /// source is the `rustls::Error`. Retrying rarely helps: check
    /// certificates and configuration.
    Tls,
    /// The HTTP/2 connection or the call's stream failed after the socket was
    /// open: the peer reset the stream (`RST_STREAM`) or closed the
    /// connection (`GOAWAY`), a peer broke the HTTP/2 protocol, or the
    /// connection's I/O failed. The source, when the transport had it to
    /// keep, is the `h2::Error`; an I/O failure is reachable through it
    /// (`h2::Error::get_io`). The server may or may not have processed the
    /// call.
    Http2,
    /// The server answered with this status: its `grpc-status` (and
    /// `grpc-message`, details, trailers) in the trailers or in a
    /// trailers-only response, or, lacking a `grpc-status`, an HTTP status
    /// mapped to a code (then the answer may come from a proxy in front of
    /// the server). Treat it by its [`Code`]. There is no source.
    Server,
    /// This library ended the call, or the status was made by code that set
    /// no origin: the deadline passed, the call was cancelled, a local check
    /// failed (a message too large, a response that breaks gRPC's rules such
    /// as trailers without `grpc-status`), or the channel shut down. The
    /// default for [`Status::new`] and every shorthand constructor.
    #[default]
    Local,
}

impl Origin {
    /// A short lowercase name for logs: `"resolve"`, `"connect"`, `"tls"`,
    /// `"http2"`, `"server"` or `"local"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Resolve => "resolve",
            Origin::Connect => "connect",
            Origin::Tls => "tls",
            Origin::Http2 => "http2",
            Origin::Server => "server",
            Origin::Local => "local",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// A status with `code` and `message`, no details, no trailers, no
    /// source, and origin [`Origin::Local`].
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            details: Bytes::new(),
            trailers: Metadata::new(),
            origin: Origin::Local,
            source: None,
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

    /// This status with `source` as the error that caused it, replacing any
    /// source it had; [`std::error::Error::source`] returns it. Cloning the
    /// status shares the source.
    ///
    /// The message should still say what happened: `Display` shows the
    /// message, not the source.
    ///
    /// ```
    /// # use switchboard::Status;
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::Other, "disk on fire");
    /// let status = Status::internal("could not read the request").with_source(io);
    /// let source = status.source().expect("a source");
    /// assert!(source.downcast_ref::<std::io::Error>().is_some());
    /// ```
    pub fn with_source(self, source: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Status {
        Status {
            source: Some(Arc::from(source.into())),
            ..self
        }
    }

    /// This status with its [`Origin`] replaced by `origin`.
    ///
    /// The transport and the wire parsing set it; code that makes statuses
    /// of its own (a test double of a channel, an interceptor) may set it
    /// to look like a failure from that step.
    ///
    /// ```
    /// # use switchboard::Status;
    /// use switchboard::status::Origin;
    ///
    /// let status = Status::unavailable("no route").with_origin(Origin::Connect);
    /// assert_eq!(status.origin(), Origin::Connect);
    /// ```
    pub fn with_origin(self, origin: Origin) -> Status {
        Status { origin, ..self }
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

    /// Where the failure came from; [`Origin::Local`] unless the transport or
    /// the server's trailers said otherwise (see [`Origin`]).
    pub fn origin(&self) -> Origin {
        self.origin
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
            .field("origin", &self.origin)
            .field("source", &self.source)
            .finish()
    }
}

impl Error for Status {
    /// The error that caused this status, if it kept one (see
    /// [`Status::with_source`] and [`Origin`] for which ones do).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.source {
            Some(source) => Some(&**source),
            None => None,
        }
    }
}

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
    fn origin_defaults_to_local_and_survives_the_builders() {
        assert_eq!(Status::ok().origin(), Origin::Local);
        assert_eq!(Status::unavailable("x").origin(), Origin::Local);
        assert_eq!(Status::default().origin(), Origin::Local);
        assert_eq!(Origin::default(), Origin::Local);
        let s = Status::unavailable("x")
            .with_origin(Origin::Http2)
            .with_details(Bytes::from_static(b"d"))
            .with_trailers(Metadata::new());
        assert_eq!(s.origin(), Origin::Http2);
        assert_eq!(s.clone().origin(), Origin::Http2);
        let names: Vec<_> = [
            Origin::Resolve,
            Origin::Connect,
            Origin::Tls,
            Origin::Http2,
            Origin::Server,
            Origin::Local,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            names,
            ["resolve", "connect", "tls", "http2", "server", "local"]
        );
    }

    #[test]
    fn source_is_kept_shared_and_walkable() {
        let s = Status::unavailable("x");
        assert!(s.source().is_none());

        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let s = s.with_origin(Origin::Connect).with_source(io);
        let clone = s.clone();
        for status in [&s, &clone] {
            let source = status.source().expect("a source");
            let io = source
                .downcast_ref::<std::io::Error>()
                .expect("an io error");
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        // The clone shares the source rather than copying it.
        let (Some(a), Some(b)) = (&s.source, &clone.source) else {
            panic!("both have a source");
        };
        assert!(Arc::ptr_eq(a, b));
        // A boxed error works too, and replaces the source.
        let boxed: Box<dyn Error + Send + Sync> = "replaced".into();
        let s = s.with_source(boxed);
        assert_eq!(s.source().map(ToString::to_string), Some("replaced".into()));
        // Display shows the message only; Debug shows origin and source.
        assert_eq!(s.to_string(), r#"status: UNAVAILABLE, message: "x""#);
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("origin: Connect") && dbg.contains("replaced"),
            "{dbg}"
        );
    }

    #[test]
    fn status_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<Status>();
        assert_traits::<Origin>();
    }
}
