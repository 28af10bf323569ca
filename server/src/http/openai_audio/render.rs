//! The whole answers of the OpenAI-compatible routes, in the shapes of OpenAI's Audio API
//! (`docs/api.md#openai-compatible-transcription`), made from a completed smelt's stored
//! transcript: `json`, `text`, `srt`, `vtt` (Smelt's own subtitle exports) and
//! `verbose_json`. The text of every answer is joined by [`append`], the same function that
//! makes the streamed deltas, so a streamed transcript and a whole one read the same.
//!
//! Smelt does not keep Whisper's per-segment decoding statistics: `verbose_json` gives each
//! segment `tokens: []` and `temperature`, `avg_logprob`, `compression_ratio` and
//! `no_speech_prob` of `0.0`.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use smelt_core::domain::speech::{self, Task};
use smelt_core::transcript::{Export, ExportFormat, FileTranscript};
use utoipa::ToSchema;
use uuid::Uuid;

/// `response_format`: the shape of a whole answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `{"text", "usage"}` (the default).
    Json,
    /// The text alone, `text/plain`.
    Text,
    /// SubRip subtitles.
    Srt,
    /// WebVTT subtitles.
    Vtt,
    /// The text with the language, the duration and the timed segments (and words).
    VerboseJson,
}

impl ResponseFormat {
    /// Parses `json`, `text`, `srt`, `vtt` or `verbose_json` (any case); empty is `json`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "json" => Some(ResponseFormat::Json),
            "text" => Some(ResponseFormat::Text),
            "srt" => Some(ResponseFormat::Srt),
            "vtt" => Some(ResponseFormat::Vtt),
            "verbose_json" => Some(ResponseFormat::VerboseJson),
            _ => None,
        }
    }
}

/// What the request asks of the answer, besides its transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Transcribe in the language spoken, or translate into English.
    pub task: Task,
    /// The shape of a whole answer (ignored when streaming).
    pub format: ResponseFormat,
    /// `verbose_json` lists the segments: asked with `timestamp_granularities[]=segment`, or
    /// by asking for no granularity at all.
    pub segments: bool,
    /// `verbose_json` lists every word with its times (`timestamp_granularities[]=word`).
    pub words: bool,
    /// Answer with Server-Sent Events as the transcript is made (`stream=true`).
    pub stream: bool,
    /// The language a transcription asked for, a code of
    /// [`speech::WHISPER_LANGUAGES`] (`None` for a translation, `auto` or none).
    pub language: Option<&'static str>,
}

/// What the transcription cost: the audio's duration, as OpenAI bills `whisper-1`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Usage {
    /// Always `duration`.
    #[serde(rename = "type")]
    #[schema(example = "duration")]
    pub kind: &'static str,
    /// The audio's duration, in seconds.
    pub seconds: f64,
}

/// `response_format=json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptionJson {
    /// The whole transcript (or translation): the segments' texts joined by spaces.
    pub text: String,
    /// The audio's duration.
    pub usage: Usage,
}

/// One segment of `verbose_json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerboseSegment {
    /// 0-based position in the transcript.
    pub id: u32,
    /// Where the segment starts, in Whisper's 10 ms frames.
    pub seek: u32,
    /// Seconds from the start of the audio.
    pub start: f64,
    /// Seconds from the start of the audio.
    pub end: f64,
    /// What was said in it (or its translation).
    pub text: String,
    /// Always empty: Smelt does not keep the tokens.
    pub tokens: Vec<u32>,
    /// Always `0.0` (not kept).
    pub temperature: f64,
    /// Always `0.0` (not kept).
    pub avg_logprob: f64,
    /// Always `0.0` (not kept).
    pub compression_ratio: f64,
    /// Always `0.0` (not kept).
    pub no_speech_prob: f64,
}

/// One word of `verbose_json` (`timestamp_granularities[]=word`).
#[derive(Debug, Serialize, ToSchema)]
pub struct VerboseWord {
    /// The word, without surrounding spaces.
    pub word: String,
    /// Seconds from the start of the audio.
    pub start: f64,
    /// Seconds from the start of the audio.
    pub end: f64,
}

