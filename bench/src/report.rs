//! Result tables: per client, the median over rounds of each figure, and its
//! ratio to a baseline client.

use std::collections::BTreeMap;
use std::time::Duration;

/// One client's figures from one round.
pub struct Row {
    client: &'static str,
    values: Vec<f64>,
}

impl Row {
    /// p50, p99 and p99.9 of latency samples, in µs.
    pub fn latencies(client: &'static str, samples: &[Duration]) -> Row {
        let mut sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
        Row {
            client,
            values: vec![at(0.50), at(0.99), at(0.999)],
        }
    }

    /// A single figure.
    pub fn single(client: &'static str, value: f64) -> Row {
        Row {
            client,
            values: vec![value],
        }
    }
}

/// A table of figures per client, over rounds.
pub struct Table {
    title: &'static str,
    columns: &'static [&'static str],
    order: Vec<&'static str>,
    rows: BTreeMap<&'static str, Vec<Vec<f64>>>,
}

impl Table {
    /// An empty table.
    pub fn new(title: &'static str, columns: &'static [&'static str]) -> Table {
        Table {
            title,
            columns,
            order: Vec::new(),
            rows: BTreeMap::new(),
        }
    }

    /// Adds one round's figures for a client.
    pub fn add(&mut self, row: Row) {
        if !self.order.contains(&row.client) {
            self.order.push(row.client);
        }
        self.rows.entry(row.client).or_default().push(row.values);
    }

    fn medians(&self, client: &str) -> Vec<f64> {
        let rounds = &self.rows[client];
        (0..self.columns.len())
            .map(|i| {
                let mut v: Vec<f64> = rounds.iter().map(|r| r[i]).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            })
            .collect()
    }

    /// Prints the medians, each with its ratio to `baseline`'s.
    pub fn print(&self, baseline: &str) {
        if self.rows.is_empty() {
            return;
        }
        println!(
            "\n{}  (median of {} rounds; ×: ratio to {baseline})",
            self.title,
            self.rows.values().next().map_or(0, Vec::len)
        );
        let base = self
            .rows
            .contains_key(baseline)
            .then(|| self.medians(baseline));
        print!("{:<40}", "client");
        for column in self.columns {
            print!("{column:>22}");
        }
        println!();
        for client in &self.order {
            print!("{client:<40}");
            for (i, value) in self.medians(client).iter().enumerate() {
                let ratio = base.as_ref().map(|b| value / b[i]).unwrap_or(f64::NAN);
                print!("{:>22}", format!("{value:.1} ({ratio:.2}×)"));
            }
            println!();
        }
    }
}
