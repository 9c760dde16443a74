//! Descriptors → formatted Rust files (layer: pipeline, the top of the
//! generator; no file-system access).
//!
//! [`generate`] is the one path from a set of `FileDescriptorProto`s to
//! the `.rs` files `switchboard-build` writes and `protoc-gen-switchboard`
//! returns, so the two produce byte-identical output for the same input and
//! options:
//!
//! 1. check for Rust-name collisions ([`crate::names`]), and rewrite the
//!    comments so rustdoc reads them as written (`crate::docs`);
//! 2. let prost-build generate each package's messages, with
//!    [`SwitchboardServiceGenerator`] appending the client modules;
//! 3. parse each file, undo prost-build's escaping inside code blocks
//!    (`crate::docs`), document what the `.proto` left undocumented
//!    (`crate::undocumented`), format it with prettyplease and add a
//!    header;
//! 4. optionally write an include file that nests every package's file in
//!    modules named after the package.
//!
//! Invariants: one file per Rust module (proto package), named after the
//! package as the `.proto` spells it (`helloworld.rs`, `a.b.rs`,
//! `google.type.rs` where prost-build would write `google.r#type.rs`, `_.rs`
//! for no package), so that `include_proto!` takes the package name; files
//! come back sorted by name; a panic inside prost-build (malformed
//! descriptors) comes back as [`GenerateError::Panicked`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use prost_build::Module;
use prost_types::FileDescriptorProto;
use quote::quote;

use crate::docs;
use crate::ident::to_ident;
use crate::names::{self, NameCollision};
use crate::service_generator::SwitchboardServiceGenerator;
use crate::undocumented;

/// prost-build's file name for the module of files without a package.
const NO_PACKAGE_FILE: &str = "_";

/// What to generate besides the messages.
#[derive(Clone, Debug)]
pub struct Options {
    /// Generate client stubs (the default).
    pub build_client: bool,
    /// Also write an include file of this name that `include!`s every
    /// generated file inside `pub mod` blocks named after the packages.
    pub include_file: Option<String>,
    /// Write only these packages' files; the other descriptors are read for
    /// their types (prost-build needs every message a field refers to).
    /// `None` writes every package. The plugin sets it to the packages of
    /// the files protoc asks for.
    pub packages: Option<Vec<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            build_client: true,
            include_file: None,
            packages: None,
        }
    }
}

/// One generated file: its name (relative to the output directory) and its
/// contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The file name, e.g. `helloworld.rs`.
    pub name: String,
    /// The formatted Rust source.
    pub content: String,
}

/// Why [`generate`] produced nothing.
#[derive(Debug)]
#[non_exhaustive]
pub enum GenerateError {
    /// Two proto items would generate the same Rust name.
    NameCollision(Box<NameCollision>),
    /// prost-build rejected the configuration or the descriptors (e.g. an
    /// `extern_path` that is not fully qualified).
    Prost(String),
    /// prost-build panicked on malformed descriptors; the panic message.
    Panicked(String),
    /// The generated code did not parse: a bug in the generator (or in a
    /// user-supplied attribute), with the parser's message.
    Unparsable {
        /// The file that did not parse.
        file: String,
        /// The parser's message.
        message: String,
    },
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::NameCollision(c) => c.fmt(f),
            GenerateError::Prost(m) => write!(f, "prost-build: {m}"),
            GenerateError::Panicked(m) => write!(
                f,
                "prost-build failed on these descriptors (are they from protoc?): {m}"
            ),
            GenerateError::Unparsable { file, message } => write!(
                f,
                "the code generated for {file} does not parse ({message}); \
                 check type_attribute/field_attribute values, else this is a switchboard bug"
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Generates the Rust files for `files`: prost messages plus switchboard
/// stubs, one file per package, formatted.
///
/// `config` carries the prost settings (extern paths, attributes, `bytes`,
/// `btree_map`, …); its service generator and formatting are set here.
pub fn generate(
    config: &mut prost_build::Config,
    options: &Options,
    mut files: Vec<FileDescriptorProto>,
) -> Result<Vec<GeneratedFile>, GenerateError> {
    names::check(&files).map_err(GenerateError::NameCollision)?;
    docs::sanitize_comments(&mut files);

    let mut sources: HashMap<Module, Sources> = HashMap::new();
    let requests: Vec<(Module, FileDescriptorProto)> = files
        .into_iter()
        .map(|file| {
            let module = Module::from_protobuf_package_name(file.package());
            let sources = sources.entry(module.clone()).or_insert_with(|| Sources {
                package: file.package().to_string(),
                protos: Vec::new(),
            });
            sources.protos.push(file.name().to_string());
            (module, file)
        })
        .collect();

    config
        .service_generator(Box::new(SwitchboardServiceGenerator::new(
            options.build_client,
        )))
        .format(false)
        .default_package_filename(NO_PACKAGE_FILE);
    let modules = catch_unwind(AssertUnwindSafe(|| config.generate(requests)))
        .map_err(|panic| GenerateError::Panicked(panic_message(panic.as_ref())))?
        .map_err(|e| GenerateError::Prost(e.to_string()))?;

    let mut modules: Vec<(Module, String, String)> = modules
        .into_iter()
        .filter_map(|(module, content)| {
            let package = sources.get(&module).map_or("", |s| s.package.as_str());
            let wanted = options
                .packages
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|p| p == package));
            wanted.then(|| (module, file_name(package), content))
        })
        .collect();
    modules.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Vec::with_capacity(modules.len() + 1);
    for (module, name, content) in &modules {
        let protos = sources
            .get(module)
            .map(|s| s.protos.as_slice())
            .unwrap_or_default();
        out.push(GeneratedFile {
            content: format_file(name, protos, content)?,
            name: name.clone(),
        });
    }
    if let Some(include) = &options.include_file {
        let modules: Vec<(&Module, &str)> = modules
            .iter()
            .map(|(m, name, _)| (m, name.as_str()))
            .collect();
        out.push(GeneratedFile {
            name: include.clone(),
            content: include_file(&modules),
        });
    }
    Ok(out)
}

