//! switchboard's comparison harness: the same workloads through switchboard
//! (blocking, async on tokio, async under `futures::executor::block_on`,
//! and the completion queue once it is built), tonic, and a raw h2 floor,
//! against servers in separate processes, interleaved ABAB over rounds so
//! that drift cancels out. Every figure is printed with its ratio to tonic
//! and to the raw floor from the same run, then the issues' targets are
//! judged, and the same figures are written as JSON.
//!
//! ```text
//! cargo run --release -p switchboard-bench -- [--quick] [--only SUBSTR]
//!     [--scenario unary-latency|unary-throughput|unary-throughput-multi|server-stream|allocations|rss]
//!     [--placement one-cpu|free|both]   (unary-latency's placements, default both)
//!     [--server-threads N]   (the tonic server's workers, default 2)
//!     [--connections N]   (unary-throughput-multi's N, default 4; 2, 4 and 8 are always swept)
//!     [--json PATH]   (default target/bench.json)
//! ```
//!
//! Servers: every scenario runs against the tonic Echo server with
//! `--server-threads` workers (the main server); unary-throughput also runs
//! against the raw h2 server (one thread, canned bytes) and the tonic
//! server with 1 and with 2 workers, each in its own child process.
//! Placement (unary-latency only; the other scenarios run free): `one-cpu`
//! pins every thread of the bench and of the servers to CPU 0, `free` pins
//! nothing.
//!
//! Modes of the same binary used internally: `--serve [--server-threads N]`
//! (the tonic server child), `--serve-raw` (the raw h2 server child) and
//! `--rss-client NAME --url URL --calls N --sleep-ms MS --batch N --gap-ms
//! MS` (one client's RSS measurement).
//!
//! Modules, bottom up: [`alloc`] (the counting allocator), [`os`] (CPU
//! time, context switches, placement), [`server`] and [`raw_server`],
//! [`clients`], [`report`], [`targets`], [`rss`], [`multi`],
//! [`scenarios`].

mod alloc;
mod clients;
mod multi;
mod os;
mod raw_server;
mod report;
mod rss;
mod scenarios;
mod server;
mod targets;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clients::{Client, Result};
use os::{Placement, Placer};
use scenarios::{Settings, Setup};
use server::{ServerKind, ServerProcess};

/// The tonic server's worker threads without `--server-threads`.
const DEFAULT_SERVER_THREADS: usize = 2;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return server::serve(server_threads(&args)?);
    }
    if args.iter().any(|a| a == "--serve-raw") {
        return raw_server::serve();
    }
    if let Some(client) = flag_value(&args, "--rss-client") {
        let number = |flag: &str| -> Result<u64> {
            let value =
                flag_value(&args, flag).ok_or_else(|| format!("--rss-client needs {flag}"))?;
            Ok(value.parse()?)
        };
        let url = flag_value(&args, "--url").ok_or("--rss-client needs --url")?;
        let hold = clients::Hold {
            calls: usize::try_from(number("--calls")?)?,
            sleep_ms: number("--sleep-ms")?,
            batch: usize::try_from(number("--batch")?)?,
            gap: Duration::from_millis(number("--gap-ms")?),
        };
        return rss::child(&client, &url, &hold);
    }
    bench(&args)
}

