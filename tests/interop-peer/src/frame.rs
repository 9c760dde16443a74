//! The gRPC message framing (PROTOCOL-HTTP2, "Length-Prefixed-Message"):
//! each message on a request or response body is a 1-byte compressed flag,
//! a 4-byte big-endian length and that many bytes of (possibly gzip
//! compressed) message.
//!
//! Bottom layer of the peer: pure byte handling, no I/O, no tonic. Two
//! readers with different costs:
//! - [`FrameScanner`] only watches frame boundaries as bytes stream past and
//!   reports each header; it never buffers a payload;
//! - [`FrameBuffer`] reassembles whole frames, for code that must rewrite
//!   them.
//!
//! Both accept any chunking of the byte stream: a header may be split across
//! chunks, a chunk may hold many frames.

use std::io::{self, Read as _, Write as _};

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Length of the prefix before each message: flag byte plus 4-byte length.
pub const HEADER_LEN: usize = 5;

/// The prefix of one framed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The compressed-flag byte was non-zero: the message is encoded with the
    /// call's `grpc-encoding`.
    pub compressed: bool,
    /// Length of the message that follows, in bytes.
    pub len: u32,
}

impl FrameHeader {
    fn parse(bytes: [u8; HEADER_LEN]) -> FrameHeader {
        FrameHeader {
            compressed: bytes[0] != 0,
            len: u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]),
        }
    }
}

/// Follows frame boundaries in a byte stream and reports every frame header,
/// without buffering payloads.
#[derive(Debug, Default)]
pub struct FrameScanner {
    /// Bytes of the current header seen so far (when `remaining == 0`).
    header: [u8; HEADER_LEN],
    filled: usize,
    /// Payload bytes of the current frame still to skip.
    remaining: u64,
}

impl FrameScanner {
    /// A scanner at the start of a body.
    pub fn new() -> FrameScanner {
        FrameScanner::default()
    }

    /// Feeds the next `chunk` of the body; calls `on_header` for each frame
    /// header completed by it, in order.
    pub fn scan(&mut self, mut chunk: &[u8], mut on_header: impl FnMut(FrameHeader)) {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let skip = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                chunk = &chunk[skip..];
                self.remaining -= skip as u64;
                continue;
            }
            let take = (HEADER_LEN - self.filled).min(chunk.len());
            self.header[self.filled..self.filled + take].copy_from_slice(&chunk[..take]);
            self.filled += take;
            chunk = &chunk[take..];
            if self.filled == HEADER_LEN {
                let header = FrameHeader::parse(self.header);
                self.filled = 0;
                self.remaining = u64::from(header.len);
                on_header(header);
            }
        }
    }

    /// Whether the bytes seen so far end exactly at a frame boundary.
    pub fn at_boundary(&self) -> bool {
        self.filled == 0 && self.remaining == 0
    }
}

/// One whole framed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The compressed flag.
    pub compressed: bool,
    /// The message bytes as sent (still compressed if `compressed`).
    pub payload: Bytes,
}

/// Reassembles whole frames from a body's chunks.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    buf: BytesMut,
}

impl FrameBuffer {
    /// An empty buffer.
    pub fn new() -> FrameBuffer {
        FrameBuffer::default()
    }

    /// Appends the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Removes and returns the first frame, if it is complete.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let header: [u8; HEADER_LEN] = self.buf.get(..HEADER_LEN)?.try_into().ok()?;
        let header = FrameHeader::parse(header);
        let len = usize::try_from(header.len).ok()?;
        if self.buf.len() - HEADER_LEN < len {
            return None;
        }
        self.buf.advance(HEADER_LEN);
        Some(Frame {
            compressed: header.compressed,
            payload: self.buf.split_to(len).freeze(),
        })
    }

    /// Removes and returns the bytes of an incomplete trailing frame (empty
    /// if the body ended at a frame boundary).
    pub fn take_rest(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// Whether no bytes are buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Appends `payload` to `out` as one frame with the given compressed flag.
///
/// Fails, writing nothing, if `payload` is longer than the 4-byte length
/// can say (4 GiB - 1).
pub fn encode_frame(compressed: bool, payload: &[u8], out: &mut BytesMut) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a {}-byte message does not fit a gRPC frame", payload.len()),
        )
    })?;
    out.reserve(HEADER_LEN + payload.len());
    out.put_u8(u8::from(compressed));
    out.put_u32(len);
    out.extend_from_slice(payload);
    Ok(())
}

/// `data` compressed with gzip, the `grpc-encoding: gzip` message encoding.
pub fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data)?;
    encoder.finish()
}

/// `data` decompressed from gzip; fails if the result would exceed `limit`
/// bytes.
pub fn gunzip(data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    GzDecoder::new(data)
        .take(read_limit)
        .read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("gzip message decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(messages: &[(bool, &[u8])]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for (compressed, payload) in messages {
            encode_frame(*compressed, payload, &mut out).unwrap();
        }
        out.to_vec()
    }

    #[test]
    fn scanner_reports_every_header_whatever_the_chunking() {
        let body = framed(&[
            (false, b"abc"),
            (true, b""),
            (true, &[7; 300]),
            (false, b"z"),
        ]);
        let expected = vec![
            FrameHeader {
                compressed: false,
                len: 3,
            },
            FrameHeader {
                compressed: true,
                len: 0,
            },
            FrameHeader {
                compressed: true,
                len: 300,
            },
            FrameHeader {
                compressed: false,
                len: 1,
            },
        ];
        for chunk_len in [1, 2, 4, 5, 6, 7, 299, body.len()] {
            let mut scanner = FrameScanner::new();
            let mut seen = Vec::new();
            for chunk in body.chunks(chunk_len) {
                scanner.scan(chunk, |header| seen.push(header));
            }
            assert_eq!(seen, expected, "chunks of {chunk_len} bytes");
            assert!(scanner.at_boundary());
        }
    }

    #[test]
    fn scanner_is_not_at_a_boundary_inside_a_frame() {
        let body = framed(&[(false, b"abc")]);
        let mut scanner = FrameScanner::new();
        scanner.scan(&body[..3], |_| {});
        assert!(!scanner.at_boundary());
        scanner.scan(&body[3..6], |_| {});
        assert!(!scanner.at_boundary());
    }

    #[test]
    fn buffer_returns_whole_frames_only() {
        let body = framed(&[(true, b"hello"), (false, b"")]);
        let mut buffer = FrameBuffer::new();
        buffer.push(&body[..7]);
        assert_eq!(buffer.next_frame(), None);
        buffer.push(&body[7..]);
        let first = buffer.next_frame().unwrap();
        assert!(first.compressed);
        assert_eq!(&first.payload[..], b"hello");
        let second = buffer.next_frame().unwrap();
        assert!(!second.compressed);
        assert!(second.payload.is_empty());
        assert_eq!(buffer.next_frame(), None);
        assert!(buffer.is_empty());
    }

    #[test]
    fn buffer_hands_back_a_truncated_frame() {
        let body = framed(&[(false, b"hello")]);
        let mut buffer = FrameBuffer::new();
        buffer.push(&body[..6]);
        assert_eq!(buffer.next_frame(), None);
        assert_eq!(&buffer.take_rest()[..], &body[..6]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn gzip_round_trips_and_gunzip_enforces_its_limit() {
        let data = vec![0u8; 10_000];
        let compressed = gzip(&data).unwrap();
        assert!(compressed.len() < data.len());
        assert_eq!(gunzip(&compressed, 10_000).unwrap(), data);
        assert!(gunzip(&compressed, 9_999).is_err());
    }
}
