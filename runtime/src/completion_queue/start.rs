//! Starting calls on a completion queue (layer: stub): one method per kind
//! of call, each taking the method's [`MethodDescriptor`] (generated code's
//! constants, e.g. `greeter_client::SAY_HELLO`), so no generated code
//! changes.
//!
//! A call starts as the stubs' calls do ([`start_call`]: interceptors,
//! then the channel's pending or real call, rule 5), with the queue's
//! executor as its executor and a listener that feeds the queue. The queue
//! takes its place first, so a call that closes at once (a refusing
//! interceptor, a fail-fast call on a failed channel) still counts until
//! its end reached the queue.

use std::sync::Arc;

use crate::call::ClientCall;
use crate::channel::{Channel, ChannelCall};
use crate::codec::Codec;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::stub::start_call;

use super::CompletionQueue;
use super::call_state::{CallState, FinishTag, QueueListener, WINDOW};
use super::core::{CallControl, Core};
use super::handles::{BidiStream, ClientStream, Receive, Sending, ServerStream, UnaryCall};
use super::send::SendSide;

/// A started call: the call, its receiving side and its id on the queue.
type Started<Req, Resp, E> = (Arc<ChannelCall<Req, Resp>>, Arc<CallState<Resp, E>>, u64);

/// Starts a call on the queue. `finish` is a unary call's tag (any other
/// call gets a handle, which keeps it on the queue); `streaming` calls
/// keep [`WINDOW`] messages requested, the others two (a second response
/// fails them).
fn start<Req, Resp, C, E>(
    core: &Arc<Core<E>>,
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    finish: Option<FinishTag<Resp, E>>,
    streaming: bool,
) -> Result<Started<Req, Resp, E>, Status>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    E: 'static,
{
    let unary = finish.is_some();
    let id = core.register(!unary, unary)?;
    let state = Arc::new(CallState::new(finish, streaming));
    let listener = QueueListener::new(core.clone(), state.clone(), id);
    let call = Arc::new(start_call(
        channel,
        method,
        options,
        core.executor.clone(),
        Box::new(listener),
    ));
    core.attach(id, call.clone());
    ClientCall::request(&*call, if streaming { WINDOW } else { 2 });
    Ok((call, state, id))
}

/// The receiving half of a started stream.
fn receive<Req, Resp, E>(core: &Arc<Core<E>>, started: &Started<Req, Resp, E>) -> Receive<Resp, E>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    E: 'static,
{
    let call: Arc<dyn CallControl> = started.0.clone();
    Receive::new(core.clone(), call, started.1.clone(), started.2)
}

/// The sending half of a started stream.
fn sending<Req, Resp, E>(
    core: &Arc<Core<E>>,
    started: Started<Req, Resp, E>,
) -> Sending<Req, Resp, E>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    E: 'static,
{
    let (call, state, _) = started;
    Sending::new(core.clone(), SendSide::new(core.clone(), call, state))
}

impl<E: 'static> CompletionQueue<E> {
    /// Starts a unary call; when it ends, `tag` turns its result into the
    /// event [`next`](Self::next) returns.
    ///
    /// The request is sent now (encoded on this thread). `Err` (and `tag`
    /// is dropped, never called) after [`shutdown`](Self::shutdown).
    /// Deadlines, metadata and interceptors come from `options`, as for
    /// every call; the returned handle only cancels, and dropping it does
    /// not.
    pub fn unary<Req, Resp, C, F>(
        &self,
        channel: &Channel,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
        request: Req,
        tag: F,
    ) -> Result<UnaryCall, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
        F: FnOnce(Result<Resp, Status>) -> E + Send + 'static,
    {
        let finish = FinishTag::Response(Box::new(tag));
        let (call, _, _) = start(&self.core, channel, method, options, Some(finish), false)?;
        ClientCall::send_last(&*call, request);
        Ok(UnaryCall::new(call))
    }

    /// Starts a server-streaming call with its one request (sent now);
    /// read the responses through the returned handle.
    ///
    /// `Err` after [`shutdown`](Self::shutdown).
    pub fn server_streaming<Req, Resp, C>(
        &self,
        channel: &Channel,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
        request: Req,
    ) -> Result<ServerStream<Resp, E>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
    {
        let started = start(&self.core, channel, method, options, None, true)?;
        ClientCall::send_last(&*started.0, request);
        Ok(ServerStream::new(receive(&self.core, &started)))
    }

    /// Starts a client-streaming call; write the requests and finish
    /// through the returned handle.
    ///
    /// `Err` after [`shutdown`](Self::shutdown).
    pub fn client_streaming<Req, Resp, C>(
        &self,
        channel: &Channel,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
    ) -> Result<ClientStream<Req, Resp, E>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
    {
        let started = start(&self.core, channel, method, options, None, false)?;
        let receive = receive(&self.core, &started);
        Ok(ClientStream::new(receive, sending(&self.core, started)))
    }

    /// Starts a bidi-streaming call; write, read and finish through the
    /// returned handle.
    ///
    /// `Err` after [`shutdown`](Self::shutdown).
    pub fn bidi_streaming<Req, Resp, C>(
        &self,
        channel: &Channel,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
    ) -> Result<BidiStream<Req, Resp, E>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
    {
        let started = start(&self.core, channel, method, options, None, true)?;
        let receive = receive(&self.core, &started);
        Ok(BidiStream::new(receive, sending(&self.core, started)))
    }
}
