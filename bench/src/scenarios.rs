//! The scenarios and how a run schedules them: every in-process scenario
//! client by client, ABAB (the order reverses each round, so drift over the
//! run weighs on every client alike), then the RSS scenario in child
//! processes, also ABAB. Fills one [`Table`] per scenario (two for
//! unary-throughput-multi, see [`crate::multi`]).

use std::time::Duration;

use crate::alloc;
use crate::clients::{Client, Hold, Load, Result, raw_h2};
use crate::multi::{self, MultiScenario};
use crate::report::{Table, percentiles};
use crate::rss;

/// Sizes of a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Rounds of the in-process scenarios.
    pub rounds: usize,
    /// Measured calls of the latency scenario, per client and round.
    pub latency_calls: usize,
    /// The throughput scenario's load.
    pub load: Load,
    /// unary-throughput-multi: the N of its first table (`--connections`).
    pub connections: usize,
    /// unary-throughput-multi: calls per measured run, whatever the calls in
    /// flight.
    pub multi_calls: usize,
    /// Messages of one server stream.
    pub stream_messages: u32,
    /// Sequential calls counted by the allocation scenario.
    pub alloc_calls: usize,
    /// Rounds of the RSS scenario (a child process per client and round).
    pub rss_rounds: usize,
    /// The calls held at once in the RSS scenario.
    pub hold: Hold,
}

impl Settings {
    /// `--quick`: finishes in well under a minute, for checks.
    pub fn quick() -> Settings {
        Settings {
            rounds: 2,
            latency_calls: 2_000,
            load: Load {
                in_flight: 64,
                calls_each: 50,
            },
            connections: multi::DEFAULT_CONNECTIONS,
            multi_calls: 9_600,
            stream_messages: 50_000,
            alloc_calls: 1_000,
            rss_rounds: 1,
            hold: Hold {
                calls: 10_000,
                sleep_ms: 2_000,
                batch: 500,
                gap: Duration::from_millis(20),
            },
        }
    }

    /// The default: a few minutes.
    pub fn full() -> Settings {
        Settings {
            rounds: 5,
            latency_calls: 20_000,
            load: Load {
                in_flight: 64,
                calls_each: 400,
            },
            multi_calls: 25_600,
            stream_messages: 300_000,
            alloc_calls: 5_000,
            rss_rounds: 3,
            ..Settings::quick()
        }
    }
}

/// One table per scenario.
pub struct Tables {
    /// unary-latency: p50, p99, p99.9 in µs.
    pub latency: Table,
    /// unary-throughput on one channel: calls/s, p99 µs.
    pub throughput: Table,
    /// unary-throughput-multi at `--connections` N: calls/s at 64 and 256
    /// in flight.
    pub multi: Table,
    /// unary-throughput-multi at each client's best N.
    pub multi_best: Table,
    /// server-stream: messages/s.
    pub stream: Table,
    /// allocations: count and bytes per unary call.
    pub allocations: Table,
    /// rss: peak growth in MiB and KiB per call.
    pub rss: Table,
}

impl Tables {
    fn new(settings: &Settings) -> Tables {
        let in_flight = settings.load.in_flight;
        Tables {
            latency: Table::new(
                "unary-latency",
                "unary-latency: 1 caller, 1 call in flight, 100-byte payload",
                &["p50 µs", "p99 µs", "p99.9 µs"],
            ),
            throughput: Table::new(
                "unary-throughput",
                format!("unary-throughput: {in_flight} calls in flight on one channel"),
                &["calls/s", "p99 µs"],
            ),
            multi: Table::new("unary-throughput-multi", "", &[]),
            multi_best: Table::new("unary-throughput-multi-best", "", &[]),
            stream: Table::new(
                "server-stream",
                "server-stream: 100-byte messages",
                &["msgs/s"],
            ),
            allocations: Table::new(
                "allocations",
                format!(
                    "allocations per unary call: {} sequential calls, counting global allocator, all client threads",
                    settings.alloc_calls
                ),
                &["allocs", "bytes"],
            ),
            rss: Table::new(
                "rss",
                format!(
                    "peak RSS growth, {} concurrent pending calls (server holds each {} ms; started {} per {:?}; one child process per client)",
                    settings.hold.calls,
                    settings.hold.sleep_ms,
                    settings.hold.batch,
                    settings.hold.gap
                ),
                &["MiB", "KiB/call"],
            ),
        }
    }

    /// Every table, in print order.
    pub fn all(&self) -> [&Table; 7] {
        [
            &self.latency,
            &self.throughput,
            &self.multi,
            &self.multi_best,
            &self.stream,
            &self.allocations,
            &self.rss,
        ]
    }
}

/// The scenarios `--scenario` can pick.
pub const NAMES: &[&str] = &[
    "unary-latency",
    "unary-throughput",
    "unary-throughput-multi",
    "server-stream",
    "allocations",
    "rss",
];

