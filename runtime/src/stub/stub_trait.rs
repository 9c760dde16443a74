//! The [`Stub`] trait: the call options every generated stub carries,
//! written once (layer: stub; no I/O).
//!
//! Owns the `with_*` builders of every stub, as grpc-java's `AbstractStub`
//! does: a generated stub holds a [`Channel`] and [`CallOptions`], says how
//! it is built from them and taken apart again (the four required methods),
//! and gets every option from the provided methods. Adding a call option
//! means adding it to [`CallOptions`] and one provided method here; no
//! generated code changes.
//!
//! Invariants: a `with_*` method changes only the options, never the
//! channel, and each one delegates to the [`CallOptions`] method of the same
//! name, so a stub option and a call option mean the same thing.

use std::time::Duration;

use crate::channel::Channel;
use crate::deadline::Deadline;
use crate::interceptor::Interceptor;
use crate::metadata::Metadata;
use crate::options::CallOptions;

/// A client stub: a [`Channel`] and the [`CallOptions`] every call made
/// through the stub gets.
///
/// Every generated stub (`GreeterBlockingStub`, `GreeterAsyncStub`, …)
/// implements it; the call options are its provided `with_*` methods, which
/// return a new stub on the same channel. Bring them into scope with the
/// prelude:
///
/// ```
/// use std::time::Duration;
/// use switchboard::prelude::*;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// # #[derive(Clone, PartialEq, prost::Message)]
/// # struct HelloRequest { #[prost(string, tag = "1")] name: String }
/// # #[derive(Clone, PartialEq, prost::Message)]
/// # struct HelloReply { #[prost(string, tag = "1")] message: String }
/// # const SAY_HELLO: MethodDescriptor<HelloRequest, HelloReply> =
/// #     MethodDescriptor::new("/helloworld.Greeter/SayHello", MethodKind::Unary, ProstCodec);
/// # /// What `switchboard-build` generates for `service Greeter`, in short.
/// # #[derive(Clone, Debug)]
/// # struct GreeterBlockingStub { channel: Channel, options: CallOptions }
/// # impl Stub for GreeterBlockingStub {
/// #     fn from_parts(channel: Channel, options: CallOptions) -> Self { Self { channel, options } }
/// #     fn into_parts(self) -> (Channel, CallOptions) { (self.channel, self.options) }
/// #     fn channel(&self) -> &Channel { &self.channel }
/// #     fn options(&self) -> &CallOptions { &self.options }
/// # }
/// # impl GreeterBlockingStub {
/// #     fn new(channel: Channel) -> Self { Self::from_parts(channel, CallOptions::new()) }
/// #     fn say_hello(&self, request: HelloRequest) -> Result<HelloReply, switchboard::Status> {
/// #         switchboard::stub::blocking_unary_call(&self.channel, &SAY_HELLO, &self.options, request)
/// #     }
/// # }
///
/// // Nothing listens on port 1: building the channel does no I/O, and the
/// // fail-fast call ends with UNAVAILABLE once the connection is refused.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let stub = GreeterBlockingStub::new(channel)
///     .with_deadline_after(Duration::from_secs(5))
///     .with_wait_for_ready(false);
/// assert_eq!(stub.options().timeout(), Some(Duration::from_secs(5)));
///
/// let status = stub.say_hello(HelloRequest { name: "world".into() }).unwrap_err();
/// assert_eq!(status.code(), Code::Unavailable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Implementing it
///
/// A stub stores the channel and the options as they are given, and hands
/// them back unchanged; that is all the provided methods rely on. This is
/// what `switchboard-build` writes for each stub:
///
/// ```
/// use switchboard::{CallOptions, Channel, prelude::Stub};
///
/// /// A stub for some service.
/// #[derive(Clone, Debug)]
/// pub struct EchoBlockingStub {
///     channel: Channel,
///     options: CallOptions,
/// }
///
/// impl Stub for EchoBlockingStub {
///     fn from_parts(channel: Channel, options: CallOptions) -> Self {
///         Self { channel, options }
///     }
///     fn into_parts(self) -> (Channel, CallOptions) {
///         (self.channel, self.options)
///     }
///     fn channel(&self) -> &Channel {
///         &self.channel
///     }
///     fn options(&self) -> &CallOptions {
///         &self.options
///     }
/// }
///
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let stub = EchoBlockingStub::from_parts(channel, CallOptions::new())
///     .with_compression("gzip")
///     .with_max_inbound_message_size(1 << 20);
/// assert_eq!(stub.options().compression(), Some("gzip"));
/// assert_eq!(stub.options().max_inbound_message_size(), 1 << 20);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Stub: Sized {
    /// A stub that makes its calls on `channel` with `options`.
    fn from_parts(channel: Channel, options: CallOptions) -> Self;

    /// The channel and the options, as [`from_parts`](Stub::from_parts) got
    /// them.
    fn into_parts(self) -> (Channel, CallOptions);

    /// The channel this stub makes its calls on.
    fn channel(&self) -> &Channel;

    /// The options every call made through this stub gets.
    fn options(&self) -> &CallOptions;

    /// Replaces all of this stub's call options with `options`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use switchboard::{CallOptions, Channel, prelude::*};
    /// # #[derive(Clone, Debug)]
    /// # struct S(Channel, CallOptions);
    /// # impl Stub for S {
    /// #     fn from_parts(c: Channel, o: CallOptions) -> Self { S(c, o) }
    /// #     fn into_parts(self) -> (Channel, CallOptions) { (self.0, self.1) }
    /// #     fn channel(&self) -> &Channel { &self.0 }
    /// #     fn options(&self) -> &CallOptions { &self.1 }
    /// # }
    /// # let stub = S::from_parts(Channel::builder("http://127.0.0.1:1").build()?, CallOptions::new());
    /// let shared = CallOptions::new().with_deadline_after(Duration::from_secs(1));
    /// let stub = stub.with_options(shared);
    /// assert_eq!(stub.options().timeout(), Some(Duration::from_secs(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn with_options(self, options: CallOptions) -> Self {
        let (channel, _) = self.into_parts();
        Self::from_parts(channel, options)
    }

    /// Each call must finish within `timeout` of when it starts: every call
    /// gets a fresh deadline. Replaces any absolute deadline.
    fn with_deadline_after(self, timeout: Duration) -> Self {
        map_options(self, |options| options.with_deadline_after(timeout))
    }

    /// Every call must finish by the absolute `deadline`. Replaces any
    /// relative timeout.
    fn with_deadline(self, deadline: Deadline) -> Self {
        map_options(self, |options| options.with_deadline(deadline))
    }

    /// Whether a call made while the channel is not ready waits for it
    /// (until the deadline) instead of failing at once with `UNAVAILABLE`.
    fn with_wait_for_ready(self, wait_for_ready: bool) -> Self {
        map_options(self, |options| options.with_wait_for_ready(wait_for_ready))
    }

    /// Compresses request messages with `encoding` (its `grpc-encoding`
    /// name, e.g. `"gzip"`).
    fn with_compression(self, encoding: &str) -> Self {
        map_options(self, |options| options.with_compression(encoding))
    }

    /// Adds `metadata` to the request metadata of every call.
    fn with_metadata(self, metadata: Metadata) -> Self {
        map_options(self, |options| options.with_metadata(metadata))
    }

    /// The largest response message, in bytes, a call accepts.
    fn with_max_inbound_message_size(self, bytes: usize) -> Self {
        map_options(self, |options| options.with_max_inbound_message_size(bytes))
    }

    /// The largest request message, in bytes, a call sends.
    fn with_max_outbound_message_size(self, bytes: usize) -> Self {
        map_options(self, |options| {
            options.with_max_outbound_message_size(bytes)
        })
    }

    /// Runs `interceptor` before every call, after those added before it.
    fn with_interceptor(self, interceptor: impl Interceptor) -> Self {
        map_options(self, |options| options.with_interceptor(interceptor))
    }
}

