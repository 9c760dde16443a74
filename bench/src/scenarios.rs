//! The scenarios and how a run schedules them: every in-process scenario
//! client by client, ABAB (the order reverses each round, so drift over the
//! run weighs on every client alike), then the RSS scenario in child
//! processes, also ABAB. Fills one [`Table`] per scenario, and more for
//! some: unary-latency has one per placement (each client measured in every
//! placement back to back, see [`crate::os::Placement`]), unary-throughput
//! one per server setting (see [`crate::server::ServerKind`]), and
//! unary-throughput-multi two (see [`crate::multi`]).
//!
//! Cost columns: the latency and throughput tables add the client's CPU
//! time per call (user plus system, every thread of this process, from
//! `getrusage`; the servers are other processes) and its context switches
//! per call (voluntary plus involuntary), over the measured calls only
//! (after warm-up, threads spawned and connections open).

use std::time::Duration;

use crate::alloc;
use crate::clients::{Client, Hold, Load, Result, Skipped, raw_h2, skipped};
use crate::multi::{self, MultiScenario};
use crate::os::{Placement, Placer, Usage};
use crate::report::{Table, percentiles};
use crate::rss;
use crate::server::ServerKind;

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
    /// The placements of the latency scenario (`--placement`).
    pub placements: Vec<Placement>,
}

