//! The raw-frame half of the mock: a connection the script drives byte by
//! byte ([`RawConn`]), HTTP/2 frames read and written by hand
//! ([`RawFrame`]), and builders for the frames a misbehaving server sends
//! (SETTINGS, GOAWAY, HEADERS with a hand-made HPACK block, WINDOW_UPDATE)
//! and for gRPC's length-prefixed messages.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use h2::Reason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Log, MockStream, note};

/// The HTTP/2 client connection preface (RFC 9113, section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One accepted TCP connection, in raw mode: the script reads and writes
/// bytes itself, or hands the connection to [`serve_h2`](Self::serve_h2).
pub struct RawConn {
    pub(super) io: TcpStream,
    pub(super) index: usize,
    pub(super) log: Arc<Log>,
}

impl RawConn {
    /// Index of this connection on the server: 0 for the first.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The TCP stream itself.
    pub fn tcp(&mut self) -> &mut TcpStream {
        &mut self.io
    }

    /// Writes `bytes` (e.g. a frame from [`goaway_frame`], or garbage).
    /// Failures are noted on stderr, not returned.
    pub async fn write(&mut self, bytes: &[u8]) {
        if let Err(error) = self.io.write_all(bytes).await {
            note(&format!("raw write failed: {error}"));
        }
    }

    /// Reads the client's connection preface and sends our (empty) SETTINGS:
    /// the server side of the HTTP/2 handshake.
    ///
    /// # Panics
    /// If the client does not send the preface.
    pub async fn handshake(&mut self) {
        let mut preface = [0u8; PREFACE.len()];
        self.io
            .read_exact(&mut preface)
            .await
            .expect("read the client preface");
        assert_eq!(&preface[..], PREFACE, "client connection preface");
        self.write(&settings_frame()).await;
    }

    /// Reads one frame; `None` at end of stream.
    pub async fn read_frame(&mut self) -> Option<RawFrame> {
        let mut header = [0u8; 9];
        self.io.read_exact(&mut header).await.ok()?;
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; len];
        self.io.read_exact(&mut payload).await.ok()?;
        Some(RawFrame {
            kind: header[3],
            flags: header[4],
            stream_id: u32::from_be_bytes([header[5], header[6], header[7], header[8]])
                & 0x7fff_ffff,
            payload: payload.into(),
        })
    }

    /// Reads frames, acknowledging the client's SETTINGS and answering its
    /// PINGs, until the first HEADERS frame (a request) and returns it;
    /// `None` if the client closed the connection first.
    pub async fn read_request_headers(&mut self) -> Option<RawFrame> {
        loop {
            let frame = self.read_frame().await?;
            match frame.kind {
                RawFrame::HEADERS => return Some(frame),
                RawFrame::SETTINGS if frame.flags & RawFrame::ACK == 0 => {
                    self.write(&settings_ack_frame()).await;
                }
                RawFrame::PING if frame.flags & RawFrame::ACK == 0 => {
                    let pong = raw_frame(RawFrame::PING, RawFrame::ACK, 0, frame.payload);
                    self.write(&pong).await;
                }
                _ => {}
            }
        }
    }

    /// Answers the request on `stream_id` frame by frame: response HEADERS
    /// (see [`headers_frame`]), then `data` as given (one or more whole
    /// frames, e.g. from [`raw_frame`]), then trailers `grpc-status: 0`.
    pub async fn answer_ok(&mut self, stream_id: u32, data: &[u8]) {
        self.write(&headers_frame(stream_id, true, false, None))
            .await;
        self.write(data).await;
        self.write(&headers_frame(stream_id, false, true, Some(0)))
            .await;
    }

    /// Keeps the connection open, discarding what the client sends, until
    /// the client closes it.
    pub async fn hold(mut self) {
        let mut buf = [0u8; 4096];
        while matches!(self.io.read(&mut buf).await, Ok(n) if n > 0) {}
    }

    /// Serves this connection in HTTP/2 mode, as [`MockServer::start`](super::MockServer::start) does,
    /// running `script` for each request stream.
    pub async fn serve_h2<F, Fut>(self, script: F)
    where
        F: Fn(MockStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        super::http2::serve(self, Arc::new(move |stream| Box::pin(script(stream)))).await;
    }
}

impl std::fmt::Debug for RawConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConn")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// One HTTP/2 frame as read by [`RawConn::read_frame`], or to be written
/// with [`RawFrame::encode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// Frame type, e.g. [`RawFrame::HEADERS`].
    pub kind: u8,
    /// Flags, e.g. [`RawFrame::END_STREAM`].
    pub flags: u8,
    /// Stream identifier (the reserved bit cleared).
    pub stream_id: u32,
    /// Payload.
    pub payload: Bytes,
}

impl RawFrame {
    /// Type of a DATA frame.
    pub const DATA: u8 = 0x0;
    /// Type of a HEADERS frame.
    pub const HEADERS: u8 = 0x1;
    /// Type of a RST_STREAM frame.
    pub const RST_STREAM: u8 = 0x3;
    /// Type of a SETTINGS frame.
    pub const SETTINGS: u8 = 0x4;
    /// Type of a PING frame.
    pub const PING: u8 = 0x6;
    /// Type of a GOAWAY frame.
    pub const GOAWAY: u8 = 0x7;
    /// Type of a WINDOW_UPDATE frame.
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// Type of a CONTINUATION frame.
    pub const CONTINUATION: u8 = 0x9;
    /// The END_STREAM flag (DATA, HEADERS).
    pub const END_STREAM: u8 = 0x1;
    /// The ACK flag (SETTINGS, PING).
    pub const ACK: u8 = 0x1;
    /// The END_HEADERS flag (HEADERS, CONTINUATION).
    pub const END_HEADERS: u8 = 0x4;
    /// The PADDED flag (DATA, HEADERS).
    pub const PADDED: u8 = 0x8;

