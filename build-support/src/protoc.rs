//! Running protoc (layer: environment; the only module that starts a
//! process).
//!
//! Owns which protoc runs — `PROTOC` if set, else the one vendored by
//! `protoc-bin-vendored`, so nothing needs to be installed — and turning
//! its failures into typed [`Error`]s. protoc reports problems as lines of
//! `path:line:column: message`; the first line with a position decides the
//! variant (an error inside an imported file comes before the
//! `Import "…" was not found or had errors` line that it causes, so the
//! user is sent to the real problem).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, SourcePos};

/// The protoc to run and the include directory for the well-known types,
/// if it comes with one.
pub(crate) struct Protoc {
    path: PathBuf,
    include: Option<PathBuf>,
}

impl Protoc {
    /// `PROTOC` (with `PROTOC_INCLUDE`) if set, else the vendored protoc.
    pub(crate) fn locate() -> Result<Protoc, Error> {
        if let Some(path) = std::env::var_os("PROTOC").filter(|p| !p.is_empty()) {
            return Ok(Protoc {
                path: PathBuf::from(path),
                include: std::env::var_os("PROTOC_INCLUDE")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
            });
        }
        let path =
            protoc_bin_vendored::protoc_bin_path().map_err(|e| Error::ProtocNotRunnable {
                protoc: PathBuf::from("protoc (vendored)"),
                reason: format!("{e}; set PROTOC to a protoc binary"),
            })?;
        Ok(Protoc {
            path,
            include: protoc_bin_vendored::include_path().ok(),
        })
    }

    /// Runs protoc over `protos` and writes the descriptor set (with
    /// imports and source info) to `out`.
    pub(crate) fn descriptor_set(
        &self,
        protos: &[PathBuf],
        includes: &[PathBuf],
        extra_args: &[OsString],
        out: &Path,
    ) -> Result<(), Error> {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--include_imports")
            .arg("--include_source_info")
            .arg("-o")
            .arg(out);
        for include in includes {
            cmd.arg("-I").arg(include);
        }
        // After the user's, so a user's copy of a well-known type wins.
        if let Some(include) = &self.include {
            cmd.arg("-I").arg(include);
        }
        cmd.args(extra_args).args(protos);
        let output = cmd.output().map_err(|e| Error::ProtocNotRunnable {
            protoc: self.path.clone(),
            reason: e.to_string(),
        })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(classify(&stderr, includes))
    }
}

/// One line of protoc's error output.
#[derive(Debug, PartialEq, Eq)]
struct Diagnostic<'a> {
    file: &'a str,
    position: Option<(u32, u32)>,
    message: &'a str,
}

/// The [`Error`] for protoc's error output.
fn classify(stderr: &str, includes: &[PathBuf]) -> Error {
    let diagnostics: Vec<Diagnostic<'_>> = stderr.lines().filter_map(parse_line).collect();
    if let Some(d) = diagnostics.iter().find(|d| d.position.is_some()) {
        let (line, column) = d.position.unwrap_or_default();
        let at = SourcePos {
            file: PathBuf::from(d.file),
            line,
            column,
        };
        if let Some(import) = quoted_between(d.message, "Import \"", "\" was not found") {
            return Error::UnresolvedImport {
                at,
                import: import.to_string(),
            };
        }
        if let Some(name) = quoted_between(d.message, "\"", "\" is not defined.") {
            return Error::UnresolvedType {
                at,
                name: name.to_string(),
            };
        }
        return Error::Syntax {
            at,
            message: d.message.to_string(),
        };
    }
    for d in &diagnostics {
        if d.message
            .starts_with("File does not reside within any path")
        {
            return Error::ProtoOutsideIncludes {
                proto: PathBuf::from(d.file),
                includes: includes.to_vec(),
                called_at: String::new(),
            };
        }
    }
    Error::Protoc {
        output: stderr.to_string(),
    }
}

/// `path:line:col: message`, or `path: message`.
fn parse_line(line: &str) -> Option<Diagnostic<'_>> {
    for (i, _) in line.match_indices(':') {
        let rest = &line[i + 1..];
        let Some((l, rest)) = rest.split_once(':') else {
            continue;
        };
        let Some((c, message)) = rest.split_once(": ") else {
            continue;
        };
        if let (Ok(l), Ok(c)) = (l.parse::<u32>(), c.parse::<u32>()) {
            return Some(Diagnostic {
                file: &line[..i],
                position: Some((l, c)),
                message,
            });
        }
    }
    let (file, message) = line.split_once(": ")?;
    Some(Diagnostic {
        file,
        position: None,
        message,
    })
}

/// The text between `before` and `after` in `s`, if `s` has that shape.
fn quoted_between<'a>(s: &'a str, before: &str, after: &str) -> Option<&'a str> {
    let start = s.find(before)? + before.len();
    let end = start + s[start..].find(after)?;
    Some(&s[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_protoc_lines() {
        assert_eq!(
            parse_line("proto/bad.proto:6:1: Expected \";\"."),
            Some(Diagnostic {
                file: "proto/bad.proto",
                position: Some((6, 1)),
                message: "Expected \";\".",
            })
        );
        assert_eq!(
            parse_line("nope.proto: File not found."),
            Some(Diagnostic {
                file: "nope.proto",
                position: None,
                message: "File not found.",
            })
        );
        assert_eq!(parse_line("garbage"), None);
    }

    #[test]
    fn classifies_the_first_positioned_diagnostic() {
        let stderr = "nope.proto: File not found.\n\
            proto/imp.proto:3:1: Import \"nope.proto\" was not found or had errors.\n\
            proto/imp.proto:4:13: \"nope.B\" is not defined.\n";
        match classify(stderr, &[]) {
            Error::UnresolvedImport { at, import } => {
                assert_eq!(at.to_string(), "proto/imp.proto:3:1");
                assert_eq!(import, "nope.proto");
            }
            other => panic!("{other}"),
        }
        match classify("proto/u.proto:3:13: \"Missing\" is not defined.\n", &[]) {
            Error::UnresolvedType { name, .. } => assert_eq!(name, "Missing"),
            other => panic!("{other}"),
        }
        assert!(matches!(classify("weird\n", &[]), Error::Protoc { .. }));
    }
}
