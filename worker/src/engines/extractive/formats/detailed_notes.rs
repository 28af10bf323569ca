//! `detailed_notes`: one section per topic, bulleting its most informative sentences.

use super::{informative, repeats, Source, NEAR_DUPLICATE};
use crate::engines::extractive::markdown::{escape, open, sentence_item};
use crate::engines::extractive::rank::order;
use crate::engines::extractive::topics::segment;

/// Share of a topic's informative sentences kept, and the cap per topic.
const KEEP_SHARE: f64 = 0.7;
const MAX_BULLETS: usize = 12;

/// Renders `# Detailed notes` and a `## <title>` section per topic.
pub(crate) fn render(src: &Source) -> String {
    let mut out = open("Detailed notes", src.title);
    let doc = &src.doc;
    if doc.sentences.is_empty() {
        out.push_str("_No text to take notes from._\n\n");
        return src.close(out);
    }
    let scores = src.scores();
    for topic in segment(doc) {
        out.push_str(&format!("## {}\n\n", escape(&topic.title)));
        let range = topic.start..topic.end;
        let mut keep: Vec<usize> = range
            .clone()
            .filter(|&i| informative(&doc.sentences[i]))
            .collect();
        if keep.is_empty() {
            keep = range.collect();
        }
        let k = ((keep.len() as f64 * KEEP_SHARE).ceil() as usize).clamp(1, MAX_BULLETS);
        // Best-scored first, then back to source order for reading.
        let local: Vec<f64> = keep.iter().map(|&i| scores[i]).collect();
        let mut chosen: Vec<usize> = Vec::new();
        for i in order(&local).into_iter().map(|j| keep[j]) {
            if chosen.len() < k && !repeats(doc, &doc.sentences[i], &chosen, NEAR_DUPLICATE) {
                chosen.push(i);
            }
        }
        chosen.sort_unstable();
        for i in chosen {
            out.push_str(&format!("- {}\n", sentence_item(&doc.sentences[i])));
        }
        out.push('\n');
    }
    src.close(out)
}
