//! Transcript exports: plain text, SubRip (`.srt`), WebVTT (`.vtt`) and JSON, from the stored
//! segments.
//!
//! Subtitles are written with the `subtp` crate. Segments are cut into cues a reader can
//! follow — at most two lines of at most [`MAX_LINE_CHARS`] characters, the common broadcast
//! guideline (BBC and Netflix subtitle guidelines: 37–42 characters per line, two lines) — at
//! word boundaries; a cut segment's time is shared by its cues in proportion to their length,
//! or taken from the word timings when the segment has them. Cues never overlap and always
//! last at least [`MIN_CUE_MS`].

use std::time::Duration;

use serde::Serialize;
use subtp::srt::{SrtSubtitle, SrtTimestamp, SubRip};
use subtp::vtt::{VttCue, VttDescription, VttHeader, VttTimestamp, VttTimings, WebVtt};
use uuid::Uuid;

use crate::dto::{LanguageDto, SegmentDto, WordDto};

/// Most characters on one subtitle line.
pub const MAX_LINE_CHARS: usize = 42;
/// Most lines in one cue.
pub const MAX_CUE_LINES: usize = 2;
/// Shortest cue, in ms (a cue shorter than this cannot be read).
pub const MIN_CUE_MS: u32 = 500;

/// An export format (`?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Txt,
    Srt,
    Vtt,
    Json,
}

impl ExportFormat {
    /// Parses `txt`, `srt`, `vtt` or `json`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(ExportFormat::Txt),
            "srt" => Some(ExportFormat::Srt),
            "vtt" | "webvtt" => Some(ExportFormat::Vtt),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Txt => "txt",
            ExportFormat::Srt => "srt",
            ExportFormat::Vtt => "vtt",
            ExportFormat::Json => "json",
        }
    }

    /// The `Content-Type` of the export.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Txt => "text/plain; charset=utf-8",
            ExportFormat::Srt => "application/x-subrip; charset=utf-8",
            ExportFormat::Vtt => "text/vtt; charset=utf-8",
            ExportFormat::Json => "application/json",
        }
    }
}

/// One file's part of a transcript: its segments (times from the file's start) and its
/// duration.
#[derive(Debug, Clone)]
pub struct FileTranscript {
    pub file_id: Uuid,
    pub filename: String,
    pub duration_ms: u32,
    pub segments: Vec<SegmentDto>,
    /// The language of its speech, once known.
    pub language: Option<LanguageDto>,
}

/// A file of the JSON export: where its segments sit on the export's timeline and the language
/// of its speech.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFileJson {
    pub file_id: Uuid,
    pub filename: String,
    /// Where the file starts on the export's timeline, in ms.
    pub start_ms: u32,
    pub duration_ms: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDto>,
}

/// The JSON export.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptJson {
    pub smelt_id: Uuid,
    /// The file, for a one-file export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Uuid>,
    /// Total audio, in ms.
    pub duration_ms: u32,
    /// The language of the speech: that of the files when they all share one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDto>,
    /// Each file, in order, with its language.
    pub files: Vec<ExportFileJson>,
    /// The whole text, segments joined by spaces (files by blank lines).
    pub text: String,
    /// Times in ms from the start of the export (files follow each other).
    pub segments: Vec<SegmentDto>,
}

/// A transcript to export: files in order, their segments' times running on across files.
#[derive(Debug, Clone)]
pub struct Export {
    pub smelt_id: Uuid,
    /// Set for a one-file export.
    pub file_id: Option<Uuid>,
    pub files: Vec<FileTranscript>,
}

