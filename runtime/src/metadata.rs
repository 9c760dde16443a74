//! Custom metadata: the user-visible headers and trailers of a call.
//!
//! Layer: plain data, at the bottom of the runtime; it imports nothing from the
//! rest of the crate. It owns [`Metadata`], the ordered multimap of custom
//! metadata a caller attaches to a call or receives in its headers and
//! trailers, [`MetadataError`], the reason an entry was refused, and the
//! rules an entry must keep (which keys are reserved, which characters a key
//! and an ASCII value may hold, and the base64 alphabet of `-bin` values).
//!
//! Invariants every [`Metadata`] keeps, however it was built:
//!
//! - keys are lowercase, non-empty, and made only of `0-9 a-z _ - .`
//!   (gRPC's `Header-Name`);
//! - no key is reserved: nothing starting with `:` or `grpc-`, and none of the
//!   HTTP/2 headers the transport writes itself (`content-type`, `te`, `host`,
//!   connection-level headers);
//! - a key ending in `-bin` holds only binary values, any other key holds only
//!   ASCII values made of printable characters (`0x20..=0x7E`);
//! - entries keep their insertion order, and values of one key keep theirs.
//!
//! It does not touch HTTP headers: writing metadata into a request's headers
//! and reading it out of a response's headers and trailers (gRPC's
//! `Custom-Metadata` rules of PROTOCOL-HTTP2: base64 `-bin` values, reserved
//! headers skipped, bad entries dropped with a debug event) live in `wire`,
//! through the two `append_checked_*` methods below.

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;

/// Suffix that marks a key whose values are binary.
pub(crate) const BINARY_SUFFIX: &str = "-bin";

/// Base64 as gRPC uses it for `-bin` values: standard alphabet, written
/// without padding, read with or without it.
pub(crate) const BASE64_BIN: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Headers that HTTP/2 or the gRPC transport own, which custom metadata may
/// neither set nor report. Keys starting with `grpc-` or `:` are reserved too.
const RESERVED_KEYS: &[&str] = &[
    "content-type",
    "te",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
];

/// One stored value.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Value {
    Ascii(String),
    Binary(Bytes),
}

impl Value {
    fn as_view(&self) -> MetadataValue<'_> {
        match self {
            Value::Ascii(s) => MetadataValue::Ascii(s),
            Value::Binary(b) => MetadataValue::Binary(b),
        }
    }
}

/// Custom metadata of a call: an ordered multimap of lowercase keys to ASCII
/// values, or to binary values for keys ending in `-bin`.
///
/// Keys given in upper or mixed case are stored lowercased, and look-ups
/// ignore ASCII case. Reserved keys (`grpc-*`, pseudo headers, `content-type`,
/// `te` and connection-level headers) are refused with
/// [`MetadataError::ReservedKey`]; `user-agent` is allowed.
///
/// ```
/// # use switchboard::Metadata;
/// let mut md = Metadata::new();
/// md.insert("x-request-id", "42")?;
/// md.append_bin("trace-bin", vec![0u8, 1, 2])?;
/// assert_eq!(md.get("X-Request-Id"), Some("42"));
/// # Ok::<(), switchboard::MetadataError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
}

/// A borrowed metadata value, as returned by [`Metadata::iter`] and
/// [`Metadata::get_all`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MetadataValue<'a> {
    /// The value of an ASCII key: printable ASCII only.
    Ascii(&'a str),
    /// The value of a key ending in `-bin`: arbitrary bytes.
    Binary(&'a [u8]),
}

impl<'a> MetadataValue<'a> {
    /// The value as text, if it is an ASCII value.
    pub fn as_ascii(self) -> Option<&'a str> {
        match self {
            MetadataValue::Ascii(s) => Some(s),
            MetadataValue::Binary(_) => None,
        }
    }

    /// The value as bytes: the raw bytes of a binary value, or the text of an
    /// ASCII value.
    pub fn as_bytes(self) -> &'a [u8] {
        match self {
            MetadataValue::Ascii(s) => s.as_bytes(),
            MetadataValue::Binary(b) => b,
        }
    }
}

