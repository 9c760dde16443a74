//! The checks the cases share, each turning a mismatch into a message that
//! names the step, what was seen and what the spec expects.
//!
//! Pure functions over messages, statuses and metadata; no I/O. Every
//! message starts with `what`, the case step it checks (for example
//! `"UnaryCall (compressed)"`), so a failure reads on its own.

use switchboard::{Code, Metadata, Status};

use crate::pb::{Payload, PayloadType};

/// A COMPRESSABLE payload of `len` zero bytes, as the spec's requests carry.
pub(crate) fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        r#type: PayloadType::Compressable.into(),
        body: vec![0; len],
    })
}

/// `Ok` if `payload` is there and its body is `expected` zero bytes.
pub(crate) fn payload(
    what: &str,
    payload: Option<&Payload>,
    expected: usize,
) -> Result<(), String> {
    let Some(payload) = payload else {
        return Err(format!(
            "{what}: the response has no payload, expected a body of {expected} zero bytes"
        ));
    };
    let len = payload.body.len();
    if len != expected {
        return Err(format!(
            "{what}: the response payload body is {len} bytes, expected {expected}"
        ));
    }
    if let Some(at) = payload.body.iter().position(|byte| *byte != 0) {
        return Err(format!(
            "{what}: byte {at} of the response payload body is {:#04x}, expected zeros",
            payload.body[at]
        ));
    }
    Ok(())
}

/// The response sizes, in order, against the `expected` ones.
pub(crate) fn payload_sizes<'a>(
    what: &str,
    payloads: impl IntoIterator<Item = Option<&'a Payload>>,
    expected: &[usize],
) -> Result<(), String> {
    let payloads: Vec<Option<&Payload>> = payloads.into_iter().collect();
    if payloads.len() != expected.len() {
        let sizes: Vec<usize> = payloads
            .iter()
            .map(|p| p.map_or(0, |p| p.body.len()))
            .collect();
        return Err(format!(
            "{what}: got {} responses (payload sizes {sizes:?}), expected exactly {} \
             (sizes {expected:?})",
            payloads.len(),
            expected.len()
        ));
    }
    for (index, (got, size)) in payloads.into_iter().zip(expected).enumerate() {
        payload(&format!("{what}, response {}", index + 1), got, *size)?;
    }
    Ok(())
}

/// The value of a call that must succeed, or a message with its status.
pub(crate) fn success<T>(what: &str, result: Result<T, Status>) -> Result<T, String> {
    result.map_err(|status| format!("{what} failed ({status}), expected it to succeed"))
}

/// The status of a call that must fail with `code`.
pub(crate) fn failure<T>(
    what: &str,
    result: Result<T, Status>,
    code: Code,
) -> Result<Status, String> {
    match result {
        Ok(_) => Err(format!("{what} succeeded, expected it to fail with {code}")),
        Err(status) if status.code() == code => Ok(status),
        Err(status) => Err(format!("{what} failed with {status}, expected {code}")),
    }
}

/// `Ok` if `status` carries exactly `expected` as its message.
pub(crate) fn message(what: &str, status: &Status, expected: &str) -> Result<(), String> {
    if status.message() == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: the status message is {:?}, expected exactly {expected:?}",
            status.message()
        ))
    }
}

/// `Ok` if `metadata` (named `part`: "headers" or "trailers") has the ASCII
/// entry `key: expected`.
pub(crate) fn ascii_entry(
    what: &str,
    part: &str,
    metadata: &Metadata,
    key: &str,
    expected: &str,
) -> Result<(), String> {
    match metadata.get(key) {
        Some(value) if value == expected => Ok(()),
        Some(value) => Err(format!(
            "{what}: {part} have {key}: {value:?}, expected {expected:?}"
        )),
        None => Err(format!(
            "{what}: {part} have no {key}, expected {expected:?} (got keys {:?})",
            keys(metadata)
        )),
    }
}

/// `Ok` if `metadata` (named `part`) has the binary entry `key: expected`.
pub(crate) fn binary_entry(
    what: &str,
    part: &str,
    metadata: &Metadata,
    key: &str,
    expected: &[u8],
) -> Result<(), String> {
    match metadata.get_bin(key) {
        Some(value) if value == expected => Ok(()),
        Some(value) => Err(format!(
            "{what}: {part} have {key}: {value:02x?}, expected {expected:02x?}"
        )),
        None => Err(format!(
            "{what}: {part} have no {key}, expected {expected:02x?} (got keys {:?})",
            keys(metadata)
        )),
    }
}

/// The keys of `metadata`, for messages.
fn keys(metadata: &Metadata) -> Vec<&str> {
    metadata.iter().map(|(key, _)| key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_checks_presence_size_and_zeros() {
        assert!(payload("x", zeros(3).as_ref(), 3).is_ok());
        assert!(payload("x", None, 3).unwrap_err().contains("no payload"));
        assert!(
            payload("x", zeros(2).as_ref(), 3)
                .unwrap_err()
                .contains("is 2 bytes")
        );
        let dirty = Payload {
            body: vec![0, 7],
            ..Payload::default()
        };
        assert!(
            payload("x", Some(&dirty), 2)
                .unwrap_err()
                .contains("byte 1")
        );
    }

    #[test]
    fn payload_sizes_wants_the_exact_count() {
        let two = [zeros(1), zeros(2)];
        assert!(payload_sizes("x", two.iter().map(Option::as_ref), &[1, 2]).is_ok());
        let err = payload_sizes("x", two.iter().map(Option::as_ref), &[1, 2, 3]).unwrap_err();
        assert!(err.contains("got 2 responses"), "{err}");
    }

    #[test]
    fn failure_wants_the_exact_code() {
        let unknown: Result<(), Status> = Err(Status::new(Code::Unknown, "m"));
        assert!(failure("x", unknown.clone(), Code::Unknown).is_ok());
        assert!(failure("x", unknown, Code::Internal).is_err());
        assert!(
            failure("x", Ok(()), Code::Internal)
                .unwrap_err()
                .contains("succeeded")
        );
    }

    #[test]
    fn metadata_entries_must_match_exactly() {
        let mut metadata = Metadata::new();
        metadata.insert("k", "v").unwrap();
        metadata.insert_bin("k-bin", vec![0xab]).unwrap();
        assert!(ascii_entry("x", "headers", &metadata, "k", "v").is_ok());
        assert!(ascii_entry("x", "headers", &metadata, "k", "w").is_err());
        assert!(ascii_entry("x", "headers", &metadata, "z", "v").is_err());
        assert!(binary_entry("x", "trailers", &metadata, "k-bin", &[0xab]).is_ok());
        assert!(binary_entry("x", "trailers", &metadata, "k-bin", &[0xac]).is_err());
    }
}
