//! Building a channel (layer: channel).
//!
//! [`ChannelBuilder`] collects a channel's settings and checks them all in
//! [`build`](ChannelBuilder::build), so that a bad one is refused there,
//! naming the setting, and nothing fails later inside the channel. Building
//! does no I/O.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;

use crate::channel::Channel;
use crate::channel::backoff::BackoffConfig;
use crate::channel::core::{Core, CoreSettings, Naming};
use crate::channel::h2::H2Connector;
use crate::channel::policy::LoadBalancing;
use crate::channel::subchannel::ConnectionLimits;
use crate::channel::target::{self, InvalidTarget};
use crate::resolver::{ResolverBuilder, ResolverRegistry};
use crate::transport::keepalive::KeepalivePolicy;
use crate::transport::{ConnectSettings, TlsConfig, tls};

/// The largest HTTP/2 flow-control window (RFC 9113, section 6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The most connections a channel keeps to one address.
const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// The largest TCP keepalive idle time Linux accepts (`TCP_KEEPIDLE`), in
/// seconds.
const MAX_TCP_KEEPIDLE: u64 = 32767;

/// Builds a [`Channel`]. See [`Channel::builder`].
#[derive(Debug, Clone)]
pub struct ChannelBuilder {
    target: String,
    runtime: Option<tokio::runtime::Handle>,
    backoff: BackoffConfig,
    idle_timeout: Duration,
    user_agent: Option<String>,
    authority: Option<String>,
    stream_window: u32,
    connection_window: u32,
    keepalive_time: Option<Duration>,
    keepalive_timeout: Duration,
    keepalive_permit_without_calls: bool,
    tcp_keepalive: Option<Duration>,
    tls: Option<TlsConfig>,
    resolvers: ResolverRegistry,
    load_balancing: LoadBalancing,
    connections_per_address: usize,
    max_connections_per_address: usize,
    extra_connection_idle: Duration,
}

impl ChannelBuilder {
    /// A builder for `target` with the default settings.
    pub(crate) fn new(target: String) -> Self {
        ChannelBuilder {
            target,
            runtime: None,
            backoff: BackoffConfig::default(),
            idle_timeout: Duration::from_secs(30 * 60),
            user_agent: None,
            authority: None,
            stream_window: 1024 * 1024,
            connection_window: 4 * 1024 * 1024,
            keepalive_time: None,
            keepalive_timeout: Duration::from_secs(20),
            keepalive_permit_without_calls: false,
            tcp_keepalive: Some(Duration::from_secs(2 * 60 * 60)),
            tls: None,
            resolvers: ResolverRegistry::default(),
            load_balancing: LoadBalancing::PickFirst,
            connections_per_address: 1,
            max_connections_per_address: 4,
            extra_connection_idle: Duration::from_secs(30),
        }
    }

