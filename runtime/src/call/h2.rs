//! The real call: one gRPC call on one HTTP/2 stream (layer: call).
//!
//! Owns the request headers of PROTOCOL-HTTP2 (`:method POST`, `:scheme`,
//! `:path`, `:authority`, `content-type: application/grpc`, `te: trailers`,
//! `user-agent`, `grpc-timeout`, custom metadata) and the reading of the
//! response: headers, length-prefixed messages, trailers, trailers-only
//! responses, HTTP status mapped to a code when no `grpc-status` came, and
//! RST_STREAM/GOAWAY mapped through [`crate::transport::error`].
//!
//! Threads: `start`, `send_message`, `half_close`, `cancel` and `request` run
//! on the caller's thread (or, for a pending call's replay, on the thread
//! that hands it its connection); encoding happens there. The I/O thread
//! runs the connection: it reads frames into h2's per-stream buffers and
//! wakes the call. The response reader is a future that takes the response
//! out of h2, deframes it and records events into the [`Inbound`] state;
//! the call's pump, on the call's executor, delivers them. Who polls the
//! reader after a wake-up: a blocking caller parked in its wait reads on
//! its own thread; otherwise the I/O thread reads at once (a future's waker
//! may never poll again), so unread data never holds the connection's
//! flow-control window for a caller who is not there. Decoding and every
//! listener callback always run on the caller's thread, and a call costs
//! the I/O thread no task of its own. No lock is held while the reader or
//! a listener runs.
//!
//! Ends (rules 9-11): a second response message on a single-response call
//! fails it with INTERNAL at once; a local end (cancel, deadline, local
//! failure) resets the stream and replaces a peer end still waiting for
//! messages nobody requested; a panicking codec fails the call with
//! INTERNAL.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use bytes::{Bytes, BytesMut};
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
// Names built with `from_static`: a `&str` name that is not a standard
// header is copied into a new allocation on every insert.
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, TE, USER_AGENT};
use http::uri::PathAndQuery;
use http::{Method, Request, Uri};

use crate::call::delivery::{Inbound, Step};
use crate::call::reader_slot::ReaderSlot;
use crate::call::replay::Replay;
use crate::call::{ClientCall, Listener, catch_user_panic};
use crate::codec::{Codec, Deframer, encode_frame};
use crate::compression::{ACCEPT_ENCODING, Encoding};
use crate::deadline::{Deadline, encode_grpc_timeout};
use crate::executor::{Task, ThreadlessExecutor};
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, MutexGuard, atomic::AtomicBool, atomic::Ordering, lock};
use crate::transport::error::status_from_h2;
use crate::transport::{ConnectionShared, H2Connection, unprocessed};
use crate::wake_batch::{self, Deferred};

/// What a real call needs to know beyond its transport.
pub(crate) struct CallSpec<Req, Resp> {
    pub(crate) path: &'static str,
    /// Boxed, not shared: a zero-sized codec (prost's) then costs no allocation.
    pub(crate) codec: Box<dyn Codec<Req, Resp>>,
    pub(crate) executor: ThreadlessExecutor,
    pub(crate) deadline: Option<Deadline>,
    pub(crate) max_inbound: usize,
    pub(crate) max_outbound: Option<usize>,
    /// How request messages are compressed (`grpc-encoding`), if at all.
    pub(crate) send_encoding: Option<Encoding>,
    /// A unary or client-streaming call: a second response message is a
    /// protocol violation that ends the call with INTERNAL at once.
    pub(crate) single_response: bool,
    /// A wait-for-ready call: a transparent retry waits through failed
    /// connection attempts (until the deadline) instead of failing.
    pub(crate) wait_for_ready: bool,
}

/// One gRPC call on one HTTP/2 stream.
///
/// Dropping it before the call ended cancels the call (RST_STREAM), so that
/// nothing keeps reading a stream nobody will hear of.
pub(crate) struct H2Call<Req: Send + 'static, Resp: Send + 'static> {
    shared: Arc<Shared<Req, Resp>>,
}

