//! Proto comments → rustdoc text (layer: bottom; pure functions).
//!
//! Proto comments are written for humans reading a `.proto` file, not for
//! rustdoc, and taken literally they break `cargo test` and `cargo doc`: an
//! unmarked or indented code block becomes a doctest that does not compile,
//! `[name]` becomes a broken intra-doc link, `<b>` or `<T>` becomes (unclosed)
//! HTML, a bare URL trips `rustdoc::bare_urls`. [`doc_lines`] rewrites a
//! comment so rustdoc shows what the author wrote and checks nothing:
//!
//! - every fenced block (```` ``` ```` or `~~~`, any info string) becomes a
//!   ```` ```text ```` block, and an indented code block becomes one too;
//!   a block left open at the end is closed;
//! - outside code, `[` and `]` are escaped unless they form a Markdown link
//!   `[text](url)`, `<` is escaped unless it opens an autolink
//!   `<https://…>`, and bare `http(s)://` URLs are wrapped in `<…>`;
//! - inline code spans (`` `…` ``) are left untouched.
//!
//! prost-build writes the message docs, from the descriptors' comments,
//! and wraps URLs itself; so [`sanitize_comments`] rewrites every comment of
//! the descriptors the same way but leaves URLs to prost-build, before it
//! runs. The stubs' docs ([`doc_lines`]) get the full treatment. Both
//! rewrites are idempotent, so a comment can go through both.
//!
//! Invariant: the output never contains a code block rustdoc would compile.

use prost_types::FileDescriptorProto;

/// Rewrites comment lines (as protoc reports them, after the `//`) into
/// doc-comment lines, each starting with a space unless empty. Leading and
/// trailing blank lines are dropped.
pub fn doc_lines(comment: &[String]) -> Vec<String> {
    rewrite(comment, true)
}

/// Rewrites the leading and trailing comments of every declaration in
/// `files` for rustdoc, except for URLs (which prost-build wraps).
pub fn sanitize_comments(files: &mut [FileDescriptorProto]) {
    let locations = files
        .iter_mut()
        .filter_map(|f| f.source_code_info.as_mut())
        .flat_map(|info| info.location.iter_mut());
    for location in locations {
        for comment in [
            &mut location.leading_comments,
            &mut location.trailing_comments,
        ]
        .into_iter()
        .flatten()
        {
            let lines: Vec<String> = comment.lines().map(str::to_string).collect();
            let mut text = rewrite(&lines, false).join("\n");
            text.push('\n');
            *comment = text;
        }
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
        .map(|l| indent_of(l))
        .min()
        .unwrap_or(0);
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string())
        .collect();

    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if let Some(fence) = Fence::open(line) {
            out.push(format!(
                "{}{}text",
                " ".repeat(indent_of(line)),
                fence.marker()
            ));
            i += 1;
            let mut closed = false;
            while i < lines.len() {
                let inner = &lines[i];
                i += 1;
                if fence.closes(inner) {
                    out.push(inner.clone());
                    closed = true;
                    break;
                }
                out.push(inner.clone());
            }
            if !closed {
                out.push(fence.marker());
            }
            continue;
        }
        let starts_paragraph = i == 0 || lines[i - 1].trim().is_empty();
        if starts_paragraph && indent_of(line) >= 4 && !line.trim().is_empty() {
            out.push("```text".to_string());
            let start = i;
            let mut end = i;
            while end < lines.len() && (lines[end].trim().is_empty() || indent_of(&lines[end]) >= 4)
            {
                end += 1;
            }
            while end > start && lines[end - 1].trim().is_empty() {
                end -= 1;
            }
            for code in &lines[start..end] {
                out.push(code.get(4..).unwrap_or("").to_string());
            }
            out.push("```".to_string());
            i = end;
            continue;
        }
        out.push(escape_inline(line, wrap_urls));
        i += 1;
    }

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

/// Leading spaces of `line` (a tab counts as four).
fn indent_of(line: &str) -> usize {
    let mut n = 0;
    for c in line.chars() {
        match c {
            ' ' => n += 1,
            '\t' => n += 4,
            _ => break,
        }
    }
    n
}