/// Runs every scenario that `selected` accepts with `clients`, the RSS
/// scenario in child processes connecting to `url`.
pub fn run(
    clients: &[Client],
    url: &str,
    settings: &Settings,
    selected: impl Fn(&str) -> bool,
) -> Result<Tables> {
    let mut tables = Tables::new(settings);
    let mut multi = if selected("unary-throughput-multi") {
        let limit = match raw_h2::announced_max_concurrent_streams(url) {
            Ok(Some(n)) => n.to_string(),
            Ok(None) => "none announced (no limit)".into(),
            Err(error) => format!("unknown ({error})"),
        };
        let calls = settings.multi_calls;
        Some(MultiScenario::new(settings.connections, calls, url, limit))
    } else {
        None
    };
    for round in 0..settings.rounds {
        for client in abab(clients, round) {
            if selected("unary-latency") {
                latency(client, settings, &mut tables.latency)?;
            }
            if selected("unary-throughput") {
                throughput(client, settings, &mut tables.throughput)?;
            }
            if let Some(multi) = &mut multi {
                multi.round(client)?;
            }
            if selected("server-stream") {
                let rate = (client.server_stream)(settings.stream_messages)?;
                tables.stream.add(client.name, vec![rate]);
            }
            if selected("allocations") {
                allocations(client, settings, &mut tables.allocations)?;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(multi) = multi {
        (tables.multi, tables.multi_best) = multi.finish();
    }
    if selected("rss") {
        for round in 0..settings.rss_rounds {
            for client in abab(clients, round) {
                let Some(measured) = rss_attempts(client.name, url, settings, &mut tables.rss)
                else {
                    continue;
                };
                let per_call_kib = measured.peak_mib * 1024.0 / settings.hold.calls as f64;
                tables
                    .rss
                    .add(client.name, vec![measured.peak_mib, per_call_kib]);
                if !measured.all_pending_at_once {
                    tables.rss.note(format!(
                        "{}: the calls took {:?}, so not all were pending at once",
                        client.name, measured.elapsed
                    ));
                }
            }
        }
    }
    Ok(tables)
}

/// How many child processes the RSS scenario tries per client and round.
const RSS_ATTEMPTS: usize = 3;

/// Measures `client`'s RSS in a child process, retrying a failed child up to
/// [`RSS_ATTEMPTS`] times; every failure is noted under the table.
///
/// A retry is needed for tonic: its client sends each request message in a
/// non-final DATA frame (the END_STREAM comes in an empty frame after it),
/// and h2 0.4.20's server charges every small non-final DATA frame to a
/// per-connection budget until the handler reads it. 10,000 such frames
/// arriving at once can exhaust it, and the server then closes the
/// connection (GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames").
fn rss_attempts(
    client: &'static str,
    url: &str,
    settings: &Settings,
    table: &mut Table,
) -> Option<rss::Measured> {
    for attempt in 1..=RSS_ATTEMPTS {
        match rss::measure(client, url, &settings.hold) {
            Ok(measured) => return Some(measured),
            Err(error) => {
                let mut error = error.to_string();
                if let Some((cut, _)) = error.char_indices().nth(240) {
                    error.truncate(cut);
                }
                table.note(format!("{client}: attempt {attempt} failed: {error}"));
                if client == crate::clients::TONIC {
                    table.note(
                        "tonic's failures are the server's GOAWAY ENHANCE_YOUR_CALM \"too_many_data_frames\" \
                         (seen with strace): h2 0.4.20 budgets small non-final DATA frames, and tonic sends \
                         each request message in one, ending the stream with an empty DATA frame",
                    );
                }
            }
        }
    }
    None
}

/// The clients in round `round`'s order: forwards, then backwards.
fn abab(clients: &[Client], round: usize) -> Vec<&Client> {
    if round.is_multiple_of(2) {
        clients.iter().collect()
    } else {
        clients.iter().rev().collect()
    }
}

fn latency(client: &Client, settings: &Settings, table: &mut Table) -> Result<()> {
    let n = settings.latency_calls;
    (client.unary)((n / 10).max(200), &mut |_| {})?;
    let mut samples = Vec::with_capacity(n);
    (client.unary)(n, &mut |d| samples.push(d))?;
    table.add(client.name, percentiles(&samples));
    Ok(())
}

fn throughput(client: &Client, settings: &Settings, table: &mut Table) -> Result<()> {
    let warm = Load {
        calls_each: 5,
        ..settings.load
    };
    (client.throughput)(warm)?;
    let batch = (client.throughput)(settings.load)?;
    table.add(
        client.name,
        vec![batch.rate(), percentiles(&batch.latencies)[1]],
    );
    Ok(())
}

fn allocations(client: &Client, settings: &Settings, table: &mut Table) -> Result<()> {
    (client.unary)(200, &mut |_| {})?;
    let n = settings.alloc_calls;
    let (result, counts) = alloc::measure(|| (client.unary)(n, &mut |_| {}));
    result?;
    table.add(
        client.name,
        vec![
            counts.allocations as f64 / n as f64,
            counts.bytes as f64 / n as f64,
        ],
    );
    Ok(())
}

/// Checks a `--scenario` value.
pub fn check_name(name: &str) -> Result<()> {
    if NAMES.contains(&name) {
        Ok(())
    } else {
        Err(format!("unknown scenario {name:?}; one of {NAMES:?}").into())
    }
}
