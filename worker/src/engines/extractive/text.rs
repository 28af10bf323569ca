//! Tokenising: turns raw text into [`Doc`], the shared input of ranking,
//! topic segmentation and the formats.
//!
//! Sentences come from [`crate::engines::extractive::split`]; words are UAX #29 words
//! (`unicode-segmentation`), filtered by the text language's NLTK stop-word list
//! (`stop-words`; for English plus spoken fillers), and stemmed with that language's
//! Snowball stemmer (`rust-stemmers`) when there is one. See [`Lexicon`].

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_segmentation::UnicodeSegmentation;

use crate::engines::extractive::lexicon::EXTRA_STOP_WORDS;
use crate::engines::extractive::split::{nonws, sentence_ranges, units, Unit};

/// English stop words (lowercase, ASCII apostrophe), built once per process: NLTK's list
/// plus spoken fillers. The English cue rules (action items) use them whatever the language.
pub(crate) fn stop_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let nltk = stop_words::lookup("en").unwrap_or(&[]);
        nltk.iter().chain(EXTRA_STOP_WORDS).copied().collect()
    })
}

/// The stop words of every language NLTK lists, by ISO 639-1 code, built once per process
/// (English from [`stop_words`]).
fn stop_lists() -> &'static HashMap<&'static str, HashSet<&'static str>> {
    static LISTS: OnceLock<HashMap<&'static str, HashSet<&'static str>>> = OnceLock::new();
    LISTS.get_or_init(|| {
        smelt_core::domain::speech::WHISPER_LANGUAGES
            .iter()
            .filter(|code| **code != "en")
            .filter_map(|code| Some((*code, stop_words::lookup(code)?.iter().copied().collect())))
            .collect()
    })
}

/// How the words of one language are weighed: which carry no content (its stop words) and
/// how their forms are folded together (its Snowball stemmer, when `rust-stemmers` has one).
#[derive(Clone, Copy)]
pub(crate) struct Lexicon {
    stops: &'static HashSet<&'static str>,
    stemmer: Option<Algorithm>,
}

impl Lexicon {
    /// English: NLTK's stop words plus spoken fillers, the English stemmer.
    pub(crate) fn english() -> Lexicon {
        Lexicon {
            stops: stop_words(),
            stemmer: Some(Algorithm::English),
        }
    }

    /// The lexicon of the language with ISO 639-1 `code` (Whisper's spelling); `None` when
    /// there is no stop-word list for it, so its words cannot be weighed.
    pub(crate) fn for_language(code: &str) -> Option<Lexicon> {
        if code == "en" {
            return Some(Lexicon::english());
        }
        let stemmer = match code {
            "ar" => Some(Algorithm::Arabic),
            "da" => Some(Algorithm::Danish),
            "nl" => Some(Algorithm::Dutch),
            "fi" => Some(Algorithm::Finnish),
            "fr" => Some(Algorithm::French),
            "de" => Some(Algorithm::German),
            "el" => Some(Algorithm::Greek),
            "hu" => Some(Algorithm::Hungarian),
            "it" => Some(Algorithm::Italian),
            "no" | "nn" => Some(Algorithm::Norwegian),
            "pt" => Some(Algorithm::Portuguese),
            "ro" => Some(Algorithm::Romanian),
            "ru" => Some(Algorithm::Russian),
            "es" => Some(Algorithm::Spanish),
            "sv" => Some(Algorithm::Swedish),
            "ta" => Some(Algorithm::Tamil),
            "tr" => Some(Algorithm::Turkish),
            _ => None,
        };
        stop_lists()
            .get(code)
            .map(|stops| Lexicon { stops, stemmer })
    }

    /// No stop word and no stemmer: every word counts alike (for a language that cannot be
    /// weighed; sentences are then chosen by position).
    pub(crate) fn unweighed() -> Lexicon {
        static EMPTY: OnceLock<HashSet<&'static str>> = OnceLock::new();
        Lexicon {
            stops: EMPTY.get_or_init(HashSet::new),
            stemmer: None,
        }
    }
}