impl Export {
    /// Every segment with its times moved onto the export's timeline.
    fn timeline(&self, words: bool) -> Vec<SegmentDto> {
        let mut offset = 0u32;
        let mut out = Vec::new();
        for file in &self.files {
            for s in &file.segments {
                let mut s = s.clone();
                s.start_ms += offset;
                s.end_ms += offset;
                s.words = if words {
                    s.words.map(|list| {
                        list.into_iter()
                            .map(|w| WordDto {
                                start_ms: w.start_ms + offset,
                                end_ms: w.end_ms + offset,
                                ..w
                            })
                            .collect()
                    })
                } else {
                    None
                };
                out.push(s);
            }
            offset += file
                .duration_ms
                .max(file.segments.last().map_or(0, |s| s.end_ms));
        }
        out
    }

    /// Renders the export. `words` includes word timings in JSON (when they were recorded).
    pub fn render(&self, format: ExportFormat, words: bool) -> String {
        match format {
            ExportFormat::Txt => self.text(true),
            ExportFormat::Srt => render_srt(&cues(&self.timeline(true))),
            ExportFormat::Vtt => render_vtt(
                &cues(&self.timeline(true)),
                self.language().map(|l| l.code.as_str()),
            ),
            ExportFormat::Json => {
                let mut start_ms = 0u32;
                let files = self
                    .files
                    .iter()
                    .map(|f| {
                        let file = ExportFileJson {
                            file_id: f.file_id,
                            filename: f.filename.clone(),
                            start_ms,
                            duration_ms: f.duration_ms,
                            language: f.language.clone(),
                        };
                        start_ms += f.duration_ms.max(f.segments.last().map_or(0, |s| s.end_ms));
                        file
                    })
                    .collect();
                let json = TranscriptJson {
                    smelt_id: self.smelt_id,
                    file_id: self.file_id,
                    duration_ms: self.files.iter().map(|f| f.duration_ms).sum(),
                    language: self.language().cloned(),
                    files,
                    text: self.text(false),
                    segments: self.timeline(words),
                };
                serde_json::to_string_pretty(&json).expect("a transcript serialises") + "\n"
            }
        }
    }

    /// The language every file shares, if they share one.
    fn language(&self) -> Option<&LanguageDto> {
        let first = self.files.first()?.language.as_ref()?;
        self.files
            .iter()
            .all(|f| f.language.as_ref().map(|l| &l.code) == Some(&first.code))
            .then_some(first)
    }

    /// Plain text: one line per segment (with `lines`) or segments joined by spaces; files
    /// separated by a blank line, each introduced by its name when there are several.
    fn text(&self, lines: bool) -> String {
        let several = self.files.len() > 1;
        let parts: Vec<String> = self
            .files
            .iter()
            .map(|file| {
                let texts: Vec<&str> = file.segments.iter().map(|s| s.text.as_str()).collect();
                let body = texts.join(if lines { "\n" } else { " " });
                if several && lines {
                    format!("{}\n\n{body}", file.filename)
                } else {
                    body
                }
            })
            .collect();
        let mut out = parts.join("\n\n");
        if lines && !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

/// One subtitle cue: times in ms and at most [`MAX_CUE_LINES`] lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: u32,
    pub end_ms: u32,
    pub lines: Vec<String>,
}

/// Wraps words greedily into lines of at most [`MAX_LINE_CHARS`] characters (a longer word
/// stands alone).
fn wrap(words: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in words {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= MAX_LINE_CHARS => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push((*word).to_owned()),
        }
    }
    lines
}

