//! A user's custom prompts: `GET/POST /api/prompts`, `GET/PATCH/DELETE /api/prompts/{id}`.
//! Another user's prompt answers 404 `prompt_not_found`, as does an id that is not a UUID.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use smelt_core::db::prompts::{self, PromptRow};
use uuid::Uuid;

use super::body::JsonBody;
use super::error::ApiError;
use crate::auth::AuthUser;
use crate::state::AppState;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 4_000;

/// Routes under `/prompts`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/prompts", get(list).post(create))
        .route("/prompts/{id}", get(show).patch(update).delete(remove))
}

/// `GET /api/prompts` body.
#[derive(Debug, Serialize)]
pub struct PromptsDto {
    pub prompts: Vec<PromptRow>,
}

/// `POST` body (both fields) and `PATCH` body (either).
#[derive(Debug, Deserialize)]
pub struct PromptInput {
    pub title: Option<String>,
    pub body: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        "prompt_not_found",
        "PROMPT NOT FOUND",
    )
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| not_found())
}

fn field(value: Option<String>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim().to_owned()) {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > max => Err(ApiError::invalid_data(format!(
            "{} MUST BE 1 TO {max} CHARACTERS",
            name.to_uppercase()
        ))),
        Some(v) => Ok(Some(v)),
    }
}

async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<PromptsDto>, ApiError> {
    Ok(Json(PromptsDto {
        prompts: prompts::list(&state.pool, user.user_id).await?,
    }))
}

async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(input): JsonBody<PromptInput>,
) -> Result<(StatusCode, Json<PromptRow>), ApiError> {
    let title = field(input.title, "title", MAX_TITLE_CHARS)?
        .ok_or_else(|| ApiError::invalid_data("TITLE IS REQUIRED"))?;
    let body = field(input.body, "body", MAX_BODY_CHARS)?
        .ok_or_else(|| ApiError::invalid_data("BODY IS REQUIRED"))?;
    Ok((
        StatusCode::CREATED,
        Json(prompts::insert(&state.pool, user.user_id, &title, &body).await?),
    ))
}

async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<PromptRow>, ApiError> {
    let id = parse_id(&id)?;
    prompts::get(&state.pool, user.user_id, id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PromptInput>,
) -> Result<Json<PromptRow>, ApiError> {
    let id = parse_id(&id)?;
    let title = field(input.title, "title", MAX_TITLE_CHARS)?;
    let body = field(input.body, "body", MAX_BODY_CHARS)?;
    prompts::update(
        &state.pool,
        user.user_id,
        id,
        title.as_deref(),
        body.as_deref(),
    )
    .await?
    .map(Json)
    .ok_or_else(not_found)
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if prompts::delete(&state.pool, user.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
