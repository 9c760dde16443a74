//! The deadline is a backstop nothing can disable (rules 9-11),
//! checked as a property over generated server behaviours.
//!
//! Each generated script is one call of one kind (blocking unary, future
//! unary awaited with `futures::executor::block_on`, a future left unpolled
//! until after its deadline, server / client / bidi streaming, blocking and
//! async), made with a deadline `D` of 200-400 ms on its own channel to its
//! own [`ScriptedPeer`] (so per-connection misbehaviour stays with its
//! script), either as the channel's first call (cold: it starts as a
//! pending call) or after a warm-up call (warm: the channel is READY). The
//! peer misbehaves at random: stalls before or after the response HEADERS,
//! sends 2-5 messages to a single-response call, never sends trailers,
//! stops reading the request body, holds the stream window at zero, sends a
//! GOAWAY and then nothing (connection held open), ends with an error; or
//! it answers correctly. It replies as soon as the request HEADERS arrive
//! or only after the client half-closes.
//!
//! Every call must end with a `Status` by `D` + [`MARGIN`] and the status
//! must be the sensible one below; when the call ended while the server's
//! stream was still open, RST_STREAM(CANCEL) must reach the server by the
//! call's end + [`MARGIN`]. Each call runs on a thread of its own, watched
//! through a channel: one still running [`HARD_LIMIT`] after its deadline is
//! reported as a hang and left behind, and the run goes on, so a failing
//! run lists every failure, counted by check × behaviour × call kind ×
//! cold/warm.
//!
//! The sensible code, from what the server actually sent (see
//! [`Script::planned`]):
//!
//! | the server ... | expected code |
//! | --- | --- |
//! | sends nothing, or headers and no end (stall, no trailers, window zero or an unread body before a reply that waits for the half-close) | DEADLINE_EXCEEDED |
//! | sends 2+ messages to a unary or client-streaming call (trailers or not) | INTERNAL (at once: before the deadline) |
//! | ends OK after 0 messages on a unary or client-streaming call | INTERNAL |
//! | ends OK after the right messages | OK (and every message delivered) |
//! | ends with an error code (trailers or trailers-only) | that code (and every message before it delivered) |
//! | sends GOAWAY (covering the stream or not) and then nothing | DEADLINE_EXCEEDED or UNAVAILABLE |
//!
//! A reply written less than [`REPLY_GRACE`] before the deadline may also
//! lose the race to it: DEADLINE_EXCEEDED is then accepted as well. A
//! future polled only after its deadline runs no listener code before it
//! is polled, so it may end with DEADLINE_EXCEEDED whatever the server sent;
//! but its call must have started without a poll (rule 5), and if the
//! server's stream was open at the deadline, the RST_STREAM must reach the
//! server by `D` + [`MARGIN`] before anyone polls; its request message and
//! half-close must reach the server by `D` too, where flow control lets
//! them. Polling it then must end within [`MARGIN`].
//!
//! Environment (all optional):
//! - `SWITCHBOARD_PROPTEST_SEED`: the seed (decimal or `0x` hex); printed.
//! - `SWITCHBOARD_PROPTEST_CASES`: how many scripts (default 1200).
//! - `SWITCHBOARD_PROPTEST_FILTER`: comma-separated tags a script must all
//!   have, e.g. `blocking-unary,extra-messages,cold` (tags: call kind,
//!   `cold`/`warm`, behaviour, `window-zero`, `no-read`, `big-request`,
//!   `at-once`/`after-half-close`).
//! - `SWITCHBOARD_PROPTEST_ONLY`: comma-separated script numbers to run.
//! - `SWITCHBOARD_PROPTEST_PARALLEL`: calls in flight (default 48).
//! - `SWITCHBOARD_PROPTEST_VERBOSE=1`: print every script and its verdict
//!   (with `--nocapture`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use prost::Message;
use switchboard::stub::{
    async_bidi_streaming_call, async_client_streaming_call, async_server_streaming_call,
    blocking_bidi_streaming_call, blocking_client_streaming_call, blocking_server_streaming_call,
    blocking_unary_call, future_unary_call,
};
use switchboard::{CallOptions, Channel, Code, ConnectivityState, Status};
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::methods::{BIDI, CLIENT_STREAM, SERVER_STREAM, UNARY};
use switchboard_tests::script::{Plan, ScriptedPeer, Step, StreamRecord};

/// How late after its deadline a call may end (the design's "small
/// margin", with slack for a loaded 2-vCPU CI machine running a debug
/// build with dozens of calls in flight); also how long after a call's end
/// its RST_STREAM may take to reach the server.
const MARGIN: Duration = Duration::from_millis(500);

/// A call still running this long after its deadline is a hang: it is
/// reported and left behind.
const HARD_LIMIT: Duration = Duration::from_secs(5);

/// A reply the server finished writing later than this before the deadline
/// may lose the race to it.
const REPLY_GRACE: Duration = Duration::from_millis(150);

/// The bound on a warm-up call (which the peer answers correctly).
const WARM_UP_LIMIT: Duration = Duration::from_secs(10);

