//! Message codec and gRPC length-prefixed framing (layer: plain data + bytes).
//!
//! Owns the [`Codec`] trait that turns typed messages into bytes and back, the
//! prost implementation, and the 5-byte message framing of gRPC's
//! PROTOCOL-HTTP2 (`Length-Prefixed-Message`: a compressed flag byte, a
//! big-endian `u32` length, the message). The `Deframer` is incremental: a
//! message may be split across many HTTP/2 DATA frames and one DATA frame may
//! hold many messages. Its invariant: a message whose declared length is over
//! the inbound limit is refused with `RESOURCE_EXHAUSTED` as soon as its
//! 5-byte prefix is read, before any of its body is kept.
//!
//! It knows nothing of streams, calls or threads.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::compression::Encoding;
use crate::status::Status;

/// Length of the gRPC message prefix: one flag byte and a `u32` length.
pub(crate) const PREFIX_LEN: usize = 5;

/// The most the [`Deframer`] reserves for a message body before the body
/// arrives. A larger declared message grows the buffer (doubling) as its
/// bytes come in, so a 5-byte prefix cannot make the client allocate the
/// whole inbound limit at once: 4 MiB by default, up to 4 GiB under a raised
/// limit.
const MAX_RESERVE_AHEAD: usize = 64 << 10;

/// Turns requests into bytes and bytes into responses for one method.
///
/// Implementations must be cheap to share: one codec value serves every call
/// of a method. Errors are reported as a [`Status`], which closes the call.
pub trait Codec<Req, Resp>: Send + Sync + 'static {
    /// Appends the encoded form of `message` to `dst`.
    fn encode(&self, message: &Req, dst: &mut BytesMut) -> Result<(), Status>;
    /// Decodes one whole message.
    fn decode(&self, src: Bytes) -> Result<Resp, Status>;
}

/// The protobuf codec, backed by prost. Generated stubs use it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProstCodec;

impl<Req, Resp> Codec<Req, Resp> for ProstCodec
where
    Req: prost::Message + 'static,
    Resp: prost::Message + Default + 'static,
{
    fn encode(&self, message: &Req, dst: &mut BytesMut) -> Result<(), Status> {
        message
            .encode(dst)
            .map_err(|e| Status::internal(format!("failed to encode request message: {e}")))
    }

    fn decode(&self, src: Bytes) -> Result<Resp, Status> {
        Resp::decode(src)
            .map_err(|e| Status::internal(format!("failed to decode response message: {e}")))
    }
}

/// Encodes `message` as one length-prefixed gRPC message, compressed with
/// `encoding` if one is given (the flag byte says so).
///
/// Fails with `RESOURCE_EXHAUSTED` when the encoded message (before
/// compression) is longer than `max_len`, and with `INTERNAL` when it does
/// not fit the 32-bit length.
pub(crate) fn encode_frame<Req: 'static, Resp: 'static>(
    codec: &dyn Codec<Req, Resp>,
    message: &Req,
    max_len: Option<usize>,
    encoding: Option<Encoding>,
) -> Result<BytesMut, Status> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_bytes(0, PREFIX_LEN);
    codec.encode(message, &mut buf)?;
    let len = buf.len() - PREFIX_LEN;
    if let Some(max) = max_len
        && len > max
    {
        return Err(Status::resource_exhausted(format!(
            "request message of {len} bytes is larger than the outbound limit of {max} bytes"
        )));
    }
    if let Some(encoding) = encoding {
        let mut compressed = vec![1, 0, 0, 0, 0];
        encoding.compress(&buf[PREFIX_LEN..], &mut compressed)?;
        buf = BytesMut::from(&compressed[..]);
    }
    let len = buf.len() - PREFIX_LEN;
    let len32 = u32::try_from(len).map_err(|_| {
        Status::internal(format!(
            "request message of {len} bytes exceeds gRPC's 4 GiB framing limit"
        ))
    })?;
    buf[1..PREFIX_LEN].copy_from_slice(&len32.to_be_bytes());
    Ok(buf)
}

