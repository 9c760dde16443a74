//! Peak RSS of 10,000 concurrent pending calls, one client per child
//! process (this binary with `--rss-client NAME`), so that no client's
//! memory, threads or allocator state pollutes another's. Linux only: it
//! reads `/proc/self/status` and resets the peak through
//! `/proc/self/clear_refs`.
//!
//! The child builds its one client, makes a few calls (connecting and
//! warming up), resets its peak RSS (`VmHWM`) to the current RSS, starts
//! the held calls (paced, see [`Hold`]) and waits for them, then prints the
//! peak's growth.
//!
//! Every call is held by the server for `sleep_ms`. If all calls finish
//! within `2 × sleep_ms` of the start, the last one was sent before the
//! first could finish, so all were pending at once; the child says whether
//! that held.

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::clients::{self, Hold, Result};

/// What one child measured.
pub struct Measured {
    /// Growth of peak RSS while the calls were pending, in MiB.
    pub peak_mib: f64,
    /// From the first call's start to the last call's end.
    pub elapsed: Duration,
    /// Whether every call was pending at one moment (see the module docs).
    pub all_pending_at_once: bool,
}

/// The line a child prints, parsed back by [`measure`].
const PREFIX: &str = "rss-result";

/// Runs the RSS measurement of `client` in a child process.
pub fn measure(client: &str, url: &str, hold: &Hold) -> Result<Measured> {
    let output = Command::new(std::env::current_exe()?)
        .args(["--rss-client", client, "--url", url])
        .args(["--calls", &hold.calls.to_string()])
        .args(["--sleep-ms", &hold.sleep_ms.to_string()])
        .args(["--batch", &hold.batch.to_string()])
        .args(["--gap-ms", &hold.gap.as_millis().to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "RSS child for {client} failed ({}): {stdout}{stderr}",
            output.status
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(PREFIX))
        .ok_or_else(|| format!("RSS child for {client} printed no result: {stdout}"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields[..] {
        [kib, ms, at_once] => Ok(Measured {
            peak_mib: kib.parse::<f64>()? / 1024.0,
            elapsed: Duration::from_millis(ms.parse()?),
            all_pending_at_once: at_once == "yes",
        }),
        _ => Err(format!("RSS child for {client} printed {line:?}").into()),
    }
}

/// The child's side: measures `client` and prints one result line.
pub fn child(client: &str, url: &str, hold: &Hold) -> Result<()> {
    let client = clients::build(client, url)?;
    (client.unary)(50, &mut |_| {})?;
    std::fs::write("/proc/self/clear_refs", "5")?;
    let before = status_kib("VmHWM")?;
    let start = Instant::now();
    (client.pending)(hold)?;
    let elapsed = start.elapsed();
    let peak = status_kib("VmHWM")?;
    let at_once = elapsed < 2 * Duration::from_millis(hold.sleep_ms);
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{PREFIX} {} {} {}",
        peak.saturating_sub(before),
        elapsed.as_millis(),
        if at_once { "yes" } else { "no" }
    )?;
    stdout.flush()?;
    // Skip the clients' teardown: the process is done.
    std::process::exit(0)
}

/// A `kB` field of `/proc/self/status`.
fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .ok_or_else(|| format!("/proc/self/status has no {field}"))?;
    Ok(value.trim().trim_end_matches("kB").trim().parse()?)
}
