//! The HTTP/2 half of the mock: h2's server side reads each request whole
//! and records it ([`RecordedRequest`]), then the test's script answers on a
//! [`MockStream`], one frame per call. Connection-level actions (GOAWAY,
//! closing the TCP connection) go through the connection's task.

use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tokio::sync::{mpsc, watch};

use super::{Log, RawConn, StreamScript, grpc_frame, note};

/// How long [`MockStream::wait_for_reset`] waits before giving up.
const RESET_WAIT: Duration = Duration::from_secs(10);

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
    /// below a stream, use [`RawConn`] and [`goaway_frame`](super::goaway_frame).
    pub fn send_goaway(&mut self, reason: Reason) {
        self.conn.command(Command::GoAway(reason));
    }

    /// Closes the TCP connection without a GOAWAY, once what was queued is
    /// written.
    pub fn drop_connection(&mut self) {
        self.conn.command(Command::Drop);
    }

    /// Waits (up to 10 s) until the client resets this stream, records the
    /// reset for [`MockServer::wait_for_reset`](super::MockServer::wait_for_reset) and returns its reason;
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

/// Serves one connection in HTTP/2 mode: accepts streams and runs `script`
/// on each, until the connection ends or a script closes it.
pub(super) async fn serve(conn: RawConn, script: StreamScript) {
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