const DEFAULT_SEED: u64 = 0x5eed_0010_0001;
const DEFAULT_CASES: usize = 1200;
const DEFAULT_PARALLEL: usize = 48;

/// The HTTP/2 CANCEL error code.
const CANCEL: u32 = 0x8;

/// A bigger request than one HTTP/2 window lets through unread.
const BIG_REQUEST: usize = 80_000;
/// A big message of a client or bidi stream (two exceed one window).
const BIG_STREAM_MESSAGE: usize = 40_000;

#[test]
fn every_call_ends_by_its_deadline_whatever_the_server_does() {
    let config = Config::from_env();
    let scripts = config.scripts();
    let started = Instant::now();
    eprintln!(
        "every_call_ends: seed {:#x}, {} scripts, {} in flight",
        config.seed,
        scripts.len(),
        config.parallel
    );
    if !config.narrowed() {
        assert!(scripts.len() >= 1000, "the property needs 1,000+ scripts");
    }

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Results::default());
    std::thread::scope(|scope| {
        for _ in 0..config.parallel.min(scripts.len()) {
            scope.spawn(|| {
                while let Some(script) = scripts.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let checked = check(script);
                    if config.verbose {
                        let verdict: Vec<&str> =
                            checked.failures.iter().map(|(c, _)| c.name()).collect();
                        eprintln!(
                            "{} {}: {script}",
                            if verdict.is_empty() { "pass" } else { "FAIL" },
                            checked.summary,
                        );
                        for (check, detail) in &checked.failures {
                            eprintln!("    {}: {detail}", check.name());
                        }
                    }
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .add(script, checked);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let report = results.report(&config, scripts.len(), started.elapsed());
    assert!(results.failures.is_empty(), "{report}");
    eprintln!("{report}");
}

// ---------------------------------------------------------------------
// Scripts

/// The kinds of call, each through its stub helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum CallKind {
    BlockingUnary,
    FutureUnary,
    UnpolledFuture,
    BlockingServerStream,
    AsyncServerStream,
    BlockingClientStream,
    AsyncClientStream,
    BlockingBidi,
    AsyncBidi,
}

impl CallKind {
    const ALL: [CallKind; 9] = [
        CallKind::BlockingUnary,
        CallKind::FutureUnary,
        CallKind::UnpolledFuture,
        CallKind::BlockingServerStream,
        CallKind::AsyncServerStream,
        CallKind::BlockingClientStream,
        CallKind::AsyncClientStream,
        CallKind::BlockingBidi,
        CallKind::AsyncBidi,
    ];

    fn name(self) -> &'static str {
        match self {
            CallKind::BlockingUnary => "blocking-unary",
            CallKind::FutureUnary => "future-unary",
            CallKind::UnpolledFuture => "unpolled-future",
            CallKind::BlockingServerStream => "blocking-server-stream",
            CallKind::AsyncServerStream => "async-server-stream",
            CallKind::BlockingClientStream => "blocking-client-stream",
            CallKind::AsyncClientStream => "async-client-stream",
            CallKind::BlockingBidi => "blocking-bidi",
            CallKind::AsyncBidi => "async-bidi",
        }
    }

    /// Unary and client streaming: one response message, a second is
    /// INTERNAL (rule 11).
    fn single_response(self) -> bool {
        matches!(
            self,
            CallKind::BlockingUnary
                | CallKind::FutureUnary
                | CallKind::UnpolledFuture
                | CallKind::BlockingClientStream
                | CallKind::AsyncClientStream
        )
    }

    /// Client and bidi streaming: several request messages.
    fn streams_requests(self) -> bool {
        matches!(
            self,
            CallKind::BlockingClientStream
                | CallKind::AsyncClientStream
                | CallKind::BlockingBidi
                | CallKind::AsyncBidi
        )
    }
}

/// What the server does with the call, in the large (the [`Plan`] holds the
/// exact frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Behaviour {
    /// Headers, the right messages, OK.
    Correct,
    /// An error code, after some messages or trailers-only.
    ErrorEnd,
    /// Nothing at all.
    StallBeforeHeaders,
    /// Headers, then nothing.
    StallAfterHeaders,
    /// Headers and messages, then nothing.
    NoTrailers,
    /// Headers and 2-5 messages, then nothing.
    ExtraMessages,
    /// Headers, 2-5 messages, OK.
    ExtraThenOk,
    /// Headers and OK with no message.
    NoMessage,
    /// GOAWAY covering the stream (perhaps after headers), then nothing.
    GoAwayProcessed,
    /// GOAWAY below the stream (perhaps after headers), then nothing.
    GoAwayUnprocessed,
}

impl Behaviour {
    /// With weights (out of 100).
    const WEIGHTED: [(Behaviour, u64); 10] = [
        (Behaviour::Correct, 20),
        (Behaviour::ErrorEnd, 10),
        (Behaviour::StallBeforeHeaders, 5),
        (Behaviour::StallAfterHeaders, 12),
        (Behaviour::NoTrailers, 10),
        (Behaviour::ExtraMessages, 10),
        (Behaviour::ExtraThenOk, 8),
        (Behaviour::NoMessage, 5),
        (Behaviour::GoAwayProcessed, 10),
        (Behaviour::GoAwayUnprocessed, 10),
    ];

    fn name(self) -> &'static str {
        match self {
            Behaviour::Correct => "correct",
            Behaviour::ErrorEnd => "error-end",
            Behaviour::StallBeforeHeaders => "stall-before-headers",
            Behaviour::StallAfterHeaders => "stall-after-headers",
            Behaviour::NoTrailers => "no-trailers",
            Behaviour::ExtraMessages => "extra-messages",
            Behaviour::ExtraThenOk => "extra-then-ok",
            Behaviour::NoMessage => "no-message",
            Behaviour::GoAwayProcessed => "goaway-processed",
            Behaviour::GoAwayUnprocessed => "goaway-unprocessed",
        }
    }
}

