//! Small Markdown helpers shared by the formats.

use crate::engines::extractive::text::Sentence;

/// Closing line of every extractive format, so readers know nothing was paraphrased.
pub(crate) const EXTRACTIVE_NOTE: &str =
    "_Extractive notes: sentences selected from the source, not rewritten._";

/// Escapes characters that would turn source text into unintended Markdown
/// (emphasis, links, HTML, headings, code) while leaving it readable.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    // "2024. Next..." at the start of a paragraph would become a list item.
    let digits = out.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && matches!(out.as_bytes().get(digits), Some(b'.' | b')')) {
        out.insert(digits, '\\');
    }
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    }
    out
}

/// A sentence as a bullet body, prefixed by its speaker when known.
pub(crate) fn sentence_item(s: &Sentence) -> String {
    match &s.speaker {
        Some(who) => format!("**{}:** {}", escape(who), escape(&s.text)),
        None => escape(&s.text),
    }
}

/// Starts a document: `# heading`, then the source title as an italic line.
pub(crate) fn open(heading: &str, title: &str) -> String {
    let mut out = format!("# {heading}\n\n");
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if !title.is_empty() {
        out.push_str(&format!("_Source: {}_\n\n", escape(&title)));
    }
    out
}

/// Ends an extractive document with the honesty note.
pub(crate) fn close(mut out: String) -> String {
    out.push_str(EXTRACTIVE_NOTE);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown() {
        assert_eq!(escape("a *b* [c](d) <e>"), r"a \*b\* \[c\](d) \<e\>");
        assert_eq!(escape("2024. Then"), r"2024\. Then");
        assert_eq!(escape("- x"), r"\- x");
        assert_eq!(escape("plain"), "plain");
    }
}
