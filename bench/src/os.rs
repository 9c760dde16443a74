//! What the bench asks of the operating system: the client's cost
//! ([`Usage`]: CPU time and context switches of this process, from
//! `getrusage`) and placement ([`Placement`], applied by a [`Placer`]: every
//! thread of this process and of the server children pinned to one CPU, or
//! all of them back on the CPUs the bench started with).
//!
//! `getrusage(RUSAGE_SELF)` sums every thread of the process, live or
//! exited, so a client's I/O and runtime threads count; the servers are
//! other processes and never do. User plus system time is the kernel's
//! precise runtime (nanoseconds), split between the two by tick sampling.
//!
//! Pinning is per thread (`sched_setaffinity` on each entry of
//! `/proc/PID/task`), so that one run can switch placement between
//! measurements: a thread created later inherits the mask of the thread
//! that creates it. Linux only; elsewhere [`Placer::apply`] fails for
//! [`Placement::OneCpu`].
//!
//! With `alloc`, this is the crate's `unsafe` code: four libc calls, each
//! with its `SAFETY` note.

use std::time::Duration;

use crate::clients::Result;

/// Where the bench and its servers run during a latency measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Every thread of the bench and of the servers on one CPU ([`PINNED_CPU`]):
    /// no cross-CPU wake-ups, so latency is the CPU cost of both sides.
    OneCpu,
    /// No pinning: the scheduler places threads on the CPUs the bench
    /// started with, as it would for a user.
    Free,
}

/// The CPU of [`Placement::OneCpu`].
pub const PINNED_CPU: usize = 0;

impl Placement {
    /// Both placements, in the order a round measures them.
    pub const BOTH: [Placement; 2] = [Placement::OneCpu, Placement::Free];

    /// As `--placement` takes it, and in JSON keys.
    pub fn flag(self) -> &'static str {
        match self {
            Placement::OneCpu => "one-cpu",
            Placement::Free => "free",
        }
    }

    /// As the tables show it.
    pub fn label(self) -> &'static str {
        match self {
            Placement::OneCpu => "one CPU (bench and server pinned to CPU 0)",
            Placement::Free => "free placement (no pinning)",
        }
    }

    /// The placements of a `--placement` value: `one-cpu`, `free` or `both`.
    pub fn parse(value: &str) -> Result<Vec<Placement>> {
        match value {
            "one-cpu" => Ok(vec![Placement::OneCpu]),
            "free" => Ok(vec![Placement::Free]),
            "both" => Ok(Placement::BOTH.to_vec()),
            other => Err(format!("--placement {other:?}: one of one-cpu, free, both").into()),
        }
    }
}

/// CPU time and context switches of this process so far (every thread).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Voluntary plus involuntary context switches.
    pub switches: u64,
}

impl Usage {
    /// This process's usage now, from `getrusage(RUSAGE_SELF)`.
    pub fn now() -> Usage {
        let usage = rusage_self();
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        Usage {
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            switches: u64::try_from(usage.ru_nvcsw).unwrap_or(0)
                + u64::try_from(usage.ru_nivcsw).unwrap_or(0),
        }
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(earlier.cpu),
            switches: self.switches.saturating_sub(earlier.switches),
        }
    }

    /// CPU µs per call over `calls` calls.
    pub fn cpu_us_per(&self, calls: usize) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / calls.max(1) as f64
    }

    /// Context switches per call over `calls` calls.
    pub fn switches_per(&self, calls: usize) -> f64 {
        self.switches as f64 / calls.max(1) as f64
    }
}

#[expect(
    unsafe_code,
    reason = "getrusage is a libc call that fills a caller-provided struct"
)]
fn rusage_self() -> libc::rusage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable `rusage`; RUSAGE_SELF is a valid
    // `who`, so the call cannot fail (and on failure the zeroes stay).
    let _ = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: zero-initialised, and `rusage` is plain integers, for which
    // zero is valid; getrusage only writes valid values over it.
    unsafe { usage.assume_init() }
}

/// Applies placements to this process and the server children.
pub struct Placer {
    /// Process ids of the server children to place with the bench.
    servers: Vec<u32>,
    #[cfg(target_os = "linux")]
    original: affinity::CpuSet,
}

