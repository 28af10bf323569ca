//! Lining sentences up with timed transcript segments, and timestamp labels.

use crate::engines::extractive::text::Doc;
use crate::engines::extractive::TimedSegment;

fn nonws(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Seconds, with NaN, infinities and negatives (bad upstream data) read as 0.
pub(crate) fn clean_secs(secs: f64) -> f64 {
    if secs.is_finite() && secs > 0.0 {
        secs
    } else {
        0.0
    }
}

/// Start time in seconds of each sentence of `doc` (parsed from `text`): the
/// start of the segment its first character falls in.
///
/// Positions are counted in non-whitespace characters, so the segments may be
/// spaced differently from `text`; if their text differs more than that, the
/// position is scaled proportionally, which still gives a close estimate.
pub(crate) fn sentence_times(doc: &Doc, text: &str, segments: &[TimedSegment]) -> Vec<f64> {
    let mut starts = Vec::with_capacity(segments.len());
    let mut total = 0usize;
    for seg in segments {
        starts.push(total);
        total += nonws(&seg.text);
    }
    let text_len = nonws(text).max(1) as f64;
    doc.sentences
        .iter()
        .map(|s| {
            let at = s.pos as f64 * total as f64 / text_len;
            let k = starts
                .partition_point(|&p| p as f64 <= at)
                .saturating_sub(1);
            segments
                .get(k)
                .map_or(0.0, |seg| clean_secs(seg.start_secs))
        })
        .collect()
}

/// Where each segment after the first starts, as a non-whitespace character
/// position in `text` (the inverse of the mapping in [`sentence_times`]).
pub(crate) fn segment_breaks(text: &str, segments: &[TimedSegment]) -> Vec<usize> {
    let lens: Vec<usize> = segments.iter().map(|s| nonws(&s.text)).collect();
    let total: usize = lens.iter().sum();
    if total == 0 {
        return Vec::new();
    }
    let scale = nonws(text) as f64 / total as f64;
    let mut at = 0usize;
    let mut out = Vec::with_capacity(lens.len());
    for len in &lens[..lens.len() - 1] {
        at += len;
        out.push((at as f64 * scale).round() as usize);
    }
    out.dedup();
    out
}

/// `mm:ss` below an hour, `h:mm:ss` from an hour on (fractions truncated).
pub(crate) fn format_timestamp(secs: f64) -> String {
    // `as` saturates, so absurdly large inputs still format.
    let total = clean_secs(secs).floor() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_timestamp(0.0), "00:00");
        assert_eq!(format_timestamp(75.9), "01:15");
        assert_eq!(format_timestamp(3599.0), "59:59");
        assert_eq!(format_timestamp(3723.0), "1:02:03");
        assert_eq!(format_timestamp(f64::NAN), "00:00");
        assert_eq!(format_timestamp(-5.0), "00:00");
    }

    #[test]
    fn maps_sentences_to_segments() {
        let segs = [
            TimedSegment {
                start_secs: 0.0,
                text: "Hello there. We start".into(),
            },
            TimedSegment {
                start_secs: 4.5,
                text: "now. Budget first.".into(),
            },
            TimedSegment {
                start_secs: 9.0,
                text: "Then hiring.".into(),
            },
        ];
        let text = "Hello there. We start now. Budget first. Then hiring.";
        let doc = Doc::parse(text);
        assert_eq!(sentence_times(&doc, text, &segs), [0.0, 0.0, 4.5, 9.0]);
    }
}
