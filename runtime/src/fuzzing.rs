//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! corpus in `runtime/tests/fuzz_corpus.rs`. Not API: hidden from the docs,
//! and free to change with the parsers it drives.
//!
//! It owns one function per target. Each takes arbitrary bytes, turns them
//! into the input of one wire parser (the message deframer, gzip
//! decompression, `grpc-timeout`, `grpc-message`, received metadata, and a
//! status read from trailers), and checks cheap invariants of the result with
//! `assert!`. A panic out of one of these functions is a bug: in the parser
//! when it comes from the parser, in this module when an assertion is wrong.
//! It changes nothing in the runtime and is never called by it.

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::codec::{Deframer, PREFIX_LEN};
use crate::compression::Encoding;
use crate::deadline::{Deadline, encode_grpc_timeout, parse_grpc_timeout};
use crate::metadata::{BASE64_BIN, Metadata, MetadataValue};
use crate::status::{Code, Status, decode_grpc_message, encode_grpc_message};

/// Message limits a deframer or a decompression is tried with: tiny ones,
/// the prefix length, the default (4 MiB) and "unlimited".
const LIMITS: [usize; 10] = [
    0,
    1,
    PREFIX_LEN - 1,
    PREFIX_LEN,
    16,
    255,
    4096,
    1 << 16,
    4 << 20,
    usize::MAX,
];

/// At most this many chunk lengths are read from the input; the rest of it is
/// pushed as one last chunk.
const MAX_CHUNKS: u8 = 8;

/// Bodies up to this size are compressed again to check the round trip.
const ROUND_TRIP_LIMIT: usize = 1 << 16;

/// Reads control bytes off the front of the input; past its end every byte
/// reads as zero.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    fn limit(&mut self) -> usize {
        LIMITS[usize::from(self.byte()) % LIMITS.len()]
    }

    /// The chunks the rest of the input is pushed in: up to [`MAX_CHUNKS`]
    /// lengths (one byte each, zero allowed: an empty DATA frame), then
    /// whatever is left as the last chunk, always pushed.
    fn chunks(mut self) -> Vec<&'a [u8]> {
        let count = self.byte() % (MAX_CHUNKS + 1);
        let mut lens = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            lens.push(usize::from(self.byte()));
        }
        let mut payload = self.rest;
        let mut chunks = Vec::with_capacity(lens.len() + 1);
        for len in lens {
            let (chunk, rest) = payload.split_at(len.min(payload.len()));
            chunks.push(chunk);
            payload = rest;
        }
        chunks.push(payload);
        chunks
    }
}

/// What the deframer must produce from the concatenated payload, whatever
/// the chunking: the messages (body and compressed flag), then maybe an
/// error code, and whether it ends idle.
struct Expected<'a> {
    messages: Vec<(&'a [u8], bool)>,
    error: Option<Code>,
    idle: bool,
}

/// A straight-line model of the gRPC framing over the whole payload.
fn expected_frames(payload: &[u8], max_len: usize, can_decompress: bool) -> Expected<'_> {
    let mut messages = Vec::new();
    let mut rest = payload;
    loop {
        if rest.len() < PREFIX_LEN {
            return Expected {
                messages,
                error: None,
                idle: rest.is_empty(),
            };
        }
        let compressed = rest[0] & 1 == 1;
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if len > max_len {
            return Expected {
                messages,
                error: Some(Code::ResourceExhausted),
                idle: false,
            };
        }
        let Some(body) = rest.get(PREFIX_LEN..PREFIX_LEN + len) else {
            return Expected {
                messages,
                error: None,
                idle: false,
            };
        };
        if compressed && !can_decompress {
            return Expected {
                messages,
                error: Some(Code::Internal),
                idle: false,
            };
        }
        messages.push((body, compressed));
        rest = &rest[PREFIX_LEN + len..];
    }
}

/// The gRPC message deframer without compression.
///
/// Input: a limit selector, an encoding selector (none negotiated, or a
/// `grpc-encoding` the client refused), a chunk count and chunk lengths,
/// then the stream payload. Checks that every message is within the limit
/// and that the messages, the error and the final idleness are the same as
/// those of a model that reads the payload in one piece, whatever the chunk
/// boundaries.
pub fn deframe(data: &[u8]) {
    let mut input = Input { rest: data };
    let max_len = input.limit();
    let encoding = if input.byte() & 1 == 0 {
        Ok(None)
    } else {
        Err(Status::unimplemented("compression \"br\" is not supported"))
    };
    run_deframer(input, max_len, encoding, None);
}

