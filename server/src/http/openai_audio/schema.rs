//! The OpenAPI shapes of the two multipart bodies and of the answers' union types
//! (`docs/api.md#openai-compatible-transcription`); [`super::form`] reads the bodies part by
//! part rather than into these structs.

use serde::Serialize;
use utoipa::ToSchema;

use super::render::{TranscriptionJson, TranscriptionVerboseJson};

/// `POST /v1/audio/transcriptions` body (`multipart/form-data`), as OpenAI's SDKs send it.
/// Other fields OpenAI defines (`prompt`, `temperature`, `include[]`, `chunking_strategy`, …)
/// are accepted and ignored.
#[derive(Debug, ToSchema)]
pub struct TranscriptionForm {
    /// One audio file (MP3, WAV, M4A/MP4, WebM, Ogg/Opus), as for `POST /api/smelts`: at most
    /// `max_file_bytes` and `max_duration_seconds`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `whisper-1` (or absent): the server's default model (`SMELT_DEFAULT_MODEL`); or a
    /// Smelt model, `tiny.en` or `base`.
    #[schema(example = "whisper-1")]
    pub model: Option<String>,
    /// The language spoken, an ISO 639-1 code the model hears; absent: detected.
    #[schema(example = "en")]
    pub language: Option<String>,
    /// Accepted and ignored: Smelt's models take no prompt.
    pub prompt: Option<String>,
    /// `json` (default), `text`, `srt`, `verbose_json` or `vtt`; ignored when streaming.
    pub response_format: Option<String>,
    /// `segment` and/or `word`, one part each, for `verbose_json` (`word` also times every
    /// word, which is slower).
    #[schema(rename = "timestamp_granularities[]")]
    pub timestamp_granularities: Option<Vec<String>>,
    /// `true`: answer with Server-Sent Events as the transcript is made.
    pub stream: Option<bool>,
}

/// `POST /v1/audio/translations` body (`multipart/form-data`): a transcription's fields
/// without `language` (the speech is translated into English; `language` is ignored).
#[derive(Debug, ToSchema)]
pub struct TranslationForm {
    /// One audio file, as for transcriptions.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `whisper-1` (or absent): the server's default model, which must translate; or `base`.
    #[schema(example = "whisper-1")]
    pub model: Option<String>,
    /// Accepted and ignored.
    pub prompt: Option<String>,
    /// `json` (default), `text`, `srt`, `verbose_json` or `vtt`; ignored when streaming.
    pub response_format: Option<String>,
    /// `segment` and/or `word`, one part each, for `verbose_json`.
    #[schema(rename = "timestamp_granularities[]")]
    pub timestamp_granularities: Option<Vec<String>>,
    /// `true`: answer with Server-Sent Events as the translation is made.
    pub stream: Option<bool>,
}

/// The JSON answers: `json` or `verbose_json`, as `response_format` asks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TranscriptionAnswer {
    /// `response_format=json`.
    Json(TranscriptionJson),
    /// `response_format=verbose_json`.
    VerboseJson(TranscriptionVerboseJson),
}
