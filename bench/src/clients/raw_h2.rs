//! The raw h2 floor: hand-framed gRPC on h2 connections driven by a
//! current-thread tokio runtime on the calling thread. No codec, stub or
//! executor layers and no thread hops: the caller's `block_on` polls the
//! connection task and the calls alike.
//!
//! Each request's bytes (the 5-byte gRPC prefix and the encoded message) are
//! built once up front and shared by every call (`Bytes` clones). A call
//! sends HEADERS and one DATA frame with END_STREAM, then reads the response
//! HEADERS, its DATA (counting gRPC messages by their 5-byte prefixes, never
//! decoding them; capacity released as read) and the trailers, and checks
//! `grpc-status: 0`.
//!
//! - unary latency: one call at a time; 64 in flight: 64 futures (streams on
//!   one connection) joined on the runtime; multi-connection with N
//!   connections: the same over N connections of their own, worker `i` on
//!   connection `i mod N` (round robin);
//! - 10,000 pending: 10,000 such futures, each with a `grpc-timeout`,
//!   polled together on the runtime.
//!
//! HTTP/2 windows as switchboard's defaults: 1 MiB per stream, 4 MiB per
//! connection; `TCP_NODELAY` as every client here.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::poll_fn;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use futures::future::join_all;
use h2::client::SendRequest;
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderMap, HeaderValue, Method, Uri};
use prost::Message;
use switchboard_tests::{ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

use super::switchboard::check_count;
use super::{
    Batch, Client, Hold, Load, Mark, Multi, RAW_H2, Result, batch, held_deadline, held_request,
    paced, request, stream_request,
};

/// Per-stream HTTP/2 receive window (switchboard's default).
const STREAM_WINDOW: u32 = 1 << 20;
/// Per-connection HTTP/2 receive window (switchboard's default).
const CONNECTION_WINDOW: u32 = 4 << 20;

/// The floor's state, shared by its scenario closures on the calling thread.
struct Raw {
    runtime: Runtime,
    /// `host:port` of the server.
    address: String,
    unary_uri: Uri,
    stream_uri: Uri,
    /// The framed unary request, encoded once.
    unary_body: Bytes,
    /// The one connection of every single-connection scenario.
    first: SendRequest<Bytes>,
    /// The connections of the multi-connection runs, by their number,
    /// opened on the first run with that number.
    pools: RefCell<BTreeMap<usize, Vec<SendRequest<Bytes>>>>,
}

/// The raw h2 floor, connected to `url` (`http://host:port`).
pub fn client(url: &str) -> Result<Client> {
    let address = address(url)?.to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let first = runtime.block_on(connect(&address))?;
    let raw = Rc::new(Raw {
        runtime,
        unary_uri: format!("{url}{ECHO_UNARY_PATH}").parse()?,
        stream_uri: format!("{url}{ECHO_SERVER_STREAM_PATH}").parse()?,
        address,
        unary_body: frame(&request()),
        first,
        pools: RefCell::default(),
    });
    let (r1, r2, r3, r4, r5) = (raw.clone(), raw.clone(), raw.clone(), raw.clone(), raw);
    Ok(Client {
        name: RAW_H2,
        unary: Box::new(move |n, each| {
            let mut send = r1.first.clone();
            r1.runtime.block_on(async {
                for _ in 0..n {
                    let start = Instant::now();
                    r1.unary(&mut send, &r1.unary_body, None).await?;
                    each(start.elapsed());
                }
                Ok(())
            })
        }),
        throughput: Box::new(move |load| r2.throughput(load, std::slice::from_ref(&r2.first))),
        multi: Multi {
            setting: |n| format!("{n} h2 connections, worker i on connection i mod {n}"),
            run: Box::new(move |n, load| {
                let pool = r3.pool(n)?;
                r3.throughput(load, &pool)
            }),
        },
        server_stream: Box::new(move |n| r4.server_stream(n)),
        pending: Box::new(move |hold| r5.pending(hold)),
    })
}

/// The `SETTINGS_MAX_CONCURRENT_STREAMS` the server at `url` announces,
/// `None` for none (no limit): read from a connection of its own after one
/// unary call, by when the server's SETTINGS have been applied.
pub fn announced_max_concurrent_streams(url: &str) -> Result<Option<usize>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut send = connect(address(url)?).await?;
        let uri = format!("{url}{ECHO_UNARY_PATH}").parse()?;
        Raw::call(&mut send, &uri, &frame(&request()), None).await?;
        Ok(Some(send.current_max_send_streams()).filter(|&n| n != usize::MAX))
    })
}