/// The gRPC message deframer with `grpc-encoding: gzip`, and decompression of
/// each message through `Frame::into_body`.
///
/// Input: a limit selector for the deframer, one for decompression, chunk
/// lengths as for [`deframe`], then the payload. Besides the checks of
/// [`deframe`]: a decompressed body is never over its limit, a failure is
/// `INTERNAL` or `RESOURCE_EXHAUSTED`, an uncompressed body comes out as it
/// went in, and a body compressed again decompresses to itself.
pub fn deframe_gzip(data: &[u8]) {
    let mut input = Input { rest: data };
    let max_len = input.limit();
    let body_limit = input.limit();
    run_deframer(input, max_len, Ok(Some(Encoding::Gzip)), Some(body_limit));
}

fn run_deframer(
    input: Input<'_>,
    max_len: usize,
    encoding: Result<Option<Encoding>, Status>,
    body_limit: Option<usize>,
) {
    let chunks = input.chunks();
    let payload: Vec<u8> = chunks.concat();
    let can_decompress = matches!(encoding, Ok(Some(_)));
    let want = expected_frames(&payload, max_len, can_decompress);

    let mut deframer = Deframer::new(max_len, encoding);
    let mut got = Vec::new();
    let mut error = None;
    'stream: for chunk in chunks {
        deframer.push(Bytes::copy_from_slice(chunk));
        loop {
            match deframer.next_message() {
                Ok(Some(frame)) => {
                    assert!(
                        frame.data.len() <= max_len,
                        "message of {} bytes over the limit of {max_len}",
                        frame.data.len()
                    );
                    assert_eq!(frame.encoding.is_some(), got_compressed(&want, got.len()));
                    got.push(frame);
                }
                Ok(None) => break,
                Err(status) => {
                    error = Some(status);
                    break 'stream;
                }
            }
        }
    }

    assert_eq!(got.len(), want.messages.len(), "message count");
    for (frame, (body, _)) in got.iter().zip(&want.messages) {
        assert_eq!(&frame.data[..], *body, "message body");
    }
    assert_eq!(error.as_ref().map(Status::code), want.error, "{error:?}");
    if error.is_none() {
        assert_eq!(deframer.is_idle(), want.idle, "idle at the end");
    }

    if let Some(limit) = body_limit {
        for frame in got {
            check_body(frame, limit);
        }
    }
}

fn got_compressed(want: &Expected<'_>, index: usize) -> bool {
    want.messages
        .get(index)
        .is_some_and(|(_, compressed)| *compressed)
}

fn check_body(frame: crate::codec::Frame, limit: usize) {
    let compressed = frame.encoding.is_some();
    let data = frame.data.clone();
    match frame.into_body(limit) {
        Ok(body) => {
            if !compressed {
                assert_eq!(body, data, "an uncompressed body is the message");
                return;
            }
            assert!(
                body.len() <= limit,
                "decompressed {} bytes over the limit of {limit}",
                body.len()
            );
            if body.len() <= ROUND_TRIP_LIMIT {
                let mut again = Vec::new();
                if let Err(status) = Encoding::Gzip.compress(&body, &mut again) {
                    panic!("compressing a decompressed body failed: {status}");
                }
                match Encoding::Gzip.decompress(&again, limit) {
                    Ok(back) => assert_eq!(back, body, "gzip round trip"),
                    Err(status) => panic!("gzip round trip failed: {status}"),
                }
            }
        }
        Err(status) => {
            assert!(compressed, "an uncompressed body failed: {status}");
            assert!(
                matches!(status.code(), Code::Internal | Code::ResourceExhausted),
                "{status}"
            );
        }
    }
}

