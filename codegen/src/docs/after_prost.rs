//! Code blocks in prost-build's doc comments, put back as written (layer:
//! generator; edits a parsed file in place).
//!
//! prost-build rewrites every line of a comment it writes, code or not:
//! each `http(s)://…` run becomes `<http(s)://…>` and each `[…]` not
//! followed by `(` or `[` becomes `\[…\]`. In prose that is what rustdoc
//! needs (and what [`super::sanitize_comments`] has done already), but in
//! a ```` ```text ```` block the reader would see the added `<`, `>` and
//! `\`. [`restore_code_blocks`] undoes both inside the code blocks of the
//! doc comments of `file`.
//!
//! Undoing is exact for the URLs (prost-build's match is the longest run
//! of characters other than whitespace and `)` from `http`, so its added
//! `>` is the last character of the same run in its output). For brackets
//! it is exact unless the `.proto`'s code already held `\[` or `\]`.

use syn::{Attribute, Expr, Fields, Item, Lit, Meta};

use super::blocks::Fence;

/// Restores the code blocks in every doc comment of `file`.
pub fn restore_code_blocks(file: &mut syn::File) {
    restore_items(&mut file.items);
}

fn restore_items(items: &mut [Item]) {
    for item in items {
        match item {
            Item::Struct(s) => {
                restore(&mut s.attrs);
                if let Fields::Named(fields) = &mut s.fields {
                    for field in &mut fields.named {
                        restore(&mut field.attrs);
                    }
                }
            }
            Item::Enum(e) => {
                restore(&mut e.attrs);
                for variant in &mut e.variants {
                    restore(&mut variant.attrs);
                }
            }
            Item::Mod(m) => {
                restore(&mut m.attrs);
                if let Some((_, items)) = &mut m.content {
                    restore_items(items);
                }
            }
            _ => {}
        }
    }
}

/// Restores the code lines among one item's `#[doc]` attributes.
fn restore(attrs: &mut [Attribute]) {
    let mut fence: Option<Fence> = None;
    for attr in attrs {
        let Meta::NameValue(meta) = &mut attr.meta else {
            continue;
        };
        if !meta.path.is_ident("doc") {
            continue;
        }
        let Expr::Lit(expr) = &mut meta.value else {
            continue;
        };
        let Lit::Str(lit) = &expr.lit else { continue };
        let line = lit.value();
        match fence {
            Some(open) if open.closes(&line) => fence = None,
            Some(_) => {
                let restored = restore_line(&line);
                if restored != line {
                    expr.lit = Lit::Str(syn::LitStr::new(&restored, lit.span()));
                }
            }
            None => fence = Fence::open(line.trim_start()),
        }
    }
}

/// One code line as it was before prost-build rewrote it.
fn restore_line(line: &str) -> String {
    let unbracketed = line.replace("\\[", "[").replace("\\]", "]");
    let mut out = String::with_capacity(unbracketed.len());
    let mut rest = unbracketed.as_str();
    while let Some(at) = rest.find("<http") {
        let run_start = at + 1;
        let run_len = rest[run_start..]
            .find(|c: char| c.is_whitespace() || c == ')')
            .unwrap_or(rest.len() - run_start);
        let run = &rest[run_start..run_start + run_len];
        if (run.starts_with("http://") || run.starts_with("https://")) && run.ends_with('>') {
            out.push_str(&rest[..at]);
            out.push_str(&run[..run.len() - 1]);
        } else {
            out.push_str(&rest[..run_start + run_len]);
        }
        rest = &rest[run_start + run_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restored(source: &str) -> String {
        let mut file: syn::File = syn::parse_str(source).unwrap_or_else(|e| panic!("{e}"));
        restore_code_blocks(&mut file);
        prettyplease::unparse(&file)
    }

    #[test]
    fn code_lines_lose_what_prost_build_added() {
        let text = restored(
            "/// See <https://x.io/a> and \\[b\\].\n\
             /// ```text\n\
             /// Template = \"/\" Segments \\[ Verb \\] ;\n\
             /// scheme <https://> and <<https://x>>\n\
             /// ```\n\
             /// After <https://y.io> \\[c\\].\n\
             pub struct A {}",
        );
        assert!(
            text.contains("/// See <https://x.io/a> and \\[b\\]."),
            "{text}"
        );
        assert!(
            text.contains("/// Template = \"/\" Segments [ Verb ] ;"),
            "{text}"
        );
        assert!(
            text.contains("/// scheme https:// and <https://x>"),
            "{text}"
        );
        assert!(text.contains("/// After <https://y.io> \\[c\\]."), "{text}");
    }

    #[test]
    fn fields_variants_and_nested_modules_are_restored_too() {
        let text = restored(
            "pub struct A {\n\
               /// ```text\n/// \\[x\\]\n/// ```\n pub f: i32 }\n\
             pub mod m { pub enum E {\n\
               /// ```text\n/// \\[y\\]\n/// ```\n V } }",
        );
        assert!(text.contains("/// [x]"), "{text}");
        assert!(text.contains("/// [y]"), "{text}");
    }
}
