//! Extractive (no LLM) note synthesis for Smelt.
//!
//! Turns a transcript or pasted text into one of five Markdown note formats
//! by *selecting* sentences from the source — never paraphrasing them — and
//! says so in a closing italic line. The pieces:
//!
//! - sentences: Unicode UAX #29 sentence bounds (`unicode-segmentation`), with
//!   wrapped lines rejoined, `Name:` speaker labels read, and unpunctuated
//!   speech-to-text output cut into ~30-word chunks;
//! - words: UAX #29 words minus the text language's NLTK stop words (`stop-words`;
//!   English also minus spoken fillers), stemmed by that language's Snowball
//!   stemmer (`rust-stemmers`); a language without a stop-word list is read
//!   by position instead, and the document says so;
//! - ranking: TextRank (Mihalcea & Tarau, EMNLP 2004) over sentence overlap;
//! - topics: TextTiling-like cuts (Hearst 1997) titled by TF-IDF keywords;
//! - action items: hand-written cue, owner and date rules.
//!
//! Every entry point is total: any `&str`, including empty text, renders.
//!
//! ```
//! use smelt_worker::engines::extractive::{render, PromptFormat, SynthesisInput};
//!
//! let input = SynthesisInput {
//!     title: "Standup",
//!     text: "Alice: The release slipped. Bob will fix the build by Friday.",
//!     segments: None,
//!     language: None,
//! };
//! let md = render(PromptFormat::ActionItems, &input);
//! assert!(md.contains("- [ ] Bob will fix the build by Friday. — **Owner:** Bob, **Due:** Friday"));
//! ```

#![warn(missing_docs)]

mod cues;
mod formats;
#[rustfmt::skip]
mod lexicon;
mod markdown;
mod rank;
mod split;
mod text;
mod timing;
mod topics;

use formats::Source;

/// One of the five built-in prompt formats (API names: summarize,
/// action_items, detailed_notes, qa_format, table_of_contents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptFormat {
    /// `# Summary`: a paragraph of the top-ranked sentences in source order,
    /// then `## Key points` bullets drawn from the next-best sentences.
    Summarize,
    /// `# Action items`: a `- [ ]` checklist of sentences with action cues,
    /// with `**Owner:**` / `**Due:**` when named, or "No action items found."
    ActionItems,
    /// `# Detailed notes`: one `## <topic>` section per detected topic, with
    /// its most informative sentences as bullets.
    DetailedNotes,
    /// `# Questions and answers`: `**Q:**` / `**A:**` pairs from questions in
    /// the text, topped up with templated questions marked _(generated)_.
    QaFormat,
    /// `# Table of contents`: numbered topic titles, each with `[mm:ss]` (or
    /// `[h:mm:ss]`) of its start when the input has timed segments.
    TableOfContents,
}

impl PromptFormat {
    /// All five formats, in the order listed in the API.
    pub const ALL: [PromptFormat; 5] = [
        PromptFormat::Summarize,
        PromptFormat::ActionItems,
        PromptFormat::DetailedNotes,
        PromptFormat::QaFormat,
        PromptFormat::TableOfContents,
    ];

    /// The API name, e.g. `"action_items"`.
    pub fn api_name(self) -> &'static str {
        match self {
            PromptFormat::Summarize => "summarize",
            PromptFormat::ActionItems => "action_items",
            PromptFormat::DetailedNotes => "detailed_notes",
            PromptFormat::QaFormat => "qa_format",
            PromptFormat::TableOfContents => "table_of_contents",
        }
    }

    /// Parses an API name (exact, lowercase); `None` for anything else.
    pub fn from_api_name(name: &str) -> Option<PromptFormat> {
        PromptFormat::ALL.into_iter().find(|f| f.api_name() == name)
    }
}

/// A stretch of transcript starting at `start_secs` seconds into the audio.
///
/// Non-finite or negative `start_secs` are read as 0.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSegment {
    /// Offset of the segment's start from the start of the audio, in seconds.
    pub start_secs: f64,
    /// What was said in the segment.
    pub text: String,
}

/// What to synthesise from: `text` is the full text; `segments`, when the
/// source is audio, gives the same text split with timestamps.
///
/// Segments are matched to `text` by counting non-whitespace characters, so
/// spacing may differ. If `text` is blank, the segments' text is used.
#[derive(Debug, Clone, Copy)]
pub struct SynthesisInput<'a> {
    /// Title of the source (file or recording name); shown as an italic
    /// `_Source: …_` line under the heading when not blank.
    pub title: &'a str,
    /// The full text: a transcript or pasted prose, any length.
    pub text: &'a str,
    /// The same text split into timed segments, for audio sources.
    pub segments: Option<&'a [TimedSegment]>,
    /// The language of the text (ISO 639-1, as Whisper spells it) when known: its words are
    /// weighed with that language's stop words and stemmer; `None` reads it as English. A
    /// language without a stop-word list gets sentences chosen by position, and the document
    /// says so. Headings and labels stay in English.
    pub language: Option<&'a str>,
}

/// Renders one format as Markdown. Never panics, on any input including
/// empty or one-word text. Runs in roughly linear time for meeting-length
/// input (the TextRank graph links sentences at most 600 apart).
pub fn render(format: PromptFormat, input: &SynthesisInput) -> String {
    let src = Source::new(input);
    match format {
        PromptFormat::Summarize => formats::summarize::render(&src),
        PromptFormat::ActionItems => formats::action_items::render(&src),
        PromptFormat::DetailedNotes => formats::detailed_notes::render(&src),
        PromptFormat::QaFormat => formats::qa::render(&src),
        PromptFormat::TableOfContents => formats::toc::render(&src),
    }
}

/// Renders the plain transcript document used for audio when no format is
/// selected: `# Transcript` and paragraphs. With segments, paragraphs gather
/// consecutive segments (breaking at a sentence end after ~500 characters or
/// ~60 s, and in any case after 1,500 characters or 120 s) and start with
/// `**[mm:ss]**`; without, they follow the source's
/// paragraphs and `Name:` speaker turns. Never panics.
pub fn transcript_markdown(input: &SynthesisInput) -> String {
    formats::transcript::render(input)
}
