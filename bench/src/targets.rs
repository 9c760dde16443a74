//! The issues' performance targets (issue 6; issue 13 for multi-connection
//! throughput; issue 14 for placement, server settings, client cost and the
//! completion queue), each judged met or missed from the medians of this
//! run, or "not measured" when `--only` / `--scenario` / `--placement` left
//! out a figure it needs (never met).
//!
//! Each target names its subject: the blocking client for figures of one
//! call in flight (tonic's baseline there is its documented blocking
//! wrapper), the async client on tokio for calls in flight and streams
//! (like tonic's own), every switchboard client for allocations.

use crate::clients::{
    RAW_H2, SWITCHBOARD_BLOCK_ON, SWITCHBOARD_BLOCKING, SWITCHBOARD_CQ, SWITCHBOARD_TOKIO, TONIC,
};
use crate::multi::IN_FLIGHT;
use crate::os::Placement;
use crate::report::{Table, number};
use crate::scenarios::Tables;

/// Columns of the unary-latency tables (see `scenarios::LATENCY_COLUMNS`).
const P50: usize = 0;
const P99: usize = 1;
const LATENCY_CPU: usize = 3;
const LATENCY_CSW: usize = 4;
/// Columns of the unary-throughput tables (`scenarios::THROUGHPUT_COLUMNS`).
const RATE: usize = 0;
const THROUGHPUT_CPU: usize = 2;

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

    /// A target not measured, for `why`.
    fn not_measured(text: &str, why: String) -> Target {
        Target {
            text: text.into(),
            measured: why,
            met: None,
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

/// Judges the targets. Columns: see [`crate::scenarios::LATENCY_COLUMNS`]
/// and [`crate::scenarios::THROUGHPUT_COLUMNS`]; `allocations`: allocations
/// per call, bytes per call; `multi_best`: calls/s at each of [`IN_FLIGHT`],
/// each client at its best number of connections.
pub fn evaluate(tables: &Tables) -> Vec<Target> {
    let free = tables.latency(Placement::Free);
    let one_cpu = tables.latency(Placement::OneCpu);
    let main_throughput = tables.throughput(tables.main);
    let allocations = &tables.allocations;
    let blocking = free.and_then(|latency| {
        let p50 = |client| latency.median(client, P50);
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
    });
    let async_rate = main_throughput.and_then(|throughput| {
        let rate = |client| throughput.median(client, RATE);
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
    });
    let main_label = tables.main.label();
    let mut targets = vec![
        Target::new(
            "blocking unary p50 ≤ 0.8× tonic's blocking p50 and ≤ 1.2× the raw h2 floor (free placement)",
            blocking,
        ),
        Target::new(
            &format!(
                "async unary throughput at 64 in flight ≥ 1.2× tonic on one channel ({main_label})"
            ),
            async_rate,
        ),
        Target::new(
            "allocations per unary call ≤ tonic's (every switchboard client)",
            allocations_within(allocations, 1.0),
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

    // Issue 14.
    let placements: Vec<(String, &Table)> = [(Placement::OneCpu, one_cpu), (Placement::Free, free)]
        .into_iter()
        .filter_map(|(p, t)| Some((p.flag().to_string(), t?)))
        .collect();
    let servers: Vec<(String, &Table)> = tables
        .throughput
        .iter()
        .map(|(kind, table)| (kind.key(), table))
        .collect();
    targets.push(Target::new(
        "issue 14: blocking unary p50, one CPU: ≤ 1.3× the raw h2 floor and ≤ 0.65× tonic",
        one_cpu.and_then(|t| {
            let p50 = |client| t.median(client, P50);
            let (ours, tonic, raw) = (p50(SWITCHBOARD_BLOCKING)?, p50(TONIC)?, p50(RAW_H2)?);
            Some((
                format!(
                    "switchboard blocking p50 {} µs = {:.2}× raw h2 ({} µs), {:.2}× tonic ({} µs)",
                    number(ours),
                    ours / raw,
                    number(raw),
                    ours / tonic,
                    number(tonic)
                ),
                ours / raw <= 1.3 && ours / tonic <= 0.65,
            ))
        }),
    ));
    targets.push(Target::new(
        "issue 14: blocking unary, free placement: p50 ≤ 0.7× tonic, p99 ≤ 0.8× tonic",
        free.and_then(|t| {
            let p50 = t.ratio(SWITCHBOARD_BLOCKING, TONIC, P50)?;
            let p99 = t.ratio(SWITCHBOARD_BLOCKING, TONIC, P99)?;
            Some((
                format!(
                    "switchboard blocking p50 {} µs = {p50:.2}× tonic ({} µs), p99 {} µs = {p99:.2}× tonic ({} µs)",
                    number(t.median(SWITCHBOARD_BLOCKING, P50)?),
                    number(t.median(TONIC, P50)?),
                    number(t.median(SWITCHBOARD_BLOCKING, P99)?),
                    number(t.median(TONIC, P99)?),
                ),
                p50 <= 0.7 && p99 <= 0.8,
            ))
        }),
    ));
    targets.push(Target::new(
        "issue 14: client CPU per unary call at 1 in flight ≤ 0.6× tonic's (switchboard blocking, every placement)",
        across(&placements, SWITCHBOARD_BLOCKING, LATENCY_CPU, "µs", |r| r <= 0.6),
    ));
    targets.push(Target::new(
        "issue 14: client CPU per unary call at 64 in flight ≤ 0.6× tonic's (switchboard async (tokio), every server)",
        across(&servers, SWITCHBOARD_TOKIO, THROUGHPUT_CPU, "µs", |r| r <= 0.6),
    ));
    targets.push(Target::new(
        "issue 14: ≤ 1.5 context switches per blocking unary call (switchboard blocking, every placement; the floor's is 1)",
        switches(&placements),
    ));
    targets.push(Target::new(
        "issue 14: unary throughput at 64 in flight on one channel ≥ 1.3× tonic against every server setting (switchboard async (tokio))",
        across(&servers, SWITCHBOARD_TOKIO, RATE, "calls/s", |r| r >= 1.3),
    ));
    let cq_text = "issue 14: unary throughput at 64 in flight through the completion queue on one thread ≥ 1.5× tonic against every server setting";
    targets.push(match cq_not_built(tables) {
        Some(why) => Target::not_measured(cq_text, format!("{SWITCHBOARD_CQ}: {why}")),
        None => Target::new(cq_text, cq_rate(&servers)),
    });
    targets.push(Target::new(
        "issue 14: server stream ≥ 1.2× tonic (switchboard async (tokio))",
        (|| {
            let (ours, tonic) = (
                tables.stream.median(SWITCHBOARD_TOKIO, 0)?,
                tables.stream.median(TONIC, 0)?,
            );
            let others: String = [SWITCHBOARD_BLOCKING, SWITCHBOARD_BLOCK_ON]
                .into_iter()
                .filter_map(|c| Some(format!("; {c} {:.2}×", tables.stream.median(c, 0)? / tonic)))
                .collect();
            Some((
                format!(
                    "{SWITCHBOARD_TOKIO} {} msgs/s = {:.2}× tonic ({} msgs/s){others}",
                    number(ours),
                    ours / tonic,
                    number(tonic)
                ),
                ours / tonic >= 1.2,
            ))
        })(),
    ));
    targets.push(Target::new(
        "issue 14: allocations per unary call ≤ 0.7× tonic's (every switchboard client)",
        allocations_within(allocations, 0.7),
    ));
    targets
}

/// The allocations target with `limit` × tonic's, every switchboard client.
fn allocations_within(allocations: &Table, limit: f64) -> Option<(String, bool)> {
    let tonic = allocations.median(TONIC, 0)?;
    let ours: Vec<(&str, f64)> = [
        SWITCHBOARD_BLOCKING,
        SWITCHBOARD_TOKIO,
        SWITCHBOARD_BLOCK_ON,
        SWITCHBOARD_CQ,
    ]
    .into_iter()
    .filter_map(|c| Some((c, allocations.median(c, 0)?)))
    .collect();
    if ours.is_empty() {
        return None;
    }
    let list: Vec<String> = ours
        .iter()
        .map(|(c, a)| format!("{c} {a:.1} = {:.2}×", a / tonic))
        .collect();
    Some((
        format!("{}; tonic {tonic:.1}", list.join(", ")),
        ours.iter().all(|(_, a)| *a <= limit * tonic),
    ))
}

/// `subject`'s figure in `column` against tonic's, in every table of
/// `settings` (named), met if `ok` holds for every ratio; `None` if no
/// table has both figures.
fn across(
    settings: &[(String, &Table)],
    subject: &str,
    column: usize,
    unit: &str,
    ok: impl Fn(f64) -> bool,
) -> Option<(String, bool)> {
    let mut parts = Vec::new();
    let mut met = true;
    for (setting, table) in settings {
        let (Some(ours), Some(tonic)) =
            (table.median(subject, column), table.median(TONIC, column))
        else {
            continue;
        };
        let ratio = ours / tonic;
        met &= ok(ratio);
        parts.push(format!(
            "{setting}: {} vs tonic {} {unit} = {ratio:.2}×",
            number(ours),
            number(tonic)
        ));
    }
    (!parts.is_empty()).then(|| (format!("{subject}: {}", parts.join("; ")), met))
}

/// The context-switch target: the blocking client's switches per call in
/// every placement, the floor's shown.
fn switches(placements: &[(String, &Table)]) -> Option<(String, bool)> {
    let mut parts = Vec::new();
    let mut met = true;
    for (placement, table) in placements {
        let Some(ours) = table.median(SWITCHBOARD_BLOCKING, LATENCY_CSW) else {
            continue;
        };
        met &= ours <= 1.5;
        let floor = table
            .median(RAW_H2, LATENCY_CSW)
            .map(|f| format!(" (raw h2 floor {f:.2}, tonic {})", tonic_csw(table)))
            .unwrap_or_default();
        parts.push(format!("{placement}: {ours:.2}{floor}"));
    }
    (!parts.is_empty()).then(|| {
        (
            format!("switchboard blocking, per call: {}", parts.join("; ")),
            met,
        )
    })
}

fn tonic_csw(table: &Table) -> String {
    table
        .median(TONIC, LATENCY_CSW)
        .map_or("-".into(), |t| format!("{t:.2}"))
}

/// Why the completion-queue client has no figures, if it has none: not
/// built (or skipped in every throughput table).
fn cq_not_built(tables: &Tables) -> Option<String> {
    if let Some((_, why)) = tables.skipped.iter().find(|(c, _)| c == SWITCHBOARD_CQ) {
        return Some(why.clone());
    }
    let mut reasons = tables
        .throughput
        .iter()
        .map(|(_, t)| t.skip_reason(SWITCHBOARD_CQ));
    match reasons.next() {
        Some(Some(why)) if reasons.all(|r| r == Some(why)) => Some(why.to_string()),
        _ => None,
    }
}

/// The completion-queue throughput target, once the client is built.
fn cq_rate(servers: &[(String, &Table)]) -> Option<(String, bool)> {
    across(servers, SWITCHBOARD_CQ, RATE, "calls/s", |r| r >= 1.5)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{LATENCY_COLUMNS, THROUGHPUT_COLUMNS};

    #[test]
    fn column_indices_match_the_tables() {
        assert_eq!(LATENCY_COLUMNS[P50], "p50 µs");
        assert_eq!(LATENCY_COLUMNS[P99], "p99 µs");
        assert_eq!(LATENCY_COLUMNS[LATENCY_CPU], "CPU µs/call");
        assert_eq!(LATENCY_COLUMNS[LATENCY_CSW], "csw/call");
        assert_eq!(THROUGHPUT_COLUMNS[RATE], "calls/s");
        assert_eq!(THROUGHPUT_COLUMNS[THROUGHPUT_CPU], "CPU µs/call");
    }
}
