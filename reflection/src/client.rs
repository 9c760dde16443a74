//! [`ReflectionClient`]: the reflection operations over
//! `ServerReflectionInfo`, blocking and async, with the v1 → v1alpha
//! fall-back.
//!
//! Owns the calls: each operation is one bidi call (a *session*) on which
//! it sends a request and reads its answer, one at a time, as often as it
//! needs (following imports takes several), then half-closes and reads the
//! end. Owns the choice of version: v1 first; on `UNIMPLEMENTED` before any
//! answer, the same session starts over on v1alpha, and the version that
//! answered is remembered for the client and its clones. What the answers
//! mean is `wire`'s. Must not retry anything else, nor panic on anything a
//! server sends.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use futures::StreamExt as _;
use futures::channel::mpsc;
use prost_types::FileDescriptorProto;
use switchboard::stub::{
    BlockingBidiCall, ResponseStream, Stub, async_bidi_streaming_call, blocking_bidi_streaming_call,
};
use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec, Status};

use crate::pb::v1::server_reflection_client::SERVER_REFLECTION_INFO;
use crate::pb::v1::server_reflection_request::MessageRequest;
use crate::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};
use crate::wire::{self, FileSet};

/// `grpc.reflection.v1alpha`'s method, with the v1 message types: the two
/// versions' messages are the same on the wire (same fields and numbers),
/// only the service name differs.
const V1ALPHA_INFO: MethodDescriptor<ServerReflectionRequest, ServerReflectionResponse> =
    MethodDescriptor::new(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        MethodKind::BidiStreaming,
        ProstCodec,
    );

/// A version of the reflection protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReflectionVersion {
    /// `grpc.reflection.v1.ServerReflection`, the current one.
    V1,
    /// `grpc.reflection.v1alpha.ServerReflection`, the deprecated first one
    /// (still the only one some servers offer, e.g. grpcio's).
    V1Alpha,
}

impl ReflectionVersion {
    /// The full name of the version's service, e.g.
    /// `grpc.reflection.v1.ServerReflection`.
    pub fn service_name(self) -> &'static str {
        match self {
            ReflectionVersion::V1 => "grpc.reflection.v1.ServerReflection",
            ReflectionVersion::V1Alpha => "grpc.reflection.v1alpha.ServerReflection",
        }
    }

    fn method(
        self,
    ) -> &'static MethodDescriptor<ServerReflectionRequest, ServerReflectionResponse> {
        match self {
            ReflectionVersion::V1 => &SERVER_REFLECTION_INFO,
            ReflectionVersion::V1Alpha => &V1ALPHA_INFO,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            ReflectionVersion::V1 => 1,
            ReflectionVersion::V1Alpha => 2,
        }
    }

    fn from_u8(value: u8) -> Option<ReflectionVersion> {
        match value {
            1 => Some(ReflectionVersion::V1),
            2 => Some(ReflectionVersion::V1Alpha),
            _ => None,
        }
    }
}

impl fmt::Display for ReflectionVersion {
    /// The service's full name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.service_name())
    }
}

/// A client of a server's reflection service: which services it has, and
/// the descriptors of their files.
///
/// Tries `grpc.reflection.v1` first and falls back to
/// `grpc.reflection.v1alpha` when the server answers `UNIMPLEMENTED`; the
/// version that worked ([`version`](Self::version)) is used from then on by
/// this client and its clones.
///
/// Cheap to clone. Its call options (`with_deadline_after`, …) come from
/// [`Stub`] (`use switchboard::prelude::*;`); a deadline applies to each
/// operation as a whole (one call). A client made by a `with_*` method
/// starts without a remembered version.
#[derive(Clone, Debug)]
pub struct ReflectionClient {
    channel: Channel,
    options: CallOptions,
    /// 0: not known yet; else [`ReflectionVersion::as_u8`].
    version: Arc<AtomicU8>,
}