/// `grpc-timeout` parsing (the bytes read as UTF-8, invalid sequences
/// replaced).
///
/// Checks that an accepted value is 1 to 8 ASCII digits and a known unit and
/// gives exactly that many units; that encoding the result and parsing it
/// again never gives less time, nor more than one unit of the encoding more;
/// that encoding is stable across that round trip; and that a deadline made
/// from it does not panic.
pub fn grpc_timeout(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let timeout = match parse_grpc_timeout(&text) {
        Ok(timeout) => timeout,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            return;
        }
    };
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    assert!(
        (1..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
        "accepted {text:?}"
    );
    let amount = digits
        .bytes()
        .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0'));
    assert_eq!(timeout.as_nanos(), amount * unit_nanos(unit), "{text:?}");

    let wire = encode_grpc_timeout(timeout);
    let back = match parse_grpc_timeout(&wire) {
        Ok(back) => back,
        Err(err) => panic!("{timeout:?} encoded as {wire:?}, which does not parse: {err}"),
    };
    assert!(back >= timeout, "{text:?} -> {wire:?} -> {back:?}");
    let (_, wire_unit) = wire.split_at(wire.len().saturating_sub(1));
    if timeout.is_zero() {
        assert_eq!(wire, "1n");
    } else {
        assert!(
            back.as_nanos() - timeout.as_nanos() < unit_nanos(wire_unit),
            "{text:?} -> {wire:?} -> {back:?}"
        );
    }
    assert_eq!(encode_grpc_timeout(back), wire, "{text:?}");
    assert!(Deadline::after(timeout).remaining() <= timeout);
}

/// The length of a `grpc-timeout` unit in nanoseconds; panics on any other.
fn unit_nanos(unit: &str) -> u128 {
    let nanos: u128 = match unit {
        "n" => 1,
        "u" => 1_000,
        "m" => 1_000_000,
        "S" => 1_000_000_000,
        "M" => 60_000_000_000,
        "H" => 3_600_000_000_000,
        _ => panic!("unit {unit:?} is not a grpc-timeout unit"),
    };
    nanos
}

/// `grpc-message` decoding.
///
/// Checks that the decoded text is at most three bytes per input byte, is the
/// input itself when the input is UTF-8 without `%`, and that encoding it
/// gives a valid header value that decodes back to it.
pub fn grpc_message(data: &[u8]) {
    let message = decode_grpc_message(data);
    assert!(std::str::from_utf8(message.as_bytes()).is_ok());
    assert!(message.len() <= data.len().saturating_mul(3));
    if !data.contains(&b'%')
        && let Ok(text) = std::str::from_utf8(data)
    {
        assert_eq!(message, text);
    }
    let encoded = encode_grpc_message(&message);
    assert!(
        encoded.bytes().all(|b| (0x20..=0x7E).contains(&b)),
        "{encoded:?}"
    );
    assert!(HeaderValue::from_str(&encoded).is_ok(), "{encoded:?}");
    assert_eq!(decode_grpc_message(encoded.as_bytes()), message);
}

/// Reading received metadata out of a header map.
///
/// Input: lines (`\n`) of `name:value`; a name or value `http` refuses is
/// skipped. Checks that every entry keeps the [`Metadata`] invariants
/// (lowercase unreserved key, binary values exactly under `-bin` keys,
/// printable ASCII values), that no header gives more entries than it has
/// comma-separated parts, and that writing the metadata out and reading it
/// back gives it again.
pub fn metadata_from_headers(data: &[u8]) {
    let headers = header_map(data);
    let md = Metadata::from_headers(&headers);
    check_metadata(&md, &headers);
}

fn check_metadata(md: &Metadata, headers: &HeaderMap) {
    let most: usize = headers
        .iter()
        .map(|(_, v)| v.as_bytes().iter().filter(|&&b| b == b',').count() + 1)
        .sum();
    assert!(md.len() <= most, "{} entries from {most} parts", md.len());
    for (key, value) in md.iter() {
        assert!(!key.is_empty(), "empty key");
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"_-.".contains(&b)),
            "key {key:?}"
        );
        assert!(!key.starts_with("grpc-"), "reserved key {key:?}");
        assert!(
            !["content-type", "te", "host", "connection"].contains(&key),
            "reserved key {key:?}"
        );
        match value {
            MetadataValue::Binary(_) => assert!(key.ends_with("-bin"), "{key:?}"),
            MetadataValue::Ascii(text) => {
                assert!(!key.ends_with("-bin"), "{key:?}");
                assert!(
                    text.bytes().all(|b| (0x20..=0x7E).contains(&b)),
                    "{key:?}: {text:?}"
                );
            }
        }
    }
    let mut written = HeaderMap::new();
    md.write_to(&mut written);
    assert_eq!(&Metadata::from_headers(&written), md, "write and read back");
}

