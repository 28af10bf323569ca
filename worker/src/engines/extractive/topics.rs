//! Topic segmentation and titling.
//!
//! Boundaries follow TextTiling (M. A. Hearst, "TextTiling: Segmenting Text
//! into Multi-paragraph Subtopic Passages", Computational Linguistics 23(1),
//! 1997): compare the vocabulary of the sentence blocks on each side of every
//! gap, and cut where the similarity falls deepest. Short texts, where block
//! statistics mean little, fall back to fixed-size groups. Titles are the
//! topic's top TF-IDF keywords, with topics as the "documents".

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

use crate::engines::extractive::lexicon::{LEAD_FILLERS, TOPIC_CUES};
use crate::engines::extractive::text::{Doc, Sentence};

/// Below this many sentences, use fixed-size groups instead of TextTiling.
const MIN_TILING_SENTENCES: usize = 12;
/// Group size for the short-text fallback.
const FIXED_GROUP: usize = 5;
/// Upper bound on topics, so a table of contents stays scannable.
const MAX_TOPICS: usize = 12;
/// Roughly one topic per this many sentences at most.
const SENTENCES_PER_TOPIC: usize = 6;

/// A topic: the sentences `start..end` of the document and a short title.
#[derive(Debug, Clone)]
pub(crate) struct Topic {
    /// First sentence index.
    pub start: usize,
    /// One past the last sentence index.
    pub end: usize,
    /// Title from the top keywords, e.g. "Project budget, vendor".
    pub title: String,
}

/// Splits the document into topics covering every sentence, in order.
pub(crate) fn segment(doc: &Doc) -> Vec<Topic> {
    let ranges = boundaries(&doc.sentences);
    let titles = titles(doc, &ranges);
    ranges
        .into_iter()
        .zip(titles)
        .map(|((start, end), title)| Topic { start, end, title })
        .collect()
}

fn boundaries(sentences: &[Sentence]) -> Vec<(usize, usize)> {
    let n = sentences.len();
    if n == 0 {
        return Vec::new();
    }
    let paragraph_starts: Vec<usize> = (1..n)
        .filter(|&i| sentences[i].paragraph != sentences[i - 1].paragraph)
        .collect();
    let cuts = if n < MIN_TILING_SENTENCES {
        // Too short for block statistics: the author's paragraphs if they
        // average three sentences or more, else fixed-size groups.
        if !paragraph_starts.is_empty() && paragraph_starts.len() < n.div_ceil(3) {
            paragraph_starts
        } else {
            let groups = n.div_ceil(FIXED_GROUP);
            let size = n.div_ceil(groups);
            (1..groups).map(|g| g * size).collect()
        }
    } else {
        tiling_cuts(sentences)
    };
    let mut ranges = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain([n]) {
        ranges.push((start, cut));
        start = cut;
    }
    ranges
}