impl Stub for ReflectionClient {
    fn from_parts(channel: Channel, options: CallOptions) -> Self {
        ReflectionClient {
            channel,
            options,
            version: Arc::new(AtomicU8::new(0)),
        }
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

impl ReflectionClient {
    /// A client that makes its calls on `channel`, with default call
    /// options.
    pub fn new(channel: Channel) -> ReflectionClient {
        ReflectionClient::from_parts(channel, CallOptions::new())
    }

    /// The version the server answered with, once one has.
    pub fn version(&self) -> Option<ReflectionVersion> {
        ReflectionVersion::from_u8(self.version.load(Ordering::Acquire))
    }

    fn remember(&self, version: ReflectionVersion) {
        self.version.store(version.as_u8(), Ordering::Release);
    }

    /// The full names of the services the server offers
    /// (`package.Service`), in the server's order. Blocks.
    ///
    /// `Err`: `UNIMPLEMENTED` if the server has no reflection service, or
    /// the call's error.
    pub fn list_services(&self) -> Result<Vec<String>, Status> {
        let asked = MessageRequest::ListServices(String::new());
        let mut session = BlockingSession::new(self);
        let answer = session.ask(&asked).and_then(|r| wire::services(&asked, r));
        session.finish();
        answer
    }

    /// The file that defines `symbol` (a fully-qualified name:
    /// `package.Service`, `package.Service.Method`, `package.Message`, …)
    /// followed by every file it imports, directly or not, each once.
    /// Blocks.
    ///
    /// The files come in the server's order, then any imports the server
    /// left out, each fetched with `file_by_filename`. `Err` with
    /// `NOT_FOUND` if the server does not know the symbol (the server's
    /// `ErrorResponse`, with its code and message).
    pub fn file_containing_symbol(&self, symbol: &str) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files_blocking(MessageRequest::FileContainingSymbol(symbol.to_owned()))
    }

    /// The file named `filename` (as the server knows it, e.g.
    /// `grpc/testing/test.proto`) followed by every file it imports,
    /// directly or not, each once. Blocks. Errors as
    /// [`file_containing_symbol`](Self::file_containing_symbol).
    pub fn file_by_filename(&self, filename: &str) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files_blocking(MessageRequest::FileByFilename(filename.to_owned()))
    }

    /// [`list_services`](Self::list_services), as a future that runs on any
    /// executor. The call starts when it is first polled.
    pub async fn list_services_async(&self) -> Result<Vec<String>, Status> {
        let asked = MessageRequest::ListServices(String::new());
        let mut session = AsyncSession::new(self);
        let answer = match session.ask(&asked).await {
            Ok(response) => wire::services(&asked, response),
            Err(status) => Err(status),
        };
        session.finish().await;
        answer
    }

    /// [`file_containing_symbol`](Self::file_containing_symbol), as a
    /// future that runs on any executor. The call starts when it is first
    /// polled.
    pub async fn file_containing_symbol_async(
        &self,
        symbol: &str,
    ) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files_async(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await
    }

    /// [`file_by_filename`](Self::file_by_filename), as a future that runs
    /// on any executor. The call starts when it is first polled.
    pub async fn file_by_filename_async(
        &self,
        filename: &str,
    ) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files_async(MessageRequest::FileByFilename(filename.to_owned()))
            .await
    }

    /// Asks `first`, then for each import no answer has covered yet.
    fn files_blocking(&self, first: MessageRequest) -> Result<Vec<FileDescriptorProto>, Status> {
        let mut session = BlockingSession::new(self);
        let mut set = FileSet::default();
        let mut asked = first;
        let answer = loop {
            match session.ask(&asked).and_then(|r| wire::files(&asked, r)) {
                Ok(files) => set.add(files),
                Err(status) => break Err(status),
            }
            if let Err(status) = check_progress(&asked, &set) {
                break Err(status);
            }
            match set.missing() {
                Some(name) => asked = MessageRequest::FileByFilename(name),
                None => break Ok(()),
            }
        };
        session.finish();
        answer.map(|()| set.into_files())
    }

    async fn files_async(&self, first: MessageRequest) -> Result<Vec<FileDescriptorProto>, Status> {
        let mut session = AsyncSession::new(self);
        let mut set = FileSet::default();
        let mut asked = first;
        let answer = loop {
            let files = match session.ask(&asked).await {
                Ok(response) => wire::files(&asked, response),
                Err(status) => Err(status),
            };
            match files {
                Ok(files) => set.add(files),
                Err(status) => break Err(status),
            }
            if let Err(status) = check_progress(&asked, &set) {
                break Err(status);
            }
            match set.missing() {
                Some(name) => asked = MessageRequest::FileByFilename(name),
                None => break Ok(()),
            }
        };
        session.finish().await;
        answer.map(|()| set.into_files())
    }
}

/// After asking for an import by name, the answer must have held it:
/// otherwise following imports would ask again forever.
fn check_progress(asked: &MessageRequest, set: &FileSet) -> Result<(), Status> {
    match asked {
        MessageRequest::FileByFilename(name) if !set.contains(name) => {
            Err(Status::internal(format!(
                "reflection: {}: the server's answer does not hold that file",
                wire::describe(asked)
            )))
        }
        _ => Ok(()),
    }
}

