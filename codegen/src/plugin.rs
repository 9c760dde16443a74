//! The protoc plugin protocol (layer: pipeline; bytes in, bytes out).
//!
//! protoc runs `protoc-gen-switchboard`, writes a `CodeGeneratorRequest`
//! to its stdin and reads a `CodeGeneratorResponse` from its stdout.
//! [`run`] does the whole exchange on bytes: it parses the parameters,
//! generates the requested files through the same [`crate::generate()`]
//! `switchboard-build` uses (so the output is byte-identical for the same
//! options) and reports every problem — undecodable input, unknown
//! parameter, name collision — in the response's `error` field, which
//! protoc prints. It never panics.
//!
//! Every descriptor of the request, imports included, goes to the
//! generator (prost-build needs each message a field refers to); only the
//! packages of the files protoc asks for are written.
//!
//! Parameters (`--switchboard_opt=a,b,…`, comma-separated):
//!
//! | parameter | meaning |
//! | --- | --- |
//! | `extern_path=.pkg=::rust::path` | use an existing Rust type/module for a proto path (repeatable) |
//! | `bytes=.path` | `bytes::Bytes` for `bytes` fields under the path (repeatable; `.` for all) |
//! | `btree_map=.path` | `BTreeMap` for map fields under the path (repeatable; `.` for all) |
//! | `client=false` | messages only, no stubs |
//! | `include_file=name.rs` | also write an include file nesting every package in modules |
//! | `compile_well_known_types` | generate `google.protobuf` types instead of using `prost-types` |

use prost::Message;
use prost_types::compiler::code_generator_response::{Feature, File};
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};

use crate::generate::{Options, generate};

/// The plugin's settings, parsed from the request's `parameter`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parameters {
    /// `extern_path` pairs: (proto path, Rust path).
    pub extern_paths: Vec<(String, String)>,
    /// `bytes` paths.
    pub bytes: Vec<String>,
    /// `btree_map` paths.
    pub btree_map: Vec<String>,
    /// `client=false` turns stubs off.
    pub no_client: bool,
    /// `include_file` name.
    pub include_file: Option<String>,
    /// `compile_well_known_types`.
    pub compile_well_known_types: bool,
}

impl Parameters {
    /// Parses `a=b,c=d,…`; an unknown or malformed parameter is an error
    /// naming it.
    pub fn parse(parameter: &str) -> Result<Parameters, String> {
        let mut params = Parameters::default();
        for item in parameter
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (item, None),
            };
            let need = |v: Option<&str>| {
                v.filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| format!("parameter `{key}` needs a value: `{key}=…`"))
            };
            match key {
                "extern_path" => {
                    let value = need(value)?;
                    let (proto, rust) = value.split_once('=').ok_or_else(|| {
                        format!(
                            "`extern_path={value}`: expected `extern_path=.proto.path=::rust::path`"
                        )
                    })?;
                    params
                        .extern_paths
                        .push((proto.to_string(), rust.to_string()));
                }
                "bytes" => params.bytes.push(need(value)?),
                "btree_map" => params.btree_map.push(need(value)?),
                "include_file" => params.include_file = Some(need(value)?),
                "client" | "build_client" => params.no_client = !parse_bool(key, value)?,
                "compile_well_known_types" => {
                    params.compile_well_known_types = parse_bool(key, value)?;
                }
                _ => {
                    return Err(format!(
                        "unknown parameter `{key}` (known: extern_path, bytes, btree_map, \
                         client, include_file, compile_well_known_types)"
                    ));
                }
            }
        }
        Ok(params)
    }

    /// The prost-build configuration these parameters describe.
    pub fn prost_config(&self) -> prost_build::Config {
        let mut config = prost_build::Config::new();
        for (proto, rust) in &self.extern_paths {
            config.extern_path(proto, rust);
        }
        if !self.bytes.is_empty() {
            config.bytes(&self.bytes);
        }
        if !self.btree_map.is_empty() {
            config.btree_map(&self.btree_map);
        }
        if self.compile_well_known_types {
            config.compile_well_known_types();
        }
        config
    }

    /// The generator options these parameters describe.
    pub fn options(&self) -> Options {
        Options {
            build_client: !self.no_client,
            include_file: self.include_file.clone(),
            packages: None,
        }
    }
}