/// Cuts segments into cues of at most two wrapped lines, timed from word timings when present
/// and in proportion to their characters otherwise; then makes them follow each other without
/// overlap.
pub fn cues(segments: &[SegmentDto]) -> Vec<Cue> {
    let mut out: Vec<Cue> = Vec::new();
    for segment in segments {
        let words: Vec<&str> = segment.text.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let lines = wrap(&words);
        let groups: Vec<Vec<String>> = lines
            .chunks(MAX_CUE_LINES)
            .map(<[String]>::to_vec)
            .collect();
        // How many words each group holds, to time it.
        let counts: Vec<usize> = groups
            .iter()
            .map(|g| g.iter().map(|l| l.split_whitespace().count()).sum())
            .collect();
        let timed = segment
            .words
            .as_ref()
            .filter(|w| w.len() == words.len())
            .map(|w| w.as_slice());
        let total_chars: usize = groups.iter().flatten().map(|l| l.chars().count()).sum();
        let span = segment.end_ms.saturating_sub(segment.start_ms);
        let (mut word_at, mut chars_before) = (0usize, 0usize);
        for (group, count) in groups.into_iter().zip(counts) {
            let chars: usize = group.iter().map(|l| l.chars().count()).sum();
            let (start, end) = match timed {
                Some(w) => (w[word_at].start_ms, w[word_at + count - 1].end_ms),
                None => {
                    let at = |c: usize| {
                        segment.start_ms
                            + (u64::from(span) * c as u64 / total_chars.max(1) as u64) as u32
                    };
                    (at(chars_before), at(chars_before + chars))
                }
            };
            word_at += count;
            chars_before += chars;
            out.push(Cue {
                start_ms: start,
                end_ms: end,
                lines: group,
            });
        }
    }
    // In order, never overlapping, long enough to read where there is room.
    for i in 0..out.len() {
        if i > 0 && out[i].start_ms < out[i - 1].end_ms {
            out[i].start_ms = out[i - 1].end_ms;
        }
        let next_start = out.get(i + 1).map(|c| c.start_ms);
        let wanted = out[i].start_ms + MIN_CUE_MS;
        if out[i].end_ms < wanted {
            out[i].end_ms = match next_start {
                Some(n) => wanted.min(n.max(out[i].start_ms + 1)),
                None => wanted,
            };
        }
        out[i].end_ms = out[i].end_ms.max(out[i].start_ms + 1);
    }
    out
}