/// `response_format=verbose_json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TranscriptionVerboseJson {
    /// `transcribe` or `translate`.
    pub task: Task,
    /// The language spoken, as Whisper names it (`english`, `german`); `english` for a
    /// translation (the language of the text).
    #[schema(example = "english")]
    pub language: String,
    /// The audio's duration, in seconds.
    pub duration: f64,
    /// The whole transcript (or translation), as in `json`.
    pub text: String,
    /// The timed segments, unless only words were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<VerboseSegment>>,
    /// Every word with its times, when asked for (`timestamp_granularities[]=word`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<VerboseWord>>,
    /// The audio's duration.
    pub usage: Usage,
}

/// Appends a segment's text, trimmed, to `text` (after a space unless `text` is empty), and
/// returns what was appended: nothing for a blank segment. A stream's deltas are exactly these
/// additions, so they join into its final text.
pub fn append(text: &mut String, segment_text: &str) -> String {
    let piece = segment_text.trim();
    if piece.is_empty() {
        return String::new();
    }
    let added = if text.is_empty() {
        piece.to_owned()
    } else {
        format!(" {piece}")
    };
    text.push_str(&added);
    added
}

/// The whole text of a transcript, as [`append`] joins it.
pub fn text(transcript: &FileTranscript) -> String {
    let mut text = String::new();
    for segment in &transcript.segments {
        append(&mut text, &segment.text);
    }
    text
}

fn seconds(ms: u32) -> f64 {
    f64::from(ms) / 1000.0
}

/// The `language` of `verbose_json`: `english` for a translation; else the language heard in
/// the file, or the one asked for, as Whisper names it (the code itself when Whisper has no
/// name for it, `unknown` when nothing was heard).
fn language_name(transcript: &FileTranscript, answer: &Answer) -> String {
    if answer.task == Task::Translate {
        return "english".to_owned();
    }
    let code = transcript
        .language
        .as_ref()
        .map(|l| l.code.as_str())
        .or(answer.language);
    match code {
        Some(code) => speech::language_name(code).unwrap_or(code).to_owned(),
        None => "unknown".to_owned(),
    }
}

/// The `verbose_json` body.
pub fn verbose(transcript: &FileTranscript, answer: &Answer) -> TranscriptionVerboseJson {
    let duration = seconds(transcript.duration_ms);
    let segments: Vec<VerboseSegment> = transcript
        .segments
        .iter()
        .zip(0..)
        .map(|(s, id)| VerboseSegment {
            id,
            seek: s.start_ms / 10,
            start: seconds(s.start_ms),
            end: seconds(s.end_ms),
            text: s.text.trim().to_owned(),
            tokens: Vec::new(),
            temperature: 0.0,
            avg_logprob: 0.0,
            compression_ratio: 0.0,
            no_speech_prob: 0.0,
        })
        .collect();
    let words: Vec<VerboseWord> = transcript
        .segments
        .iter()
        .flat_map(|s| s.words.iter().flatten())
        .map(|w| VerboseWord {
            word: w.word.trim().to_owned(),
            start: seconds(w.start_ms),
            end: seconds(w.end_ms),
        })
        .collect();
    TranscriptionVerboseJson {
        task: answer.task,
        language: language_name(transcript, answer),
        duration,
        text: text(transcript),
        segments: answer.segments.then_some(segments),
        words: answer.words.then_some(words),
        usage: usage(transcript),
    }
}

fn usage(transcript: &FileTranscript) -> Usage {
    Usage {
        kind: "duration",
        seconds: seconds(transcript.duration_ms),
    }
}