/// The proto files of one Rust module and the package they declare.
struct Sources {
    /// The package as the first of `protos` spells it (`google.type`).
    package: String,
    /// The `.proto` files, as protoc names them.
    protos: Vec<String>,
}

/// The file a package's code is written to: the package as the `.proto`
/// spells it, plus `.rs` (`_.rs` for no package). This is the name
/// `switchboard::include_proto!` takes.
pub fn file_name(package: &str) -> String {
    if package.is_empty() {
        format!("{NO_PACKAGE_FILE}.rs")
    } else {
        format!("{package}.rs")
    }
}

/// Parses, documents, formats and heads one file.
fn format_file(name: &str, protos: &[String], content: &str) -> Result<String, GenerateError> {
    let mut file = syn::parse_file(content).map_err(|e| GenerateError::Unparsable {
        file: name.to_string(),
        message: e.to_string(),
    })?;
    docs::restore_code_blocks(&mut file);
    undocumented::fill(&mut file);
    Ok(format!(
        "// @generated by switchboard-codegen (messages by prost-build) from {}.\n\
         // Do not edit: change the .proto file and rebuild.\n{}",
        protos.join(", "),
        prettyplease::unparse(&file)
    ))
}

/// A file that includes every module's file inside nested `pub mod`s.
fn include_file(modules: &[(&Module, &str)]) -> String {
    #[derive(Default)]
    struct Node {
        files: Vec<String>,
        children: BTreeMap<String, Node>,
    }
    fn tokens(node: &Node, path: &[&str]) -> proc_macro2::TokenStream {
        let files = &node.files;
        let children = node.children.iter().map(|(name, child)| {
            let path = [path, &[name.as_str()]].concat();
            let package = path.join(".").replace("r#", "");
            let doc = if child.files.is_empty() {
                format!(" The proto packages under `{package}`.")
            } else {
                format!(" Code generated from the proto package `{package}`.")
            };
            let inner = tokens(child, &path);
            let name = to_ident(name);
            quote!(
                #[doc = #doc]
                pub mod #name { #inner }
            )
        });
        quote!(#(include!(#files);)* #(#children)*)
    }

    let mut root = Node::default();
    for (module, file) in modules {
        let mut node = &mut root;
        for part in module.parts() {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.files.push(file.to_string());
    }
    let file: syn::File = match syn::parse2(tokens(&root, &[])) {
        Ok(file) => file,
        // Unreachable with sanitized identifiers; fall back to the raw tokens.
        Err(_) => return tokens(&root, &[]).to_string(),
    };
    format!(
        "// @generated by switchboard-codegen: includes every generated file.\n{}",
        prettyplease::unparse(&file)
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_file_nests_packages() {
        let a = Module::from_protobuf_package_name("a.b");
        let c = Module::from_protobuf_package_name("a.c");
        let none = Module::from_protobuf_package_name("");
        let text = include_file(&[(&a, "a.b.rs"), (&c, "a.c.rs"), (&none, "_.rs")]);
        assert!(text.contains("include!(\"_.rs\");"), "{text}");
        assert!(text.contains("pub mod a {"), "{text}");
        assert!(text.contains("include!(\"a.b.rs\");"), "{text}");
        assert!(text.contains("include!(\"a.c.rs\");"), "{text}");
    }
}
