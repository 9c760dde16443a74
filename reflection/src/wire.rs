//! The reflection protocol's messages, read and written: which request asks
//! what, and what an answer means (a `Result`, with a server's
//! `ErrorResponse` as a [`Status`]); [`FileSet`], the files collected while
//! following imports.
//!
//! Pure functions over the generated [`pb::v1`](crate::pb::v1) types: no
//! calls, no I/O. Must not panic on any answer (an undecodable descriptor
//! or an answer of the wrong kind is an `INTERNAL` status).

use std::collections::HashSet;

use prost::Message as _;
use prost_types::FileDescriptorProto;
use switchboard::{Code, Origin, Status};

use crate::pb::v1::server_reflection_request::MessageRequest;
use crate::pb::v1::server_reflection_response::MessageResponse;
use crate::pb::v1::{ErrorResponse, ServerReflectionRequest, ServerReflectionResponse};

/// The request carrying `message`.
pub(crate) fn request(message: MessageRequest) -> ServerReflectionRequest {
    ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    }
}

/// What a request asks, for error messages: `list_services`,
/// `file_containing_symbol("a.B")`, `file_by_filename("a/b.proto")`.
pub(crate) fn describe(message: &MessageRequest) -> String {
    match message {
        MessageRequest::ListServices(_) => "list_services".to_owned(),
        MessageRequest::FileContainingSymbol(symbol) => {
            format!("file_containing_symbol({symbol:?})")
        }
        MessageRequest::FileByFilename(name) => format!("file_by_filename({name:?})"),
        MessageRequest::FileContainingExtension(extension) => format!(
            "file_containing_extension({:?}, {})",
            extension.containing_type, extension.extension_number
        ),
        MessageRequest::AllExtensionNumbersOfType(name) => {
            format!("all_extension_numbers_of_type({name:?})")
        }
    }
}

/// The service names of a `list_services` answer, in the server's order.
pub(crate) fn services(
    asked: &MessageRequest,
    response: ServerReflectionResponse,
) -> Result<Vec<String>, Status> {
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => Ok(list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect()),
        other => Err(unexpected(asked, other)),
    }
}

/// The decoded files of a `file_*` answer, in the server's order.
pub(crate) fn files(
    asked: &MessageRequest,
    response: ServerReflectionResponse,
) -> Result<Vec<FileDescriptorProto>, Status> {
    match response.message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => files
            .file_descriptor_proto
            .iter()
            .map(|bytes| {
                FileDescriptorProto::decode(bytes.as_slice()).map_err(|error| {
                    Status::internal(format!(
                        "reflection: {}: the server sent a FileDescriptorProto that does not decode: {error}",
                        describe(asked)
                    ))
                    .with_source(error)
                })
            })
            .collect(),
        other => Err(unexpected(asked, other)),
    }
}

/// A wrong answer: the server's `ErrorResponse` as a status, or INTERNAL
/// for an answer of another kind (or none).
fn unexpected(asked: &MessageRequest, answer: Option<MessageResponse>) -> Status {
    let what = match answer {
        Some(MessageResponse::ErrorResponse(error)) => return error_status(asked, &error),
        Some(MessageResponse::FileDescriptorResponse(_)) => "files",
        Some(MessageResponse::ListServicesResponse(_)) => "a service list",
        Some(MessageResponse::AllExtensionNumbersResponse(_)) => "extension numbers",
        None => "an empty answer",
    };
    Status::internal(format!(
        "reflection: {}: the server answered with {what}",
        describe(asked)
    ))
}

/// A server's `ErrorResponse`: its code (a code of 0, OK, or one this
/// build does not know is UNKNOWN) and its message, after what was asked.
pub(crate) fn error_status(asked: &MessageRequest, error: &ErrorResponse) -> Status {
    let code = match Code::from_i32(error.error_code) {
        Code::Ok => Code::Unknown,
        code => code,
    };
    Status::new(
        code,
        format!("reflection: {}: {}", describe(asked), error.error_message),
    )
    .with_origin(Origin::Server)
}

/// The files collected for one question: each once (by name), in the order
/// they came, and which imports none of them has answered yet.
#[derive(Debug, Default)]
pub(crate) struct FileSet {
    files: Vec<FileDescriptorProto>,
    names: HashSet<String>,
}

