//! The default I/O runtime (layer: transport support).
//!
//! Channels that are not given a tokio `Handle` share one small runtime: one
//! worker thread named `switchboard-io`, created on first use and kept for
//! the life of the process. Callers never need to be inside a tokio context;
//! only the channel's own tasks (connections, response readers, timers) run
//! here.

use std::sync::OnceLock;

use crate::status::Status;

static DEFAULT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// The shared default runtime's handle, creating it on first use.
pub(crate) fn default_handle() -> Result<tokio::runtime::Handle, Status> {
    let runtime = DEFAULT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("switchboard-io")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.handle().clone()),
        Err(e) => Err(Status::internal(format!(
            "failed to start switchboard's I/O runtime: {e}"
        ))),
    }
}
