//! The unary-throughput-multi scenario (issue 13): unary calls/s at
//! [`IN_FLIGHT`] calls in flight over each client's multi-connection setting
//! (`clients::Multi`: switchboard's `multi_connection_channel`, tonic's
//! `balance_channel`, the raw floor's round-robined connections), for every
//! number of connections in the sweep, plus each client's single channel
//! for context. Called once per client and round by `scenarios::run`, so it
//! is interleaved ABAB like the other scenarios.
//!
//! Two tables come out: the figures at the `--connections` N, and each
//! client's best N of the sweep, column by column, which the target
//! compares. The first run of each setting counts the TCP connections it
//! opened to the server (Linux: `/proc/net/tcp`), so the notes say what a
//! setting did, not only what it was asked.

use std::collections::BTreeMap;

use crate::clients::{Client, Load, Result};
use crate::report::{Table, number};

/// The calls in flight of the two columns.
pub const IN_FLIGHT: [usize; 2] = [64, 256];

/// The columns, one per [`IN_FLIGHT`].
const COLUMNS: &[&str] = &["calls/s @64", "calls/s @256"];

/// The numbers of connections every run measures (with `--connections`).
pub const SWEEP: [usize; 3] = [2, 4, 8];

/// The number of connections when `--connections` is not given.
pub const DEFAULT_CONNECTIONS: usize = 4;

/// The scenario's state over the rounds.
pub struct MultiScenario {
    /// `--connections`: the N of the first table.
    connections: usize,
    /// [`SWEEP`] and `connections`, ascending.
    sweep: Vec<usize>,
    /// Calls per measured run, spread over the workers.
    calls: usize,
    /// The server's TCP port, for counting connections.
    port: Option<u16>,
    /// The server's announced stream limit, for the titles.
    server_limit: String,
    /// The multi-connection rows, by number of connections.
    by_n: BTreeMap<usize, Table>,
    /// The single-channel rows.
    single: Table,
    /// Per client: how each N was set up and the TCP connections it opened.
    opened: BTreeMap<(String, usize), (String, Option<usize>)>,
}