fn parse_bool(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(format!("`{key}={other}`: expected true or false")),
    }
}

/// Handles one encoded `CodeGeneratorRequest` and returns the encoded
/// `CodeGeneratorResponse`.
pub fn run(request: &[u8]) -> Vec<u8> {
    let response = match CodeGeneratorRequest::decode(request) {
        Ok(request) => respond(request),
        Err(e) => error_response(format!(
            "cannot decode the CodeGeneratorRequest on stdin ({e}); \
             run protoc-gen-switchboard from protoc: protoc --switchboard_out=DIR …"
        )),
    };
    response.encode_to_vec()
}

/// Generates the files `request` asks for.
pub fn respond(request: CodeGeneratorRequest) -> CodeGeneratorResponse {
    let params = match Parameters::parse(request.parameter()) {
        Ok(p) => p,
        Err(e) => return error_response(e),
    };
    // Every descriptor goes to the generator (fields refer to messages of
    // imported files); only the requested files' packages are written.
    let mut packages: Vec<String> = Vec::new();
    for name in &request.file_to_generate {
        match request.proto_file.iter().find(|f| f.name() == name) {
            Some(file) => packages.push(file.package().to_string()),
            None => {
                return error_response(format!(
                    "{name}: asked to generate it, but the request has no descriptor for it"
                ));
            }
        }
    }
    let files = request.proto_file;
    let mut options = params.options();
    options.packages = Some(packages);
    let mut config = params.prost_config();
    match generate(&mut config, &options, files) {
        Ok(generated) => CodeGeneratorResponse {
            supported_features: Some(Feature::Proto3Optional as u64),
            file: generated
                .into_iter()
                .map(|f| File {
                    name: Some(f.name),
                    content: Some(f.content),
                    ..File::default()
                })
                .collect(),
            ..CodeGeneratorResponse::default()
        },
        Err(e) => error_response(e.to_string()),
    }
}

fn error_response(message: String) -> CodeGeneratorResponse {
    CodeGeneratorResponse {
        error: Some(format!("protoc-gen-switchboard: {message}")),
        supported_features: Some(Feature::Proto3Optional as u64),
        ..CodeGeneratorResponse::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::FileDescriptorProto;

    #[test]
    fn parameters() {
        let p = Parameters::parse(
            "extern_path=.common=::common_pb,bytes=.,btree_map=.a.b,client=false,include_file=mod.rs",
        )
        .unwrap();
        assert_eq!(
            p.extern_paths,
            vec![(".common".to_string(), "::common_pb".to_string())]
        );
        assert_eq!(p.bytes, vec!["."]);
        assert_eq!(p.btree_map, vec![".a.b"]);
        assert!(p.no_client);
        assert_eq!(p.include_file.as_deref(), Some("mod.rs"));
        assert_eq!(Parameters::parse("").unwrap(), Parameters::default());
    }

    #[test]
    fn bad_parameters_are_errors() {
        for bad in [
            "nope=1",
            "extern_path=.a",
            "bytes",
            "client=maybe",
            "include_file=",
        ] {
            assert!(Parameters::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn garbage_input_gets_an_error_response() {
        let response =
            CodeGeneratorResponse::decode(run(b"\xff\xff\xff garbage").as_slice()).unwrap();
        assert!(response.error().contains("cannot decode"), "{response:?}");
        assert!(response.file.is_empty());
    }

    #[test]
    fn a_missing_descriptor_is_an_error() {
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["a.proto".into()],
            ..Default::default()
        };
        let response = respond(request);
        assert!(response.error().contains("a.proto"), "{response:?}");
    }

    #[test]
    fn malformed_descriptors_do_not_panic() {
        // A method whose types are not fully qualified makes prost-build panic.
        let file = FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("a".into()),
            service: vec![prost_types::ServiceDescriptorProto {
                name: Some("S".into()),
                method: vec![prost_types::MethodDescriptorProto {
                    name: Some("M".into()),
                    input_type: Some("NotQualified".into()),
                    output_type: None,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let request = CodeGeneratorRequest {
            file_to_generate: vec!["a.proto".into()],
            proto_file: vec![file],
            ..Default::default()
        };
        let response = respond(request);
        assert!(response.error.is_some(), "{response:?}");
    }
}
