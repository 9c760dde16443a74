//! A TCP proxy for tests of a dead network path: it forwards bytes both
//! ways between the client and an upstream server until told to stop, and
//! then stops forwarding on the connections it has, in both directions,
//! without closing any socket: to both ends the peer is silent, as behind a
//! dead NAT or a pulled cable. Connections accepted afterwards forward
//! normally, so a reconnecting client gets through again.
//!
//! It also reads the HTTP/2 frame headers going past, without changing a
//! byte, and logs the PINGs the client sends ([`Proxy::wait_for_pings`])
//! and the GOAWAYs the server sends ([`Proxy::wait_for_goaway`]): a ping
//! log for servers that keep none (grpcio).
//!
//! Layer: test support, over tokio TCP on `127.0.0.1:0`, on its own
//! runtime (`PeerRuntime`); dropping the [`Proxy`] closes everything.

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
    /// PINGs (not ACKs) the client sent: connection index, when.
    pings: Vec<(usize, Instant)>,
    /// GOAWAYs the server sent.
    goaways: Vec<Goaway>,
}

/// A GOAWAY frame the server sent through the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goaway {
    /// Index of the connection it came on: 0 for the first.
    pub connection: usize,
    /// Its HTTP/2 error code (e.g. `0xb`, ENHANCE_YOUR_CALM).
    pub code: u32,
    /// Its debug data (e.g. `too_many_pings`).
    pub debug_data: Vec<u8>,
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
                pings: Vec::new(),
                goaways: Vec::new(),
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

    /// Waits up to `limit` until the client sent `n` PINGs (not ACKs) on
    /// connection `connection` (0 for the first), and returns when each
    /// passed the proxy; `None` if they did not come.
    pub fn wait_for_pings(
        &self,
        connection: usize,
        n: usize,
        limit: Duration,
    ) -> Option<Vec<Instant>> {
        self.wait_until(limit, |state| {
            let pings: Vec<Instant> = state
                .pings
                .iter()
                .filter(|(index, _)| *index == connection)
                .map(|(_, at)| *at)
                .collect();
            (pings.len() >= n).then_some(pings)
        })
    }

    /// Waits up to `limit` for the server's first GOAWAY; `None` if none
    /// came.
    pub fn wait_for_goaway(&self, limit: Duration) -> Option<Goaway> {
        self.wait_until(limit, |state| state.goaways.first().cloned())
    }

    fn wait_until<T>(&self, limit: Duration, check: impl Fn(&State) -> Option<T>) -> Option<T> {
        let until = Instant::now() + limit;
        let mut state = self.shared.lock();
        loop {
            if let Some(found) = check(&state) {
                return Some(found);
            }
            let left = until.checked_duration_since(Instant::now())?;
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
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
        let (stop, generation, index) = {
            let mut state = shared.lock();
            let index = state.connections;
            state.connections += 1;
            let generation = state.generation;
            state.forwarding[generation] += 2;
            (state.stop.subscribe(), generation, index)
        };
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        let up = Pump {
            stop: stop.clone(),
            generation,
            shared: shared.clone(),
            frames: Frames::new(index, true),
        };
        let down = Pump {
            stop,
            generation,
            shared: shared.clone(),
            frames: Frames::new(index, false),
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
    frames: Frames,
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
            if self.frames.scan(&buf[..n], &self.shared) {
                self.shared.changed.notify_all();
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return false;
            }
        }
    }
}

/// Follows the HTTP/2 frames of one direction of one connection and logs
/// the client's PINGs and the server's GOAWAYs.
struct Frames {
    connection: usize,
    /// Client to server: PINGs are logged (after the preface).
    upstream: bool,
    /// Bytes of the client preface still to skip.
    preface: usize,
    header: [u8; 9],
    filled: usize,
    /// Payload bytes of the current frame still to come.
    remaining: usize,
    /// The current frame's payload, for a frame that is logged.
    payload: Option<Vec<u8>>,
    /// The current frame's type and flags.
    kind: u8,
    flags: u8,
}

impl Frames {
    fn new(connection: usize, upstream: bool) -> Frames {
        Frames {
            connection,
            upstream,
            preface: if upstream { 24 } else { 0 },
            header: [0; 9],
            filled: 0,
            remaining: 0,
            payload: None,
            kind: 0,
            flags: 0,
        }
    }

    /// Scans `bytes`; whether it logged something.
    fn scan(&mut self, mut bytes: &[u8], shared: &Shared) -> bool {
        let mut logged = false;
        let skip = self.preface.min(bytes.len());
        self.preface -= skip;
        bytes = &bytes[skip..];
        while !bytes.is_empty() {
            if self.remaining == 0 && self.payload.is_none() {
                let take = (9 - self.filled).min(bytes.len());
                self.header[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
                self.filled += take;
                bytes = &bytes[take..];
                if self.filled < 9 {
                    break;
                }
                self.filled = 0;
                let h = self.header;
                self.remaining =
                    usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                self.kind = h[3];
                self.flags = h[4];
                let logged_kind = if self.upstream { 0x6 } else { 0x7 };
                if self.kind == logged_kind {
                    self.payload = Some(Vec::new());
                }
            }
            let take = self.remaining.min(bytes.len());
            if let Some(payload) = self.payload.as_mut() {
                payload.extend_from_slice(&bytes[..take]);
            }
            bytes = &bytes[take..];
            self.remaining -= take;
            if self.remaining == 0
                && let Some(payload) = self.payload.take()
            {
                logged |= self.log(&payload, shared);
            }
        }
        logged
    }

    fn log(&self, payload: &[u8], shared: &Shared) -> bool {
        let mut state = shared.lock();
        if self.upstream {
            if self.flags & 0x1 == 0 {
                state.pings.push((self.connection, Instant::now()));
                return true;
            }
            return false;
        }
        if payload.len() < 8 {
            return false;
        }
        state.goaways.push(Goaway {
            connection: self.connection,
            code: u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
            debug_data: payload[8..].to_vec(),
        });
        true
    }
}
