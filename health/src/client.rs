//! [`HealthClient`]: `Check` and `Watch` of `grpc.health.v1.Health`,
//! answering in [`ServingStatus`], blocking and async.
//!
//! Owns the translation between the generated messages and the public
//! types, and the wording of a `NOT_FOUND` answer (it names the service).
//! Every call goes through the generated method descriptors and the
//! runtime's call helpers, so it has the call options of the client (it
//! implements [`Stub`]) and nothing else: no retry, no cache, no
//! background task. Must not panic on anything a server sends.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use switchboard::stub::{
    BlockingResponseStream, ResponseStream, Stub, UnaryFuture, async_server_streaming_call,
    blocking_server_streaming_call, blocking_unary_call, future_unary_call,
};
use switchboard::{CallOptions, Channel, Code, Status};

use crate::pb::health_client::{CHECK, WATCH};
use crate::pb::{HealthCheckRequest, HealthCheckResponse};
use crate::status::ServingStatus;

/// A client of a server's `grpc.health.v1.Health` service.
///
/// Cheap to clone (clones share the channel). Its call options
/// (`with_deadline_after`, `with_wait_for_ready`, …) come from [`Stub`]
/// (`use switchboard::prelude::*;`) and apply to every call made through the
/// client they return; give `check` a deadline, as the protocol asks.
///
/// The service name `""` means the server as a whole.
#[derive(Clone, Debug)]
pub struct HealthClient {
    channel: Channel,
    options: CallOptions,
}

impl Stub for HealthClient {
    fn from_parts(channel: Channel, options: CallOptions) -> Self {
        HealthClient { channel, options }
    }

    fn into_parts(self) -> (Channel, CallOptions) {
        (self.channel, self.options)
    }

    fn channel(&self) -> &Channel {
        &self.channel
    }

    fn options(&self) -> &CallOptions {
        &self.options
    }
}

impl HealthClient {
    /// A client that makes its calls on `channel`, with default call
    /// options.
    pub fn new(channel: Channel) -> HealthClient {
        HealthClient {
            channel,
            options: CallOptions::new(),
        }
    }

    /// Asks for the status of `service` (`""`: the whole server) and blocks
    /// until the answer.
    ///
    /// `Err` with `NOT_FOUND` (its message naming the service) if the
    /// server does not know the service, `UNIMPLEMENTED` if it has no
    /// health service, or the call's error.
    pub fn check(&self, service: &str) -> Result<ServingStatus, Status> {
        blocking_unary_call(&self.channel, &CHECK, &self.options, request(service))
            .map(|response| status_of(&response))
            .map_err(|status| check_error(service, status))
    }

    /// [`check`](Self::check) as a future: the call starts now; the future
    /// runs on any executor (or [`CheckFuture::wait`] blocks), and dropping
    /// it before it completes cancels the call.
    pub fn check_async(&self, service: &str) -> CheckFuture {
        CheckFuture {
            call: future_unary_call(&self.channel, &CHECK, &self.options, request(service)),
            service: service.to_owned(),
        }
    }

    /// Watches `service` (`""`: the whole server): a blocking iterator that
    /// yields its status now and again every time it changes.
    ///
    /// A service the server does not know yields
    /// [`ServingStatus::ServiceUnknown`] (and the watch goes on: the service
    /// may appear). The iterator ends after an `Err` when the call ends
    /// (e.g. its deadline, or `UNIMPLEMENTED` from a server without
    /// `Watch`); dropping it cancels the call.
    pub fn watch(&self, service: &str) -> Watch {
        Watch {
            responses: blocking_server_streaming_call(
                &self.channel,
                &WATCH,
                &self.options,
                request(service),
            ),
        }
    }

    /// [`watch`](Self::watch) as a `futures::Stream`: the call starts now,
    /// the stream runs on any executor, and dropping it cancels the call.
    pub fn watch_async(&self, service: &str) -> WatchStream {
        WatchStream {
            responses: async_server_streaming_call(
                &self.channel,
                &WATCH,
                &self.options,
                request(service),
            ),
        }
    }
}

