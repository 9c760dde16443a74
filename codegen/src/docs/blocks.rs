//! Block structure of a proto comment → rustdoc-safe blocks (layer: bottom;
//! pure functions over the comment's lines).
//!
//! [`blocks`] walks the lines once, tracking the open list items the way
//! CommonMark does, and gives back every line with the indentation rustdoc
//! (and clippy's doc lints) expect:
//!
//! - a list item's marker sits at its parent's content column, and its
//!   continuation lines, lazy or over-indented in the `.proto`, sit at its
//!   own content column (`- ` → 2, `1. ` → 3), so lists stay lists and
//!   clippy's `doc_lazy_continuation` and `doc_overindented_list_items`
//!   have nothing to say;
//! - prose outside lists starts at column 0, except that a block indented
//!   by two or three (after a blank line) is taken as the preformatted
//!   table or example its author laid out, which Markdown would have run
//!   together into one paragraph;
//! - code becomes a ```` ```text ```` block wherever it is: a fenced block
//!   (any info string, closed if left open), an indented block (four
//!   spaces past its container), and an HTML `<pre>` block, whose tags are
//!   dropped and whose character references are decoded, since it is
//!   preformatted text in the `.proto`'s own rendering.
//!
//! Prose lines come back unescaped ([`Line::prose`]); the caller escapes
//! their inline Markdown.

/// One output line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Line {
    /// The line, indentation included.
    pub text: String,
    /// Prose, whose inline Markdown still needs escaping (as opposed to a
    /// code line or a fence).
    pub prose: bool,
}

/// An open list item.
#[derive(Clone, Copy, Debug)]
struct Item {
    /// Its content column in the input.
    src: usize,
    /// Its content column in the output.
    out: usize,
}

/// Lays out `lines` (tabs expanded, common indent removed); see the module
/// docs.
pub(super) fn blocks(lines: &[String]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    // Whether the previous line was a paragraph line that the next one may
    // continue (lazily, at any indent).
    let mut in_paragraph = false;
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let text = line.trim_start();
        if text.is_empty() {
            out.push(code(String::new()));
            in_paragraph = false;
            i += 1;
            continue;
        }
        let indent = indent_of(line);
        let marker = list_marker(text);
        if !in_paragraph || marker.is_some() {
            while items.last().is_some_and(|item| indent < item.src) {
                items.pop();
            }
        }
        let (src_base, base) = items.last().map_or((0, 0), |item| (item.src, item.out));
        let pad = " ".repeat(base);

        if let Some(fence) = Fence::open(text) {
            i = fenced(lines, i, indent, fence, &pad, &mut out);
            in_paragraph = false;
            continue;
        }
        if starts_pre(text) {
            i = pre(lines, i, &pad, &mut out);
            in_paragraph = false;
            continue;
        }
        if !in_paragraph && indent >= src_base + 4 {
            i = indented(lines, i, src_base + 4, &pad, &mut out);
            continue;
        }
        if !in_paragraph && items.is_empty() && marker.is_none() && indent >= 2 {
            // Markdown would run these lines together as a paragraph, but
            // proto authors indent tables and examples this way.
            i = indented(lines, i, indent, &pad, &mut out);
            continue;
        }
        match marker {
            Some(marker) => {
                let rest = text[marker.len..].trim_start();
                out.push(prose(format!("{pad}{} {rest}", &text[..marker.len])));
                items.push(Item {
                    src: indent + marker.width,
                    out: base + marker.len + 1,
                });
            }
            None => out.push(prose(format!("{pad}{text}"))),
        }
        in_paragraph = true;
        i += 1;
    }
    out
}

fn prose(text: String) -> Line {
    Line { text, prose: true }
}

fn code(text: String) -> Line {
    Line { text, prose: false }
}

/// A list marker at the start of `text`: `-`, `*`, `+`, or 1–9 digits and
/// `.` or `)`, followed by a space or the end of the line.
#[derive(Clone, Copy, Debug)]
struct Marker {
    /// The marker's length in bytes.
    len: usize,
    /// From the marker to the item's content (the marker plus one to four
    /// spaces; plus one if more, since then the content is code).
    width: usize,
}