/// `stub` on the same channel with its options passed through `change`.
fn map_options<S: Stub>(stub: S, change: impl FnOnce(CallOptions) -> CallOptions) -> S {
    let (channel, options) = stub.into_parts();
    S::from_parts(channel, change(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct TestStub {
        channel: Channel,
        options: CallOptions,
    }

    impl Stub for TestStub {
        fn from_parts(channel: Channel, options: CallOptions) -> Self {
            TestStub { channel, options }
        }
        fn into_parts(self) -> (Channel, CallOptions) {
            (self.channel, self.options)
        }
        fn channel(&self) -> &Channel {
            &self.channel
        }
        fn options(&self) -> &CallOptions {
            &self.options
        }
    }

    fn stub() -> TestStub {
        let channel = Channel::builder("http://127.0.0.1:1").build().unwrap();
        TestStub::from_parts(channel, CallOptions::new())
    }

    #[test]
    fn every_option_reaches_the_call_options() {
        let mut metadata = Metadata::new();
        metadata.insert("k", "v").unwrap();
        let stub = stub()
            .with_deadline_after(Duration::from_secs(7))
            .with_wait_for_ready(true)
            .with_compression("gzip")
            .with_metadata(metadata)
            .with_max_inbound_message_size(10)
            .with_max_outbound_message_size(20);
        let options = stub.options();
        assert_eq!(options.timeout(), Some(Duration::from_secs(7)));
        assert!(options.wait_for_ready());
        assert_eq!(options.compression(), Some("gzip"));
        assert_eq!(options.metadata().get("k"), Some("v"));
        assert_eq!(options.max_inbound_message_size(), 10);
        assert_eq!(options.max_outbound_message_size(), Some(20));

        let deadline = Deadline::after(Duration::from_secs(3));
        let stub = stub.with_deadline(deadline);
        assert_eq!(stub.options().deadline(), Some(deadline));
        assert_eq!(stub.options().timeout(), None);
    }

    #[test]
    fn options_leave_the_channel_alone() {
        let stub = stub();
        let original = stub.channel().clone();
        let stub = stub
            .with_interceptor(|_: &mut crate::interceptor::CallContext<'_>| Ok(()))
            .with_options(CallOptions::new().with_wait_for_ready(true));
        assert!(stub.options().wait_for_ready());
        assert_eq!(format!("{:?}", stub.channel()), format!("{original:?}"));
    }
}