/// TextTiling cut points (sentence indices where a new topic starts).
fn tiling_cuts(sentences: &[Sentence]) -> Vec<usize> {
    let n = sentences.len();
    // Hearst used blocks of ~10 pseudo-sentences; real sentences are longer,
    // so a few suffice, growing slowly with length for steadier statistics.
    let block = (n / 25).clamp(3, 6);
    let raw: Vec<f64> = (1..n)
        .map(|gap| {
            let left = term_counts(&sentences[gap.saturating_sub(block)..gap]);
            let right = term_counts(&sentences[gap..(gap + block).min(n)]);
            cosine(&left, &right)
        })
        .collect();
    // Hearst's average smoothing, so one odd sentence doesn't make a cut.
    let score: Vec<f64> = (0..raw.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 2).min(raw.len());
            raw[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect();
    let mut depth: Vec<f64> = (0..score.len()).map(|i| depth_at(&score, i)).collect();
    // Lexical cohesion alone is noisy on meeting-sized texts, so explicit
    // signals of a new topic raise the gap's depth: a spoken cue phrase
    // ("Moving on to…") and, as Hearst snaps cuts to them, a paragraph break.
    let top = depth.iter().copied().fold(0.0, f64::max).max(0.1);
    for (i, d) in depth.iter_mut().enumerate() {
        let next = &sentences[i + 1];
        if starts_topic(&next.text) {
            *d += top * 0.6;
        }
        if next.paragraph != sentences[i].paragraph {
            *d += top * 0.3;
        }
    }
    // Hearst keeps valleys deeper than mean − sd/2. On meeting-length texts
    // that admits many shallow dips, so only local peaks of depth above the
    // mean are candidates; the size rules below then prune further.
    let mean = depth.iter().sum::<f64>() / depth.len().max(1) as f64;
    let peak = |i: usize| {
        (i == 0 || depth[i] >= depth[i - 1]) && depth.get(i + 1).is_none_or(|&d| depth[i] >= d)
    };
    let mut candidates: Vec<usize> = (0..depth.len())
        .filter(|&i| peak(i) && depth[i] > mean && depth[i] > 1e-9)
        .collect();
    candidates.sort_by(|&a, &b| depth[b].total_cmp(&depth[a]).then(a.cmp(&b)));

    let min_size = block.max(3);
    let max_cuts = (n / SENTENCES_PER_TOPIC).clamp(1, MAX_TOPICS) - 1;
    let mut cuts: Vec<usize> = Vec::new();
    for gap in candidates.into_iter().map(|i| i + 1) {
        if cuts.len() >= max_cuts {
            break;
        }
        let fits = gap >= min_size
            && n - gap >= min_size
            && cuts.iter().all(|&c| c.abs_diff(gap) >= min_size);
        if fits {
            cuts.push(gap);
        }
    }
    cuts.sort_unstable();
    cuts
}

/// True when the sentence opens with a topic-shift cue phrase.
fn starts_topic(text: &str) -> bool {
    let words: Vec<(usize, String)> = text
        .unicode_word_indices()
        .take(8)
        .map(|(i, w)| (i, w.to_lowercase().replace('’', "'")))
        .collect();
    let skip = words
        .iter()
        .take_while(|(_, w)| LEAD_FILLERS.contains(&w.as_str()))
        .count();
    let rest = &words[skip..];
    let cue = TOPIC_CUES
        .iter()
        .any(|c| rest.len() >= c.len() && c.iter().zip(rest).all(|(a, (_, b))| a == b));
    // A bare "Next," or "Next:" also opens an item, "Next week…" does not.
    let next_colon = rest.first().is_some_and(|(i, w)| {
        w == "next"
            && text
                .get(i + w.len()..)
                .is_some_and(|after| after.trim_start().starts_with([',', ':']))
    });
    cue || next_colon
}

/// Depth of the valley at gap `i`: how far the score climbs back up on each side.
fn depth_at(score: &[f64], i: usize) -> f64 {
    let mut left = i;
    while left > 0 && score[left - 1] >= score[left] {
        left -= 1;
    }
    let mut right = i;
    while right + 1 < score.len() && score[right + 1] >= score[right] {
        right += 1;
    }
    (score[left] - score[i]) + (score[right] - score[i])
}

fn term_counts(block: &[Sentence]) -> HashMap<u32, f64> {
    let mut tf = HashMap::new();
    for t in block.iter().flat_map(|s| &s.tokens) {
        *tf.entry(*t).or_insert(0.0) += 1.0;
    }
    tf
}

fn cosine(a: &HashMap<u32, f64>, b: &HashMap<u32, f64>) -> f64 {
    let dot: f64 = a.iter().filter_map(|(k, x)| b.get(k).map(|y| x * y)).sum();
    let norm = |m: &HashMap<u32, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let d = norm(a) * norm(b);
    if d > 0.0 {
        dot / d
    } else {
        0.0
    }
}

/// One title per range: the best keywords, each widened to a two-word phrase
/// when that phrase recurs ("hosting costs"), until three words are used.
fn titles(doc: &Doc, ranges: &[(usize, usize)]) -> Vec<String> {
    let topics = ranges.len() as f64;
    let mut df = vec![0u32; doc.vocab.len()];
    let counts: Vec<HashMap<u32, f64>> = ranges
        .iter()
        .map(|&(s, e)| term_counts(&doc.sentences[s..e]))
        .collect();
    for tf in &counts {
        for &t in tf.keys() {
            df[t as usize] += 1;
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (i, (&(s, e), tf)) in ranges.iter().zip(&counts).enumerate() {
        // Smoothed IDF stays positive when there is only one topic.
        let score = |t: u32| {
            tf.get(&t).copied().unwrap_or(0.0)
                * (1.0 + topics / f64::from(df[t as usize].max(1))).ln()
        };
        let mut ranked: Vec<u32> = tf.keys().copied().collect();
        ranked.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
        let mut parts: Vec<String> = Vec::new();
        let mut used: Vec<u32> = Vec::new();
        for &t in &ranked {
            if used.len() >= 3 {
                break;
            }
            if used.contains(&t) {
                continue;
            }
            match best_phrase(&doc.sentences[s..e], t, &score)
                .filter(|p| !used.contains(&p.0) && !used.contains(&p.1))
            {
                Some((a, b)) => {
                    parts.push(format!("{} {}", doc.vocab.display(a), doc.vocab.display(b)));
                    used.extend([a, b]);
                }
                None => {
                    parts.push(doc.vocab.display(t));
                    used.push(t);
                }
            }
        }
        let mut title = capitalise(&parts.join(", "));
        if title.is_empty() {
            title = format!("Topic {}", i + 1);
        }
        if out.contains(&title) {
            title.push_str(" (continued)");
        }
        out.push(title);
    }
    out
}

/// The most frequent adjacent stem pair containing `top`, if seen twice or more.
fn best_phrase(block: &[Sentence], top: u32, score: &dyn Fn(u32) -> f64) -> Option<(u32, u32)> {
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    for s in block {
        for k in 1..s.tokens.len() {
            let (a, b) = (s.tokens[k - 1], s.tokens[k]);
            if s.joined[k] && a != b && (a == top || b == top) {
                *pairs.entry((a, b)).or_insert(0) += 1;
            }
        }
    }
    pairs
        .into_iter()
        .filter(|&(_, c)| c >= 2)
        .max_by(|x, y| {
            let sx = score(x.0 .0) + score(x.0 .1);
            let sy = score(y.0 .0) + score(y.0 .1);
            x.1.cmp(&y.1).then(sx.total_cmp(&sy)).then(y.0.cmp(&x.0))
        })
        .map(|(p, _)| p)
}

/// Uppercases the first character.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_vocabulary_shift() {
        let a = "The project budget needs review. The project budget grew. Budget cuts hit the project. \
                 Project budget owners agree. The budget is tight for the project. Budget approval waits. ";
        let b = "Hiring plans changed. We interview candidates weekly. Hiring managers review candidates. \
                 Candidates get offers soon. The hiring panel meets candidates. Interview feedback is due. ";
        let doc = Doc::parse(&format!("{a}{b}"));
        let topics = segment(&doc);
        assert_eq!(topics.len(), 2, "{topics:?}");
        assert_eq!(topics[1].start, 6);
        assert!(
            topics[0].title.to_lowercase().contains("budget"),
            "{}",
            topics[0].title
        );
        assert!(
            topics[1].title.to_lowercase().contains("candidat"),
            "{}",
            topics[1].title
        );
    }

    #[test]
    fn short_text_uses_fixed_groups() {
        let doc =
            Doc::parse("One fish. Two fish. Red fish. Blue fish. Old fish. New fish. Fat fish.");
        let t = segment(&doc);
        assert_eq!(
            t.iter().map(|t| (t.start, t.end)).collect::<Vec<_>>(),
            [(0, 4), (4, 7)]
        );
        assert!(segment(&Doc::parse("")).is_empty());
    }

    #[test]
    fn recognises_topic_cues() {
        assert!(starts_topic("Okay, moving on to hiring."));
        assert!(starts_topic("Next, the launch plan."));
        assert!(starts_topic("So let's talk about pricing."));
        assert!(!starts_topic("Next week we ship."));
        assert!(!starts_topic("Hiring is slow."));
    }

    #[test]
    fn short_text_uses_paragraphs_when_given() {
        let doc = Doc::parse(
            "Budget is up. Costs rose. Vendors too.\n\nHiring is slow. Two roles open. Panels lag.",
        );
        let t = segment(&doc);
        assert_eq!(
            t.iter().map(|t| (t.start, t.end)).collect::<Vec<_>>(),
            [(0, 3), (3, 6)]
        );
    }
}