/// The benchmark proper: server children, scenarios, tables, targets, JSON.
fn bench(args: &[String]) -> Result<()> {
    let started = Instant::now();
    let quick = args.iter().any(|a| a == "--quick");
    let mut settings = if quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    if let Some(n) = flag_value(args, "--connections") {
        settings.connections = n.parse()?;
        if settings.connections == 0 {
            return Err("--connections must be at least 1".into());
        }
    }
    if let Some(placement) = flag_value(args, "--placement") {
        settings.placements = Placement::parse(&placement)?;
    }
    let only = flag_value(args, "--only");
    let scenario = flag_value(args, "--scenario");
    if let Some(name) = &scenario {
        scenarios::check_name(name)?;
    }
    let selected = |name: &str| scenario.as_deref().is_none_or(|s| s == name);
    let json_path =
        PathBuf::from(flag_value(args, "--json").unwrap_or_else(|| "target/bench.json".into()));

    // The servers: the main one, and unary-throughput's settings.
    let main_kind = ServerKind::Tonic(server_threads(args)?);
    let mut kinds = vec![main_kind];
    if selected("unary-throughput") {
        kinds.extend([
            ServerKind::Raw,
            ServerKind::Tonic(1),
            ServerKind::Tonic(DEFAULT_SERVER_THREADS),
        ]);
    }
    kinds.sort_unstable();
    kinds.dedup();
    let servers = kinds
        .iter()
        .map(|&kind| ServerProcess::spawn(kind))
        .collect::<Result<Vec<_>>>()?;
    let main_server = servers
        .iter()
        .find(|s| s.kind() == main_kind)
        .ok_or("the main server did not start")?;
    let url = main_server.url();

    let machine = machine();
    let command = format!("switchboard-bench {}", args[1..].join(" "));
    let placements: Vec<&str> = settings.placements.iter().map(|p| p.flag()).collect();
    println!("{command}");
    println!("machine: {machine}");
    println!(
        "servers (separate processes): {}; rounds: {} (RSS: {}); quick: {quick}",
        servers
            .iter()
            .map(|s| format!("{} {}", s.kind().label(), s.url()))
            .collect::<Vec<_>>()
            .join("; "),
        settings.rounds,
        settings.rss_rounds
    );
    println!(
        "main server: {}; unary-latency placements: {}",
        main_kind.label(),
        placements.join(", ")
    );

    // The clients: one set per server, each set in `clients::CLIENTS` order.
    let mut sets: Vec<(ServerKind, Vec<Client>)> = Vec::new();
    let mut skipped = Vec::new();
    for server in &servers {
        let (built, skips) = clients::build_all(&server.url(), only.as_deref())?;
        skipped = skips;
        sets.push((server.kind(), built));
    }
    let main_clients = sets
        .iter()
        .find(|(kind, _)| *kind == main_kind)
        .map(|(_, set)| set.as_slice())
        .unwrap_or_default();
    let placer = Placer::new(servers.iter().map(ServerProcess::pid).collect())?;
    let setup = Setup {
        clients: main_clients,
        url: &url,
        main: main_kind,
        throughput: if selected("unary-throughput") {
            sets.iter().map(|(k, s)| (*k, s.as_slice())).collect()
        } else {
            Vec::new()
        },
        placer: &placer,
        skipped: &skipped,
    };
    let tables = scenarios::run(&setup, &settings, selected)?;

    println!(
        "\nratios: ×tonic = client / tonic, ×raw = client / raw h2 floor (lower is better for µs, CPU, csw, allocs, bytes, MiB; higher for calls/s, msgs/s)"
    );
    println!(
        "CPU µs/call: the client's CPU time (user + system, every thread of the bench process, getrusage) per call; csw/call: its context switches (voluntary + involuntary) per call; both over the measured calls only"
    );
    for table in tables.all() {
        table.print();
    }
    let targets = targets::evaluate(&tables);
    targets::print(&targets);

    let wall = started.elapsed();
    let meta = [
        ("command", command),
        ("machine", machine),
        (
            "servers",
            servers
                .iter()
                .map(|s| format!("{} {}", s.kind().label(), s.url()))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("main_server", main_kind.label()),
        ("placements", placements.join(", ")),
        ("quick", quick.to_string()),
        ("rounds", settings.rounds.to_string()),
        ("connections", settings.connections.to_string()),
        ("wall_seconds", format!("{:.1}", wall.as_secs_f64())),
    ];
    if let Some(parent) = json_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&json_path, report::json(&meta, &tables.all(), &targets))?;
    println!(
        "\nJSON: {}; wall time {:.1} s",
        json_path.display(),
        wall.as_secs_f64()
    );
    Ok(())
}

/// `--server-threads N`: the tonic server's worker threads.
fn server_threads(args: &[String]) -> Result<usize> {
    match flag_value(args, "--server-threads") {
        None => Ok(DEFAULT_SERVER_THREADS),
        Some(n) => match n.parse()? {
            0 => Err("--server-threads must be at least 1".into()),
            n => Ok(n),
        },
    }
}

/// CPU model and count, from `/proc/cpuinfo` where there is one.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} × {model}, {}", std::env::consts::OS)
}

/// The value after `flag` on the command line, if any.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