/// The compressed flag and length of the message prefix at the start of
/// `bytes` (at least [`PREFIX_LEN`] long).
fn read_prefix(bytes: &[u8]) -> (bool, usize) {
    let compressed = bytes[0] & 1 == 1;
    let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    (compressed, len)
}

/// One received message: its bytes as they came, and the encoding to
/// decompress them with (`None`: not compressed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub(crate) data: Bytes,
    pub(crate) encoding: Option<Encoding>,
}

impl Frame {
    /// The message body, decompressed if need be (bounded by `limit`).
    pub(crate) fn into_body(self, limit: usize) -> Result<Bytes, Status> {
        match self.encoding {
            Some(encoding) => encoding.decompress(&self.data, limit),
            None => Ok(self.data),
        }
    }
}

/// Reassembles length-prefixed messages from the DATA frames of one stream.
#[derive(Debug)]
pub(crate) struct Deframer {
    /// Bytes of a message that spans DATA frames, reassembled.
    buf: BytesMut,
    /// The latest DATA frame, not copied: whole messages are sliced out of
    /// it; only a trailing partial message moves into `buf`.
    head: Bytes,
    max_len: usize,
    /// The response's `grpc-encoding`, or why it cannot be used.
    encoding: Result<Option<Encoding>, Status>,
    /// The message whose prefix was read and whose body is awaited: its
    /// length and whether it is compressed.
    body: Option<(usize, bool)>,
}

impl Deframer {
    /// A deframer that refuses messages longer than `max_len` bytes, for a
    /// response whose `grpc-encoding` is `encoding`.
    pub(crate) fn new(max_len: usize, encoding: Result<Option<Encoding>, Status>) -> Deframer {
        Deframer {
            buf: BytesMut::new(),
            head: Bytes::new(),
            max_len,
            encoding,
            body: None,
        }
    }