/// One generated case: a call, a server, a deadline.
#[derive(Clone, Debug)]
struct Script {
    index: usize,
    call: CallKind,
    warm: bool,
    behaviour: Behaviour,
    deadline: Duration,
    plan: Plan,
    /// Payload size of each request message.
    requests: Vec<usize>,
}

impl Script {
    /// Script `index` of the run with `seed`: the call kind and cold/warm
    /// cycle with the index, the rest comes from a PRNG seeded by both.
    fn generate(seed: u64, index: usize) -> Script {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let call = CallKind::ALL[index % CallKind::ALL.len()];
        let warm = (index / CallKind::ALL.len()) % 2 == 1;
        let deadline = Duration::from_millis(rng.range(200, 400));
        let mut pick = rng.below(100);
        let mut behaviour = Behaviour::Correct;
        for (candidate, weight) in Behaviour::WEIGHTED {
            if pick < weight {
                behaviour = candidate;
                break;
            }
            pick -= weight;
        }
        let single = call.single_response();
        let messages = |rng: &mut Rng, lo: u64, hi: u64| -> Vec<Step> {
            (0..rng.range(lo, hi))
                .map(|i| {
                    let response = EchoResponse {
                        message: format!("r{i}"),
                        index: u32::try_from(i).unwrap_or(0),
                        ..EchoResponse::default()
                    };
                    Step::Message(Bytes::from(response.encode_to_vec()))
                })
                .collect()
        };
        let mut reply = Vec::new();
        match behaviour {
            Behaviour::Correct => {
                reply.push(Step::Headers);
                let (lo, hi) = if single { (1, 1) } else { (0, 4) };
                reply.extend(messages(&mut rng, lo, hi));
                reply.push(Step::Trailers(0));
            }
            Behaviour::ErrorEnd => {
                let code = [5, 7, 9, 12][rng.below(4) as usize];
                if !rng.percent(40) {
                    reply.push(Step::Headers);
                    reply.extend(messages(&mut rng, 0, if single { 1 } else { 3 }));
                }
                reply.push(Step::Trailers(code));
            }
            Behaviour::StallBeforeHeaders => {}
            Behaviour::StallAfterHeaders => reply.push(Step::Headers),
            Behaviour::NoTrailers => {
                reply.push(Step::Headers);
                reply.extend(messages(&mut rng, 1, if single { 1 } else { 3 }));
            }
            Behaviour::ExtraMessages => {
                reply.push(Step::Headers);
                reply.extend(messages(&mut rng, 2, 5));
            }
            Behaviour::ExtraThenOk => {
                reply.push(Step::Headers);
                reply.extend(messages(&mut rng, 2, 5));
                reply.push(Step::Trailers(0));
            }
            Behaviour::NoMessage => {
                reply.push(Step::Headers);
                reply.push(Step::Trailers(0));
            }
            Behaviour::GoAwayProcessed | Behaviour::GoAwayUnprocessed => {
                if rng.percent(50) {
                    reply.push(Step::Headers);
                }
                reply.push(Step::GoAway {
                    covers_stream: behaviour == Behaviour::GoAwayProcessed,
                });
            }
        }
        let window_zero = rng.percent(15);
        let read_body = !rng.percent(25);
        let reply_after_half_close = rng.percent(50);
        let big = rng.percent(30);
        let requests = if call.streams_requests() {
            let size = if big { BIG_STREAM_MESSAGE } else { 16 };
            vec![size; rng.range(1, 4) as usize]
        } else {
            vec![if big { BIG_REQUEST } else { 16 }]
        };
        Script {
            index,
            call,
            warm,
            behaviour,
            deadline,
            plan: Plan {
                initial_window_size: window_zero.then_some(0),
                warm_up: warm,
                read_body,
                reply_after_half_close,
                reply,
            },
            requests,
        }
    }

