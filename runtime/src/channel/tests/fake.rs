//! The fake the channel's unit tests run against (layer: channel, tests
//! only): a connector whose attempts the test completes or fails by hand,
//! a connection that records every call the channel opens on it, a
//! resolver with fixed addresses, and the `Harness` that builds a channel
//! core on them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::address::Address;
use crate::call::h2::CallSpec;
use crate::call::{ClientCall, Listener, SharedCall};
use crate::channel::ConnectivityState;
use crate::channel::backoff::BackoffConfig;
use crate::channel::call::ChannelCall;
use crate::channel::connection::{ChannelLink, Connection, Connector};
use crate::channel::core::{Core, CoreSettings, Naming};
use crate::channel::policy::LoadBalancing;
use crate::channel::subchannel::ConnectionLimits;
use crate::codec::ProstCodec;
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::method::{MethodDescriptor, MethodKind};
use crate::options::CallOptions;
use crate::resolver::{
    Resolution, Resolver, ResolverBuilder, ResolverContext, ResolverSink, ResolverTarget,
};
use crate::status::{Code, Status};

pub(super) const METHOD: MethodDescriptor<(), ()> =
    MethodDescriptor::new("/test.Fake/Call", MethodKind::Unary, ProstCodec);

/// What the channel does with a started unary call, as the fake sees it.
pub(super) const UNARY_OPS: [&str; 4] = ["start", "request 1", "send", "half_close"];

/// A connector whose attempts the test finishes by hand.
pub(super) struct FakeConnector {
    pub(super) attempts: mpsc::UnboundedSender<Attempt>,
}

/// One connection attempt, waiting for the test's verdict.
pub(super) struct Attempt {
    pub(super) address: Address,
    pub(super) link: ChannelLink<FakeConnector>,
    pub(super) timeout: Duration,
    pub(super) outcome: oneshot::Sender<Result<FakeConnection, Status>>,
}

impl Attempt {
    /// The attempt connects to `connection`; its link back to the channel.
    pub(super) fn succeed(self, connection: &FakeConnection) -> ChannelLink<FakeConnector> {
        let _ = self.outcome.send(Ok(connection.clone()));
        self.link
    }

    /// The attempt fails with `status`.
    pub(super) fn fail(self, status: Status) {
        let _ = self.outcome.send(Err(status));
    }
}

impl Connector for FakeConnector {
    type Connection = FakeConnection;

    fn connect(
        &self,
        address: &Address,
        timeout: Duration,
        _runtime: &tokio::runtime::Handle,
        link: ChannelLink<Self>,
    ) -> impl Future<Output = Result<FakeConnection, Status>> + Send {
        let (outcome, verdict) = oneshot::channel();
        let _ = self.attempts.send(Attempt {
            address: address.clone(),
            link,
            timeout,
            outcome,
        });
        async move {
            verdict
                .await
                .unwrap_or_else(|_| Err(Status::unavailable("the test dropped the attempt")))
        }
    }
}

/// A resolver that gives its addresses, at once.
pub(super) struct Fixed(pub(super) Vec<Address>);

/// What `Fixed` builds: nothing to do on `resolve_now`.
pub(super) struct Resolved;

impl Resolver for Resolved {}

impl ResolverBuilder for Fixed {
    fn scheme(&self) -> &str {
        "fake"
    }

    fn build(
        &self,
        _target: &ResolverTarget,
        sink: ResolverSink,
        _context: &ResolverContext,
    ) -> Box<dyn Resolver> {
        sink.update(Ok(Resolution::new(self.0.clone())));
        Box::new(Resolved)
    }
}

/// The fake address on `port`.
pub(super) fn address(port: u16) -> Address {
    Address::Tcp(([127, 0, 0, 1], port).into())
}

/// A connection that records the calls opened on it.
#[derive(Clone)]
pub(super) struct FakeConnection {
    pub(super) name: &'static str,
    pub(super) broken: Arc<AtomicBool>,
    pub(super) opened: Arc<Mutex<Vec<Opened>>>,
}

impl std::fmt::Debug for FakeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A call the channel opened on a fake connection.
#[derive(Clone)]
pub(super) struct Opened {
    pub(super) path: &'static str,
    pub(super) wait_for_ready: bool,
    pub(super) call: Arc<dyn FakeHandle>,
}

