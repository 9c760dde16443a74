//! The tonic plumbing of the `Echo` service, written by hand the way
//! tonic-build's output is: a [`tower`-style `Service`](Service) over HTTP
//! requests that routes by path, decodes and encodes with the prost codec
//! through [`Grpc`], and calls the handler through a [`UnaryService`].

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::counters::Counters;
use crate::echo::{ECHO_SERVICE_NAME, ECHO_UNARY_PATH, EchoRequest, EchoResponse};
use crate::{handler, trailers};

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
        match req.uri().path() {
            ECHO_UNARY_PATH => {
                let extra_trailers = handler::echo_headers(req.headers());
                let method = UnarySvc {
                    counters: self.counters.clone(),
                };
                Box::pin(async move {
                    let mut grpc = Grpc::new(ProstCodec::default()).apply_max_message_size_config(
                        Some(MAX_MESSAGE_SIZE),
                        Some(MAX_MESSAGE_SIZE),
                    );
                    let response = grpc.unary(method, req).await;
                    Ok(trailers::with_extra_trailers(response, extra_trailers))
                })
            }
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
