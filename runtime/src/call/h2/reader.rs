//! The response reader of an h2 call (layer: call).
//!
//! Owns [`drive`], the future that reads one call's response out of h2:
//! it waits for the response headers ([`retry`](super::retry)), acts on
//! what they say ([`response`](super::response)), then deframes DATA into
//! length-prefixed messages, bounded by the inbound limit and by the call's
//! queue of undelivered messages (past its high-water mark the reader parks
//! and h2 flow control stalls the server), and reads the trailers. It only
//! records events into [`Inbound`](crate::call::delivery::Inbound) and ends
//! the call through [`Shared::close`]; the pump that polls it delivers
//! (see [`pump`](super::pump)). It never decodes and never runs user code.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use h2::RecvStream;
use h2::client::ResponseFuture;

use crate::call::delivery::{Initiator, LocalEnd};
use crate::codec::Deframer;
use crate::compression::Encoding;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::lock;

use super::Shared;
use super::response::{ResponseHead, parse_response_head};
use super::retry::response_headers;

/// The response reader ([`drive`]), polled by the call's
/// [`ReaderSlot`](crate::call::reader_slot::ReaderSlot).
pub(super) type ReaderFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the reader ends a call whose response breaks the protocol.
const FAILURE: Initiator = Initiator::Local(LocalEnd::Failure);

/// Reads the response of one call: the call's reader. Every end it finds is
/// recorded with [`Shared::close`], whose pump scheduling is left to whoever
/// polls the reader (see there).
pub(super) async fn drive<Req: Send + 'static, Resp: Send + 'static>(
    shared: Arc<Shared<Req, Resp>>,
    opened: Result<ResponseFuture, h2::Error>,
) {
    let response = match response_headers(&shared, opened).await {
        Ok(response) => response,
        Err(status) => {
            shared.close(Initiator::Connection, status, Metadata::new());
            return;
        }
    };
    let (parts, body) = response.into_parts();
    match parse_response_head(parts.status, &parts.headers) {
        ResponseHead::TrailersOnly { status, trailers } => {
            shared.close(Initiator::Peer, status, trailers);
        }
        ResponseHead::NotGrpc(status) => {
            shared.close(FAILURE, status, Metadata::new());
        }
        ResponseHead::Headers { metadata, encoding } => {
            lock(&shared.inbound).headers(metadata);
            read_body(&shared, body, encoding).await;
        }
    }
}

/// Resolves once the call's queue of undelivered messages has room (see
/// [`Inbound::has_room`](crate::call::delivery::Inbound::has_room)); until
/// then the stream's unread data stays in h2, whose flow-control window
/// stalls the server.
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

/// Reads the messages and trailers of a response whose headers came, and
/// ends the call with what it finds.
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
                let status = shared
                    .transport
                    .stream_failure(error, "receiving response messages");
                shared.close(Initiator::Connection, status, Metadata::new());
                return;
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
            shared.close(FAILURE, status, Metadata::new());
            return;
        }
        if shared.is_closing() {
            return;
        }
    }
    if !deframer.is_idle() {
        let status = Status::internal("server ended the response in the middle of a message");
        shared.close(FAILURE, status, Metadata::new());
        return;
    }
    let (by, status) = match body.trailers().await {
        Ok(Some(trailers)) => (
            Initiator::Peer,
            Status::from_header_map(&trailers).unwrap_or_else(|| {
                Status::internal("server ended the response without a grpc-status trailer")
            }),
        ),
        Ok(None) => (
            Initiator::Peer,
            Status::internal("server ended the response without trailers"),
        ),
        Err(error) => (
            Initiator::Connection,
            shared
                .transport
                .stream_failure(error, "receiving response trailers"),
        ),
    };
    let trailers = status.trailers().clone();
    shared.close(by, status, trailers);
}