/// One sentence of the source, with its content-word stems.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    /// Display text: whitespace collapsed, speaker label and list marker removed.
    pub text: String,
    /// Speaker named by a `Name:` label at the start of the turn, if any.
    pub speaker: Option<String>,
    /// Non-whitespace characters of the source before this sentence; used to
    /// line sentences up with timed segments whatever the spacing differences.
    pub pos: usize,
    /// Index of the source paragraph (blank-line separated) holding it.
    pub paragraph: usize,
    /// Content-word stem ids, in reading order (see [`Vocab`]).
    pub tokens: Vec<u32>,
    /// `joined[k]`: token `k` directly follows token `k-1` in the source, with
    /// only whitespace between; lets titles reuse two-word phrases.
    pub joined: Vec<bool>,
    /// Number of words (stop words included).
    pub word_count: usize,
}

impl Sentence {
    /// True when the sentence is a question (ends with `?`, ignoring closing quotes).
    pub fn is_question(&self) -> bool {
        self.text
            .trim_end_matches(['"', '\'', ')', ']', '”', '’', ' '])
            .ends_with(['?', '？'])
    }
}

/// Stem vocabulary: ids, occurrence counts and the surface forms seen.
#[derive(Debug, Default)]
pub(crate) struct Vocab {
    index: HashMap<String, u32>,
    /// Occurrences of each stem in the whole text.
    pub freq: Vec<u32>,
    surfaces: Vec<HashMap<String, u32>>,
}

impl Vocab {
    fn intern(&mut self, stem: &str, surface: &str) -> u32 {
        let id = match self.index.get(stem) {
            Some(&id) => id,
            None => {
                let id = self.freq.len() as u32;
                self.index.insert(stem.to_string(), id);
                self.freq.push(0);
                self.surfaces.push(HashMap::new());
                id
            }
        };
        self.freq[id as usize] += 1;
        *self.surfaces[id as usize]
            .entry(surface.to_string())
            .or_insert(0) += 1;
        id
    }

    /// Number of distinct stems.
    pub fn len(&self) -> usize {
        self.freq.len()
    }

    /// A readable word for a stem: its most frequent lowercase surface form,
    /// or, for words only ever capitalised (names, acronyms), the most frequent form.
    pub fn display(&self, id: u32) -> String {
        let Some(forms) = self.surfaces.get(id as usize) else {
            return String::new();
        };
        let best = |lower_only: bool| {
            forms
                .iter()
                .filter(|(w, _)| !lower_only || !w.chars().next().is_some_and(char::is_uppercase))
                // Ties broken alphabetically so output is deterministic.
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(w, _)| w.clone())
        };
        best(true).or_else(|| best(false)).unwrap_or_default()
    }
}

/// Snowball stemmer with a memo: talk repeats words a lot, and the memo
/// makes stemming a small share of the work even in unoptimised builds.
struct CachedStemmer {
    /// `None`: words are kept as they are.
    stemmer: Option<Stemmer>,
    memo: HashMap<String, String>,
}

impl CachedStemmer {
    fn new(algorithm: Option<Algorithm>) -> Self {
        CachedStemmer {
            stemmer: algorithm.map(Stemmer::create),
            memo: HashMap::new(),
        }
    }

    fn stem(&mut self, word: &str) -> String {
        if let Some(s) = self.memo.get(word) {
            return s.clone();
        }
        let s = match &self.stemmer {
            Some(stemmer) => stemmer.stem(word).into_owned(),
            None => word.to_owned(),
        };
        self.memo.insert(word.to_string(), s.clone());
        s
    }
}

/// The analysed text: sentences in source order plus their vocabulary.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    /// Sentences in source order.
    pub sentences: Vec<Sentence>,
    /// Vocabulary of content-word stems.
    pub vocab: Vocab,
}

