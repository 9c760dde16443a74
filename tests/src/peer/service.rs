//! The tonic plumbing of the `Echo` service, written by hand the way
//! tonic-build's output is: a [`tower`-style `Service`](Service) over HTTP
//! requests that routes by path, decodes and encodes with the prost codec
//! through [`Grpc`], and calls the handlers through tonic's [`UnaryService`],
//! [`ServerStreamingService`], [`ClientStreamingService`] and
//! [`StreamingService`] traits.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{BoxFuture, BoxStream, Service, StdError};
use tonic::server::{
    ClientStreamingService, Grpc, NamedService, ServerStreamingService, StreamingService,
    UnaryService,
};
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use crate::peer::counters::Counters;
use crate::peer::echo::{
    ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, ECHO_SERVICE_NAME,
    ECHO_UNARY_PATH, EchoRequest, EchoResponse, StreamRequest,
};
use crate::peer::{handler, trailers};

/// Largest message the server decodes or encodes: 64 MiB.
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// The `switchboard.test.Echo` service, ready to add to a tonic server.
#[derive(Clone, Debug)]
pub(crate) struct EchoServer {
    counters: Counters,
}

impl EchoServer {
    /// A service that records its calls in `counters`.
    pub(crate) fn new(counters: Counters) -> Self {
        Self { counters }
    }
}

impl NamedService for EchoServer {
    const NAME: &'static str = ECHO_SERVICE_NAME;
}

/// The prost codec with the server's message size limits, decoding `Req`
/// and encoding `Resp`.
fn grpc<Resp, Req>() -> Grpc<ProstCodec<Resp, Req>>
where
    Resp: prost::Message + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
{
    Grpc::new(ProstCodec::default())
        .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), Some(MAX_MESSAGE_SIZE))
}

impl<B> Service<http::Request<B>> for EchoServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let counters = self.counters.clone();
        // Echoed into the trailers of every response that has a trailers
        // frame (not of trailers-only error responses).
        let extra_trailers = handler::echo_headers(req.headers());
        match req.uri().path() {
            ECHO_UNARY_PATH => Box::pin(async move {
                let response = grpc().unary(UnarySvc { counters }, req).await;
                Ok(trailers::with_extra_trailers(response, extra_trailers))
            }),
            ECHO_SERVER_STREAM_PATH => Box::pin(async move {
                let method = ServerStreamSvc { counters };
                let response = grpc().server_streaming(method, req).await;
                Ok(trailers::with_extra_trailers(response, extra_trailers))
            }),
            ECHO_CLIENT_STREAM_PATH => Box::pin(async move {
                let method = ClientStreamSvc { counters };
                let response = grpc().client_streaming(method, req).await;
                Ok(trailers::with_extra_trailers(response, extra_trailers))
            }),
            ECHO_BIDI_PATH => Box::pin(async move {
                let response = grpc().streaming(BidiSvc { counters }, req).await;
                Ok(trailers::with_extra_trailers(response, extra_trailers))
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

/// Adapter from tonic's [`UnaryService`] to [`handler::unary`].
struct UnarySvc {
    counters: Counters,
}

impl UnaryService<EchoRequest> for UnarySvc {
    type Response = EchoResponse;
    type Future = BoxFuture<Response<EchoResponse>, Status>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        Box::pin(handler::unary(self.counters.clone(), request))
    }
}

/// Adapter from tonic's [`ServerStreamingService`] to [`handler::server_stream`].
struct ServerStreamSvc {
    counters: Counters,
}

impl ServerStreamingService<StreamRequest> for ServerStreamSvc {
    type Response = EchoResponse;
    type ResponseStream = BoxStream<EchoResponse>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<StreamRequest>) -> Self::Future {
        Box::pin(handler::server_stream(self.counters.clone(), request))
    }
}

/// Adapter from tonic's [`ClientStreamingService`] to [`handler::client_stream`].
struct ClientStreamSvc {
    counters: Counters,
}

impl ClientStreamingService<EchoRequest> for ClientStreamSvc {
    type Response = EchoResponse;
    type Future = BoxFuture<Response<EchoResponse>, Status>;

    fn call(&mut self, request: Request<Streaming<EchoRequest>>) -> Self::Future {
        Box::pin(handler::client_stream(self.counters.clone(), request))
    }
}

/// Adapter from tonic's [`StreamingService`] to [`handler::bidi`].
struct BidiSvc {
    counters: Counters,
}

impl StreamingService<EchoRequest> for BidiSvc {
    type Response = EchoResponse;
    type ResponseStream = BoxStream<EchoResponse>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Streaming<EchoRequest>>) -> Self::Future {
        Box::pin(handler::bidi(self.counters.clone(), request))
    }
}
