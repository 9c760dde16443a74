//! A frame-level gRPC peer that runs a response written as data (a
//! [`Plan`]), for property tests that generate many server behaviours and
//! check what the client does with each.
//!
//! Layer: test support, over [`MockServer::start_raw`]: every connection
//! accepted by one [`ScriptedPeer`] runs the same plan, so a client's
//! reconnection meets the same server. The peer speaks just enough HTTP/2
//! by hand to misbehave precisely: it picks its own `SETTINGS` (a zero
//! stream window, say), grants flow-control credit only when the plan reads
//! the request body, writes HEADERS / DATA / trailers / GOAWAY frames of
//! its choosing (HPACK literals, no dynamic table), and never closes a
//! stream or the connection unless the plan says so. It keeps reading the
//! socket all the time, so it records every RST_STREAM the client sends.
//!
//! It implements no gRPC logic: it does not decode the client's headers or
//! messages, and it knows streams only by order (the first stream of the
//! first connection may be a warm-up call, answered correctly). What it
//! records ([`StreamRecord`]) is what happened on the wire, with times, so a
//! test can decide what the client should have seen from what the server
//! actually did.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;

use crate::mock::{
    MockServer, PREFACE, RawConn, RawFrame, goaway_frame, grpc_frame, headers_frame, raw_frame,
    settings_ack_frame, settings_with_initial_window, window_update_frame,
};
/// The default HTTP/2 window, granted to a warm-up stream on a connection
/// whose initial stream window is smaller.
const DEFAULT_WINDOW: u32 = 65_535;

/// One frame (or frame group) of the scripted response, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Response HEADERS: `:status: 200`, `content-type: application/grpc`.
    Headers,
    /// One DATA frame holding one gRPC message with this encoded body.
    Message(Bytes),
    /// Trailers with `grpc-status` set to this code, and END_STREAM. Without
    /// a [`Step::Headers`] before it, a trailers-only response.
    Trailers(u32),
    /// A GOAWAY (NO_ERROR) whose last stream id is this stream
    /// (`covers_stream`: the stream was processed and may still finish) or
    /// the one before it (the stream was not processed). The connection
    /// stays open.
    GoAway {
        /// Whether the GOAWAY's last stream id includes this stream.
        covers_stream: bool,
    },
}

/// What a [`ScriptedPeer`] does on every connection.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `SETTINGS_INITIAL_WINDOW_SIZE` in the server's SETTINGS (`Some(0)`:
    /// the client can send no DATA until credit is granted); `None` leaves
    /// the default (65,535).
    pub initial_window_size: Option<u32>,
    /// Whether the first stream of the first connection is a warm-up call,
    /// answered correctly (all credit granted, one empty message, OK) as
    /// soon as the client half-closes it.
    pub warm_up: bool,
    /// Whether the peer returns flow-control credit for the request body
    /// (WINDOW_UPDATE per DATA frame). Without it the client can send at
    /// most one window of data.
    pub read_body: bool,
    /// Whether the reply starts when the client half-closes the stream
    /// (END_STREAM) instead of as soon as its HEADERS arrive. A client that
    /// never half-closes then never gets a reply.
    pub reply_after_half_close: bool,
    /// The reply, written in one go. After the last step the peer sends
    /// nothing more on the stream.
    pub reply: Vec<Step>,
}

/// What happened on one stream the client opened, as the peer saw it.
#[derive(Clone, Debug)]
pub struct StreamRecord {
    /// Index of the connection: 0 for the first.
    pub connection: usize,
    /// The HTTP/2 stream id.
    pub id: u32,
    /// Whether this was the warm-up call, not a scripted one.
    pub warm_up: bool,
    /// When its request HEADERS arrived.
    pub opened: Instant,
    /// Bytes of request DATA received (flow-controlled length).
    pub request_bytes: usize,
    /// Whether the client half-closed it (END_STREAM).
    pub half_closed: bool,
    /// When every step of the reply had been written, if it was.
    pub replied: Option<Instant>,
    /// Whether the server ended the stream: trailers (END_STREAM) written,
    /// or a GOAWAY that does not cover it. A client end after this needs no
    /// RST_STREAM.
    pub ended_by_server: bool,
    /// The client's RST_STREAM, if one came: its error code and when.
    pub reset: Option<(u32, Instant)>,
}