/// Lowercases a word, unifies apostrophes and drops a possessive or
/// contraction tail ("budget's" → "budget", "we're" → "we").
fn normalise(word: &str) -> (String, String) {
    let lower = word.to_lowercase().replace('’', "'");
    let head = match lower.find('\'') {
        Some(i) if i > 0 => lower[..i].to_string(),
        _ => lower.clone(),
    };
    (lower, head)
}

/// True for a word worth indexing: has a letter, 2+ characters, not one of `stops`.
pub(crate) fn is_content(stops: &HashSet<&str>, lower: &str, head: &str) -> bool {
    head.chars().count() >= 2
        && head.chars().any(char::is_alphabetic)
        && !stops.contains(lower)
        && !stops.contains(head)
}

impl Doc {
    /// Analyses `text` with no segment breaks.
    #[cfg(test)]
    pub fn parse(text: &str) -> Doc {
        Doc::parse_with_breaks(text, &[], Lexicon::english())
    }

    /// Analyses `text`, weighing its words by `lexicon`; `breaks` are non-whitespace
    /// character positions where timed segments start (ascending), used to cut unpunctuated
    /// speech. Never panics; empty text gives an empty document.
    pub fn parse_with_breaks(text: &str, breaks: &[usize], lexicon: Lexicon) -> Doc {
        let mut stemmer = CachedStemmer::new(lexicon.stemmer);
        let mut doc = Doc::default();
        let units = units(text);
        let speakers: HashSet<&str> = units
            .iter()
            .filter_map(|u| u.speaker.as_deref())
            .flat_map(str::split_whitespace)
            .collect();
        for unit in &units {
            let mut cursor = (0usize, unit.pos); // (byte offset, non-ws count) in unit
            for (s, e) in sentence_ranges(&unit.text, unit.pos, breaks) {
                let raw = &unit.text[s..e];
                if !raw.chars().any(char::is_alphanumeric) {
                    continue;
                }
                cursor.1 += nonws(&unit.text[cursor.0..s]);
                cursor.0 = s;
                let display = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                let sentence = doc.tokenise(
                    &mut stemmer,
                    lexicon.stops,
                    display,
                    cursor.1,
                    unit,
                    &speakers,
                );
                doc.sentences.push(sentence);
            }
        }
        doc
    }

    fn tokenise(
        &mut self,
        stemmer: &mut CachedStemmer,
        stops: &HashSet<&str>,
        text: String,
        pos: usize,
        unit: &Unit,
        speakers: &HashSet<&str>,
    ) -> Sentence {
        let (mut tokens, mut joined) = (Vec::new(), Vec::new());
        let mut word_count = 0;
        let mut prev_end: Option<usize> = None;
        for (start, word) in text.unicode_word_indices() {
            word_count += 1;
            let (lower, head) = normalise(word);
            if !is_content(stops, &lower, &head) {
                prev_end = None;
                continue;
            }
            let stem = stemmer.stem(&head);
            let mut surface = word.get(..head.len()).unwrap_or(word).replace('’', "'");
            // Sentence case says nothing about the word ("Hiring is…"), unless
            // it is someone's name.
            let acronym = surface
                .chars()
                .filter(|c| c.is_alphabetic())
                .all(char::is_uppercase);
            if word_count == 1 && !acronym && !speakers.contains(surface.as_str()) {
                surface = head.clone();
            }
            tokens.push(self.vocab.intern(&stem, &surface));
            joined.push(prev_end.is_some_and(|p| text[p..start].trim().is_empty()));
            prev_end = Some(start + word.len());
        }
        Sentence {
            text,
            speaker: unit.speaker.clone(),
            pos,
            paragraph: unit.paragraph,
            tokens,
            joined,
            word_count,
        }
    }
}

#[cfg(test)]
mod tests;