impl Metadata {
    /// An empty set of metadata.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Sets `key` to the single ASCII `value`, removing every value it had.
    ///
    /// Fails if the key is invalid or reserved, ends in `-bin`, or the value
    /// holds a character outside printable ASCII (`0x20..=0x7E`).
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let (key, value) = check_ascii_entry(key, value)?;
        self.remove(&key);
        self.entries.push((key, value));
        Ok(())
    }

    /// Adds the ASCII `value` to `key`, after any values it already has.
    ///
    /// Fails for the same reasons as [`Metadata::insert`].
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        let (key, value) = check_ascii_entry(key, value)?;
        self.entries.push((key, value));
        Ok(())
    }

    /// Sets the binary key `key` (which must end in `-bin`) to the single
    /// `value`, removing every value it had.
    ///
    /// Fails if the key is invalid or reserved, or does not end in `-bin`.
    pub fn insert_bin(&mut self, key: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        let key = check_binary_key(key)?;
        self.remove(&key);
        self.entries.push((key, Value::Binary(value.into())));
        Ok(())
    }

    /// Adds the binary `value` to `key` (which must end in `-bin`), after any
    /// values it already has.
    ///
    /// Fails for the same reasons as [`Metadata::insert_bin`].
    pub fn append_bin(&mut self, key: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        let key = check_binary_key(key)?;
        self.entries.push((key, Value::Binary(value.into())));
        Ok(())
    }

    /// The first ASCII value of `key`, if any. Case-insensitive on the key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_all(key).find_map(MetadataValue::as_ascii)
    }

    /// The first binary value of `key`, if any. Case-insensitive on the key.
    pub fn get_bin(&self, key: &str) -> Option<&[u8]> {
        self.get_all(key).find_map(|v| match v {
            MetadataValue::Binary(b) => Some(b),
            MetadataValue::Ascii(_) => None,
        })
    }

    /// Every value of `key`, in the order they were added. Case-insensitive on
    /// the key.
    pub fn get_all<'a>(&'a self, key: &str) -> impl Iterator<Item = MetadataValue<'a>> + use<'a> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v.as_view())
    }

    /// Removes every value of `key` and returns how many were removed.
    /// Case-insensitive on the key.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        before - self.entries.len()
    }

    /// Every entry, in insertion order; a key with several values appears once
    /// per value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue<'_>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_view()))
    }

    /// The number of entries (values, not distinct keys).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends every entry of `other` after the entries of `self`. Existing
    /// values are kept: a key present in both ends up with the values of both.
    pub fn merge(&mut self, other: &Metadata) {
        self.entries.extend(other.entries.iter().cloned());
    }

    /// Adds an ASCII entry whose key and value the caller already checked
    /// (lowercase, valid, not reserved, not `-bin`; printable value): for
    /// `wire`, which reads them out of received headers.
    pub(crate) fn append_checked_ascii(&mut self, key: &str, value: &str) {
        self.entries
            .push((key.to_owned(), Value::Ascii(value.to_owned())));
    }

    /// Adds a binary entry whose key the caller already checked (lowercase,
    /// valid, not reserved, ending in `-bin`): for `wire`.
    pub(crate) fn append_checked_binary(&mut self, key: &str, value: Bytes) {
        self.entries.push((key.to_owned(), Value::Binary(value)));
    }
}

/// Whether `key` (already lowercase) is reserved for gRPC or HTTP/2.
pub(crate) fn is_reserved(key: &str) -> bool {
    key.starts_with(':') || key.starts_with("grpc-") || RESERVED_KEYS.contains(&key)
}

pub(crate) fn is_printable_ascii(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

/// What is wrong with the characters of a lowercase key, if anything.
pub(crate) fn key_problem(key: &str) -> Option<&'static str> {
    let allowed =
        |b: u8| b.is_ascii_digit() || b.is_ascii_lowercase() || matches!(b, b'_' | b'-' | b'.');
    if key.is_empty() {
        Some("it is empty")
    } else if !key.bytes().all(allowed) {
        Some("it may contain only 0-9, a-z, '_', '-' and '.'")
    } else {
        None
    }
}

