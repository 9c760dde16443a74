//! A raw gRPC client over the `h2` crate: sends exactly the frames a test
//! asks for (each message compressed or not, by choice) and returns what
//! came back, split into headers, frames with their compressed flags, and
//! trailers.

use std::net::SocketAddr;

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue};
use switchboard_interop_peer::frame::{self, Frame, FrameBuffer};
use tokio::net::TcpStream;

/// One message to send: its encoded bytes and whether to gzip it.
pub struct Outgoing {
    pub compressed: bool,
    pub message: Vec<u8>,
}

impl Outgoing {
    pub fn plain(message: &impl prost::Message) -> Outgoing {
        Outgoing {
            compressed: false,
            message: message.encode_to_vec(),
        }
    }

    pub fn gzipped(message: &impl prost::Message) -> Outgoing {
        Outgoing {
            compressed: true,
            message: message.encode_to_vec(),
        }
    }
}

/// What the server sent back.
#[derive(Debug)]
pub struct RawResponse {
    pub headers: HeaderMap,
    pub frames: Vec<Frame>,
    pub trailers: Option<HeaderMap>,
}

impl RawResponse {
    /// `grpc-status`, from the trailers or (trailers-only) the headers.
    pub fn status(&self) -> i32 {
        let value = self
            .trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| self.headers.get("grpc-status"))
            .expect("a grpc-status");
        value.to_str().unwrap().parse().unwrap()
    }

    /// The compressed flag of each response message.
    pub fn flags(&self) -> Vec<bool> {
        self.frames.iter().map(|f| f.compressed).collect()
    }

    /// The response messages, decompressed and decoded.
    pub fn messages<M: prost::Message + Default>(&self) -> Vec<M> {
        self.frames
            .iter()
            .map(|f| {
                let bytes = if f.compressed {
                    frame::gunzip(&f.payload, 64 << 20).unwrap()
                } else {
                    f.payload.to_vec()
                };
                M::decode(&bytes[..]).unwrap()
            })
            .collect()
    }
}

/// Calls `path` on `addr` with `metadata`, sends `messages`, half-closes and
/// reads the whole response. The request says `grpc-encoding: gzip` and
/// `grpc-accept-encoding: gzip`; each message's flag is its own.
pub async fn call(
    addr: SocketAddr,
    path: &str,
    metadata: &[(&'static str, HeaderValue)],
    messages: &[Outgoing],
) -> RawResponse {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.unwrap();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-encoding", "gzip")
        .header("grpc-accept-encoding", "gzip");
    for (key, value) in metadata {
        request = request.header(*key, value.clone());
    }
    let (response, mut stream) = client
        .send_request(request.body(()).unwrap(), false)
        .unwrap();
    let mut body = BytesMut::new();
    for outgoing in messages {
        let payload = if outgoing.compressed {
            frame::gzip(&outgoing.message).unwrap()
        } else {
            outgoing.message.clone()
        };
        frame::encode_frame(outgoing.compressed, &payload, &mut body).unwrap();
    }
    // h2 queues what the flow-control window does not admit yet.
    stream.send_data(body.freeze(), true).unwrap();

    let (parts, mut body) = response.await.unwrap().into_parts();
    let mut buffer = FrameBuffer::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        buffer.push(&chunk);
    }
    let trailers = body.trailers().await.unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = buffer.next_frame() {
        frames.push(frame);
    }
    assert!(buffer.is_empty(), "the response ended inside a frame");
    RawResponse {
        headers: parts.headers,
        frames,
        trailers,
    }
}