/// What to do with a call's error end before any answer came.
fn fall_back(
    client: &ReflectionClient,
    version: ReflectionVersion,
    status: Status,
) -> Result<ReflectionVersion, Status> {
    if status.code() != Code::Unimplemented || client.version().is_some() {
        return Err(status);
    }
    match version {
        ReflectionVersion::V1 => Ok(ReflectionVersion::V1Alpha),
        ReflectionVersion::V1Alpha => Err(Status::new(
            Code::Unimplemented,
            format!(
                "the server has no reflection service: {} and {} both answered UNIMPLEMENTED ({})",
                ReflectionVersion::V1,
                ReflectionVersion::V1Alpha,
                status.message()
            ),
        )
        .with_origin(status.origin())
        .with_source(status)),
    }
}

/// An answer that never came: the server ended the call OK without one.
fn no_answer(asked: &MessageRequest) -> Status {
    Status::internal(format!(
        "reflection: {}: the server ended the call without answering",
        wire::describe(asked)
    ))
}

/// One blocking bidi call, one question at a time.
struct BlockingSession<'a> {
    client: &'a ReflectionClient,
    call: Option<(
        ReflectionVersion,
        BlockingBidiCall<ServerReflectionRequest, ServerReflectionResponse>,
    )>,
    /// Whether an answer came on this call (no fall-back after that).
    answered: bool,
}

impl<'a> BlockingSession<'a> {
    fn new(client: &'a ReflectionClient) -> Self {
        BlockingSession {
            client,
            call: None,
            answered: false,
        }
    }

    fn start(&mut self, version: ReflectionVersion) {
        let call = blocking_bidi_streaming_call(
            &self.client.channel,
            version.method(),
            &self.client.options,
        );
        self.call = Some((version, call));
    }

    fn ask(&mut self, asked: &MessageRequest) -> Result<ServerReflectionResponse, Status> {
        loop {
            let (version, call) = match &self.call {
                Some((version, call)) => (*version, call),
                None => {
                    self.start(self.client.version().unwrap_or(ReflectionVersion::V1));
                    continue;
                }
            };
            // A failed send means the call ended: `recv` has its status.
            let _ = call.send(wire::request(asked.clone()));
            match call.recv() {
                Some(Ok(response)) => {
                    self.answered = true;
                    self.client.remember(version);
                    return Ok(response);
                }
                Some(Err(status)) if !self.answered => {
                    let next = fall_back(self.client, version, status)?;
                    self.start(next);
                }
                Some(Err(status)) => return Err(status),
                None => return Err(no_answer(asked)),
            }
        }
    }

    /// Half-closes and reads the end, so the call ends cleanly (OK) rather
    /// than by a cancel.
    fn finish(self) {
        if let Some((_, call)) = self.call {
            call.half_close();
            while let Some(Ok(_)) = call.recv() {}
        }
    }
}

/// One async bidi call, one question at a time: requests go through an
/// unbounded channel that is the call's request stream.
struct AsyncSession<'a> {
    client: &'a ReflectionClient,
    call: Option<AsyncCall>,
    answered: bool,
}

struct AsyncCall {
    version: ReflectionVersion,
    requests: mpsc::UnboundedSender<ServerReflectionRequest>,
    responses: ResponseStream<ServerReflectionResponse>,
}

impl<'a> AsyncSession<'a> {
    fn new(client: &'a ReflectionClient) -> Self {
        AsyncSession {
            client,
            call: None,
            answered: false,
        }
    }

    fn start(&mut self, version: ReflectionVersion) -> &mut AsyncCall {
        let (requests, stream) = mpsc::unbounded();
        let responses = async_bidi_streaming_call(
            &self.client.channel,
            version.method(),
            &self.client.options,
            stream,
        );
        self.call.insert(AsyncCall {
            version,
            requests,
            responses,
        })
    }

    async fn ask(&mut self, asked: &MessageRequest) -> Result<ServerReflectionResponse, Status> {
        loop {
            let call = match self.call.take() {
                Some(call) => self.call.insert(call),
                None => self.start(self.client.version().unwrap_or(ReflectionVersion::V1)),
            };
            // A closed channel means the call ended: the stream has its status.
            let _ = call.requests.unbounded_send(wire::request(asked.clone()));
            let version = call.version;
            match call.responses.next().await {
                Some(Ok(response)) => {
                    self.answered = true;
                    self.client.remember(version);
                    return Ok(response);
                }
                Some(Err(status)) if !self.answered => {
                    let next = fall_back(self.client, version, status)?;
                    self.start(next);
                }
                Some(Err(status)) => return Err(status),
                None => return Err(no_answer(asked)),
            }
        }
    }

    /// Half-closes (ends the request stream) and reads the end.
    async fn finish(self) {
        if let Some(mut call) = self.call {
            call.requests.close_channel();
            while let Some(Ok(_)) = call.responses.next().await {}
        }
    }
}
