//! The issues' performance targets (issue 6; issue 13 for multi-connection
//! throughput), each judged met or missed from the medians of this run (or
//! "not measured" when `--only` / `--scenario` left out a figure it needs).

use crate::clients::{
    RAW_H2, SWITCHBOARD_BLOCK_ON, SWITCHBOARD_BLOCKING, SWITCHBOARD_TOKIO, TONIC,
};
use crate::multi::IN_FLIGHT;
use crate::report::{Table, number};
use crate::scenarios::Tables;

/// One target and how this run measured against it.
pub struct Target {
    /// What the target asks.
    pub text: String,
    /// The measured figures.
    pub measured: String,
    /// Met, missed, or `None` when not measured.
    pub met: Option<bool>,
}

impl Target {
    fn new(text: &str, judged: Option<(String, bool)>) -> Target {
        let (measured, met) = match judged {
            Some((measured, met)) => (measured, Some(met)),
            None => ("not measured in this run".into(), None),
        };
        Target {
            text: text.into(),
            measured,
            met,
        }
    }

    /// "met", "MISSED" or "not measured".
    pub fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        }
    }
}

/// Judges the targets. `latency` columns: p50, p99, p99.9; `throughput`:
/// calls/s, p99; `allocations`: allocations per call, bytes per call;
/// `multi_best`: calls/s at each of [`IN_FLIGHT`], each client at its best
/// number of connections.
pub fn evaluate(tables: &Tables) -> Vec<Target> {
    let (latency, throughput, allocations) =
        (&tables.latency, &tables.throughput, &tables.allocations);
    let p50 = |client| latency.median(client, 0);
    let blocking = (|| {
        let (ours, tonic, raw) = (p50(SWITCHBOARD_BLOCKING)?, p50(TONIC)?, p50(RAW_H2)?);
        let (vs_tonic, vs_raw) = (ours / tonic, ours / raw);
        Some((
            format!(
                "switchboard blocking p50 {} µs = {vs_tonic:.2}× tonic ({} µs), {vs_raw:.2}× raw h2 ({} µs)",
                number(ours),
                number(tonic),
                number(raw)
            ),
            vs_tonic <= 0.8 && vs_raw <= 1.2,
        ))
    })();
    let rate = |client| throughput.median(client, 0);
    let async_rate = (|| {
        let (ours, tonic) = (rate(SWITCHBOARD_TOKIO)?, rate(TONIC)?);
        let block_on = rate(SWITCHBOARD_BLOCK_ON)
            .map(|r| format!("; under block_on {} calls/s = {:.2}×", number(r), r / tonic))
            .unwrap_or_default();
        Some((
            format!(
                "switchboard async (tokio) {} calls/s = {:.2}× tonic ({} calls/s){block_on}",
                number(ours),
                ours / tonic,
                number(tonic)
            ),
            ours / tonic >= 1.2,
        ))
    })();
    let allocs = (|| {
        let tonic = allocations.median(TONIC, 0)?;
        let ours: Vec<(&str, f64)> = [
            SWITCHBOARD_BLOCKING,
            SWITCHBOARD_TOKIO,
            SWITCHBOARD_BLOCK_ON,
        ]
        .into_iter()
        .filter_map(|c| Some((c, allocations.median(c, 0)?)))
        .collect();
        if ours.is_empty() {
            return None;
        }
        let list: Vec<String> = ours.iter().map(|(c, a)| format!("{c} {a:.1}")).collect();
        Some((
            format!("{}; tonic {tonic:.1}", list.join(", ")),
            ours.iter().all(|(_, a)| *a <= tonic),
        ))
    })();
    let mut targets = vec![
        Target::new(
            "blocking unary p50 ≤ 0.8× tonic's blocking p50 and ≤ 1.2× the raw h2 floor",
            blocking,
        ),
        Target::new(
            "async unary throughput at 64 in flight ≥ 1.2× tonic on one channel",
            async_rate,
        ),
        Target::new(
            "allocations per unary call ≤ tonic's (every switchboard client)",
            allocs,
        ),
    ];
    for (column, in_flight) in IN_FLIGHT.into_iter().enumerate() {
        targets.push(Target::new(
            &format!(
                "multi-connection unary throughput at {in_flight} in flight ≥ 1.3× tonic balance_channel, each at its best N (issue 13)"
            ),
            multi(&tables.multi_best, column),
        ));
    }
    targets
}

/// The multi-connection target in `column` of `best`: switchboard async
/// (tokio) against tonic, the other switchboard clients and the floor shown.
fn multi(best: &Table, column: usize) -> Option<(String, bool)> {
    let rate = |client| best.median(client, column);
    let (ours, tonic) = (rate(SWITCHBOARD_TOKIO)?, rate(TONIC)?);
    let mut others = String::new();
    for client in [SWITCHBOARD_BLOCK_ON, SWITCHBOARD_BLOCKING, RAW_H2] {
        if let Some(r) = rate(client) {
            others += &format!("; {client} {} = {:.2}×", number(r), r / tonic);
        }
    }
    Some((
        format!(
            "switchboard async (tokio) {} calls/s = {:.2}× tonic ({} calls/s){others}",
            number(ours),
            ours / tonic,
            number(tonic)
        ),
        ours / tonic >= 1.3,
    ))
}

/// Prints the targets with their verdicts.
pub fn print(targets: &[Target]) {
    println!("\ntargets");
    for target in targets {
        println!(
            "  [{}] {}\n        {}",
            target.verdict(),
            target.text,
            target.measured
        );
    }
}
