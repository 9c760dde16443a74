//! Per-call options: deadline, wait-for-ready, metadata, message size limits
//! and compression.
//!
//! Layer: plain data, above `deadline` and `metadata` and below everything
//! that makes calls. It owns [`CallOptions`], the value a stub carries and
//! hands to each call it starts; it performs no I/O and starts no timers.
//!
//! Invariants: at most one of an absolute deadline and a relative timeout is
//! set (each builder replaces the other), and a relative timeout is turned
//! into a [`Deadline`] only when a call starts, by
//! [`CallOptions::effective_deadline`], so every call gets a fresh deadline
//! (rule 4). Limits are in bytes of one encoded message, before any
//! decompression on the way in.
//!
//! Each `with_*` builder has a twin among the provided methods of
//! [`Stub`](crate::stub::Stub), so every stub takes the same options: a new
//! option is a builder here plus one provided method there, and no
//! generated code changes.

use std::time::Duration;

use std::sync::Arc;

use crate::deadline::Deadline;
use crate::interceptor::{Interceptor, Interceptors};
use crate::metadata::Metadata;

/// Default inbound message limit: 4 MiB, as in other gRPC implementations. A
/// larger message fails the call with RESOURCE_EXHAUSTED.
pub const DEFAULT_MAX_INBOUND_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Per-call options.
///
/// Built once (typically per stub) with the `with_*` methods and applied to
/// every call made with them. The default has no deadline, does not wait for
/// ready, carries no metadata, limits inbound messages to
/// [`DEFAULT_MAX_INBOUND_MESSAGE_SIZE`], does not limit outbound messages and
/// does not compress.
///
/// ```
/// # use std::time::Duration;
/// # use switchboard::CallOptions;
/// let opts = CallOptions::new()
///     .with_deadline_after(Duration::from_secs(2))
///     .with_wait_for_ready(true);
/// assert!(opts.wait_for_ready());
/// assert!(opts.effective_deadline().is_some());
/// ```
#[derive(Clone, Debug)]
pub struct CallOptions {
    deadline: Option<Deadline>,
    timeout: Option<Duration>,
    wait_for_ready: bool,
    metadata: Metadata,
    max_inbound_message_size: usize,
    max_outbound_message_size: Option<usize>,
    compression: Option<String>,
    interceptors: Interceptors,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            deadline: None,
            timeout: None,
            wait_for_ready: false,
            metadata: Metadata::new(),
            max_inbound_message_size: DEFAULT_MAX_INBOUND_MESSAGE_SIZE,
            max_outbound_message_size: None,
            interceptors: Interceptors::default(),
            compression: None,
        }
    }
}

impl CallOptions {
    /// The default options (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls must finish by the absolute deadline `d`, shared by every call
    /// made with these options. Replaces any relative timeout set by
    /// [`CallOptions::with_deadline_after`].
    pub fn with_deadline(mut self, d: Deadline) -> Self {
        self.deadline = Some(d);
        self.timeout = None;
        self
    }

    /// A relative timeout: each call made with these options gets a fresh
    /// deadline `now + timeout` when it starts (rule 4). Replaces any
    /// absolute deadline set by [`CallOptions::with_deadline`].
    pub fn with_deadline_after(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self.deadline = None;
        self
    }

    /// Whether a call made while the channel is connecting or in transient
    /// failure waits for it to become ready (until the deadline) instead of
    /// failing at once with UNAVAILABLE.
    pub fn with_wait_for_ready(mut self, on: bool) -> Self {
        self.wait_for_ready = on;
        self
    }

    /// Adds the entries of `md` to the metadata sent with each call, after
    /// those already set (existing values of the same key are kept).
    pub fn with_metadata(mut self, md: Metadata) -> Self {
        self.metadata.merge(&md);
        self
    }

    /// The largest response message, in bytes, a call accepts; a larger one
    /// fails the call with RESOURCE_EXHAUSTED before its body is buffered.
    pub fn with_max_inbound_message_size(mut self, bytes: usize) -> Self {
        self.max_inbound_message_size = bytes;
        self
    }

    /// The largest request message, in bytes, a call sends; a larger one
    /// fails the call with RESOURCE_EXHAUSTED instead of being sent.
    pub fn with_max_outbound_message_size(mut self, bytes: usize) -> Self {
        self.max_outbound_message_size = Some(bytes);
        self
    }

    /// The compression to request for outgoing messages, by its
    /// `grpc-encoding` name (e.g. `"gzip"`). Stored only, for now; which
    /// encodings are honoured is up to the codec layer.
    pub fn with_compression(mut self, encoding: &str) -> Self {
        self.compression = Some(encoding.to_owned());
        self
    }

