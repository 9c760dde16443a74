//! The `build.rs` builder (layer: top; runs protoc, writes files).
//!
//! [`Builder`] collects settings, then [`Builder::compile`] runs: check the
//! protos exist → protoc → descriptor set → `switchboard_codegen::generate`
//! → write one `.rs` per package into `OUT_DIR` (only files whose contents
//! changed, so unchanged protos do not trigger a rebuild) → print
//! `cargo:rerun-if-changed` for every `.proto` read. prost settings go
//! to a `prost_build::Config` built fresh for each compile; stubs come from
//! `switchboard-codegen`.
//!
//! Invariant: no panics; everything that can go wrong returns an
//! [`Error`], and errors about a `.proto` name the file and line.

use std::ffi::OsString;
use std::fs;
use std::panic::Location;
use std::path::{Path, PathBuf};

use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use switchboard_codegen::{GenerateError, Options};

use crate::error::{Error, NameCollision, SourcePos};
use crate::protoc::Protoc;

/// Code generation settings for `build.rs`; start with
/// [`configure`](crate::configure).
///
/// ```no_run
/// // build.rs
/// fn main() -> Result<(), switchboard_build::Error> {
///     switchboard_build::configure()
///         .bytes(["."])
///         .type_attribute(".helloworld.HelloRequest", "#[derive(Eq)]")
///         .compile(&["proto/helloworld.proto"], &["proto"])
/// }
/// ```
#[derive(Clone, Debug)]
#[must_use = "a Builder does nothing until `compile` is called"]
pub struct Builder {
    out_dir: Option<PathBuf>,
    build_client: bool,
    extern_paths: Vec<(String, String)>,
    type_attributes: Vec<(String, String)>,
    message_attributes: Vec<(String, String)>,
    field_attributes: Vec<(String, String)>,
    bytes: Vec<String>,
    btree_map: Vec<String>,
    compile_well_known_types: bool,
    file_descriptor_set_path: Option<PathBuf>,
    include_file: Option<String>,
    emit_rerun_if_changed: bool,
    protoc_args: Vec<OsString>,
    skip_protoc_run: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            out_dir: None,
            build_client: true,
            extern_paths: Vec::new(),
            type_attributes: Vec::new(),
            message_attributes: Vec::new(),
            field_attributes: Vec::new(),
            bytes: Vec::new(),
            btree_map: Vec::new(),
            compile_well_known_types: false,
            file_descriptor_set_path: None,
            include_file: None,
            emit_rerun_if_changed: true,
            protoc_args: Vec::new(),
            skip_protoc_run: false,
        }
    }
}

impl Builder {
    /// Writes the generated files to `dir` instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to generate client stubs (default true); with `false`, only
    /// messages.
    pub fn build_client(mut self, enable: bool) -> Self {
        self.build_client = enable;
        self
    }

    /// Uses existing Rust code for a proto package or type instead of
    /// generating it: `extern_path(".common", "::common_pb")`. Passed to
    /// prost-build; stubs follow it too.
    pub fn extern_path(mut self, proto_path: impl AsRef<str>, rust_path: impl AsRef<str>) -> Self {
        self.extern_paths.push((
            proto_path.as_ref().to_string(),
            rust_path.as_ref().to_string(),
        ));
        self
    }

