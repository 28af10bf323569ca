//! Sentence ranking with TextRank (R. Mihalcea and P. Tarau, "TextRank:
//! Bringing Order into Texts", EMNLP 2004, section 4): sentences are graph
//! vertices, edges are weighted by content-word overlap, and scores come from
//! weighted PageRank.
//!
//! No light, maintained crate ranks *sentences* this way on our own tokens, so
//! the ~60 lines below implement it directly.

use crate::engines::extractive::text::Sentence;

/// PageRank damping factor, as in the paper.
const DAMPING: f64 = 0.85;
/// Convergence threshold on the largest score change, as in the paper.
const EPSILON: f64 = 1e-4;
const MAX_ITERATIONS: usize = 100;
/// Only sentences at most this far apart are linked. Up to this many
/// sentences (≈ 50,000 characters of meeting talk) the graph is the paper's
/// full graph; beyond it the cap keeps time and memory linear in length.
const WINDOW: usize = 600;

/// Scores each sentence (higher = more central); same length as `sentences`.
pub(crate) fn textrank(sentences: &[Sentence]) -> Vec<f64> {
    let n = sentences.len();
    let sets: Vec<Vec<u32>> = sentences
        .iter()
        .map(|s| {
            let mut t = s.tokens.clone();
            t.sort_unstable();
            t.dedup();
            t
        })
        .collect();
    // Inverted index: stem -> sentences containing it, in order.
    let vocab = sets.iter().flatten().max().map_or(0, |&m| m as usize + 1);
    let mut postings: Vec<Vec<usize>> = vec![Vec::new(); vocab];
    for (i, set) in sets.iter().enumerate() {
        for &t in set {
            postings[t as usize].push(i);
        }
    }
    // Sparse symmetric similarity graph.
    let mut edges: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut overlap = vec![0u32; n];
    let mut touched = Vec::new();
    for i in 0..n {
        for &t in &sets[i] {
            let list = &postings[t as usize];
            let from = list.partition_point(|&j| j <= i);
            for &j in list[from..].iter().take_while(|&&j| j - i <= WINDOW) {
                if overlap[j] == 0 {
                    touched.push(j);
                }
                overlap[j] += 1;
            }
        }
        for j in touched.drain(..) {
            let w = similarity(overlap[j], sets[i].len(), sets[j].len());
            overlap[j] = 0;
            edges[i].push((j, w));
            edges[j].push((i, w));
        }
    }
    pagerank(&edges)
}

/// The paper's sentence similarity: shared words over the sum of log lengths. It
/// leaves two one-word sentences undefined (log 1 + log 1 = 0); we divide by 1.
fn similarity(shared: u32, a: usize, b: usize) -> f64 {
    let denom = (a as f64).ln() + (b as f64).ln();
    f64::from(shared) / if denom > 1e-9 { denom } else { 1.0 }
}

/// The paper's weighted PageRank: WS(i) = (1 − d) + d · Σⱼ wⱼᵢ / Σₖ wⱼₖ · WS(j).
fn pagerank(edges: &[Vec<(usize, f64)>]) -> Vec<f64> {
    let n = edges.len();
    let out_weight: Vec<f64> = edges
        .iter()
        .map(|e| e.iter().map(|&(_, w)| w).sum())
        .collect();
    let mut score = vec![1.0; n];
    for _ in 0..MAX_ITERATIONS {
        let mut next = vec![1.0 - DAMPING; n];
        for (i, e) in edges.iter().enumerate() {
            let sum: f64 = e
                .iter()
                .filter(|&&(j, _)| out_weight[j] > 0.0)
                .map(|&(j, w)| w / out_weight[j] * score[j])
                .sum();
            next[i] += DAMPING * sum;
        }
        let change = next
            .iter()
            .zip(&score)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        score = next;
        if change < EPSILON {
            break;
        }
    }
    score
}

/// Sentence indices ordered best first; ties go to the earlier sentence.
pub(crate) fn order(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Redundancy test that keeps selections diverse: the share of the smaller
/// sentence's distinct stems that the other one also has. Sentences with
/// fewer than three stems are never called redundant: too little evidence.
pub(crate) fn overlap_ratio(a: &Sentence, b: &Sentence) -> f64 {
    let small = a.tokens.len().min(b.tokens.len());
    if small < 3 {
        return 0.0;
    }
    let (short, long) = if a.tokens.len() <= b.tokens.len() {
        (a, b)
    } else {
        (b, a)
    };
    let mut seen: Vec<u32> = short.tokens.clone();
    seen.sort_unstable();
    seen.dedup();
    let shared = seen.iter().filter(|t| long.tokens.contains(t)).count();
    shared as f64 / seen.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::extractive::text::Doc;

    #[test]
    fn central_sentence_wins() {
        let d = Doc::parse(
            "The budget review covers vendor costs. Vendor costs rose. \
             The budget grew with vendor costs. Lunch was nice.",
        );
        let s = textrank(&d.sentences);
        let best = order(&s)[0];
        assert!(best == 0 || best == 2, "got {best}");
        assert_eq!(*order(&s).last().unwrap(), 3);
    }

    #[test]
    fn empty_and_isolated() {
        assert!(textrank(&[]).is_empty());
        let d = Doc::parse("Alpha. Beta.");
        assert_eq!(textrank(&d.sentences), vec![1.0 - DAMPING; 2]);
    }
}
