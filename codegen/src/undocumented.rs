//! Doc comments for the public items a `.proto` file left undocumented
//! (layer: generator; edits a parsed file in place).
//!
//! prost-build documents a message, field, enum or value only if the
//! `.proto` file has a comment on it, so a crate that turns on
//! `missing_docs` (or `deny(warnings)` with it) fails on generated code it
//! cannot edit. [`fill`] gives every public item without a `#[doc]` a short
//! one naming what it is (``Field `name`.``); items with docs are left as
//! they are. The stubs this crate generates are documented already.

use syn::{Attribute, Fields, Item, ItemEnum, ItemStruct, Visibility};

/// Adds a doc to every public item of `file` that has none, recursively.
pub fn fill(file: &mut syn::File) {
    fill_items(&mut file.items);
}

fn fill_items(items: &mut [Item]) {
    for item in items {
        match item {
            Item::Struct(s) => fill_struct(s),
            Item::Enum(e) => fill_enum(e),
            Item::Mod(m) => {
                if is_pub(&m.vis) {
                    let name = unraw(&m.ident);
                    ensure_doc(&mut m.attrs, format!("Types nested in `{name}`."));
                }
                if let Some((_, items)) = &mut m.content {
                    fill_items(items);
                }
            }
            Item::Impl(i) if i.trait_.is_none() => {
                for impl_item in &mut i.items {
                    if let syn::ImplItem::Fn(f) = impl_item
                        && is_pub(&f.vis)
                    {
                        let name = unraw(&f.sig.ident);
                        ensure_doc(&mut f.attrs, format!("`{name}`."));
                    }
                }
            }
            Item::Const(c) if is_pub(&c.vis) => {
                let name = unraw(&c.ident);
                ensure_doc(&mut c.attrs, format!("`{name}`."));
            }
            Item::Fn(f) if is_pub(&f.vis) => {
                let name = unraw(&f.sig.ident);
                ensure_doc(&mut f.attrs, format!("`{name}`."));
            }
            Item::Type(t) if is_pub(&t.vis) => {
                let name = unraw(&t.ident);
                ensure_doc(&mut t.attrs, format!("`{name}`."));
            }
            _ => {}
        }
    }
}

fn fill_struct(s: &mut ItemStruct) {
    if !is_pub(&s.vis) {
        return;
    }
    let name = unraw(&s.ident);
    ensure_doc(&mut s.attrs, format!("Message `{name}`."));
    if let Fields::Named(fields) = &mut s.fields {
        for field in &mut fields.named {
            if is_pub(&field.vis) {
                let name = field.ident.as_ref().map(unraw).unwrap_or_default();
                ensure_doc(&mut field.attrs, format!("Field `{name}`."));
            }
        }
    }
}

fn fill_enum(e: &mut ItemEnum) {
    if !is_pub(&e.vis) {
        return;
    }
    let name = unraw(&e.ident);
    let oneof = e.attrs.iter().any(|a| derives(a, "Oneof"));
    let (what, variant) = if oneof {
        ("Oneof", "Field")
    } else {
        ("Enum", "Value")
    };
    ensure_doc(&mut e.attrs, format!("{what} `{name}`."));
    for v in &mut e.variants {
        let name = unraw(&v.ident);
        ensure_doc(&mut v.attrs, format!("{variant} `{name}`."));
    }
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

fn unraw(ident: &proc_macro2::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// Whether `attr` is a `#[derive(...)]` naming a path ending in `name`.
fn derives(attr: &Attribute, name: &str) -> bool {
    if !attr.path().is_ident("derive") {
        return false;
    }
    let mut found = false;
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.segments.last().is_some_and(|s| s.ident == name) {
            found = true;
        }
        Ok(())
    });
    found
}

fn ensure_doc(attrs: &mut Vec<Attribute>, text: String) {
    if attrs.iter().any(|a| a.path().is_ident("doc")) {
        return;
    }
    let text = format!(" {text}");
    let doc: Attribute = syn::parse_quote!(#[doc = #text]);
    attrs.insert(0, doc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undocumented_public_items_get_docs_and_documented_ones_keep_theirs() {
        let mut file: syn::File = syn::parse_quote! {
            /// Documented.
            pub struct A { pub x: i32, /// Kept.
                pub r#type: i32, y: i32 }
            #[derive(Clone, ::prost::Oneof)]
            pub enum Kind { A(i32) }
            pub enum Color { Red }
            pub mod a { pub struct B {} }
            struct Private { pub z: i32 }
        };
        fill(&mut file);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("/// Documented.\npub struct A"), "{text}");
        assert!(text.contains("/// Field `x`."), "{text}");
        assert!(text.contains("/// Kept.\n    pub r#type"), "{text}");
        assert!(!text.contains("Field `y`"), "{text}");
        assert!(text.contains("/// Oneof `Kind`."), "{text}");
        assert!(text.contains("/// Field `A`."), "{text}");
        assert!(text.contains("/// Enum `Color`."), "{text}");
        assert!(text.contains("/// Value `Red`."), "{text}");
        assert!(text.contains("/// Types nested in `a`."), "{text}");
        assert!(text.contains("/// Message `B`."), "{text}");
        assert!(!text.contains("Message `Private`"), "{text}");
    }
}
