//! The clients under test, each able to drive every scenario, and what they
//! share: the workload's messages, the [`Load`] and [`Batch`] of the
//! throughput scenario, and the registry [`CLIENTS`] that builds a client by
//! name (the RSS child processes build only the one they measure).
//!
//! - [`switchboard`]: the blocking helper; the async helpers on a tokio
//!   runtime; the async helpers under `futures::executor::block_on`.
//! - [`tonic`]: its client used as its docs recommend: `Grpc` on a tokio
//!   multi-thread runtime, with the documented `block_on` wrapper for
//!   blocking calls.
//! - [`raw_h2`]: the floor, hand-framed gRPC on one h2 connection driven on
//!   the calling thread.
//! - [`completion_queue`]: switchboard's completion queue, 64 calls in
//!   flight from one thread, which also drives the I/O while it waits.
//!
//! A client may return [`Skip`] from its constructor or from any scenario
//! it does not run; the tables show the reason in its row instead of
//! figures.
//!
//! Every client also has a multi-connection setting ([`Multi`]) for the
//! unary-throughput-multi scenario, built on first use for each number of
//! connections asked for and kept for the rest of the run.

pub mod completion_queue;
pub mod raw_h2;
pub mod switchboard;
pub mod tonic;

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use switchboard_tests::echo::{EchoRequest, StreamRequest};

use crate::os::Usage;

/// The error of every scenario: boxed, and `Send` so that tasks can return it.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The result of every scenario.
pub type Result<T> = std::result::Result<T, Error>;

/// Name of the tonic client: the baseline of every "× tonic" ratio.
pub const TONIC: &str = "tonic";

/// Name of the raw h2 client: the baseline of every "× raw" ratio.
pub const RAW_H2: &str = "raw h2 floor";

/// Name of the switchboard blocking client (the latency target's subject).
pub const SWITCHBOARD_BLOCKING: &str = "switchboard blocking";

/// Name of the switchboard async client on tokio (the throughput target's).
pub const SWITCHBOARD_TOKIO: &str = "switchboard async (tokio)";

/// Name of the switchboard async client under `block_on`.
pub const SWITCHBOARD_BLOCK_ON: &str = "switchboard async (block_on)";

/// Name of the switchboard completion-queue client.
pub const SWITCHBOARD_CQ: &str = "switchboard completion queue";

/// Builds one client connected to a server URL.
pub type Constructor = fn(&str) -> Result<Client>;

/// Every client, in the order of the tables, with its constructor.
pub const CLIENTS: &[(&str, Constructor)] = &[
    (SWITCHBOARD_BLOCKING, switchboard::blocking),
    (SWITCHBOARD_TOKIO, switchboard::tokio),
    (SWITCHBOARD_BLOCK_ON, switchboard::block_on),
    (SWITCHBOARD_CQ, completion_queue::completion_queue_client),
    (TONIC, tonic::client),
    (RAW_H2, raw_h2::client),
];

/// How many unary calls the throughput scenario keeps in flight.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Calls in flight at once: one worker (thread, task or future) each.
    pub in_flight: usize,
    /// Sequential calls each worker makes.
    pub calls_each: usize,
}

/// A scenario that a client does not run, and why (e.g. "not built
/// yet"): returned as the error of its constructor or of that scenario, and
/// shown in the client's row instead of figures. Never judged by a target.
#[derive(Debug)]
pub struct Skip(pub &'static str);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Skip {}

/// A client that returned [`Skip`] from its constructor: its name and the
/// reason.
pub type Skipped = (&'static str, &'static str);

/// The reason, if `error` is a [`Skip`].
pub fn skipped(error: &Error) -> Option<&'static str> {
    error.downcast_ref::<Skip>().map(|skip| skip.0)
}

/// The start of a measured run: the time and this process's [`Usage`]. Take
/// it after setting up (threads spawned, connections open), just before the
/// first measured call.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    at: Instant,
    usage: Usage,
}

impl Mark {
    /// Now.
    pub fn now() -> Mark {
        Mark {
            at: Instant::now(),
            usage: Usage::now(),
        }
    }
}

/// What one throughput run measured.
#[derive(Debug, Default)]
pub struct Batch {
    /// Wall time from the first call's start to the last call's end.
    pub elapsed: Duration,
    /// The latency of every call.
    pub latencies: Vec<Duration>,
    /// CPU time and context switches of this process (every client thread)
    /// over the same span.
    pub usage: Usage,
}