/// A header map from `name:value` lines; lines `http` refuses are skipped.
fn header_map(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => (line, &[][..]),
        };
        append(&mut headers, name, value);
    }
    headers
}

/// Appends `name: value` if `http` accepts both.
fn append(headers: &mut HeaderMap, name: &[u8], value: &[u8]) {
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
        headers.append(name, value);
    }
}

/// Reading a [`Status`] out of received trailers.
///
/// Input: a byte whose low three bits say which of `grpc-status`,
/// `grpc-message` and `grpc-status-details-bin` are present, then their
/// values on the first three lines (`\n`), then more `name:value` header
/// lines. Checks that a status comes out exactly when there is a
/// `grpc-status`, that a well-formed code is kept and anything else is
/// `UNKNOWN`, that the message and details are the decoded headers, that the
/// trailers are the metadata of the map, and that the status displays.
pub fn status_details(data: &[u8]) {
    let (mask, rest) = match data.split_first() {
        Some((&mask, rest)) => (mask, rest),
        None => (0, data),
    };
    let mut lines = rest.splitn(4, |&b| b == b'\n');
    let mut headers = HeaderMap::new();
    for (bit, name) in [
        (1, "grpc-status"),
        (2, "grpc-message"),
        (4, "grpc-status-details-bin"),
    ] {
        let value = lines.next().unwrap_or_default();
        if mask & bit != 0 {
            append(&mut headers, name.as_bytes(), value);
        }
    }
    for (name, value) in &header_map(lines.next().unwrap_or_default()) {
        headers.append(name, value.clone());
    }

    let status = Status::from_header_map(&headers);
    let Some(raw_status) = headers.get("grpc-status") else {
        assert!(status.is_none(), "a status without grpc-status");
        return;
    };
    let Some(status) = status else {
        panic!("no status from grpc-status {raw_status:?}");
    };

    // Digits, once whitespace (as `str::trim` sees it) is trimmed, are a
    // code; the number, when it fits a u64.
    let digits = std::str::from_utf8(raw_status.as_bytes())
        .map(str::trim)
        .unwrap_or_default();
    let value = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.bytes().try_fold(0u64, |acc, b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
    } else {
        None
    };
    let message = headers
        .get("grpc-message")
        .map(|v| decode_grpc_message(v.as_bytes()))
        .unwrap_or_default();
    match value {
        Some(v) if v <= 16 => {
            assert_eq!(u64::try_from(status.code().as_i32()).ok(), Some(v));
            assert_eq!(status.message(), message);
        }
        // Out of range or not a number: UNKNOWN, and the message kept, after
        // a note about the code when it is not one that fits an i32.
        Some(_) | None => {
            assert_eq!(status.code(), Code::Unknown, "grpc-status {raw_status:?}");
            assert!(status.message().ends_with(&message));
        }
    }

    let details = headers
        .get("grpc-status-details-bin")
        .and_then(|v| BASE64_BIN.decode(v.as_bytes().trim_ascii()).ok())
        .unwrap_or_default();
    assert_eq!(status.details().as_ref(), &details[..]);

    assert_eq!(status.trailers(), &Metadata::from_headers(&headers));
    check_metadata(status.trailers(), &headers);
    assert!(!status.to_string().is_empty());
    assert!(!format!("{status:?}").is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_payload_in_order() {
        let input = Input {
            rest: &[3, 2, 0, 200, b'a', b'b', b'c', b'd'],
        };
        assert_eq!(
            input.chunks(),
            vec![&b"ab"[..], &b""[..], &b"cd"[..], &b""[..]]
        );
    }

    #[test]
    fn every_target_takes_empty_and_odd_input() {
        for data in [&b""[..], b"\xff", b"\n\n\n", b"\x07\n\n\n:"] {
            deframe(data);
            deframe_gzip(data);
            grpc_timeout(data);
            grpc_message(data);
            metadata_from_headers(data);
            status_details(data);
        }
    }
}
