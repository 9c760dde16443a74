//! A scriptable mock gRPC server for wire-level tests of the client: it sends
//! exactly the frames a test asks for and records what the client sent.
//!
//! Layer: test support, over the `h2` crate's *server* side and a tokio
//! `TcpListener` on `127.0.0.1:0`. It owns one tokio runtime per
//! [`MockServer`] and every connection accepted on it. It implements no gRPC
//! logic of its own: a test script decides every HEADERS, DATA, trailers,
//! RST_STREAM and GOAWAY, so a test reads as a conversation (see
//! PROTOCOL-HTTP2 for what a well-behaved server would send instead).
//!
//! Two modes:
//! - [`MockServer::start`]: HTTP/2. The mock reads each request (headers and
//!   the whole body, until the client half-closes), records it as a
//!   [`RecordedRequest`], and runs the script on a [`MockStream`].
//! - [`MockServer::start_raw`]: raw TCP. The script gets each accepted
//!   connection as a [`RawConn`] and writes whatever bytes it likes, with
//!   frame builders ([`settings_frame`], [`goaway_frame`], ...) for a
//!   hand-made HTTP/2 conversation. [`RawConn::serve_h2`] turns a raw
//!   connection back into the HTTP/2 mode, so a test can misbehave on the
//!   first connection and behave on the next.
//!
//! Invariants: a script returning never ends its stream (the stream stays as
//! the script left it until its connection closes), so what the client sees
//! is only what the script sent; RST_STREAM frames from the client are
//! recorded ([`MockServer::wait_for_reset`]) for as long as the connection
//! lives. Sending never fails loudly: if the client already went away, the
//! frame is dropped with a note on stderr, as the test asserts on what the
//! client saw.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};

/// How long stopping the server waits for its runtime's threads to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`MockStream::wait_for_reset`] waits before giving up.
const RESET_WAIT: Duration = Duration::from_secs(10);

/// The HTTP/2 client connection preface (RFC 9113, section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type ConnScript = Arc<dyn Fn(RawConn) -> BoxFuture + Send + Sync>;
type StreamScript = Arc<dyn Fn(MockStream) -> BoxFuture + Send + Sync>;

/// A running mock server: a TCP listener on `127.0.0.1` that runs a test's
/// script on every connection (raw mode) or every HTTP/2 stream.
///
/// The server runs on a tokio runtime owned by this handle, so plain
/// `#[test]` functions can use it. Dropping the handle closes the listener
/// and every connection.
pub struct MockServer {
    runtime: Option<Runtime>,
    addr: SocketAddr,
    log: Arc<Log>,
}

impl MockServer {
    /// Starts an HTTP/2 mock that runs `script` for each request stream,
    /// after reading the request's headers and whole body.
    ///
    /// ```no_run
    /// use switchboard_tests::mock::{MockServer, grpc_frame};
    ///
    /// let server = MockServer::start(|mut stream| async move {
    ///     stream.send_headers(200, &[("content-type", "application/grpc")]);
    ///     stream.send_data(grpc_frame(b""));
    ///     stream.send_trailers(&[("grpc-status", "0")]);
    /// });
    /// # drop(server);
    /// ```
    ///
    /// # Panics
    /// If the listener cannot be bound or the runtime cannot be built.
    pub fn start<F, Fut>(script: F) -> MockServer
    where
        F: Fn(MockStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: StreamScript = Arc::new(move |stream| Box::pin(script(stream)));
        Self::start_raw(move |conn| serve(conn, script.clone()))
    }

