//! Result tables: per client, the median over rounds of each figure, shown
//! with its ratio to the tonic client's and to the raw h2 floor's figure from
//! the same run; and the same tables, with the targets, as JSON.
//!
//! A ratio is `client / baseline` for every column, whatever its direction:
//! for latencies, allocations and memory lower is better; for rates, higher.
//! A ratio is missing (`-`, JSON `null`) when the baseline did not run.
//!
//! A client that did not run a scenario ([`crate::clients::Skip`]) has a
//! row with the reason instead of figures (JSON: `"skipped"`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::targets::Target;

/// The clients every figure is compared with, in column order: the
/// client's name, its column label and its JSON key.
pub const BASELINES: [(&str, &str, &str); 2] = [
    (crate::clients::TONIC, "×tonic", "ratio_to_tonic"),
    (crate::clients::RAW_H2, "×raw", "ratio_to_raw"),
];

/// p50, p99 and p99.9 of latency samples, in µs.
pub fn percentiles(samples: &[Duration]) -> Vec<f64> {
    let mut sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
        sorted.get(i).copied().unwrap_or(f64::NAN)
    };
    vec![at(0.50), at(0.99), at(0.999)]
}

/// A table of figures per client, over rounds.
pub struct Table {
    /// The scenario's name (as `--scenario` takes it, with the setting it
    /// was measured in, if any), as JSON shows it.
    pub key: String,
    title: String,
    columns: &'static [&'static str],
    order: Vec<String>,
    rows: BTreeMap<String, Vec<Vec<f64>>>,
    /// Clients that did not run, with the reason, in the order added.
    skipped: Vec<(String, String)>,
    notes: Vec<String>,
}

impl Table {
    /// An empty table.
    pub fn new(
        key: impl Into<String>,
        title: impl Into<String>,
        columns: &'static [&'static str],
    ) -> Table {
        Table {
            key: key.into(),
            title: title.into(),
            columns,
            order: Vec::new(),
            rows: BTreeMap::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Lists `client` as not run, for `reason` (once).
    pub fn skip(&mut self, client: impl Into<String>, reason: impl Into<String>) {
        let client = client.into();
        if !self.skipped.iter().any(|(c, _)| *c == client) {
            self.skipped.push((client, reason.into()));
        }
    }

    /// Why `client` did not run, if it was listed as not run.
    pub fn skip_reason(&self, client: &str) -> Option<&str> {
        self.skipped
            .iter()
            .find(|(c, _)| c == client)
            .map(|(_, reason)| reason.as_str())
    }

    /// Adds a note per client listing its figure in `column` round by
    /// round, so that a bimodal figure shows instead of averaging away.
    pub fn note_rounds(&mut self, column: usize) {
        let name = self.columns[column];
        let lines: Vec<String> = self
            .order
            .iter()
            .map(|client| {
                let rounds: Vec<String> = self.rows[client]
                    .iter()
                    .map(|r| number(r[column]))
                    .collect();
                format!("{name} per round, {client}: {}", rounds.join(", "))
            })
            .collect();
        for line in lines {
            self.note(line);
        }
    }

    /// Adds one round's figures for a client (a row), one per column.
    pub fn add(&mut self, client: impl Into<String>, values: Vec<f64>) {
        let client = client.into();
        debug_assert_eq!(values.len(), self.columns.len());
        if !self.order.contains(&client) {
            self.order.push(client.clone());
        }
        self.rows.entry(client).or_default().push(values);
    }

    /// The rows' names, in the order they were first added.
    pub fn clients(&self) -> &[String] {
        &self.order
    }

    /// Every round's figures of `client`'s row, in the order added.
    pub fn rounds_of(&self, client: &str) -> &[Vec<f64>] {
        self.rows.get(client).map_or(&[], Vec::as_slice)
    }

    /// Adds a line printed under the table (once).
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// Whether no client ran in this table.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The median over rounds of `client`'s figure in `column` (the mean of
    /// the middle two for an even number of rounds).
    pub fn median(&self, client: &str, column: usize) -> Option<f64> {
        let mut values: Vec<f64> = self.rows.get(client)?.iter().map(|r| r[column]).collect();
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        match values.len() {
            0 => None,
            n if n % 2 == 1 => Some(values[mid]),
            _ => Some((values[mid - 1] + values[mid]) / 2.0),
        }
    }

    /// `client`'s median in `column` divided by `baseline`'s.
    pub fn ratio(&self, client: &str, baseline: &str, column: usize) -> Option<f64> {
        Some(self.median(client, column)? / self.median(baseline, column)?)
    }

    fn rounds(&self) -> usize {
        self.rows.values().map(Vec::len).max().unwrap_or(0)
    }

    /// Prints the medians, each with its ratios to the baselines.
    pub fn print(&self) {
        if self.is_empty() {
            return;
        }
        println!("\n{}  (median of {} rounds)", self.title, self.rounds());
        let width = self
            .order
            .iter()
            .chain(self.skipped.iter().map(|(c, _)| c))
            .map(|c| c.chars().count())
            .fold(30, usize::max);
        let widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| c.chars().count().max(8))
            .collect();
        let mut header = format!("{:<width$}", "client");
        for (column, w) in self.columns.iter().zip(&widths) {
            write!(header, " {column:>w$}").ok();
            for (_, label, _) in BASELINES {
                write!(header, " {label:>6}").ok();
            }
        }
        println!("{header}");
        for client in &self.order {
            let mut line = format!("{client:<width$}");
            for (column, w) in widths.iter().enumerate() {
                let value = self.median(client, column).map_or("-".into(), number);
                write!(line, " {value:>w$}").ok();
                for (baseline, _, _) in BASELINES {
                    let ratio = self
                        .ratio(client, baseline, column)
                        .map_or("-".into(), |r| format!("{r:.2}"));
                    write!(line, " {ratio:>6}").ok();
                }
            }
            println!("{line}");
        }
        for (client, reason) in &self.skipped {
            println!("{client:<width$} ({reason})");
        }
        for note in &self.notes {
            println!("  note: {note}");
        }
    }

    /// The table as a JSON object.
    fn json(&self) -> String {
        let mut rows = Vec::new();
        for client in &self.order {
            let mut fields = vec![format!("\"client\": {}", string(client))];
            for (column, name) in self.columns.iter().enumerate() {
                let mut figure = vec![format!(
                    "\"median\": {}",
                    json_number(self.median(client, column))
                )];
                for (baseline, _, key) in BASELINES {
                    figure.push(format!(
                        "{}: {}",
                        string(key),
                        json_number(self.ratio(client, baseline, column))
                    ));
                }
                let rounds: Vec<String> = self.rows[client]
                    .iter()
                    .map(|r| json_number(Some(r[column])))
                    .collect();
                figure.push(format!("\"rounds\": [{}]", rounds.join(", ")));
                fields.push(format!("{}: {{{}}}", string(name), figure.join(", ")));
            }
            rows.push(format!("      {{{}}}", fields.join(", ")));
        }
        for (client, reason) in &self.skipped {
            rows.push(format!(
                "      {{\"client\": {}, \"skipped\": {}}}",
                string(client),
                string(reason)
            ));
        }
        let notes: Vec<String> = self.notes.iter().map(|n| string(n)).collect();
        format!(
            "    {{\"scenario\": {}, \"title\": {}, \"rows\": [\n{}\n    ], \"notes\": [{}]}}",
            string(&self.key),
            string(&self.title),
            rows.join(",\n"),
            notes.join(", ")
        )
    }
}