impl Placer {
    /// A placer for this process and the servers `servers` (process ids).
    /// The mask the bench started with (its main thread's) is what
    /// [`Placement::Free`] restores, so a run under `taskset` stays inside it.
    pub fn new(servers: Vec<u32>) -> Result<Placer> {
        Ok(Placer {
            servers,
            #[cfg(target_os = "linux")]
            original: affinity::CpuSet::of(0)?,
        })
    }

    /// Puts every thread of this process and of the servers under
    /// `placement`.
    pub fn apply(&self, placement: Placement) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let mask = match placement {
                Placement::OneCpu => affinity::CpuSet::single(PINNED_CPU),
                Placement::Free => self.original.clone(),
            };
            affinity::set_process("self", &mask)?;
            for pid in &self.servers {
                affinity::set_process(&pid.to_string(), &mask)?;
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        match placement {
            Placement::Free => Ok(()),
            Placement::OneCpu => Err("--placement one-cpu needs Linux".into()),
        }
    }
}

#[cfg(target_os = "linux")]
mod affinity {
    use std::collections::BTreeSet;

    use crate::clients::Result;

    /// A `cpu_set_t`.
    #[derive(Clone)]
    pub struct CpuSet(libc::cpu_set_t);

    #[expect(
        unsafe_code,
        reason = "cpu_set_t is manipulated and passed through libc calls"
    )]
    impl CpuSet {
        /// The set of one CPU.
        pub fn single(cpu: usize) -> CpuSet {
            // SAFETY: `cpu_set_t` is a bit array, for which all zeroes (the
            // empty set) is valid.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: CPU_ZERO and CPU_SET write inside `set`; CPU_SET
            // ignores a CPU beyond the set's size.
            unsafe {
                libc::CPU_ZERO(&mut set);
                libc::CPU_SET(cpu, &mut set);
            }
            CpuSet(set)
        }

        /// The mask of thread `tid` (0: the calling thread).
        pub fn of(tid: libc::pid_t) -> Result<CpuSet> {
            let mut set = CpuSet::single(0);
            // SAFETY: `set.0` is a valid, writable `cpu_set_t` of the size
            // passed.
            let rc = unsafe {
                libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set.0)
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            Ok(set)
        }

        /// Sets thread `tid`'s mask; `Ok(false)` if the thread is gone.
        fn apply(&self, tid: libc::pid_t) -> Result<bool> {
            // SAFETY: `self.0` is a valid `cpu_set_t` of the size passed,
            // only read by the call.
            let rc = unsafe {
                libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &self.0)
            };
            if rc == 0 {
                return Ok(true);
            }
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::ESRCH) {
                Ok(false)
            } else {
                Err(format!("sched_setaffinity({tid}): {error}").into())
            }
        }
    }

    /// Sets `mask` on every thread of process `pid` (`"self"` or a number),
    /// listing `/proc/PID/task` again until a pass finds no thread it has
    /// not set (a thread created meanwhile may have inherited the old mask).
    pub fn set_process(pid: &str, mask: &CpuSet) -> Result<()> {
        let mut done = BTreeSet::new();
        for _ in 0..10 {
            let mut new = 0;
            for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
                let Ok(tid) = entry?.file_name().to_string_lossy().parse::<libc::pid_t>() else {
                    continue;
                };
                if done.insert(tid) {
                    new += 1;
                    mask.apply(tid)?;
                }
            }
            if new == 0 {
                return Ok(());
            }
        }
        Err(format!("/proc/{pid}/task kept growing while setting its threads' CPUs").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_cpu_time_spent() {
        let before = Usage::now();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = Usage::now().since(before);
        assert!(used.cpu >= Duration::from_millis(10), "{used:?}");
    }

    #[test]
    fn placements_parse() {
        assert_eq!(
            Placement::parse("both").ok(),
            Some(Placement::BOTH.to_vec())
        );
        assert_eq!(
            Placement::parse("one-cpu").ok(),
            Some(vec![Placement::OneCpu])
        );
        assert!(Placement::parse("pinned").is_err());
    }
}