/// An open code fence: its character and length.
#[derive(Clone, Copy)]
struct Fence {
    ch: char,
    len: usize,
}

impl Fence {
    fn open(line: &str) -> Option<Fence> {
        let trimmed = line.trim_start();
        let ch = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = trimmed.chars().take_while(|c| *c == ch).count();
        let info = &trimmed[len..];
        // A backtick fence's info string cannot contain backticks (it would be
        // an inline code span instead).
        (len >= 3 && !(ch == '`' && info.contains('`'))).then_some(Fence { ch, len })
    }

    fn closes(&self, line: &str) -> bool {
        let trimmed = line.trim();
        trimmed.len() >= self.len && trimmed.chars().all(|c| c == self.ch)
    }

    fn marker(&self) -> String {
        std::iter::repeat_n(self.ch, self.len).collect()
    }
}

/// Escapes one line of prose (see the module docs); code spans are kept.
fn escape_inline(line: &str, wrap_urls: bool) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    let mut link_brackets = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '`' => {
                let run = chars[i..].iter().take_while(|c| **c == '`').count();
                match find_run(&chars, i + run, run) {
                    Some(end) => {
                        out.extend(&chars[i..end + run]);
                        i = end + run;
                    }
                    None => {
                        out.extend(&chars[i..i + run]);
                        i += run;
                    }
                }
                continue;
            }
            '\\' => {
                out.push(c);
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                    i += 1;
                }
            }
            '[' => match link_end(&chars, i) {
                Some(close) => {
                    link_brackets.push(close);
                    out.push('[');
                }
                None => out.push_str("\\["),
            },
            ']' if link_brackets.last() == Some(&i) => {
                link_brackets.pop();
                out.push(']');
            }
            ']' => out.push_str("\\]"),
            '<' if autolink_end(&chars, i).is_some() => {
                let end = autolink_end(&chars, i).unwrap_or(i);
                out.extend(&chars[i..=end]);
                i = end + 1;
                continue;
            }
            '<' => out.push_str("&lt;"),
            'h' if wrap_urls && starts_url(&chars[i..]) && !after_link_paren(&chars, i) => {
                let end = chars[i..]
                    .iter()
                    .position(|c| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\''))
                    .map_or(chars.len(), |p| i + p);
                // Trailing sentence punctuation is not part of the URL.
                let mut url_end = end;
                while url_end > i && matches!(chars[url_end - 1], '.' | ',' | ';' | ':') {
                    url_end -= 1;
                }
                out.push('<');
                out.extend(&chars[i..url_end]);
                out.push('>');
                out.extend(&chars[url_end..end]);
                i = end;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The index of the next run of exactly `len` backticks at or after `from`.
fn find_run(chars: &[char], from: usize, len: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            if run == len {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// If the `[` at `open` starts a Markdown link `[text](…)`, the index of its
/// `]`.
fn link_end(chars: &[char], open: usize) -> Option<usize> {
    let close = open + 1 + chars[open + 1..].iter().position(|c| *c == ']')?;
    (chars.get(close + 1) == Some(&'(') && !chars[open + 1..close].contains(&'[')).then_some(close)
}

/// If a `<` at `open` starts an autolink `<http(s)://…>`, the index of its `>`.
fn autolink_end(chars: &[char], open: usize) -> Option<usize> {
    if !starts_url(&chars[open + 1..]) {
        return None;
    }
    chars[open..]
        .iter()
        .position(|c| *c == '>' || c.is_whitespace())
        .map(|p| open + p)
        .filter(|end| chars[*end] == '>')
}

fn starts_url(chars: &[char]) -> bool {
    let s: String = chars.iter().take(8).collect();
    s.starts_with("http://") || s.starts_with("https://")
}

/// Whether the URL at `i` is a Markdown link target `](url)` or already
/// inside an autolink.
fn after_link_paren(chars: &[char], i: usize) -> bool {
    i >= 2 && chars[i - 1] == '(' && chars[i - 2] == ']'
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
        // A continuation line of a paragraph is not code.
        assert_eq!(
            docs(" - a list\n     continued"),
            " - a list\n     continued"
        );
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