struct Shared<Req, Resp> {
    transport: Arc<ConnectionShared>,
    /// The connection's stream opener, taken by `start`.
    opener: Mutex<Option<SendRequest<Bytes>>>,
    spec: CallSpec<Req, Resp>,
    out: Mutex<Outbound>,
    inbound: Mutex<Inbound<Resp>>,
    /// The response reader.
    ///
    /// The reader holds the call's shared state, and the state holds the
    /// reader: the cycle ends when the reader finishes (the server or the
    /// connection ended the stream) or is stopped (the call ended locally).
    reader: ReaderSlot<ReaderFuture>,
    /// Per-message compression switch (see `set_message_compression`).
    compress: AtomicBool,
}

/// The response reader ([`drive`]), polled by [`Shared::poll_reader`].
type ReaderFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

#[derive(Default)]
struct Outbound {
    stream: Option<SendStream<Bytes>>,
    half_closed: bool,
    /// The stream is over for sending: reset, or the call closed.
    done: bool,
    /// A sender waiting in `poll_ready`, woken when the stream ends.
    ready_waker: Option<Waker>,
    /// Encoded messages not yet handed to h2 (see `send_message`).
    pending: BytesMut,
    /// A flush task is queued on the runtime.
    flush_scheduled: bool,
    /// What was sent, while the call may still be retried transparently.
    replay: Option<Replay>,
}

impl Outbound {
    /// Queues one encoded message; an empty queue adopts its buffer.
    fn queue(&mut self, frame: BytesMut) {
        if self.pending.is_empty() {
            self.pending = frame;
        } else {
            self.pending.extend_from_slice(&frame);
        }
    }

    /// Hands the queued messages to h2 as one DATA frame (h2 splits it at
    /// the frame size limit). Without a stream (not started, or between a
    /// refused stream and its retry) they stay queued.
    fn flush(&mut self) {
        if self.pending.is_empty() || self.done {
            return;
        }
        self.send_pending(false);
    }

    /// Sends the queued messages with END_STREAM (once there is a stream).
    fn half_close(&mut self) {
        self.half_closed = true;
        self.send_pending(true);
    }

    /// Hands everything queued to the stream, kept for a transparent retry
    /// while the call may still be retried; a no-op without a stream.
    fn send_pending(&mut self, end_of_stream: bool) {
        if self.stream.is_none() {
            return;
        }
        // Taken whole, not split: splitting would first move the buffer
        // into a shared allocation.
        let data = std::mem::take(&mut self.pending).freeze();
        if let Some(replay) = self.replay.as_mut()
            && !replay.record(&data)
        {
            self.replay = None;
        }
        if let Some(stream) = self.stream.as_mut() {
            // A failed send means the stream already ended; the reader reports why.
            let _ = stream.send_data(data, end_of_stream);
        }
    }
}

/// Queued outbound bytes that are flushed at once rather than by the
/// flush task.
const FLUSH_THRESHOLD: usize = 32 * 1024;

/// How much send window a call asks h2 for while a sender waits to send.
const OUTBOUND_RESERVE: usize = 64 * 1024;

