//! Rust-name collisions, found before any code is generated (layer:
//! generator; reads descriptors only).
//!
//! Two proto names that differ only in case or underscores (`FooBar` and
//! `Foo_Bar`, `GetFoo` and `get_foo`) map to the same Rust name, and the
//! generated code would not compile — with an error pointing into a file in
//! `OUT_DIR`. [`check`] finds them first and reports both declarations with
//! their `.proto` file, line and column. It uses the [`crate::ident`]
//! functions the generator uses, so the two cannot disagree.
//!
//! Checked, per Rust module of a package: the client modules of its services
//! against each other and against the nested-type modules prost-build
//! generates for its messages; per service: the stub methods and the
//! descriptor constants of its methods.

use std::collections::HashMap;
use std::fmt;

use prost_types::FileDescriptorProto;

use crate::ident;

/// Where a proto item is declared: the `.proto` file name as protoc knows it
/// (relative to its include path) and a 1-based line and column (0 when the
/// descriptor carries no source info).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// What it is, e.g. ``service `FooBar` ``.
    pub item: String,
    /// The `.proto` file, as protoc names it.
    pub file: String,
    /// 1-based line, or 0 if unknown.
    pub line: u32,
    /// 1-based column, or 0 if unknown.
    pub column: u32,
}

/// Two proto items that would generate the same Rust name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameCollision {
    /// The Rust name both would generate.
    pub rust_name: String,
    /// Where that name lives, e.g. ``module `helloworld` ``.
    pub scope: String,
    /// The item declared first.
    pub first: Declared,
    /// The item that collides with it.
    pub second: Declared,
}

impl fmt::Display for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.file),
            (line, 0) => write!(f, "{}:{line}", self.file),
            (line, column) => write!(f, "{}:{line}:{column}", self.file),
        }
    }
}

impl fmt::Display for NameCollision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} generates the Rust name `{}` in {}, which {} at {} generates too; \
             rename one of them",
            self.second, self.second.item, self.rust_name, self.scope, self.first.item, self.first
        )
    }
}

impl std::error::Error for NameCollision {}

/// Checks the services of `files` (all of them, whatever their package) for
/// Rust names that collide.
pub fn check(files: &[FileDescriptorProto]) -> Result<(), Box<NameCollision>> {
    let mut modules: HashMap<(String, String), Declared> = HashMap::new();
    for file in files {
        let module = prost_build::Module::from_protobuf_package_name(file.package());
        let scope = if module.is_empty() {
            "the module of the files without a package".to_string()
        } else {
            format!("module `{module}`")
        };
        let mut claim = |name: String, declared: Declared| -> Result<(), Box<NameCollision>> {
            match modules.get(&(scope.clone(), name.clone())) {
                Some(first) => Err(Box::new(NameCollision {
                    rust_name: name,
                    scope: scope.clone(),
                    first: first.clone(),
                    second: declared,
                })),
                None => {
                    modules.insert((scope.clone(), name), declared);
                    Ok(())
                }
            }
        };
        for (i, message) in file.message_type.iter().enumerate() {
            if has_nested_module(message) {
                let declared = declared(
                    file,
                    &[4, i as i32],
                    format!("message `{}`", message.name()),
                );
                claim(snake_module(message.name()), declared)?;
            }
        }
        for (i, service) in file.service.iter().enumerate() {
            let path = [6, i as i32];
            let declared = declared(file, &path, format!("service `{}`", service.name()));
            claim(ident::client_module(service.name()), declared)?;
            check_methods(file, service, &path)?;
        }
    }
    Ok(())
}

/// Stub methods and descriptor constants of one service.
fn check_methods(
    file: &FileDescriptorProto,
    service: &prost_types::ServiceDescriptorProto,
    service_path: &[i32],
) -> Result<(), Box<NameCollision>> {
    let scope = format!(
        "the stubs of `{}`",
        if file.package().is_empty() {
            service.name().to_string()
        } else {
            format!("{}.{}", file.package(), service.name())
        }
    );
    let mut fns: HashMap<String, Declared> = HashMap::new();
    let mut consts: HashMap<String, Declared> = HashMap::new();
    for (j, method) in service.method.iter().enumerate() {
        let path = [service_path[0], service_path[1], 2, j as i32];
        let here = declared(file, &path, format!("method `{}`", method.name()));
        for (names, name) in [
            (&mut fns, ident::method_fn(method.name())),
            (&mut consts, ident::method_const(method.name())),
        ] {
            if let Some(first) = names.get(&name) {
                return Err(Box::new(NameCollision {
                    rust_name: name,
                    scope,
                    first: first.clone(),
                    second: here,
                }));
            }
            names.insert(name, here.clone());
        }
    }
    Ok(())
}

