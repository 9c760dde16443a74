//! The client module of one service, as tokens (layer: generator; built
//! with `quote!`, no I/O).
//!
//! For `service Greeter` this is `pub mod greeter_client { … }` holding one
//! `MethodDescriptor` constant per method, `GreeterBlockingStub` and
//! `GreeterAsyncStub` (see ARCHITECTURE.md, "Generated code"): each stub is a
//! channel and call options, implements `switchboard::stub::Stub` (which
//! owns the `with_*` options, see `stub_parts`), and has one method per RPC
//! that calls the runtime's helper for its kind. Everything the
//! module uses is spelled `::switchboard::codegen::…`, so a crate needs no
//! dependency beyond `switchboard` and `prost`, and user items can shadow
//! nothing. Message types come from the package module, one level up.
//!
//! Invariants: every public item gets a doc comment (so `missing_docs`
//! passes); deprecated methods and services are `#[deprecated]`, and the
//! module's own uses of them are `#[allow(deprecated)]`, so the generated
//! code itself compiles without warnings. A type path that does not parse
//! yields a `compile_error!` naming it instead of a panic.

use proc_macro2::TokenStream;
use quote::quote;

use crate::docs::doc_lines;
use crate::ident::{self, to_ident};
use crate::model::{Kind, Method, Service};
use crate::stub_parts;