fn duration(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// SubRip text: numbered cues, `HH:MM:SS,mmm` times.
pub fn render_srt(cues: &[Cue]) -> String {
    let srt = SubRip {
        subtitles: cues
            .iter()
            .zip(1..)
            .map(|(cue, sequence)| SrtSubtitle {
                sequence,
                start: SrtTimestamp::from(duration(cue.start_ms)),
                end: SrtTimestamp::from(duration(cue.end_ms)),
                text: cue.lines.clone(),
                line_position: None,
            })
            .collect(),
    };
    srt.render()
}

/// Text made safe for a WebVTT cue payload, where `&`, `<` and `>` are markup.
fn vtt_escape(line: &str) -> String {
    line.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// WebVTT text: a `WEBVTT` header (with a `Language: xx` line when the language is known, as
/// caption files carry it), numbered cues, `HH:MM:SS.mmm` times.
pub fn render_vtt(cues: &[Cue], language: Option<&str>) -> String {
    let vtt = WebVtt {
        header: VttHeader {
            description: language.map(|code| VttDescription::Below(format!("Language: {code}"))),
        },
        blocks: cues
            .iter()
            .zip(1..)
            .map(|(cue, n)| {
                VttCue {
                    identifier: Some(n.to_string()),
                    timings: VttTimings {
                        start: VttTimestamp::from(duration(cue.start_ms)),
                        end: VttTimestamp::from(duration(cue.end_ms)),
                    },
                    settings: None,
                    payload: cue.lines.iter().map(|l| vtt_escape(l)).collect(),
                }
                .into()
            })
            .collect(),
    };
    vtt.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(index: u32, start_ms: u32, end_ms: u32, text: &str) -> SegmentDto {
        SegmentDto {
            file_id: Uuid::nil(),
            index,
            start_ms,
            end_ms,
            text: text.to_owned(),
            words: None,
        }
    }

    #[test]
    fn a_long_segment_becomes_cues_of_two_short_lines_in_time_order() {
        let text = "We reviewed the quarterly plan in detail and agreed on the next steps for \
                    the team before the launch in early September next year";
        let cues = cues(&[segment(0, 1_000, 11_000, text)]);
        assert!(cues.len() >= 2, "{cues:?}");
        for cue in &cues {
            assert!(cue.lines.len() <= MAX_CUE_LINES);
            assert!(cue
                .lines
                .iter()
                .all(|l| l.chars().count() <= MAX_LINE_CHARS));
            assert!(cue.start_ms < cue.end_ms);
        }
        assert_eq!(cues[0].start_ms, 1_000);
        assert_eq!(cues.last().unwrap().end_ms, 11_000);
        assert!(cues.windows(2).all(|w| w[0].end_ms <= w[1].start_ms));
        let words: Vec<String> = cues.iter().flat_map(|c| c.lines.clone()).collect();
        assert_eq!(
            words.join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn word_timings_time_the_cues_of_a_cut_segment() {
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen \
                    fourteen fifteen sixteen seventeen";
        let words: Vec<WordDto> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| WordDto {
                word: w.to_owned(),
                start_ms: 1_000 * i as u32,
                end_ms: 1_000 * i as u32 + 800,
                probability: Some(0.9),
            })
            .collect();
        let mut s = segment(0, 0, 16_800, text);
        s.words = Some(words);
        let cues = cues(&[s]);
        assert_eq!(cues.len(), 2, "{cues:?}");
        let second_first_word = cues[0]
            .lines
            .iter()
            .map(|l| l.split_whitespace().count())
            .sum::<usize>();
        assert_eq!(cues[1].start_ms, 1_000 * second_first_word as u32);
    }

    #[test]
    fn srt_and_vtt_use_their_own_time_notation_and_numbering() {
        let cues = cues(&[segment(0, 3_723_004, 3_725_000, "A <b> & c")]);
        let srt = render_srt(&cues);
        assert!(
            srt.starts_with("1\n01:02:03,004 --> 01:02:05,000\nA <b> & c\n"),
            "{srt}"
        );
        let vtt = render_vtt(&cues, None);
        assert!(
            vtt.starts_with("WEBVTT\n\n1\n01:02:03.004 --> 01:02:05.000\nA &lt;b&gt; &amp; c\n"),
            "{vtt}"
        );
        let german = render_vtt(&cues, Some("de"));
        assert!(
            german.starts_with("WEBVTT\nLanguage: de\n\n1\n"),
            "{german}"
        );
    }

    #[test]
    fn a_whole_smelt_export_runs_its_files_on_one_timeline() {
        let first = FileTranscript {
            file_id: Uuid::new_v4(),
            filename: "a.wav".into(),
            duration_ms: 10_000,
            segments: vec![segment(0, 0, 4_000, "First file.")],
            language: Some(LanguageDto {
                code: "de".into(),
                probability: Some(0.97),
            }),
        };
        let second = FileTranscript {
            file_id: Uuid::new_v4(),
            filename: "b.wav".into(),
            duration_ms: 5_000,
            segments: vec![segment(0, 1_000, 3_000, "Second file.")],
            language: Some(LanguageDto {
                code: "es".into(),
                probability: None,
            }),
        };
        let export = Export {
            smelt_id: Uuid::new_v4(),
            file_id: None,
            files: vec![first, second],
        };
        let json: serde_json::Value =
            serde_json::from_str(&export.render(ExportFormat::Json, false)).unwrap();
        assert_eq!(json["segments"][1]["start_ms"], 11_000);
        assert_eq!(json["duration_ms"], 15_000);
        assert_eq!(json["text"], "First file.\n\nSecond file.");
        assert_eq!(json["files"][1]["start_ms"], 10_000);
        assert_eq!(json["files"][0]["language"]["code"], "de");
        assert_eq!(json["files"][1]["language"]["code"], "es");
        assert!(
            json["language"].is_null(),
            "two languages: none for the whole"
        );
        let txt = export.render(ExportFormat::Txt, false);
        assert_eq!(txt, "a.wav\n\nFirst file.\n\nb.wav\n\nSecond file.\n");
    }
}
