//! Message compression (layer: codec, beside the framing).
//!
//! Owns the encodings switchboard speaks (`identity` and `gzip`, per gRPC's
//! compression doc), their names on the wire (`grpc-encoding`,
//! `grpc-accept-encoding`), and compressing and decompressing one message.
//!
//! Invariant: decompression never produces more than the inbound limit. It
//! reads at most `limit + 1` bytes out of the decoder and fails with
//! `RESOURCE_EXHAUSTED` past the limit, so a small compressed "zip bomb"
//! cannot make the client allocate more than the limit.

use std::io::{Read, Write};

use bytes::Bytes;

use crate::status::Status;

/// A message encoding switchboard can send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// gzip (RFC 1952).
    Gzip,
}

/// The `grpc-accept-encoding` value switchboard sends on every call.
pub(crate) const ACCEPT_ENCODING: &str = "gzip";

impl Encoding {
    /// Parses a `grpc-encoding` name; `Ok(None)` for `identity`.
    pub fn from_name(name: &str) -> Result<Option<Encoding>, Status> {
        match name.trim() {
            "identity" | "" => Ok(None),
            "gzip" => Ok(Some(Encoding::Gzip)),
            other => Err(Status::unimplemented(format!(
                "compression {other:?} is not supported (switchboard supports gzip)"
            ))),
        }
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
        }
    }

    /// Compresses one message body, appending to `dst`.
    pub(crate) fn compress(self, src: &[u8], dst: &mut Vec<u8>) -> Result<(), Status> {
        match self {
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(dst, flate2::Compression::fast());
                encoder
                    .write_all(src)
                    .and_then(|()| encoder.try_finish())
                    .map_err(|e| Status::internal(format!("gzip compression failed: {e}")))
            }
        }
    }

    /// Decompresses one message body, refusing to produce more than `limit`
    /// bytes.
    pub(crate) fn decompress(self, src: &[u8], limit: usize) -> Result<Bytes, Status> {
        match self {
            Encoding::Gzip => {
                let decoder = flate2::read::GzDecoder::new(src);
                let mut out = Vec::with_capacity(src.len().saturating_mul(2).min(limit));
                // One byte past the limit tells "at the limit" from "over it";
                // saturating, as an unlimited `usize::MAX` has no byte past it.
                let most = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
                decoder.take(most).read_to_end(&mut out).map_err(|e| {
                    Status::internal(format!("failed to decompress a gzip message: {e}"))
                })?;
                if out.len() > limit {
                    return Err(Status::resource_exhausted(format!(
                        "decompressed message is larger than the inbound limit of {limit} bytes"
                    )));
                }
                Ok(Bytes::from(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    #[test]
    fn gzip_round_trip() {
        let body = b"hello hello hello hello".repeat(10);
        let mut compressed = Vec::new();
        Encoding::Gzip.compress(&body, &mut compressed).unwrap();
        assert!(compressed.len() < body.len());
        assert_eq!(
            Encoding::Gzip.decompress(&compressed, 1 << 20).unwrap(),
            body
        );
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        // 64 MiB of zeros compress to ~64 KiB.
        let zeros = vec![0u8; 64 << 20];
        let mut bomb = Vec::new();
        Encoding::Gzip.compress(&zeros, &mut bomb).unwrap();
        assert!(bomb.len() < 1 << 20);
        let err = Encoding::Gzip.decompress(&bomb, 4 << 20).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
    }

    #[test]
    fn an_unlimited_limit_decompresses_the_whole_body() {
        // Fuzz finding (deframe_gzip, limit usize::MAX): `limit + 1`
        // overflowed: a panic with overflow checks, and without them a read
        // limit of 0 bytes, so every message decompressed as empty.
        let body = b"not empty".repeat(3);
        let mut compressed = Vec::new();
        Encoding::Gzip.compress(&body, &mut compressed).unwrap();
        assert_eq!(
            Encoding::Gzip.decompress(&compressed, usize::MAX).unwrap(),
            body
        );
    }

    #[test]
    fn names() {
        assert_eq!(Encoding::from_name("gzip").unwrap(), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_name("identity").unwrap(), None);
        assert_eq!(
            Encoding::from_name("snappy").unwrap_err().code(),
            Code::Unimplemented
        );
    }

    #[test]
    fn corrupt_input_is_internal() {
        assert_eq!(
            Encoding::Gzip
                .decompress(b"not gzip", 100)
                .unwrap_err()
                .code(),
            Code::Internal
        );
    }
}
