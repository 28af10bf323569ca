//! Long-form seeking: which part of a decoded window is final, and where the next window
//! starts.
//!
//! Whisper decodes 30 s windows. When a window's end cuts an utterance off, the model often
//! closes the last complete segment with a timestamp and stops, or starts a segment it cannot
//! finish; the words after that timestamp are heard again only if the next window starts
//! there. This is the rule of OpenAI Whisper's long-form loop (`transcribe.py`, "seek") that
//! faster-whisper's `generate_segments` follows too:
//!
//! - The generated ids are cut into segments at *consecutive* timestamp tokens (`<|t1|><|t2|>`
//!   closes one segment and opens the next).
//! - If the output ends with a single timestamp after text, every segment is complete: the
//!   next window starts at this window's end.
//! - Otherwise the text after the last consecutive pair is unfinished: it is dropped, and the
//!   next window starts at the last timestamp of the last complete segment, so that speech is
//!   decoded again from there — never skipped, never doubled.
//! - Output without any consecutive pair is one segment over the window (up to its last
//!   timestamp), and the next window starts at this window's end.

/// Seconds between two timestamp tokens (`<|0.00|>`, `<|0.02|>`, …).
pub const TIMESTAMP_SECS: f64 = 0.02;

/// Text tokens of one final segment, with its time span in seconds from the window start.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub start_secs: f64,
    pub end_secs: f64,
    /// Text token ids (timestamps and other special tokens removed). May be empty.
    pub tokens: Vec<u32>,
}

/// What one decoded window yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// The final segments, in order.
    pub pieces: Vec<Piece>,
    /// Seconds from the window start where the next window starts (`> 0`, at most the
    /// window's length).
    pub advance_secs: f64,
}

/// The token-id layout of a Whisper vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    /// Ids at or above this are special (`<|endoftext|>` and everything after it).
    pub first_special: u32,
    /// Id of `<|0.00|>`; timestamp tokens follow it, one per [`TIMESTAMP_SECS`].
    pub timestamp_begin: u32,
}

impl Vocabulary {
    fn is_timestamp(&self, id: u32) -> bool {
        id >= self.timestamp_begin
    }

    /// Seconds of a timestamp token from the window start.
    fn time_of(&self, id: u32) -> f64 {
        f64::from(id - self.timestamp_begin) * TIMESTAMP_SECS
    }

    /// The ids of `ids` that are text (no timestamp or other special token).
    pub fn text_tokens(&self, ids: &[u32]) -> Vec<u32> {
        ids.iter()
            .copied()
            .filter(|&id| id < self.first_special)
            .collect()
    }
}

