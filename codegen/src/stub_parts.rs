//! What both stubs of a service share, as tokens (layer: generator;
//! `quote!` only).
//!
//! A stub holds a `Channel` and `CallOptions` and implements
//! `switchboard::stub::Stub` with its four required methods (`from_parts`,
//! `into_parts`, `channel`, `options`); the call options (`with_deadline`,
//! `with_wait_for_ready`, …) are the trait's provided methods, written once
//! in the runtime, so adding one changes nothing generated here. Each stub
//! also gets an inherent `new`, so building one needs no import.
//!
//! The names of all these methods, and every `with_…` name, are reserved
//! ([`crate::ident::is_stub_method`]): a proto method cannot shadow them.

use proc_macro2::TokenStream;
use quote::quote;

/// The stub's fields, as `struct #name { … }` needs them.
pub fn fields() -> TokenStream {
    quote! {
        channel: ::switchboard::codegen::Channel,
        options: ::switchboard::codegen::CallOptions,
    }
}

/// `impl Stub for #stub`: how the stub is built from a channel and options,
/// and taken apart again.
pub fn stub_impl(stub: &syn::Ident) -> TokenStream {
    quote! {
        impl ::switchboard::codegen::Stub for #stub {
            fn from_parts(
                channel: ::switchboard::codegen::Channel,
                options: ::switchboard::codegen::CallOptions,
            ) -> Self {
                Self { channel, options }
            }

            fn into_parts(self) -> (::switchboard::codegen::Channel, ::switchboard::codegen::CallOptions) {
                (self.channel, self.options)
            }

            fn channel(&self) -> &::switchboard::codegen::Channel {
                &self.channel
            }

            fn options(&self) -> &::switchboard::codegen::CallOptions {
                &self.options
            }
        }
    }
}

/// The inherent `new`: a stub with default call options.
pub fn new_fn() -> TokenStream {
    quote! {
        /// A stub that makes its calls on `channel`, with default call options.
        pub fn new(channel: ::switchboard::codegen::Channel) -> Self {
            Self {
                channel,
                options: ::switchboard::codegen::CallOptions::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::is_stub_method;

    fn fn_names(items: &[syn::ImplItem]) -> Vec<String> {
        items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_generated_stub_method_is_reserved() {
        let stub = quote::format_ident!("S");
        let (implementation, new) = (stub_impl(&stub), new_fn());
        let file: syn::File = syn::parse2(quote!(#implementation impl S { #new })).unwrap();
        for item in &file.items {
            let syn::Item::Impl(block) = item else {
                panic!("an impl block")
            };
            for name in fn_names(&block.items) {
                assert!(is_stub_method(&name), "{name}");
            }
        }
    }

    /// The runtime's `Stub` trait is the other half of every stub: each of
    /// its methods, required or provided, must be reserved too, or a proto
    /// method of the same name would shadow it.
    #[test]
    fn every_method_of_the_runtime_stub_trait_is_reserved() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../runtime/src/stub/stub_trait.rs"
        );
        let source = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&source).unwrap();
        let stub = file
            .items
            .iter()
            .find_map(|item| match item {
                syn::Item::Trait(t) if t.ident == "Stub" => Some(t),
                _ => None,
            })
            .expect("trait Stub");
        let names: Vec<String> = stub
            .items
            .iter()
            .filter_map(|item| match item {
                syn::TraitItem::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            })
            .collect();
        assert!(names.len() >= 4, "{names:?}");
        for name in names {
            assert!(is_stub_method(&name), "{name}");
        }
    }
}