impl FakeConnection {
    pub(super) fn new(name: &'static str) -> Self {
        FakeConnection {
            name,
            broken: Arc::new(AtomicBool::new(false)),
            opened: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The connection takes no new calls (as after a GOAWAY); its calls go on.
    pub(super) fn set_broken(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }

    pub(super) fn opened(&self) -> Vec<Opened> {
        self.opened.lock().unwrap().clone()
    }
}

impl Connection for FakeConnection {
    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    fn load(&self) -> usize {
        0
    }

    fn max_streams(&self) -> usize {
        usize::MAX
    }

    fn new_call<Req: Send + 'static, Resp: Send + 'static>(
        self,
        spec: CallSpec<Req, Resp>,
    ) -> SharedCall<Req, Resp> {
        let call = Arc::new(FakeCall::<Resp> {
            executor: spec.executor.clone(),
            listener: Mutex::new(None),
            ops: Mutex::new(Vec::new()),
        });
        self.opened.lock().unwrap().push(Opened {
            path: spec.path,
            wait_for_ready: spec.wait_for_ready,
            call: call.clone(),
        });
        call
    }
}

/// A call on a fake connection: records what it is asked to do, and
/// closes when the test says so.
pub(super) struct FakeCall<Resp> {
    pub(super) executor: ThreadlessExecutor,
    pub(super) listener: Mutex<Option<Box<dyn Listener<Resp>>>>,
    pub(super) ops: Mutex<Vec<String>>,
}

/// A fake call with its message types erased.
pub(super) trait FakeHandle: Send + Sync {
    /// What the call was asked to do, in order.
    fn ops(&self) -> Vec<String>;
    /// Ends the call as a server would, with `status`.
    fn close(&self, status: Status);
}

impl<Resp: Send + 'static> FakeHandle for FakeCall<Resp> {
    fn ops(&self) -> Vec<String> {
        self.ops.lock().unwrap().clone()
    }

    fn close(&self, status: Status) {
        if let Some(mut listener) = self.listener.lock().unwrap().take() {
            self.executor
                .execute(Box::new(move || listener.on_close(status, Metadata::new())));
        }
    }
}

impl<Req, Resp: Send + 'static> ClientCall<Req, Resp> for FakeCall<Resp> {
    fn start(&self, listener: Box<dyn Listener<Resp>>, _headers: Metadata) {
        self.ops.lock().unwrap().push("start".into());
        *self.listener.lock().unwrap() = Some(listener);
    }
    fn request(&self, n: usize) {
        self.ops.lock().unwrap().push(format!("request {n}"));
    }
    fn send_message(&self, _message: Req) {
        self.ops.lock().unwrap().push("send".into());
    }
    fn half_close(&self) {
        self.ops.lock().unwrap().push("half_close".into());
    }
    fn cancel(&self, status: Status) {
        self.ops
            .lock()
            .unwrap()
            .push(format!("cancel {:?}", status.code()));
        self.close(status);
    }
}

/// A channel core on the fake connector, and the attempts it makes.
pub(super) struct Harness {
    pub(super) core: Arc<Core<FakeConnector>>,
    pub(super) attempts: mpsc::UnboundedReceiver<Attempt>,
}

impl Harness {
    pub(super) fn new(idle_timeout: Duration, backoff: BackoffConfig) -> Self {
        Harness::over(vec![address(1)], idle_timeout, backoff)
    }

    /// A pick_first channel over `addresses`.
    pub(super) fn over(
        addresses: Vec<Address>,
        idle_timeout: Duration,
        backoff: BackoffConfig,
    ) -> Self {
        let (sender, attempts) = mpsc::unbounded_channel();
        let naming = Naming {
            resolver: Arc::new(Fixed(addresses)),
            target: ResolverTarget::new("fake", "", "fake:1", "fake:///fake:1"),
        };
        let settings = CoreSettings {
            idle_timeout,
            backoff,
            seed: 7,
            load_balancing: LoadBalancing::PickFirst,
            limits: ConnectionLimits {
                min: 1,
                max: 1,
                extra_idle: Duration::from_secs(30),
            },
        };
        let core = Arc::new(Core::new(
            naming,
            Some(tokio::runtime::Handle::current()),
            FakeConnector { attempts: sender },
            settings,
        ));
        Harness { core, attempts }
    }

    /// The default settings: a 30-minute idle timeout, the spec's backoff.
    pub(super) fn with_defaults() -> Self {
        Harness::new(Duration::from_secs(30 * 60), BackoffConfig::default())
    }

    pub(super) fn reported(&self) -> ConnectivityState {
        self.core.connectivity(false)
    }

    /// The channel's next connection attempt (time passes while it waits).
    pub(super) async fn next_attempt(&mut self) -> Attempt {
        self.attempts.recv().await.expect("the channel is alive")
    }

    /// Whether no attempt was made since the last one taken.
    pub(super) fn no_attempt(&mut self) -> bool {
        self.attempts.try_recv().is_err()
    }

    /// Starts a unary call, as a stub would.
    pub(super) fn call(&self, wait_for_ready: bool) -> TestCall {
        let executor = ThreadlessExecutor::new();
        let options = CallOptions::new().with_wait_for_ready(wait_for_ready);
        let call = self.core.new_call(&METHOD, &options, executor.clone());
        let closed = Arc::new(Mutex::new(None));
        call.start(Box::new(Record(closed.clone())), Metadata::new());
        call.request(1);
        call.send_message(());
        call.half_close();
        TestCall {
            _call: call,
            executor,
            closed,
        }
    }
}

/// A started call and what its listener heard.
pub(super) struct TestCall {
    pub(super) _call: ChannelCall<(), ()>,
    pub(super) executor: ThreadlessExecutor,
    pub(super) closed: Arc<Mutex<Option<Status>>>,
}

impl TestCall {
    /// The call's close status, if it closed (runs its queued callbacks).
    pub(super) fn closed(&self) -> Option<Status> {
        while self.executor.drain_now() > 0 {}
        self.closed.lock().unwrap().clone()
    }
}

pub(super) struct Record(pub(super) Arc<Mutex<Option<Status>>>);

impl Listener<()> for Record {
    fn on_message(&mut self, _: ()) {}
    fn on_close(&mut self, status: Status, _: Metadata) {
        *self.0.lock().unwrap() = Some(status);
    }
}

/// Lets the channel's tasks run up to their next wait.
pub(super) async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

pub(super) fn assert_status(status: Option<Status>, code: Code, message: &str) {
    let status = status.expect("the call closed");
    assert_eq!(status.code(), code, "{status}");
    assert_eq!(status.message(), message);
}