/// The answer of a [`HealthClient::check_async`] call under way.
///
/// Resolves on any executor, or [`wait`](Self::wait) blocks. Dropping it
/// before it completes cancels the call.
#[must_use = "a CheckFuture cancels its call when dropped"]
pub struct CheckFuture {
    call: UnaryFuture<HealthCheckResponse>,
    service: String,
}

impl CheckFuture {
    /// Blocks the calling thread until the answer; needs no async runtime.
    pub fn wait(self) -> Result<ServingStatus, Status> {
        let CheckFuture { call, service } = self;
        call.wait()
            .map(|response| status_of(&response))
            .map_err(|status| check_error(&service, status))
    }
}

impl Future for CheckFuture {
    type Output = Result<ServingStatus, Status>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        Pin::new(&mut this.call).poll(cx).map(|result| {
            result
                .map(|response| status_of(&response))
                .map_err(|status| check_error(&this.service, status))
        })
    }
}

impl fmt::Debug for CheckFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckFuture")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The statuses of a [`HealthClient::watch`]: a blocking iterator of
/// `Result<ServingStatus, Status>`.
///
/// Each change is `Ok`; an error end is yielded once as `Err`, then the
/// iteration stops. Dropping it cancels the call.
#[derive(Debug)]
pub struct Watch {
    responses: BlockingResponseStream<HealthCheckResponse>,
}

impl Iterator for Watch {
    type Item = Result<ServingStatus, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        self.responses
            .next()
            .map(|item| item.map(|response| status_of(&response)))
    }
}

/// The statuses of a [`HealthClient::watch_async`]: a `futures::Stream` of
/// `Result<ServingStatus, Status>`, with the items of [`Watch`].
///
/// Runs on any executor; dropping it cancels the call.
#[derive(Debug)]
pub struct WatchStream {
    responses: ResponseStream<HealthCheckResponse>,
}

impl Stream for WatchStream {
    type Item = Result<ServingStatus, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.responses)
            .poll_next(cx)
            .map(|item| item.map(|item| item.map(|response| status_of(&response))))
    }
}

fn request(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

/// The response's status; a value this build does not know is `Unknown`.
fn status_of(response: &HealthCheckResponse) -> ServingStatus {
    ServingStatus::from_wire(response.status)
}

/// A `Check` error as the caller should read it: `NOT_FOUND` names the
/// service (grpcio sends no message with it); the server's own status stays
/// reachable as the error's `source()`. Other errors pass unchanged.
fn check_error(service: &str, status: Status) -> Status {
    if status.code() != Code::NotFound {
        return status;
    }
    let mut message = format!("health check: the server does not know the service {service:?}");
    if !status.message().is_empty() {
        message.push_str(" (");
        message.push_str(status.message());
        message.push(')');
    }
    Status::new(Code::NotFound, message)
        .with_origin(status.origin())
        .with_details(status.details().clone())
        .with_trailers(status.trailers().clone())
        .with_source(status)
}

#[cfg(test)]
mod tests {
    use switchboard::Origin;

    use super::*;

    #[test]
    fn not_found_names_the_service_and_keeps_the_servers_status() {
        use std::error::Error as _;
        let server = Status::new(Code::NotFound, "").with_origin(Origin::Server);
        let status = check_error("no.such.Service", server);
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.origin(), Origin::Server);
        assert_eq!(
            status.message(),
            "health check: the server does not know the service \"no.such.Service\""
        );
        let source = status.source().and_then(|e| e.downcast_ref::<Status>());
        assert_eq!(source.map(Status::code), Some(Code::NotFound));

        let with_message = check_error("x", Status::new(Code::NotFound, "unknown service"));
        assert!(
            with_message.message().ends_with("\"x\" (unknown service)"),
            "{}",
            with_message.message()
        );
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let status = check_error("x", Status::unimplemented("no health here"));
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(status.message(), "no health here");
    }
}