/// Whether prost-build generates `pub mod <message>` for the message's
/// nested messages, enums or oneofs.
fn has_nested_module(message: &prost_types::DescriptorProto) -> bool {
    let nested = message
        .nested_type
        .iter()
        .any(|m| !m.options.as_ref().is_some_and(|o| o.map_entry()));
    let oneofs = message
        .field
        .iter()
        .any(|f| f.oneof_index.is_some() && !f.proto3_optional());
    nested || !message.enum_type.is_empty() || oneofs
}

/// prost-build's module name for a message's nested types.
fn snake_module(message: &str) -> String {
    use heck::ToSnakeCase;
    ident::sanitize(&message.to_snake_case())
}

/// The declaration at `path` (a `SourceCodeInfo` path), preferring the span
/// of its name (field 1).
fn declared(file: &FileDescriptorProto, path: &[i32], item: String) -> Declared {
    let locations = file
        .source_code_info
        .as_ref()
        .map(|info| info.location.as_slice())
        .unwrap_or_default();
    let mut name_path = path.to_vec();
    name_path.push(1);
    let span = [name_path.as_slice(), path]
        .iter()
        .find_map(|p| locations.iter().find(|l| l.path == *p))
        .map(|l| l.span.clone())
        .unwrap_or_default();
    let one_based = |v: Option<&i32>| v.map_or(0, |v| u32::try_from(*v).unwrap_or(0) + 1);
    Declared {
        item,
        file: file.name().to_string(),
        line: one_based(span.first()),
        column: one_based(span.get(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{MethodDescriptorProto, ServiceDescriptorProto};

    fn service(name: &str, methods: &[&str]) -> ServiceDescriptorProto {
        ServiceDescriptorProto {
            name: Some(name.into()),
            method: methods
                .iter()
                .map(|m| MethodDescriptorProto {
                    name: Some((*m).into()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn file(services: Vec<ServiceDescriptorProto>) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("pkg".into()),
            service: services,
            ..Default::default()
        }
    }

    #[test]
    fn distinct_names_pass() {
        let f = file(vec![
            service("Greeter", &["SayHello", "Get2", "Get_2"]),
            service("GreeterAdmin", &["SayHello"]),
        ]);
        assert_eq!(check(&[f]), Ok(()));
    }

    #[test]
    fn services_differing_in_case_collide() {
        let f = file(vec![service("FooBar", &[]), service("Foo_Bar", &[])]);
        let err = check(&[f]).unwrap_err();
        assert_eq!(err.rust_name, "foo_bar_client");
        assert_eq!(err.first.item, "service `FooBar`");
        assert_eq!(err.second.item, "service `Foo_Bar`");
        assert!(
            err.to_string().starts_with("a.proto: service `Foo_Bar`"),
            "{err}"
        );
    }

    #[test]
    fn methods_differing_in_case_collide() {
        let f = file(vec![service("S", &["GetFoo", "get_foo"])]);
        let err = check(&[f]).unwrap_err();
        assert_eq!(err.rust_name, "get_foo");
        assert_eq!(err.scope, "the stubs of `pkg.S`");
    }

    #[test]
    fn a_method_named_like_a_stub_method_collides_only_with_its_own_kind() {
        let f = file(vec![service("S", &["New", "new_"])]);
        assert_eq!(check(&[f]).unwrap_err().rust_name, "new_");
    }

    #[test]
    fn services_in_different_packages_do_not_collide() {
        let a = file(vec![service("FooBar", &[])]);
        let mut b = file(vec![service("Foo_Bar", &[])]);
        b.package = Some("other".into());
        assert_eq!(check(&[a, b]), Ok(()));
    }
}
