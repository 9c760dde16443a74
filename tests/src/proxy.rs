//! A TCP proxy for tests of a dead network path: it forwards bytes both
//! ways between the client and an upstream server until told to stop, and
//! then stops forwarding on the connections it has, in both directions,
//! without closing any socket: to both ends the peer is silent, as behind a
//! dead NAT or a pulled cable. Connections accepted afterwards forward
//! normally, so a reconnecting client gets through again.
//!
//! Layer: test support, over tokio TCP on `127.0.0.1:0`, on its own
//! runtime ([`PeerRuntime`]); dropping the [`Proxy`] closes everything.

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::peer_runtime::PeerRuntime;

/// A running proxy to one upstream address.
pub struct Proxy {
    /// Runs the listener and every pump; dropping it closes them all.
    _runtime: PeerRuntime,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What the proxy's tasks and the test thread share.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// Stops the connections accepted since the last stop.
    stop: watch::Sender<bool>,
    /// Connections accepted so far.
    connections: usize,
    /// Which `stop` new connections get (one per stop so far).
    generation: usize,
    /// Per generation: its pumps (two per connection) still forwarding.
    forwarding: Vec<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Proxy {
    /// Starts a proxy on `127.0.0.1:0` forwarding to `upstream`.
    ///
    /// # Panics
    /// If the listener cannot be bound or the runtime cannot be built.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let runtime = PeerRuntime::new("proxy", 1).expect("build the proxy's runtime");
        let listener = runtime
            .handle()
            .block_on(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind the proxy to 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of the proxy");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                stop: watch::channel(false).0,
                connections: 0,
                generation: 0,
                forwarding: vec![0],
            }),
            changed: Condvar::new(),
        });
        runtime
            .handle()
            .spawn(accept_loop(listener, upstream, shared.clone()));
        Proxy {
            _runtime: runtime,
            addr,
            shared,
        }
    }

    /// The proxy's URL, `http://127.0.0.1:PORT`, to build a channel with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many client connections the proxy accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Stops forwarding on every connection accepted so far, both ways,
    /// keeping their sockets open; returns once every one of their pumps
    /// has stopped (`false` if that took over `limit`). Bytes a pump had
    /// read before are dropped. Later connections forward normally.
    pub fn stop_forwarding(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut state = self.shared.lock();
        let _ = state.stop.send(true);
        state.stop = watch::channel(false).0;
        let stopping = state.generation;
        state.generation += 1;
        state.forwarding.push(0);
        loop {
            if state.forwarding[stopping] == 0 {
                return true;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let Ok(server) = TcpStream::connect(upstream).await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (stop, generation) = {
            let mut state = shared.lock();
            state.connections += 1;
            let generation = state.generation;
            state.forwarding[generation] += 2;
            (state.stop.subscribe(), generation)
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let up = Pump {
            stop: stop.clone(),
            generation,
            shared: shared.clone(),
        };
        let down = Pump {
            stop,
            generation,
            shared: shared.clone(),
        };
        tokio::spawn(up.run(client_read, server_write));
        tokio::spawn(down.run(server_read, client_write));
    }
}

/// One direction of one connection.
struct Pump {
    stop: watch::Receiver<bool>,
    generation: usize,
    shared: Arc<Shared>,
}

impl Pump {
    /// Forwards `from` to `to` until stopped (then holds both halves
    /// open, forwarding nothing, until the proxy is dropped) or either side
    /// closes; either way it counts itself as no longer forwarding.
    async fn run(mut self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
        let stopped = self.forward(&mut from, &mut to).await;
        {
            let mut state = self.shared.lock();
            state.forwarding[self.generation] -= 1;
        }
        self.shared.changed.notify_all();
        if stopped {
            // Silent from here on, with both sockets open.
            std::future::pending::<()>().await;
        }
    }

    /// Forwards until stopped (`true`) or a side closed (`false`).
    async fn forward(&mut self, from: &mut OwnedReadHalf, to: &mut OwnedWriteHalf) -> bool {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = tokio::select! {
                biased;
                _ = self.stop.wait_for(|stopped| *stopped) => return true,
                read = from.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => n,
                },
            };
            if *self.stop.borrow() {
                return true;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return false;
            }
        }
    }
}
