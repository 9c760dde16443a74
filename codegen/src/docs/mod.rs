//! Proto comments → rustdoc text (layer: bottom; pure functions).
//!
//! Proto comments are written for humans reading a `.proto` file, not for
//! rustdoc, and taken literally they break a library crate's CI: an
//! unmarked or indented code block becomes a doctest that does not compile,
//! `[name]` becomes a broken intra-doc link, `<b>` or `<T>` becomes
//! (unclosed) HTML, a bare URL trips `rustdoc::bare_urls`, and a list
//! written with loose indentation trips clippy's `doc_lazy_continuation`
//! and `doc_overindented_list_items`. The rewrite keeps what the author
//! meant and gives rustdoc and clippy nothing to check:
//!
//! - blocks (`blocks`): lists keep their structure with the indentation
//!   CommonMark expects; fenced, indented and HTML `<pre>` code becomes a
//!   ```` ```text ```` block;
//! - inline (`inline`): outside code, `[`, `]` and `<` are escaped unless
//!   they form a link or an autolink, and bare URLs are wrapped in `<…>`.
//!
//! Two entry points, for the two writers of doc comments:
//!
//! - [`doc_lines`]: the stubs' docs, which this crate writes itself;
//! - [`sanitize_comments`]: the messages' docs, which prost-build writes
//!   from the descriptors' comments. It rewrites those comments before
//!   prost-build runs, leaving URLs to prost-build (which wraps them), and
//!   undoes ahead of time the one change prost-build makes: it adds a space
//!   to every line that starts with two or more, which would push a list's
//!   continuation past its content column, or prose into an indented code
//!   block. Service and method comments are left alone: the stubs' writer
//!   reads them and calls [`doc_lines`]. prost-build also escapes brackets
//!   and wraps URLs inside code blocks, where the reader would see it;
//!   [`restore_code_blocks`] (`after_prost`) undoes that in its output.
//!
//! Invariant: the output never contains a code block rustdoc would compile.

mod after_prost;
mod blocks;
mod inline;

pub use after_prost::restore_code_blocks;

use prost_types::FileDescriptorProto;

/// `FileDescriptorProto.service`'s field number: the first element of the
/// source-location path of a service or method.
const SERVICE_FIELD: i32 = 6;

/// Rewrites comment lines (as protoc reports them, after the `//`) into
/// doc-comment lines, each starting with a space unless empty. Leading and
/// trailing blank lines are dropped.
pub fn doc_lines(comment: &[String]) -> Vec<String> {
    rewrite(comment, true)
}

/// Rewrites the leading and trailing comments of every message, field and
/// enum declaration in `files` for prost-build to write as doc comments.
pub fn sanitize_comments(files: &mut [FileDescriptorProto]) {
    let locations = files
        .iter_mut()
        .filter_map(|f| f.source_code_info.as_mut())
        .flat_map(|info| info.location.iter_mut())
        .filter(|location| location.path.first() != Some(&SERVICE_FIELD));
    for location in locations {
        for comment in [
            &mut location.leading_comments,
            &mut location.trailing_comments,
        ]
        .into_iter()
        .flatten()
        {
            let lines: Vec<String> = comment.lines().map(str::to_string).collect();
            let mut text = rewrite(&lines, false)
                .into_iter()
                .map(|line| before_prost(&line))
                .collect::<Vec<_>>()
                .join("\n");
            text.push('\n');
            *comment = text;
        }
    }
}

/// A rewritten line as prost-build must receive it to write `line`:
/// prost-build adds a space to a line that starts with two or more, so one
/// is taken off here. (A line indented by one past the comment's own space
/// cannot be written; it comes out unindented, which changes no Markdown
/// this rewrite produces: its lists indent by two or more.)
fn before_prost(line: &str) -> String {
    match line.strip_prefix("  ") {
        Some(rest) => format!(" {rest}"),
        None => line.to_string(),
    }
}