    /// Adds the payload of one DATA frame. Call [`next_message`] until it
    /// returns `None` before pushing the next one.
    ///
    /// [`next_message`]: Deframer::next_message
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if self.buf.is_empty() && self.body.is_none() && self.head.is_empty() {
            self.head = chunk;
        } else {
            self.buf.extend_from_slice(&self.head);
            self.head = Bytes::new();
            self.buf.extend_from_slice(&chunk);
        }
    }

    /// The next whole message, if one is buffered.
    ///
    /// Errors are final for the stream: an over-limit message
    /// (`RESOURCE_EXHAUSTED`) or a compressed message when no compression was
    /// negotiated (`INTERNAL`).
    pub(crate) fn next_message(&mut self) -> Result<Option<Frame>, Status> {
        // Fast path: a whole message inside the latest DATA frame is sliced
        // out of it, without a copy.
        if self.buf.is_empty() && self.body.is_none() && self.head.len() >= PREFIX_LEN {
            let (compressed, len) = read_prefix(&self.head);
            if let Err(status) = self.check_len(len) {
                self.head = Bytes::new();
                return Err(status);
            }
            if self.head.len() >= PREFIX_LEN + len {
                self.head.advance(PREFIX_LEN);
                let data = self.head.split_to(len);
                return self.frame(data, compressed).map(Some);
            }
        }
        if !self.head.is_empty() {
            self.buf.extend_from_slice(&self.head);
            self.head = Bytes::new();
        }
        let (len, compressed) = match self.body {
            Some(body) => body,
            None => {
                if self.buf.len() < PREFIX_LEN {
                    return Ok(None);
                }
                let (compressed, len) = read_prefix(&self.buf);
                self.buf.advance(PREFIX_LEN);
                if let Err(status) = self.check_len(len) {
                    self.buf.clear();
                    return Err(status);
                }
                self.buf.reserve(len.min(MAX_RESERVE_AHEAD));
                self.body = Some((len, compressed));
                (len, compressed)
            }
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        self.body = None;
        let data = self.buf.split_to(len).freeze();
        self.frame(data, compressed).map(Some)
    }

    /// Refuses a declared length over the limit.
    fn check_len(&self, len: usize) -> Result<(), Status> {
        if len > self.max_len {
            return Err(Status::resource_exhausted(format!(
                "received message of {len} bytes is larger than the inbound limit of {} bytes",
                self.max_len
            )));
        }
        Ok(())
    }

    /// A received message, with the encoding to decompress it with.
    fn frame(&self, data: Bytes, compressed: bool) -> Result<Frame, Status> {
        let encoding = if compressed {
            match &self.encoding {
                Ok(Some(encoding)) => Some(*encoding),
                Ok(None) => {
                    return Err(Status::internal(
                        "server sent a compressed message without a grpc-encoding header",
                    ));
                }
                Err(status) => {
                    return Err(Status::internal(format!(
                        "server sent a compressed message: {}",
                        status.message()
                    )));
                }
            }
        } else {
            None
        };
        Ok(Frame { data, encoding })
    }

    /// True when no part of a message is buffered: the stream may end here.
    pub(crate) fn is_idle(&self) -> bool {
        self.body.is_none() && self.buf.is_empty() && self.head.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn many_messages_in_one_chunk() {
        let mut d = Deframer::new(1024, Ok(None));
        let mut chunk = frame(b"one");
        chunk.extend(frame(b""));
        chunk.extend(frame(b"three"));
        d.push(Bytes::from(chunk));
        assert_eq!(d.next_message().unwrap().unwrap().data, "one");
        assert_eq!(d.next_message().unwrap().unwrap().data, "");
        assert_eq!(d.next_message().unwrap().unwrap().data, "three");
        assert_eq!(d.next_message().unwrap(), None);
        assert!(d.is_idle());
    }

    #[test]
    fn one_message_split_byte_by_byte() {
        let mut d = Deframer::new(1024, Ok(None));
        let bytes = frame(b"hello world");
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(d.next_message().unwrap(), None, "early message at byte {i}");
            d.push(Bytes::copy_from_slice(&[*b]));
        }
        assert_eq!(d.next_message().unwrap().unwrap().data, "hello world");
        assert!(d.is_idle());
    }

    #[test]
    fn whole_and_split_messages_across_chunks() {
        let mut d = Deframer::new(1024, Ok(None));
        let (a, b, c) = (frame(b"alpha"), frame(b"bravo bravo"), frame(b"charlie"));
        let mut first = a.clone();
        first.extend_from_slice(&b[..7]);
        let mut second = b[7..].to_vec();
        second.extend_from_slice(&c);
        d.push(Bytes::from(first));
        assert_eq!(d.next_message().unwrap().unwrap().data, "alpha");
        assert_eq!(d.next_message().unwrap(), None);
        assert!(!d.is_idle(), "half of bravo is buffered");
        d.push(Bytes::from(second));
        assert_eq!(d.next_message().unwrap().unwrap().data, "bravo bravo");
        assert_eq!(d.next_message().unwrap().unwrap().data, "charlie");
        assert_eq!(d.next_message().unwrap(), None);
        assert!(d.is_idle());
    }

    #[test]
    fn partial_frame_is_not_idle() {
        let mut d = Deframer::new(1024, Ok(None));
        d.push(Bytes::copy_from_slice(&frame(b"abc")[..6]));
        assert_eq!(d.next_message().unwrap(), None);
        assert!(!d.is_idle());
    }

    #[test]
    fn over_limit_is_refused_from_the_prefix_alone() {
        let mut d = Deframer::new(10, Ok(None));
        // Only the prefix arrives: the refusal must not wait for the body.
        d.push(Bytes::from_static(&[0, 0, 0, 0, 11]));
        let err = d.next_message().unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert!(err.message().contains("11 bytes"), "{}", err.message());
        assert!(err.message().contains("10 bytes"), "{}", err.message());
    }

    #[test]
    fn a_huge_declared_length_is_not_reserved_up_front() {
        // Fuzz finding (deframe, limit usize::MAX): a prefix split across two
        // DATA frames declaring ~4 GiB made the deframer reserve ~4 GiB
        // before any of the body had arrived.
        let mut d = Deframer::new(usize::MAX, Ok(None));
        d.push(Bytes::from_static(&[0, 0xFF, 0xFF]));
        assert_eq!(d.next_message().unwrap(), None);
        d.push(Bytes::from_static(&[0xFF, 0xF0, 1, 2, 3]));
        assert_eq!(d.next_message().unwrap(), None);
        assert!(!d.is_idle());
        assert!(
            d.buf.capacity() <= MAX_RESERVE_AHEAD + PREFIX_LEN,
            "reserved {} bytes for a body not yet received",
            d.buf.capacity()
        );
    }

    #[test]
    fn a_message_larger_than_the_reservation_still_reassembles() {
        let body: Vec<u8> = (0..MAX_RESERVE_AHEAD + 100).map(|i| i as u8).collect();
        let bytes = frame(&body);
        let mut d = Deframer::new(usize::MAX, Ok(None));
        let mut chunks = bytes.chunks(1 << 12).peekable();
        // Split the prefix itself, so the body goes through the reassembly buffer.
        d.push(Bytes::copy_from_slice(&bytes[..2]));
        assert_eq!(d.next_message().unwrap(), None);
        let first = chunks.next().unwrap();
        d.push(Bytes::copy_from_slice(&first[2..]));
        while let Some(chunk) = chunks.next() {
            assert_eq!(d.next_message().unwrap(), None);
            d.push(Bytes::copy_from_slice(chunk));
            if chunks.peek().is_none() {
                assert_eq!(d.next_message().unwrap().unwrap().data, body);
            }
        }
        assert!(d.is_idle());
    }

    #[test]
    fn compressed_flag_without_encoding_is_internal() {
        let mut d = Deframer::new(10, Ok(None));
        d.push(Bytes::from_static(&[1, 0, 0, 0, 1, 7]));
        assert_eq!(d.next_message().unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn gzip_frames_round_trip_and_need_a_negotiated_encoding() {
        #[derive(Clone, PartialEq, prost::Message)]
        struct M {
            #[prost(string, tag = "1")]
            s: String,
        }
        let m = M {
            s: "zip ".repeat(100),
        };
        let f = encode_frame::<M, M>(&ProstCodec, &m, None, Some(Encoding::Gzip)).unwrap();
        assert_eq!(f[0], 1, "compressed flag");
        let mut d = Deframer::new(1 << 20, Ok(Some(Encoding::Gzip)));
        d.push(f.clone().freeze());
        let body = d
            .next_message()
            .unwrap()
            .unwrap()
            .into_body(1 << 20)
            .unwrap();
        let back: M = <ProstCodec as Codec<M, M>>::decode(&ProstCodec, body).unwrap();
        assert_eq!(back, m);
        let mut plain = Deframer::new(1 << 20, Ok(None));
        plain.push(f.clone().freeze());
        assert_eq!(plain.next_message().unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn encode_frame_writes_prefix_and_checks_limit() {
        #[derive(Clone, PartialEq, prost::Message)]
        struct M {
            #[prost(string, tag = "1")]
            s: String,
        }
        let m = M { s: "hi".into() };
        let f = encode_frame::<M, M>(&ProstCodec, &m, None, None).unwrap();
        assert_eq!(&f[..5], &[0, 0, 0, 0, 4]);
        let mut d = Deframer::new(100, Ok(None));
        d.push(f.clone().freeze());
        let body = d.next_message().unwrap().unwrap().data;
        let back: M = <ProstCodec as Codec<M, M>>::decode(&ProstCodec, body).unwrap();
        assert_eq!(back, m);
        let err = encode_frame::<M, M>(&ProstCodec, &m, Some(3), None).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
    }
}
