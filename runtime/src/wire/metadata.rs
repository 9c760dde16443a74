//! Custom metadata in HTTP/2 headers (layer: plain data, in `wire`).
//!
//! Owns writing [`Metadata`] into a request's headers and reading it out of
//! a response's headers and trailers, per the `Custom-Metadata` rules of
//! gRPC's PROTOCOL-HTTP2: binary (`-bin`) values travel base64-encoded (sent
//! unpadded, accepted padded or unpadded), several values of one binary key
//! may arrive joined by `,`, and reserved headers (`grpc-*`, pseudo headers,
//! `content-type`, `te`, connection-level headers) are never reported as
//! metadata. Which keys are reserved and which characters are allowed is
//! `metadata`'s rule; this module applies it.
//!
//! Invariant: reading a peer's headers never fails and never panics; an
//! entry that breaks the rules is dropped with a `tracing` debug event.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::metadata::{
    BASE64_BIN, BINARY_SUFFIX, Metadata, MetadataValue, is_printable_ascii, is_reserved,
    key_problem,
};

impl Metadata {
    /// Writes every entry into an outgoing header map, appending to (never
    /// replacing) what is already there. Binary values are base64-encoded with
    /// the standard alphabet and no padding.
    pub(crate) fn write_to(&self, headers: &mut HeaderMap) {
        for (key, value) in self.iter() {
            // Keys and ASCII values were validated on the way in, so neither
            // conversion can fail; if one ever did, dropping the entry beats
            // panicking on a user's call.
            let Ok(name) = HeaderName::from_bytes(key.as_bytes()) else {
                tracing::debug!(key = %key, "dropping metadata entry with an unencodable key");
                continue;
            };
            let header_value = match value {
                MetadataValue::Ascii(s) => HeaderValue::from_str(s),
                MetadataValue::Binary(b) => HeaderValue::from_str(&BASE64_BIN.encode(b)),
            };
            match header_value {
                Ok(v) => {
                    headers.append(name, v);
                }
                Err(_) => {
                    tracing::debug!(key = %key, "dropping metadata entry with an unencodable value");
                }
            }
        }
    }

    /// Reads custom metadata out of received headers or trailers.
    ///
    /// Skips pseudo headers, every `grpc-*` header (`grpc-status`,
    /// `grpc-message`, `grpc-status-details-bin`, `grpc-encoding`,
    /// `grpc-timeout`, ...), `content-type`, `te` and connection-level headers.
    /// Binary values are base64-decoded, padded or not; a binary header whose
    /// value is several base64 strings joined by `,` gives one entry each.
    /// An entry with an invalid key, a non-printable ASCII value or bad base64
    /// is dropped with a `tracing` debug event; this never fails or panics.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Metadata {
        let mut md = Metadata::new();
        for (name, value) in headers {
            let key = name.as_str();
            if is_reserved(key) {
                continue;
            }
            if let Some(reason) = key_problem(key) {
                tracing::debug!(
                    key,
                    reason,
                    "dropping received metadata entry with an invalid key"
                );
                continue;
            }
            if key.ends_with(BINARY_SUFFIX) {
                for part in value.as_bytes().split(|&b| b == b',') {
                    match BASE64_BIN.decode(part.trim_ascii()) {
                        Ok(bytes) => md.append_checked_binary(key, Bytes::from(bytes)),
                        Err(err) => {
                            tracing::debug!(key, %err, "dropping received binary metadata value that is not valid base64");
                        }
                    }
                }
            } else {
                match std::str::from_utf8(value.as_bytes()) {
                    Ok(text) if is_printable_ascii(text) => md.append_checked_ascii(key, text),
                    _ => {
                        tracing::debug!(
                            key,
                            "dropping received metadata value that is not printable ASCII"
                        );
                    }
                }
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T, crate::metadata::MetadataError>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    #[test]
    fn binary_round_trip_through_headers() {
        let mut md = Metadata::new();
        ok(md.append("x-plain", "hello world"));
        ok(md.append_bin("blob-bin", vec![0u8, 1, 2, 253, 254, 255]));
        ok(md.append_bin("blob-bin", vec![0xFFu8]));
        ok(md.append_bin("empty-bin", Bytes::new()));

        let mut headers = HeaderMap::new();
        md.write_to(&mut headers);
        // Sent unpadded, standard alphabet.
        let sent: Vec<_> = headers.get_all("blob-bin").iter().collect();
        assert_eq!(sent, vec!["AAEC/f7/", "/w"]);

        let back = Metadata::from_headers(&headers);
        assert_eq!(back, md);
    }

    #[test]
    fn from_headers_accepts_padding_and_joined_values() {
        let mut headers = HeaderMap::new();
        headers.append("a-bin", HeaderValue::from_static("/w=="));
        headers.append("b-bin", HeaderValue::from_static("/w, AAE="));
        let md = Metadata::from_headers(&headers);
        assert_eq!(md.get_bin("a-bin"), Some(&[0xFFu8][..]));
        let b: Vec<_> = md.get_all("b-bin").map(MetadataValue::as_bytes).collect();
        assert_eq!(b, vec![&[0xFFu8][..], &[0u8, 1][..]]);
    }

    #[test]
    fn from_headers_skips_reserved_and_invalid_entries() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("grpc-status", "0"),
            ("grpc-message", "hi"),
            ("grpc-status-details-bin", "AAE"),
            ("grpc-encoding", "gzip"),
            ("grpc-accept-encoding", "gzip"),
            ("grpc-timeout", "1S"),
            ("connection", "close"),
            ("bad-bin", "not base64!"),
            ("we!rd", "x"),
            ("kept", "yes"),
        ] {
            headers.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        headers.append("latin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.append("tab", HeaderValue::from_bytes(b"a\tb").unwrap());
        let md = Metadata::from_headers(&headers);
        let entries: Vec<_> = md.iter().collect();
        assert_eq!(entries, vec![("kept", MetadataValue::Ascii("yes"))]);
    }
}
