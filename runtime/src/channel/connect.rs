//! Subchannels' connections: the connect loop and extra connections
//! (layer: channel).
//!
//! One connect loop per stretch of CONNECTING of a subchannel
//! (`Core::connect_loop`, spawned by `Core::connect_subchannel`): it tries
//! the subchannel's addresses in order, each under the backoff's connect
//! timeout, the next one starting when the one before fails or after 250 ms
//! without an answer (Happy Eyeballs, gRFC A61); the first that connects makes the subchannel READY, and the
//! pending calls are picked again. If none does, the subchannel is in
//! TRANSIENT_FAILURE (fail-fast calls that have nowhere else to go fail
//! with the last error), waits out its backoff, and tries again, until it
//! connects or the channel no longer wants it (the subchannel was removed,
//! went IDLE, the channel shut down or was dropped).
//!
//! A READY subchannel opens extra connections to the address it reached
//! (`Core::grow`): up to `ConnectionLimits::min` at once, and one more
//! whenever a call finds every connection at the server's
//! MAX_CONCURRENT_STREAMS, up to `ConnectionLimits::max`.
//!
//! Holds the channel only weakly, and never across an await.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::address::Address;
use crate::channel::connection::{ChannelLink, Connector};
use crate::channel::core::Core;
use crate::channel::state::{Locked, Mode, lock_state};
use crate::channel::subchannel::{Conn, SubState};
use crate::status::Status;

/// How long an attempt waits on one address before also trying the next
/// (RFC 8305's recommended Connection Attempt Delay, as gRFC A61).
const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// How one attempt over a subchannel's addresses ended.
enum Attempted<C> {
    /// Connection `id` to this address.
    Connected(u64, Address, C),
    /// Every address failed; the last error.
    Failed(Status),
    /// The channel was dropped.
    Dropped,
}

