//! The five note formats and the plain transcript, each in its own module.

pub(crate) mod action_items;
pub(crate) mod detailed_notes;
pub(crate) mod qa;
pub(crate) mod summarize;
pub(crate) mod toc;
pub(crate) mod transcript;

use std::borrow::Cow;

use crate::engines::extractive::markdown::close;
use crate::engines::extractive::rank::{overlap_ratio, textrank};
use crate::engines::extractive::text::{Doc, Lexicon, Sentence};
use crate::engines::extractive::{timing, SynthesisInput, TimedSegment};

/// A parsed input, shared by the format renderers.
pub(crate) struct Source<'a> {
    /// Source title, possibly empty.
    pub title: &'a str,
    /// The text analysed: `input.text`, or the segments joined if that is blank.
    pub text: Cow<'a, str>,
    /// Timed segments, `None` when absent or empty.
    pub segments: Option<&'a [TimedSegment]>,
    /// Sentences and vocabulary of `text`.
    pub doc: Doc,
    /// The language of the text when its words cannot be weighed (no stop-word list):
    /// sentences are then chosen by position, and the document says so.
    pub unweighed: Option<&'a str>,
}

impl<'a> Source<'a> {
    pub fn new(input: &SynthesisInput<'a>) -> Source<'a> {
        let segments = input.segments.filter(|s| !s.is_empty());
        let text = match segments {
            Some(segs) if input.text.trim().is_empty() => Cow::Owned(
                segs.iter()
                    .map(|s| s.text.trim())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => Cow::Borrowed(input.text),
        };
        let breaks = segments.map_or(Vec::new(), |s| timing::segment_breaks(&text, s));
        let language = input.language.unwrap_or("en");
        let lexicon = Lexicon::for_language(language);
        let doc =
            Doc::parse_with_breaks(&text, &breaks, lexicon.unwrap_or_else(Lexicon::unweighed));
        Source {
            title: input.title,
            text,
            segments,
            doc,
            unweighed: lexicon.is_none().then_some(language),
        }
    }

    /// Each sentence's weight: TextRank when the language's words can be weighed, else the
    /// earlier the better (the lead of a recording usually says what it is about).
    pub fn scores(&self) -> Vec<f64> {
        match self.unweighed {
            None => textrank(&self.doc.sentences),
            Some(_) => (0..self.doc.sentences.len())
                .map(|i| 1.0 / (1.0 + i as f64))
                .collect(),
        }
    }

    /// Ends a document: says when sentences were chosen by position, then the extractive
    /// note.
    pub fn close(&self, mut out: String) -> String {
        if let Some(language) = self.unweighed {
            out.push_str(&format!(
                "_Sentences chosen by their position: this engine cannot weigh words in the \
                 language `{language}`._\n\n"
            ));
        }
        close(out)
    }

    /// Start time of each sentence in seconds, when the source has timings.
    pub fn times(&self) -> Option<Vec<f64>> {
        self.segments
            .map(|segs| timing::sentence_times(&self.doc, &self.text, segs))
    }
}

/// Worth showing on its own: a few words, at least two of them content words.
pub(crate) fn informative(s: &Sentence) -> bool {
    s.tokens.len() >= 2 && s.word_count >= 4
}

/// Sentences that repeat this much of an already chosen one are skipped when
/// choosing summary material…
const REDUNDANT: f64 = 0.7;
/// …and never shown twice anywhere (repeated statements, boilerplate).
pub(crate) const NEAR_DUPLICATE: f64 = 0.9;

/// True when `s` repeats at least `limit` of one of `chosen`.
pub(crate) fn repeats(doc: &Doc, s: &Sentence, chosen: &[usize], limit: f64) -> bool {
    chosen
        .iter()
        .any(|&c| overlap_ratio(s, &doc.sentences[c]) >= limit)
}

/// Picks up to `k` sentences from `order` (best first), skipping `taken` ones
/// and near-duplicates of earlier picks. Informative, diverse statements are
/// preferred; if too few exist the rest are filled from what remains, still
/// without near-duplicates.
pub(crate) fn select(doc: &Doc, order: &[usize], k: usize, taken: &[usize]) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    for strict in [true, false] {
        for &i in order {
            if picked.len() >= k {
                break;
            }
            let s = &doc.sentences[i];
            if taken.contains(&i) || picked.contains(&i) {
                continue;
            }
            let limit = if strict { REDUNDANT } else { NEAR_DUPLICATE };
            let weak = strict && (!informative(s) || s.is_question());
            if weak || repeats(doc, s, &picked, limit) || repeats(doc, s, taken, limit) {
                continue;
            }
            picked.push(i);
        }
    }
    picked.sort_unstable();
    picked
}
