//! The build API's error type (layer: bottom; plain data).
//!
//! [`Error`] is what `compile` returns instead of panicking. Each variant
//! that comes from a `.proto` file carries a [`SourcePos`], and `Display`
//! starts with it (`proto/a.proto:6:1: …`), like a compiler diagnostic, so
//! `cargo build` output points at the line to fix. `Debug` prints the same
//! text, because a `build.rs` `main` that returns the error prints it with
//! `{:?}`.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A position in a `.proto` file: the path protoc read it from and a
/// 1-based line and column (0 when unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePos {
    /// The file, as protoc opened it (relative to the build's working
    /// directory, i.e. the package root, when the include path is relative).
    pub file: PathBuf,
    /// 1-based line; 0 if unknown.
    pub line: u32,
    /// 1-based column; 0 if unknown.
    pub column: u32,
}

impl fmt::Display for SourcePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match (self.line, self.column) {
            (0, _) => write!(f, "{file}"),
            (line, 0) => write!(f, "{file}:{line}"),
            (line, column) => write!(f, "{file}:{line}:{column}"),
        }
    }
}

/// Two proto items that would generate the same Rust name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameCollision {
    /// The item that collides.
    pub at: SourcePos,
    /// What it is, e.g. ``service `Foo_Bar` ``.
    pub item: String,
    /// The item it collides with.
    pub first_at: SourcePos,
    /// What that is.
    pub first_item: String,
    /// The Rust name both would generate.
    pub rust_name: String,
    /// Where that name lives, e.g. ``module `pkg` ``.
    pub scope: String,
}

impl fmt::Display for NameCollision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} generates the Rust name `{}` in {}, which {} at {} generates too; \
             rename one of them",
            self.at, self.item, self.rust_name, self.scope, self.first_item, self.first_at
        )
    }
}

/// Why generating code failed.
///
/// The proto variants ([`Syntax`](Error::Syntax),
/// [`UnresolvedImport`](Error::UnresolvedImport),
/// [`UnresolvedType`](Error::UnresolvedType),
/// [`NameCollision`](Error::NameCollision), [`ProtoNotFound`](Error::ProtoNotFound),
/// [`ProtoOutsideIncludes`](Error::ProtoOutsideIncludes)) mean the input
/// must change; the others are about the environment (protoc, files) or,
/// for [`Codegen`](Error::Codegen), the configuration.
#[non_exhaustive]
pub enum Error {
    /// A proto file passed to `compile` exists neither as a path nor under
    /// an include directory.
    ProtoNotFound {
        /// The path as passed.
        proto: PathBuf,
        /// The include directories searched.
        includes: Vec<PathBuf>,
        /// Where `compile` was called (`build.rs:LINE:COLUMN`).
        called_at: String,
    },
    /// A proto file exists but lies outside every include directory, so
    /// protoc cannot name it.
    ProtoOutsideIncludes {
        /// The path as passed.
        proto: PathBuf,
        /// The include directories.
        includes: Vec<PathBuf>,
        /// Where `compile` was called.
        called_at: String,
    },
    /// protoc rejected a file: a syntax error, or another error it reports
    /// at a line (a duplicate field number, a bad option, …).
    Syntax {
        /// Where.
        at: SourcePos,
        /// protoc's message.
        message: String,
    },
    /// An `import` names a file found under no include directory.
    UnresolvedImport {
        /// The `import` statement.
        at: SourcePos,
        /// The imported path, as written.
        import: String,
    },
    /// A type is used that no imported file defines.
    UnresolvedType {
        /// The use.
        at: SourcePos,
        /// The type name, as written.
        name: String,
    },
    /// Two proto items (services, or methods of one service) would
    /// generate the same Rust name, e.g. `FooBar` and `Foo_Bar`.
    NameCollision(Box<NameCollision>),
    /// protoc failed without a diagnostic this crate understands; its
    /// output.
    Protoc {
        /// What protoc printed.
        output: String,
    },
    /// protoc could not be started.
    ProtocNotRunnable {
        /// The executable tried (`PROTOC`, or the vendored one).
        protoc: PathBuf,
        /// Why.
        reason: String,
    },
    /// `OUT_DIR` is not set and no `out_dir` was configured (not running
    /// from a build script?).
    OutDirNotSet,
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file descriptor set did not decode.
    InvalidDescriptorSet {
        /// Its path.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// The code generator rejected the configuration or input (e.g. an
    /// `extern_path` that is not fully qualified); its message.
    Codegen {
        /// The generator's message.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ProtoNotFound {
                proto,
                includes,
                called_at,
            } => write!(
                f,
                "{}: no such proto file (looked in the package directory and in the include \
                 directories [{}]); compile was called at {called_at}",
                proto.display(),
                list(includes)
            ),
            Error::ProtoOutsideIncludes {
                proto,
                includes,
                called_at,
            } => write!(
                f,
                "{}: the file is in none of the include directories [{}]; add its directory \
                 to the includes (compile was called at {called_at})",
                proto.display(),
                list(includes)
            ),
            Error::Syntax { at, message } => write!(f, "{at}: {message}"),
            Error::UnresolvedImport { at, import } => write!(
                f,
                "{at}: unresolved import \"{import}\": no include directory has it"
            ),
            Error::UnresolvedType { at, name } => write!(
                f,
                "{at}: unresolved type \"{name}\": no imported file defines it (missing import?)"
            ),
            Error::NameCollision(collision) => collision.fmt(f),
            Error::Protoc { output } => write!(f, "protoc failed: {}", output.trim_end()),
            Error::ProtocNotRunnable { protoc, reason } => write!(
                f,
                "cannot run protoc ({}): {reason}; unset PROTOC to use the vendored protoc",
                protoc.display()
            ),
            Error::OutDirNotSet => write!(
                f,
                "OUT_DIR is not set: call compile from a build script, or set out_dir"
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::InvalidDescriptorSet { path, message } => {
                write!(f, "{}: not a FileDescriptorSet: {message}", path.display())
            }
            Error::Codegen { message } => write!(f, "code generation failed: {message}"),
        }
    }
}

/// Prints the `Display` text, so `fn main() -> Result<(), Box<dyn Error>>`
/// in a build script shows a readable message.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_starts_with_the_position() {
        let e = Error::Syntax {
            at: SourcePos {
                file: "proto/a.proto".into(),
                line: 6,
                column: 1,
            },
            message: "Expected \";\".".into(),
        };
        assert_eq!(e.to_string(), "proto/a.proto:6:1: Expected \";\".");
        assert_eq!(format!("{e:?}"), e.to_string());
    }
}
