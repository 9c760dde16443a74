//! A call's end as the server sends it, read out of trailers (layer: plain
//! data, in `wire`).
//!
//! Owns reading `grpc-status`, `grpc-message` and `grpc-status-details-bin`
//! (PROTOCOL-HTTP2's `Status`, `Status-Message` and the details trailer)
//! from received trailers or from the headers of a trailers-only response.
//! Never fails and never panics: a malformed `grpc-status` becomes UNKNOWN
//! with a message saying so, undecodable details are dropped.

use base64::Engine as _;
use bytes::Bytes;

use crate::metadata::{BASE64_BIN, Metadata};
use crate::status::{Code, Origin, Status, decode_grpc_message};

impl Status {
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
    /// - every other non-reserved entry becomes the status's trailers;
    /// - the origin is [`Origin::Server`], and there is no source.
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

        Some(
            Status::new(code, message)
                .with_details(details)
                .with_trailers(Metadata::from_headers(headers))
                .with_origin(Origin::Server),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

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

    #[test]
    fn a_status_read_from_trailers_comes_from_the_server() {
        for raw in ["0", "14", "abc"] {
            let s = Status::from_header_map(&headers(&[("grpc-status", raw)])).unwrap();
            assert_eq!(s.origin(), Origin::Server, "{raw:?}");
            assert!(std::error::Error::source(&s).is_none());
        }
    }
}
