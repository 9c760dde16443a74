//! The channel's HTTP/2 connections (layer: channel, over `transport`).
//!
//! The one implementation of the connection seam that names h2:
//! [`H2Connector`] connects with [`transport::connect`], the transport's
//! [`H2Connection`] opens [`H2Call`]s, and a [`ChannelLink`] is the
//! [`ConnectionSource`] its transparently retried calls get their next
//! connection from.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::address::Address;
use crate::call::SharedCall;
use crate::call::h2::{CallSpec, H2Call};
use crate::channel::connection::{ChannelLink, Connection, Connector};
use crate::status::Status;
use crate::transport::{self, ConnectSettings, ConnectionHooks, ConnectionSource, H2Connection};

/// Opens HTTP/2 connections with the channel's settings.
pub(crate) struct H2Connector {
    settings: ConnectSettings,
}

impl H2Connector {
    /// A connector that connects with `settings`.
    pub(crate) fn new(settings: ConnectSettings) -> Self {
        H2Connector { settings }
    }
}

impl Connector for H2Connector {
    type Connection = H2Connection;

    fn connect(
        &self,
        address: &Address,
        timeout: Duration,
        runtime: &tokio::runtime::Handle,
        link: ChannelLink<Self>,
    ) -> impl Future<Output = Result<H2Connection, Status>> + Send {
        let on_close = link.clone();
        let on_closed = Box::new(move |status: Status| on_close.closed(status));
        let on_goaway = link.clone();
        let on_going_away = Box::new(move || on_goaway.going_away());
        let source: Arc<dyn ConnectionSource> = Arc::new(link);
        let hooks = ConnectionHooks {
            on_closed,
            on_going_away,
            source: Some(source),
        };
        transport::connect(address, &self.settings, timeout, runtime.clone(), hooks)
    }
}

impl Connection for H2Connection {
    fn is_broken(&self) -> bool {
        H2Connection::is_broken(self)
    }

    fn load(&self) -> usize {
        self.shared.load()
    }

    fn max_streams(&self) -> usize {
        self.shared.max_streams
    }

    fn new_call<Req: Send + 'static, Resp: Send + 'static>(
        self,
        spec: CallSpec<Req, Resp>,
    ) -> SharedCall<Req, Resp> {
        Arc::new(H2Call::new(self, spec))
    }
}

/// The channel as the source of connections for transparently retried
/// calls (see `call::replay`).
impl<K: Connector<Connection = H2Connection>> ConnectionSource for ChannelLink<K> {
    fn next_ready(
        &self,
        wait_for_ready: bool,
    ) -> Pin<Box<dyn Future<Output = Result<H2Connection, Status>> + Send>> {
        Box::pin(self.ready_connection(wait_for_ready))
    }
}