impl MultiScenario {
    /// The scenario for `connections` connections (and the sweep), `calls`
    /// calls per measured run, against the server at `url`, which announces
    /// `server_limit` as its `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub fn new(connections: usize, calls: usize, url: &str, server_limit: String) -> Self {
        let mut sweep: Vec<usize> = SWEEP.to_vec();
        if !sweep.contains(&connections) {
            sweep.push(connections);
            sweep.sort_unstable();
        }
        let port = url.trim_end_matches('/').rsplit(':').next();
        MultiScenario {
            connections,
            by_n: sweep
                .iter()
                .map(|&n| (n, Table::new("unary-throughput-multi", "", COLUMNS)))
                .collect(),
            sweep,
            calls,
            port: port.and_then(|p| p.parse().ok()),
            server_limit,
            single: Table::new("unary-throughput-multi", "", COLUMNS),
            opened: BTreeMap::new(),
        }
    }

    /// One round of `client`: its single channel, then its multi-connection
    /// setting with every N of the sweep, each at every [`IN_FLIGHT`].
    pub fn round(&mut self, client: &Client) -> Result<()> {
        let single = self.levels(|load| (client.throughput)(load))?;
        self.single
            .add(format!("{}: one connection", client.name), single);
        for &n in &self.sweep {
            let key = (client.name.to_string(), n);
            let first = !self.opened.contains_key(&key);
            let before = first.then(|| self.established()).flatten();
            let figures = self.levels(|load| (client.multi.run)(n, load))?;
            if first {
                let opened = self
                    .established()
                    .zip(before)
                    .map(|(a, b)| a.saturating_sub(b));
                self.opened.insert(key, ((client.multi.setting)(n), opened));
            }
            if let Some(table) = self.by_n.get_mut(&n) {
                table.add(client.name, figures);
            }
        }
        Ok(())
    }

    /// calls/s of `run` at each [`IN_FLIGHT`], each after a warm-up.
    fn levels(&self, run: impl Fn(Load) -> Result<crate::clients::Batch>) -> Result<Vec<f64>> {
        let mut rates = Vec::with_capacity(IN_FLIGHT.len());
        for in_flight in IN_FLIGHT {
            run(Load {
                in_flight,
                calls_each: 5,
            })?;
            let batch = run(Load {
                in_flight,
                calls_each: (self.calls / in_flight).max(1),
            })?;
            rates.push(batch.rate());
        }
        Ok(rates)
    }

    /// Established TCP connections to the server's port, from any process
    /// (only this one connects during the in-process scenarios).
    fn established(&self) -> Option<usize> {
        let port = self.port?;
        let mut count = 0;
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            count += text
                .lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let remote_port = fields
                        .get(2)
                        .and_then(|a| a.rsplit(':').next())
                        .and_then(|p| u16::from_str_radix(p, 16).ok());
                    // State 01: ESTABLISHED.
                    remote_port == Some(port) && fields.get(3) == Some(&"01")
                })
                .count();
        }
        Some(count)
    }

    /// The two tables: at `--connections` N (with the single-channel rows),
    /// and at each client's best N.
    pub fn finish(self) -> (Table, Table) {
        let n = self.connections;
        let mut at_n = Table::new(
            "unary-throughput-multi",
            format!(
                "unary-throughput-multi: unary calls/s at 64 and 256 in flight, {n} connections per client; \
                 {} calls per run; server SETTINGS_MAX_CONCURRENT_STREAMS: {}",
                self.calls, self.server_limit
            ),
            COLUMNS,
        );
        at_n.note(format!(
            "×tonic, ×raw: to tonic's balance_channel and the raw floor with {n} connections; \
             the \"one connection\" rows are each client's single channel, for context"
        ));
        let mut best = Table::new(
            "unary-throughput-multi-best",
            format!(
                "unary-throughput-multi, best N of {:?} per client and column (×tonic, ×raw: to their best N)",
                self.sweep
            ),
            COLUMNS,
        );
        best.note(
            "each row's best N is the maximum over noisy medians, which reads a little high for every \
             client alike; in brackets below: the TCP connections a setting opened",
        );
        let Some(table_n) = self.by_n.get(&n) else {
            return (at_n, best);
        };
        for client in table_n.clients() {
            for values in table_n.rounds_of(client) {
                at_n.add(client.clone(), values.clone());
            }
            if let Some((setting, opened)) = self.opened.get(&(client.clone(), n)) {
                at_n.note(format!("{client}: {setting}; {}", opened_text(*opened)));
            }
            self.best_row(client, &mut best);
        }
        for client in self.single.clients() {
            for values in self.single.rounds_of(client) {
                at_n.add(client.clone(), values.clone());
            }
        }
        (at_n, best)
    }

    /// Adds `client`'s row at its best N per column to `best`, with a note
    /// of its figures at every N.
    fn best_row(&self, client: &str, best: &mut Table) {
        let best_n: Vec<usize> = (0..COLUMNS.len())
            .map(|column| {
                self.sweep
                    .iter()
                    .copied()
                    .max_by(|a, b| {
                        let rate = |n| self.by_n[n].median(client, column).unwrap_or(0.0);
                        rate(a).total_cmp(&rate(b))
                    })
                    .unwrap_or(self.connections)
            })
            .collect();
        let rounds = self.by_n[&best_n[0]].rounds_of(client).len();
        for round in 0..rounds {
            let values = best_n
                .iter()
                .enumerate()
                .map(|(column, n)| {
                    self.by_n[n]
                        .rounds_of(client)
                        .get(round)
                        .map_or(f64::NAN, |r| r[column])
                })
                .collect();
            best.add(client.to_string(), values);
        }
        let by_n: Vec<String> = self
            .sweep
            .iter()
            .map(|n| {
                let rates: Vec<String> = (0..COLUMNS.len())
                    .map(|c| self.by_n[n].median(client, c).map_or("-".into(), number))
                    .collect();
                let opened = self
                    .opened
                    .get(&(client.to_string(), *n))
                    .and_then(|(_, opened)| *opened)
                    .map_or("?".into(), |o| o.to_string());
                format!("N={n}: {} ({opened})", rates.join(" / "))
            })
            .collect();
        best.note(format!(
            "{client}: best N {} @64, {} @256; by N, calls/s @64 / @256 (TCP connections opened): {}",
            best_n[0],
            best_n[1],
            by_n.join(", ")
        ));
    }
}

/// "k TCP connections opened", or why not counted.
fn opened_text(opened: Option<usize>) -> String {
    match opened {
        Some(1) => "1 TCP connection opened".into(),
        Some(k) => format!("{k} TCP connections opened"),
        None => "TCP connections not counted (no /proc/net/tcp)".into(),
    }
}