fn list_marker(text: &str) -> Option<Marker> {
    let bytes = text.as_bytes();
    let len = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            let punct = bytes.get(digits)?;
            if digits > 9 || !matches!(punct, b'.' | b')') {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    let spaces = bytes[len..].iter().take_while(|b| **b == b' ').count();
    if spaces == 0 && len < bytes.len() {
        return None;
    }
    // A thematic break (`- - -`, `***`) is not a list.
    if len == 1 && bytes.iter().all(|b| *b == bytes[0] || *b == b' ') && bytes.len() >= 3 {
        return None;
    }
    let width = if (1..=4).contains(&spaces) && spaces < bytes.len() - len {
        len + spaces
    } else {
        len + 1
    };
    Some(Marker { len, width })
}

/// Copies the fenced block opening at `lines[start]` (indented `indent`) as
/// a `text` block at `pad`; returns the index after it.
fn fenced(
    lines: &[String],
    start: usize,
    indent: usize,
    fence: Fence,
    pad: &str,
    out: &mut Vec<Line>,
) -> usize {
    out.push(code(format!("{pad}{}text", fence.marker())));
    let mut i = start + 1;
    while i < lines.len() {
        let inner = &lines[i];
        i += 1;
        if fence.closes(inner) {
            out.push(code(format!("{pad}{}", fence.marker())));
            return i;
        }
        out.push(code(shifted(inner, indent, pad)));
    }
    out.push(code(format!("{pad}{}", fence.marker())));
    i
}

/// Copies the indented code block starting at `lines[start]` (code from
/// column `column`) as a `text` block at `pad`; returns the index after it.
fn indented(
    lines: &[String],
    start: usize,
    column: usize,
    pad: &str,
    out: &mut Vec<Line>,
) -> usize {
    let mut end = start;
    while end < lines.len() && (lines[end].trim().is_empty() || indent_of(&lines[end]) >= column) {
        end += 1;
    }
    while end > start && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    out.push(code(format!("{pad}```text")));
    for line in &lines[start..end] {
        out.push(code(shifted(line, column, pad)));
    }
    out.push(code(format!("{pad}```")));
    end
}

/// `line` without up to `strip` columns of indent, then at `pad`.
fn shifted(line: &str, strip: usize, pad: &str) -> String {
    if line.trim().is_empty() {
        return String::new();
    }
    let cut = indent_of(line).min(strip);
    format!("{pad}{}", &line[cut..])
}

/// Whether `text` opens an HTML `<pre>` block.
fn starts_pre(text: &str) -> bool {
    text.get(..5)
        .is_some_and(|head| head.eq_ignore_ascii_case("<pre>"))
}

/// Copies the `<pre>` block starting at `lines[start]` (up to the line with
/// `</pre>`, or the end) as a `text` block at `pad`: the tags go, character
/// references are decoded; returns the index after it.
fn pre(lines: &[String], start: usize, pad: &str, out: &mut Vec<Line>) -> usize {
    let mut body = Vec::new();
    let mut i = start;
    let mut after = None;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        let lower = line.to_ascii_lowercase();
        match lower.find("</pre>") {
            Some(at) => {
                body.push(line[..at].to_string());
                let rest = line[at + "</pre>".len()..].trim();
                after = (!rest.is_empty()).then(|| rest.to_string());
                break;
            }
            None => body.push(line.clone()),
        }
    }
    let body: Vec<String> = body
        .iter()
        .map(|line| decode_entities(&drop_tags(line, &["<pre>", "<code>", "</code>"])))
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .min()
        .unwrap_or(0);
    let first = body.iter().position(|l| !l.trim().is_empty());
    let last = body.iter().rposition(|l| !l.trim().is_empty());
    out.push(code(format!("{pad}```text")));
    if let (Some(first), Some(last)) = (first, last) {
        for line in &body[first..=last] {
            out.push(code(shifted(line.trim_end(), indent, pad)));
        }
    }
    out.push(code(format!("{pad}```")));
    if let Some(rest) = after {
        out.push(prose(format!("{pad}{rest}")));
    }
    i
}

/// `line` without the (ASCII case-insensitive) `tags`.
fn drop_tags(line: &str, tags: &[&str]) -> String {
    let mut text = line.to_string();
    for tag in tags {
        while let Some(at) = text.to_ascii_lowercase().find(tag) {
            text.replace_range(at..at + tag.len(), "");
        }
    }
    text
}