impl FileSet {
    /// Adds the files not already in the set.
    pub(crate) fn add(&mut self, files: Vec<FileDescriptorProto>) {
        for file in files {
            if self.names.insert(file.name().to_owned()) {
                self.files.push(file);
            }
        }
    }

    /// Whether a file of that name is in the set.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The first import of a collected file that is not in the set.
    pub(crate) fn missing(&self) -> Option<String> {
        self.files
            .iter()
            .flat_map(|file| file.dependency.iter())
            .find(|name| !self.names.contains(name.as_str()))
            .cloned()
    }

    /// The files, in the order they came.
    pub(crate) fn into_files(self) -> Vec<FileDescriptorProto> {
        self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v1::{FileDescriptorResponse, ListServiceResponse, ServiceResponse};

    fn file(name: &str, imports: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.to_owned()),
            dependency: imports.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn answer(message: MessageResponse) -> ServerReflectionResponse {
        ServerReflectionResponse {
            message_response: Some(message),
            ..Default::default()
        }
    }

    #[test]
    fn an_error_response_is_a_status_with_its_code_and_message() {
        let asked = MessageRequest::FileContainingSymbol("no.Such".into());
        let status = error_status(
            &asked,
            &ErrorResponse {
                error_code: Code::NotFound.as_i32(),
                error_message: "not found".into(),
            },
        );
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(
            status.message(),
            "reflection: file_containing_symbol(\"no.Such\"): not found"
        );
        assert_eq!(status.origin(), Origin::Server);

        let ok_code = error_status(&asked, &ErrorResponse::default());
        assert_eq!(ok_code.code(), Code::Unknown);
    }

    #[test]
    fn answers_of_the_wrong_kind_are_internal_errors() {
        let asked = MessageRequest::ListServices(String::new());
        let files_answer = answer(MessageResponse::FileDescriptorResponse(
            FileDescriptorResponse::default(),
        ));
        let status = services(&asked, files_answer).unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().contains("answered with files"), "{status}");

        let empty = files(&asked, ServerReflectionResponse::default()).unwrap_err();
        assert_eq!(empty.code(), Code::Internal);
    }

    #[test]
    fn services_and_files_decode() {
        let asked = MessageRequest::ListServices(String::new());
        let list = answer(MessageResponse::ListServicesResponse(ListServiceResponse {
            service: vec![
                ServiceResponse { name: "a.A".into() },
                ServiceResponse { name: "b.B".into() },
            ],
        }));
        assert_eq!(services(&asked, list).unwrap(), ["a.A", "b.B"]);

        let asked = MessageRequest::FileByFilename("a.proto".into());
        let bytes = file("a.proto", &["b.proto"]).encode_to_vec();
        let decoded = files(
            &asked,
            answer(MessageResponse::FileDescriptorResponse(
                FileDescriptorResponse {
                    file_descriptor_proto: vec![bytes],
                },
            )),
        )
        .unwrap();
        assert_eq!(decoded, [file("a.proto", &["b.proto"])]);

        let garbage = answer(MessageResponse::FileDescriptorResponse(
            FileDescriptorResponse {
                file_descriptor_proto: vec![vec![0xff, 0xff, 0xff]],
            },
        ));
        assert_eq!(files(&asked, garbage).unwrap_err().code(), Code::Internal);
    }

    #[test]
    fn a_file_set_keeps_the_first_of_each_name_and_finds_missing_imports() {
        let mut set = FileSet::default();
        set.add(vec![
            file("a.proto", &["b.proto", "c.proto"]),
            file("b.proto", &[]),
        ]);
        assert_eq!(set.missing().as_deref(), Some("c.proto"));
        set.add(vec![
            file("c.proto", &["b.proto"]),
            file("a.proto", &["x.proto"]),
        ]);
        assert_eq!(set.missing(), None);
        assert!(set.contains("c.proto"));
        let names: Vec<_> = set
            .into_files()
            .iter()
            .map(|f| f.name().to_owned())
            .collect();
        assert_eq!(names, ["a.proto", "b.proto", "c.proto"]);
    }
}