/// The whole answer for the completed smelt `smelt_id` with this `transcript`, in the format
/// `answer` asks for.
pub fn whole(transcript: FileTranscript, smelt_id: Uuid, answer: &Answer) -> Response {
    let subtitles = |format: ExportFormat, transcript: FileTranscript| {
        let export = Export {
            smelt_id,
            file_id: None,
            files: vec![transcript],
        };
        (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            )],
            export.render(format, false),
        )
            .into_response()
    };
    match answer.format {
        ResponseFormat::Json => Json(TranscriptionJson {
            text: text(&transcript),
            usage: usage(&transcript),
        })
        .into_response(),
        ResponseFormat::VerboseJson => Json(verbose(&transcript, answer)).into_response(),
        ResponseFormat::Text => (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(ExportFormat::Txt.content_type()),
            )],
            text(&transcript) + "\n",
        )
            .into_response(),
        ResponseFormat::Srt => subtitles(ExportFormat::Srt, transcript),
        ResponseFormat::Vtt => subtitles(ExportFormat::Vtt, transcript),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::dto::{LanguageDto, SegmentDto, WordDto};

    fn transcript() -> FileTranscript {
        let segment = |index: u32, start_ms: u32, end_ms: u32, text: &str| SegmentDto {
            file_id: Uuid::nil(),
            index,
            start_ms,
            end_ms,
            text: text.to_owned(),
            words: Some(vec![WordDto {
                word: format!(" {}", text.split_whitespace().next().unwrap_or_default()),
                start_ms,
                end_ms: start_ms + 300,
                probability: Some(0.9),
            }]),
        };
        FileTranscript {
            file_id: Uuid::nil(),
            filename: "speech.wav".into(),
            duration_ms: 4_500,
            segments: vec![
                segment(0, 0, 2_000, " Hello there."),
                segment(1, 2_000, 2_100, "  "),
                segment(2, 2_100, 4_000, "General Kenobi."),
            ],
            language: Some(LanguageDto {
                code: "en".into(),
                probability: None,
            }),
        }
    }

    fn answer(format: ResponseFormat) -> Answer {
        Answer {
            task: Task::Transcribe,
            format,
            segments: true,
            words: false,
            stream: false,
            language: None,
        }
    }

    #[test]
    fn deltas_join_into_the_whole_text_and_blank_segments_add_nothing() {
        let mut streamed = String::new();
        let deltas: Vec<String> = transcript()
            .segments
            .iter()
            .map(|s| append(&mut streamed, &s.text))
            .collect();
        assert_eq!(deltas, ["Hello there.", "", " General Kenobi."]);
        assert_eq!(deltas.concat(), text(&transcript()));
        assert_eq!(streamed, "Hello there. General Kenobi.");
    }

    #[test]
    fn verbose_json_has_openais_fields_with_seconds_and_whispers_language_name() {
        let mut asked = answer(ResponseFormat::VerboseJson);
        asked.words = true;
        let body = serde_json::to_value(verbose(&transcript(), &asked)).unwrap();
        assert_eq!(body["task"], "transcribe");
        assert_eq!(body["language"], "english");
        assert_eq!(body["duration"], 4.5);
        assert_eq!(body["text"], "Hello there. General Kenobi.");
        assert_eq!(
            body["usage"],
            serde_json::json!({"type": "duration", "seconds": 4.5})
        );
        let second = &body["segments"][2];
        assert_eq!(second["id"], 2);
        assert_eq!(second["seek"], 210);
        assert_eq!(second["start"], 2.1);
        assert_eq!(second["end"], 4.0);
        assert_eq!(second["tokens"], serde_json::json!([]));
        assert_eq!(second["no_speech_prob"], 0.0);
        assert_eq!(
            body["words"][0],
            serde_json::json!({"word": "Hello", "start": 0.0, "end": 0.3})
        );

        asked.segments = false;
        asked.task = Task::Translate;
        let words_only = serde_json::to_value(verbose(&transcript(), &asked)).unwrap();
        assert!(words_only.get("segments").is_none());
        assert_eq!(words_only["language"], "english");
        asked.words = false;
        let plain = serde_json::to_value(verbose(&transcript(), &asked)).unwrap();
        assert!(plain.get("words").is_none());
    }

    #[test]
    fn every_format_name_parses_and_others_do_not() {
        assert_eq!(ResponseFormat::parse("JSON"), Some(ResponseFormat::Json));
        assert_eq!(ResponseFormat::parse(""), Some(ResponseFormat::Json));
        assert_eq!(
            ResponseFormat::parse("verbose_json"),
            Some(ResponseFormat::VerboseJson)
        );
        assert_eq!(ResponseFormat::parse("diarized_json"), None);
    }
}