    /// Starts a raw-TCP mock that runs `script` for each accepted
    /// connection. Nothing is read or written unless the script does it.
    ///
    /// # Panics
    /// If the listener cannot be bound or the runtime cannot be built.
    pub fn start_raw<F, Fut>(script: F) -> MockServer
    where
        F: Fn(RawConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: ConnScript = Arc::new(move |conn| Box::pin(script(conn)));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mock-peer")
            .enable_all()
            .build()
            .expect("build the mock peer's runtime");
        let listener = runtime
            .block_on(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind the mock peer to 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of the mock");
        let log = Arc::new(Log::default());
        runtime.spawn(accept_loop(listener, script, log.clone()));
        MockServer {
            runtime: Some(runtime),
            addr,
            log,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL, `http://127.0.0.1:PORT`, to build a channel with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far (HTTP/2 mode), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().requests.clone()
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.log.lock().connections
    }

    /// Waits up to `timeout` for the client to reset a stream (RST_STREAM)
    /// and returns the first reset's reason, or `None` if none came.
    pub fn wait_for_reset(&self, timeout: Duration) -> Option<Reason> {
        self.log
            .wait_until(timeout, |state| state.resets.first().copied())
    }
}

impl Drop for MockServer {
    /// Stops the runtime: the listener and every connection close at once.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // A runtime must not be shut down from inside another one, and
            // the test may be async: stop it from a plain thread.
            let stopper = std::thread::spawn(move || runtime.shutdown_timeout(SHUTDOWN_TIMEOUT));
            let _ = stopper.join();
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A request as the mock received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Index of the TCP connection it came on: 0 for the first.
    pub connection: usize,
    /// `:method`.
    pub method: String,
    /// `:scheme`, if sent.
    pub scheme: Option<String>,
    /// `:authority`, if sent.
    pub authority: Option<String>,
    /// `:path`.
    pub path: String,
    /// Every regular header, as sent.
    pub headers: HeaderMap,
    /// The request body: every DATA frame's payload, concatenated.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The value of header `name` if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request stream in HTTP/2 mode: the request, and the frames the
/// script sends back.
///
/// Each `send_*` method queues exactly one frame (DATA payloads larger than
/// the client's max frame size or flow-control window are split by h2). The
/// connection-level actions ([`send_goaway`](Self::send_goaway),
/// [`drop_connection`](Self::drop_connection)) first write what was queued.
/// Dropping a `MockStream` leaves the stream open as it is.
pub struct MockStream {
    request: RecordedRequest,
    send: Reply,
    conn: ConnHandle,
}

/// Where a stream's response stands.
enum Reply {
    /// No response headers yet.
    Response(SendResponse<Bytes>),
    /// Response headers sent, the stream is open.
    Body(SendStream<Bytes>),
    /// Ended by the mock (END_STREAM or RST_STREAM), or a reset was seen.
    Done,
}

impl MockStream {
    /// The request: headers and whole body.
    pub fn request(&self) -> &RecordedRequest {
        &self.request
    }

    /// Sends response HEADERS with `:status` `status` and `headers`,
    /// without END_STREAM.
    pub fn send_headers(&mut self, status: u16, headers: &[(&str, &str)]) {
        self.respond(status, headers, false);
    }

    /// Sends a trailers-only response: one HEADERS frame with `:status`
    /// `status` and `headers`, with END_STREAM.
    pub fn send_trailers_only(&mut self, status: u16, headers: &[(&str, &str)]) {
        self.respond(status, headers, true);
    }

    /// Sends one DATA frame with `bytes`, without END_STREAM.
    pub fn send_data(&mut self, bytes: impl Into<Bytes>) {
        self.data(bytes.into(), false);
    }

    /// Sends one DATA frame with `bytes` and END_STREAM (no trailers).
    pub fn send_data_end(&mut self, bytes: impl Into<Bytes>) {
        self.data(bytes.into(), true);
    }

    /// Sends trailers: a HEADERS frame with `headers` and END_STREAM.
    pub fn send_trailers(&mut self, headers: &[(&str, &str)]) {
        let Reply::Body(stream) = &mut self.send else {
            return note("send_trailers before send_headers, or after the stream ended");
        };
        if let Err(error) = stream.send_trailers(header_map(headers)) {
            note(&format!("trailers not sent: {error}"));
        }
        self.send = Reply::Done;
    }

    /// Sends the usual successful unary reply: HEADERS (200,
    /// `application/grpc`), one DATA frame with `message` framed by
    /// [`grpc_frame`], and trailers `grpc-status: 0`.
    pub fn send_unary_ok(&mut self, message: &impl prost::Message) {
        self.send_headers(200, &[("content-type", "application/grpc")]);
        self.send_data(grpc_frame(&message.encode_to_vec()));
        self.send_trailers(&[("grpc-status", "0")]);
    }

    /// Sends RST_STREAM with `reason`, before or after the response headers.
    pub fn send_reset(&mut self, reason: Reason) {
        match std::mem::replace(&mut self.send, Reply::Done) {
            Reply::Response(mut respond) => respond.send_reset(reason),
            Reply::Body(mut stream) => stream.send_reset(reason),
            Reply::Done => note("send_reset after the stream ended"),
        }
    }

    /// Sends GOAWAY with `reason` and closes the connection once it is
    /// written (h2's abrupt shutdown). The GOAWAY's last stream id is the
    /// last stream the mock accepted, so it covers this stream; for a GOAWAY
    /// below a stream, use [`RawConn`] and [`goaway_frame`].
    pub fn send_goaway(&mut self, reason: Reason) {
        self.conn.command(Command::GoAway(reason));
    }

    /// Closes the TCP connection without a GOAWAY, once what was queued is
    /// written.
    pub fn drop_connection(&mut self) {
        self.conn.command(Command::Drop);
    }

    /// Waits (up to 10 s) until the client resets this stream, records the
    /// reset for [`MockServer::wait_for_reset`] and returns its reason;
    /// `None` if none came or the stream had ended.
    pub async fn wait_for_reset(&mut self) -> Option<Reason> {
        let reason = tokio::time::timeout(RESET_WAIT, poll_reset(&mut self.send))
            .await
            .ok()
            .flatten()?;
        self.send = Reply::Done;
        if !self.conn.going_away.load(Ordering::Acquire) {
            self.conn.log.lock().resets.push(reason);
            self.conn.log.changed.notify_all();
        }
        Some(reason)
    }

    fn respond(&mut self, status: u16, headers: &[(&str, &str)], end: bool) {
        let Reply::Response(respond) = &mut self.send else {
            return note("response headers sent twice, or after the stream ended");
        };
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(status).expect("a valid HTTP status");
        *response.headers_mut() = header_map(headers);
        match respond.send_response(response, end) {
            Ok(stream) if !end => self.send = Reply::Body(stream),
            Ok(_) => self.send = Reply::Done,
            Err(error) => {
                note(&format!("response headers not sent: {error}"));
                self.send = Reply::Done;
            }
        }
    }

    fn data(&mut self, bytes: Bytes, end: bool) {
        let Reply::Body(stream) = &mut self.send else {
            return note("send_data before send_headers, or after the stream ended");
        };
        if let Err(error) = stream.send_data(bytes, end) {
            note(&format!("DATA not sent: {error}"));
        }
        if end {
            self.send = Reply::Done;
        }
    }
}

impl Drop for MockStream {
    /// Keeps the stream open as the script left it, until the connection
    /// closes, and records a reset from the client meanwhile.
    fn drop(&mut self) {
        let mut send = std::mem::replace(&mut self.send, Reply::Done);
        if matches!(send, Reply::Done) {
            return;
        }
        // Outside the runtime (it is shutting down) there is nothing to keep.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let conn = self.conn.clone();
        let mut closed = conn.closed.clone();
        runtime.spawn(async move {
            tokio::select! {
                // A reset that came before the connection closed counts,
                // even if the close is also seen by now.
                biased;
                reason = poll_reset(&mut send) => {
                    if let Some(reason) = reason
                        && !conn.going_away.load(Ordering::Acquire)
                    {
                        conn.log.lock().resets.push(reason);
                        conn.log.changed.notify_all();
                    }
                }
                _ = closed.wait_for(|closed| *closed) => {}
            }
            // Dropping `send` now resets a stream the client still has open;
            // the connection is closing or the client reset it anyway.
            drop(send);
        });
    }
}

impl std::fmt::Debug for MockStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockStream")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// Resolves with the reason of a reset of the stream; `None` if the stream
/// already ended. Pending while the stream is open or ended normally.
async fn poll_reset(send: &mut Reply) -> Option<Reason> {
    poll_fn(|cx| match send {
        Reply::Response(respond) => respond.poll_reset(cx).map(Result::ok),
        Reply::Body(stream) => stream.poll_reset(cx).map(Result::ok),
        Reply::Done => Poll::Ready(None),
    })
    .await
}

/// One accepted TCP connection, in raw mode: the script reads and writes
/// bytes itself, or hands the connection to [`serve_h2`](Self::serve_h2).
pub struct RawConn {
    io: TcpStream,
    index: usize,
    log: Arc<Log>,
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

    /// Keeps the connection open, discarding what the client sends, until
    /// the client closes it.
    pub async fn hold(mut self) {
        let mut buf = [0u8; 4096];
        while matches!(self.io.read(&mut buf).await, Ok(n) if n > 0) {}
    }

    /// Serves this connection in HTTP/2 mode, as [`MockServer::start`] does,
    /// running `script` for each request stream.
    pub async fn serve_h2<F, Fut>(self, script: F)
    where
        F: Fn(MockStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        serve(self, Arc::new(move |stream| Box::pin(script(stream)))).await;
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
    /// The END_STREAM flag (DATA, HEADERS).
    pub const END_STREAM: u8 = 0x1;
    /// The ACK flag (SETTINGS, PING).
    pub const ACK: u8 = 0x1;

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

/// One HTTP/2 frame of `kind` with `flags` on `stream_id`, encoded.
pub fn raw_frame(kind: u8, flags: u8, stream_id: u32, payload: Bytes) -> Bytes {
    RawFrame {
        kind,
        flags,
        stream_id,
        payload,
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

/// What a stream script asks of its connection.
enum Command {
    GoAway(Reason),
    Drop,
}

/// A stream's link to its connection.
#[derive(Clone)]
struct ConnHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// Becomes `true` when the connection has ended.
    closed: watch::Receiver<bool>,
    /// Set once the script asked to close the connection: resets that
    /// follow are the mock's own doing, not the client's.
    going_away: Arc<AtomicBool>,
    log: Arc<Log>,
}

impl ConnHandle {
    fn command(&self, command: Command) {
        self.going_away.store(true, Ordering::Release);
        let _ = self.commands.send(command);
    }
}

async fn accept_loop(listener: TcpListener, script: ConnScript, log: Arc<Log>) {
    loop {
        let io = match listener.accept().await {
            Ok((io, _)) => io,
            Err(error) => {
                note(&format!("accept failed: {error}"));
                continue;
            }
        };
        let _ = io.set_nodelay(true);
        let index = {
            let mut state = log.lock();
            state.connections += 1;
            state.connections - 1
        };
        tokio::spawn(script(RawConn {
            io,
            index,
            log: log.clone(),
        }));
    }
}

/// Serves one connection in HTTP/2 mode: accepts streams and runs `script`
/// on each, until the connection ends or a script closes it.
async fn serve(conn: RawConn, script: StreamScript) {
    let RawConn { io, index, log } = conn;
    let mut connection = match h2::server::handshake(io).await {
        Ok(connection) => connection,
        Err(error) => return note(&format!("HTTP/2 handshake failed: {error}")),
    };
    let (commands, mut command_rx) = mpsc::unbounded_channel();
    let (closed_tx, closed) = watch::channel(false);
    let handle = ConnHandle {
        commands,
        closed,
        going_away: Arc::new(AtomicBool::new(false)),
        log,
    };
    loop {
        let event = tokio::select! {
            accepted = connection.accept() => Event::Accepted(accepted),
            Some(command) = command_rx.recv() => Event::Command(command),
        };
        match event {
            Event::Accepted(Some(Ok((request, respond)))) => {
                tokio::spawn(run_stream(
                    request,
                    respond,
                    index,
                    handle.clone(),
                    script.clone(),
                ));
            }
            Event::Accepted(Some(Err(error))) => {
                note(&format!("connection {index} failed: {error}"));
                break;
            }
            Event::Accepted(None) => break,
            Event::Command(command) => {
                // One more turn of the connection writes the frames the
                // script queued before asking.
                poll_fn(|cx| {
                    let _ = connection.poll_closed(cx);
                    Poll::Ready(())
                })
                .await;
                if let Command::GoAway(reason) = command {
                    connection.abrupt_shutdown(reason);
                    let _ = poll_fn(|cx| connection.poll_closed(cx)).await;
                }
                break;
            }
        }
    }
    drop(connection);
    let _ = closed_tx.send(true);
}

enum Event<A> {
    Accepted(A),
    Command(Command),
}

/// Reads one request, records it, and runs the script on its stream.
async fn run_stream(
    request: Request<RecvStream>,
    respond: SendResponse<Bytes>,
    connection: usize,
    conn: ConnHandle,
    script: StreamScript,
) {
    let (parts, mut body) = request.into_parts();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                bytes.extend_from_slice(&chunk);
            }
            Err(error) => {
                note(&format!("request body ended early: {error}"));
                break;
            }
        }
    }
    let request = RecordedRequest {
        connection,
        method: parts.method.to_string(),
        scheme: parts.uri.scheme_str().map(str::to_owned),
        authority: parts.uri.authority().map(|a| a.to_string()),
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body: bytes.freeze(),
    };
    conn.log.lock().requests.push(request.clone());
    conn.log.changed.notify_all();
    script(MockStream {
        request,
        send: Reply::Response(respond),
        conn,
    })
    .await;
}

/// What the server recorded, shared by its tasks and the test thread.
#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Default)]
struct LogState {
    requests: Vec<RecordedRequest>,
    resets: Vec<Reason>,
    connections: usize,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout` until `check` finds something.
    fn wait_until<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&LogState) -> Option<T>,
    ) -> Option<T> {
        let end = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(found) = check(&state) {
                return Some(found);
            }
            let left = end.checked_duration_since(Instant::now())?;
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    map
}

/// Notes a failed mock action on stderr: the test asserts on the client.
fn note(message: &str) {
    eprintln!("mock peer: {message}");
}
