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
use crate::channel::backoff::{Backoff, BackoffConfig};
use crate::channel::core::Core;
use crate::channel::h2::H2Connector;
use crate::channel::target::{self, InvalidTarget};
use crate::transport::{ConnectSettings, TlsConfig, tls};

/// The largest HTTP/2 flow-control window (RFC 9113, section 6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

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
    tls: Option<TlsConfig>,
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
            tls: None,
        }
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
    /// 2^31-1, TLS settings with bad PEM or TLS in a build without it)
    /// with an error naming the setting, so that nothing fails later,
    /// inside the channel.
    pub fn build(self) -> Result<Channel, InvalidTarget> {
        let parsed = target::parse_target(&self.target)?;
        let target = parsed.address;
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
            Some(authority) => Some(http::uri::Authority::try_from(authority.as_str()).map_err(
                |e| InvalidTarget {
                    target: self.target.clone(),
                    reason: format!("authority {authority:?} is not a valid host[:port]: {e}"),
                },
            )?),
            None => None,
        };
        let tls = match &tls_config {
            Some(config) => {
                if let Some(reason) = tls::unavailable_reason() {
                    return Err(invalid(reason.to_owned()));
                }
                // The name to verify: the TLS config's, else the authority's host.
                let authority_host = authority
                    .as_ref()
                    .map(|a| a.host().trim_matches(['[', ']']));
                Some(tls::connector(config, authority_host).map_err(invalid)?)
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
            tls,
        });
        Ok(Channel::from_core(Arc::new(Core::new(
            target,
            self.runtime,
            connector,
            self.idle_timeout,
            Backoff::new(self.backoff, seed),
        ))))
    }
}
