//! `qa_format`: questions asked in the text with the sentences that follow
//! them, topped up with templated questions about key sentences.

use std::collections::HashSet;

use super::{select, Source};
use crate::engines::extractive::markdown::{escape, open};
use crate::engines::extractive::rank::order;
use crate::engines::extractive::text::Sentence;

/// At most this many asked questions, chosen by TextRank score.
const MAX_ASKED: usize = 10;
/// Below this many asked questions, generated ones are added…
const FEW: usize = 3;
/// …until there are this many pairs.
const TARGET_PAIRS: usize = 5;

/// Renders `# Questions and answers` as `**Q:**` / `**A:**` paragraph pairs.
pub(crate) fn render(src: &Source) -> String {
    let mut out = open("Questions and answers", src.title);
    let doc = &src.doc;
    let sents = &doc.sentences;
    if sents.is_empty() {
        out.push_str("_No text to draw questions from._\n\n");
        return src.close(out);
    }
    let scores = src.scores();
    let ranked = order(&scores);
    let mut seen = HashSet::new();
    let mut asked: Vec<usize> = ranked
        .iter()
        .copied()
        .filter(|&i| {
            sents[i].is_question() && sents[i].word_count >= 3 && !sents[i].tokens.is_empty()
        })
        // The same question asked twice gets one answer.
        .filter(|&i| seen.insert(sents[i].text.to_lowercase()))
        .take(MAX_ASKED)
        .collect();
    asked.sort_unstable();
    let mut used: Vec<usize> = Vec::new();
    for &q in &asked {
        let answer = answer_to(sents, q);
        used.push(q);
        used.extend(&answer);
        out.push_str(&format!("**Q:** {}\n\n", attributed(&sents[q..=q])));
        if answer.is_empty() {
            out.push_str("**A:** _No answer follows in the text._\n\n");
        } else {
            out.push_str(&format!(
                "**A:** {}\n\n",
                attributed(&sents[answer[0]..=answer[answer.len() - 1]])
            ));
        }
    }
    if asked.len() < FEW {
        generate(src, &ranked, &used, TARGET_PAIRS - asked.len(), &mut out);
    }
    src.close(out)
}

/// The one or two statements right after question `q`; a second one only
/// when the first is too short to stand as an answer ("Yes.").
fn answer_to(sents: &[Sentence], q: usize) -> Vec<usize> {
    let mut answer = Vec::new();
    for j in q + 1..sents.len().min(q + 3) {
        if sents[j].is_question() || (j > q + 1 && sents[q + 1].word_count >= 8) {
            break;
        }
        answer.push(j);
    }
    answer
}

/// Sentences joined, followed by the speaker of the first one when known.
fn attributed(sents: &[Sentence]) -> String {
    let text: Vec<String> = sents.iter().map(|s| escape(&s.text)).collect();
    match sents.first().and_then(|s| s.speaker.as_ref()) {
        Some(who) => format!("{} — _{}_", text.join(" "), escape(who)),
        None => text.join(" "),
    }
}

/// Adds up to `want` `"What was said about <keyword>?"` pairs, answered by
/// high-ranked sentences, each on a different keyword.
fn generate(src: &Source, ranked: &[usize], used: &[usize], want: usize, out: &mut String) {
    let doc = &src.doc;
    let candidates = select(doc, ranked, want, used);
    let mut by_rank: Vec<usize> = ranked
        .iter()
        .copied()
        .filter(|i| candidates.contains(i))
        .collect();
    by_rank.truncate(want);
    let mut pairs: Vec<(usize, String)> = Vec::new();
    let mut keywords: Vec<u32> = Vec::new();
    for i in by_rank {
        // The sentence's most frequent word in the whole text names what it is about.
        let best = doc.sentences[i]
            .tokens
            .iter()
            .copied()
            .filter(|t| !keywords.contains(t))
            .max_by(|&a, &b| {
                doc.vocab.freq[a as usize]
                    .cmp(&doc.vocab.freq[b as usize])
                    .then(b.cmp(&a))
            });
        if let Some(t) = best {
            keywords.push(t);
            pairs.push((i, doc.vocab.display(t)));
        }
    }
    if pairs.is_empty() && used.is_empty() {
        out.push_str("_No questions in the text, and too little text to generate any._\n\n");
        return;
    }
    pairs.sort_unstable();
    for (i, keyword) in pairs {
        out.push_str(&format!(
            "**Q:** What was said about {}? _(generated)_\n\n**A:** {}\n\n",
            escape(&keyword),
            attributed(&doc.sentences[i..=i])
        ));
    }
}
