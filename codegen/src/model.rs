//! What the generator needs to know about a service (layer: bottom; plain
//! data).
//!
//! [`Service`] and [`Method`] are the small description the stub generator
//! (`crate::client`) works from. They are filled from prost-build's
//! [`prost_build::Service`] (which both `switchboard-build` and the protoc
//! plugin go through), or by hand in tests. Names are kept as written in the
//! `.proto` file; turning them into Rust names is [`crate::ident`]'s job.
//! Message types are Rust paths relative to the package module, as
//! prost-build resolves them (`HelloRequest`, `super::common::Point`,
//! `::prost_types::Timestamp`, `()`).

/// One proto service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    /// The service name as written in the `.proto` file, e.g. `Greeter`.
    pub proto_name: String,
    /// The proto package, e.g. `helloworld`; empty for a file with none.
    pub package: String,
    /// The comment lines above the service (then its trailing comment), as
    /// protoc reports them: without the `//`, with their leading space.
    pub comments: Vec<String>,
    /// `option deprecated = true;` on the service.
    pub deprecated: bool,
    /// The methods, in declaration order.
    pub methods: Vec<Method>,
}

/// One RPC method.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Method {
    /// The method name as written in the `.proto` file, e.g. `SayHello`.
    pub proto_name: String,
    /// The comment lines above the method (then its trailing comment).
    pub comments: Vec<String>,
    /// The request message's Rust type, relative to the package module.
    pub input_type: String,
    /// The response message's Rust type, relative to the package module.
    pub output_type: String,
    /// The client sends a stream of requests.
    pub client_streaming: bool,
    /// The server sends a stream of responses.
    pub server_streaming: bool,
    /// `option deprecated = true;` on the method.
    pub deprecated: bool,
}

/// The four kinds of gRPC method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    BidiStreaming,
}

impl Service {
    /// The fully qualified service name, `package.Service` (or `Service`).
    pub fn full_name(&self) -> String {
        if self.package.is_empty() {
            self.proto_name.clone()
        } else {
            format!("{}.{}", self.package, self.proto_name)
        }
    }

    /// The HTTP/2 `:path` of `method`: `/package.Service/Method`.
    pub fn path_of(&self, method: &Method) -> String {
        format!("/{}/{}", self.full_name(), method.proto_name)
    }
}

impl Method {
    /// The method's kind, from its two streaming flags.
    pub fn kind(&self) -> Kind {
        match (self.client_streaming, self.server_streaming) {
            (false, false) => Kind::Unary,
            (false, true) => Kind::ServerStreaming,
            (true, false) => Kind::ClientStreaming,
            (true, true) => Kind::BidiStreaming,
        }
    }
}

impl From<prost_build::Service> for Service {
    fn from(service: prost_build::Service) -> Self {
        Service {
            deprecated: service.options.deprecated(),
            comments: comment_lines(&service.comments),
            methods: service.methods.into_iter().map(Method::from).collect(),
            proto_name: service.proto_name,
            package: service.package,
        }
    }
}

impl From<prost_build::Method> for Method {
    fn from(method: prost_build::Method) -> Self {
        Method {
            deprecated: method.options.deprecated(),
            comments: comment_lines(&method.comments),
            proto_name: method.proto_name,
            input_type: method.input_type,
            output_type: method.output_type,
            client_streaming: method.client_streaming,
            server_streaming: method.server_streaming,
        }
    }
}

/// Leading comment lines, then (after a blank line) trailing ones; detached
/// comments are not documentation and are dropped.
fn comment_lines(comments: &prost_build::Comments) -> Vec<String> {
    let mut lines = comments.leading.clone();
    if !lines.is_empty() && !comments.trailing.is_empty() {
        lines.push(String::new());
    }
    lines.extend(comments.trailing.iter().cloned());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_kinds() {
        let method = Method {
            proto_name: "SayHello".into(),
            ..Method::default()
        };
        let mut service = Service {
            proto_name: "Greeter".into(),
            package: "helloworld".into(),
            ..Service::default()
        };
        assert_eq!(service.path_of(&method), "/helloworld.Greeter/SayHello");
        service.package.clear();
        assert_eq!(service.path_of(&method), "/Greeter/SayHello");
        let bidi = Method {
            client_streaming: true,
            server_streaming: true,
            ..method
        };
        assert_eq!(bidi.kind(), Kind::BidiStreaming);
    }
}