impl Settings {
    /// `--quick`: finishes in well under a minute, for checks.
    pub fn quick() -> Settings {
        Settings {
            rounds: 2,
            latency_calls: 2_000,
            load: Load {
                in_flight: 64,
                calls_each: 100,
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
            placements: Placement::BOTH.to_vec(),
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

/// The columns of every unary-latency table.
pub const LATENCY_COLUMNS: &[&str] = &["p50 µs", "p99 µs", "p99.9 µs", "CPU µs/call", "csw/call"];

/// The columns of every unary-throughput table.
pub const THROUGHPUT_COLUMNS: &[&str] = &["calls/s", "p99 µs", "CPU µs/call", "csw/call"];

/// What a run measures: the clients and servers.
pub struct Setup<'a> {
    /// The clients connected to the main server, which every scenario but
    /// unary-throughput uses.
    pub clients: &'a [Client],
    /// The main server's URL.
    pub url: &'a str,
    /// The main server's setting.
    pub main: ServerKind,
    /// The server settings of unary-throughput, each with the clients
    /// connected to it (the main setting's are `clients`).
    pub throughput: Vec<(ServerKind, &'a [Client])>,
    /// Places the bench and the servers for the latency scenario.
    pub placer: &'a Placer,
    /// Clients that could not be built, with the reason: a row in every
    /// table.
    pub skipped: &'a [Skipped],
}

/// One table per scenario (and setting).
pub struct Tables {
    /// unary-latency, per placement: [`LATENCY_COLUMNS`].
    pub latency: Vec<(Placement, Table)>,
    /// unary-throughput on one channel, per server setting:
    /// [`THROUGHPUT_COLUMNS`].
    pub throughput: Vec<(ServerKind, Table)>,
    /// The server setting of every scenario but unary-throughput.
    pub main: ServerKind,
    /// Clients that could not be built, with the reason.
    pub skipped: Vec<(String, String)>,
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
    fn new(settings: &Settings, setup: &Setup<'_>) -> Tables {
        let in_flight = settings.load.in_flight;
        Tables {
            latency: settings
                .placements
                .iter()
                .map(|&placement| {
                    let table = Table::new(
                        format!("unary-latency-{}", placement.flag()),
                        format!(
                            "unary-latency, {}: 1 caller, 1 call in flight, 100-byte payload, {}",
                            placement.label(),
                            setup.main.label()
                        ),
                        LATENCY_COLUMNS,
                    );
                    (placement, table)
                })
                .collect(),
            throughput: setup
                .throughput
                .iter()
                .map(|&(kind, _)| {
                    let table = Table::new(
                        format!("unary-throughput-{}", kind.key()),
                        format!(
                            "unary-throughput against the {}: {in_flight} calls in flight on one channel",
                            kind.label()
                        ),
                        THROUGHPUT_COLUMNS,
                    );
                    (kind, table)
                })
                .collect(),
            main: setup.main,
            skipped: setup
                .skipped
                .iter()
                .map(|&(c, r)| (c.to_string(), r.to_string()))
                .collect(),
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

    /// The unary-latency table of `placement`, if it was measured.
    pub fn latency(&self, placement: Placement) -> Option<&Table> {
        self.latency
            .iter()
            .find(|(p, _)| *p == placement)
            .map(|(_, t)| t)
    }

    /// The unary-throughput table against `server`, if it was measured.
    pub fn throughput(&self, server: ServerKind) -> Option<&Table> {
        self.throughput
            .iter()
            .find(|(k, _)| *k == server)
            .map(|(_, t)| t)
    }

    /// Every table, in print order.
    pub fn all(&self) -> Vec<&Table> {
        let mut all: Vec<&Table> = self.latency.iter().map(|(_, t)| t).collect();
        all.extend(self.throughput.iter().map(|(_, t)| t));
        all.extend([
            &self.multi,
            &self.multi_best,
            &self.stream,
            &self.allocations,
            &self.rss,
        ]);
        all
    }

    fn all_mut(&mut self) -> Vec<&mut Table> {
        let mut all: Vec<&mut Table> = self.latency.iter_mut().map(|(_, t)| t).collect();
        all.extend(self.throughput.iter_mut().map(|(_, t)| t));
        all.extend([
            &mut self.multi,
            &mut self.multi_best,
            &mut self.stream,
            &mut self.allocations,
            &mut self.rss,
        ]);
        all
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

/// Runs every scenario that `selected` accepts with `setup`'s clients, the
/// RSS scenario in child processes connecting to the main server.
pub fn run(
    setup: &Setup<'_>,
    settings: &Settings,
    selected: impl Fn(&str) -> bool,
) -> Result<Tables> {
    let (clients, url) = (setup.clients, setup.url);
    let mut tables = Tables::new(settings, setup);
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
                for (placement, table) in &mut tables.latency {
                    setup.placer.apply(*placement)?;
                    let result = latency(client, settings, table);
                    record(table, client.name, result)?;
                }
                setup.placer.apply(Placement::Free)?;
            }
            if selected("unary-throughput") {
                for (kind, set) in &setup.throughput {
                    let Some(on_kind) = set.iter().find(|c| c.name == client.name) else {
                        continue;
                    };
                    let Some((_, table)) = tables.throughput.iter_mut().find(|(k, _)| k == kind)
                    else {
                        continue;
                    };
                    let result = throughput(on_kind, settings, table);
                    record(table, client.name, result)?;
                }
            }
            if let Some(multi) = &mut multi {
                multi.round(client)?;
            }
            if selected("server-stream") {
                let result = (client.server_stream)(settings.stream_messages)
                    .map(|rate| tables.stream.add(client.name, vec![rate]));
                record(&mut tables.stream, client.name, result)?;
            }
            if selected("allocations") {
                let result = allocations(client, settings, &mut tables.allocations);
                record(&mut tables.allocations, client.name, result)?;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for (_, table) in &mut tables.latency {
        if !table.is_empty() {
            table.note_rounds(0);
        }
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
    for (client, reason) in setup.skipped {
        for table in tables.all_mut() {
            table.skip(*client, *reason);
        }
    }
    Ok(tables)
}

/// Passes on `result`, unless it is a [`crate::clients::Skip`]: then
/// `client`'s row in `table` says why.
fn record(table: &mut Table, client: &str, result: Result<()>) -> Result<()> {
    match result {
        Err(error) => match skipped(&error) {
            Some(reason) => {
                table.skip(client, reason);
                Ok(())
            }
            None => Err(format!("{client}: {error}").into()),
        },
        ok => ok,
    }
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
    let start = Usage::now();
    (client.unary)(n, &mut |d| samples.push(d))?;
    let used = Usage::now().since(start);
    let mut row = percentiles(&samples);
    row.extend([used.cpu_us_per(n), used.switches_per(n)]);
    table.add(client.name, row);
    Ok(())
}

fn throughput(client: &Client, settings: &Settings, table: &mut Table) -> Result<()> {
    let warm = Load {
        calls_each: 5,
        ..settings.load
    };
    (client.throughput)(warm)?;
    let batch = (client.throughput)(settings.load)?;
    let calls = batch.latencies.len();
    table.add(
        client.name,
        vec![
            batch.rate(),
            percentiles(&batch.latencies)[1],
            batch.usage.cpu_us_per(calls),
            batch.usage.switches_per(calls),
        ],
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