/// A running scripted peer: a [`MockServer`] in raw mode whose every
/// connection runs one [`Plan`]. Dropping it closes the listener and every
/// connection.
pub struct ScriptedPeer {
    server: MockServer,
    log: Arc<PeerLog>,
}

impl ScriptedPeer {
    /// Starts a peer on `127.0.0.1:0` that runs `plan` on every connection.
    ///
    /// # Panics
    /// If the mock server cannot start (see [`MockServer::start_raw`]).
    pub fn start(plan: Plan) -> ScriptedPeer {
        let plan = Arc::new(plan);
        let log = Arc::new(PeerLog::default());
        let conn_log = log.clone();
        let server = MockServer::start_raw(move |conn| run(conn, plan.clone(), conn_log.clone()));
        ScriptedPeer { server, log }
    }

    /// The peer's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every stream opened so far, in order of arrival.
    pub fn streams(&self) -> Vec<StreamRecord> {
        self.log.lock().clone()
    }

    /// Waits until `check` holds for the streams seen so far, or until
    /// `until` passes; returns whether it held.
    pub fn wait_for(&self, until: Instant, check: impl Fn(&[StreamRecord]) -> bool) -> bool {
        let mut streams = self.log.lock();
        loop {
            if check(&streams) {
                return true;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            streams = self
                .log
                .changed
                .wait_timeout(streams, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl std::fmt::Debug for ScriptedPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedPeer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// The streams a peer saw, shared by its connections and the test thread.
#[derive(Default)]
struct PeerLog {
    streams: Mutex<Vec<StreamRecord>>,
    changed: Condvar,
}

impl PeerLog {
    fn lock(&self) -> MutexGuard<'_, Vec<StreamRecord>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the record of stream `id` on `connection` and wakes waiters.
    fn update(&self, connection: usize, id: u32, change: impl FnOnce(&mut StreamRecord)) {
        let mut streams = self.lock();
        if let Some(record) = streams
            .iter_mut()
            .find(|r| r.connection == connection && r.id == id)
        {
            change(record);
        }
        drop(streams);
        self.changed.notify_all();
    }

    fn find(&self, connection: usize, id: u32) -> Option<StreamRecord> {
        self.lock()
            .iter()
            .find(|r| r.connection == connection && r.id == id)
            .cloned()
    }
}

/// Serves one connection: handshake, then frames in, scripted frames out,
/// until the client closes it.
async fn run(mut conn: RawConn, plan: Arc<Plan>, log: Arc<PeerLog>) {
    let mut preface = [0u8; PREFACE.len()];
    if conn.tcp().read_exact(&mut preface).await.is_err() || preface[..] != *PREFACE {
        return;
    }
    conn.write(&settings_with_initial_window(plan.initial_window_size))
        .await;
    let index = conn.index();
    let mut warm_up_left = plan.warm_up && index == 0;
    // A HEADERS frame whose header block continues in CONTINUATION frames.
    let mut open_block: Option<(u32, bool)> = None;
    while let Some(frame) = conn.read_frame().await {
        let id = frame.stream_id;
        match frame.kind {
            RawFrame::SETTINGS if frame.flags & RawFrame::ACK == 0 => {
                conn.write(&settings_ack_frame()).await;
            }
            RawFrame::PING if frame.flags & RawFrame::ACK == 0 => {
                conn.write(&raw_frame(RawFrame::PING, RawFrame::ACK, 0, frame.payload))
                    .await;
            }
            RawFrame::HEADERS | RawFrame::CONTINUATION => {
                let end_stream = match (frame.kind, open_block) {
                    (RawFrame::HEADERS, _) => frame.flags & RawFrame::END_STREAM != 0,
                    (_, Some((_, end_stream))) => end_stream,
                    _ => continue,
                };
                if frame.flags & RawFrame::END_HEADERS == 0 {
                    open_block = Some((id, end_stream));
                    continue;
                }
                open_block = None;
                if log.find(index, id).is_some() {
                    continue; // trailers from the client: not used by gRPC
                }
                let warm_up = std::mem::take(&mut warm_up_left);
                log.lock().push(StreamRecord {
                    connection: index,
                    id,
                    warm_up,
                    opened: Instant::now(),
                    request_bytes: 0,
                    half_closed: false,
                    replied: None,
                    ended_by_server: false,
                    reset: None,
                });
                log.changed.notify_all();
                if warm_up && plan.initial_window_size.is_some_and(|w| w < DEFAULT_WINDOW) {
                    let credit = DEFAULT_WINDOW - plan.initial_window_size.unwrap_or(0);
                    conn.write(&window_update_frame(id, credit)).await;
                }
                if !warm_up && !plan.reply_after_half_close {
                    reply(&mut conn, &plan, &log, index, id).await;
                }
                if end_stream {
                    half_closed(&mut conn, &plan, &log, index, id).await;
                }
            }
            RawFrame::DATA => {
                let Some(record) = log.find(index, id) else {
                    continue;
                };
                let len = frame.payload.len();
                log.update(index, id, |r| r.request_bytes += len);
                if len > 0 && (record.warm_up || plan.read_body) {
                    let len = u32::try_from(len).unwrap_or(u32::MAX);
                    let mut credit = BytesMut::new();
                    credit.extend_from_slice(&window_update_frame(id, len));
                    credit.extend_from_slice(&window_update_frame(0, len));
                    conn.write(&credit).await;
                }
                if frame.flags & RawFrame::END_STREAM != 0 {
                    half_closed(&mut conn, &plan, &log, index, id).await;
                }
            }
            RawFrame::RST_STREAM => {
                let code = frame
                    .payload
                    .get(..4)
                    .map_or(u32::MAX, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                let now = Instant::now();
                log.update(index, id, |r| {
                    r.reset.get_or_insert((code, now));
                });
            }
            _ => {}
        }
    }
}

/// The client half-closed stream `id`: answer the warm-up call, or start a
/// reply that waits for it.
async fn half_closed(conn: &mut RawConn, plan: &Plan, log: &PeerLog, index: usize, id: u32) {
    let Some(record) = log.find(index, id) else {
        return;
    };
    log.update(index, id, |r| r.half_closed = true);
    if record.warm_up {
        let mut out = BytesMut::new();
        out.extend_from_slice(&headers_frame(id, true, false, None));
        out.extend_from_slice(&raw_frame(RawFrame::DATA, 0, id, grpc_frame(b"")));
        out.extend_from_slice(&headers_frame(id, false, true, Some(0)));
        conn.write(&out).await;
        let now = Instant::now();
        log.update(index, id, |r| {
            r.replied = Some(now);
            r.ended_by_server = true;
        });
    } else if plan.reply_after_half_close && record.reset.is_none() {
        reply(conn, plan, log, index, id).await;
    }
}

/// Writes the plan's reply on stream `id`, all steps in one write.
async fn reply(conn: &mut RawConn, plan: &Plan, log: &PeerLog, index: usize, id: u32) {
    let mut out = BytesMut::new();
    let mut headers_sent = false;
    let mut ended = false;
    for step in &plan.reply {
        match step {
            Step::Headers => {
                out.extend_from_slice(&headers_frame(id, true, false, None));
                headers_sent = true;
            }
            Step::Message(body) => {
                out.extend_from_slice(&raw_frame(RawFrame::DATA, 0, id, grpc_frame(body)));
            }
            Step::Trailers(code) => {
                out.extend_from_slice(&headers_frame(id, !headers_sent, true, Some(*code)));
                ended = true;
            }
            Step::GoAway { covers_stream } => {
                let last = if *covers_stream {
                    id
                } else {
                    id.saturating_sub(2)
                };
                out.extend_from_slice(&goaway_frame(last, h2::Reason::NO_ERROR));
                ended |= !covers_stream;
            }
        }
    }
    conn.write(&out).await;
    let now = Instant::now();
    log.update(index, id, |r| {
        r.replied = Some(now);
        r.ended_by_server = ended;
    });
}