    fn temperature(&self) -> &'static str {
        if self.warm { "warm" } else { "cold" }
    }

    /// The tags `SWITCHBOARD_PROPTEST_FILTER` matches.
    fn tags(&self) -> Vec<&'static str> {
        let mut tags = vec![self.call.name(), self.temperature(), self.behaviour.name()];
        if self.plan.initial_window_size == Some(0) {
            tags.push("window-zero");
        }
        if !self.plan.read_body {
            tags.push("no-read");
        }
        if self.requests.iter().sum::<usize>() > 65_535 {
            tags.push("big-request");
        }
        tags.push(if self.plan.reply_after_half_close {
            "after-half-close"
        } else {
            "at-once"
        });
        tags
    }

    /// The codes that fit what the reply says, if the client sees all of
    /// it before the deadline (the table in the module docs).
    fn planned(&self) -> Vec<Code> {
        let steps = &self.plan.reply;
        if steps.iter().any(|s| matches!(s, Step::GoAway { .. })) {
            return vec![Code::DeadlineExceeded, Code::Unavailable];
        }
        let messages = self.reply_messages();
        if self.call.single_response() && messages >= 2 {
            return vec![Code::Internal];
        }
        match self.trailers() {
            None => vec![Code::DeadlineExceeded],
            Some(0) if self.call.single_response() && messages == 0 => vec![Code::Internal],
            Some(code) => vec![Code::from_i32(i32::try_from(code).unwrap_or(2))],
        }
    }

    /// The codes to accept, given when the server finished writing its
    /// reply (if it did) and the deadline `due`.
    fn expected(&self, first: Option<&StreamRecord>, due: Instant) -> Vec<Code> {
        let Some(replied) = first.and_then(|r| r.replied) else {
            return vec![Code::DeadlineExceeded];
        };
        let mut codes = self.planned();
        let raced = replied + REPLY_GRACE > due;
        if (raced || self.call == CallKind::UnpolledFuture)
            && !codes.contains(&Code::DeadlineExceeded)
        {
            codes.push(Code::DeadlineExceeded);
        }
        codes
    }

    fn reply_messages(&self) -> usize {
        self.plan
            .reply
            .iter()
            .filter(|s| matches!(s, Step::Message(_)))
            .count()
    }

    fn trailers(&self) -> Option<u32> {
        self.plan.reply.iter().find_map(|s| match s {
            Step::Trailers(code) => Some(*code),
            _ => None,
        })
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self
            .plan
            .reply
            .iter()
            .map(|s| match s {
                Step::Headers => "HEADERS".to_owned(),
                Step::Message(_) => "MSG".to_owned(),
                Step::Trailers(code) => format!("TRAILERS({code})"),
                Step::GoAway {
                    covers_stream: true,
                } => "GOAWAY(this stream)".to_owned(),
                Step::GoAway {
                    covers_stream: false,
                } => "GOAWAY(below)".to_owned(),
            })
            .collect();
        write!(
            f,
            "#{} {} {} {}: deadline {} ms, stream window {}, {}, reply {} [{}] then nothing, requests {:?}",
            self.index,
            self.call.name(),
            self.temperature(),
            self.behaviour.name(),
            self.deadline.as_millis(),
            self.plan
                .initial_window_size
                .map_or("default".to_owned(), |w| w.to_string()),
            if self.plan.read_body {
                "reads the body"
            } else {
                "never reads the body"
            },
            if self.plan.reply_after_half_close {
                "after the half-close:"
            } else {
                "at once:"
            },
            steps.join(", "),
            self.requests,
        )
    }
}

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

/// The run's settings, from the environment.
struct Config {
    seed: u64,
    cases: usize,
    /// Whether `SWITCHBOARD_PROPTEST_CASES` was set.
    cases_set: bool,
    parallel: usize,
    filter: Vec<String>,
    only: Option<Vec<usize>>,
    /// Print every script and its verdict as it is checked.
    verbose: bool,
}