/// Validates a user-supplied key and returns it lowercased.
fn check_key(key: &str) -> Result<String, MetadataError> {
    let lower = key.to_ascii_lowercase();
    if !lower.is_empty() && is_reserved(&lower) {
        return Err(MetadataError::ReservedKey {
            key: key.to_owned(),
        });
    }
    if let Some(reason) = key_problem(&lower) {
        return Err(MetadataError::InvalidKey {
            key: key.to_owned(),
            reason,
        });
    }
    Ok(lower)
}

fn check_ascii_entry(key: &str, value: &str) -> Result<(String, Value), MetadataError> {
    let lower = check_key(key)?;
    if lower.ends_with(BINARY_SUFFIX) {
        return Err(MetadataError::BinaryKeyForAsciiValue {
            key: key.to_owned(),
        });
    }
    if !is_printable_ascii(value) {
        return Err(MetadataError::InvalidValue {
            key: key.to_owned(),
            reason: "ASCII values may contain only printable characters (0x20..=0x7E)",
        });
    }
    Ok((lower, Value::Ascii(value.to_owned())))
}

fn check_binary_key(key: &str) -> Result<String, MetadataError> {
    let lower = check_key(key)?;
    if !lower.ends_with(BINARY_SUFFIX) {
        return Err(MetadataError::AsciiKeyForBinaryValue {
            key: key.to_owned(),
        });
    }
    Ok(lower)
}

/// Why a metadata entry was refused.
///
/// Every variant is a caller mistake that retrying will not fix: fix the key
/// or value, or (for the `-bin` variants) use the other family of methods.
/// The `key` fields hold the key exactly as it was passed in.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataError {
    /// The key is empty or has a character other than `0-9 a-z _ - .`.
    /// (Uppercase letters are not an error: they are lowercased.)
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key is reserved: a pseudo header (`:path`), a `grpc-` header, or
    /// one of `content-type`, `te`, `host`, `connection`, `keep-alive`,
    /// `proxy-connection`, `transfer-encoding`, `upgrade`.
    ReservedKey {
        /// The key as given.
        key: String,
    },
    /// An ASCII value holds a character outside printable ASCII
    /// (`0x20..=0x7E`). Send such data under a `-bin` key instead.
    InvalidValue {
        /// The key the value was for.
        key: String,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// [`Metadata::insert`] or [`Metadata::append`] was given a key ending in
    /// `-bin`; binary keys take bytes through `insert_bin` / `append_bin`.
    BinaryKeyForAsciiValue {
        /// The key as given.
        key: String,
    },
    /// [`Metadata::insert_bin`] or [`Metadata::append_bin`] was given a key
    /// that does not end in `-bin`.
    AsciiKeyForBinaryValue {
        /// The key as given.
        key: String,
    },
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::InvalidKey { key, reason } => {
                write!(f, "metadata key {key:?} is invalid: {reason}")
            }
            MetadataError::ReservedKey { key } => {
                write!(f, "metadata key {key:?} is reserved by gRPC or HTTP/2")
            }
            MetadataError::InvalidValue { key, reason } => {
                write!(f, "value for metadata key {key:?} is invalid: {reason}")
            }
            MetadataError::BinaryKeyForAsciiValue { key } => write!(
                f,
                "metadata key {key:?} ends in \"-bin\" and takes a binary value; use insert_bin or append_bin"
            ),
            MetadataError::AsciiKeyForBinaryValue { key } => write!(
                f,
                "metadata key {key:?} does not end in \"-bin\" and cannot take a binary value"
            ),
        }
    }
}