impl Batch {
    /// Calls per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// A throughput run: makes `Load` calls and reports them.
pub type ThroughputFn = Box<dyn Fn(Load) -> Result<Batch>>;

/// A multi-connection throughput run: `Load` calls over `n` connections.
pub type MultiFn = Box<dyn Fn(usize, Load) -> Result<Batch>>;

/// A client's multi-connection setting.
pub struct Multi {
    /// How the client spreads calls over `n` connections, for the notes.
    pub setting: fn(usize) -> String,
    /// Keeps `Load::in_flight` unary calls in flight over the setting with
    /// `n` connections (set up on the first run with that `n`, then kept).
    pub run: MultiFn,
}

/// A latency run: `n` sequential calls, each call's latency passed on.
pub type UnaryFn = Box<dyn Fn(usize, &mut dyn FnMut(Duration)) -> Result<()>>;

/// A held-calls run, see [`Hold`].
pub type PendingFn = Box<dyn Fn(&Hold) -> Result<()>>;

/// One client: a name and a function per scenario.
pub struct Client {
    /// Shown in the tables.
    pub name: &'static str,
    /// Makes `n` sequential unary calls with one caller, passing each call's
    /// latency to the callback (which must not allocate).
    pub unary: UnaryFn,
    /// Keeps `Load::in_flight` unary calls in flight on one channel.
    pub throughput: ThroughputFn,
    /// The same run as `throughput` over the client's multi-connection
    /// setting.
    pub multi: Multi,
    /// Reads one server stream of `n` 100-byte messages; messages per second.
    pub server_stream: Box<dyn Fn(u32) -> Result<f64>>,
    /// Starts the held unary calls of `Hold`, so that all are pending at
    /// once, and waits for them all.
    pub pending: PendingFn,
}

/// The held calls of the RSS scenario: `calls` unary calls that the server
/// holds `sleep_ms` each, started in batches of `batch`, `gap` apart.
///
/// Pacing the start keeps every client under the server's budget for
/// unread small DATA frames (see `scenarios::rss_attempts`) without changing
/// what is measured: as long as the last call starts before the first can
/// finish, all are pending at once.
#[derive(Clone, Debug)]
pub struct Hold {
    /// Calls held at once.
    pub calls: usize,
    /// How long the server holds each.
    pub sleep_ms: u64,
    /// Calls started together.
    pub batch: usize,
    /// Pause between two batches.
    pub gap: Duration,
}

impl Hold {
    /// The sizes of the batches, in order.
    pub fn batches(&self) -> impl Iterator<Item = usize> + use<> {
        let (calls, batch) = (self.calls, self.batch.max(1));
        (0..calls.div_ceil(batch)).map(move |i| batch.min(calls - i * batch))
    }
}

/// Builds every client of [`CLIENTS`] whose name contains `only` (every
/// one without it), connected to `url`; and the names of those that
/// returned [`Skip`], with the reason.
pub fn build_all(url: &str, only: Option<&str>) -> Result<(Vec<Client>, Vec<Skipped>)> {
    let (mut built, mut skips) = (Vec::new(), Vec::new());
    for (name, constructor) in CLIENTS {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        match constructor(url) {
            Ok(client) => built.push(client),
            Err(error) => match skipped(&error) {
                Some(reason) => skips.push((*name, reason)),
                None => return Err(format!("{name}: {error}").into()),
            },
        }
    }
    Ok((built, skips))
}

/// Builds the client called `name`.
pub fn build(name: &str, url: &str) -> Result<Client> {
    let (_, constructor) = CLIENTS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("no client called {name:?}"))?;
    constructor(url)
}

/// The unary request: a 100-byte payload, echoed back.
pub fn request() -> EchoRequest {
    EchoRequest {
        payload: vec![7; 100],
        ..Default::default()
    }
}

/// The unary request of the RSS scenario: the server holds it `sleep_ms`.
pub fn held_request(sleep_ms: u64) -> EchoRequest {
    EchoRequest {
        sleep_ms,
        ..request()
    }
}

/// The deadline of a held call: long enough never to fire.
pub fn held_deadline(sleep_ms: u64) -> Duration {
    Duration::from_millis(sleep_ms) + Duration::from_secs(120)
}

/// The server-stream request: `count` messages of 100 bytes.
pub fn stream_request(count: u32) -> StreamRequest {
    StreamRequest {
        count,
        size: 100,
        ..Default::default()
    }
}

/// Merges the latencies of the workers of one throughput run that started
/// at `start`; the run ends now.
pub fn batch(start: Mark, workers: Vec<Result<Vec<Duration>>>) -> Result<Batch> {
    let elapsed = start.at.elapsed();
    let usage = Usage::now().since(start.usage);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker?);
    }
    Ok(Batch {
        elapsed,
        latencies,
        usage,
    })
}

/// Runs `n` workers of `work` on tokio tasks of the current runtime and
/// gathers their latencies: how a tokio user keeps calls in flight.
pub async fn spawned<F, Fut>(n: usize, work: F) -> Result<Batch>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Vec<Duration>>> + Send + 'static,
{
    let start = Mark::now();
    let handles: Vec<_> = (0..n).map(|_| ::tokio::spawn(work())).collect();
    let mut workers = Vec::with_capacity(n);
    for handle in handles {
        workers.push(handle.await.map_err(|e| e.to_string())?);
    }
    batch(start, workers)
}

/// Starts the calls of `hold` with `start`, batch by batch, driving the
/// started ones during each gap, then waits for them all. Needs a tokio
/// runtime (for the gaps' timer); all calls are polled by the caller's task.
pub async fn paced<F, Fut>(hold: &Hold, mut start: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut pending = FuturesUnordered::new();
    let mut batches = hold.batches().peekable();
    while let Some(n) = batches.next() {
        pending.extend((0..n).map(|_| start()));
        if batches.peek().is_none() {
            break;
        }
        let gap = ::tokio::time::sleep(hold.gap);
        ::tokio::pin!(gap);
        loop {
            ::tokio::select! {
                () = &mut gap => break,
                Some(result) = pending.next() => result?,
            }
        }
    }
    while let Some(result) = pending.next().await {
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_calls_are_split_into_batches_that_add_up() {
        let hold = Hold {
            calls: 1_050,
            sleep_ms: 0,
            batch: 500,
            gap: Duration::ZERO,
        };
        assert_eq!(hold.batches().collect::<Vec<_>>(), [500, 500, 50]);
    }
}
