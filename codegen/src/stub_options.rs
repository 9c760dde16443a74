//! The methods both stubs share, as tokens (layer: generator; `quote!`
//! only).
//!
//! `new`, the `channel` and `options` accessors, `with_options`, and one
//! builder per `CallOptions` setting (`with_deadline_after`,
//! `with_deadline`, `with_wait_for_ready`, `with_compression`,
//! `with_metadata`, `with_max_inbound_message_size`,
//! `with_max_outbound_message_size`, `with_interceptor`), each delegating
//! to the `CallOptions` method of the same name. Their names are reserved:
//! [`crate::ident::STUB_METHODS`] must list every one, so a proto method
//! cannot shadow them.

use proc_macro2::TokenStream;
use quote::quote;

/// `new`, the accessors and the per-stub options, shared by both stubs;
/// each option delegates to the `CallOptions` method of the same name.
pub fn common_methods() -> TokenStream {
    quote! {
        /// A stub that makes its calls on `channel`, with default call options.
        pub fn new(channel: ::switchboard::codegen::Channel) -> Self {
            Self {
                channel,
                options: ::switchboard::codegen::CallOptions::new(),
            }
        }

        /// The channel this stub makes its calls on.
        pub fn channel(&self) -> &::switchboard::codegen::Channel {
            &self.channel
        }

        /// The options every call made through this stub gets.
        pub fn options(&self) -> &::switchboard::codegen::CallOptions {
            &self.options
        }

        /// Replaces all of this stub's call options with `options`.
        pub fn with_options(mut self, options: ::switchboard::codegen::CallOptions) -> Self {
            self.options = options;
            self
        }

        /// Each call must finish within `timeout` of when it starts: every call
        /// gets a fresh deadline. Replaces any absolute deadline.
        pub fn with_deadline_after(mut self, timeout: ::switchboard::codegen::Duration) -> Self {
            self.options = self.options.with_deadline_after(timeout);
            self
        }

        /// Every call must finish by the absolute `deadline`. Replaces any
        /// relative timeout.
        pub fn with_deadline(mut self, deadline: ::switchboard::codegen::Deadline) -> Self {
            self.options = self.options.with_deadline(deadline);
            self
        }

        /// Whether a call made while the channel is not ready waits for it (until
        /// the deadline) instead of failing at once with `UNAVAILABLE`.
        pub fn with_wait_for_ready(mut self, wait_for_ready: bool) -> Self {
            self.options = self.options.with_wait_for_ready(wait_for_ready);
            self
        }

        /// Compresses request messages with `encoding` (its `grpc-encoding`
        /// name, e.g. `"gzip"`).
        pub fn with_compression(mut self, encoding: &str) -> Self {
            self.options = self.options.with_compression(encoding);
            self
        }

        /// Adds `metadata` to the request metadata of every call.
        pub fn with_metadata(mut self, metadata: ::switchboard::codegen::Metadata) -> Self {
            self.options = self.options.with_metadata(metadata);
            self
        }

        /// The largest response message, in bytes, a call accepts.
        pub fn with_max_inbound_message_size(mut self, bytes: usize) -> Self {
            self.options = self.options.with_max_inbound_message_size(bytes);
            self
        }

        /// The largest request message, in bytes, a call sends.
        pub fn with_max_outbound_message_size(mut self, bytes: usize) -> Self {
            self.options = self.options.with_max_outbound_message_size(bytes);
            self
        }

        /// Runs `interceptor` before every call, after those added before it.
        pub fn with_interceptor(
            mut self,
            interceptor: impl ::switchboard::codegen::Interceptor,
        ) -> Self {
            self.options = self.options.with_interceptor(interceptor);
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_method_is_reserved() {
        let methods = common_methods();
        let file: syn::File = syn::parse2(quote!(impl S { #methods })).unwrap();
        let syn::Item::Impl(block) = &file.items[0] else {
            panic!("an impl block")
        };
        let names: Vec<String> = block
            .items
            .iter()
            .filter_map(|item| match item {
                syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(names.len(), crate::ident::STUB_METHODS.len());
        for name in names {
            assert!(
                crate::ident::STUB_METHODS.contains(&name.as_str()),
                "{name}"
            );
        }
    }
}