    /// How calls spread over the addresses the target resolves to
    /// (default [`LoadBalancing::PickFirst`]).
    ///
    /// ```
    /// use switchboard::Channel;
    /// use switchboard::channel::LoadBalancing;
    ///
    /// // Every address `backends.internal` resolves to (A and AAAA), each
    /// // kept connected, calls taking turns.
    /// let channel = Channel::builder("dns:///backends.internal:50051")
    ///     .load_balancing(LoadBalancing::RoundRobin)
    ///     .build()?;
    /// # drop(channel);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_balancing(mut self, policy: LoadBalancing) -> Self {
        self.load_balancing = policy;
        self
    }

    /// Opens `count` connections to each address (default 1; at most 64)
    /// and spreads calls over them by load: for more throughput than one
    /// HTTP/2 connection gives, without juggling channels. Raises
    /// [`max_connections_per_address`](Self::max_connections_per_address)
    /// to `count` if it is lower.
    pub fn connections_per_address(mut self, count: usize) -> Self {
        self.connections_per_address = count;
        self
    }

    /// The most connections the channel opens to one address (default 4;
    /// at most 64): when every connection carries as many calls as the
    /// server's MAX_CONCURRENT_STREAMS allows, the next call waits for one
    /// more connection instead of for a stream. Extra connections (beyond
    /// [`connections_per_address`](Self::connections_per_address)) close
    /// after carrying no call for
    /// [`extra_connection_idle_timeout`](Self::extra_connection_idle_timeout).
    /// 1 turns this off.
    pub fn max_connections_per_address(mut self, count: usize) -> Self {
        self.max_connections_per_address = count;
        self
    }

    /// How long an extra connection (see
    /// [`max_connections_per_address`](Self::max_connections_per_address))
    /// may carry no call before it closes (default 30 s; must not be zero).
    pub fn extra_connection_idle_timeout(mut self, timeout: Duration) -> Self {
        self.extra_connection_idle = timeout;
        self
    }

    /// Resolves targets of `resolver`'s scheme with it (replacing a
    /// built-in or earlier one of that scheme): how a program feeds the
    /// channel addresses from service discovery. See
    /// [`ManualResolver`](crate::resolver::ManualResolver).
    pub fn resolver(mut self, resolver: impl ResolverBuilder) -> Self {
        self.resolvers.register(resolver);
        self
    }

    /// Resolves targets with the resolvers in `registry` instead of the
    /// built-in ones (`dns`, `ipv4`, `ipv6`, `unix`, `unix-abstract`).
    pub fn resolver_registry(mut self, registry: ResolverRegistry) -> Self {
        self.resolvers = registry;
        self
    }

    /// Runs the channel's connections and timers on `handle` instead of the
    /// shared default runtime.
    pub fn runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Sets the reconnect backoff (default: gRPC's connection-backoff spec).
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long a channel with no call in use keeps its connection before
    /// going IDLE (default 30 minutes).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Text put before switchboard's own `user-agent`.
    pub fn user_agent(mut self, prefix: impl Into<String>) -> Self {
        self.user_agent = Some(prefix.into());
        self
    }

    /// The `:authority` (virtual host) calls claim, instead of the target's
    /// `host:port` (`localhost` for Unix sockets).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// HTTP/2 flow-control windows: per stream and per connection (defaults
    /// 1 MiB and 4 MiB).
    pub fn flow_control_windows(mut self, stream: u32, connection: u32) -> Self {
        self.stream_window = stream;
        self.connection_window = connection;
        self
    }

    /// Turns on HTTP/2 keepalive (gRFC A8; off by default, as in
    /// grpc-java): after `time` with nothing received on a connection that
    /// has a call open (see
    /// [`keepalive_permit_without_calls`](Self::keepalive_permit_without_calls)),
    /// the client sends a PING; if neither its ACK nor anything else arrives
    /// within [`keepalive_timeout`](Self::keepalive_timeout), the connection
    /// is declared dead: its calls end with UNAVAILABLE ("keepalive
    /// timeout") and the next call reconnects.
    ///
    /// `time` must not be zero. Unlike grpc-java, times under A8's
    /// minimum of 10 s are not raised to it (tests need short ones), but
    /// servers punish frequent pings: one that answers with GOAWAY
    /// `too_many_pings` makes this channel double its keepalive time.
    pub fn keepalive_time(mut self, time: Duration) -> Self {
        self.keepalive_time = Some(time);
        self
    }

    /// How long a keepalive PING may go unanswered before the connection
    /// is declared dead (default 20 s; must not be zero). Only used with
    /// [`keepalive_time`](Self::keepalive_time).
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// Whether keepalive pings go out also when no call is open on the
    /// connection (default `false`). Only used with
    /// [`keepalive_time`](Self::keepalive_time).
    pub fn keepalive_permit_without_calls(mut self, permit: bool) -> Self {
        self.keepalive_permit_without_calls = permit;
        self
    }

    /// TCP keepalive (`SO_KEEPALIVE`) on the channel's TCP connections,
    /// with `idle` before the first probe (whole seconds, from 1 s to
    /// 32767 s); `None` turns it off. Default: on, 2 hours (the usual OS
    /// default, as grpc-java's netty transport). The OS's probe interval
    /// and count apply.
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Connects with TLS, with these settings (see [`TlsConfig`]), whatever
    /// the target's scheme: for `dns:`, `unix:` and bare `host:port`
    /// targets, which are plaintext otherwise, and for `https://` targets,
    /// which otherwise use [`TlsConfig::new`]. An `http://` target is
    /// refused with TLS. Needs a TLS cargo feature (`tls-ring`, the
    /// default, or `tls-aws-lc`); without one, `build` refuses it.
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Builds the channel. Does no I/O: the first call (or
    /// [`Channel::state`] with `true`) connects.
    ///
    /// Refuses settings it cannot use (a target it cannot parse, a backoff
    /// that fails [`BackoffConfig::validate`], a flow-control window over
    /// 2^31-1, a zero keepalive time or timeout, a TCP keepalive idle time
    /// outside 1..=32767 s, TLS settings with bad PEM or TLS in a build
    /// without it) with an error naming the setting, so that nothing fails
    /// later, inside the channel.
    pub fn build(self) -> Result<Channel, InvalidTarget> {
        let parsed = target::parse_with(&self.resolvers, &self.target)?;
        let invalid = |reason: String| InvalidTarget {
            target: self.target.clone(),
            reason,
        };
        let tls_config = match (&self.tls, parsed.https) {
            (Some(_), false) if self.target.starts_with("http://") => {
                return Err(invalid(
                    "TLS was set on the builder for an http:// (plaintext) target; use https:// \
                     or dns:///host:port"
                        .to_owned(),
                ));
            }
            (Some(config), _) => Some(config.clone()),
            (None, true) => Some(TlsConfig::new()),
            (None, false) => None,
        };
        self.backoff.validate().map_err(invalid)?;
        for (name, window) in [
            ("stream", self.stream_window),
            ("connection", self.connection_window),
        ] {
            if window > MAX_WINDOW {
                return Err(invalid(format!(
                    "the {name} flow-control window {window} is over the HTTP/2 limit of {MAX_WINDOW}"
                )));
            }
        }
        if self.keepalive_time == Some(Duration::ZERO) {
            return Err(invalid("the keepalive time must not be zero".into()));
        }
        if self.keepalive_timeout.is_zero() {
            return Err(invalid("the keepalive timeout must not be zero".into()));
        }
        if let Some(idle) = self.tcp_keepalive
            && !(Duration::from_secs(1)..=Duration::from_secs(MAX_TCP_KEEPIDLE)).contains(&idle)
        {
            return Err(invalid(format!(
                "the TCP keepalive idle time {idle:?} is outside 1 s ..= {MAX_TCP_KEEPIDLE} s"
            )));
        }
        let own = concat!("switchboard/", env!("CARGO_PKG_VERSION"));
        let agent = match &self.user_agent {
            Some(prefix) => format!("{prefix} {own}"),
            None => own.to_string(),
        };
        let user_agent = HeaderValue::from_str(&agent).map_err(|_| InvalidTarget {
            target: self.target.clone(),
            reason: format!("user agent {agent:?} is not a valid header value"),
        })?;
        let authority = match &self.authority {
            Some(authority) => {
                http::uri::Authority::try_from(authority.as_str()).map_err(|e| InvalidTarget {
                    target: self.target.clone(),
                    reason: format!("authority {authority:?} is not a valid host[:port]: {e}"),
                })?
            }
            None => http::uri::Authority::try_from(parsed.authority.as_str()).map_err(|e| {
                invalid(format!(
                    "the target's authority {:?} is not a valid host[:port] ({e}); set \
                     ChannelBuilder::authority",
                    parsed.authority
                ))
            })?,
        };
        if self.connections_per_address == 0
            || self.connections_per_address > MAX_CONNECTIONS_PER_ADDRESS
            || self.max_connections_per_address == 0
            || self.max_connections_per_address > MAX_CONNECTIONS_PER_ADDRESS
        {
            return Err(invalid(format!(
                "connections per address must be 1 ..= {MAX_CONNECTIONS_PER_ADDRESS} (got {} \
                 and a maximum of {})",
                self.connections_per_address, self.max_connections_per_address
            )));
        }
        if self.extra_connection_idle.is_zero() {
            return Err(invalid(
                "the extra connection idle timeout must not be zero".into(),
            ));
        }
        let tls = match &tls_config {
            Some(config) => {
                if let Some(reason) = tls::unavailable_reason() {
                    return Err(invalid(reason.to_owned()));
                }
                // The name to verify: the TLS config's, else the authority's host.
                let authority_host = authority.host().trim_matches(['[', ']']);
                Some(tls::connector(config, Some(authority_host)).map_err(invalid)?)
            }
            None => None,
        };
        let created = Instant::now();
        let seed = created.elapsed().as_nanos() as u64 ^ (Arc::as_ptr(&Arc::new(())) as u64);
        let connector = H2Connector::new(ConnectSettings {
            user_agent,
            authority,
            stream_window: self.stream_window,
            connection_window: self.connection_window,
            keepalive: self.keepalive_time.map(|time| {
                Arc::new(KeepalivePolicy::new(
                    time,
                    self.keepalive_timeout,
                    self.keepalive_permit_without_calls,
                ))
            }),
            tcp_keepalive: self.tcp_keepalive,
            tls,
        });
        let naming = Naming {
            resolver: parsed.resolver,
            target: parsed.target,
        };
        let settings = CoreSettings {
            idle_timeout: self.idle_timeout,
            backoff: self.backoff,
            seed,
            load_balancing: self.load_balancing,
            limits: ConnectionLimits {
                min: self.connections_per_address,
                max: self
                    .max_connections_per_address
                    .max(self.connections_per_address),
                extra_idle: self.extra_connection_idle,
            },
        };
        Ok(Channel::from_core(Arc::new(Core::new(
            naming,
            self.runtime,
            connector,
            settings,
        ))))
    }
}
