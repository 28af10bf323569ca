//! `table_of_contents`: a numbered list of topics, timestamped for audio.

use super::Source;
use crate::engines::extractive::markdown::{escape, open};
use crate::engines::extractive::timing::format_timestamp;
use crate::engines::extractive::topics::segment;

/// Renders `# Table of contents` and `1. [mm:ss] Title` entries (no
/// timestamp for plain text).
pub(crate) fn render(src: &Source) -> String {
    let mut out = open("Table of contents", src.title);
    let topics = segment(&src.doc);
    if topics.is_empty() {
        out.push_str("_No text to index._\n\n");
        return src.close(out);
    }
    let times = src.times();
    for (k, topic) in topics.iter().enumerate() {
        let stamp = times
            .as_ref()
            .and_then(|t| t.get(topic.start))
            .map(|&secs| format!("[{}] ", format_timestamp(secs)))
            .unwrap_or_default();
        out.push_str(&format!("{}. {stamp}{}\n", k + 1, escape(&topic.title)));
    }
    out.push('\n');
    src.close(out)
}