    /// Adds an interceptor; it runs before every call made with these
    /// options, after the ones added before it.
    pub fn with_interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// The interceptors, in order.
    pub(crate) fn interceptors(&self) -> &Interceptors {
        &self.interceptors
    }

    /// The deadline for a call starting now: the absolute deadline, or
    /// `now + timeout`, whichever is set (the earlier, should both be).
    /// `None` means the call has no deadline.
    pub fn effective_deadline(&self) -> Option<Deadline> {
        let relative = self.timeout.map(Deadline::after);
        match (self.deadline, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The absolute deadline, if one was set with
    /// [`CallOptions::with_deadline`].
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }

    /// The relative timeout, if one was set with
    /// [`CallOptions::with_deadline_after`].
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether calls wait for the channel to become ready.
    pub fn wait_for_ready(&self) -> bool {
        self.wait_for_ready
    }

    /// The metadata sent with each call.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata sent with each call, to change in place.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// The inbound message limit in bytes.
    pub fn max_inbound_message_size(&self) -> usize {
        self.max_inbound_message_size
    }

    /// The outbound message limit in bytes, if any.
    pub fn max_outbound_message_size(&self) -> Option<usize> {
        self.max_outbound_message_size
    }

    /// The requested `grpc-encoding`, if any.
    pub fn compression(&self) -> Option<&str> {
        self.compression.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn defaults() {
        let o = CallOptions::new();
        assert_eq!(o.effective_deadline(), None);
        assert!(!o.wait_for_ready());
        assert!(o.metadata().is_empty());
        assert_eq!(o.max_inbound_message_size(), 4 * 1024 * 1024);
        assert_eq!(o.max_outbound_message_size(), None);
        assert_eq!(o.compression(), None);
    }

    #[test]
    fn relative_timeout_gives_each_call_a_fresh_deadline() {
        let o = CallOptions::new().with_deadline_after(Duration::from_secs(60));
        let first = o.effective_deadline().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = o.effective_deadline().unwrap();
        assert!(second.instant() >= first.instant() + Duration::from_millis(5));
        assert!(second.remaining() <= Duration::from_secs(60));
        assert_eq!(o.timeout(), Some(Duration::from_secs(60)));
    }

    #[test]
    fn absolute_deadline_is_shared_and_replaces_timeout() {
        let d = Deadline::at(Instant::now() + Duration::from_secs(5));
        let o = CallOptions::new()
            .with_deadline_after(Duration::from_secs(60))
            .with_deadline(d);
        assert_eq!(o.effective_deadline(), Some(d));
        assert_eq!(o.effective_deadline(), Some(d));
        assert_eq!(o.timeout(), None);

        let o = o.with_deadline_after(Duration::from_secs(60));
        assert_eq!(o.deadline(), None);
        assert!(o.effective_deadline().unwrap() > d);
    }

    #[test]
    fn both_set_takes_the_earlier() {
        let early = Deadline::at(Instant::now() + Duration::from_secs(1));
        let mut o = CallOptions::new().with_deadline(early);
        o.timeout = Some(Duration::from_secs(60));
        assert_eq!(o.effective_deadline(), Some(early));
        o.timeout = Some(Duration::ZERO);
        assert!(o.effective_deadline().unwrap() < early);
    }

    #[test]
    fn with_metadata_merges() {
        let mut a = Metadata::new();
        a.insert("k", "1").unwrap();
        let mut b = Metadata::new();
        b.insert("k", "2").unwrap();
        b.insert("other", "x").unwrap();
        let mut o = CallOptions::new().with_metadata(a).with_metadata(b);
        let ks: Vec<_> = o.metadata().get_all("k").collect();
        assert_eq!(ks.len(), 2);
        assert_eq!(o.metadata().get("other"), Some("x"));
        o.metadata_mut().remove("k");
        assert_eq!(o.metadata().len(), 1);
    }

    #[test]
    fn limits_wait_for_ready_and_compression() {
        let o = CallOptions::new()
            .with_wait_for_ready(true)
            .with_max_inbound_message_size(10)
            .with_max_outbound_message_size(20)
            .with_compression("gzip");
        assert!(o.wait_for_ready());
        assert_eq!(o.max_inbound_message_size(), 10);
        assert_eq!(o.max_outbound_message_size(), Some(20));
        assert_eq!(o.compression(), Some("gzip"));
        let clone = o.clone().with_wait_for_ready(false);
        assert!(!clone.wait_for_ready());
        assert!(o.wait_for_ready());
    }
}
