//! The real call: one gRPC call on one HTTP/2 stream (layer: call).
//!
//! Owns the call's state ([`Shared`]) and its [`ClientCall`] face: starting
//! the stream, queueing request messages, flow control for senders, cancel.
//! The jobs around it each have a file:
//! - [`request`]: the request headers of PROTOCOL-HTTP2 (`:method POST`,
//!   `:scheme`, `:path`, `:authority`, `content-type: application/grpc`,
//!   `te: trailers`, `user-agent`, `grpc-timeout`, custom metadata), a pure
//!   function;
//! - [`response`]: the response headers read as a gRPC response, a
//!   trailers-only response, or HTTP status mapped to a code when no
//!   `grpc-status` came, a pure function;
//! - [`outbound`]: the send side: queued DATA, flushing, half-close;
//! - [`retry`]: waiting for response headers, and the transparent retry of a
//!   stream the server did not process;
//! - [`reader`]: the response reader: length-prefixed messages, trailers,
//!   RST_STREAM/GOAWAY mapped through [`crate::transport::error`];
//! - [`pump`]: who polls the reader and delivers to the listener;
//! - [`close`]: the one way a call ends, and its ordering rules.
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
//! INTERNAL. Every end goes through [`Shared::close`], whose docs hold the
//! ordering rules.

mod close;
mod outbound;
mod pump;
mod reader;
mod request;
mod response;
mod retry;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use http::Request;

use crate::call::delivery::{Inbound, Initiator, LocalEnd};
use crate::call::reader_slot::ReaderSlot;
use crate::call::replay::Replay;
use crate::call::{ClientCall, Listener, catch_user_panic};
use crate::codec::{Codec, encode_frame};
use crate::compression::Encoding;
use crate::deadline::Deadline;
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, MutexGuard, atomic::AtomicBool, atomic::Ordering, lock};
use crate::transport::{ConnectionShared, H2Connection};
use outbound::{FLUSH_THRESHOLD, OUTBOUND_RESERVE, Outbound};
use reader::{ReaderFuture, drive};
use request::RequestHead;

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

/// The state of one call, shared by its caller, its reader and its pump.
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

impl<Req: Send + 'static, Resp: Send + 'static> H2Call<Req, Resp> {
    /// A call that will open its stream on `transport` when started.
    pub(crate) fn new(transport: H2Connection, spec: CallSpec<Req, Resp>) -> Self {
        let H2Connection {
            send,
            shared: common,
        } = transport;
        let out = Outbound {
            claim: Some(common.claim()),
            ..Outbound::default()
        };
        H2Call {
            shared: Arc::new(Shared {
                transport: common,
                opener: Mutex::new(Some(send)),
                spec,
                out: Mutex::new(out),
                inbound: Mutex::new(Inbound::new()),
                reader: ReaderSlot::new(),
                compress: AtomicBool::new(true),
            }),
        }
    }

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
        if let Err(status) = shared.open_stream(headers)
            && shared.close(Initiator::Local(LocalEnd::Failure), status, Metadata::new())
        {
            shared.schedule_pump();
        }
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
        let by = Initiator::Local(LocalEnd::Cancel);
        if self.shared.close(by, status, Metadata::new()) {
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

    /// The request headers for this call with `metadata`, as sent now (the
    /// deadline's remaining time becomes `grpc-timeout`).
    fn build_request(&self, metadata: &Metadata) -> Result<Request<()>, Status> {
        request::build_request(&RequestHead {
            path: self.spec.path,
            scheme: &self.transport.scheme,
            authority: &self.transport.authority,
            user_agent: &self.transport.user_agent,
            encoding: self.spec.send_encoding,
            timeout: self.spec.deadline.map(Deadline::remaining),
            metadata,
        })
    }

    /// The body of `start` once the listener is in: opens the stream and
    /// installs the reader. An error is a local failure the caller closes
    /// the call with; `Ok` also covers a call cancelled meanwhile.
    fn open_stream(self: &Arc<Self>, headers: Metadata) -> Result<(), Status> {
        if let Some(deadline) = self.spec.deadline
            && deadline.is_expired()
        {
            return Err(Status::deadline_exceeded(
                "deadline exceeded before the call could start its stream",
            ));
        }
        let request = self.build_request(&headers)?;
        let Some(mut send) = lock(&self.opener).take() else {
            return Err(Status::internal("call started twice"));
        };
        let opened = send.send_request(request, false);
        drop(send);
        let mut out = lock(&self.out);
        if out.done {
            // Cancelled while the request was being built.
            if let Ok((_, mut stream)) = opened {
                stream.send_reset(h2::Reason::CANCEL);
            }
            return Ok(());
        }
        out.replay = self.transport.source.as_ref().map(|_| Replay::new(headers));
        let reader: ReaderFuture = match opened {
            Ok((response, stream)) => {
                out.stream = Some(stream);
                out.active = self.transport.stream_opened();
                Box::pin(drive(self.clone(), Ok(response)))
            }
            Err(error) => {
                // The connection is going away under us: the reader retries
                // on the next one, or reports this error.
                self.transport.mark_broken();
                Box::pin(drive(self.clone(), Err(error)))
            }
        };
        drop(out);
        if !self.reader.install(reader) {
            // Cancelled meanwhile; the reader was dropped.
            return Ok(());
        }
        // The first poll registers the reader with h2; should it already
        // have recorded something (an immediate failure), deliver it.
        self.read_now();
        Ok(())
    }

    /// Whether an end is recorded (delivered or not).
    fn is_closing(&self) -> bool {
        lock(&self.inbound).is_closing()
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