impl Config {
    fn from_env() -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seed = var("SWITCHBOARD_PROPTEST_SEED").map_or(DEFAULT_SEED, |v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            }
            .unwrap_or_else(|e| panic!("SWITCHBOARD_PROPTEST_SEED={v}: {e}"))
        });
        let number = |name: &str, default: usize| {
            var(name).map_or(default, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{name}={v}: {e}"))
            })
        };
        let list = |name: &str| -> Vec<String> {
            var(name)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let only = var("SWITCHBOARD_PROPTEST_ONLY").map(|_| {
            list("SWITCHBOARD_PROPTEST_ONLY")
                .iter()
                .map(|s| {
                    s.trim_start_matches('#')
                        .parse()
                        .unwrap_or_else(|e| panic!("SWITCHBOARD_PROPTEST_ONLY: {s}: {e}"))
                })
                .collect()
        });
        Config {
            seed,
            cases: number("SWITCHBOARD_PROPTEST_CASES", DEFAULT_CASES),
            cases_set: var("SWITCHBOARD_PROPTEST_CASES").is_some(),
            parallel: number("SWITCHBOARD_PROPTEST_PARALLEL", DEFAULT_PARALLEL).max(1),
            filter: list("SWITCHBOARD_PROPTEST_FILTER"),
            only,
            verbose: var("SWITCHBOARD_PROPTEST_VERBOSE").is_some_and(|v| v != "0"),
        }
    }

    /// Whether the environment asked for a partial run.
    fn narrowed(&self) -> bool {
        self.cases_set || !self.filter.is_empty() || self.only.is_some()
    }

    /// The scripts to run: numbers `0..cases` (or the `only` ones) whose
    /// tags include every filter term.
    fn scripts(&self) -> Vec<Script> {
        let indexes: Vec<usize> = match &self.only {
            Some(only) => only.clone(),
            None => (0..self.cases).collect(),
        };
        indexes
            .into_iter()
            .map(|i| Script::generate(self.seed, i))
            .filter(|s| {
                let tags = s.tags();
                self.filter.iter().all(|f| tags.contains(&f.as_str()))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------
// Running and watching one call

/// What the call thread reports.
enum Report {
    /// The warm-up (if any) is done and the call starts now.
    Started(Instant),
    WarmUpFailed(String),
    Done(Outcome),
}

/// How a call ended, as its caller saw it.
struct Outcome {
    status: Status,
    /// Response messages the caller received.
    messages: usize,
    /// When the caller had the final status.
    ended: Instant,
    /// Problems the call thread found itself (the unpolled future).
    problems: Vec<(Check, String)>,
}

/// The kinds of failure, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Check {
    /// No status `HARD_LIMIT` after the deadline.
    Hang,
    /// A status, but later than the deadline + `MARGIN`.
    Late,
    /// A status that does not fit what the server did.
    WrongCode,
    /// A peer end, but not every message before it was delivered.
    LostMessages,
    /// The server's stream stayed open after the call ended.
    NoReset,
    /// The client reset the stream with another code than CANCEL.
    ResetCode,
    /// The call never reached the server.
    NeverSent,
    /// An unpolled call opened its stream but did not send its request.
    Unsent,
    /// An unpolled future, polled after its deadline, took long to end.
    SlowPoll,
    /// The warm-up call failed.
    WarmUp,
    /// The call thread panicked.
    Panic,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Check::Hang => "hang past deadline",
            Check::Late => "late",
            Check::WrongCode => "wrong code",
            Check::LostMessages => "lost messages",
            Check::NoReset => "no RST_STREAM",
            Check::ResetCode => "RST_STREAM not CANCEL",
            Check::NeverSent => "never reached the server",
            Check::Unsent => "request unsent until polled",
            Check::SlowPoll => "slow poll after deadline",
            Check::WarmUp => "warm-up failed",
            Check::Panic => "panic",
        }
    }
}

/// The result of checking one script.
#[derive(Default)]
struct Checked {
    failures: Vec<(Check, String)>,
    /// How long after its deadline the call ended, if it ended after it.
    lateness: Option<Duration>,
    /// The status code and when it came, relative to the deadline `D`.
    summary: String,
}

impl Checked {
    fn fail(check: Check, detail: impl Into<String>) -> Checked {
        Checked {
            failures: vec![(check, detail.into())],
            lateness: None,
            summary: "no status".to_owned(),
        }
    }
}

