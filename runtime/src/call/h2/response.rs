//! The response headers of one call, read (layer: call).
//!
//! Owns [`parse_response_head`], a pure function from the HTTP status and
//! the headers of a response's first `HEADERS` frame to what the reader does
//! next ([`ResponseHead`]), per PROTOCOL-HTTP2's "Responses": a
//! trailers-only response (`grpc-status` in the headers) ends the call; an
//! HTTP status other than 200 without `grpc-status` maps to a code
//! (`doc/http-grpc-status-mapping.md`); a content type other than
//! `application/grpc[+…]` is UNKNOWN; otherwise messages follow, in the
//! `grpc-encoding` the headers name.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};

use crate::compression::Encoding;
use crate::metadata::Metadata;
use crate::status::Status;

/// What a response's headers say the reader does next.
pub(super) enum ResponseHead {
    /// A trailers-only response: the server ended the call in its headers.
    TrailersOnly {
        /// The call's status, from `grpc-status`.
        status: Status,
        /// The call's trailers.
        trailers: Metadata,
    },
    /// Not a gRPC response: the call fails here with this status.
    NotGrpc(Status),
    /// Response headers: messages and trailers follow.
    Headers {
        /// The response headers (initial metadata) for the listener.
        metadata: Metadata,
        /// How the response messages are compressed, or why they cannot be
        /// read (an unknown or non-ASCII `grpc-encoding`): that fails the
        /// call at its first compressed message.
        encoding: Result<Option<Encoding>, Status>,
    },
}

/// Reads a response's HTTP `status` and first `headers`.
pub(super) fn parse_response_head(status: StatusCode, headers: &HeaderMap) -> ResponseHead {
    // Trailers-only: grpc-status in the one HEADERS frame.
    if let Some(status) = Status::from_header_map(headers) {
        let trailers = status.trailers().clone();
        return ResponseHead::TrailersOnly { status, trailers };
    }
    if status != StatusCode::OK {
        return ResponseHead::NotGrpc(Status::from_http_status(status));
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/grpc") {
        return ResponseHead::NotGrpc(Status::unknown(format!(
            "server replied with content-type {content_type:?}, not application/grpc"
        )));
    }
    let encoding = match headers.get("grpc-encoding").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(name)) => Encoding::from_name(name),
        Some(Err(_)) => Err(Status::internal("grpc-encoding is not ASCII")),
    };
    ResponseHead::Headers {
        metadata: Metadata::from_headers(headers),
        encoding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;
    use http::HeaderValue;

    /// A header map of `pairs`.
    fn headers(pairs: &[(&'static str, &'static [u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    /// The status a head ends the call with, or panics.
    fn ended(head: ResponseHead) -> Status {
        match head {
            ResponseHead::NotGrpc(status) => status,
            ResponseHead::TrailersOnly { .. } => panic!("trailers-only, expected a failure"),
            ResponseHead::Headers { .. } => panic!("headers, expected a failure"),
        }
    }

    /// The metadata and encoding of a head with messages to follow, or
    /// panics.
    fn messages_follow(head: ResponseHead) -> (Metadata, Result<Option<Encoding>, Status>) {
        match head {
            ResponseHead::Headers { metadata, encoding } => (metadata, encoding),
            ResponseHead::TrailersOnly { status, .. } => panic!("trailers-only: {status}"),
            ResponseHead::NotGrpc(status) => panic!("not gRPC: {status}"),
        }
    }

    #[test]
    fn trailers_only_with_grpc_status_is_a_close() {
        let map = headers(&[
            ("content-type", b"application/grpc"),
            ("grpc-status", b"5"),
            ("grpc-message", b"no%20such%20thing"),
            ("x-why", b"because"),
        ]);
        let ResponseHead::TrailersOnly { status, trailers } =
            parse_response_head(StatusCode::OK, &map)
        else {
            panic!("expected trailers-only");
        };
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "no such thing");
        assert_eq!(trailers.get("x-why"), Some("because"));
    }

    #[test]
    fn grpc_status_wins_over_a_non_200_http_status() {
        let map = headers(&[("grpc-status", b"14")]);
        let head = parse_response_head(StatusCode::SERVICE_UNAVAILABLE, &map);
        let ResponseHead::TrailersOnly { status, .. } = head else {
            panic!("expected trailers-only");
        };
        assert_eq!(status.code(), Code::Unavailable);
    }

    #[test]
    fn a_non_200_http_status_is_mapped() {
        let map = headers(&[("content-type", b"text/html")]);
        for (http, code) in [
            (StatusCode::BAD_REQUEST, Code::Internal),
            (StatusCode::UNAUTHORIZED, Code::Unauthenticated),
            (StatusCode::FORBIDDEN, Code::PermissionDenied),
            (StatusCode::NOT_FOUND, Code::Unimplemented),
            (StatusCode::SERVICE_UNAVAILABLE, Code::Unavailable),
            (StatusCode::IM_A_TEAPOT, Code::Unknown),
        ] {
            let status = ended(parse_response_head(http, &map));
            assert_eq!(status.code(), code, "{http}");
            assert_eq!(
                status.message(),
                format!("HTTP status {} (no grpc-status in response)", http.as_u16())
            );
        }
    }

    #[test]
    fn another_content_type_is_unknown() {
        let map = headers(&[("content-type", b"text/html; charset=utf-8")]);
        let status = ended(parse_response_head(StatusCode::OK, &map));
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(
            status.message(),
            "server replied with content-type \"text/html; charset=utf-8\", not application/grpc"
        );
        let status = ended(parse_response_head(StatusCode::OK, &HeaderMap::new()));
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(
            status.message(),
            "server replied with content-type \"\", not application/grpc"
        );
    }

    #[test]
    fn grpc_headers_carry_metadata_and_no_encoding() {
        let map = headers(&[
            ("content-type", b"application/grpc+proto"),
            ("x-served-by", b"a"),
        ]);
        let (metadata, encoding) = messages_follow(parse_response_head(StatusCode::OK, &map));
        assert_eq!(metadata.get("x-served-by"), Some("a"));
        assert_eq!(metadata.len(), 1, "content-type is not metadata");
        assert_eq!(encoding.unwrap(), None);
    }

    #[test]
    fn grpc_encoding_is_parsed() {
        let map = headers(&[
            ("content-type", b"application/grpc"),
            ("grpc-encoding", b"gzip"),
        ]);
        let (_, encoding) = messages_follow(parse_response_head(StatusCode::OK, &map));
        assert_eq!(encoding.unwrap(), Some(Encoding::Gzip));
        let map = headers(&[
            ("content-type", b"application/grpc"),
            ("grpc-encoding", b"identity"),
        ]);
        let (_, encoding) = messages_follow(parse_response_head(StatusCode::OK, &map));
        assert_eq!(encoding.unwrap(), None);
    }

    #[test]
    fn an_unknown_grpc_encoding_is_unimplemented() {
        let map = headers(&[
            ("content-type", b"application/grpc"),
            ("grpc-encoding", b"br"),
        ]);
        let (_, encoding) = messages_follow(parse_response_head(StatusCode::OK, &map));
        let status = encoding.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(
            status.message(),
            "compression \"br\" is not supported (switchboard supports gzip)"
        );
    }

    #[test]
    fn a_non_ascii_grpc_encoding_is_internal() {
        let map = headers(&[
            ("content-type", b"application/grpc"),
            ("grpc-encoding", b"gz\xc3\xadp"),
        ]);
        let (_, encoding) = messages_follow(parse_response_head(StatusCode::OK, &map));
        let status = encoding.unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "grpc-encoding is not ASCII");
    }
}
