//! The raw h2 server (`--serve-raw`, a child process like the tonic one):
//! plain `h2` on a current-thread tokio runtime, so every connection and
//! every call is served by one thread, with canned bytes. Against it the
//! server's share of a call is as small as it gets, and the client's cost
//! dominates throughput.
//!
//! It answers `Echo/Unary` only: it reads the request body to its end
//! (releasing flow-control capacity, decoding nothing), then sends response
//! HEADERS, one DATA frame holding the framed response the tonic server
//! would send for the bench's request (`EchoResponse` with the request's
//! 100-byte payload, encoded once at start) and the `grpc-status: 0`
//! trailers. Every other method gets a trailers-only `UNIMPLEMENTED`; the
//! bench sends it only the throughput scenario's unary calls.
//!
//! HTTP/2 windows as the clients': 1 MiB per stream, 4 MiB per connection;
//! no `SETTINGS_MAX_CONCURRENT_STREAMS` (as the tonic server). A second
//! thread only waits for stdin to close (the parent's exit), then exits.

use std::io::Read as _;
use std::sync::Arc;

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Request, Response};
use prost::Message;
use switchboard_tests::ECHO_UNARY_PATH;
use switchboard_tests::echo::EchoResponse;
use tokio::net::{TcpListener, TcpStream};

use crate::clients::{Result, request};

/// Per-stream HTTP/2 receive window.
const STREAM_WINDOW: u32 = 1 << 20;
/// Per-connection HTTP/2 receive window.
const CONNECTION_WINDOW: u32 = 4 << 20;

/// The bytes every answer is made of, built once.
struct Canned {
    /// `content-type: application/grpc`.
    headers: HeaderMap,
    /// The framed `EchoResponse` of the bench's unary request.
    message: Bytes,
    /// `grpc-status: 0`.
    trailers: HeaderMap,
    /// A trailers-only `UNIMPLEMENTED` answer's headers.
    unimplemented: HeaderMap,
}

impl Canned {
    fn new() -> Canned {
        let content_type = HeaderValue::from_static("application/grpc");
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.clone());
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut unimplemented = headers.clone();
        unimplemented.insert("grpc-status", HeaderValue::from_static("12"));
        let response = EchoResponse {
            message: request().message,
            payload: request().payload,
            ..Default::default()
        };
        let mut message = Vec::with_capacity(5 + response.encoded_len());
        message.push(0);
        message.extend_from_slice(&(response.encoded_len() as u32).to_be_bytes());
        response.encode_raw(&mut message);
        Canned {
            headers,
            message: Bytes::from(message),
            trailers,
            unimplemented,
        }
    }
}

/// Serve mode: listen on `127.0.0.1`, print the URL, serve until stdin
/// closes.
pub fn serve() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("http://{}", listener.local_addr()?);
        // The parent holds our stdin; when it exits, this read returns.
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(0);
        });
        let canned = Arc::new(Canned::new());
        loop {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            // A connection's errors (the client going away) end only it.
            tokio::spawn(connection(tcp, canned.clone()));
        }
    })
}

/// Serves one connection: a task per call.
async fn connection(tcp: TcpStream, canned: Arc<Canned>) -> Result<()> {
    let mut connection = h2::server::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .handshake::<_, Bytes>(tcp)
        .await?;
    while let Some(accepted) = connection.accept().await {
        let (request, respond) = accepted?;
        tokio::spawn(call(request, respond, canned.clone()));
    }
    Ok(())
}

/// Answers one call (see the module docs).
async fn call(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    canned: Arc<Canned>,
) -> Result<()> {
    let unary = request.uri().path() == ECHO_UNARY_PATH;
    let mut body = request.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        body.flow_control().release_capacity(chunk.len())?;
    }
    let mut response = Response::new(());
    if !unary {
        *response.headers_mut() = canned.unimplemented.clone();
        respond.send_response(response, true)?;
        return Ok(());
    }
    *response.headers_mut() = canned.headers.clone();
    let mut stream = respond.send_response(response, false)?;
    stream.send_data(canned.message.clone(), false)?;
    stream.send_trailers(canned.trailers.clone())?;
    Ok(())
}