/// Runs `script`'s call on its own thread against its own peer, watches
/// it, and checks how it ended.
fn check(script: &Script) -> Checked {
    let peer = Arc::new(ScriptedPeer::start(script.plan.clone()));
    let channel = Channel::builder(peer.url())
        .build()
        .expect("a valid target");
    let (tx, rx) = mpsc::channel();
    {
        let script = script.clone();
        let channel = channel.clone();
        let peer = peer.clone();
        std::thread::Builder::new()
            .name(format!("call-{}", script.index))
            .spawn(move || call_thread(&script, &channel, &peer, &tx))
            .expect("spawn a call thread");
    }
    let leave_behind = |peer: Arc<ScriptedPeer>, channel: Channel| {
        // Keep the hung call's server and channel as they are: the test
        // ends without waiting for it.
        std::mem::forget(peer);
        std::mem::forget(channel);
    };
    let started = match rx.recv_timeout(WARM_UP_LIMIT) {
        Ok(Report::Started(at)) => at,
        Ok(Report::WarmUpFailed(why)) => return Checked::fail(Check::WarmUp, why),
        Ok(Report::Done(_)) => unreachable!("a call reports its start first"),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            leave_behind(peer, channel);
            return Checked::fail(Check::WarmUp, "the warm-up call hung");
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Checked::fail(Check::Panic, "the call thread panicked (see its output)");
        }
    };
    let due = started + script.deadline;
    let wait = (due + HARD_LIMIT).saturating_duration_since(Instant::now());
    let outcome = match rx.recv_timeout(wait) {
        Ok(Report::Done(outcome)) => outcome,
        Ok(_) => unreachable!("one start per call"),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let streams = peer.streams();
            leave_behind(peer, channel);
            return Checked::fail(
                Check::Hang,
                format!(
                    "no status {} s after the deadline; the server saw {}",
                    HARD_LIMIT.as_secs(),
                    describe(&streams, due)
                ),
            );
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Checked::fail(Check::Panic, "the call thread panicked (see its output)");
        }
    };

    let mut checked = Checked {
        failures: outcome.problems.clone(),
        lateness: outcome.ended.checked_duration_since(due),
        summary: format!(
            "{:?} at {}",
            outcome.status.code(),
            relative(outcome.ended, due)
        ),
    };
    let fail = |checked: &mut Checked, check: Check, detail: String| {
        checked.failures.push((check, detail));
    };
    // Ends by the deadline + MARGIN (the unpolled future is checked on the
    // wire instead, by its thread).
    if script.call != CallKind::UnpolledFuture
        && let Some(late) = checked.lateness
        && late > MARGIN
    {
        fail(
            &mut checked,
            Check::Late,
            format!(
                "ended {} ms after the deadline with {}",
                late.as_millis(),
                outcome.status
            ),
        );
    }

    // Every stream the client opened for the call must be ended: by the
    // server, or by the client's RST_STREAM(CANCEL).
    let scripted = |streams: &[StreamRecord]| -> Vec<StreamRecord> {
        streams.iter().filter(|r| !r.warm_up).cloned().collect()
    };
    peer.wait_for(outcome.ended + MARGIN, |streams| {
        streams
            .iter()
            .filter(|r| !r.warm_up)
            .all(|r| r.ended_by_server || r.reset.is_some())
    });
    let streams = scripted(&peer.streams());
    let code = outcome.status.code();
    if streams.is_empty() && !checked.failures.iter().any(|(c, _)| *c == Check::NeverSent) {
        fail(
            &mut checked,
            Check::NeverSent,
            format!("ended with {} and no stream ever opened", outcome.status),
        );
    }
    for record in &streams {
        match record.reset {
            Some((reason, _)) if reason != CANCEL => fail(
                &mut checked,
                Check::ResetCode,
                format!("stream {} reset with code {reason:#x}", record.id),
            ),
            Some(_) => {}
            None if !record.ended_by_server => fail(
                &mut checked,
                Check::NoReset,
                format!(
                    "ended with {} but stream {} (connection {}) is still open at the server {} ms after the end",
                    outcome.status,
                    record.id,
                    record.connection,
                    MARGIN.as_millis()
                ),
            ),
            None => {}
        }
    }

    // The sensible code, from what the server did.
    let expected = script.expected(streams.first(), due);
    if !expected.contains(&code) {
        fail(
            &mut checked,
            Check::WrongCode,
            format!(
                "ended with {} after {} ms (deadline {} ms), expected {:?}; the server saw {}",
                outcome.status,
                outcome.ended.saturating_duration_since(started).as_millis(),
                script.deadline.as_millis(),
                expected,
                describe(&streams, due)
            ),
        );
    }
    // A peer end comes after every message sent before it (rule 10).
    if script
        .trailers()
        .map(|c| Code::from_i32(i32::try_from(c).unwrap_or(2)))
        == Some(code)
        && !matches!(
            code,
            Code::DeadlineExceeded | Code::Internal | Code::Unavailable
        )
    {
        let want = if script.call.single_response() {
            usize::from(code == Code::Ok)
        } else {
            script.reply_messages()
        };
        if outcome.messages != want {
            fail(
                &mut checked,
                Check::LostMessages,
                format!(
                    "ended with {} after {} of {want} messages",
                    outcome.status, outcome.messages
                ),
            );
        }
    }
    checked
}

