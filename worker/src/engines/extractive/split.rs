//! Reading raw text into units (speaker turns, list items, rejoined wrapped
//! lines) and sentence byte ranges. Sentence bounds are Unicode UAX #29
//! (`unicode-segmentation`), patched for abbreviations, speech-to-text
//! segment breaks and unpunctuated run-ons.

use unicode_segmentation::UnicodeSegmentation;

use crate::engines::extractive::lexicon::{ABBREVIATIONS, DISCOURSE_MARKERS, NOT_SPEAKERS};

/// Sentences longer than this many words are assumed to come from unpunctuated
/// speech-to-text output and are cut into chunks (see [`chunk_long`]).
const MAX_SENTENCE_WORDS: usize = 40;
/// Target chunk length, in words, for unpunctuated text.
pub(crate) const CHUNK_WORDS: usize = 30;
/// A discourse marker after at least this many words is a preferred cut point.
const MIN_CHUNK_WORDS: usize = 12;

/// A run of source lines read as one block of prose.
pub(crate) struct Unit {
    /// The unit's text, label and list marker removed, lines joined by spaces.
    pub text: String,
    /// Speaker from a `Name:` label on this or an earlier line of the paragraph.
    pub speaker: Option<String>,
    /// Non-whitespace characters of the source before `text` starts.
    pub pos: usize,
    /// Index of the blank-line separated paragraph.
    pub paragraph: usize,
}

/// Splits `Alice:` / `Dr. Jane Roe:` style speaker labels off a line start.
pub(crate) fn split_speaker(line: &str) -> (Option<&str>, &str) {
    let Some(colon) = line.find(':') else {
        return (None, line);
    };
    let (label, rest) = (line[..colon].trim(), &line[colon + 1..]);
    let words: Vec<&str> = label.split_whitespace().collect();
    let looks_like_name = !words.is_empty()
        && words.len() <= 3
        && label.chars().count() <= 40
        && label.chars().next().is_some_and(char::is_uppercase)
        && words.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '\'' | '-' | '’'))
        })
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
        && !NOT_SPEAKERS.contains(&label.to_lowercase().as_str());
    if looks_like_name {
        (Some(label), rest.trim_start())
    } else {
        (None, line)
    }
}

/// Removes a leading `[00:01]` / `(1:02:03)` timestamp, common in pasted
/// transcripts; it is metadata, and it hides the speaker label behind it.
fn strip_timestamp(line: &str) -> &str {
    let Some(close) = line
        .strip_prefix(['[', '('])
        .and_then(|r| r.find([']', ')']))
    else {
        return line;
    };
    let inner = &line[1..1 + close];
    let stamp = inner.contains(':')
        && inner.len() <= 12
        && inner
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.');
    if stamp {
        line[close + 2..].trim_start()
    } else {
        line
    }
}

/// Removes a leading list marker (`- `, `* `, `• `, `1. `, `2) `).
fn strip_marker(line: &str) -> (&str, bool) {
    for m in ["- ", "* ", "+ ", "• ", "– "] {
        if let Some(rest) = line.strip_prefix(m) {
            return (rest.trim_start(), true);
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return (r.trim_start(), true);
        }
    }
    (line, false)
}

pub(crate) fn nonws(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

fn ends_clause(s: &str) -> bool {
    s.trim_end_matches(['"', '\'', ')', ']', '”', '’'])
        .ends_with(['.', '!', '?', '…', ':', ';', '。', '？', '！'])
}

/// Groups lines into units. Hard-wrapped prose (a line not ending a sentence)
/// is joined to the next line, while speaker labels, list items and blank
/// lines start new units, so pasted chat logs and wrapped e-mails both work.
pub(crate) fn units(text: &str) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let (mut pos, mut paragraph) = (0usize, 0usize);
    let mut open = false; // whether the last unit may take a continuation line
    let mut speaker: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        let line_pos = pos;
        pos += nonws(raw);
        if line.is_empty() {
            // Several blank lines still make one paragraph break.
            if out.last().is_some_and(|u| u.paragraph == paragraph) {
                paragraph += 1;
            }
            open = false;
            speaker = None;
            continue;
        }
        let (label, rest) = split_speaker(strip_timestamp(line));
        let (body, marker) = strip_marker(rest);
        if let Some(l) = label {
            speaker = Some(l.to_string());
        }
        // Count the characters of the label and marker we dropped so that
        // `pos` still matches the source.
        let skipped = nonws(line) - nonws(body);
        if open && label.is_none() && !marker {
            if let Some(last) = out.last_mut() {
                last.text.push(' ');
                last.text.push_str(body);
                open = !ends_clause(body);
                continue;
            }
        }
        out.push(Unit {
            text: body.to_string(),
            speaker: speaker.clone(),
            pos: line_pos + skipped,
            paragraph,
        });
        open = !ends_clause(body);
    }
    out
}