/// `host:port` of a plain `http://host:port` URL.
fn address(url: &str) -> Result<&str> {
    Ok(url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: the raw h2 floor speaks plain http:// only"))?
        .trim_end_matches('/'))
}

/// Opens one h2 connection to `address` and spawns its driver on the
/// current runtime.
async fn connect(address: &str) -> Result<SendRequest<Bytes>> {
    let tcp = TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .enable_push(false)
        .handshake::<_, Bytes>(tcp)
        .await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("raw h2 connection ended: {error}");
        }
    });
    Ok(send)
}

/// `message` with its 5-byte gRPC prefix (uncompressed).
fn frame(message: &impl Message) -> Bytes {
    let len = message.encoded_len();
    let mut buf = Vec::with_capacity(5 + len);
    buf.push(0);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    message.encode_raw(&mut buf);
    Bytes::from(buf)
}

impl Raw {
    /// Handles to the pool of `n` connections, opened if it is new.
    fn pool(&self, n: usize) -> Result<Vec<SendRequest<Bytes>>> {
        if let Some(pool) = self.pools.borrow().get(&n) {
            return Ok(pool.clone());
        }
        let pool = self.runtime.block_on(async {
            let mut pool = Vec::with_capacity(n);
            for _ in 0..n {
                pool.push(connect(&self.address).await?);
            }
            Result::Ok(pool)
        })?;
        self.pools.borrow_mut().insert(n, pool.clone());
        Ok(pool)
    }

    /// One call: sends `body` (a framed request) to `uri`'s method and reads
    /// the response to its trailers; the number of response messages.
    async fn call(
        send: &mut SendRequest<Bytes>,
        uri: &Uri,
        body: &Bytes,
        timeout: Option<&HeaderValue>,
    ) -> Result<u64> {
        poll_fn(|cx| send.poll_ready(cx)).await?;
        let mut request = http::Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        if let Some(timeout) = timeout {
            headers.insert("grpc-timeout", timeout.clone());
        }
        let (response, mut stream) = send.send_request(request, false)?;
        stream.send_data(body.clone(), true)?;
        let (head, mut body) = response.await?.into_parts();
        if head.status != http::StatusCode::OK {
            return Err(format!("HTTP status {}", head.status).into());
        }
        if head.headers.contains_key("grpc-status") {
            // Trailers-only: no messages.
            check_status(&head.headers)?;
            return Ok(0);
        }
        let mut counter = FrameCounter::default();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            counter.feed(&chunk);
            body.flow_control().release_capacity(chunk.len())?;
        }
        let trailers = body
            .trailers()
            .await?
            .ok_or("response ended without trailers")?;
        check_status(&trailers)?;
        Ok(counter.messages)
    }

    /// One unary call on `send`.
    async fn unary(
        &self,
        send: &mut SendRequest<Bytes>,
        body: &Bytes,
        timeout: Option<&HeaderValue>,
    ) -> Result<()> {
        match Self::call(send, &self.unary_uri, body, timeout).await? {
            1 => Ok(()),
            n => Err(format!("unary call returned {n} messages").into()),
        }
    }

    /// `load.in_flight` futures joined on the runtime, spread round robin
    /// over `connections`, each looping unary calls.
    fn throughput(&self, load: Load, connections: &[SendRequest<Bytes>]) -> Result<Batch> {
        let workers = (0..load.in_flight).map(|i| {
            let mut send = connections[i % connections.len()].clone();
            async move {
                let mut latencies = Vec::with_capacity(load.calls_each);
                for _ in 0..load.calls_each {
                    let start = Instant::now();
                    self.unary(&mut send, &self.unary_body, None).await?;
                    latencies.push(start.elapsed());
                }
                Ok(latencies)
            }
        });
        self.runtime.block_on(async {
            let start = Mark::now();
            batch(start, join_all(workers).await)
        })
    }

    /// One server stream of `n` 100-byte messages; messages per second.
    fn server_stream(&self, n: u32) -> Result<f64> {
        let mut send = self.first.clone();
        let body = frame(&stream_request(n));
        self.runtime.block_on(async {
            let start = Instant::now();
            let count = Self::call(&mut send, &self.stream_uri, &body, None).await?;
            check_count(u32::try_from(count)?, n)?;
            Ok(f64::from(n) / start.elapsed().as_secs_f64())
        })
    }

    /// The held unary calls of `hold`, polled by the caller on the runtime.
    fn pending(&self, hold: &Hold) -> Result<()> {
        let body = frame(&held_request(hold.sleep_ms));
        let timeout = format!("{}m", held_deadline(hold.sleep_ms).as_millis());
        let timeout = HeaderValue::from_str(&timeout)?;
        let send = self.first.clone();
        self.runtime.block_on(paced(hold, || {
            let mut send = send.clone();
            let (body, timeout) = (&body, &timeout);
            async move { self.unary(&mut send, body, Some(timeout)).await }
        }))
    }
}

