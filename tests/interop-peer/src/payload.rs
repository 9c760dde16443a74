//! The request rules every handler of the tonic peer shares, from gRPC's
//! `doc/interop-test-descriptions.md` server features: zero-filled payloads
//! of a requested size, "Echo Status", and the `expect_compressed` check of
//! "CompressedRequest".
//!
//! Pure functions from request fields to a payload or a [`Status`]; no I/O.

use tonic::{Code, Status};

use crate::pb::{BoolValue, EchoStatus, Payload, PayloadType};

/// Largest payload the peer builds for one response message: 64 MiB. Larger
/// `response_size`s fail with INVALID_ARGUMENT instead of exhausting memory.
pub(crate) const MAX_PAYLOAD_SIZE: usize = 64 * 1024 * 1024;

/// A payload of `size` zero bytes of the requested type.
///
/// Fails with INVALID_ARGUMENT for a type other than COMPRESSABLE (the spec's
/// answer to an unsupported `response_type`), a negative size or one over
/// [`MAX_PAYLOAD_SIZE`].
pub(crate) fn zeros(response_type: i32, size: i32) -> Result<Payload, Status> {
    let payload_type = PayloadType::try_from(response_type).map_err(|_| {
        Status::invalid_argument(format!("unsupported response_type {response_type}"))
    })?;
    let len = usize::try_from(size)
        .ok()
        .filter(|len| *len <= MAX_PAYLOAD_SIZE)
        .ok_or_else(|| {
            Status::invalid_argument(format!(
                "response size {size} is not in 0..={MAX_PAYLOAD_SIZE}"
            ))
        })?;
    Ok(Payload {
        r#type: payload_type.into(),
        body: vec![0; len],
    })
}

/// The size of an optional payload's body.
pub(crate) fn body_len(payload: Option<&Payload>) -> usize {
    payload.map_or(0, |payload| payload.body.len())
}

/// "Echo Status": `Err` with the requested code and message if the request
/// carries a `response_status` with a non-OK code.
pub(crate) fn echo_status(status: Option<&EchoStatus>) -> Result<(), Status> {
    match status {
        Some(status) if status.code != 0 => Err(Status::new(
            Code::from_i32(status.code),
            status.message.clone(),
        )),
        _ => Ok(()),
    }
}

/// "CompressedRequest": checks a message's `expect_compressed` against
/// `received`, the compressed flag of the frame it arrived in (`None` if the
/// flag was not recorded).
///
/// No expectation passes. Otherwise a mismatch fails with INVALID_ARGUMENT,
/// both ways: expected compressed but sent plain (the clients' feature
/// probe) and expected plain but sent compressed.
pub(crate) fn check_compressed(
    expect: Option<&BoolValue>,
    received: Option<bool>,
) -> Result<(), Status> {
    let Some(expect) = expect else {
        return Ok(());
    };
    match (expect.value, received) {
        (_, None) => Err(Status::internal(
            "expect_compressed is set but the server recorded no compressed flag for the message",
        )),
        (true, Some(false)) => Err(Status::invalid_argument(
            "expect_compressed is true but the request message was not compressed",
        )),
        (false, Some(true)) => Err(Status::invalid_argument(
            "expect_compressed is false but the request message was compressed",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_has_the_requested_size_and_rejects_bad_requests() {
        let payload = zeros(0, 314_159).unwrap();
        assert_eq!(payload.body.len(), 314_159);
        assert!(payload.body.iter().all(|b| *b == 0));
        assert_eq!(zeros(0, -1).unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(zeros(7, 1).unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(
            zeros(0, i32::MAX).unwrap_err().code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn echo_status_ignores_ok_and_echoes_the_rest_verbatim() {
        assert!(echo_status(None).is_ok());
        let ok = EchoStatus {
            code: 0,
            message: "fine".into(),
        };
        assert!(echo_status(Some(&ok)).is_ok());
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
        let unknown = EchoStatus {
            code: 2,
            message: message.into(),
        };
        let status = echo_status(Some(&unknown)).unwrap_err();
        assert_eq!(status.code(), Code::Unknown);
        assert_eq!(status.message(), message);
    }

    #[test]
    fn compression_mismatch_is_invalid_argument_both_ways() {
        let yes = BoolValue { value: true };
        let no = BoolValue { value: false };
        assert!(check_compressed(None, Some(true)).is_ok());
        assert!(check_compressed(None, None).is_ok());
        assert!(check_compressed(Some(&yes), Some(true)).is_ok());
        assert!(check_compressed(Some(&no), Some(false)).is_ok());
        let code = |e: Status| e.code();
        assert_eq!(
            check_compressed(Some(&yes), Some(false)).map_err(code),
            Err(Code::InvalidArgument)
        );
        assert_eq!(
            check_compressed(Some(&no), Some(true)).map_err(code),
            Err(Code::InvalidArgument)
        );
        assert_eq!(
            check_compressed(Some(&yes), None).map_err(code),
            Err(Code::Internal)
        );
    }
}
