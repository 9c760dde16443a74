//! [`PeerRuntime`]: the tokio runtime a test peer runs on, owned by the
//! peer's handle, so plain `#[test]` functions can start peers. Written once
//! for the Echo peer ([`crate::TonicServer`]) and the mock
//! ([`crate::mock::MockServer`]).
//!
//! Stopping it (on drop or on demand) is abrupt: the runtime is shut down
//! without any graceful drain, so listeners and connections close at once,
//! like a killed server process.

use std::io;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

/// How long stopping waits for the runtime's threads to finish.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A multi-thread tokio runtime that a peer's tasks run on.
#[derive(Debug)]
pub(crate) struct PeerRuntime {
    runtime: Option<Runtime>,
}

impl PeerRuntime {
    /// A runtime with `workers` worker threads named `name`, timers and I/O on.
    pub(crate) fn new(name: &str, workers: usize) -> io::Result<PeerRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(PeerRuntime {
            runtime: Some(runtime),
        })
    }

    /// The runtime's handle, to spawn on, enter or `block_on`.
    ///
    /// # Panics
    /// After [`PeerRuntime::stop`].
    pub(crate) fn handle(&self) -> &Handle {
        self.runtime
            .as_ref()
            .expect("the peer's runtime is running")
            .handle()
    }

    /// Shuts the runtime down abruptly and returns once its threads have
    /// finished (or the shutdown timed out). Idempotent.
    pub(crate) fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // A runtime must not be shut down from inside another one, and
            // the caller may be an async test: stop it from a plain thread.
            let stopper = std::thread::spawn(move || runtime.shutdown_timeout(SHUTDOWN_TIMEOUT));
            let _ = stopper.join();
        }
    }
}

impl Drop for PeerRuntime {
    /// Stops the runtime like [`PeerRuntime::stop`].
    fn drop(&mut self) {
        self.stop();
    }
}
