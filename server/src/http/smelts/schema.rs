//! The OpenAPI shape of the create request's multipart body
//! (`docs/api.md#post-apismelts--create`), which [`super::form`] reads part by part rather than
//! into a struct.

use smelt_core::domain::speech::Task;
use smelt_core::domain::{PromptName, SmeltMode};
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/smelts` body (`multipart/form-data`): audio files, **or** a link to one
/// recording, **or** text, and options.
#[derive(Debug, ToSchema)]
pub struct CreateSmeltForm {
    /// Up to 5 audio files (MP3, WAV or M4A, by extension or MIME type), 25 MB each. A file
    /// part may also be named `files`.
    #[schema(rename = "files[]", value_type = Option<Vec<String>>, format = Binary, max_items = 5)]
    pub files: Option<Vec<Vec<u8>>>,
    /// An `https` link to one audio file, downloaded by the worker instead of an upload (same
    /// limits and formats, told by its content); at most 2,000 bytes. Plain `http`, another
    /// port or a non-public address only for hosts in `SMELT_INGEST_ALLOWED_HOSTS`.
    #[schema(format = "uri", max_length = 2000)]
    pub url: Option<String>,
    /// Text to process instead of files, at most 50,000 characters.
    #[schema(max_length = 50000)]
    pub text: Option<String>,
    /// `separate` (one result per file, the default) or `combine` (one result over 2+ files;
    /// signed-in users only).
    pub mode: Option<SmeltMode>,
    /// Built-in prompts to run; one part per name.
    #[schema(rename = "default_prompt_names[]")]
    pub default_prompt_names: Option<Vec<PromptName>>,
    /// One of the signed-in user's custom prompts.
    pub user_prompt_id: Option<Uuid>,
    /// `true` to time every word of the transcript (word-level timestamps; slower).
    pub word_timestamps: Option<bool>,
    /// The Whisper model, a name from `GET /api/config` `models` (`tiny.en`, `base`); default
    /// `SMELT_DEFAULT_MODEL`.
    pub model: Option<String>,
    /// `auto` (the default: detected from each file's first 30 s) or an ISO 639-1 code the
    /// model hears. A code `tiny.en` cannot hear is refused with 400 `invalid_data`.
    pub language: Option<String>,
    /// `transcribe` (the default) or `translate` (into English; multilingual models only).
    pub task: Option<Task>,
    /// `normal` (the default: text and audio of at most `SMELT_FAST_LANE_SECONDS` go to the
    /// fast lane, the rest to normal) or `bulk` (service keys only: runs when the other lanes
    /// leave room). `fast` cannot be asked for. Refusals are 400 `invalid_data`.
    pub priority: Option<String>,
}
