//! `GET /api/config`: the limits and formats a client should check before uploading, so a
//! browser can refuse what the server would refuse without sending the bytes.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use smelt_core::db::workers;
use smelt_core::domain::speech;
use smelt_core::domain::{AUDIO_EXTENSIONS, AUDIO_MIME_TYPES, MAX_TEXT_CHARS};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;

/// Routes of the public configuration.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// The limits in force and the accepted audio formats.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigDto {
    /// Most files in one smelt.
    pub max_files: usize,
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Longest audio file, in seconds.
    pub max_duration_seconds: u64,
    /// Longest pasted text, in characters.
    pub max_text_chars: usize,
    /// Accepted file extensions (lowercase, without the dot).
    pub audio_extensions: Vec<&'static str>,
    /// Accepted MIME types (parameters such as `;codecs=opus` are allowed after them).
    pub audio_mime_types: Vec<&'static str>,
    /// The Whisper models a smelt may choose (`model`), fastest first.
    pub models: Vec<ModelDto>,
    /// The model of a smelt that names none.
    pub default_model: &'static str,
}

/// One Whisper model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDto {
    /// What `model` takes (`tiny.en`, `base`).
    pub name: &'static str,
    /// The languages it hears: ISO 639-1 codes as Whisper spells them (`haw`, `jw` too).
    pub languages: Vec<&'static str>,
    /// Whether it detects the language itself (`language=auto`); an English-only model takes
    /// `auto` as English.
    pub detects_language: bool,
    /// Whether it can translate into English (`task=translate`).
    pub translates: bool,
    /// Size of its weights, in bytes.
    pub size_bytes: u64,
    /// One line for people choosing it.
    pub description: &'static str,
    /// Whether a worker alive now serves it (a smelt choosing a model no worker has waits,
    /// then fails `transcription_failed` when a worker without it takes it).
    pub available: bool,
}

/// Public: no token needed.
#[utoipa::path(
    get,
    path = "/config",
    operation_id = "get_config",
    summary = "Limits and accepted formats",
    tag = "config",
    responses(
        (status = 200, description = "The limits in force, the accepted audio formats and the Whisper models", body = ConfigDto),
        (status = 500, description = "`internal_error`: the database could not be read", body = ApiErrorBody)
    )
)]
async fn show(State(state): State<AppState>) -> Result<Json<ConfigDto>, ApiError> {
    let limits = state.limits;
    let served = workers::served_models(&state.pool).await?;
    let models = speech::MODELS
        .iter()
        .map(|m| ModelDto {
            name: m.name,
            languages: m.languages.to_vec(),
            detects_language: m.detects_language(),
            translates: m.translates,
            size_bytes: m.size_bytes,
            description: m.description,
            available: served.iter().any(|s| s == m.name),
        })
        .collect();
    let default_model =
        speech::model(&state.settings.http.default_model).map_or(speech::TINY_EN.name, |m| m.name);
    Ok(Json(ConfigDto {
        max_files: limits.max_files,
        max_file_bytes: limits.max_file_bytes,
        max_duration_seconds: limits.max_duration_secs.round() as u64,
        max_text_chars: MAX_TEXT_CHARS,
        audio_extensions: AUDIO_EXTENSIONS.to_vec(),
        audio_mime_types: AUDIO_MIME_TYPES.to_vec(),
        models,
        default_model,
    }))
}
