//! What HTTP and HTTP/2 report, mapped to a [`Code`] (layer: plain data, in
//! `wire`).
//!
//! Owns two tables: an HTTP status that came without `grpc-status` (gRPC's
//! `doc/http-grpc-status-mapping.md`), and an HTTP/2 error code from
//! `RST_STREAM` or `GOAWAY` (the "Errors" section of gRPC's PROTOCOL-HTTP2).
//! Both always give a status: a value neither table names maps to the
//! fallback its spec gives.

use crate::status::{Code, Origin, Status};

impl Status {
    /// The status for a response whose HTTP status is `status` and which
    /// carried no `grpc-status`, per gRPC's
    /// `doc/http-grpc-status-mapping.md`: 400 → INTERNAL,
    /// 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → UNIMPLEMENTED,
    /// 429, 502, 503, 504 → UNAVAILABLE, anything else → UNKNOWN.
    ///
    /// The message reads like `HTTP status 503 (no grpc-status in response)`.
    /// The origin is [`Origin::Server`]: the peer (or a proxy in front of
    /// it) answered.
    pub(crate) fn from_http_status(status: ::http::StatusCode) -> Status {
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
        .with_origin(Origin::Server)
    }

    /// The status for a stream reset (`RST_STREAM`) or connection shutdown
    /// (`GOAWAY`) with HTTP/2 error code `reason`, per the "Errors" table of
    /// PROTOCOL-HTTP2: REFUSED_STREAM → UNAVAILABLE, CANCEL → CANCELLED,
    /// ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED, INADEQUATE_SECURITY →
    /// PERMISSION_DENIED; every other code, known or not, → INTERNAL.
    ///
    /// The message is `"{context}: {REASON_NAME}"`, e.g.
    /// `stream reset by server: REFUSED_STREAM`. The origin is
    /// [`Origin::Http2`]; the caller attaches the `h2::Error` as the source
    /// if it has one to give.
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
        Status::new(code, format!("{context}: {reason:?}")).with_origin(Origin::Http2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::StatusCode;

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

    #[test]
    fn mapped_statuses_say_where_they_came_from() {
        let s = Status::from_http_status(StatusCode::BAD_GATEWAY);
        assert_eq!(s.origin(), Origin::Server);
        let s = Status::from_h2_reason(h2::Reason::CANCEL, "ctx");
        assert_eq!(s.origin(), Origin::Http2);
        assert!(std::error::Error::source(&s).is_none());
    }
}
