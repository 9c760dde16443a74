//! [`ServingStatus`]: what a health check answers, decoded from the wire.
//!
//! Owns the mapping from the proto enum (and from a raw `i32`, which may be
//! a value this build does not know) to the public enum. Must not panic on
//! any wire value: unknown values become [`ServingStatus::Unknown`].

use std::fmt;

use crate::pb::health_check_response::ServingStatus as WireStatus;

/// The serving status of a server or of one of its services, as
/// `grpc.health.v1.Health` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServingStatus {
    /// The server does not say (`UNKNOWN`), or sent a value this client does
    /// not know.
    Unknown,
    /// The service is serving (`SERVING`).
    Serving,
    /// The service is not serving (`NOT_SERVING`).
    NotServing,
    /// The server does not know the service (`SERVICE_UNKNOWN`; sent by
    /// `Watch` only: `Check` answers `NOT_FOUND` instead).
    ServiceUnknown,
}

impl ServingStatus {
    /// The status for a raw wire value: values outside the four known ones
    /// (from a newer server) are [`ServingStatus::Unknown`].
    pub fn from_wire(value: i32) -> ServingStatus {
        WireStatus::try_from(value)
            .map(ServingStatus::from)
            .unwrap_or(ServingStatus::Unknown)
    }

    /// Whether this is [`ServingStatus::Serving`].
    pub fn is_serving(self) -> bool {
        self == ServingStatus::Serving
    }

    /// The proto name: `UNKNOWN`, `SERVING`, `NOT_SERVING` or
    /// `SERVICE_UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServingStatus::Unknown => "UNKNOWN",
            ServingStatus::Serving => "SERVING",
            ServingStatus::NotServing => "NOT_SERVING",
            ServingStatus::ServiceUnknown => "SERVICE_UNKNOWN",
        }
    }
}

impl From<WireStatus> for ServingStatus {
    fn from(status: WireStatus) -> ServingStatus {
        match status {
            WireStatus::Unknown => ServingStatus::Unknown,
            WireStatus::Serving => ServingStatus::Serving,
            WireStatus::NotServing => ServingStatus::NotServing,
            WireStatus::ServiceUnknown => ServingStatus::ServiceUnknown,
        }
    }
}

impl From<ServingStatus> for WireStatus {
    fn from(status: ServingStatus) -> WireStatus {
        match status {
            ServingStatus::Unknown => WireStatus::Unknown,
            ServingStatus::Serving => WireStatus::Serving,
            ServingStatus::NotServing => WireStatus::NotServing,
            ServingStatus::ServiceUnknown => WireStatus::ServiceUnknown,
        }
    }
}

impl fmt::Display for ServingStatus {
    /// The proto name, e.g. `SERVING`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_value_maps_and_unknown_ones_are_unknown() {
        assert_eq!(ServingStatus::from_wire(0), ServingStatus::Unknown);
        assert_eq!(ServingStatus::from_wire(1), ServingStatus::Serving);
        assert_eq!(ServingStatus::from_wire(2), ServingStatus::NotServing);
        assert_eq!(ServingStatus::from_wire(3), ServingStatus::ServiceUnknown);
        assert_eq!(ServingStatus::from_wire(4), ServingStatus::Unknown);
        assert_eq!(ServingStatus::from_wire(-1), ServingStatus::Unknown);
        assert_eq!(ServingStatus::from_wire(i32::MAX), ServingStatus::Unknown);
    }

    #[test]
    fn round_trips_through_the_proto_enum_and_displays_the_proto_name() {
        for status in [
            ServingStatus::Unknown,
            ServingStatus::Serving,
            ServingStatus::NotServing,
            ServingStatus::ServiceUnknown,
        ] {
            let wire = WireStatus::from(status);
            assert_eq!(ServingStatus::from(wire), status);
            assert_eq!(status.to_string(), wire.as_str_name());
        }
        assert!(ServingStatus::Serving.is_serving());
        assert!(!ServingStatus::NotServing.is_serving());
    }
}