/// Decodes the character references an HTML block shows as characters:
/// `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&apos;`, `&nbsp;` and numeric ones.
fn decode_entities(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').and_then(|end| {
            let ch = match &rest[1..end] {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                name => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((ch, end))
        });
        match decoded {
            Some((ch, end)) => {
                out.push(ch);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Leading spaces of `line` (tabs are already expanded).
pub(super) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// An open code fence: its character and length.
#[derive(Clone, Copy)]
pub(super) struct Fence {
    ch: char,
    len: usize,
}

impl Fence {
    /// The fence `text` (a line without its indent) opens, if any.
    pub(super) fn open(text: &str) -> Option<Fence> {
        let ch = text.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = text.chars().take_while(|c| *c == ch).count();
        let info = &text[len..];
        // A backtick fence's info string cannot contain backticks (it would be
        // an inline code span instead).
        (len >= 3 && !(ch == '`' && info.contains('`'))).then_some(Fence { ch, len })
    }

    /// Whether `line` closes this fence.
    pub(super) fn closes(&self, line: &str) -> bool {
        let trimmed = line.trim();
        trimmed.len() >= self.len && trimmed.chars().all(|c| c == self.ch)
    }

    fn marker(&self) -> String {
        std::iter::repeat_n(self.ch, self.len).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> String {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        blocks(&lines)
            .into_iter()
            .map(|l| l.text)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn continuation_lines_sit_at_the_content_column() {
        // Lazy (too little indent) and over-indented continuations, and a
        // nested list, as googleapis' http.proto writes them.
        let text = "1. Leaf fields\n   message) are:\n   - Fields referred by. They\n   are passed\n     request body.\n 2. If body";
        assert_eq!(
            layout(text),
            "1. Leaf fields\n   message) are:\n   - Fields referred by. They\n     are passed\n     request body.\n2. If body"
        );
        assert_eq!(layout("- a\n      b"), "- a\n  b");
        assert_eq!(layout("* a\nb"), "* a\n  b");
    }

    #[test]
    fn a_blank_line_ends_a_list_unless_the_next_line_is_indented_into_it() {
        assert_eq!(layout("- a\n\ntext"), "- a\n\ntext");
        assert_eq!(layout("- a\n\n  more"), "- a\n\n  more");
        assert_eq!(
            layout("- a\n\n      code"),
            "- a\n\n  ```text\n  code\n  ```"
        );
    }

    #[test]
    fn prose_outside_lists_starts_at_column_zero() {
        assert_eq!(layout("a\n  b\n   c"), "a\nb\nc");
    }

    #[test]
    fn a_block_indented_by_two_or_three_is_preformatted() {
        assert_eq!(
            layout("Schemes:\n\n   SCHEME   PROTOCOL\n   http://  HTTP\n\nMore."),
            "Schemes:\n\n```text\nSCHEME   PROTOCOL\nhttp://  HTTP\n```\n\nMore."
        );
    }

    #[test]
    fn markers_are_recognised_only_as_markers() {
        assert!(list_marker("- x").is_some());
        assert!(list_marker("12) x").is_some());
        assert!(list_marker("-").is_some());
        assert!(list_marker("-x").is_none());
        assert!(list_marker("1.5 is").is_none());
        assert!(list_marker("- - -").is_none());
        assert!(list_marker("*emphasis*").is_none());
    }

    #[test]
    fn pre_blocks_become_text_blocks() {
        let text = "Example:\n<pre><code>pages:\n- name: x\n  content: &#40;== include x.md ==&#41;\n</code></pre>\nAfter.";
        assert_eq!(
            layout(text),
            "Example:\n```text\npages:\n- name: x\n  content: (== include x.md ==)\n```\nAfter."
        );
        assert_eq!(
            layout("<pre>a &lt;b&gt; &amp; c</pre> tail"),
            "```text\na <b> & c\n```\ntail"
        );
    }

    #[test]
    fn fences_inside_list_items_move_with_the_item() {
        assert_eq!(
            layout("- item\n   ```\n   code\n   ```"),
            "- item\n  ```text\n  code\n  ```"
        );
    }
}