/// The whole run as JSON: `meta` (string pairs), the tables and the targets.
pub fn json(meta: &[(&str, String)], tables: &[&Table], targets: &[Target]) -> String {
    let meta: Vec<String> = meta
        .iter()
        .map(|(k, v)| format!("  {}: {}", string(k), string(v)))
        .collect();
    let tables: Vec<String> = tables
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| t.json())
        .collect();
    let targets: Vec<String> = targets
        .iter()
        .map(|t| {
            format!(
                "    {{\"target\": {}, \"measured\": {}, \"met\": {}}}",
                string(&t.text),
                string(&t.measured),
                t.met.map_or("null".into(), |m| m.to_string())
            )
        })
        .collect();
    format!(
        "{{\n{},\n  \"baselines\": [{}, {}],\n  \"scenarios\": [\n{}\n  ],\n  \"targets\": [\n{}\n  ]\n}}\n",
        meta.join(",\n"),
        string(BASELINES[0].0),
        string(BASELINES[1].0),
        tables.join(",\n"),
        targets.join(",\n")
    )
}

/// A figure for the table: one decimal below 1000, none above.
pub fn number(value: f64) -> String {
    if value.abs() < 1000.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

fn json_number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{}", (v * 1000.0).round() / 1000.0),
        _ => "null".into(),
    }
}

/// A JSON string literal.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                write!(out, "\\u{:04x}", c as u32).ok();
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_use_medians_of_the_same_run() {
        let mut table = Table::new("t", "t", &["x"]);
        for (client, values) in [
            ("tonic", [10.0, 30.0, 20.0]),
            ("raw h2 floor", [5.0, 5.0, 5.0]),
            ("a", [8.0, 8.0, 9.0]),
        ] {
            for v in values {
                table.add(client, vec![v]);
            }
        }
        assert_eq!(table.median("tonic", 0), Some(20.0));
        assert_eq!(table.ratio("a", "tonic", 0), Some(0.4));
        assert_eq!(table.ratio("a", "raw h2 floor", 0), Some(1.6));
        assert_eq!(table.ratio("a", "missing", 0), None);
    }

    #[test]
    fn the_median_of_two_rounds_is_their_mean() {
        let mut table = Table::new("t", "t", &["x"]);
        table.add("a", vec![10.0]);
        table.add("a", vec![20.0]);
        assert_eq!(table.median("a", 0), Some(15.0));
        assert_eq!(table.median("b", 0), None);
    }

    #[test]
    fn json_escapes_strings_and_nulls_missing_numbers() {
        assert_eq!(string("a \"µ\"\\\n"), "\"a \\\"µ\\\"\\\\\\n\"");
        assert_eq!(json_number(None), "null");
        assert_eq!(json_number(Some(f64::NAN)), "null");
        assert_eq!(json_number(Some(1.23456)), "1.235");
    }
}
