//! The OpenAI-compatible transcription API (`docs/api.md#openai-compatible-transcription`):
//! `POST /v1/audio/transcriptions` and `POST /v1/audio/translations`, for programs written
//! against OpenAI's Audio API — its SDKs work with their base URL pointed at `{server}/v1` and
//! a Smelt service key as their API key.
//!
//! Each request is an ordinary smelt of one file with no notes: created as `POST /api/smelts`
//! creates one ([`create_from`]: same upload checks, same credit, listed in the caller's
//! history), then followed through the realtime hub to its end ([`follow`]), and answered in
//! the shape OpenAI's API gives ([`render`], or [`stream`] with `stream=true`). A client that
//! goes away leaves the smelt to finish. Every error, from the token to the smelt's failure,
//! leaves in OpenAI's error shape ([`error`]).

pub mod error;
pub mod follow;
mod form;
pub mod render;
pub mod schema;
pub mod stream;

use std::net::IpAddr;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use smelt_core::db::transcripts;
use smelt_core::domain::speech::Task;
use smelt_core::domain::Scope;
use smelt_core::limits::Limits;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{self, Caller};
use crate::http::error::ApiError;
use crate::http::smelts::create::create_from;
use crate::limits::{Action, ClientIp};
use crate::state::AppState;
use error::{OpenAiError, OpenAiErrorBody};
use follow::{Ending, Follower};
use schema::{TranscriptionAnswer, TranscriptionForm, TranslationForm};

/// Routes of `/v1` (nested there by [`crate::http::routes`]). A body may be as large as
/// `POST /api/smelts` takes, so that an oversized file is refused as `file_too_large` with its
/// size, as there.
pub fn router(limits: &Limits) -> OpenApiRouter<AppState> {
    let body_limit = DefaultBodyLimit::max(limits.max_create_body_bytes());
    let (schemas, paths, transcribe) = routes!(transcriptions);
    let (more_schemas, more_paths, translate) = routes!(translations);
    OpenApiRouter::new()
        .routes((schemas, paths, transcribe.layer(body_limit)))
        .routes((more_schemas, more_paths, translate.layer(body_limit)))
}