    /// The frame's bytes on the wire: the 9-byte header, then the payload.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(9 + self.payload.len());
        let len = u32::try_from(self.payload.len()).expect("payload fits a frame");
        out.put_slice(&len.to_be_bytes()[1..]);
        out.put_u8(self.kind);
        out.put_u8(self.flags);
        out.put_u32(self.stream_id & 0x7fff_ffff);
        out.put_slice(&self.payload);
        out.freeze()
    }
}

/// An empty SETTINGS frame (all defaults), as a server's preface.
pub fn settings_frame() -> Bytes {
    raw_frame(RawFrame::SETTINGS, 0, 0, Bytes::new())
}

/// The `SETTINGS_INITIAL_WINDOW_SIZE` setting's identifier.
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

/// A server's SETTINGS frame with `SETTINGS_INITIAL_WINDOW_SIZE` set to
/// `window` if given (`Some(0)`: the client can send no DATA until credit
/// is granted), all defaults otherwise.
pub fn settings_with_initial_window(window: Option<u32>) -> Bytes {
    let mut payload = BytesMut::new();
    if let Some(window) = window {
        payload.put_u16(SETTINGS_INITIAL_WINDOW_SIZE);
        payload.put_u32(window);
    }
    raw_frame(RawFrame::SETTINGS, 0, 0, payload.freeze())
}

/// A WINDOW_UPDATE frame granting `credit` bytes on `stream_id` (0: the
/// connection).
pub fn window_update_frame(stream_id: u32, credit: u32) -> Bytes {
    let mut payload = BytesMut::with_capacity(4);
    payload.put_u32(credit & 0x7fff_ffff);
    raw_frame(RawFrame::WINDOW_UPDATE, 0, stream_id, payload.freeze())
}

/// A HEADERS frame (END_HEADERS, and END_STREAM if `end`): the response
/// headers of a gRPC server (`:status: 200`, `content-type:
/// application/grpc`) if `response`, then `grpc-status: code` if given.
/// Without `response` and with a code, it is trailers; with both and
/// `end`, a trailers-only response.
///
/// HPACK, without the dynamic table (RFC 7541): `:status: 200` is static
/// index 8; `content-type: application/grpc` is a literal without indexing
/// with static name index 31; `grpc-status` is a literal with a new name.
pub fn headers_frame(stream_id: u32, response: bool, end: bool, code: Option<u32>) -> Bytes {
    let mut block = BytesMut::new();
    if response {
        block.put_slice(&[0x88, 0x0f, 0x10, 16]);
        block.put_slice(b"application/grpc");
    }
    if let Some(code) = code {
        let value = code.to_string();
        block.put_slice(&[0x00, 11]);
        block.put_slice(b"grpc-status");
        block.put_u8(u8::try_from(value.len()).unwrap_or(u8::MAX));
        block.put_slice(value.as_bytes());
    }
    let flags = RawFrame::END_HEADERS | if end { RawFrame::END_STREAM } else { 0 };
    raw_frame(RawFrame::HEADERS, flags, stream_id, block.freeze())
}

/// A SETTINGS frame with the ACK flag.
pub fn settings_ack_frame() -> Bytes {
    raw_frame(RawFrame::SETTINGS, RawFrame::ACK, 0, Bytes::new())
}

/// A GOAWAY frame: streams above `last_stream_id` were not processed.
pub fn goaway_frame(last_stream_id: u32, reason: Reason) -> Bytes {
    let mut payload = BytesMut::with_capacity(8);
    payload.put_u32(last_stream_id & 0x7fff_ffff);
    payload.put_u32(reason.into());
    raw_frame(RawFrame::GOAWAY, 0, 0, payload.freeze())
}

/// A GOAWAY frame with `debug_data` after the code, e.g. gRPC's
/// ENHANCE_YOUR_CALM `too_many_pings`.
pub fn goaway_frame_with_data(last_stream_id: u32, reason: Reason, debug_data: &[u8]) -> Bytes {
    let mut payload = BytesMut::with_capacity(8 + debug_data.len());
    payload.put_u32(last_stream_id & 0x7fff_ffff);
    payload.put_u32(reason.into());
    payload.put_slice(debug_data);
    raw_frame(RawFrame::GOAWAY, 0, 0, payload.freeze())
}

/// One HTTP/2 frame of `kind` with `flags` on `stream_id`, encoded.
pub fn raw_frame(kind: u8, flags: u8, stream_id: u32, payload: impl Into<Bytes>) -> Bytes {
    RawFrame {
        kind,
        flags,
        stream_id,
        payload: payload.into(),
    }
    .encode()
}

/// One gRPC length-prefixed message: flag 0 (uncompressed), the big-endian
/// length, then `message`.
pub fn grpc_frame(message: &[u8]) -> Bytes {
    let len = u32::try_from(message.len()).expect("message fits a gRPC frame");
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.put_slice(&grpc_prefix(false, len));
    out.put_slice(message);
    out.freeze()
}

/// Just the 5-byte prefix of a gRPC message: the compressed flag and a
/// declared length (which need not match what follows).
pub fn grpc_prefix(compressed: bool, len: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(5);
    out.put_u8(u8::from(compressed));
    out.put_u32(len);
    out.freeze()
}
