//! The handlers of the tonic peer: [`TestServiceImpl`] implements tonic's
//! generated `TestService` trait with the server features of gRPC's
//! `doc/interop-test-descriptions.md` (EmptyCall, UnaryCall,
//! StreamingOutputCall, StreamingInputCall, FullDuplexCall, HalfDuplexCall,
//! CompressedRequest, CompressedResponse, Echo Status, Observe
//! `ResponseParameters.interval_us`). UnimplementedCall fails with
//! UNIMPLEMENTED.
//!
//! Compression and metadata echo need the wire, so they live in
//! [`crate::wire`]; handlers only talk to it through the call's
//! [`MessageFlags`]: one `next_received` per request message they decode,
//! one `plan_response` per response message, just before handing it over.
//! Without [`Wire`](crate::wire::Wire) in front (no flags in the request
//! extensions) nothing is compressed and an `expect_compressed` fails with
//! INTERNAL.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::payload::{body_len, check_compressed, echo_status, zeros};
use crate::pb::test_service_server::TestService;
use crate::pb::{
    Empty, SimpleRequest, SimpleResponse, StreamingInputCallRequest, StreamingInputCallResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use crate::wire::MessageFlags;

/// How many response messages a streaming handler may queue ahead of tonic.
const RESPONSE_QUEUE: usize = 4;

/// The stream of response messages of the streaming methods.
pub type ResponseStream = ReceiverStream<Result<StreamingOutputCallResponse, Status>>;

type ResponseSender = mpsc::Sender<Result<StreamingOutputCallResponse, Status>>;

/// The interop `TestService` handlers. Stateless: every call stands alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestServiceImpl;

/// The flags [`Wire`](crate::wire::Wire) attached to `request`, if any.
fn flags_of<T>(request: &Request<T>) -> Option<MessageFlags> {
    request.extensions().get::<MessageFlags>().cloned()
}

#[tonic::async_trait]
impl TestService for TestServiceImpl {
    async fn empty_call(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Response::new(Empty {}))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let flags = flags_of(&request);
        let request = request.into_inner();
        check_compressed(
            request.expect_compressed.as_ref(),
            flags.as_ref().and_then(MessageFlags::next_received),
        )?;
        echo_status(request.response_status.as_ref())?;
        let payload = zeros(request.response_type, request.response_size)?;
        if let Some(flags) = &flags {
            flags.plan_response(request.response_compressed.is_some_and(|c| c.value));
        }
        Ok(Response::new(SimpleResponse {
            payload: Some(payload),
            ..SimpleResponse::default()
        }))
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let flags = flags_of(&request);
        let request = request.into_inner();
        echo_status(request.response_status.as_ref())?;
        let (tx, rx) = mpsc::channel(RESPONSE_QUEUE);
        tokio::spawn(async move {
            if let Err(status) = respond(&request, flags.as_ref(), &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let flags = flags_of(&request);
        let mut messages = request.into_inner();
        let mut total: u64 = 0;
        while let Some(message) = messages.message().await? {
            check_compressed(
                message.expect_compressed.as_ref(),
                flags.as_ref().and_then(MessageFlags::next_received),
            )?;
            total = total.saturating_add(body_len(message.payload.as_ref()) as u64);
        }
        let aggregated_payload_size = i32::try_from(total).map_err(|_| {
            Status::out_of_range(format!("{total} payload bytes do not fit an int32"))
        })?;
        Ok(Response::new(StreamingInputCallResponse {
            aggregated_payload_size,
        }))
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let flags = flags_of(&request);
        let mut requests = request.into_inner();
        let (tx, rx) = mpsc::channel(RESPONSE_QUEUE);
        tokio::spawn(async move {
            let outcome = async {
                while let Some(request) = requests.message().await? {
                    skip_received(flags.as_ref());
                    respond(&request, flags.as_ref(), &tx).await?;
                }
                Ok::<(), Status>(())
            };
            if let Err(status) = outcome.await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let flags = flags_of(&request);
        let mut requests = request.into_inner();
        let (tx, rx) = mpsc::channel(RESPONSE_QUEUE);
        tokio::spawn(async move {
            let outcome = async {
                let mut buffered = Vec::new();
                while let Some(request) = requests.message().await? {
                    skip_received(flags.as_ref());
                    buffered.push(request);
                }
                for request in &buffered {
                    respond(request, flags.as_ref(), &tx).await?;
                }
                Ok::<(), Status>(())
            };
            if let Err(status) = outcome.await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "grpc.testing.TestService/UnimplementedCall is not implemented",
        ))
    }
}

/// Drops the compressed flag of a request message nobody checks, keeping
/// the queue in step with the messages.
fn skip_received(flags: Option<&MessageFlags>) {
    if let Some(flags) = flags {
        let _ = flags.next_received();
    }
}

/// Sends the responses `request` asks for, in order: for each
/// `ResponseParameters`, waits `interval_us`, then sends a payload of `size`
/// zeros, compressed if `compressed` says so.
///
/// `Err` ends the call with that status: the request's `response_status`
/// (checked first, so none of its responses are sent), a bad size, or
/// CANCELLED when the client is gone.
async fn respond(
    request: &StreamingOutputCallRequest,
    flags: Option<&MessageFlags>,
    tx: &ResponseSender,
) -> Result<(), Status> {
    echo_status(request.response_status.as_ref())?;
    for parameters in &request.response_parameters {
        if let Ok(micros) = u64::try_from(parameters.interval_us)
            && micros > 0
        {
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
        let payload = zeros(request.response_type, parameters.size)?;
        if let Some(flags) = flags {
            flags.plan_response(parameters.compressed.is_some_and(|c| c.value));
        }
        let response = StreamingOutputCallResponse {
            payload: Some(payload),
        };
        if tx.send(Ok(response)).await.is_err() {
            return Err(Status::cancelled("the client went away"));
        }
    }
    Ok(())
}
