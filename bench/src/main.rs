//! switchboard's comparison harness: the same workloads through switchboard
//! (blocking, async on tokio, async under `futures::executor::block_on`),
//! tonic, and a raw h2 floor, against one tonic server in a separate
//! process, interleaved ABAB over rounds so that drift cancels out. Every
//! figure is printed with its ratio to tonic and to the raw floor from the
//! same run, then the issue's targets are judged, and the same figures are
//! written as JSON.
//!
//! ```text
//! cargo run --release -p switchboard-bench -- [--quick] [--only SUBSTR]
//!     [--scenario unary-latency|unary-throughput|unary-throughput-multi|server-stream|allocations|rss]
//!     [--connections N]   (unary-throughput-multi's N, default 4; 2, 4 and 8 are always swept)
//!     [--json PATH]   (default target/bench.json)
//! ```
//!
//! Modes of the same binary used internally: `--serve` (the server child)
//! and `--rss-client NAME --url URL --calls N --sleep-ms MS --batch N
//! --gap-ms MS` (one client's RSS measurement).
//!
//! Modules, bottom up: [`alloc`] (the counting allocator), [`server`],
//! [`clients`], [`report`], [`targets`], [`rss`], [`multi`],
//! [`scenarios`].

mod alloc;
mod clients;
mod multi;
mod report;
mod rss;
mod scenarios;
mod server;
mod targets;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clients::Result;
use scenarios::Settings;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return server::serve();
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

/// The benchmark proper: server child, scenarios, tables, targets, JSON.
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
    let only = flag_value(args, "--only");
    let scenario = flag_value(args, "--scenario");
    if let Some(name) = &scenario {
        scenarios::check_name(name)?;
    }
    let json_path =
        PathBuf::from(flag_value(args, "--json").unwrap_or_else(|| "target/bench.json".into()));

    let server = server::ServerProcess::spawn()?;
    let url = server.url();
    let machine = machine();
    let command = format!("switchboard-bench {}", args[1..].join(" "));
    println!("{command}");
    println!("machine: {machine}");
    println!(
        "server: tonic Echo, separate process, {url}; rounds: {} (RSS: {}); quick: {quick}",
        settings.rounds, settings.rss_rounds
    );

    let mut clients = Vec::new();
    for (name, constructor) in clients::CLIENTS {
        if only.as_deref().is_none_or(|o| name.contains(o)) {
            clients.push(constructor(&url)?);
        }
    }
    let selected = |name: &str| scenario.as_deref().is_none_or(|s| s == name);
    let tables = scenarios::run(&clients, &url, &settings, selected)?;

    println!(
        "\nratios: ×tonic = client / tonic, ×raw = client / raw h2 floor (lower is better for µs, allocs, bytes, MiB; higher for calls/s, msgs/s)"
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
            "server",
            format!("tonic Echo server, separate process, {url}"),
        ),
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