/// What the server saw, for a failure message: each stream's state, with
/// times relative to the deadline `due`.
fn describe(streams: &[StreamRecord], due: Instant) -> String {
    if streams.is_empty() {
        return "no stream".to_owned();
    }
    let at = |t: Instant| relative(t, due);
    streams
        .iter()
        .filter(|r| !r.warm_up)
        .map(|r| {
            format!(
                "[conn {} stream {}: opened {}, {} request bytes{}, {}, {}]",
                r.connection,
                r.id,
                at(r.opened),
                r.request_bytes,
                if r.half_closed { ", half-closed" } else { "" },
                r.replied
                    .map_or("no reply".to_owned(), |t| format!("replied {}", at(t))),
                match r.reset {
                    Some((code, t)) => format!("RST({code:#x}) {}", at(t)),
                    None if r.ended_by_server => "ended by the server".to_owned(),
                    None => "still open".to_owned(),
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `t` relative to the deadline `due`: `D+12ms`, `D-200ms`.
fn relative(t: Instant, due: Instant) -> String {
    match t.checked_duration_since(due) {
        Some(after) => format!("D+{}ms", after.as_millis()),
        None => format!("D-{}ms", (due - t).as_millis()),
    }
}

/// The call thread: warm-up, then the call, reported on `tx`.
fn call_thread(script: &Script, channel: &Channel, peer: &ScriptedPeer, tx: &mpsc::Sender<Report>) {
    if script.warm {
        let options = CallOptions::new().with_deadline_after(WARM_UP_LIMIT / 2);
        if let Err(status) = blocking_unary_call(channel, &UNARY, &options, echo(16)) {
            let _ = tx.send(Report::WarmUpFailed(format!("warm-up call: {status}")));
            return;
        }
        let state = channel.state(false);
        if state != ConnectivityState::Ready {
            let _ = tx.send(Report::WarmUpFailed(format!(
                "the channel is {state:?} after the warm-up call"
            )));
            return;
        }
    }
    let started = Instant::now();
    let _ = tx.send(Report::Started(started));
    let outcome = make_call(script, channel, peer, started);
    let _ = tx.send(Report::Done(outcome));
}

fn echo(size: usize) -> EchoRequest {
    EchoRequest {
        message: "x".to_owned(),
        payload: vec![0x5a; size],
        ..EchoRequest::default()
    }
}

/// Makes the script's call and follows it to its end.
fn make_call(script: &Script, channel: &Channel, peer: &ScriptedPeer, started: Instant) -> Outcome {
    let options = CallOptions::new().with_deadline_after(script.deadline);
    let requests: Vec<EchoRequest> = script.requests.iter().map(|&n| echo(n)).collect();
    let first = requests.first().cloned().unwrap_or_else(|| echo(0));
    let stream_request = StreamRequest {
        count: 3,
        message: "x".repeat(script.requests.first().copied().unwrap_or(0)),
        ..StreamRequest::default()
    };
    let single = |result: Result<EchoResponse, Status>| match result {
        Ok(_) => (Status::ok(), 1),
        Err(status) => (status, 0),
    };
    let (status, messages) = match script.call {
        CallKind::BlockingUnary => single(blocking_unary_call(channel, &UNARY, &options, first)),
        CallKind::FutureUnary => single(block_on(future_unary_call(
            channel, &UNARY, &options, first,
        ))),
        CallKind::UnpolledFuture => return unpolled(script, channel, peer, started, first),
        CallKind::BlockingServerStream => {
            let stream =
                blocking_server_streaming_call(channel, &SERVER_STREAM, &options, stream_request);
            drain(stream)
        }
        CallKind::AsyncServerStream => block_on(async {
            let stream =
                async_server_streaming_call(channel, &SERVER_STREAM, &options, stream_request);
            drain_async(stream).await
        }),
        CallKind::BlockingClientStream => single(blocking_client_streaming_call(
            channel,
            &CLIENT_STREAM,
            &options,
            requests,
        )),
        CallKind::AsyncClientStream => single(block_on(async_client_streaming_call(
            channel,
            &CLIENT_STREAM,
            &options,
            futures::stream::iter(requests),
        ))),
        CallKind::BlockingBidi => {
            let call = blocking_bidi_streaming_call(channel, &BIDI, &options);
            for request in requests {
                if call.send(request).is_err() {
                    break;
                }
            }
            call.half_close();
            drain(std::iter::from_fn(|| call.recv()))
        }
        CallKind::AsyncBidi => block_on(async {
            let stream = async_bidi_streaming_call(
                channel,
                &BIDI,
                &options,
                futures::stream::iter(requests),
            );
            drain_async(stream).await
        }),
    };
    Outcome {
        status,
        messages,
        ended: Instant::now(),
        problems: Vec::new(),
    }
}

/// Reads a response stream to its end: the status and the message count.
fn drain(stream: impl Iterator<Item = Result<EchoResponse, Status>>) -> (Status, usize) {
    let mut messages = 0;
    for item in stream {
        match item {
            Ok(_) => messages += 1,
            Err(status) => return (status, messages),
        }
    }
    (Status::ok(), messages)
}

async fn drain_async(
    mut stream: impl futures::Stream<Item = Result<EchoResponse, Status>> + Unpin,
) -> (Status, usize) {
    let mut messages = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => messages += 1,
            Err(status) => return (status, messages),
        }
    }
    (Status::ok(), messages)
}

/// A future nobody polls until after its deadline: its call must start
/// anyway (rule 5) and end on the wire by the deadline + MARGIN; polled
/// then, it must end at once.
fn unpolled(
    script: &Script,
    channel: &Channel,
    peer: &ScriptedPeer,
    started: Instant,
    request: EchoRequest,
) -> Outcome {
    let options = CallOptions::new().with_deadline_after(script.deadline);
    let future = future_unary_call(channel, &UNARY, &options, request);
    let due = started + script.deadline;
    let mut problems = Vec::new();
    // Rule 5: the buffered request and half-close go out without a poll,
    // as far as flow control lets them.
    let sendable = script.plan.initial_window_size != Some(0)
        && (script.plan.read_body
            || script.requests.iter().map(|n| n + 32).sum::<usize>() < 65_535);
    let request_sent = |streams: &[StreamRecord]| {
        streams
            .iter()
            .any(|r| !r.warm_up && (r.half_closed || r.ended_by_server || r.reset.is_some()))
    };
    if sendable && !peer.wait_for(due, request_sent) {
        let streams = peer.streams();
        if streams.iter().any(|r| !r.warm_up) {
            problems.push((
                Check::Unsent,
                format!(
                    "unpolled: the stream opened but its request and half-close had not reached the server by the deadline (rule 5: buffered sends must not wait for a poll); the server saw {}",
                    describe(&streams, due)
                ),
            ));
        }
    }
    let ended_on_wire = |streams: &[StreamRecord]| {
        streams
            .iter()
            .any(|r| !r.warm_up && (r.ended_by_server || r.reset.is_some()))
    };
    if !peer.wait_for(due + MARGIN, ended_on_wire) {
        let streams = peer.streams();
        if streams.iter().all(|r| r.warm_up) {
            problems.push((
                Check::NeverSent,
                format!(
                    "the unpolled call had not reached the server {} ms after its deadline (rule 5: it starts when made)",
                    MARGIN.as_millis()
                ),
            ));
        } else {
            problems.push((
                Check::NoReset,
                format!(
                    "unpolled: no RST_STREAM by the deadline + {} ms; the server saw {}",
                    MARGIN.as_millis(),
                    describe(&streams, due)
                ),
            ));
        }
    }
    // The scenario, not a synchronisation: nobody polls before the
    // deadline (a timed wait when the server already ended the stream).
    peer.wait_for(due, |_| false);
    let polled = Instant::now();
    let result = block_on(future);
    let ended = Instant::now();
    if ended - polled > MARGIN {
        problems.push((
            Check::SlowPoll,
            format!(
                "polled after the deadline, it took {} ms to end",
                (ended - polled).as_millis()
            ),
        ));
    }
    let (status, messages) = match result {
        Ok(_) => (Status::ok(), 1),
        Err(status) => (status, 0),
    };
    Outcome {
        status,
        messages,
        ended,
        problems,
    }
}

// ---------------------------------------------------------------------
// The report

#[derive(Default)]
struct Results {
    /// (check, behaviour, call, cold/warm) → script numbers.
    categories: BTreeMap<(Check, Behaviour, CallKind, &'static str), Vec<usize>>,
    /// Every failure: the script and what went wrong.
    failures: Vec<(String, Check, String)>,
    /// How far after its deadline each call that outlived it ended.
    lateness: Vec<(Duration, usize)>,
    checked: usize,
    /// Scripts checked per behaviour, to show what the run covered.
    behaviours: BTreeMap<Behaviour, usize>,
}

impl Results {
    fn add(&mut self, script: &Script, checked: Checked) {
        self.checked += 1;
        *self.behaviours.entry(script.behaviour).or_default() += 1;
        if let Some(late) = checked.lateness
            && script.call != CallKind::UnpolledFuture
            && !checked.failures.iter().any(|(c, _)| *c == Check::Hang)
        {
            self.lateness.push((late, script.index));
        }
        for (check, detail) in checked.failures {
            self.categories
                .entry((check, script.behaviour, script.call, script.temperature()))
                .or_default()
                .push(script.index);
            self.failures.push((script.to_string(), check, detail));
        }
    }

    fn report(&self, config: &Config, total: usize, elapsed: Duration) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let failed: std::collections::BTreeSet<&str> =
            self.failures.iter().map(|(s, _, _)| s.as_str()).collect();
        let _ = writeln!(
            out,
            "every_call_ends: seed {:#x}: {} of {total} scripts checked in {:.1} s, {} failed ({} failures)",
            config.seed,
            self.checked,
            elapsed.as_secs_f64(),
            failed.len(),
            self.failures.len()
        );
        let covered: Vec<String> = self
            .behaviours
            .iter()
            .map(|(b, n)| format!("{} {n}", b.name()))
            .collect();
        let _ = writeln!(out, "behaviours: {}", covered.join(", "));
        let mut lateness = self.lateness.clone();
        lateness.sort();
        if let Some((worst, index)) = lateness.last() {
            let at = |q: f64| lateness[((lateness.len() - 1) as f64 * q) as usize].0;
            let _ = writeln!(
                out,
                "ends after the deadline ({} calls): median {} ms, p99 {} ms, max {} ms (#{index})",
                lateness.len(),
                at(0.5).as_millis(),
                at(0.99).as_millis(),
                worst.as_millis()
            );
        }
        if self.failures.is_empty() {
            return out;
        }
        let mut by_check: BTreeMap<Check, usize> = BTreeMap::new();
        for (_, check, _) in &self.failures {
            *by_check.entry(*check).or_default() += 1;
        }
        let _ = writeln!(out, "\nfailures by check:");
        for (check, count) in &by_check {
            let _ = writeln!(out, "  {:<28} {count}", check.name());
        }
        let _ = writeln!(
            out,
            "\nfailures by check × behaviour × call × cold/warm (count: scripts):"
        );
        for ((check, behaviour, call, temperature), scripts) in &self.categories {
            let shown: Vec<String> = scripts.iter().take(6).map(|i| format!("#{i}")).collect();
            let _ = writeln!(
                out,
                "  {:<28} {:<21} {:<23} {temperature}: {} ({}{})",
                check.name(),
                behaviour.name(),
                call.name(),
                scripts.len(),
                shown.join(" "),
                if scripts.len() > 6 { " ..." } else { "" }
            );
        }
        let _ = writeln!(out, "\nfirst failure of each category:");
        let mut seen = std::collections::BTreeSet::new();
        for (script, check, detail) in &self.failures {
            let key = (*check, script.split(':').next().unwrap_or("").to_owned());
            // One example per category: the header holds call, temperature
            // and behaviour after the number.
            let category: String = key
                .1
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ");
            if seen.insert((*check, category)) {
                let _ = writeln!(out, "  {}: {script}\n      {detail}", check.name());
            }
        }
        let _ = writeln!(
            out,
            "\nreproduce one: SWITCHBOARD_PROPTEST_SEED={:#x} SWITCHBOARD_PROPTEST_ONLY=<number> \
             cargo test -p switchboard-tests --test every_call_ends",
            config.seed
        );
        out
    }
}