/// The `<service>_client` module for `service`.
pub fn client_module(service: &Service) -> TokenStream {
    let module = to_ident(&ident::client_module(&service.proto_name));
    let full_name = service.full_name();
    let blocking = to_ident(&ident::blocking_stub(&service.proto_name));
    let asynchronous = to_ident(&ident::async_stub(&service.proto_name));

    let mut module_doc = doc_lines(&service.comments);
    if module_doc.is_empty() {
        module_doc.push(format!(" The `{full_name}` service."));
    }
    module_doc.push(String::new());
    module_doc.push(format!(" Client stubs for `{full_name}`:"));
    // The module's outer doc resolves links from the parent module.
    module_doc.push(format!(
        " [`{blocking}`]({module}::{blocking}) blocks the calling thread,"
    ));
    module_doc.push(format!(
        " [`{asynchronous}`]({module}::{asynchronous}) returns"
    ));
    module_doc
        .push(" futures and streams. Both make their calls on a `switchboard::Channel`.".into());
    let module_doc = doc_attrs(&module_doc);

    let mut consts = Vec::new();
    let mut blocking_methods = Vec::new();
    let mut async_methods = Vec::new();
    for method in &service.methods {
        match MethodTokens::new(service, method) {
            Ok(m) => {
                consts.push(m.descriptor());
                blocking_methods.push(m.blocking());
                async_methods.push(m.asynchronous());
            }
            Err(error) => consts.push(error),
        }
    }

    let service_doc = doc_lines(&service.comments);
    let blocking_doc = stub_doc(
        &service_doc,
        [
            format!(" Blocking client for `{full_name}`."),
            String::new(),
            " Each method blocks the calling thread until its call ends, or returns a".into(),
            " blocking iterator or call handle. Needs no async runtime.".into(),
        ],
    );
    let async_doc = stub_doc(
        &service_doc,
        [
            format!(" Async client for `{full_name}`."),
            String::new(),
            " Each method starts its call at once and returns a future or a stream that".into(),
            " runs on any executor. Dropping it before it completes cancels the call.".into(),
        ],
    );
    let deprecated = service.deprecated.then(|| quote!(#[deprecated]));
    let allow_deprecated = service.deprecated.then(|| quote!(#[allow(deprecated)]));
    let fields = stub_parts::fields();
    let new_fn = stub_parts::new_fn();
    let blocking_impl = stub_parts::stub_impl(&blocking);
    let async_impl = stub_parts::stub_impl(&asynchronous);

    quote! {
        #module_doc
        pub mod #module {
            #(#consts)*

            #blocking_doc
            #deprecated
            #[derive(Clone, Debug)]
            pub struct #blocking { #fields }

            #allow_deprecated
            #blocking_impl

            #allow_deprecated
            impl #blocking {
                #new_fn
                #(#blocking_methods)*
            }

            #async_doc
            #deprecated
            #[derive(Clone, Debug)]
            pub struct #asynchronous { #fields }

            #allow_deprecated
            #async_impl

            #allow_deprecated
            impl #asynchronous {
                #new_fn
                #(#async_methods)*
            }
        }
    }
}

/// A stub's doc: what the stub is, the service's comments, and how options
/// and clones behave.
fn stub_doc(service_doc: &[String], summary: [String; 4]) -> TokenStream {
    let mut lines = summary.to_vec();
    if !service_doc.is_empty() {
        lines.push(String::new());
        lines.extend(service_doc.iter().cloned());
    }
    lines.push(String::new());
    lines.push(" Cheap to clone: clones share the channel. The call options".into());
    lines.push(" (`with_deadline_after`, …) come from [`Stub`](switchboard::stub::Stub)".into());
    lines.push(" (`use switchboard::prelude::*;`) and apply to every call made through".into());
    lines.push(" the stub they return.".into());
    doc_attrs(&lines)
}

/// The pieces generated for one method.
struct MethodTokens {
    fn_name: syn::Ident,
    const_name: syn::Ident,
    request: TokenStream,
    response: TokenStream,
    kind: Kind,
    path: String,
    doc: Vec<String>,
    deprecated: bool,
}

impl MethodTokens {
    /// Resolves the method's names and types; a type that does not parse
    /// gives back a `compile_error!` instead.
    fn new(service: &Service, method: &Method) -> Result<MethodTokens, TokenStream> {
        let path = service.path_of(method);
        Ok(MethodTokens {
            fn_name: to_ident(&ident::method_fn(&method.proto_name)),
            const_name: to_ident(&ident::method_const(&method.proto_name)),
            request: message_type(&method.input_type, &path)?,
            response: message_type(&method.output_type, &path)?,
            kind: method.kind(),
            doc: doc_lines(&method.comments),
            deprecated: method.deprecated,
            path,
        })
    }

    fn descriptor(&self) -> TokenStream {
        let MethodTokens {
            const_name,
            request,
            response,
            path,
            ..
        } = self;
        let kind = match self.kind {
            Kind::Unary => quote!(Unary),
            Kind::ServerStreaming => quote!(ServerStreaming),
            Kind::ClientStreaming => quote!(ClientStreaming),
            Kind::BidiStreaming => quote!(BidiStreaming),
        };
        let doc = doc_attrs(&[format!(
            " Method descriptor of `{path}`, a {} method.",
            kind_words(self.kind)
        )]);
        let deprecated = self.deprecated.then(|| quote!(#[deprecated]));
        quote! {
            #doc
            #deprecated
            pub const #const_name: ::switchboard::codegen::MethodDescriptor<#request, #response> =
                ::switchboard::codegen::MethodDescriptor::new(
                    #path,
                    ::switchboard::codegen::MethodKind::#kind,
                    ::switchboard::codegen::ProstCodec,
                );
        }
    }

    fn blocking(&self) -> TokenStream {
        let MethodTokens {
            const_name,
            request,
            response,
            ..
        } = self;
        let (what, signature, body): (&[&str], _, _) = match self.kind {
            Kind::Unary => (
                &["Blocks until the response arrives."],
                quote! {
                    (&self, request: #request)
                        -> ::core::result::Result<#response, ::switchboard::codegen::Status>
                },
                quote!(blocking_unary_call(&self.channel, &#const_name, &self.options, request)),
            ),
            Kind::ServerStreaming => (
                &[
                    "Returns the responses as a blocking iterator; dropping it early",
                    "cancels the call.",
                ],
                quote! {
                    (&self, request: #request)
                        -> ::switchboard::codegen::BlockingResponseStream<#response>
                },
                quote!(blocking_server_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options,
                    request
                )),
            ),
            Kind::ClientStreaming => (
                &[
                    "Sends every request of `requests`, then blocks until the response",
                    "arrives.",
                ],
                quote! {
                    (&self, requests: impl ::core::iter::IntoIterator<Item = #request>)
                        -> ::core::result::Result<#response, ::switchboard::codegen::Status>
                },
                quote!(blocking_client_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options,
                    requests
                )),
            ),
            Kind::BidiStreaming => (
                &[
                    "Starts the call and returns its handle: send requests, receive",
                    "responses, half-close.",
                ],
                quote! {
                    (&self) -> ::switchboard::codegen::BlockingBidiCall<#request, #response>
                },
                quote!(blocking_bidi_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options
                )),
            ),
        };
        self.stub_fn(what, signature, body)
    }

    fn asynchronous(&self) -> TokenStream {
        let MethodTokens {
            const_name,
            request,
            response,
            ..
        } = self;
        let requests = quote! {
            requests: impl ::switchboard::codegen::Stream<Item = #request> + ::core::marker::Send + 'static
        };
        let (what, signature, body): (&[&str], _, _) = match self.kind {
            Kind::Unary => (
                &["Starts the call now; the future resolves to the response."],
                quote! {
                    (&self, request: #request) -> ::switchboard::codegen::UnaryFuture<#response>
                },
                quote!(future_unary_call(&self.channel, &#const_name, &self.options, request)),
            ),
            Kind::ServerStreaming => (
                &["Starts the call now and returns the stream of responses."],
                quote! {
                    (&self, request: #request) -> ::switchboard::codegen::ResponseStream<#response>
                },
                quote!(async_server_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options,
                    request
                )),
            ),
            Kind::ClientStreaming => (
                &[
                    "Starts the call now and sends the requests of `requests`; the future",
                    "resolves to the response.",
                ],
                quote! {
                    (&self, #requests) -> ::switchboard::codegen::UnaryFuture<#response>
                },
                quote!(async_client_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options,
                    requests
                )),
            ),
            Kind::BidiStreaming => (
                &[
                    "Starts the call now, sends the requests of `requests` and returns the",
                    "stream of responses.",
                ],
                quote! {
                    (&self, #requests) -> ::switchboard::codegen::ResponseStream<#response>
                },
                quote!(async_bidi_streaming_call(
                    &self.channel,
                    &#const_name,
                    &self.options,
                    requests
                )),
            ),
        };
        self.stub_fn(what, signature, body)
    }

    /// One stub method: docs (the proto comment, then what the call does),
    /// deprecation, and a body that calls `helper`.
    fn stub_fn(&self, what: &[&str], signature: TokenStream, helper: TokenStream) -> TokenStream {
        let fn_name = &self.fn_name;
        let mut doc = self.doc.clone();
        if !doc.is_empty() {
            doc.push(String::new());
        }
        doc.push(format!(" `{}` ({}).", self.path, kind_words(self.kind)));
        doc.extend(what.iter().map(|line| format!(" {line}")));
        let doc = doc_attrs(&doc);
        let deprecated = self
            .deprecated
            .then(|| quote!(#[deprecated] #[allow(deprecated)]));
        quote! {
            #doc
            #deprecated
            pub fn #fn_name #signature {
                ::switchboard::codegen::#helper
            }
        }
    }
}

fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Unary => "unary",
        Kind::ServerStreaming => "server streaming",
        Kind::ClientStreaming => "client streaming",
        Kind::BidiStreaming => "bidi streaming",
    }
}

/// A message type as seen from inside the client module: prost-build gives
/// paths relative to the package module, so a relative path gains one
/// `super::`; absolute paths, primitives and `()` stay as they are.
fn message_type(rust_type: &str, path: &str) -> Result<TokenStream, TokenStream> {
    let ty: syn::Type = syn::parse_str(rust_type).map_err(|e| {
        let message = format!(
            "switchboard-codegen: cannot use `{rust_type}` as the message type of {path}: {e}"
        );
        quote!(::core::compile_error!(#message);)
    })?;
    let relative = match &ty {
        syn::Type::Path(p) if p.qself.is_none() && p.path.leading_colon.is_none() => {
            let first = p.path.segments.first().map(|s| s.ident.to_string());
            match first.as_deref() {
                Some("crate") => false,
                Some(name) if p.path.segments.len() == 1 && is_primitive(name) => false,
                _ => true,
            }
        }
        _ => false,
    };
    Ok(if relative {
        let inner = rust_type.strip_prefix("self::").unwrap_or(rust_type);
        let ty: syn::Type = syn::parse_str(&format!("super::{inner}")).map_err(|e| {
            let message = format!("switchboard-codegen: cannot resolve `{rust_type}`: {e}");
            quote!(::core::compile_error!(#message);)
        })?;
        quote!(#ty)
    } else {
        quote!(#ty)
    })
}

/// The types prost-build maps wrapper well-known types to. A message type
/// is always upper camel case, so it never looks like one of these.
fn is_primitive(name: &str) -> bool {
    matches!(name, "bool" | "i32" | "i64" | "u32" | "u64" | "f32" | "f64")
}

/// `#[doc = "…"]` attributes, one per line.
fn doc_attrs(lines: &[String]) -> TokenStream {
    quote!(#(#[doc = #lines])*)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(s: &str) -> String {
        message_type(s, "/p.S/M")
            .unwrap()
            .to_string()
            .replace(' ', "")
    }

    #[test]
    fn message_types_are_resolved_from_the_client_module() {
        assert_eq!(ty("HelloRequest"), "super::HelloRequest");
        assert_eq!(ty("super::common::Point"), "super::super::common::Point");
        assert_eq!(ty("outer::Inner"), "super::outer::Inner");
        assert_eq!(ty("r#type::Foo"), "super::r#type::Foo");
        assert_eq!(ty("::prost_types::Timestamp"), "::prost_types::Timestamp");
        assert_eq!(ty("crate::pb::Foo"), "crate::pb::Foo");
        assert_eq!(ty("()"), "()");
        assert_eq!(ty("bool"), "bool");
        // A message named `string` is `String` in its package, not std's.
        assert_eq!(ty("String"), "super::String");
        assert_eq!(
            ty("::prost::alloc::string::String"),
            "::prost::alloc::string::String"
        );
    }

    #[test]
    fn an_unparsable_type_becomes_a_compile_error() {
        let err = message_type("not a type", "/p.S/M")
            .unwrap_err()
            .to_string();
        assert!(err.contains("compile_error"), "{err}");
        assert!(err.contains("/p.S/M"), "{err}");
    }
}