impl<Req: Send + 'static, Resp: Send + 'static> H2Call<Req, Resp> {
    /// A call that will open its stream on `transport` when started.
    pub(crate) fn new(transport: H2Connection, spec: CallSpec<Req, Resp>) -> Self {
        let H2Connection {
            send,
            shared: common,
        } = transport;
        H2Call {
            shared: Arc::new(Shared {
                transport: common,
                opener: Mutex::new(Some(send)),
                spec,
                out: Mutex::new(Outbound::default()),
                inbound: Mutex::new(Inbound::new()),
                reader: ReaderSlot::new(),
                compress: AtomicBool::new(true),
            }),
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> H2Call<Req, Resp> {
    /// Encodes one request message on the caller's thread; a failure
    /// (too large, codec error) cancels the call with its status.
    fn encode(&self, message: &Req) -> Option<BytesMut> {
        let shared = &self.shared;
        // The codec is user code: a panic fails this call, nothing else
        // (this may run on the I/O thread, replaying a pending call).
        let encoded = catch_user_panic("Codec::encode", || {
            encode_frame(
                &*shared.spec.codec,
                message,
                shared.spec.max_outbound,
                shared.message_encoding(),
            )
        })
        .map_err(Status::internal)
        .and_then(|encoded| encoded);
        encoded.map_err(|status| self.cancel(status)).ok()
    }

    /// Encodes `message` and queues it for sending; the outbound state,
    /// still locked, or `None` if the message was not queued (encoding
    /// failed, or the call no longer sends).
    fn queue_message(&self, message: &Req) -> Option<MutexGuard<'_, Outbound>> {
        let frame = self.encode(message)?;
        let mut out = lock(&self.shared.out);
        if out.done || out.half_closed {
            return None;
        }
        out.queue(frame);
        Some(out)
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> ClientCall<Req, Resp> for H2Call<Req, Resp> {
    fn start(&self, listener: Box<dyn Listener<Resp>>, headers: Metadata) {
        let shared = &self.shared;
        lock(&shared.inbound).set_listener(listener);
        if let Some(deadline) = shared.spec.deadline
            && deadline.is_expired()
        {
            shared.fail(Status::deadline_exceeded(
                "deadline exceeded before the call could start its stream",
            ));
            return;
        }
        let request = match shared.build_request(&headers) {
            Ok(request) => request,
            Err(status) => return shared.fail(status),
        };
        let Some(mut send) = lock(&shared.opener).take() else {
            return shared.fail(Status::internal("call started twice"));
        };
        let opened = send.send_request(request, false);
        drop(send);
        let mut out = lock(&shared.out);
        if out.done {
            // Cancelled while the request was being built.
            if let Ok((_, mut stream)) = opened {
                stream.send_reset(h2::Reason::CANCEL);
            }
            return;
        }
        out.replay = shared
            .transport
            .source
            .as_ref()
            .map(|_| Replay::new(headers));
        let reader: ReaderFuture = match opened {
            Ok((response, stream)) => {
                out.stream = Some(stream);
                Box::pin(drive(shared.clone(), Ok(response)))
            }
            Err(error) => {
                // The connection is going away under us: the reader retries
                // on the next one, or reports this error.
                shared.transport.mark_broken();
                Box::pin(drive(shared.clone(), Err(error)))
            }
        };
        drop(out);
        if !shared.reader.install(reader) {
            // Cancelled meanwhile; the reader was dropped.
            return;
        }
        // The first poll registers the reader with h2; should it already
        // have recorded something (an immediate failure), deliver it.
        shared.read_now();
    }

    fn request(&self, n: usize) {
        let work = {
            let mut inbound = lock(&self.shared.inbound);
            inbound.request(n);
            inbound.has_work()
        };
        // Messages may be waiting for this demand; otherwise the next
        // event schedules the pump.
        if work {
            self.shared.schedule_pump();
        }
    }

    fn send_message(&self, message: Req) {
        let Some(mut out) = self.queue_message(&message) else {
            return;
        };
        if out.pending.len() >= FLUSH_THRESHOLD {
            out.flush();
        } else if !out.flush_scheduled {
            // Coalesce with whatever else is sent before the I/O thread
            // gets to it: many small DATA frames cost the server (h2 even
            // treats a flood of them as abuse) and throughput.
            out.flush_scheduled = true;
            let shared = self.shared.clone();
            self.shared.transport.runtime.spawn(async move {
                let mut out = lock(&shared.out);
                out.flush_scheduled = false;
                out.flush();
            });
        }
    }

    fn send_last(&self, message: Req) {
        if let Some(mut out) = self.queue_message(&message) {
            out.half_close();
        }
    }

    fn set_message_compression(&self, enabled: bool) {
        self.shared.compress.store(enabled, Ordering::Relaxed);
    }

    fn half_close(&self) {
        let mut out = lock(&self.shared.out);
        if out.done || out.half_closed {
            return;
        }
        out.half_close();
    }

    fn cancel(&self, status: Status) {
        let recorded = lock(&self.shared.inbound).close(status, Metadata::new());
        if recorded {
            self.shared.reset_stream();
            self.shared.schedule_pump();
        }
    }

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut out = lock(&self.shared.out);
        if out.done || out.half_closed {
            return Poll::Ready(false);
        }
        if out.pending.len() >= FLUSH_THRESHOLD {
            out.flush();
        }
        let Some(stream) = out.stream.as_mut() else {
            // No stream yet (not started, or waiting for a transparent
            // retry's connection): messages queue here, up to about one
            // window; then the sender waits until a stream takes them.
            if out.pending.len() < OUTBOUND_RESERVE {
                return Poll::Ready(true);
            }
            out.ready_waker = Some(cx.waker().clone());
            return Poll::Pending;
        };
        stream.reserve_capacity(OUTBOUND_RESERVE);
        if stream.capacity() > 0 {
            return Poll::Ready(true);
        }
        match stream.poll_capacity(cx) {
            Poll::Ready(Some(Ok(_))) => Poll::Ready(true),
            // The stream ended; the reader reports how.
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => Poll::Ready(false),
            Poll::Pending => {
                out.ready_waker = Some(cx.waker().clone());
                // Whatever is queued must go out while the sender waits.
                out.flush();
                Poll::Pending
            }
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Shared<Req, Resp> {
    /// The encoding for the next request message, if it is compressed.
    fn message_encoding(&self) -> Option<Encoding> {
        self.spec
            .send_encoding
            .filter(|_| self.compress.load(Ordering::Relaxed))
    }

    fn build_request(&self, metadata: &Metadata) -> Result<Request<()>, Status> {
        let path = PathAndQuery::from_maybe_shared(Bytes::from_static(self.spec.path.as_bytes()))
            .map_err(|e| {
            Status::internal(format!("invalid method path {:?}: {e}", self.spec.path))
        })?;
        let uri = Uri::builder()
            .scheme(self.transport.scheme.clone())
            .authority(self.transport.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| Status::internal(format!("invalid request URI: {e}")))?;
        let mut request = Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(USER_AGENT, self.transport.user_agent.clone());
        headers.insert(
            HeaderName::from_static("grpc-accept-encoding"),
            HeaderValue::from_static(ACCEPT_ENCODING),
        );
        if let Some(encoding) = self.spec.send_encoding {
            headers.insert(
                HeaderName::from_static("grpc-encoding"),
                HeaderValue::from_static(encoding.name()),
            );
        }
        if let Some(deadline) = self.spec.deadline {
            let timeout = encode_grpc_timeout(deadline.remaining());
            if let Ok(value) = HeaderValue::from_str(&timeout) {
                headers.insert(HeaderName::from_static("grpc-timeout"), value);
            }
        }
        metadata.write_to(headers);
        Ok(request)
    }

    /// Closes the call locally with `status` and resets the stream.
    fn fail(self: &Arc<Self>, status: Status) {
        if self.record_failure(status) {
            self.schedule_pump();
        }
    }

    /// [`fail`](Self::fail) without scheduling the pump, for the reader:
    /// the pump that polls the reader delivers the close. Returns whether
    /// the failure was recorded (no end was recorded before).
    fn record_failure(&self, status: Status) -> bool {
        let recorded = lock(&self.inbound).fail(status);
        if recorded {
            self.reset_stream();
        }
        recorded
    }

    /// Sends the call again on the channel's next ready connection, if it is
    /// still replayable; the new stream's response, or `None`.
    async fn retry(self: &Arc<Self>) -> Option<ResponseFuture> {
        let source = self.transport.source.clone()?;
        {
            let mut out = lock(&self.out);
            out.replay.as_ref()?;
            // Until the new stream is in place, sends queue up in `pending`.
            out.stream = None;
        }
        let transport = source.next_ready(self.spec.wait_for_ready).await.ok()?;
        let mut out = lock(&self.out);
        let replay = out.replay.take()?;
        if out.done {
            return None;
        }
        let request = self.build_request(&replay.headers).ok()?;
        let mut send = transport.send;
        let (response, mut stream) = send.send_request(request, false).ok()?;
        tracing::debug!("retrying a call the server did not process on a new connection");
        for data in replay.sent() {
            let _ = stream.send_data(data, false);
        }
        // Kept until response headers arrive: this stream may be refused
        // too. What is flushed below is recorded in it as well.
        out.replay = Some(replay);
        out.stream = Some(stream);
        if out.half_closed {
            out.half_close();
        } else {
            out.flush();
        }
        // A sender held back while there was no stream may go on.
        if let Some(waker) = out.ready_waker.take() {
            waker.wake();
        }
        Some(response)
    }

    /// Records the server's end of the call, from its trailers: delivered
    /// after the messages before it. Called by the reader, whose pump
    /// delivers it.
    fn remote_close(&self, status: Status, trailers: Metadata) {
        // Forget the stream first: the close step resets any stream still
        // held (see `pump`).
        self.finish_stream();
        lock(&self.inbound).server_close(status, trailers);
    }

    /// Records the end of the call by the peer or the connection (reset,
    /// GOAWAY, broken connection): delivered after the messages that arrived
    /// before it, like trailers. Called by the reader.
    fn transport_close(&self, status: Status) {
        self.remote_close(status, Metadata::new());
    }

    /// Sends RST_STREAM(CANCEL) unless the stream already ended, and stops
    /// the reader.
    fn reset_stream(&self) {
        let waker = {
            let mut out = lock(&self.out);
            out.done = true;
            if let Some(mut stream) = out.stream.take() {
                stream.send_reset(h2::Reason::CANCEL);
            }
            out.ready_waker.take()
        };
        // Drops the reader with no lock held: it drops h2 stream handles.
        self.reader.stop();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Forgets the stream after the server ended it.
    fn finish_stream(&self) {
        let waker = {
            let mut out = lock(&self.out);
            out.done = true;
            out.stream = None;
            out.ready_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Polls the response reader, unless it finished or was stopped. If it
    /// is being polled elsewhere, that poll runs again instead, so no wake-up
    /// is lost. The reader's waker is the call itself (see the [`Wake`]
    /// impl): h2 waking it queues a pump on the call's executor.
    fn poll_reader(self: &Arc<Self>) {
        self.reader.poll(|| Waker::from(self.clone()));
    }

    /// Polls the reader on this thread, and queues a pump if that gave the
    /// caller something to deliver.
    fn read_now(self: &Arc<Self>) {
        self.poll_reader();
        if lock(&self.inbound).has_work() {
            self.schedule_pump();
        }
    }

    /// h2 has news for the reader: poll it again, on the call's executor,
    /// once the connection task's current poll is over (if this runs inside
    /// it).
    fn wake_reader(self: &Arc<Self>) {
        if !self.reader.note_wake() {
            return;
        }
        if !wake_batch::defer(self.clone()) {
            // h2 may call this with its own lock held: the reader, which
            // takes that lock, must not run here. The caller's pump polls it.
            self.reader.clear_wake_note();
            self.schedule_pump();
        }
    }

    /// Queues one pump task on the executor unless one is already queued.
    fn schedule_pump(self: &Arc<Self>) {
        self.queue_pump(|executor, task| {
            executor.execute(task);
            Ok(())
        });
    }

    /// Queues one pump with `queue` unless one is already queued; `queue`
    /// may decline (giving the task back). Returns whether a pump was
    /// queued by this call.
    fn queue_pump(
        self: &Arc<Self>,
        queue: impl FnOnce(&ThreadlessExecutor, Task) -> Result<(), Task>,
    ) -> bool {
        {
            let mut inbound = lock(&self.inbound);
            if inbound.pump_queued {
                return false;
            }
            inbound.pump_queued = true;
        }
        let shared = self.clone();
        if queue(&self.spec.executor, Box::new(move || shared.pump())).is_err() {
            lock(&self.inbound).pump_queued = false;
            return false;
        }
        true
    }

    /// Polls the reader, then delivers every step that can run now. Runs on
    /// the call's executor.
    fn pump(self: &Arc<Self>) {
        // Cleared first: a wake-up from here on queues another pump.
        lock(&self.inbound).pump_queued = false;
        self.poll_reader();
        loop {
            let Some(step) = lock(&self.inbound).next_step() else {
                return;
            };
            match step {
                Step::Headers(mut listener, headers) => {
                    let outcome =
                        catch_user_panic("listener on_headers", || listener.on_headers(headers));
                    lock(&self.inbound).return_listener(listener);
                    if let Err(panic) = outcome {
                        self.fail(Status::cancelled(panic));
                    }
                }
                Step::Messages(mut listener, batch) => {
                    let mut outcome = Ok(());
                    for frame in batch {
                        let body = frame.into_body(self.spec.max_inbound);
                        let decoded = body.and_then(|body| {
                            catch_user_panic("Codec::decode", || self.spec.codec.decode(body))
                                .map_err(Status::internal)?
                        });
                        outcome = match decoded {
                            Ok(message) => catch_user_panic("listener on_message", || {
                                listener.on_message(message)
                            })
                            .map_err(Status::cancelled),
                            Err(status) => Err(status),
                        };
                        if outcome.is_err() {
                            // The call fails; the rest of the batch is dropped.
                            break;
                        }
                    }
                    let room = {
                        let mut inbound = lock(&self.inbound);
                        inbound.return_listener(listener);
                        inbound.take_reader_if_room().is_some()
                    };
                    if let Err(status) = outcome {
                        self.fail(status);
                    } else if room {
                        // The reader was parked on a full queue: it reads on
                        // in this pump.
                        self.poll_reader();
                    }
                }
                Step::Close(mut listener, status, trailers) => {
                    // A stream still held here was ended locally (`cancel`,
                    // `fail`), whose own reset may not have run yet: reset it
                    // now, so the server always hears of it and the reader
                    // is dropped. Streams the server ended were already
                    // forgotten by `remote_close`/`transport_close`.
                    self.reset_stream();
                    if let Err(panic) = catch_user_panic("listener on_close", || {
                        listener.on_close(status, trailers)
                    }) {
                        tracing::error!("{panic}; the call was already closed");
                    }
                    return;
                }
            }
        }
    }

    fn is_closing(&self) -> bool {
        lock(&self.inbound).is_closing()
    }
}

/// Reads the response of one call: the call's reader (see
/// [`Shared::poll_reader`]).
async fn drive<Req: Send + 'static, Resp: Send + 'static>(
    shared: Arc<Shared<Req, Resp>>,
    opened: Result<ResponseFuture, h2::Error>,
) {
    let mut opened = opened;
    // Once for a stream the server refused (REFUSED_STREAM, above a
    // GOAWAY): it may refuse again. A stream that never left this client
    // may be retried as often as it takes (grpc-java's MISCARRIED).
    let mut retried = false;
    let response = loop {
        // `never_opened`: the stream could not even be opened, so the
        // server cannot have seen it.
        let (error, never_opened) = match opened {
            Ok(response) => match response.await {
                Ok(response) => break response,
                Err(error) => (error, false),
            },
            Err(error) => (error, true),
        };
        let status = status_from_h2(&error, "waiting for response headers");
        if !(never_opened || (unprocessed(&error) && !retried)) {
            return shared.transport_close(status);
        }
        if never_opened || error.is_go_away() {
            // This connection takes no new streams; a refused stream alone
            // leaves it usable.
            shared.transport.mark_broken();
        }
        match shared.retry().await {
            Some(response) => {
                retried |= !never_opened;
                opened = Ok(response);
            }
            None => return shared.transport_close(status),
        }
    };
    // The server has the call now: nothing more to replay.
    lock(&shared.out).replay = None;
    let (parts, body) = response.into_parts();
    // Trailers-only: grpc-status in the one HEADERS frame.
    if let Some(status) = Status::from_header_map(&parts.headers) {
        let trailers = status.trailers().clone();
        return shared.remote_close(status, trailers);
    }
    if parts.status != http::StatusCode::OK {
        let status = Status::from_http_status(parts.status);
        shared.record_failure(status);
        return;
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/grpc") {
        shared.record_failure(Status::unknown(format!(
            "server replied with content-type {content_type:?}, not application/grpc"
        )));
        return;
    }
    let encoding = match parts.headers.get("grpc-encoding").map(|v| v.to_str()) {
        None => Ok(None),
        Some(Ok(name)) => Encoding::from_name(name),
        Some(Err(_)) => Err(Status::internal("grpc-encoding is not ASCII")),
    };
    lock(&shared.inbound).headers(Metadata::from_headers(&parts.headers));
    read_body(&shared, body, encoding).await;
}

/// Resolves once the call's queue of undelivered messages has room (see
/// [`Inbound::has_room`]); until then the stream's unread data stays in h2,
/// whose flow-control window stalls the server.
async fn room_to_read<Req, Resp>(shared: &Arc<Shared<Req, Resp>>)
where
    Req: Send + 'static,
    Resp: Send + 'static,
{
    // Counted as stalled while it waits, so the connection window makes
    // room for what h2 holds of this stream (see `transport::window`).
    let mut stall = None;
    std::future::poll_fn(|cx| {
        let mut inbound = lock(&shared.inbound);
        if inbound.has_room() {
            Poll::Ready(())
        } else {
            inbound.park_reader(cx.waker().clone());
            drop(inbound);
            stall.get_or_insert_with(|| shared.transport.stalled.stall());
            Poll::Pending
        }
    })
    .await
}

async fn read_body<Req: Send + 'static, Resp: Send + 'static>(
    shared: &Arc<Shared<Req, Resp>>,
    mut body: RecvStream,
    encoding: Result<Option<Encoding>, Status>,
) {
    let mut deframer = Deframer::new(shared.spec.max_inbound, encoding);
    let mut received = 0usize;
    loop {
        room_to_read(shared).await;
        let Some(chunk) = body.data().await else {
            break;
        };
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let status = status_from_h2(&error, "receiving response messages");
                return shared.transport_close(status);
            }
        };
        let _ = body.flow_control().release_capacity(chunk.len());
        deframer.push(chunk);
        // One lock for the whole DATA frame's messages.
        let failure = {
            let mut inbound = lock(&shared.inbound);
            loop {
                match deframer.next_message() {
                    Ok(Some(_)) if shared.spec.single_response && received == 1 => {
                        break Some(Status::internal(
                            "server sent more than one response to a unary call",
                        ));
                    }
                    Ok(Some(message)) => {
                        received += 1;
                        inbound.message(message);
                    }
                    Ok(None) => break None,
                    Err(status) => break Some(status),
                }
            }
        };
        if let Some(status) = failure {
            shared.record_failure(status);
            return;
        }
        if shared.is_closing() {
            return;
        }
    }
    if !deframer.is_idle() {
        shared.record_failure(Status::internal(
            "server ended the response in the middle of a message",
        ));
        return;
    }
    let status = match body.trailers().await {
        Ok(Some(trailers)) => Status::from_header_map(&trailers).unwrap_or_else(|| {
            Status::internal("server ended the response without a grpc-status trailer")
        }),
        Ok(None) => Status::internal("server ended the response without trailers"),
        Err(error) => status_from_h2(&error, "receiving response trailers"),
    };
    let trailers = status.trailers().clone();
    shared.remote_close(status, trailers);
}

impl<Req: Send + 'static, Resp: Send + 'static> Wake for Shared<Req, Resp> {
    fn wake(self: Arc<Self>) {
        self.wake_reader();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_reader();
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Deferred for Shared<Req, Resp> {
    fn run_deferred(self: Arc<Self>) {
        self.reader.clear_wake_note();
        if self.hand_to_parked_caller() {
            return;
        }
        // Nobody is sure to read soon (a future's waker may never poll
        // again; an iterator may not be iterated): read here, on the
        // connection task's thread with h2's lock free, so what arrived
        // leaves h2 at once and its flow-control windows reopen whether or
        // not the caller ever comes back. Other calls on the connection
        // never wait for this one's caller. Decoding and callbacks stay on
        // the caller's executor: `read_now` queues a pump for them.
        self.read_now();
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Shared<Req, Resp> {
    /// Queues a pump for a caller parked in its blocking wait, who then
    /// reads on its own thread before its wait returns. False, with
    /// nothing queued, if no thread is parked, or if a pump is already
    /// queued and not run (its caller may be gone: the connection reads).
    fn hand_to_parked_caller(self: &Arc<Self>) -> bool {
        self.queue_pump(ThreadlessExecutor::execute_if_parked)
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Drop for H2Call<Req, Resp> {
    fn drop(&mut self) {
        // Nothing to do once the call ended; otherwise this also breaks the
        // cycle between the call's state and its reader (see `Shared::reader`).
        if !self.shared.is_closing() {
            self.cancel(Status::cancelled("the call was dropped before it ended"));
        }
    }
}
