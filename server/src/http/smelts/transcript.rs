//! `GET /api/smelts/{id}/transcript` and `GET /api/smelts/{id}/files/{file_id}/transcript`:
//! the transcript as text, SubRip, WebVTT or JSON, for the owner or the holder of the smelt's
//! subscription token. Served from the stored segments, so it works while the smelt runs
//! (what is transcribed so far) and after its audio is deleted.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use smelt_core::blob;
use smelt_core::db::transcripts;
use smelt_core::domain::Scope;
use smelt_core::transcript::{Export, ExportFormat};
use utoipa::IntoParams;
use uuid::Uuid;

use super::access::SmeltAccess;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;

/// Query of the transcript exports.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `txt` (default), `srt`, `vtt` or `json`.
    pub format: Option<String>,
    /// `true` to include word timings in JSON (when the smelt recorded them).
    pub words: Option<String>,
    /// The smelt's subscription token, or the owner's access token (or send it as
    /// `Authorization: Bearer`).
    pub token: Option<String>,
}

/// The whole smelt's transcript: files in order on one timeline.
#[utoipa::path(
    get,
    path = "/smelts/{id}/transcript",
    operation_id = "export_transcript",
    summary = "The transcript as TXT, SRT, WebVTT or JSON",
    tag = "smelts",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id"), ExportQuery),
    responses(
        (status = 200, description = "The transcript as an attachment: `text/plain`, `application/x-subrip` (numbered cues, `HH:MM:SS,mmm`), `text/vtt` (`HH:MM:SS.mmm`) or `application/json` (`{smelt_id, duration_ms, text, segments}`); files follow each other on one timeline", body = String),
        (status = 400, description = "`invalid_data`: an unknown format", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`forbidden`: the token is for another smelt", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt (or not yours), or no transcript yet", body = ApiErrorBody)
    )
)]
pub async fn smelt_transcript(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    export(&state, &id, None, &query, &headers).await
}

/// One file's transcript, times from the file's start.
#[utoipa::path(
    get,
    path = "/smelts/{id}/files/{file_id}/transcript",
    operation_id = "export_file_transcript",
    summary = "One file's transcript as TXT, SRT, WebVTT or JSON",
    tag = "smelts",
    security((), ("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The smelt's id"),
        ("file_id" = Uuid, Path, description = "One of its files"),
        ExportQuery
    ),
    responses(
        (status = 200, description = "The file's transcript as an attachment (formats as for the whole smelt)", body = String),
        (status = 400, description = "`invalid_data`: an unknown format", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`forbidden`: the token is for another smelt", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt or file (or not yours), or no transcript yet", body = ApiErrorBody)
    )
)]
pub async fn file_transcript(
    State(state): State<AppState>,
    Path((id, file_id)): Path<(String, String)>,
    Query(query): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let file_id: Uuid = file_id.parse().map_err(|_| ApiError::smelt_not_found())?;
    export(&state, &id, Some(file_id), &query, &headers).await
}

fn no_transcript() -> ApiError {
    ApiError::client(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "NO TRANSCRIPT YET",
    )
}

async fn export(
    state: &AppState,
    id: &str,
    file_id: Option<Uuid>,
    query: &ExportQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let smelt_id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    crate::http::record_smelt(smelt_id);
    let format = match query.format.as_deref() {
        None => ExportFormat::Txt,
        Some(f) => ExportFormat::parse(f)
            .ok_or_else(|| ApiError::invalid_data("INVALID FORMAT. USE TXT, SRT, VTT OR JSON"))?,
    };
    let words = matches!(
        query.words.as_deref().map(str::trim),
        Some("true" | "1" | "yes")
    );
    let access = SmeltAccess::of(
        state,
        smelt_id,
        headers,
        query.token.as_deref(),
        Scope::SmeltsRead,
    )
    .await?;
    let (owner, files) = transcripts::export(&state.pool, smelt_id, file_id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    if !access.allows(owner) {
        return Err(ApiError::smelt_not_found());
    }
    if files.is_empty() {
        return Err(match file_id {
            Some(_) => ApiError::smelt_not_found(),
            None => no_transcript(),
        });
    }
    if files.iter().all(|f| f.segments.is_empty()) {
        return Err(no_transcript());
    }
    let stem = match (file_id, files.as_slice()) {
        (Some(_), [file]) | (None, [file]) => blob::safe_stem(&file.filename, "transcript"),
        _ => "transcript".to_owned(),
    };
    let export = Export {
        smelt_id,
        file_id,
        files,
    };
    let body = export.render(format, words);
    let disposition = format!("attachment; filename=\"{stem}.{}\"", format.extension());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}
