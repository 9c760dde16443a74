//! Inline Markdown in proto prose → rustdoc-safe text (layer: bottom; pure
//! functions over one line).
//!
//! Outside code spans, `[` and `]` are escaped unless they form a Markdown
//! link `[text](url)`, `<` is escaped unless it opens an autolink
//! `<https://…>`, and (when asked) bare `http(s)://` URLs are wrapped in
//! `<…>`. Code spans (`` `…` ``) and backslash escapes are kept as written.

/// Escapes one line of prose (see the module docs); code spans are kept.
pub(super) fn escape_inline(line: &str, wrap_urls: bool) -> String {
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
