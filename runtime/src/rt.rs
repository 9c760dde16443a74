//! The default I/O runtime, and callers driving it (layer: transport
//! support).
//!
//! Channels that are not given a tokio `Handle` share one small runtime,
//! created on first use and kept for the life of the process: a
//! current-thread tokio runtime, driven by a thread named `switchboard-io`
//! and by the callers waiting on it. A blocking caller that waits for its
//! call takes the poller role ([`drive`]): it runs the runtime's
//! `block_on` itself, so it writes its own request, reads the socket and
//! delivers frames to whichever calls they belong to, with no thread hop
//! (gRPC's C core does the same in `grpc_completion_queue_next`). The
//! hand-off with the I/O thread is `handoff`'s; the I/O thread drives
//! whenever no caller does (keepalive, window updates, unpolled futures).
//! Callers never need to be inside a tokio context.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use crate::handoff::Handoff;
use crate::status::Status;

/// How long the I/O thread leaves the role free after the last caller
/// left, so that a caller making call after call keeps it.
const GRACE: Duration = Duration::from_millis(1);

/// The default runtime and who drives it.
struct Driver {
    runtime: tokio::runtime::Runtime,
    handoff: Handoff,
}

static DEFAULT: OnceLock<Result<Driver, String>> = OnceLock::new();

/// The shared default runtime, starting it (and its I/O thread) on first
/// use.
fn driver() -> Result<&'static Driver, Status> {
    let driver = DEFAULT.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Driver {
            runtime,
            handoff: Handoff::new(),
        })
    });
    match driver {
        Ok(driver) => {
            start_io_thread(driver);
            Ok(driver)
        }
        Err(e) => Err(Status::internal(format!(
            "failed to start switchboard's I/O runtime: {e}"
        ))),
    }
}

/// Starts the I/O thread once.
fn start_io_thread(driver: &'static Driver) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("switchboard-io".into())
            .spawn(move || {
                loop {
                    driver.runtime.block_on(std::future::poll_fn(|cx| {
                        driver.handoff.poll_step_aside(cx)
                    }));
                    driver.handoff.wait_until_free(GRACE);
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "failed to start switchboard's I/O thread");
        }
    });
}

/// The shared default runtime's handle, creating it on first use.
pub(crate) fn default_handle() -> Result<tokio::runtime::Handle, Status> {
    Ok(driver()?.runtime.handle().clone())
}

/// Runs `future` to completion on this thread, driving the default runtime
/// while it waits (the poller role), or gives it back if this thread cannot:
/// it is inside a tokio runtime already, the default runtime failed, or it
/// runs under loom.
pub(crate) fn drive<F: Future>(future: F) -> Result<F::Output, F> {
    // Loom models run the waiting code on loom's threads, which must never
    // block in a real runtime: they take the parking path.
    if cfg!(switchboard_loom) || tokio::runtime::Handle::try_current().is_ok() {
        return Err(future);
    }
    let Ok(driver) = driver() else {
        return Err(future);
    };
    /// Leaves the role however `block_on` ends.
    struct Leave(&'static Handoff);
    impl Drop for Leave {
        fn drop(&mut self) {
            self.0.leave();
        }
    }
    driver.handoff.arrive();
    let _leave = Leave(&driver.handoff);
    Ok(driver.runtime.block_on(future))
}
