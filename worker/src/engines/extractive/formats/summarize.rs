//! `summarize`: a paragraph of the top TextRank sentences, then key points.

use super::{select, Source};
use crate::engines::extractive::markdown::{escape, open, sentence_item};
use crate::engines::extractive::rank::order;

/// Renders `# Summary`, a paragraph in source order, and `## Key points`.
pub(crate) fn render(src: &Source) -> String {
    let mut out = open("Summary", src.title);
    let doc = &src.doc;
    let n = doc.sentences.len();
    if n == 0 {
        out.push_str("_No text to summarise._\n\n");
        return src.close(out);
    }
    let ranked = order(&src.scores());
    // About one sentence in six, so the paragraph stays a paragraph.
    let paragraph = select(doc, &ranked, n.div_ceil(6).clamp(1, 5), &[]);
    let mut points = select(doc, &ranked, (n / 5).clamp(1, 7), &paragraph);
    if points.is_empty() {
        // Everything is already in the paragraph: restate it as bullets.
        points.clone_from(&paragraph);
    }
    let body: Vec<String> = paragraph
        .iter()
        .map(|&i| escape(&doc.sentences[i].text))
        .collect();
    out.push_str(&body.join(" "));
    out.push_str("\n\n## Key points\n\n");
    for i in points {
        out.push_str(&format!("- {}\n", sentence_item(&doc.sentences[i])));
    }
    out.push('\n');
    src.close(out)
}