/// Applies the seek rule (see the module documentation) to the ids generated for one window
/// of `window_secs` seconds of audio (`ids` without the prompt and without `<|endoftext|>`).
/// Times are clamped to the window.
pub fn cut(ids: &[u32], vocabulary: Vocabulary, window_secs: f64) -> Cut {
    let time = |id: u32| vocabulary.time_of(id).min(window_secs);
    let single_timestamp_ending = ids.len() >= 2
        && !vocabulary.is_timestamp(ids[ids.len() - 2])
        && vocabulary.is_timestamp(ids[ids.len() - 1]);
    let consecutive: Vec<usize> = (1..ids.len())
        .filter(|&i| vocabulary.is_timestamp(ids[i]) && vocabulary.is_timestamp(ids[i - 1]))
        .collect();

    if !consecutive.is_empty() {
        let mut slices = consecutive;
        if single_timestamp_ending {
            slices.push(ids.len());
        }
        let mut pieces = Vec::with_capacity(slices.len());
        let mut last_slice = 0;
        for &slice in &slices {
            let tokens = &ids[last_slice..slice];
            let start = tokens
                .first()
                .filter(|&&id| vocabulary.is_timestamp(id))
                .map_or(0.0, |&id| time(id));
            let end = tokens
                .last()
                .filter(|&&id| vocabulary.is_timestamp(id))
                .map_or(window_secs, |&id| time(id));
            pieces.push(Piece {
                start_secs: start,
                end_secs: end.max(start),
                tokens: vocabulary.text_tokens(tokens),
            });
            last_slice = slice;
        }
        let advance_secs = if single_timestamp_ending {
            window_secs
        } else {
            // The unfinished text after the last complete segment is decoded again by the next
            // window, which starts where that segment ended.
            time(ids[last_slice - 1])
        };
        if advance_secs > 0.0 {
            return Cut {
                pieces,
                advance_secs,
            };
        }
        // Only empty segments at 0.00 closed before the unfinished text: taking the text as it
        // is keeps the loop moving (the reference would decode the same window for ever).
    }

    let start = ids
        .first()
        .filter(|&&id| vocabulary.is_timestamp(id))
        .map_or(0.0, |&id| time(id));
    let end = match ids.last() {
        Some(&id) if single_timestamp_ending => time(id),
        _ => window_secs,
    };
    Cut {
        pieces: vec![Piece {
            start_secs: start.min(end),
            end_secs: end,
            tokens: vocabulary.text_tokens(ids),
        }],
        advance_secs: window_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOCABULARY: Vocabulary = Vocabulary {
        first_special: 1000,
        timestamp_begin: 2000,
    };

    /// The timestamp token of `secs`.
    fn ts(secs: f64) -> u32 {
        VOCABULARY.timestamp_begin + (secs / TIMESTAMP_SECS).round() as u32
    }

    fn spans(cut: &Cut) -> Vec<(f64, f64, Vec<u32>)> {
        cut.pieces
            .iter()
            .map(|p| (p.start_secs, p.end_secs, p.tokens.clone()))
            .collect()
    }

    #[test]
    fn a_window_whose_last_segment_is_closed_is_final_to_its_end() {
        let ids = [ts(0.0), 1, 2, ts(4.0), ts(4.0), 3, 4, ts(9.5)];
        let cut = cut(&ids, VOCABULARY, 30.0);
        assert_eq!(
            spans(&cut),
            vec![(0.0, 4.0, vec![1, 2]), (4.0, 9.5, vec![3, 4])]
        );
        assert_eq!(cut.advance_secs, 30.0);
    }

    #[test]
    fn unfinished_text_after_the_last_complete_segment_is_left_to_the_next_window() {
        // `<|25.04|>` closes a segment; the text after `<|25.04|>` opens one the window's end
        // cut off: the next window starts at 25.04 s and decodes those words again.
        let ids = [
            ts(0.0),
            1,
            2,
            ts(21.76),
            ts(21.76),
            3,
            ts(25.04),
            ts(25.04),
            5,
            6,
        ];
        let cut = cut(&ids, VOCABULARY, 30.0);
        assert_eq!(
            spans(&cut),
            vec![(0.0, 21.76, vec![1, 2]), (21.76, 25.04, vec![3])]
        );
        assert!((cut.advance_secs - 25.04).abs() < 1e-9);
    }

    #[test]
    fn output_without_consecutive_timestamps_is_one_segment_over_the_window() {
        let closed = cut(&[ts(0.4), 1, 2, ts(7.0)], VOCABULARY, 12.0);
        assert_eq!(spans(&closed), vec![(0.4, 7.0, vec![1, 2])]);
        assert_eq!(closed.advance_secs, 12.0);

        let open = cut(&[ts(0.4), 1, 2], VOCABULARY, 12.0);
        assert_eq!(spans(&open), vec![(0.4, 12.0, vec![1, 2])]);
        assert_eq!(open.advance_secs, 12.0);
    }

    #[test]
    fn timestamps_past_a_short_last_window_are_clamped_to_it() {
        let cut = cut(&[ts(0.0), 1, ts(14.0)], VOCABULARY, 10.0);
        assert_eq!(spans(&cut), vec![(0.0, 10.0, vec![1])]);
        assert_eq!(cut.advance_secs, 10.0);
    }

    #[test]
    fn the_window_always_moves_forward() {
        // Degenerate output: an empty segment at 0.00, then unfinished text.
        let cut = cut(&[ts(0.0), ts(0.0), 1, 2], VOCABULARY, 30.0);
        assert_eq!(cut.advance_secs, 30.0);
        assert_eq!(
            cut.pieces
                .iter()
                .flat_map(|p| p.tokens.clone())
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(super::cut(&[], VOCABULARY, 30.0).advance_secs > 0.0);
    }

    #[test]
    fn special_tokens_other_than_timestamps_never_reach_the_text() {
        let cut = cut(&[ts(0.0), 1500, 1, ts(2.0)], VOCABULARY, 30.0);
        assert_eq!(spans(&cut), vec![(0.0, 2.0, vec![1])]);
    }
}