impl<K: Connector> Core<K> {
    /// IDLE → CONNECTING for subchannel `key` (lock held): spawns its
    /// connect loop. Does nothing unless it is IDLE.
    pub(crate) fn connect_subchannel(
        self: &Arc<Self>,
        locked: &mut Locked<K::Connection>,
        key: u64,
    ) {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(error) => {
                locked.resolver.error = Some(error);
                return;
            }
        };
        let Some(subchannel) = locked.subchannel(key) else {
            return;
        };
        if !matches!(subchannel.state, SubState::Idle) {
            return;
        }
        subchannel.state = SubState::Connecting {
            after_failure: None,
        };
        subchannel.connect_loop += 1;
        let generation = subchannel.connect_loop;
        runtime.spawn(Self::connect_loop(
            Arc::downgrade(self),
            runtime.clone(),
            key,
            generation,
        ));
    }

    /// Tries to connect subchannel `key` until it succeeds or the channel
    /// no longer wants it from this loop (`generation`).
    async fn connect_loop(
        channel: Weak<Self>,
        runtime: tokio::runtime::Handle,
        key: u64,
        generation: u64,
    ) {
        loop {
            let Some(core) = channel.upgrade() else {
                return;
            };
            let (addresses, timeout) = {
                let mut locked = lock_state(&core.state);
                match locked.subchannel(key) {
                    Some(s) if s.connect_loop == generation => {
                        (s.addresses.clone(), s.backoff.connect_timeout())
                    }
                    _ => return,
                }
            };
            let connector = core.connector.clone();
            drop(core);
            let attempted = Self::attempt(&channel, &connector, addresses, timeout, &runtime).await;
            let last_error = match attempted {
                Attempted::Connected(id, address, connection) => {
                    if let Some(core) = channel.upgrade() {
                        core.on_connected(key, generation, id, address, connection);
                    }
                    return;
                }
                Attempted::Failed(status) => status,
                Attempted::Dropped => return,
            };
            let Some(core) = channel.upgrade() else {
                return;
            };
            let Some(delay) = core.on_connect_failed(key, generation, last_error) else {
                return;
            };
            drop(core);
            tokio::time::sleep(delay).await;
            let Some(core) = channel.upgrade() else {
                return;
            };
            if !core.begin_retry(key, generation) {
                return;
            }
        }
    }

    /// One attempt over `addresses`, in order, Happy Eyeballs style (gRFC
    /// A61, RFC 8305): the next address is tried when the one before it
    /// fails, or after [`HAPPY_EYEBALLS_DELAY`] without an answer, while it
    /// goes on; the first to connect wins and the others are dropped.
    async fn attempt(
        channel: &Weak<Self>,
        connector: &Arc<K>,
        addresses: Vec<Address>,
        timeout: Duration,
        runtime: &tokio::runtime::Handle,
    ) -> Attempted<K::Connection> {
        let mut attempts = JoinSet::new();
        let mut next = addresses.into_iter();
        let mut last_error = None;
        loop {
            if let Some(address) = next.next() {
                let Some(core) = channel.upgrade() else {
                    return Attempted::Dropped;
                };
                let id = lock_state(&core.state).next_id();
                drop(core);
                let link = ChannelLink::new(channel.clone(), id);
                let (connector, task_runtime) = (connector.clone(), runtime.clone());
                attempts.spawn_on(
                    async move {
                        let result = connector
                            .connect(&address, timeout, &task_runtime, link)
                            .await;
                        (id, address, result)
                    },
                    runtime,
                );
            }
            let joined = if next.len() > 0 {
                match tokio::time::timeout(HAPPY_EYEBALLS_DELAY, attempts.join_next()).await {
                    Ok(joined) => joined,
                    // No answer yet: the next address starts too.
                    Err(_) => continue,
                }
            } else {
                attempts.join_next().await
            };
            match joined {
                Some(Ok((id, address, Ok(connection)))) => {
                    return Attempted::Connected(id, address, connection);
                }
                Some(Ok((_, _, Err(status)))) => last_error = Some(status),
                Some(Err(error)) => {
                    last_error = Some(Status::internal(format!(
                        "a connection attempt ended abnormally: {error}"
                    )));
                }
                None if next.len() == 0 => {
                    return Attempted::Failed(
                        last_error.unwrap_or_else(|| {
                            Status::unavailable("the subchannel has no address")
                        }),
                    );
                }
                None => {}
            }
        }
    }

    /// CONNECTING → READY: subchannel `key` connected to `address`; the
    /// pending calls are picked again. A subchannel (or channel) that moved
    /// on meanwhile drops the connection instead.
    fn on_connected(
        self: &Arc<Self>,
        key: u64,
        generation: u64,
        id: u64,
        address: Address,
        connection: K::Connection,
    ) {
        let mut locked = lock_state(&self.state);
        let extra = self.limits.min.saturating_sub(1);
        let Some(subchannel) = locked.subchannel(key) else {
            locked.dropped.connections.push(connection);
            return;
        };
        if subchannel.connect_loop != generation
            || !matches!(subchannel.state, SubState::Connecting { .. })
        {
            locked.dropped.connections.push(connection);
            return;
        }
        subchannel.state = SubState::Ready {
            address,
            connections: vec![Conn {
                id,
                connection,
                extra: false,
                idle_checks: 0,
            }],
        };
        subchannel.backoff.reset();
        locked.last_failure = None;
        for _ in 0..extra {
            self.grow(&mut locked, key);
        }
        let reprocessed = self.reprocess(&mut locked);
        drop(locked);
        reprocessed.run();
    }

    /// CONNECTING → TRANSIENT_FAILURE for subchannel `key`: the pending
    /// calls are picked again (fail-fast ones with nowhere else to go
    /// fail). The backoff to wait, or `None` if the loop should stop.
    fn on_connect_failed(
        self: &Arc<Self>,
        key: u64,
        generation: u64,
        status: Status,
    ) -> Option<Duration> {
        let mut locked = lock_state(&self.state);
        let subchannel = locked.subchannel(key)?;
        if subchannel.connect_loop != generation
            || !matches!(subchannel.state, SubState::Connecting { .. })
        {
            return None;
        }
        subchannel.state = SubState::TransientFailure {
            error: status.clone(),
        };
        let delay = subchannel.backoff.next_delay();
        locked.last_failure = Some(status.clone());
        tracing::debug!(%status, ?delay, "connection attempt failed; backing off");
        let reprocessed = self.reprocess(&mut locked);
        drop(locked);
        reprocessed.run();
        Some(delay)
    }

    /// TRANSIENT_FAILURE → CONNECTING (still reported as
    /// TRANSIENT_FAILURE): the backoff elapsed. Whether to try again.
    fn begin_retry(&self, key: u64, generation: u64) -> bool {
        let mut locked = lock_state(&self.state);
        if locked.mode != Mode::Active {
            return false;
        }
        let Some(subchannel) = locked.subchannel(key) else {
            return false;
        };
        if subchannel.connect_loop != generation {
            return false;
        }
        match std::mem::replace(&mut subchannel.state, SubState::Idle) {
            SubState::TransientFailure { error } => {
                subchannel.state = SubState::Connecting {
                    after_failure: Some(error),
                };
                true
            }
            other => {
                subchannel.state = other;
                false
            }
        }
    }

    /// Opens one more connection for READY subchannel `key` (lock held),
    /// to the address it reached.
    pub(crate) fn grow(self: &Arc<Self>, locked: &mut Locked<K::Connection>, key: u64) {
        let Ok(runtime) = self.runtime() else {
            return;
        };
        let id = locked.next_id();
        let Some(subchannel) = locked.subchannel(key) else {
            return;
        };
        let SubState::Ready { address, .. } = &subchannel.state else {
            return;
        };
        let address = address.clone();
        let timeout = subchannel.backoff.connect_timeout();
        subchannel.growing += 1;
        let channel = Arc::downgrade(self);
        let connector = self.connector.clone();
        let link = ChannelLink::new(channel.clone(), id);
        let task_runtime = runtime.clone();
        runtime.spawn(async move {
            let result = connector
                .connect(&address, timeout, &task_runtime, link)
                .await;
            if let Some(core) = channel.upgrade() {
                core.on_grown(key, id, &address, result);
            }
        });
    }

    /// An extra connection attempt of subchannel `key` ended: the
    /// connection joins it (if it is still READY on that address), and the
    /// pending calls are picked again.
    fn on_grown(
        self: &Arc<Self>,
        key: u64,
        id: u64,
        to: &Address,
        result: Result<K::Connection, Status>,
    ) {
        let mut locked = lock_state(&self.state);
        let min = self.limits.min;
        let start_trim = {
            let Locked {
                subchannels,
                dropped,
                ..
            } = &mut *locked;
            let Some(subchannel) = subchannels.iter_mut().find(|s| s.key == key) else {
                if let Ok(connection) = result {
                    dropped.connections.push(connection);
                }
                return;
            };
            subchannel.growing = subchannel.growing.saturating_sub(1);
            match (result, &mut subchannel.state) {
                (
                    Ok(connection),
                    SubState::Ready {
                        address,
                        connections,
                    },
                ) if address == to => {
                    let extra = connections.len() >= min;
                    connections.push(Conn {
                        id,
                        connection,
                        extra,
                        idle_checks: 0,
                    });
                    extra
                }
                (Ok(connection), _) => {
                    dropped.connections.push(connection);
                    false
                }
                (Err(status), _) => {
                    tracing::debug!(%status, "an extra connection failed; sharing the ones open");
                    subchannel.growth_failed = true;
                    false
                }
            }
        };
        if start_trim
            && !locked.trim_running
            && let Ok(runtime) = self.runtime()
        {
            locked.trim_running = true;
            runtime.spawn(Self::trim_extra_connections(Arc::downgrade(self)));
        }
        let reprocessed = self.reprocess(&mut locked);
        drop(locked);
        reprocessed.run();
    }
}
