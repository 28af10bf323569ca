//! The plain transcript document, shown for audio when no format is chosen.

use super::Source;
use crate::engines::extractive::markdown::{escape, open};
use crate::engines::extractive::timing::{clean_secs, format_timestamp};
use crate::engines::extractive::{SynthesisInput, TimedSegment};

/// A paragraph may close after this many characters at a sentence end…
const SOFT_CHARS: usize = 500;
/// …or after this many seconds at a sentence end…
const SOFT_SECS: f64 = 60.0;
/// …and must close after this many characters or seconds, sentence end or
/// not (unpunctuated speech-to-text has no sentence ends).
const HARD_CHARS: usize = 1500;
const HARD_SECS: f64 = 120.0;

/// Renders `# Transcript` and paragraphs; with segments, each paragraph
/// starts with `**[mm:ss]**`.
pub(crate) fn render(input: &SynthesisInput) -> String {
    let mut out = open("Transcript", input.title);
    // Timed paragraphs come straight from the segments: no analysis needed.
    let mut paragraphs = input.segments.map(timed).unwrap_or_default();
    if paragraphs.is_empty() {
        paragraphs = untimed(&Source::new(input));
    }
    if paragraphs.is_empty() {
        out.push_str("_No transcript text._\n");
    }
    for p in paragraphs {
        out.push_str(&p);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn ends_sentence(s: &str) -> bool {
    s.trim_end_matches(['"', '\'', ')', '”', '’'])
        .ends_with(['.', '!', '?', '…'])
}

/// Groups segments into readable paragraphs, breaking at sentence ends.
fn timed(segs: &[TimedSegment]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0.0;
    let flush = |cur: &mut String, start: f64, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(format!("**[{}]** {}", format_timestamp(start), escape(cur)));
            cur.clear();
        }
    };
    for seg in segs {
        let t = seg.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.is_empty() {
            continue;
        }
        let secs = clean_secs(seg.start_secs);
        let long = cur.len() >= SOFT_CHARS || secs - start >= SOFT_SECS;
        let must = cur.len() >= HARD_CHARS || secs - start >= HARD_SECS;
        if must || (long && ends_sentence(&cur)) {
            flush(&mut cur, start, &mut out);
        }
        if cur.is_empty() {
            start = secs;
        } else {
            cur.push(' ');
        }
        cur.push_str(&t);
    }
    flush(&mut cur, start, &mut out);
    out
}

/// Paragraphs follow the source's paragraphs and speaker turns, with long
/// runs split at sentence ends.
fn untimed(src: &Source) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let (mut len, mut prev) = (0usize, None);
    for s in &src.doc.sentences {
        let key = (s.paragraph, s.speaker.as_deref());
        if !cur.is_empty() && (Some(key) != prev || len >= SOFT_CHARS) {
            out.push(cur.join(" "));
            cur.clear();
            len = 0;
        }
        if cur.is_empty() {
            if let Some(who) = &s.speaker {
                cur.push(format!("**{}:**", escape(who)));
            }
        }
        cur.push(escape(&s.text));
        len += s.text.len();
        prev = Some(key);
    }
    if !cur.is_empty() {
        out.push(cur.join(" "));
    }
    out
}
