//! The request headers of one call (layer: call).
//!
//! Owns [`build_request`], a pure function from what a call knows (method
//! path, the connection's scheme, authority and user agent, the message
//! encoding, the time left before the deadline, the caller's metadata) to
//! the `HEADERS` of PROTOCOL-HTTP2's "Requests": `:method POST`, `:scheme`,
//! `:path`, `:authority`, `content-type: application/grpc`, `te: trailers`,
//! `user-agent`, `grpc-accept-encoding`, `grpc-encoding` (only when
//! messages are compressed), `grpc-timeout` (only with a deadline), then
//! the custom metadata. It reads no clock and touches no connection.

use std::time::Duration;

use bytes::Bytes;
// Names built with `from_static`: a `&str` name that is not a standard
// header is copied into a new allocation on every insert.
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, TE, USER_AGENT};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri};

use crate::compression::{ACCEPT_ENCODING, Encoding};
use crate::deadline::encode_grpc_timeout;
use crate::metadata::Metadata;
use crate::status::Status;

/// What the request headers of one call are made of.
pub(super) struct RequestHead<'a> {
    /// The method's path, `/package.Service/Method`.
    pub(super) path: &'static str,
    /// The connection's scheme.
    pub(super) scheme: &'a Scheme,
    /// The connection's `:authority`.
    pub(super) authority: &'a Authority,
    /// The channel's `user-agent`.
    pub(super) user_agent: &'a HeaderValue,
    /// How request messages are compressed, if at all (`grpc-encoding`).
    pub(super) encoding: Option<Encoding>,
    /// The time left before the call's deadline, if it has one
    /// (`grpc-timeout`).
    pub(super) timeout: Option<Duration>,
    /// The caller's request metadata.
    pub(super) metadata: &'a Metadata,
}

/// The request headers for `head`; INTERNAL if the path or the URI it makes
/// is not valid.
pub(super) fn build_request(head: &RequestHead<'_>) -> Result<Request<()>, Status> {
    let path = PathAndQuery::from_maybe_shared(Bytes::from_static(head.path.as_bytes()))
        .map_err(|e| Status::internal(format!("invalid method path {:?}: {e}", head.path)))?;
    let uri = Uri::builder()
        .scheme(head.scheme.clone())
        .authority(head.authority.clone())
        .path_and_query(path)
        .build()
        .map_err(|e| Status::internal(format!("invalid request URI: {e}")))?;
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert(TE, HeaderValue::from_static("trailers"));
    headers.insert(USER_AGENT, head.user_agent.clone());
    headers.insert(
        HeaderName::from_static("grpc-accept-encoding"),
        HeaderValue::from_static(ACCEPT_ENCODING),
    );
    if let Some(encoding) = head.encoding {
        headers.insert(
            HeaderName::from_static("grpc-encoding"),
            HeaderValue::from_static(encoding.name()),
        );
    }
    if let Some(timeout) = head.timeout {
        let timeout = encode_grpc_timeout(timeout);
        if let Ok(value) = HeaderValue::from_str(&timeout) {
            headers.insert(HeaderName::from_static("grpc-timeout"), value);
        }
    }
    head.metadata.write_to(headers);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    /// Builds the request for `path` on `http://example.test:50051` with
    /// `encoding`, `timeout` and `metadata`.
    fn build(
        path: &'static str,
        encoding: Option<Encoding>,
        timeout: Option<Duration>,
        metadata: &Metadata,
    ) -> Result<Request<()>, Status> {
        let scheme = Scheme::HTTP;
        let authority = Authority::from_static("example.test:50051");
        let user_agent = HeaderValue::from_static("switchboard-test/1.0");
        build_request(&RequestHead {
            path,
            scheme: &scheme,
            authority: &authority,
            user_agent: &user_agent,
            encoding,
            timeout,
            metadata,
        })
    }

    fn header<'a>(request: &'a Request<()>, name: &str) -> Option<&'a str> {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("<not ASCII>"))
    }

    #[test]
    fn required_headers_are_present_and_exact() {
        let request = build("/pkg.Greeter/SayHello", None, None, &Metadata::new()).unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri().scheme_str(), Some("http"));
        assert_eq!(
            request.uri().authority().map(|a| a.as_str()),
            Some("example.test:50051")
        );
        assert_eq!(request.uri().path(), "/pkg.Greeter/SayHello");
        assert_eq!(header(&request, "content-type"), Some("application/grpc"));
        assert_eq!(header(&request, "te"), Some("trailers"));
        assert_eq!(header(&request, "user-agent"), Some("switchboard-test/1.0"));
        assert_eq!(header(&request, "grpc-accept-encoding"), Some("gzip"));
        assert_eq!(request.headers().len(), 4, "{:?}", request.headers());
    }

    #[test]
    fn grpc_encoding_is_sent_only_when_set() {
        let plain = build("/a/b", None, None, &Metadata::new()).unwrap();
        assert_eq!(header(&plain, "grpc-encoding"), None);
        let gzip = build("/a/b", Some(Encoding::Gzip), None, &Metadata::new()).unwrap();
        assert_eq!(header(&gzip, "grpc-encoding"), Some("gzip"));
    }

    #[test]
    fn grpc_timeout_is_sent_only_with_a_deadline() {
        let none = build("/a/b", None, None, &Metadata::new()).unwrap();
        assert_eq!(header(&none, "grpc-timeout"), None);
        let timeout = Some(Duration::from_millis(1500));
        let some = build("/a/b", None, timeout, &Metadata::new()).unwrap();
        assert_eq!(header(&some, "grpc-timeout"), Some("1500000u"));
    }

    #[test]
    fn custom_metadata_is_written() {
        let mut metadata = Metadata::new();
        metadata.insert("x-request-id", "42").unwrap();
        metadata.insert_bin("trace-bin", &b"\x00\x01"[..]).unwrap();
        let request = build("/a/b", None, None, &metadata).unwrap();
        assert_eq!(header(&request, "x-request-id"), Some("42"));
        assert_eq!(header(&request, "trace-bin"), Some("AAE"));
        assert_eq!(header(&request, "content-type"), Some("application/grpc"));
    }

    #[test]
    fn a_bad_path_is_internal() {
        let status = build("/a b/\n", None, None, &Metadata::new()).unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status
                .message()
                .starts_with("invalid method path \"/a b/\\n\": "),
            "{}",
            status.message()
        );
    }
}
