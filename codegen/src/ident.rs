//! Rust names for proto names (layer: bottom; pure functions, no I/O).
//!
//! Owns the one naming scheme every other module uses, so that the
//! generator and the collision check ([`crate::names`]) can never disagree:
//!
//! | proto | Rust | example |
//! | --- | --- | --- |
//! | service `Greeter` | module `greeter_client` | [`client_module`] |
//! | service `Greeter` | `GreeterBlockingStub`, `GreeterAsyncStub` | [`blocking_stub`], [`async_stub`] |
//! | method `SayHello` | fn `say_hello` | [`method_fn`] |
//! | method `SayHello` | const `SAY_HELLO` | [`method_const`] |
//!
//! Invariants: every function returns a valid Rust identifier for any
//! input, even one that is not a proto identifier (characters outside
//! `[A-Za-z0-9_]` become `_`), so building a `syn::Ident` from the result
//! never panics. Keywords become raw identifiers (`r#type`); the ones that
//! cannot be raw (`self`, `Self`, `super`, `crate`, `extern`, `_`) and the
//! names of the stubs' own methods (`new`, `channel`, `with_deadline`, any
//! `with_…`) get a `_` suffix instead.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// The stubs' own methods: the inherent `new` and the required methods of
/// `switchboard::stub::Stub`. A proto method whose snake-case name is one of
/// these, or starts with [`STUB_OPTION_PREFIX`], gets a `_` suffix, like a
/// keyword.
pub const STUB_METHODS: &[&str] = &["new", "from_parts", "into_parts", "channel", "options"];

/// How the name of every call option of `switchboard::stub::Stub` starts
/// (`with_deadline_after`, `with_options`, …). The whole prefix is reserved,
/// not each option's name, so an option added to the runtime renames no
/// generated method.
pub const STUB_OPTION_PREFIX: &str = "with_";

/// Whether `snake` names a method every stub has (see [`STUB_METHODS`]).
pub fn is_stub_method(snake: &str) -> bool {
    STUB_METHODS.contains(&snake) || snake.starts_with(STUB_OPTION_PREFIX)
}

/// The module holding a service's stubs: `Greeter` → `greeter_client`.
pub fn client_module(service: &str) -> String {
    format!("{}_client", words(service).to_snake_case())
}

/// The blocking stub type: `Greeter` → `GreeterBlockingStub`.
pub fn blocking_stub(service: &str) -> String {
    format!("{}BlockingStub", camel_base(service))
}

/// The async stub type: `Greeter` → `GreeterAsyncStub`.
pub fn async_stub(service: &str) -> String {
    format!("{}AsyncStub", camel_base(service))
}

/// The stub method for a proto method: `SayHello` → `say_hello`, `Type` →
/// `r#type`, `Self` → `self_`, `New` → `new_`.
pub fn method_fn(method: &str) -> String {
    let snake = words(method).to_snake_case();
    if is_stub_method(&snake) {
        return format!("{snake}_");
    }
    sanitize(&snake)
}

/// The method descriptor constant: `SayHello` → `SAY_HELLO`.
pub fn method_const(method: &str) -> String {
    sanitize(&words(method).to_shouty_snake_case())
}

/// An identifier from a name produced by this module (`r#type` becomes a
/// raw identifier). Never panics: anything that is not an identifier is
/// sanitized first.
pub fn to_ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) if is_plain_ident(raw) && can_be_raw(raw) => {
            Ident::new_raw(raw, Span::call_site())
        }
        _ => {
            let clean = sanitize(name);
            match clean.strip_prefix("r#") {
                Some(raw) => Ident::new_raw(raw, Span::call_site()),
                None => Ident::new(&clean, Span::call_site()),
            }
        }
    }
}

/// Turns `name` into a valid identifier: invalid characters become `_`, a
/// leading digit gets a `_` prefix, keywords become raw or get a `_` suffix.
pub fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    } else if KEYWORDS.contains(&s.as_str()) {
        s.insert_str(0, "r#");
    }
    s
}

/// The upper-camel base of the stub type names; never a keyword, since a
/// suffix follows.
fn camel_base(service: &str) -> String {
    let camel = words(service).to_upper_camel_case();
    sanitize_chars(&camel)
}

/// Keeps only identifier characters (for the case conversions, which drop
/// everything else as word separators anyway).
fn words(name: &str) -> String {
    sanitize_chars(name)
}

fn sanitize_chars(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn is_plain_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn can_be_raw(s: &str) -> bool {
    !NOT_RAW.contains(&s)
}

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["_", "self", "Self", "super", "crate", "extern"];

/// Strict and reserved keywords of every edition up to 2024.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct",
    "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "async",
    "await", "try", "gen",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_naming_scheme() {
        assert_eq!(client_module("Greeter"), "greeter_client");
        assert_eq!(client_module("RouteGuide"), "route_guide_client");
        assert_eq!(blocking_stub("route_guide"), "RouteGuideBlockingStub");
        assert_eq!(async_stub("Greeter"), "GreeterAsyncStub");
        assert_eq!(method_fn("SayHello"), "say_hello");
        assert_eq!(method_const("SayHello"), "SAY_HELLO");
        assert_eq!(method_const("getHTTPThing"), "GET_HTTP_THING");
    }

    #[test]
    fn keywords_and_stub_methods() {
        assert_eq!(method_fn("Type"), "r#type");
        assert_eq!(method_fn("match"), "r#match");
        assert_eq!(method_fn("Self"), "self_");
        assert_eq!(method_fn("super"), "super_");
        assert_eq!(method_fn("Crate"), "crate_");
        assert_eq!(method_fn("New"), "new_");
        assert_eq!(method_fn("WithDeadline"), "with_deadline_");
        assert_eq!(
            method_fn("WithSomeFutureOption"),
            "with_some_future_option_"
        );
        assert_eq!(method_fn("FromParts"), "from_parts_");
        assert_eq!(method_fn("Withdraw"), "withdraw");
        assert_eq!(method_const("Self"), "SELF");
        assert_eq!(client_module("type"), "type_client");
        assert_eq!(blocking_stub("Self"), "SelfBlockingStub");
    }

    #[test]
    fn names_differing_in_case_or_underscores_collide() {
        assert_eq!(method_fn("GetFoo"), method_fn("get_foo"));
        assert_eq!(client_module("FooBar"), client_module("Foo_Bar"));
        assert_ne!(method_fn("Get2"), method_fn("Get_2"));
    }

    #[test]
    fn anything_becomes_a_valid_ident() {
        for name in ["", "_", "9lives", "a-b", "ü", "self", "r#self", "r#", "r#9"] {
            for made in [method_fn(name), method_const(name), client_module(name)] {
                let _ = to_ident(&made);
            }
            let _ = to_ident(name);
        }
        assert_eq!(to_ident("r#type").to_string(), "r#type");
        assert_eq!(to_ident("self").to_string(), "self_");
        assert_eq!(sanitize("9lives"), "_9lives");
    }
}