/// Handler of `POST /v1/audio/transcriptions`.
#[utoipa::path(
    post,
    path = "/audio/transcriptions",
    operation_id = "openai_create_transcription",
    summary = "Transcribe audio (OpenAI-compatible)",
    tag = "openai",
    security(("bearer" = [])),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    description = "OpenAI's `POST /v1/audio/transcriptions`: one audio file in, its transcript \
        out, as an ordinary smelt of the caller (charged one credit, in their history) that \
        the request waits for. A service key with `smelts:write` (or a session's access \
        token) is the API key. Errors are OpenAI-shaped (`OpenAiErrorBody`) with Smelt's \
        codes.",
    responses(
        (status = 200, description = "The transcript: `json`/`verbose_json` as JSON, `text` as text/plain, `srt` and `vtt` as subtitles, or with `stream=true` Server-Sent Events whose `data:` is a `TextDeltaEvent` per segment, then a `TextDoneEvent` (or an `OpenAiErrorBody`)", content(
            (TranscriptionAnswer = "application/json"),
            (String = "text/plain"),
            (String = "application/x-subrip"),
            (String = "text/vtt"),
            (stream::TextDeltaEvent = "text/event-stream")
        )),
        (status = 400, description = "`no_input` (no `file`), `too_many_files` (a second `file`), `file_too_large`, `invalid_format`, `duration_exceeded`, `corrupted_file`, `invalid_data` (an unknown model, a language the model does not hear, a bad `response_format`, `timestamp_granularities[]` or `stream`) or `invalid_multipart`; or the smelt failed for its file or the user's provider key (`corrupted_file`, `api_key_invalid`, …)", body = OpenAiErrorBody),
        (status = 401, description = "`unauthorized`: no key, or an invalid, revoked or expired one", body = OpenAiErrorBody),
        (status = 403, description = "`weekly_limit`: no credit left (answered before the body is read); `insufficient_scope`: the key lacks `smelts:write`", body = OpenAiErrorBody),
        (status = 408, description = "`upload_timeout`: the upload took longer than `SMELT_UPLOAD_DEADLINE_SECS`", body = OpenAiErrorBody),
        (status = 409, description = "`cancelled`: the smelt was cancelled while the request waited", body = OpenAiErrorBody),
        (status = 413, description = "`payload_too_large`", body = OpenAiErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`), or the provider throttled the smelt (`api_rate_limited`, `api_quota_exhausted`)", body = OpenAiErrorBody),
        (status = 500, description = "`internal_error`, or the smelt failed on the server's side (`transcription_failed`, `internal_error`)", body = OpenAiErrorBody),
        (status = 502, description = "`connection_lost`: the smelt lost its provider connection", body = OpenAiErrorBody),
        (status = 503, description = "`try_again`: the server stopped following the smelt (shutting down); it goes on and is in the caller's history", body = OpenAiErrorBody)
    )
)]
pub async fn transcriptions(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    answer(state, ip, &headers, multipart, Task::Transcribe).await
}

/// Handler of `POST /v1/audio/translations`.
#[utoipa::path(
    post,
    path = "/audio/translations",
    operation_id = "openai_create_translation",
    summary = "Translate audio into English (OpenAI-compatible)",
    tag = "openai",
    security(("bearer" = [])),
    request_body(content = TranslationForm, content_type = "multipart/form-data"),
    description = "OpenAI's `POST /v1/audio/translations`: as `/v1/audio/transcriptions`, the \
        speech translated into English (`task` `translate`); the model must translate \
        (`base`), so `whisper-1` works only where the default model is `base`.",
    responses(
        (status = 200, description = "The translation, in the shapes of `/v1/audio/transcriptions`", content(
            (TranscriptionAnswer = "application/json"),
            (String = "text/plain"),
            (String = "application/x-subrip"),
            (String = "text/vtt"),
            (stream::TextDeltaEvent = "text/event-stream")
        )),
        (status = 400, description = "As for transcriptions; `invalid_data` also for a model that cannot translate", body = OpenAiErrorBody),
        (status = 401, description = "`unauthorized`: no key, or an invalid, revoked or expired one", body = OpenAiErrorBody),
        (status = 403, description = "`weekly_limit` or `insufficient_scope`", body = OpenAiErrorBody),
        (status = 408, description = "`upload_timeout`", body = OpenAiErrorBody),
        (status = 409, description = "`cancelled`: the smelt was cancelled while the request waited", body = OpenAiErrorBody),
        (status = 413, description = "`payload_too_large`", body = OpenAiErrorBody),
        (status = 429, description = "`rate_limited`, `api_rate_limited` or `api_quota_exhausted`", body = OpenAiErrorBody),
        (status = 500, description = "`internal_error` or `transcription_failed`", body = OpenAiErrorBody),
        (status = 502, description = "`connection_lost`", body = OpenAiErrorBody),
        (status = 503, description = "`try_again`: the server stopped following the smelt; it goes on", body = OpenAiErrorBody)
    )
)]
pub async fn translations(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    answer(state, ip, &headers, multipart, Task::Translate).await
}

/// The caller of a `/v1` request: a signed-in user whose token may create smelts. Errors: 401
/// `unauthorized` (no token, or an invalid, revoked or expired one), 403 `insufficient_scope`,
/// 429 `rate_limited` (the key's own limit).
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = auth::bearer_token(headers).ok_or_else(|| {
        ApiError::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API KEY REQUIRED. SEND A SMELT SERVICE KEY (CK_…) AS THE BEARER TOKEN",
        )
    })?;
    let caller = auth::authenticate(state, token).await?;
    caller.require(Scope::SmeltsWrite)?;
    Ok(caller)
}

/// Creates the smelt of a `task` request, then answers with its transcript, whole or streamed.
async fn answer(
    state: AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    task: Task,
) -> Response {
    let caller = match caller(&state, headers).await {
        Ok(caller) => caller,
        Err(refused) => return OpenAiError::from(refused).into_response(),
    };
    let created = create(&state, caller, ip, multipart, task).await;
    let (smelt_id, answer) = match created {
        Ok(created) => created,
        Err(refused) => return OpenAiError::from(refused).into_response(),
    };
    let mut follower = Follower::new(state.clone(), smelt_id, caller);
    if answer.stream {
        return stream::respond(follower, state, smelt_id);
    }
    match whole(&state, &mut follower, smelt_id, &answer).await {
        Ok(response) => response,
        Err(failed) => failed.into_response(),
    }
}

/// Reads the body and creates the smelt as `POST /api/smelts` does; its id and what the answer
/// should be.
async fn create(
    state: &AppState,
    caller: Caller,
    ip: IpAddr,
    multipart: Result<Multipart, MultipartRejection>,
    task: Task,
) -> Result<(uuid::Uuid, render::Answer), ApiError> {
    // Refuse floods before reading any of the body.
    state
        .rate_limits
        .check(Action::CreateSmelt, ip, Some(caller.user_id))?;
    let multipart = multipart.map_err(|_| {
        ApiError::bad_request("invalid_multipart", "EXPECTED A multipart/form-data BODY")
    })?;
    let (blobs, limits) = (state.blobs.clone(), state.limits);
    let (created, answer) = create_from(state, Some(caller), ip, move |smelt_id| async move {
        form::read(multipart, smelt_id, blobs.as_ref(), &limits, task).await
    })
    .await?;
    Ok((created.id, answer))
}

/// Waits for the smelt's end and answers with its whole transcript, or with why it has none.
async fn whole(
    state: &AppState,
    follower: &mut Follower,
    smelt_id: uuid::Uuid,
    answer: &render::Answer,
) -> Result<Response, OpenAiError> {
    match follower.ending().await? {
        Ending::Completed => {
            let (_, files) = transcripts::export(&state.pool, smelt_id, None)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::smelt_not_found)?;
            let transcript = files.into_iter().next().ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a completed audio smelt has no audio file"))
            })?;
            Ok(render::whole(transcript, smelt_id, answer))
        }
        Ending::Failed { code, message } => Err(OpenAiError::smelt_failed(code, message)),
    }
}