fn rewrite(comment: &[String], wrap_urls: bool) -> Vec<String> {
    let lines: Vec<String> = comment
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| l.replace('\t', "    "))
        .collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| blocks::indent_of(l))
        .min()
        .unwrap_or(0);
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string())
        .collect();

    let mut out: Vec<String> = blocks::blocks(&lines)
        .into_iter()
        .map(|line| {
            if line.prose {
                inline::escape_inline(&line.text, wrap_urls)
            } else {
                line.text
            }
        })
        .collect();
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.into_iter()
        .map(|l| if l.is_empty() { l } else { format!(" {l}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> String {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        doc_lines(&lines).join("\n")
    }

    #[test]
    fn plain_text_keeps_its_words() {
        assert_eq!(docs(" Sends a greeting."), " Sends a greeting.");
        assert_eq!(docs(""), "");
        assert_eq!(docs(" a\n\n b\n"), " a\n\n b");
    }

    #[test]
    fn fences_become_text() {
        assert_eq!(
            docs(" Example:\n ```\n let x = 1;\n ```"),
            " Example:\n ```text\n let x = 1;\n ```"
        );
        assert_eq!(docs(" ```rust\n fn f() {}"), " ```text\n fn f() {}\n ```");
        assert_eq!(docs(" ~~~~ json\n {}\n ~~~~"), " ~~~~text\n {}\n ~~~~");
    }

    #[test]
    fn indented_code_becomes_a_text_block() {
        assert_eq!(
            docs(" Usage:\n\n     foo(1);\n     bar();\n\n Done."),
            " Usage:\n\n ```text\n foo(1);\n bar();\n ```\n\n Done."
        );
        // A continuation line of a paragraph is not code: it joins the
        // list item, at the item's content column.
        assert_eq!(docs(" - a list\n     continued"), " - a list\n   continued");
    }

    #[test]
    fn rewriting_twice_changes_nothing() {
        let text = " See [x] <b> and https://a.b/c.\n ```\n code [y]\n ```\n\n     indented\n";
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let once = rewrite(&lines, false);
        assert_eq!(rewrite(&once, false), once);
        let full = rewrite(&once, true);
        assert_eq!(rewrite(&full, true), full);
        assert_eq!(full, rewrite(&lines, true));
    }

    /// What prost-build writes for a comment line: it adds a space to a
    /// line that starts with anything but exactly one space.
    fn as_prost_writes(line: &str) -> String {
        let mut chars = line.chars();
        let add = chars
            .next()
            .is_some_and(|c| c != ' ' || chars.next() == Some(' '));
        if add {
            format!(" {line}")
        } else {
            line.to_string()
        }
    }

    fn sanitized(text: &str, path: Vec<i32>) -> String {
        let mut file = FileDescriptorProto {
            source_code_info: Some(prost_types::SourceCodeInfo {
                location: vec![prost_types::source_code_info::Location {
                    path,
                    leading_comments: Some(text.to_string()),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        };
        sanitize_comments(std::slice::from_mut(&mut file));
        let info = file.source_code_info.unwrap_or_default();
        info.location[0]
            .leading_comments
            .clone()
            .unwrap_or_default()
    }

    #[test]
    fn prost_build_writes_what_doc_lines_would() {
        // googleapis' http.proto and backend.proto, shortened: a list with
        // lazy and over-indented lines, and a table indented by three.
        let text = " 1. Leaf fields (recursive\n    message) are:\n    - Fields referred by. They\n    are passed via the HTTP\n      request body.\n  2. If body\n\n Schemes:\n\n    SCHEME        PROTOCOL\n    http://       HTTP\n";
        let written: Vec<String> = sanitized(text, vec![4, 0])
            .lines()
            .map(as_prost_writes)
            .collect();
        let expected: Vec<String> = docs(text).lines().map(str::to_string).collect();
        assert_eq!(written, expected);
        assert!(
            written.contains(&"      are passed via the HTTP".to_string()),
            "{written:#?}"
        );
        assert!(written.contains(&" ```text".to_string()), "{written:#?}");
    }

    #[test]
    fn service_comments_are_left_for_the_stubs() {
        let text = " [Foo] <b>\n";
        assert_eq!(sanitized(text, vec![6, 0]), text);
        assert_eq!(sanitized(text, vec![6, 0, 2, 1]), text);
        assert_eq!(sanitized(text, vec![4, 0]), " \\[Foo\\] &lt;b>\n");
    }

    #[test]
    fn inline_escapes() {
        assert_eq!(docs(" see [foo] and [a](b)"), " see \\[foo\\] and [a](b)");
        assert_eq!(docs(" a <b>bold</b> x<T>"), " a &lt;b>bold&lt;/b> x&lt;T>");
        assert_eq!(docs(" `Vec<[u8]>` stays"), " `Vec<[u8]>` stays");
        assert_eq!(
            docs(" go to https://example.com/x."),
            " go to <https://example.com/x>."
        );
        assert_eq!(docs(" <https://example.com>"), " <https://example.com>");
        assert_eq!(
            docs(" [x](https://example.com)"),
            " [x](https://example.com)"
        );
        assert_eq!(docs(" already \\[escaped\\]"), " already \\[escaped\\]");
    }
}
