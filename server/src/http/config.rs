//! `GET /api/config`: the limits and formats a client should check before uploading, so a
//! browser can refuse what the server would refuse without sending the bytes.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use smelt_core::domain::{AUDIO_EXTENSIONS, AUDIO_MIME_TYPES, MAX_TEXT_CHARS};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
}

/// Public: no token needed.
#[utoipa::path(
    get,
    path = "/config",
    operation_id = "get_config",
    summary = "Limits and accepted formats",
    tag = "config",
    responses((status = 200, description = "The limits in force and the accepted audio formats", body = ConfigDto))
)]
async fn show(State(state): State<AppState>) -> Json<ConfigDto> {
    let limits = state.limits;
    Json(ConfigDto {
        max_files: limits.max_files,
        max_file_bytes: limits.max_file_bytes,
        max_duration_seconds: limits.max_duration_secs.round() as u64,
        max_text_chars: MAX_TEXT_CHARS,
        audio_extensions: AUDIO_EXTENSIONS.to_vec(),
        audio_mime_types: AUDIO_MIME_TYPES.to_vec(),
    })
}
