//! describe: a small `grpcurl list` / `grpcurl describe` over server
//! reflection (`switchboard-reflection`).
//!
//! ```text
//! describe                    start the Python grpcio interop peer and describe it
//! describe TARGET             every service of TARGET, with its methods
//! describe TARGET SYMBOL      one service (its methods) or message (its fields)
//! ```
//!
//! TARGET is any switchboard target with reflection on: `127.0.0.1:50051`,
//! `http://host:port`, `https://host`, `dns:///host:port`, `unix:/path`.
//!
//! Run: `cargo run -p switchboard-examples --bin describe` (the first run
//! sets up the Python venv of the interop peer: it needs PyPI).

use std::error::Error;
use std::io::{self, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, MethodDescriptorProto,
    ServiceDescriptorProto,
};
use switchboard::Channel;
use switchboard::prelude::*;
use switchboard_reflection::ReflectionClient;

const USAGE: &str = "usage: describe [TARGET [SYMBOL]]
  no arguments: start the Python grpcio interop peer and describe it
  TARGET:       a server with reflection on, e.g. 127.0.0.1:50051 or https://host
  SYMBOL:       a service or message to describe (default: every service)";

/// `println!` that returns the write error instead of panicking, so that
/// `describe | head` ends quietly when `head` closes the pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(io::stdout().lock(), $($arg)*)?
    };
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error)
            if error
                .downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("describe: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        out!("{USAGE}");
        return Ok(());
    }
    match args.as_slice() {
        [] => describe_the_interop_peer(),
        [target] => describe(target, None),
        [target, symbol] => describe(target, Some(symbol)),
        _ => Err(USAGE.into()),
    }
}

#[cfg(unix)]
fn describe_the_interop_peer() -> Result<(), Box<dyn Error>> {
    use switchboard_interop_peer::python::PythonServer;
    eprintln!("starting the Python grpcio interop peer (tests/interop/python/server.py)…");
    let peer = PythonServer::start()?;
    out!("# the Python grpcio interop peer, at {}", peer.url());
    describe(&peer.url(), None)
    // `peer` is dropped here: the server stops.
}

#[cfg(not(unix))]
fn describe_the_interop_peer() -> Result<(), Box<dyn Error>> {
    Err(format!("the Python interop peer runs on Unix only; name a target\n{USAGE}").into())
}

/// Lists the services of `target` and describes each, or describes
/// `symbol` alone.
fn describe(target: &str, symbol: Option<&str>) -> Result<(), Box<dyn Error>> {
    let channel = Channel::builder(target).build()?;
    let reflection = ReflectionClient::new(channel).with_deadline_after(Duration::from_secs(10));
    match symbol {
        Some(symbol) => describe_symbol(&reflection, symbol)?,
        None => {
            let services = reflection.list_services()?;
            if let Some(version) = reflection.version() {
                out!("# reflection: {version}");
            }
            out!("# {} services", services.len());
            for service in &services {
                out!();
                describe_symbol(&reflection, service)?;
            }
        }
    }
    Ok(())
}

/// Prints the service or message named `symbol`, found in the file the
/// server says defines it.
fn describe_symbol(reflection: &ReflectionClient, symbol: &str) -> Result<(), Box<dyn Error>> {
    let files = reflection.file_containing_symbol(symbol)?;
    let Some(file) = files.first() else {
        return Err(format!("the server sent no file for {symbol}").into());
    };
    if let Some(service) = file
        .service
        .iter()
        .find(|service| full_name(file, service.name()) == symbol)
    {
        print_service(file, service)?;
    } else if let Some(message) = find_message(file, symbol) {
        print_message(symbol, file, message)?;
    } else {
        out!("{symbol} is defined in {}", file.name());
    }
    Ok(())
}

fn full_name(file: &FileDescriptorProto, name: &str) -> String {
    if file.package().is_empty() {
        name.to_owned()
    } else {
        format!("{}.{}", file.package(), name)
    }
}

fn print_service(
    file: &FileDescriptorProto,
    service: &ServiceDescriptorProto,
) -> Result<(), Box<dyn Error>> {
    let methods = service.method.len();
    out!(
        "service {} ({}, {methods} method{})",
        full_name(file, service.name()),
        file.name(),
        if methods == 1 { "" } else { "s" }
    );
    for method in &service.method {
        out!("  {}", method_line(method));
    }
    Ok(())
}

/// `rpc Name(Request) returns (stream Response); // server streaming`.
fn method_line(method: &MethodDescriptorProto) -> String {
    let stream = |yes: bool| if yes { "stream " } else { "" };
    let kind = match (method.client_streaming(), method.server_streaming()) {
        (false, false) => "unary",
        (false, true) => "server streaming",
        (true, false) => "client streaming",
        (true, true) => "bidi streaming",
    };
    format!(
        "rpc {}({}{}) returns ({}{}); // {kind}",
        method.name(),
        stream(method.client_streaming()),
        type_name(method.input_type()),
        stream(method.server_streaming()),
        type_name(method.output_type()),
    )
}

/// The message `symbol` (nested ones too: `pkg.Outer.Inner`) in `file`.
fn find_message<'a>(file: &'a FileDescriptorProto, symbol: &str) -> Option<&'a DescriptorProto> {
    let prefix = if file.package().is_empty() {
        String::new()
    } else {
        format!("{}.", file.package())
    };
    let mut path = symbol.strip_prefix(&prefix)?.split('.');
    let outer = path.next()?;
    let mut message = file.message_type.iter().find(|m| m.name() == outer)?;
    for name in path {
        message = message.nested_type.iter().find(|m| m.name() == name)?;
    }
    Some(message)
}

fn print_message(
    symbol: &str,
    file: &FileDescriptorProto,
    message: &DescriptorProto,
) -> Result<(), Box<dyn Error>> {
    out!("message {symbol} ({}) {{", file.name());
    for field in &message.field {
        out!("  {}", field_line(field));
    }
    out!("}}");
    Ok(())
}

/// `repeated string name = 3;`
fn field_line(field: &FieldDescriptorProto) -> String {
    let label = match field.label() {
        Label::Repeated => "repeated ",
        Label::Optional if field.proto3_optional() => "optional ",
        _ => "",
    };
    let kind = if field.type_name.is_some() {
        type_name(field.type_name()).to_owned()
    } else {
        scalar_name(field.r#type())
    };
    format!("{label}{kind} {} = {};", field.name(), field.number())
}

/// A scalar's proto name: `TYPE_STRING` → `string`.
fn scalar_name(kind: Type) -> String {
    let name = kind.as_str_name();
    name.strip_prefix("TYPE_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// A type reference without its leading dot: `.grpc.testing.Empty` →
/// `grpc.testing.Empty`.
fn type_name(name: &str) -> &str {
    name.strip_prefix('.').unwrap_or(name)
}
