//! The corpus's generated code, used as a user would: keyword packages
//! through their raw-identifier modules, stubs' method paths naming the
//! package as written, and messages that round-trip.

use switchboard_corpus::google;

#[test]
fn keyword_packages_are_reachable_through_raw_identifiers() {
    let date = google::r#type::Date {
        year: 2026,
        month: 11,
        day: 30,
    };
    let bytes = prost::Message::encode_to_vec(&date);
    let back: google::r#type::Date = prost::Message::decode(bytes.as_slice()).unwrap_or_default();
    assert_eq!(back, date);
    assert_eq!(
        google::logging::r#type::LogSeverity::Error.as_str_name(),
        "ERROR"
    );
}

#[test]
fn stubs_name_their_methods_by_the_package_as_written() {
    use google::cloud::location::locations_client;
    use google::longrunning::operations_client;
    assert_eq!(
        operations_client::LIST_OPERATIONS.full_path(),
        "/google.longrunning.Operations/ListOperations"
    );
    assert_eq!(
        locations_client::GET_LOCATION.full_path(),
        "/google.cloud.location.Locations/GetLocation"
    );
}
