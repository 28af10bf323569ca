//! Where a long recording is cut into requests for a hosted transcription API, so that no word
//! is lost or heard twice at a cut.
//!
//! Two rules, applied together:
//!
//! 1. A request ends in the quietest 100 ms of its last stretch ([`chunk_end`]), so a cut
//!    falls between words where the audio allows it.
//! 2. When the provider returns timed segments, the last one of a request that is not the
//!    recording's last is final only if it ends well before the cut ([`settle`]); otherwise it
//!    may be the start of a sentence the cut interrupted, and the next request starts at the
//!    end of the last complete segment, so those words are transcribed once, whole. This is the
//!    seek rule of Whisper's long-form loop, applied to whole requests.

use super::Segment;

/// Sample rate of the audio the engines get, in Hz.
const SAMPLE_RATE: usize = 16_000;
/// Length of the stretch whose energy is compared when choosing a cut (100 ms).
const CUT_STRETCH: usize = SAMPLE_RATE / 10;
/// Step between candidate stretches (10 ms); finer buys nothing for word boundaries.
const CUT_STEP: usize = SAMPLE_RATE / 100;
/// Longest stretch searched for a pause before a request's end, in seconds.
const MAX_SEARCH_SECONDS: usize = 30;
/// A last segment ending closer than this to a cut, in ms, may have been cut off.
pub const UNFINISHED_TAIL_MS: u32 = 2_000;

/// Where the request starting at sample `start` ends: the recording's end when it is less
/// than `max_len` samples away, else the middle of the quietest 100 ms in the last fifth of
/// the request (at most 30 s). `samples` is 16 kHz mono; the result is in
/// `start + 1..=start + max_len` (or the recording's end).
pub fn chunk_end(samples: &[f32], start: usize, max_len: usize) -> usize {
    let max_len = max_len.max(CUT_STRETCH * 2);
    if samples.len() - start.min(samples.len()) <= max_len {
        return samples.len();
    }
    let end = start + max_len;
    let search = (max_len / 5).clamp(CUT_STRETCH, MAX_SEARCH_SECONDS * SAMPLE_RATE);
    let from = end - search;
    from + quietest_stretch(&samples[from..end])
}

/// The offset of the middle of the lowest-energy 100 ms in `region`, the latest on ties
/// (longer requests, fewer of them).
fn quietest_stretch(region: &[f32]) -> usize {
    let mut prefix = Vec::with_capacity(region.len() + 1);
    prefix.push(0.0f64);
    let mut acc = 0.0f64;
    for &s in region {
        acc += f64::from(s) * f64::from(s);
        prefix.push(acc);
    }
    let mut best = (f64::INFINITY, region.len());
    let mut offset = 0;
    while offset + CUT_STRETCH <= region.len() {
        let energy = prefix[offset + CUT_STRETCH] - prefix[offset];
        // Tolerance: prefix sums of f64 differ in the last bits for identical silences.
        if energy <= best.0 + 1e-9 {
            best = (energy.min(best.0), offset + CUT_STRETCH / 2);
        }
        offset += CUT_STEP;
    }
    best.1
}

/// Which of a request's segments are final, and where the next request starts (ms from the
/// start of the recording). `segments` are the request's, with times from the start of the
/// recording; the request covered `start_ms..end_ms`, the recording's end when `last`.
pub fn settle(
    mut segments: Vec<Segment>,
    start_ms: u32,
    end_ms: u32,
    last: bool,
) -> (Vec<Segment>, u32) {
    if last || segments.len() < 2 {
        return (segments, end_ms);
    }
    let tail = segments.last().expect("two or more segments");
    if tail.end_ms + UNFINISHED_TAIL_MS < end_ms {
        return (segments, end_ms);
    }
    segments.pop();
    let next = segments
        .last()
        .map_or(end_ms, |s| s.end_ms)
        .clamp(start_ms + 1, end_ms);
    (segments, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(start_ms: u32, end_ms: u32, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.to_owned(),
            words: None,
        }
    }

    /// Tone-like "speech" with a silent gap at the given sample range.
    fn speech_with_gap(len: usize, gap: std::ops::Range<usize>) -> Vec<f32> {
        (0..len)
            .map(|i| {
                if gap.contains(&i) {
                    0.0
                } else {
                    0.3 * ((i as f32 * 0.37).sin() + (i as f32 * 0.011).sin()) / 2.0
                }
            })
            .collect()
    }

    #[test]
    fn a_request_ends_in_the_pause_before_its_limit() {
        let s = SAMPLE_RATE;
        let audio = speech_with_gap(100 * s, 55 * s..55 * s + s / 5);
        let end = chunk_end(&audio, 0, 60 * s);
        assert!((55 * s..55 * s + s / 5).contains(&end), "cut at {end}");
        assert_eq!(chunk_end(&audio, 50 * s, 60 * s), audio.len());
    }

    #[test]
    fn continuous_sound_is_still_cut_within_the_limit() {
        let audio = vec![0.5f32; 95 * SAMPLE_RATE];
        let end = chunk_end(&audio, 10, 30 * SAMPLE_RATE);
        assert!(end > 10 && end <= 10 + 30 * SAMPLE_RATE);
    }

    #[test]
    fn a_last_segment_that_reaches_the_cut_is_transcribed_again_by_the_next_request() {
        let segments = vec![
            segment(0, 4_000, "One."),
            segment(4_000, 9_200, "Two."),
            segment(9_200, 9_900, "Thr"),
        ];
        let (kept, next) = settle(segments, 0, 10_000, false);
        assert_eq!(kept.len(), 2);
        assert_eq!(next, 9_200);
    }

    #[test]
    fn segments_ending_well_before_the_cut_and_the_last_request_are_final() {
        let segments = vec![segment(0, 4_000, "One."), segment(4_000, 6_000, "Two.")];
        assert_eq!(
            settle(segments.clone(), 0, 10_000, false),
            (segments.clone(), 10_000)
        );
        assert_eq!(settle(segments.clone(), 0, 6_100, true), (segments, 6_100));
    }

    #[test]
    fn a_request_with_one_segment_moves_on() {
        let segments = vec![segment(0, 9_900, "Everything.")];
        assert_eq!(
            settle(segments.clone(), 0, 10_000, false),
            (segments, 10_000)
        );
    }
}
