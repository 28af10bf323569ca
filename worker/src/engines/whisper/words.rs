//! Word timings from CTranslate2's cross-attention alignment.
//!
//! `ct2rs::sys::Whisper::align` runs dynamic time warping over the decoder's alignment heads
//! and returns, for the text tokens of a window, a path of `(token index, encoder frame)` steps
//! and each token's probability. The method that turns that path into words is the one of
//! OpenAI Whisper's `timing.py` (`find_alignment`), which faster-whisper's `word_timestamps`
//! follows too: a token starts where the path first reaches it (a "jump" in the token index),
//! a word is a run of tokens that begins with a space or a punctuation mark, and a word spans
//! from the jump of its first token to the jump of the token after its last. Encoder frames are
//! 20 ms apart (50 per second).

/// Encoder frames per second (30 s of audio are 1,500 encoder frames).
pub const FRAMES_PER_SECOND: f64 = 50.0;

/// One word: the text tokens it is made of (a range into the window's text tokens), its start
/// and end in seconds from the window start, and its mean token probability.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedWord {
    pub tokens: std::ops::Range<usize>,
    pub start_secs: f64,
    pub end_secs: f64,
    pub probability: f32,
}

/// Splits decoded token pieces into words: a piece that starts with whitespace or is
/// punctuation begins a new word; other pieces continue the current one. Returns the token
/// ranges of the words.
pub fn word_ranges(pieces: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let starts_word = piece.starts_with(char::is_whitespace)
            || piece.trim().chars().all(|c| c.is_ascii_punctuation())
            || ranges.is_empty();
        match ranges.last_mut() {
            Some(last) if !starts_word => last.end = i + 1,
            _ => ranges.push(i..i + 1),
        }
    }
    ranges
}

/// Times the words of a window from the alignment path (`(token index, frame)` steps, in
/// path order) and the token probabilities. Tokens the path never reaches take the time of
/// the last one it did. `end_secs` bounds the last word (the window's audio length).
pub fn time_words(
    ranges: &[std::ops::Range<usize>],
    path: &[(i64, i64)],
    token_probs: &[f32],
    end_secs: f64,
) -> Vec<TimedWord> {
    let token_count = ranges.last().map_or(0, |r| r.end);
    // Where the path first reaches each token: its start.
    let mut starts: Vec<Option<f64>> = vec![None; token_count + 1];
    let mut previous = -1i64;
    for &(token, frame) in path {
        if token != previous {
            if let Some(slot) = usize::try_from(token).ok().and_then(|t| starts.get_mut(t)) {
                slot.get_or_insert(frame as f64 / FRAMES_PER_SECOND);
            }
            previous = token;
        }
    }
    // Fill tokens the path skipped with the last known time, so times never go back.
    let mut last = 0.0f64;
    let times: Vec<f64> = starts
        .iter()
        .map(|t| {
            last = t.unwrap_or(last).max(last);
            last
        })
        .collect();
    ranges
        .iter()
        .map(|range| {
            let start = times[range.start].min(end_secs);
            let end = if range.end < token_count {
                times[range.end]
            } else {
                end_secs
            };
            let probs =
                &token_probs[range.start.min(token_probs.len())..range.end.min(token_probs.len())];
            let probability = if probs.is_empty() {
                0.0
            } else {
                probs.iter().sum::<f32>() / probs.len() as f32
            };
            TimedWord {
                tokens: range.clone(),
                start_secs: start,
                end_secs: end.clamp(start, end_secs.max(start)),
                probability,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pieces_join_into_words_at_spaces_and_punctuation() {
        let ranges = word_ranges(&pieces(&[" The", " quar", "ter", "ly", " plan", "."]));
        assert_eq!(ranges, vec![0..1, 1..4, 4..5, 5..6]);
    }

    #[test]
    fn a_word_runs_from_its_first_token_to_the_next_words_first_token() {
        let ranges = vec![0..1, 1..3];
        // Token 0 first reached at frame 10 (0.2 s), token 1 at 25, token 2 at 40.
        let path = [(0, 10), (0, 11), (1, 25), (1, 30), (2, 40), (2, 45)];
        let words = time_words(&ranges, &path, &[0.9, 0.5, 0.7], 2.0);
        assert_eq!(words.len(), 2);
        assert_eq!((words[0].start_secs, words[0].end_secs), (0.2, 0.5));
        assert_eq!((words[1].start_secs, words[1].end_secs), (0.5, 2.0));
        assert!((words[1].probability - 0.6).abs() < 1e-6);
    }

    #[test]
    fn tokens_the_path_skips_keep_times_in_order() {
        let words = time_words(&[0..1, 1..2, 2..3], &[(0, 50), (2, 40)], &[1.0; 3], 3.0);
        let times: Vec<(f64, f64)> = words.iter().map(|w| (w.start_secs, w.end_secs)).collect();
        assert!(
            times
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
            "{times:?}"
        );
        assert!(times.iter().all(|(s, e)| s <= e));
    }
}
