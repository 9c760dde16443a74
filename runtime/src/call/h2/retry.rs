//! Waiting for an h2 call's response headers, with the transparent retry
//! of a stream the server did not process (layer: call).
//!
//! Owns [`response_headers`] and [`Shared::retry`]: a stream that could not
//! even be opened, or that the server refused unprocessed (REFUSED_STREAM,
//! above a GOAWAY's last stream id; see [`unprocessed`]), is sent again on
//! the channel's next ready connection from what [`Replay`] kept, once for a
//! refused stream, as often as it takes for one never opened. The replay is
//! dropped once response headers arrive: the server has the call then.
//!
//! [`Replay`]: crate::call::replay::Replay

use std::sync::Arc;

use h2::RecvStream;
use h2::client::ResponseFuture;
use http::Response;

use crate::status::Status;
use crate::sync::lock;
use crate::transport::unprocessed;

use super::Shared;

/// Resolves to the response (headers, and the body to read) of the stream
/// `opened`, retrying transparently where that is allowed; otherwise to the
/// status the connection ended the call with.
pub(super) async fn response_headers<Req: Send + 'static, Resp: Send + 'static>(
    shared: &Arc<Shared<Req, Resp>>,
    opened: Result<ResponseFuture, h2::Error>,
) -> Result<Response<RecvStream>, Status> {
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
        let retry = never_opened || (unprocessed(&error) && !retried);
        let going_away = error.is_go_away();
        let status = shared
            .transport
            .stream_failure(error, "waiting for response headers");
        if !retry {
            return Err(status);
        }
        if never_opened || going_away {
            // This connection takes no new streams; a refused stream alone
            // leaves it usable.
            shared.transport.mark_broken();
        }
        match shared.retry().await {
            Some(response) => {
                retried |= !never_opened;
                opened = Ok(response);
            }
            None => return Err(status),
        }
    };
    // The server has the call now: nothing more to replay.
    lock(&shared.out).replay = None;
    Ok(response)
}

impl<Req: Send + 'static, Resp: Send + 'static> Shared<Req, Resp> {
    /// Sends the call again on the channel's next ready connection, if it is
    /// still replayable; the new stream's response, or `None`.
    async fn retry(self: &Arc<Self>) -> Option<ResponseFuture> {
        let source = self.transport.source.clone()?;
        {
            let mut out = lock(&self.out);
            out.replay.as_ref()?;
            // Until the new stream is in place, sends queue up in `pending`.
            out.stream = None;
            out.active = None;
        }
        let transport = source.next_ready(self.spec.wait_for_ready).await.ok()?;
        let mut out = lock(&self.out);
        let replay = out.replay.take()?;
        if out.done {
            return None;
        }
        let request = self.build_request(&replay.headers).ok()?;
        let active = transport.shared.stream_opened();
        out.claim = Some(transport.shared.claim());
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
        out.active = active;
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
}