    /// Adds an attribute to the messages and enums matching `path` (see
    /// `prost_build::Config::type_attribute`).
    pub fn type_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.type_attributes
            .push((path.as_ref().to_string(), attribute.as_ref().to_string()));
        self
    }

    /// Adds an attribute to the messages matching `path` (see
    /// `prost_build::Config::message_attribute`).
    pub fn message_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.message_attributes
            .push((path.as_ref().to_string(), attribute.as_ref().to_string()));
        self
    }

    /// Adds an attribute to the fields matching `path` (see
    /// `prost_build::Config::field_attribute`).
    pub fn field_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.field_attributes
            .push((path.as_ref().to_string(), attribute.as_ref().to_string()));
        self
    }

    /// Generates `bytes::Bytes` for the `bytes` fields under these paths
    /// (`["."]` for all; see `prost_build::Config::bytes`).
    pub fn bytes<S: AsRef<str>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.bytes
            .extend(paths.into_iter().map(|p| p.as_ref().to_string()));
        self
    }

    /// Generates `BTreeMap` for the map fields under these paths (`["."]`
    /// for all; see `prost_build::Config::btree_map`).
    pub fn btree_map<S: AsRef<str>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.btree_map
            .extend(paths.into_iter().map(|p| p.as_ref().to_string()));
        self
    }

    /// Generates the `google.protobuf` types instead of using `prost-types`.
    pub fn compile_well_known_types(mut self, enable: bool) -> Self {
        self.compile_well_known_types = enable;
        self
    }

    /// Also writes the descriptor set protoc produced to `path` (e.g. for
    /// gRPC reflection). With [`skip_protoc_run`](Builder::skip_protoc_run),
    /// reads the descriptor set from `path` instead.
    pub fn file_descriptor_set_path(mut self, path: impl AsRef<Path>) -> Self {
        self.file_descriptor_set_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Also writes a file of this name that includes every generated file
    /// inside `pub mod` blocks named after the proto packages.
    pub fn include_file(mut self, name: impl AsRef<str>) -> Self {
        self.include_file = Some(name.as_ref().to_string());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every `.proto` read
    /// (default true).
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.emit_rerun_if_changed = enable;
        self
    }

    /// Passes an extra argument to protoc.
    pub fn protoc_arg(mut self, arg: impl Into<OsString>) -> Self {
        self.protoc_args.push(arg.into());
        self
    }

    /// Does not run protoc: [`compile`](Builder::compile) reads the
    /// descriptor set at
    /// [`file_descriptor_set_path`](Builder::file_descriptor_set_path).
    pub fn skip_protoc_run(mut self) -> Self {
        self.skip_protoc_run = true;
        self
    }

    /// Compiles `protos` (paths, or names under an include directory) with
    /// the `includes` as import paths, and writes the generated code.
    #[track_caller]
    pub fn compile(
        &self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<(), Error> {
        let called_at = called_at(Location::caller());
        let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_path_buf()).collect();
        let includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_path_buf()).collect();

        let fds = if self.skip_protoc_run {
            let path = self
                .file_descriptor_set_path
                .clone()
                .ok_or(Error::Codegen {
                    message: "skip_protoc_run needs file_descriptor_set_path".into(),
                })?;
            read_descriptor_set(&path)?
        } else {
            for proto in &protos {
                if !proto.exists() && !includes.iter().any(|i| i.join(proto).exists()) {
                    return Err(Error::ProtoNotFound {
                        proto: proto.clone(),
                        includes,
                        called_at,
                    });
                }
            }
            // Fail before running protoc when there is nowhere to write.
            self.target_dir()?;
            self.run_protoc(&protos, &includes).map_err(|e| match e {
                Error::ProtoOutsideIncludes {
                    proto, includes, ..
                } => Error::ProtoOutsideIncludes {
                    proto,
                    includes,
                    called_at: called_at.clone(),
                },
                other => other,
            })?
        };
        if self.emit_rerun_if_changed {
            emit_rerun_if_changed(&fds.file, &protos, &includes);
        }
        self.generate(fds.file, &includes, &self.target_dir()?)
    }

    /// Generates code from a descriptor set you produced yourself (it must
    /// hold every imported file, and source info for doc comments and error
    /// positions: `protoc --include_imports --include_source_info`).
    pub fn compile_fds(&self, fds: FileDescriptorSet) -> Result<(), Error> {
        let out_dir = self.target_dir()?;
        self.generate(fds.file, &[], &out_dir)
    }

    fn target_dir(&self) -> Result<PathBuf, Error> {
        match &self.out_dir {
            Some(dir) => Ok(dir.clone()),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::OutDirNotSet),
        }
    }

    /// Runs protoc into the descriptor set path (or a temporary file) and
    /// reads the result.
    fn run_protoc(
        &self,
        protos: &[PathBuf],
        includes: &[PathBuf],
    ) -> Result<FileDescriptorSet, Error> {
        let protoc = Protoc::locate()?;
        let (path, temporary) = match &self.file_descriptor_set_path {
            Some(path) => (path.clone(), false),
            None => (temporary_path(), true),
        };
        let result = protoc
            .descriptor_set(protos, includes, &self.protoc_args, &path)
            .and_then(|()| read_descriptor_set(&path));
        if temporary {
            let _ = fs::remove_file(&path);
        }
        result
    }

    fn prost_config(&self) -> prost_build::Config {
        let mut config = prost_build::Config::new();
        for (proto, rust) in &self.extern_paths {
            config.extern_path(proto, rust);
        }
        for (path, attr) in &self.type_attributes {
            config.type_attribute(path, attr);
        }
        for (path, attr) in &self.message_attributes {
            config.message_attribute(path, attr);
        }
        for (path, attr) in &self.field_attributes {
            config.field_attribute(path, attr);
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

    fn generate(
        &self,
        files: Vec<FileDescriptorProto>,
        includes: &[PathBuf],
        out_dir: &Path,
    ) -> Result<(), Error> {
        let options = Options {
            build_client: self.build_client,
            include_file: self.include_file.clone(),
            packages: None,
        };
        let generated = switchboard_codegen::generate(&mut self.prost_config(), &options, files)
            .map_err(|e| codegen_error(e, includes))?;
        fs::create_dir_all(out_dir).map_err(|source| Error::Io {
            path: out_dir.to_path_buf(),
            source,
        })?;
        for file in generated {
            write_if_changed(&out_dir.join(&file.name), file.content.as_bytes())?;
        }
        Ok(())
    }
}

/// A file name in the system's temporary directory no other compile uses.
fn temporary_path() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "switchboard-descriptors-{}-{nanos}-{}.bin",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// `build.rs:LINE:COLUMN` for a caller location.
fn called_at(location: &Location<'_>) -> String {
    format!(
        "{}:{}:{}",
        location.file(),
        location.line(),
        location.column()
    )
}

fn read_descriptor_set(path: &Path) -> Result<FileDescriptorSet, Error> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    FileDescriptorSet::decode(bytes.as_slice()).map_err(|e| Error::InvalidDescriptorSet {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), Error> {
    if fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    fs::write(path, content).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Where a file protoc names (relative to an include directory) is on
/// disk: under the first include directory that has it.
fn disk_path(name: &str, includes: &[PathBuf]) -> PathBuf {
    includes
        .iter()
        .map(|include| include.join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn emit_rerun_if_changed(files: &[FileDescriptorProto], protos: &[PathBuf], includes: &[PathBuf]) {
    println!("cargo:rerun-if-env-changed=PROTOC");
    println!("cargo:rerun-if-env-changed=PROTOC_INCLUDE");
    let mut paths: Vec<PathBuf> = protos.iter().filter(|p| p.exists()).cloned().collect();
    for file in files {
        let path = disk_path(file.name(), includes);
        if path.exists() && !paths.contains(&path) {
            paths.push(path);
        }
    }
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The build API's error for a generator error, with proto file names
/// turned into disk paths.
fn codegen_error(error: GenerateError, includes: &[PathBuf]) -> Error {
    match error {
        GenerateError::NameCollision(c) => {
            let pos = |d: &switchboard_codegen::names::Declared| SourcePos {
                file: disk_path(&d.file, includes),
                line: d.line,
                column: d.column,
            };
            Error::NameCollision(Box::new(NameCollision {
                at: pos(&c.second),
                item: c.second.item.clone(),
                first_at: pos(&c.first),
                first_item: c.first.item.clone(),
                rust_name: c.rust_name.clone(),
                scope: c.scope.clone(),
            }))
        }
        other => Error::Codegen {
            message: other.to_string(),
        },
    }
}