fn ends_with_abbreviation(s: &str) -> bool {
    let last = s.split_whitespace().last().unwrap_or("").to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

/// Splits one unit (starting `pos` non-whitespace characters into the source)
/// into sentence byte ranges. Over-long or unpunctuated sentences are cut
/// where a timed segment starts (`breaks`, in the same units as `pos`), then
/// over-long pieces into chunks.
pub(crate) fn sentence_ranges(text: &str, pos: usize, breaks: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (start, s) in text.split_sentence_bound_indices() {
        let end = start + s.len();
        if let Some(last) = out.last_mut() {
            if ends_with_abbreviation(&text[last.0..last.1]) {
                last.1 = end;
                continue;
            }
        }
        out.push((start, end));
    }
    let mut pieces = Vec::new();
    let mut cursor = (0usize, pos);
    for (s, e) in out {
        cursor.1 += nonws(&text[cursor.0..s]);
        cursor.0 = s;
        for (a, b) in split_at_breaks(text, s, e, cursor.1, breaks) {
            pieces.extend(chunk_long(text, a, b));
        }
    }
    pieces
}

/// Cuts a sentence at the first word start at or after each segment break:
/// speech-to-text segments usually end where the speaker paused, a better
/// cut than a word count when punctuation is missing.
fn split_at_breaks(
    text: &str,
    start: usize,
    end: usize,
    pos: usize,
    breaks: &[usize],
) -> Vec<(usize, usize)> {
    // A sentence closed by punctuation is only cut when over-long; a run
    // without any (raw speech-to-text) is cut at every segment break.
    let unpunctuated = !ends_clause(&text[start..end]);
    let long = text[start..end].unicode_words().count() > MAX_SENTENCE_WORDS;
    if breaks.is_empty() || !(unpunctuated || long) {
        return vec![(start, end)];
    }
    let mut out = Vec::new();
    let mut next = breaks.partition_point(|&b| b <= pos);
    let (mut piece, mut count, mut word_start) = (start, pos, true);
    for (off, c) in text[start..end].char_indices() {
        if c.is_whitespace() {
            word_start = true;
            continue;
        }
        if word_start && breaks.get(next).is_some_and(|&b| b <= count) {
            if start + off > piece {
                out.push((piece, start + off));
                piece = start + off;
            }
            next += breaks[next..].partition_point(|&b| b <= count);
        }
        word_start = false;
        count += 1;
    }
    out.push((piece, end));
    out
}

/// Cuts an over-long sentence (unpunctuated speech-to-text output) into chunks
/// of about [`CHUNK_WORDS`] words, preferring to cut before a discourse marker.
fn chunk_long(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let words: Vec<(usize, &str)> = text[start..end].unicode_word_indices().collect();
    if words.len() <= MAX_SENTENCE_WORDS {
        return vec![(start, end)];
    }
    let mut out = Vec::new();
    let (mut chunk_start, mut count) = (start, 0usize);
    for (off, w) in words {
        let at = start + off;
        let marker = DISCOURSE_MARKERS.contains(&w.to_lowercase().as_str());
        if count >= CHUNK_WORDS || (count >= MIN_CHUNK_WORDS && marker) {
            out.push((chunk_start, at));
            chunk_start = at;
            count = 0;
        }
        count += 1;
    }
    out.push((chunk_start, end));
    out
}
