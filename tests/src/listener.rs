//! [`Recorder`]: a [`Listener`] that records everything a call made by hand
//! (through `Channel::new_call`) hears, and drives the call's
//! [`ThreadlessExecutor`] until the test has heard what it waits for.

use std::sync::{Arc, Mutex, MutexGuard};

use switchboard::call::Listener;
use switchboard::executor::ThreadlessExecutor;
use switchboard::{Metadata, Status};

use crate::peer::echo::EchoResponse;

/// What a call's listener heard, in order of the callbacks.
#[derive(Debug, Default)]
pub struct Heard {
    /// The response headers, once delivered.
    pub headers: Option<Metadata>,
    /// How many times the headers were delivered (the contract: at most once).
    pub headers_delivered: usize,
    /// Every response message delivered.
    pub messages: Vec<EchoResponse>,
    /// The status and trailers the call ended with, once it ended.
    pub close: Option<(Status, Metadata)>,
}

/// Records what a call hears. Cloning shares the record: keep one clone,
/// hand [`Recorder::listener`] to `ClientCall::start`.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    heard: Arc<Mutex<Heard>>,
}

impl Recorder {
    /// A new, empty record.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The listener to start the call with; it records into this record.
    pub fn listener(&self) -> Box<dyn Listener<EchoResponse>> {
        Box::new(self.clone())
    }

    /// What was heard so far.
    pub fn heard(&self) -> MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the callbacks queued on `executor` (blocking while none are)
    /// until `done` holds for what was heard.
    pub fn drain_until(&self, executor: &ThreadlessExecutor, done: impl Fn(&Heard) -> bool) {
        while !done(&self.heard()) {
            executor.wait_and_drain();
        }
    }

    /// Runs the call's callbacks until it ends, and returns everything heard.
    pub fn drain_to_close(&self, executor: &ThreadlessExecutor) -> Heard {
        self.drain_until(executor, |heard| heard.close.is_some());
        std::mem::take(&mut *self.heard())
    }
}

impl Listener<EchoResponse> for Recorder {
    fn on_headers(&mut self, headers: Metadata) {
        let mut heard = self.heard();
        heard.headers = Some(headers);
        heard.headers_delivered += 1;
    }
    fn on_message(&mut self, message: EchoResponse) {
        self.heard().messages.push(message);
    }
    fn on_close(&mut self, status: Status, trailers: Metadata) {
        self.heard().close = Some((status, trailers));
    }
}