/// Fails unless `headers` hold `grpc-status: 0`.
fn check_status(headers: &HeaderMap) -> Result<()> {
    match headers.get("grpc-status").map(HeaderValue::as_bytes) {
        Some(b"0") => Ok(()),
        Some(code) => Err(format!(
            "grpc-status {} ({:?})",
            String::from_utf8_lossy(code),
            headers.get("grpc-message")
        )
        .into()),
        None => Err("no grpc-status".into()),
    }
}

/// Counts length-prefixed gRPC messages in a byte stream that arrives in
/// arbitrary chunks, without decoding them.
#[derive(Debug, Default)]
struct FrameCounter {
    /// The prefix being read, and how many of its 5 bytes arrived.
    prefix: [u8; 5],
    have: usize,
    /// Bytes of the current message's body still to come.
    body_left: usize,
    /// Complete messages seen.
    messages: u64,
}

impl FrameCounter {
    /// Consumes one chunk.
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                self.body_left -= n;
                data = &data[n..];
                if self.body_left == 0 {
                    self.messages += 1;
                }
                continue;
            }
            let n = (5 - self.have).min(data.len());
            self.prefix[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == 5 {
                self.have = 0;
                let len = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]);
                match len {
                    0 => self.messages += 1,
                    len => self.body_left = len as usize,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FrameCounter;

    fn framed(lens: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for &len in lens {
            out.push(0);
            out.extend_from_slice(&(len as u32).to_be_bytes());
            out.extend(std::iter::repeat_n(0xAB, len));
        }
        out
    }

    #[test]
    fn counts_messages_split_anywhere() {
        let bytes = framed(&[100, 0, 3, 70_000]);
        for chunk in [1, 2, 5, 7, 64, 1000, bytes.len()] {
            let mut counter = FrameCounter::default();
            for piece in bytes.chunks(chunk) {
                counter.feed(piece);
            }
            assert_eq!(counter.messages, 4, "chunk size {chunk}");
            assert_eq!((counter.have, counter.body_left), (0, 0));
        }
    }

    #[test]
    fn an_unfinished_message_is_not_counted() {
        let mut bytes = framed(&[10, 10]);
        bytes.pop();
        let mut counter = FrameCounter::default();
        counter.feed(&bytes);
        assert_eq!(counter.messages, 1);
    }
}