impl std::error::Error for MetadataError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T, MetadataError>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    #[test]
    fn insert_replaces_and_append_keeps_order() {
        let mut md = Metadata::new();
        ok(md.append("x-a", "1"));
        ok(md.append("x-b", "b"));
        ok(md.append("X-A", "2"));
        let all: Vec<_> = md.get_all("x-a").collect();
        assert_eq!(
            all,
            vec![MetadataValue::Ascii("1"), MetadataValue::Ascii("2")]
        );
        assert_eq!(md.len(), 3);

        ok(md.insert("x-a", "3"));
        assert_eq!(md.get_all("x-a").count(), 1);
        assert_eq!(md.get("x-a"), Some("3"));
        assert_eq!(md.get("X-B"), Some("b"));
        let keys: Vec<_> = md.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["x-b", "x-a"]);
    }

    #[test]
    fn uppercase_keys_are_lowercased() {
        let mut md = Metadata::new();
        ok(md.insert("X-Request-ID", "7"));
        assert_eq!(
            md.iter().next(),
            Some(("x-request-id", MetadataValue::Ascii("7")))
        );
    }

    #[test]
    fn binary_values_are_separate_from_ascii() {
        let mut md = Metadata::new();
        ok(md.insert_bin("trace-bin", vec![0u8, 159, 255]));
        assert_eq!(md.get_bin("trace-bin"), Some(&[0u8, 159, 255][..]));
        assert_eq!(md.get("trace-bin"), None);
        ok(md.append_bin("trace-bin", Bytes::from_static(b"x")));
        assert_eq!(md.get_all("trace-bin").count(), 2);
    }

    #[test]
    fn remove_counts_and_empties() {
        let mut md = Metadata::new();
        ok(md.append("k", "1"));
        ok(md.append("k", "2"));
        ok(md.append("other", "3"));
        assert_eq!(md.remove("K"), 2);
        assert_eq!(md.remove("k"), 0);
        assert_eq!(md.len(), 1);
        assert_eq!(md.remove("other"), 1);
        assert!(md.is_empty());
    }

    #[test]
    fn merge_appends_both_sides() {
        let mut a = Metadata::new();
        ok(a.insert("k", "a"));
        let mut b = Metadata::new();
        ok(b.insert("k", "b"));
        ok(b.insert_bin("z-bin", vec![1u8]));
        a.merge(&b);
        let all: Vec<_> = a.get_all("k").collect();
        assert_eq!(
            all,
            vec![MetadataValue::Ascii("a"), MetadataValue::Ascii("b")]
        );
        assert_eq!(a.get_bin("z-bin"), Some(&[1u8][..]));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn reserved_keys_are_refused() {
        let mut md = Metadata::new();
        for key in [
            "grpc-foo",
            "GRPC-Status",
            ":path",
            "content-type",
            "te",
            "host",
            "connection",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
            "upgrade",
        ] {
            assert_eq!(
                md.insert(key, "v"),
                Err(MetadataError::ReservedKey {
                    key: key.to_owned()
                }),
                "{key}"
            );
        }
        assert_eq!(
            md.insert_bin("grpc-status-details-bin", vec![1u8]),
            Err(MetadataError::ReservedKey {
                key: "grpc-status-details-bin".to_owned()
            })
        );
        assert!(md.is_empty());
        // user-agent is deliberately allowed.
        ok(md.insert("user-agent", "me/1.0"));
        let msg = MetadataError::ReservedKey {
            key: "grpc-foo".into(),
        }
        .to_string();
        assert!(
            msg.contains("\"grpc-foo\"") && msg.contains("reserved"),
            "{msg}"
        );
    }

    #[test]
    fn invalid_keys_and_values_are_refused() {
        let mut md = Metadata::new();
        assert!(matches!(
            md.insert("", "v"),
            Err(MetadataError::InvalidKey { .. })
        ));
        assert!(matches!(
            md.insert("has space", "v"),
            Err(MetadataError::InvalidKey { key, .. }) if key == "has space"
        ));
        assert!(matches!(
            md.insert("caf\u{e9}", "v"),
            Err(MetadataError::InvalidKey { .. })
        ));
        assert!(matches!(
            md.insert("a/b", "v"),
            Err(MetadataError::InvalidKey { .. })
        ));
        assert!(matches!(
            md.insert("k", "line\nbreak"),
            Err(MetadataError::InvalidValue { key, .. }) if key == "k"
        ));
        assert!(matches!(
            md.insert("k", "caf\u{e9}"),
            Err(MetadataError::InvalidValue { .. })
        ));
        assert_eq!(
            md.insert("blob-bin", "text"),
            Err(MetadataError::BinaryKeyForAsciiValue {
                key: "blob-bin".into()
            })
        );
        assert_eq!(
            md.append_bin("blob", vec![1u8]),
            Err(MetadataError::AsciiKeyForBinaryValue { key: "blob".into() })
        );
        assert!(md.is_empty());
        // Allowed punctuation and an empty value.
        ok(md.insert("a_b.c-d0", ""));
    }
}
