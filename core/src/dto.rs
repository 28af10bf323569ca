//! JSON shapes of the REST API and the realtime payloads (`docs/api.md#smelts`,
//! `docs/api.md#events`). Field names are the contract; do not rename them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::speech::Task;
use crate::domain::{
    ErrorCode, FileStatus, InputType, Lane, PromptName, ResultKind, SmeltMode, SmeltStatus,
};

/// The language of a file's speech: detected by the model (with its probability) or chosen
/// by the client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct LanguageDto {
    /// ISO 639-1 code as Whisper spells it (`en`, `de`, …; `haw`, `jw`).
    pub code: String,
    /// The model's probability for it (0–1) when it was detected; absent when it was chosen
    /// or the model hears only English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

/// One file of a smelt (`SmeltFileDTO`). `duration_seconds` is known once decoded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltFileDto {
    pub id: Uuid,
    pub filename: String,
    /// Size of the upload (or of the pasted text), in bytes.
    pub size_bytes: i64,
    /// Audio duration in seconds; `null` for text and before decoding.
    #[schema(required = true)]
    pub duration_seconds: Option<f64>,
    pub input_type: InputType,
    pub status: FileStatus,
    /// 0-based order of the file within its smelt.
    pub position: i32,
    /// Why the file failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// The language of its speech, once transcription began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDto>,
}

/// Overall progress (`SmeltProgressDTO`), plus an optional estimate of the seconds left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProgressDto {
    /// 0–100, never decreasing over a smelt's life.
    #[schema(maximum = 100)]
    pub percentage: u8,
    pub stage: SmeltStatus,
    pub message: String,
    /// Estimated seconds until completion, when the worker can estimate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u32>,
    /// While pending: the smelt's place in the queue (1 = the next to start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u32>,
    /// While pending: estimated seconds until a worker starts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_seconds: Option<u32>,
}

/// The timing of one word of a segment (word-level timestamps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct WordDto {
    pub word: String,
    /// Milliseconds from the start of the file.
    pub start_ms: u32,
    /// Milliseconds from the start of the file.
    pub end_ms: u32,
    /// The model's confidence in the word, 0.0–1.0, when the engine gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

/// One finished piece of a file's transcript.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SegmentDto {
    /// The file it belongs to.
    pub file_id: Uuid,
    /// 0-based position among the file's segments.
    pub index: u32,
    /// Milliseconds from the start of the file.
    pub start_ms: u32,
    /// Milliseconds from the start of the file.
    pub end_ms: u32,
    pub text: String,
    /// Word timings, when the smelt asked for them (`word_timestamps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<WordDto>>,
}

/// `segment` event payload: a [`SegmentDto`] with the smelt it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SegmentPayload {
    pub smelt_id: Uuid,
    #[serde(flatten)]
    pub segment: SegmentDto,
}

/// One result document (`SmeltResultDTO`): a transcript or the notes of one prompt.
/// `file_id` is null for a combined result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ResultDto {
    #[schema(required = true)]
    pub file_id: Option<Uuid>,
    /// The source: the audio file's name, `Combined: a + b`, or `Pasted text`.
    pub filename: String,
    /// Markdown.
    pub content: String,
    /// `transcript` or `notes`.
    pub kind: ResultKind,
    /// For notes: the built-in prompt's name (`summarize`, …) or `custom`; null for a
    /// transcript.
    #[schema(required = true)]
    pub prompt: Option<String>,
    /// Where the document can be downloaded as a `.md` file, for a limited time
    /// (`SMELT_DOWNLOAD_URL_TTL_SECS`). Only in `GET /api/smelts/{id}` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// For a file's transcript: the language of its speech (a translation is in English; this
    /// is still the language spoken).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDto>,
}

/// `GET /api/smelts/{id}` and the realtime `snapshot` payload: one struct for the three shapes
/// of `docs/api.md#get-apismeltsid--read` — `progress` while processing, `results` when
/// completed, `error_code` and `error_message` when failed or cancelled; absent fields are
/// omitted. A running audio smelt
/// also carries its transcript `segments` so far; a smelt that failed after transcription
/// keeps its transcripts in `results`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    /// The Whisper model asked for (`tiny.en`, `base`).
    pub model: String,
    /// The language asked for: `auto` (detected per file) or a code.
    pub language: String,
    /// `transcribe`, or `translate` (into English).
    pub task: Task,
    /// The queue lane it waits (or waited) in: `fast`, `normal` or `bulk`
    /// (`docs/api.md#queue-lanes`).
    pub lane: Lane,
    pub files: Vec<SmeltFileDto>,
    pub default_prompt_names: Vec<PromptName>,
    #[schema(required = true)]
    pub user_prompt_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressDto>,
    /// The transcript segments so far, while an audio smelt is being processed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<ResultDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The prompt whose notes failed, when a failure came from synthesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_prompt: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Only in the answer to a cancel: whether the credit came back (see the `cancelled`
    /// event's `credit_refunded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_refunded: Option<bool>,
}

/// `POST /api/smelts` 201 body (`SmeltCreateResponseDTO`) plus how to subscribe.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmeltCreatedDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    /// The queue lane it waits in: `fast`, `normal` or `bulk` (`docs/api.md#queue-lanes`).
    pub lane: Lane,
    pub files: Vec<SmeltFileDto>,
    pub default_prompt_names: Vec<PromptName>,
    #[schema(required = true)]
    pub user_prompt_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// `smelt:{id}`.
    pub subscription_channel: String,
    /// Path of this smelt's WebSocket: `/api/smelts/{id}/ws` (pass `?token=`).
    pub subscription_url: String,
    /// Signed token that lets its holder subscribe to this one smelt.
    pub subscription_token: String,
}

/// One row of `GET /api/smelts` (`SmeltListItemDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltListItemDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    pub file_count: i64,
    pub default_prompt_names: Vec<PromptName>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Page information of a list (`PaginationDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PaginationDto {
    pub page: u32,
    pub limit: u32,
    pub total: i64,
    pub total_pages: i64,
}

/// `GET /api/smelts` body (`SmeltsListDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltsListDto {
    pub smelts: Vec<SmeltListItemDto>,
    pub pagination: PaginationDto,
}

/// Progress of one file inside a progress event (`SmeltFileProgressDTO`); `progress` is 0–100.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct FileProgressDto {
    pub id: Uuid,
    pub status: FileStatus,
    #[schema(maximum = 100)]
    pub progress: u8,
    /// The language of its speech, from the first transcription progress on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageDto>,
}

/// `progress` event payload (`SmeltProgressEventPayloadDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProgressPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub progress: ProgressDto,
    pub files: Vec<FileProgressDto>,
}

/// `completed` event payload (`SmeltCompletedEventPayloadDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CompletedPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub results: Vec<ResultDto>,
}

/// `failed` and `cancelled` event payload (`SmeltFailedEventPayloadDTO`), plus what was kept:
/// the transcripts when the failure came after transcription, and the prompt that failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct FailedPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub error_code: ErrorCode,
    pub error_message: String,
    /// The prompt whose notes failed (`summarize`, …, or a custom prompt's title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_prompt: Option<String>,
    /// The results kept despite the failure (transcripts, notes already made).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ResultDto>,
    /// On `cancelled` only: whether the smelt's credit came back — `true` when it was
    /// cancelled before transcription began (queued, validating or decoding), `false` once
    /// transcription had begun (the credit is spent; what was made is kept) or when it cost
    /// no credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_refunded: Option<bool>,
}
